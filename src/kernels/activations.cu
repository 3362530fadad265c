// Activations on the GPU: the same act::f / act::df as the CPU (kernels/activations.hpp),
// instantiated per activation so that each kernel body has no switch.
#include <algorithm>

#include "darknet/error.hpp"
#include "kernels/activations.hpp"
#include "kernels/gpu.hpp"
#include "kernels/gpu_reduce.cuh"

namespace dn {

namespace {


template <Activation A>
__global__ void activate_k(float* y, size_t n) {
    DN_GRID_FOR(i, n) y[i] = act::f<A>(y[i]);
}

template <Activation A>
__global__ void bias_activate_k(float* y, const float* bias, uint32_t n, NchwIndex ix, float* keep) {
    DN_GRID_FOR32(i, n) {
        const float u = y[i] + (bias ? bias[ix.channel(i)] : 0.f);
        if (keep) keep[i] = u;
        y[i] = act::f<A>(u);
    }
}

template <Activation A>
__global__ void gradient_k(const float* y, const float* x, size_t n, float* d) {
    DN_GRID_FOR(i, n) d[i] *= act::df<A>(y[i], x ? x[i] : 0.f);
}

}  // namespace

void activate_gpu(float* y, size_t n, Activation a) {
    if (!n || a == Activation::Linear) return;
    dispatch_activation(a, [&](auto tag) {
        constexpr Activation A = decltype(tag)::value;
        DN_LAUNCH(grid_blocks(n), kGridThreads, activate_k<A>)(y, n);
    });
    DN_KERNEL_CHECK();
}

void bias_activate_gpu(float* y, const float* bias, int N, int C, int S, Activation a, float* x_keep) {
    const size_t n = static_cast<size_t>(N) * C * S;
    if (!n) return;
    gpu_index_check(n, "bias_activate_gpu");
    dispatch_activation(a, [&](auto tag) {
        constexpr Activation A = decltype(tag)::value;
        DN_LAUNCH(grid_blocks(n), kGridThreads, bias_activate_k<A>)(y, bias, static_cast<uint32_t>(n), NchwIndex(C, S), x_keep);
    });
    DN_KERNEL_CHECK();
}

void gradient_gpu(const float* y, const float* x, size_t n, Activation a, float* delta) {
    if (!n || a == Activation::Linear) return;
    if (activation_needs_input(a) && !x) fail("gradient_gpu: activation %s needs its input", activation_name(a));
    dispatch_activation(a, [&](auto tag) {
        constexpr Activation A = decltype(tag)::value;
        DN_LAUNCH(grid_blocks(n), kGridThreads, gradient_k<A>)(y, x, n, delta);
    });
    DN_KERNEL_CHECK();
}

}  // namespace dn
