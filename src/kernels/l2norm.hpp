// [l2norm]'s math per position (pjreddie's l2normalize over the channels): host and device code,
// called by the CPU loop (l2norm_layer.cpp) and a GPU thread per position (layers_gpu.cu).
#pragma once

#include <cmath>
#include <cstddef>

#include "kernels/gpu_index.hpp"  // DN_HD

namespace dn {

/// The norm floor (PyTorch's F.normalize eps): r = max(||x||, eps), so that a zero vector maps to
/// zero with a finite gradient instead of Darknet's 0/0.
constexpr double kL2normEps = 1e-12;

/// r = max(sqrt(sum_c x[c*S]^2), eps) of the C values at one position (stride S), summed in double.
template <class T>
DN_HD inline double l2norm_radius(const T* x, int C, size_t S) {
    double s = 0;
    for (int c = 0; c < C; ++c) s += static_cast<double>(x[c * S]) * x[c * S];
    const double r = sqrt(s);
    return r > kL2normEps ? r : kL2normEps;
}

/// Forward at one position: y = x / r.
template <class T>
DN_HD inline void l2norm_forward_at(const T* x, int C, size_t S, T* y) {
    const double inv = 1.0 / l2norm_radius(x, C, S);
    for (int c = 0; c < C; ++c) y[c * S] = static_cast<T>(x[c * S] * inv);
}

// Backward. With r = ||x|| > eps, y = x / r has dy_i/dx_k = delta_ik / r - x_i x_k / r^3, so
// dL/dx_k = (g_k - y_k sum_i y_i g_i) / r for g = dL/dy. Below the floor r = eps is a constant
// and dL/dx = g / eps.
/// Adds dL/dx at one position into dx (x the input, g = dL/dy, stride S).
template <class T>
DN_HD inline void l2norm_backward_at(const T* x, const T* g, int C, size_t S, T* dx) {
    double s2 = 0;
    for (int c = 0; c < C; ++c) s2 += static_cast<double>(x[c * S]) * x[c * S];
    const double n = sqrt(s2);
    if (!(n > kL2normEps)) {
        for (int c = 0; c < C; ++c) dx[c * S] += static_cast<T>(g[c * S] / kL2normEps);
        return;
    }
    double yg = 0;
    for (int c = 0; c < C; ++c) yg += static_cast<double>(x[c * S]) * g[c * S];
    yg /= n;  // sum_i y_i g_i
    for (int c = 0; c < C; ++c) dx[c * S] += static_cast<T>((g[c * S] - x[c * S] / n * yg) / n);
}

}  // namespace dn
