// [local] on the GPU: kernels/local.hpp's per-element math (local_forward_gpu / local_backward_gpu),
// the bias gradient and the activation as the other layers'.
#include "local_layer.hpp"

#include "layers/layer_gpu.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
void LocalLayer<T>::forward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        float* out = this->output_gpu.data();
        local_forward_gpu(net.input_gpu, this->gpu_value("weights"), this->gpu_value("biases"), geom_, this->batch, out);
        gpu_keep_act_ = activate_keep_gpu(keep_activation_input(net, activation), out, this->output_gpu.size(), activation,
                                          x_act_gpu_);
    }
}

// Backward: G = dy f'(z), then dbias += sum_b G, dW and dx by the gathers of kernels/local.hpp
// (local_layer.cpp has the derivation).
template <class T>
void LocalLayer<T>::backward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        float* d = this->delta_gpu.data();
        gradient_gpu(this->output_gpu.data(), gpu_keep_act_ ? x_act_gpu_.data() : nullptr, this->delta_gpu.size(),
                     activation, d);
        bias_grad_gpu(d, this->batch, this->outputs(), 1, this->gpu_grad("biases"));
        local_backward_gpu(net.input_gpu, d, this->gpu_value("weights"), geom_, this->batch, this->gpu_grad("weights"),
                           net.delta_gpu);
    }
}

DN_GPU_LAYER_METHODS(LocalLayer)

}  // namespace dn
