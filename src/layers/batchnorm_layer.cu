// BatchNorm (batch_normalize=1) and [batchnorm] on the GPU: kernels/batchnorm.cu, with the CPU's
// conventions (kernels/batchnorm.hpp), so both give the same answer.
#include "batchnorm_layer.hpp"

#include "kernels/batchnorm.hpp"
#include "layers/layer_gpu.hpp"

namespace dn {

template <class T>
void BatchNorm<T>::forward_gpu(const T* x, T* y, int N, int S, const T* beta, bool train, const T* gamma,
                               T* rolling_mean, T* rolling_var) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float("batchnorm");
    } else {
        last_train = train;
        if (train) {
            mean_gpu.resize(channels);
            inv_std_gpu.resize(channels);
            batchnorm_forward_train_gpu(x, N, channels, S, gamma, beta, y, mean_gpu.data(), inv_std_gpu.data(),
                                        rolling_mean, rolling_var, eps, kBatchnormMomentum);
        } else {
            batchnorm_forward_eval_gpu(x, N, channels, S, gamma, beta, rolling_mean, rolling_var, y, eps);
        }
    }
}

// The backward derivation is written above batchnorm_backward_train_gpu (kernels/batchnorm.cu).
template <class T>
void BatchNorm<T>::backward_gpu(const T* x, const T* dy, T* dx, bool accumulate, int N, int S, const T* gamma,
                                const T* rolling_mean, const T* rolling_var, T* dgamma, T* dbeta) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float("batchnorm");
    } else {
        if (last_train)
            batchnorm_backward_train_gpu(x, dy, N, channels, S, gamma, mean_gpu.data(), inv_std_gpu.data(), dx,
                                         accumulate, dgamma, dbeta);
        else
            batchnorm_backward_eval_gpu(x, dy, N, channels, S, gamma, rolling_mean, rolling_var, dx, accumulate, dgamma,
                                        dbeta, eps);
    }
}

template <class T>
void BatchnormLayer<T>::forward_gpu(Network<T>& net) {
    const int N = this->batch, S = this->out_w * this->out_h;
    const size_t n = static_cast<size_t>(N) * this->inputs();
    const T* in = net.input_gpu;
    if (net.train) {  // keep the input for backward (the previous layer may be overwritten in place later)
        x_gpu.resize(n);
        gpu_memcpy_d2d(x_gpu.data(), net.input_gpu, n * sizeof(T));
        in = x_gpu.data();
    }
    bn.forward_gpu(in, this->output_gpu.data(), N, S, this->gpu_value("biases"), net.train, this->gpu_value("scales"),
                   this->gpu_value("rolling_mean"), this->gpu_value("rolling_variance"));
}

template <class T>
void BatchnormLayer<T>::backward_gpu(Network<T>& net) {
    const int N = this->batch, S = this->out_w * this->out_h;
    const T* in = bn.last_train ? x_gpu.data() : net.input_gpu;
    bn.backward_gpu(in, this->delta_gpu.data(), net.delta_gpu, true, N, S, this->gpu_value("scales"),
                    this->gpu_value("rolling_mean"), this->gpu_value("rolling_variance"), this->gpu_grad("scales"),
                    this->gpu_grad("biases"));
}

template void BatchNorm<float>::forward_gpu(const float*, float*, int, int, const float*, bool, const float*, float*, float*);
template void BatchNorm<float>::backward_gpu(const float*, const float*, float*, bool, int, int, const float*, const float*,
                                             const float*, float*, float*);
template void BatchNorm<double>::forward_gpu(const double*, double*, int, int, const double*, bool, const double*, double*,
                                             double*);
template void BatchNorm<double>::backward_gpu(const double*, const double*, double*, bool, int, int, const double*,
                                              const double*, const double*, double*, double*);
DN_GPU_LAYER_METHODS(BatchnormLayer)

}  // namespace dn
