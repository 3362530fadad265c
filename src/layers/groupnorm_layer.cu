// [groupnorm] on the GPU: kernels/groupnorm.cu plus the activation (groupnorm_layer.cpp's math).
#include "groupnorm_layer.hpp"

#include "layers/layer_gpu.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
void GroupnormLayer<T>::forward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        const int N = this->batch, S = this->w * this->h;
        const size_t n = this->output_gpu.size();
        mean_gpu_.resize(static_cast<size_t>(N) * groups);
        inv_std_gpu_.resize(static_cast<size_t>(N) * groups);
        float* out = this->output_gpu.data();
        groupnorm_forward_gpu(net.input_gpu, N, this->c, S, groups, this->gpu_value("scales"), this->gpu_value("biases"),
                              eps, out, mean_gpu_.data(), inv_std_gpu_.data());
        gpu_keep_act_ = activate_keep_gpu(keep_activation_input(net, activation), out, n, activation, x_act_gpu_);
    }
}

// Backward: activation derivative in place on delta, then the derivation above
// groupnorm_backward_gpu (kernels/groupnorm.cu), adding into net.delta_gpu.
template <class T>
void GroupnormLayer<T>::backward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        float* d = this->delta_gpu.data();
        gradient_gpu(this->output_gpu.data(), gpu_keep_act_ ? x_act_gpu_.data() : nullptr, this->delta_gpu.size(),
                     activation, d);
        groupnorm_backward_gpu(net.input_gpu, d, this->batch, this->c, this->w * this->h, groups, this->gpu_value("scales"),
                               mean_gpu_.data(), inv_std_gpu_.data(), net.delta_gpu, true, this->gpu_grad("scales"),
                               this->gpu_grad("biases"));
    }
}

DN_GPU_LAYER_METHODS(GroupnormLayer)

}  // namespace dn
