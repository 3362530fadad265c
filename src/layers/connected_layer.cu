// [connected] on the GPU: cuBLAS GEMMs, batchnorm or bias, activation (connected_layer.cpp's math).
#include "connected_layer.hpp"

#include "layers/layer_gpu.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
void ConnectedLayer<T>::forward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        const int N = this->batch, I = this->inputs(), O = this->outputs();
        const size_t n = static_cast<size_t>(N) * O;
        float* out = this->output_gpu.data();
        float* raw = out;
        if (batch_normalize) {
            x_pre_gpu_.resize(n);
            raw = x_pre_gpu_.data();
        }
        gemm_gpu(false, true, N, O, I, 1.f, net.input_gpu, I, this->gpu_value("weights"), I, 0.f, raw, O);
        if (batch_normalize)
            bn.forward_gpu(raw, out, N, 1, this->gpu_value("biases"), net.train, this->gpu_value("scales"),
                           this->gpu_value("rolling_mean"), this->gpu_value("rolling_variance"));
        else
            add_bias_gpu(out, this->gpu_value("biases"), N, O, 1);
        gpu_keep_act_ = activate_keep_gpu(keep_activation_input(net, activation), out, n, activation, x_act_gpu_);
    }
}

template <class T>
void ConnectedLayer<T>::backward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        const int N = this->batch, I = this->inputs(), O = this->outputs();
        float* d = this->delta_gpu.data();
        gradient_gpu(this->output_gpu.data(), gpu_keep_act_ ? x_act_gpu_.data() : nullptr, static_cast<size_t>(N) * O,
                     activation, d);
        if (batch_normalize)
            bn.backward_gpu(x_pre_gpu_.data(), d, d, false, N, 1, this->gpu_value("scales"), this->gpu_value("rolling_mean"),
                            this->gpu_value("rolling_variance"), this->gpu_grad("scales"), this->gpu_grad("biases"));
        else
            bias_grad_gpu(d, N, O, 1, this->gpu_grad("biases"));
        gemm_gpu(true, false, O, I, N, 1.f, d, O, net.input_gpu, I, 1.f, this->gpu_grad("weights"), I);
        if (net.delta_gpu) gemm_gpu(false, false, N, I, O, 1.f, d, O, this->gpu_value("weights"), I, 1.f, net.delta_gpu, I);
    }
}

DN_GPU_LAYER_METHODS(ConnectedLayer)

}  // namespace dn
