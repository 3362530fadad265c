// [softmax] on the GPU (softmax_layer.cpp's math): per-group softmax with temperature, and as the
// last layer of a training pass the cross-entropy loss with its delta (y - t) / temperature.
#include "softmax_layer.hpp"

#include "layers/layer_gpu.hpp"

namespace dn {

template <class T>
void SoftmaxLayer<T>::forward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        const float inv_t = static_cast<float>(1.0 / temperature);
        int g, n, st, gs;
        gpu_groups(&g, &n, &st, &gs);
        softmax_forward_gpu(net.input_gpu, this->batch, this->outputs(), g, n, st, gs, inv_t, this->output_gpu.data());
        loss_mode_ = net.train && net.truth_gpu && net.current == net.num_layers() - 1;
        this->cost = 0;
        if (loss_mode_)
            this->cost = softmax_ce_gpu(this->output_gpu.data(), net.truth_gpu, this->output_gpu.size(), inv_t,
                                        this->delta_gpu.data());
    }
}

// Backward: loss mode adds the delta set by forward; otherwise the softmax Jacobian
// dL/dx_k += y_k (dL/dy_k - sum_i dL/dy_i y_i) / T per group.
template <class T>
void SoftmaxLayer<T>::backward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        if (!net.delta_gpu) return;
        if (loss_mode_) {
            axpy_gpu(this->delta_gpu.size(), 1.f, this->delta_gpu.data(), net.delta_gpu);
            return;
        }
        int g, n, st, gs;
        gpu_groups(&g, &n, &st, &gs);
        softmax_backward_gpu(this->output_gpu.data(), this->delta_gpu.data(), this->batch, this->outputs(), g, n, st, gs,
                             static_cast<float>(1.0 / temperature), net.delta_gpu);
    }
}

DN_GPU_LAYER_METHODS(SoftmaxLayer)

}  // namespace dn
