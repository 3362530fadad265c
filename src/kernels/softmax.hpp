// The softmax of one group of n values at a stride, and its backward, on the host: shared by
// [softmax] (softmax_layer.cpp) and [region]'s class scores (region_layer.cpp). The GPU's
// softmax_group / softmax_group_bwd (layers_gpu.cu) do the same arithmetic: max in T, sums in
// double.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace dn {

/// y_i = exp((x_i - max x) inv_t) / sum_j exp((x_j - max x) inv_t) over x[0], x[stride], ...,
/// x[(n-1) stride] (temperature 1/inv_t). y may be x (in place).
template <class T>
void softmax_group(const T* x, int n, size_t stride, T inv_t, T* y) {
    T m = x[0];
    for (int i = 1; i < n; ++i) m = std::max(m, x[static_cast<size_t>(i) * stride]);
    double sum = 0;
    for (int i = 0; i < n; ++i) {
        const size_t k = static_cast<size_t>(i) * stride;
        const T e = std::exp((x[k] - m) * inv_t);
        y[k] = e;
        sum += e;
    }
    for (int i = 0; i < n; ++i) y[static_cast<size_t>(i) * stride] = static_cast<T>(y[static_cast<size_t>(i) * stride] / sum);
}

// Backward: y_i = softmax(x/tau)_i has Jacobian dy_i/dx_k = y_i (delta_ik - y_k)/tau, so
//   dL/dx_k = y_k (dL/dy_k - sum_i dL/dy_i y_i) / tau,
// added into dx (the group's y, d = dL/dy and dx at the same offsets and stride).
template <class T>
void softmax_group_backward(const T* y, const T* d, int n, size_t stride, T inv_t, T* dx) {
    double dot = 0;
    for (int i = 0; i < n; ++i) dot += d[static_cast<size_t>(i) * stride] * y[static_cast<size_t>(i) * stride];
    for (int i = 0; i < n; ++i) {
        const size_t k = static_cast<size_t>(i) * stride;
        dx[k] += static_cast<T>(y[k] * (d[k] - dot) * inv_t);
    }
}

}  // namespace dn
