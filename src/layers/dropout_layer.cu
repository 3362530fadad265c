// [dropout] on the GPU. The mask (DropBlock's blocks and scales too) is drawn on the host from the
// same generator as the CPU forward (seeded by the layer and the images seen), so CPU and GPU drop
// the same units.
#include "dropout_layer.hpp"

#include <random>

#include "darknet/random.hpp"
#include "layers/layer_gpu.hpp"

namespace dn {

template <class T>
void DropoutLayer<T>::forward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        const size_t n = this->output_gpu.size();
        last_train_ = net.train && probability > 0;
        if (!last_train_) {
            copy_gpu(net.input_gpu, this->output_gpu.data(), n);
            return;
        }
        if (dropblock) {  // the host's blocks and scales (the CPU's draws), y = M x elementwise
            if (!(frozen_ && mask_.size() == n)) {
                draw_blocks(net);
                mask_gpu_.push(mask_.data(), n);
            }
            ScaleMap e;
            e.mode = ScaleMap::Elementwise;
            scale_channels_forward_gpu(net.input_gpu, mask_gpu_.data(), n, e, this->output_gpu.data());
            return;
        }
        const bool draw = !(frozen_ && keep_.size() == n);
        if (draw) {
            keep_.resize(n);
            std::mt19937_64 rng = layer_draw_rng(seed_, net.header.seen);
            std::uniform_real_distribution<float> u(0.f, 1.f);
            for (size_t i = 0; i < n; ++i) keep_[i] = u(rng) >= probability;
            keep_gpu_.push(keep_.data(), n);
        }
        dropout_forward_gpu(net.input_gpu, keep_gpu_.data(), n, static_cast<float>(1.0 / (1.0 - probability)),
                            this->output_gpu.data());
    }
}

// Backward: dL/dx_i += m_i dL/dy_i / (1 - p) (identity in eval).
template <class T>
void DropoutLayer<T>::backward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        if (!net.delta_gpu) return;
        const size_t n = this->delta_gpu.size();
        if (last_train_ && dropblock) {  // dL/dx += M dL/dy
            ScaleMap e;
            e.mode = ScaleMap::Elementwise;
            scale_channels_backward_gpu(mask_gpu_.data(), mask_gpu_.data(), this->delta_gpu.data(), n, e, net.delta_gpu,
                                        nullptr);
            return;
        }
        if (!last_train_) axpy_gpu(n, 1.f, this->delta_gpu.data(), net.delta_gpu);
        else dropout_backward_gpu(this->delta_gpu.data(), keep_gpu_.data(), n, static_cast<float>(1.0 / (1.0 - probability)),
                                  net.delta_gpu);
    }
}

DN_GPU_LAYER_METHODS(DropoutLayer)

}  // namespace dn
