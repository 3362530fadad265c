// AlexeyAB's weighted [shortcut] (weights_type, weights_normalization): the normalization of the
// per-source weights and its exact backward, one group of weights at a time. Host and device code:
// shortcut_layer.cpp calls it per group, the GPU kernels (layers_gpu.cu) a thread per group, so the
// CPU and the GPU cannot drift apart.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/gpu_index.hpp"  // DN_HD

namespace dn {

/// weights_normalization: none, relu, softmax.
enum class ShortcutNorm : uint8_t { None, Relu, Softmax };

/// The epsilon of AlexeyAB's normalizations (shortcut_multilayer_cpu), in the denominator.
constexpr double kShortcutNormEps = 0.0001;
/// Most sources (the previous layer and the `from` layers) of a weighted shortcut.
constexpr int kShortcutMaxSources = 16;

/// The K weights of group l (a per_feature layer has one group, a per_channel layer one per
/// channel). raw[k * L + l] is source k's raw weight (k = 0: the previous layer); out[k] the
/// weight it is added with:
///   none:    w_k = r_k
///   relu:    w_k = max(r_k, 0) / (eps + sum_j max(r_j, 0))
///   softmax: w_k = exp(r_k - M) / (eps + sum_j exp(r_j - M)),  M = max_j r_j (the first maximum)
/// (AlexeyAB's formulas, eps included: his softmax is not shift-invariant because of it).
/// Returns the denominator S (1 for none) and sets *argmax (softmax; else -1).
template <class T>
DN_HD inline T shortcut_group_weights(const T* raw, int K, int L, int l, ShortcutNorm norm, T* out, int* argmax) {
    *argmax = -1;
    if (norm == ShortcutNorm::None) {
        for (int k = 0; k < K; ++k) out[k] = raw[k * L + l];
        return T(1);
    }
    T m = raw[l];
    if (norm == ShortcutNorm::Softmax) {
        *argmax = 0;
        for (int k = 1; k < K; ++k)
            if (raw[k * L + l] > m) m = raw[k * L + l], *argmax = k;
    }
    T s = T(kShortcutNormEps);
    for (int k = 0; k < K; ++k) {
        const T r = raw[k * L + l];
        out[k] = norm == ShortcutNorm::Relu ? (r > T(0) ? r : T(0)) : T(std::exp(r - m));
        s += out[k];
    }
    for (int k = 0; k < K; ++k) out[k] /= s;
    return s;
}

/// Backward of shortcut_group_weights: given G[k] = dL/dw_k of group l, adds dL/dr_k into
/// grad[k * L + l]. With w the normalized weights and S their denominator:
///   none:    dL/dr_k = G_k
///   relu:    w_k = rho_k / S, dw_i/dr_k = rho'_k (delta_ik - w_i) / S, so
///            dL/dr_k = rho'_k / S (G_k - sum_i G_i w_i)     (rho' = [r > 0])
///   softmax: with E_j = exp(r_j - M), dE_j/dr_k = E_j (delta_jk - a_k), a_k = [k = argmax], and
///            dS/dr_k = E_k - a_k (S - eps), dw_i/dr_k = w_i (delta_ik - w_k - a_k eps / S), so
///            dL/dr_k = w_k (G_k - sum_i G_i w_i) - a_k (eps / S) sum_i G_i w_i.
template <class T>
DN_HD inline void shortcut_group_weights_backward(const T* raw, int K, int L, int l, ShortcutNorm norm, const T* G,
                                                  T* grad) {
    if (norm == ShortcutNorm::None) {
        for (int k = 0; k < K; ++k) grad[k * L + l] += G[k];
        return;
    }
    T w[kShortcutMaxSources];
    int argmax;
    const T s = shortcut_group_weights(raw, K, L, l, norm, w, &argmax);
    T gw = T(0);
    for (int k = 0; k < K; ++k) gw += G[k] * w[k];
    for (int k = 0; k < K; ++k) {
        if (norm == ShortcutNorm::Relu) {
            if (raw[k * L + l] > T(0)) grad[k * L + l] += (G[k] - gw) / s;
        } else {
            grad[k * L + l] += w[k] * (G[k] - gw) - (k == argmax ? T(kShortcutNormEps) / s * gw : T(0));
        }
    }
}

}  // namespace dn
