// The per-element losses of [cost] and [logistic] (cost_layer.cpp, logistic_layer.cpp on the CPU,
// cost_gpu in layers_gpu.cu): one formula compiled for both sides, so that they cannot drift apart.
#pragma once

#include <cmath>

#include "kernels/gpu_index.hpp"  // DN_HD

namespace dn {

/// Logistic is [logistic]'s loss (no [cost] type= names it): y is then the logit.
enum class CostType { Sse, Masked, L1, Smooth, Logistic };

/// Darknet's "no label here" value for type=masked (SECRET_NUM).
constexpr float kMaskedLabel = -1234.f;

/// One element of the loss between prediction y and label t, d = y - t: adds its term to *cost
/// (in double) and returns dL/dy before the layer's scale.
///   sse:    d^2 / 2                          -> d
///   masked: sse, or nothing where t = -1234  -> d or 0
///   L1:     |d|                              -> sign(d)
///   smooth: d^2 / 2 (|d| < 1), |d| - 1/2     -> d, or sign(d)  (Huber with delta 1)
///   logistic, y the logit x and p = 1/(1 + e^-x): the binary cross-entropy -t log p - (1-t) log(1-p)
///     = max(x, 0) - x t + log(1 + e^-|x|) (finite for every x) -> p - t, its gradient w.r.t. x
template <class T>
DN_HD inline T cost_element(CostType type, T y, T t, double* cost) {
    const T d = y - t;
    const T sign = d > 0 ? T(1) : (d < 0 ? T(-1) : T(0));
    switch (type) {
        case CostType::Masked:
            if (t == T(kMaskedLabel)) return T(0);
            [[fallthrough]];
        case CostType::Sse:
            *cost += 0.5 * d * d;
            return d;
        case CostType::L1:
            *cost += d < 0 ? -static_cast<double>(d) : static_cast<double>(d);
            return sign;
        case CostType::Smooth:
            if (d > T(-1) && d < T(1)) {
                *cost += 0.5 * d * d;
                return d;
            }
            *cost += (d < 0 ? -static_cast<double>(d) : static_cast<double>(d)) - 0.5;
            return sign;
        case CostType::Logistic: {
            const double x = static_cast<double>(y), a = x < 0 ? -x : x;
            *cost += (x > 0 ? x : 0.0) - x * static_cast<double>(t) + log1p(exp(-a));
            return static_cast<T>(1.0 / (1.0 + exp(-x)) - static_cast<double>(t));
        }
    }
    return T(0);
}

}  // namespace dn
