// AlexeyAB's channel-normalizing activations (activation=normalize_channels,
// normalize_channels_softmax, normalize_channels_softmax_maxval; ASFF's fusion weights): at each
// position of each image, a function of all C channels. Host and device code: the CPU loops
// (layers/channel_norm.hpp) and a GPU thread per position (layers_gpu.cu) call these.
#pragma once

#include <cmath>
#include <cstddef>
#include <string>

#include "kernels/gpu_index.hpp"  // DN_HD

namespace dn {

enum class ChannelNormKind {
    None,
    Relu,          ///< normalize_channels: y = max(x, 0) / (eps + sum max(x, 0))
    Softmax,       ///< normalize_channels_softmax: y = e^x / (eps + sum e^x)
    SoftmaxMaxval  ///< normalize_channels_softmax_maxval: y = e^(x - m) / (eps + sum e^(x - m)), m = max x
};

/// The kind named by an activation value, ChannelNormKind::None for the elementwise ones.
inline ChannelNormKind channel_norm_kind(const std::string& activation) {
    if (activation == "normalize_channels") return ChannelNormKind::Relu;
    if (activation == "normalize_channels_softmax") return ChannelNormKind::Softmax;
    if (activation == "normalize_channels_softmax_maxval") return ChannelNormKind::SoftmaxMaxval;
    return ChannelNormKind::None;
}

/// AlexeyAB's eps (0.0001 in float) in every denominator.
constexpr float kChannelNormEps = 0.0001f;

/// Forward at one position: x[k * stride], k = 0..C-1, into y (the same places; y may be x).
/// The softmax is evaluated about m = max x: normalize_channels_softmax's value as
/// e^(x - m) / (eps e^-m + sum e^(x - m)), the same function without e^x's overflow.
template <class T>
DN_HD inline void channel_norm_forward_at(ChannelNormKind kind, const T* x, int C, size_t stride, T* y) {
    const T eps = static_cast<T>(kChannelNormEps), zero = 0;
    if (kind == ChannelNormKind::Relu) {
        T s = eps;
        for (int k = 0; k < C; ++k) s += x[k * stride] > zero ? x[k * stride] : zero;
        for (int k = 0; k < C; ++k) y[k * stride] = x[k * stride] > zero ? x[k * stride] / s : zero;
        return;
    }
    T m = x[0];
    for (int k = 1; k < C; ++k) m = x[k * stride] > m ? x[k * stride] : m;
    T s = kind == ChannelNormKind::SoftmaxMaxval ? eps : eps * exp(-m);
    for (int k = 0; k < C; ++k) s += exp(x[k * stride] - m);
    for (int k = 0; k < C; ++k) y[k * stride] = exp(x[k * stride] - m) / s;
}

// Backward at one position, g = dL/dy, from the kept input x and the output y; with
// dot = sum_k g_k y_k:
//   normalize_channels: S = eps + sum max(x, 0), y_k = x_k / S where x_k > 0 (else 0), so
//     dy_k/dx_j = [x_j > 0] (delta_kj - y_k) / S and dL/dx_j = [x_j > 0] (g_j - dot) / S;
//   softmax: y_k = e^x_k / D, D = eps + sum e^x, dD/dx_j = e^x_j, so dL/dx_j = y_j (g_j - dot);
//   softmax_maxval: D = eps e^m + sum e^x (the same y, scaled by e^m), and m = x_a (the first
//     maximum) moves with x_a: dD/dx_j gains eps e^m [j = a], so dL/dx_a also gains
//     -(eps / S') dot, S' = eps + sum e^(x - m) (a.e.; not differentiable where maxima tie).
/// Writes dL/dx into dx (the same places), or adds it when accumulate.
template <class T>
DN_HD inline void channel_norm_backward_at(ChannelNormKind kind, const T* x, const T* y, const T* g, int C,
                                           size_t stride, T* dx, bool accumulate) {
    const T eps = static_cast<T>(kChannelNormEps), zero = 0;
    T dot = 0;
    for (int k = 0; k < C; ++k) dot += g[k * stride] * y[k * stride];
    T s = eps, extra = 0;
    int a = 0;
    if (kind == ChannelNormKind::Relu) {
        for (int k = 0; k < C; ++k) s += x[k * stride] > zero ? x[k * stride] : zero;
    } else if (kind == ChannelNormKind::SoftmaxMaxval) {
        for (int k = 1; k < C; ++k)
            if (x[k * stride] > x[a * stride]) a = k;
        for (int k = 0; k < C; ++k) s += exp(x[k * stride] - x[a * stride]);
        extra = -eps / s * dot;
    }
    for (int k = 0; k < C; ++k) {
        const size_t i = k * stride;
        T d;
        if (kind == ChannelNormKind::Relu) d = x[i] > zero ? (g[i] - dot) / s : zero;
        else d = y[i] * (g[i] - dot) + (k == a ? extra : zero);
        dx[i] = accumulate ? dx[i] + d : d;
    }
}

}  // namespace dn
