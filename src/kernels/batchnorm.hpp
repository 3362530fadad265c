// Spatial batch normalization (Ioffe & Szegedy 2015, "Batch Normalization", Alg. 1 and 2) on
// NCHW tensors viewed as x[N][C][S], S = H*W; statistics per channel over the M = N*S values.
//
// Conventions (one place for CPU and GPU):
//  - normalization uses the biased batch variance (divide by M) in forward AND backward;
//  - y = gamma * (x - mean) / sqrt(var + eps) + beta, eps = kBatchnormEps (cuDNN's and PyTorch's
//    1e-5; Darknet's CPU code used sqrt(var) + 1e-6, its GPU code sqrt(var + 1e-5));
//  - rolling statistics: r = (1 - m) * r + m * batch, m = kBatchnormMomentum = 0.01 (Darknet's
//    .99/.01), with the unbiased variance var * M / (M - 1) (PyTorch and cuDNN; Darknet keeps the
//    biased one). For M == 1 the biased value is used.
//  - eval mode uses the rolling statistics as constants, forward and backward.
//  - sums accumulate in double; the variance comes from data shifted by a sample (never
//    E[x^2] - E[x]^2).
#pragma once

#include <cstddef>

namespace dn {

constexpr double kBatchnormEps = 1e-5;
constexpr double kBatchnormMomentum = 0.01;

/// Training forward. x, y: [N, C, S] (y may alias x). Writes the batch mean and 1/sqrt(var+eps) per
/// channel to mean[C], inv_std[C] (kept for backward) and updates rolling_mean/rolling_var[C] when
/// they are not null.
template <class T>
void batchnorm_forward_train(const T* x, int N, int C, int S, const T* gamma, const T* beta, T* y, T* mean,
                             T* inv_std, T* rolling_mean, T* rolling_var, double eps = kBatchnormEps);

/// Eval forward with rolling statistics. y may alias x.
template <class T>
void batchnorm_forward_eval(const T* x, int N, int C, int S, const T* gamma, const T* beta, const T* rolling_mean,
                            const T* rolling_var, T* y, double eps = kBatchnormEps);

/// Training backward. Given x (the forward input), dy = dL/dy, and the saved mean/inv_std:
/// ADDS dL/dgamma into dgamma[C] and dL/dbeta into dbeta[C]; writes (accumulate=false, dx may
/// alias dy) or adds (accumulate=true) dL/dx into dx. dx may be null.
template <class T>
void batchnorm_backward_train(const T* x, const T* dy, int N, int C, int S, const T* gamma, const T* mean,
                              const T* inv_std, T* dx, bool accumulate, T* dgamma, T* dbeta);

/// Eval backward: the statistics are constants, so dL/dx = gamma * dy / sqrt(rolling_var + eps),
/// dL/dgamma = sum dy * x_hat, dL/dbeta = sum dy. Same accumulate rules as the training backward.
template <class T>
void batchnorm_backward_eval(const T* x, const T* dy, int N, int C, int S, const T* gamma, const T* rolling_mean,
                             const T* rolling_var, T* dx, bool accumulate, T* dgamma, T* dbeta,
                             double eps = kBatchnormEps);

}  // namespace dn
