// [activation] / [empty] / [silence] on the GPU (activation_layer.cpp's math).
#include "activation_layer.hpp"

#include "layers/layer_gpu.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
void ActivationLayer<T>::forward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        const size_t n = this->output_gpu.size();
        float* y = this->output_gpu.data();
        copy_gpu(net.input_gpu, y, n);
        gpu_keep_act_ = activate_keep_gpu(keep_activation_input(net, activation), y, n, activation, x_act_gpu_);
        cn.forward_gpu(net, y, this->batch, this->c, this->w * this->h);
    }
}

// Backward: dL/dx += f'(x) dL/dy (see backward()).
template <class T>
void ActivationLayer<T>::backward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        const size_t n = this->delta_gpu.size();
        float* d = this->delta_gpu.data();
        cn.backward_gpu(this->output_gpu.data(), d, this->batch, this->c, this->w * this->h, this->where);
        gradient_gpu(this->output_gpu.data(), gpu_keep_act_ ? x_act_gpu_.data() : nullptr, n, activation, d);
        if (net.delta_gpu) axpy_gpu(n, 1.f, d, net.delta_gpu);
    }
}

DN_GPU_LAYER_METHODS(ActivationLayer)

}  // namespace dn
