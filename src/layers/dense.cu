// Dense on the GPU: cuBLAS GEMMs, batchnorm or bias, activation (dense.cpp's math).
#include "dense.hpp"

#include "layers/layer_gpu.hpp"

namespace dn {

template <class T>
void Dense<T>::forward_gpu(Layer<T>& owner, size_t first, const T* x, int N, T* y, T* pre, T* act, bool train) {
    if constexpr (!std::is_same<T, float>::value) {
        (void)first, (void)x, (void)N, (void)y, (void)pre, (void)act, (void)train;
        gpu_needs_float(owner.where);
    } else {
        const int I = inputs, O = outputs;
        const size_t n = static_cast<size_t>(N) * O;
        float* raw = batch_normalize ? pre : y;
        gemm_gpu(false, true, N, O, I, 1.f, x, I, owner.gpu_value("weights", first), I, 0.f, raw, O);
        if (batch_normalize)
            bn.forward_gpu(raw, y, N, 1, owner.gpu_value("biases", first), train, owner.gpu_value("scales", first),
                           owner.gpu_value("rolling_mean", first), owner.gpu_value("rolling_variance", first));
        else
            add_bias_gpu(y, owner.gpu_value("biases", first), N, O, 1);
        if (act) copy_gpu(y, act, n);
        activate_gpu(y, n, activation);
    }
}

template <class T>
void Dense<T>::backward_gpu(Layer<T>& owner, size_t first, const T* x, int N, const T* y, T* dy, const T* pre,
                            const T* act, T* dx) {
    if constexpr (!std::is_same<T, float>::value) {
        (void)first, (void)x, (void)N, (void)y, (void)dy, (void)pre, (void)act, (void)dx;
        gpu_needs_float(owner.where);
    } else {
        const int I = inputs, O = outputs;
        gradient_gpu(y, act, static_cast<size_t>(N) * O, activation, dy);
        if (batch_normalize)
            bn.backward_gpu(pre, dy, dy, false, N, 1, owner.gpu_value("scales", first),
                            owner.gpu_value("rolling_mean", first), owner.gpu_value("rolling_variance", first),
                            owner.gpu_grad("scales", first), owner.gpu_grad("biases", first));
        else
            bias_grad_gpu(dy, N, O, 1, owner.gpu_grad("biases", first));
        gemm_gpu(true, false, O, I, N, 1.f, dy, O, x, I, 1.f, owner.gpu_grad("weights", first), I);
        if (dx) gemm_gpu(false, false, N, I, O, 1.f, dy, O, owner.gpu_value("weights", first), I, 1.f, dx, I);
    }
}

#define DN_DENSE_GPU(T)                                                                                  \
    template void Dense<T>::forward_gpu(Layer<T>&, size_t, const T*, int, T*, T*, T*, bool);               \
    template void Dense<T>::backward_gpu(Layer<T>&, size_t, const T*, int, const T*, T*, const T*, const T*, T*);
DN_DENSE_GPU(float)
DN_DENSE_GPU(double)

}  // namespace dn
