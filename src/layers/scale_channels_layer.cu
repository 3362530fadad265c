// [scale_channels] / [sam] on the GPU (scale_channels_layer.cpp's math, through the same ScaleMap).
#include "scale_channels_layer.hpp"

#include "layers/layer_gpu.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
void ScaleChannelsLayer<T>::forward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        const size_t n = this->output_gpu.size();
        float* y = this->output_gpu.data();
        scale_channels_forward_gpu(net.layers[from]->output_gpu.data(), net.input_gpu, n, map(), y);
        gpu_keep_act_ = activate_keep_gpu(keep_activation_input(net, activation), y, n, activation, x_act_gpu_);
    }
}

// Backward (see backward()): dL/du = dy f'(u); dL/da += dL/du * (P p); dL/dp += P^T (dL/du * a).
template <class T>
void ScaleChannelsLayer<T>::backward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        const size_t n = this->delta_gpu.size();
        float* d = this->delta_gpu.data();
        gradient_gpu(this->output_gpu.data(), gpu_keep_act_ ? x_act_gpu_.data() : nullptr, n, activation, d);
        Layer<T>& src = *net.layers[from];
        scale_channels_backward_gpu(src.output_gpu.data(), net.input_gpu, d, n, map(), src.delta_gpu.data(),
                                    net.delta_gpu);
    }
}

DN_GPU_LAYER_METHODS(ScaleChannelsLayer)

}  // namespace dn
