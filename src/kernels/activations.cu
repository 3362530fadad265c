// Activations on the GPU: the same act::f / act::df as the CPU (kernels/activations.hpp),
// instantiated per activation so that each kernel body has no switch.
#include <algorithm>

#include "darknet/error.hpp"
#include "kernels/gpu.hpp"

namespace dn {

namespace {

constexpr int kThreads = 256;
inline unsigned blocks(size_t n) { return static_cast<unsigned>(std::min<size_t>((n + kThreads - 1) / kThreads, 1u << 20)); }
#define DN_FOR(i, n) for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < (n); i += static_cast<size_t>(gridDim.x) * blockDim.x)

template <Activation A>
__global__ void activate_k(float* y, size_t n) {
    DN_FOR(i, n) y[i] = act::f<A>(y[i]);
}

template <Activation A>
__global__ void bias_activate_k(float* y, const float* bias, size_t n, int C, int S, float* keep) {
    DN_FOR(i, n) {
        const float u = y[i] + (bias ? bias[(i / S) % C] : 0.f);
        if (keep) keep[i] = u;
        y[i] = act::f<A>(u);
    }
}

template <Activation A>
__global__ void gradient_k(const float* y, const float* x, size_t n, float* d) {
    DN_FOR(i, n) d[i] *= act::df<A>(y[i], x ? x[i] : 0.f);
}

}  // namespace

void activate_gpu(float* y, size_t n, Activation a) {
    if (!n || a == Activation::Linear) return;
    dispatch_activation(a, [&](auto tag) {
        constexpr Activation A = decltype(tag)::value;
        activate_k<A><<<blocks(n), kThreads>>>(y, n);
    });
    DN_KERNEL_CHECK();
}

void bias_activate_gpu(float* y, const float* bias, int N, int C, int S, Activation a, float* x_keep) {
    const size_t n = static_cast<size_t>(N) * C * S;
    if (!n) return;
    dispatch_activation(a, [&](auto tag) {
        constexpr Activation A = decltype(tag)::value;
        bias_activate_k<A><<<blocks(n), kThreads>>>(y, bias, n, C, S, x_keep);
    });
    DN_KERNEL_CHECK();
}

void gradient_gpu(const float* y, const float* x, size_t n, Activation a, float* delta) {
    if (!n || a == Activation::Linear) return;
    if (activation_needs_input(a) && !x) fail("gradient_gpu: activation %s needs its input", activation_name(a));
    dispatch_activation(a, [&](auto tag) {
        constexpr Activation A = decltype(tag)::value;
        gradient_k<A><<<blocks(n), kThreads>>>(y, x, n, delta);
    });
    DN_KERNEL_CHECK();
}

}  // namespace dn
