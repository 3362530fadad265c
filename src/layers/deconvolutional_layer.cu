// [deconvolutional] on the GPU: cuBLAS GEMMs with im2col / col2im (deconvolutional_layer.cpp's
// math), batchnorm or bias, the activation.
#include "deconvolutional_layer.hpp"

#include "layers/layer_gpu.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
void DeconvolutionalLayer<T>::forward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        const auto [N, C, K, S, F, P, per_in, per_out] = sizes();
        const size_t n_out = static_cast<size_t>(N) * per_out;
        float* out = this->output_gpu.data();
        float* raw = out;
        if (batch_normalize) {
            x_pre_gpu_.resize(n_out);
            raw = x_pre_gpu_.data();
        }
        const ConvGeom g = out_geom();
        float* col = net.workspace_gpu(workspace_size());
        gpu_memset0(raw, n_out * sizeof(float));
        for (int b = 0; b < N; ++b) {
            gemm_gpu(true, false, K, S, C, 1.f, this->gpu_value("weights"), K, net.input_gpu + b * per_in, S, 0.f, col, S);
            col2im_add_gpu(col, g, raw + b * per_out);
        }
        if (batch_normalize)
            bn.forward_gpu(raw, out, N, P, this->gpu_value("biases"), net.train, this->gpu_value("scales"),
                           this->gpu_value("rolling_mean"), this->gpu_value("rolling_variance"));
        else
            add_bias_gpu(out, this->gpu_value("biases"), N, F, P);
        gpu_keep_act_ = activate_keep_gpu(keep_activation_input(net, activation), out, n_out, activation, x_act_gpu_);
    }
}

// Backward: the CPU derivation (deconvolutional_layer.cpp) on device buffers.
template <class T>
void DeconvolutionalLayer<T>::backward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        const auto [N, C, K, S, F, P, per_in, per_out] = sizes();
        const size_t n_out = static_cast<size_t>(N) * per_out;
        float* d = this->delta_gpu.data();
        gradient_gpu(this->output_gpu.data(), gpu_keep_act_ ? x_act_gpu_.data() : nullptr, n_out, activation, d);
        if (batch_normalize)
            bn.backward_gpu(x_pre_gpu_.data(), d, d, false, N, P, this->gpu_value("scales"), this->gpu_value("rolling_mean"),
                            this->gpu_value("rolling_variance"), this->gpu_grad("scales"), this->gpu_grad("biases"));
        else
            bias_grad_gpu(d, N, F, P, this->gpu_grad("biases"));
        const ConvGeom g = out_geom();
        float* col = net.workspace_gpu(workspace_size());
        for (int b = 0; b < N; ++b) {
            im2col_gpu(d + b * per_out, g, col);
            gemm_gpu(false, true, C, K, S, 1.f, net.input_gpu + b * per_in, S, col, S, 1.f, this->gpu_grad("weights"), K);
            if (net.delta_gpu)
                gemm_gpu(false, false, C, S, K, 1.f, this->gpu_value("weights"), K, col, S, 1.f, net.delta_gpu + b * per_in, S);
        }
    }
}

DN_GPU_LAYER_METHODS(DeconvolutionalLayer)

}  // namespace dn
