// [maxpool] on the GPU (maxpool_layer.cpp's math).
#include "maxpool_layer.hpp"

#include "layers/antialias_gpu.hpp"
#include "layers/layer_gpu.hpp"

namespace dn {

template <class T>
void MaxpoolLayer<T>::forward_gpu(Network<T>& net) {
    if (aa.wraps()) return aa.forward_gpu(*this, [&] { forward_gpu(net); });
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        indexes_gpu_.resize(this->output_gpu.size());
        if (maxpool_depth) {
            maxpool_depth_forward_gpu(net.input_gpu, this->batch, this->c, this->w * this->h, out_channels,
                                      this->output_gpu.data(), indexes_gpu_.data());
            return;
        }
        maxpool_forward_gpu(net.input_gpu, this->batch * this->c, this->w, this->h, size, stride_x, stride_y, -padding / 2,
                            this->out_w, this->out_h, this->output_gpu.data(), indexes_gpu_.data());
    }
}

// Backward: dL/dx_i += sum of dL/dy_o over the outputs o whose argmax is i (a gather per input
// pixel over the windows that contain it, in the CPU's order).
template <class T>
void MaxpoolLayer<T>::backward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        if (!net.delta_gpu) return;
        if (aa.wraps()) return aa.backward_gpu(*this, [&] { backward_gpu(net); });
        if (maxpool_depth) {
            maxpool_depth_backward_gpu(this->delta_gpu.data(), indexes_gpu_.data(), this->batch, this->c,
                                       this->w * this->h, out_channels, net.delta_gpu);
            return;
        }
        maxpool_backward_gpu(this->delta_gpu.data(), indexes_gpu_.data(), this->batch * this->c, this->w, this->h, size,
                             stride_x, stride_y, -padding / 2, this->out_w, this->out_h, net.delta_gpu);
    }
}

DN_GPU_LAYER_METHODS(MaxpoolLayer)

}  // namespace dn
