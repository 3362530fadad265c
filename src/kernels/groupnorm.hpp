// Group normalization (Wu & He 2018, "Group Normalization", eq. 1-3) on NCHW tensors x[N][C][S]:
// the C channels form G groups of C/G consecutive channels; statistics per (n, g) over the
// M = (C/G)*S values, biased variance, per-channel gamma/beta:
//     y = gamma_c * (x - mu_ng) / sqrt(var_ng + eps) + beta_c.
// A sample's output does not depend on the other samples of the batch. G = 1 is LayerNorm over
// (C,H,W); G = C is InstanceNorm. Sums in double, the variance from data shifted by a sample
// (never E[x^2] - E[x]^2).
#pragma once

namespace dn {

constexpr double kGroupnormEps = 1e-5;

/// y may alias x only when mean/inv_std are not needed afterwards. mean, inv_std: [N*G].
template <class T>
void groupnorm_forward(const T* x, int N, int C, int S, int G, const T* gamma, const T* beta, double eps, T* y,
                       T* mean, T* inv_std);

/// Backward given x, dy = dL/dy and the forward's mean/inv_std: writes (accumulate=false, dx may
/// alias dy) or adds dL/dx; ADDS dL/dgamma, dL/dbeta [C]. dx may be null.
template <class T>
void groupnorm_backward(const T* x, const T* dy, int N, int C, int S, int G, const T* gamma, const T* mean,
                        const T* inv_std, T* dx, bool accumulate, T* dgamma, T* dbeta);

}  // namespace dn
