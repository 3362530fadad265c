#include "batchnorm.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "reduce.hpp"

namespace dn {

// The kernels walk memory in order, one (n, c) plane of S values at a time: walking a channel's N
// planes (C*S values apart) instead runs ~1.6x slower, and the planes of one channel map to a few
// L2 sets and evict each other, so re-reading a channel "from cache" does not work either.

// Training forward. Per plane, one pass of the shifted-data algorithm in double: with K the plane's
// first value, s1 = sum (x - K), s2 = sum (x - K)^2, then mean = K + s1/S and
// M2 = s2 - s1^2/S. K is a sample of the plane, so x - K is on the scale of its spread and the
// subtraction loses nothing to cancellation (unlike E[x^2] - E[x]^2: at mean 1e4 and std 1 that
// would cancel 8 digits; here the error stays at double rounding of values of order std^2).
// Per channel the N planes are merged with Chan, Golub & LeVeque's pairwise update
//   M2 = M2_a + M2_b + d^2 n_a n_b / (n_a + n_b),  d = mean_b - mean_a,
// var = M2 / M (biased). A second pass writes y = (x - mu) * gamma / sqrt(var + eps) + beta.
namespace {
// Per channel: the mean and M2 = sum (x - mean)^2 of its N planes of S values.
template <class T>
void channel_moments(const T* x, int N, int C, int S, std::vector<double>& mu, std::vector<double>& m2) {
    mu.assign(C, 0.0);
    m2.assign(C, 0.0);
    if (S == 1) {
        // Rows of C values ([connected] and the recurrent layers' blocks): the same shifted sums,
        // K_c = the first row's value, accumulated a row at a time across the channels (a plane
        // of one value pays the lanes' setup and fold for each value: ~70x slower, make bench's
        // BM_BatchnormRowsTrainStep).
        double *s1 = mu.data(), *s2 = m2.data();
        for (int n = 0; n < N; ++n) {
            const T* r = x + static_cast<size_t>(n) * C;
#pragma omp simd
            for (int c = 0; c < C; ++c) {
                const double d = static_cast<double>(r[c]) - static_cast<double>(x[c]);
                s1[c] += d;
                s2[c] += d * d;
            }
        }
        for (int c = 0; c < C; ++c) {
            const double a = s1[c], b = s2[c];
            mu[c] = static_cast<double>(x[c]) + a / N;
            m2[c] = std::max(0.0, b - a * a / N);
        }
        return;
    }
    const int planes = N * C;
    std::vector<double> pm(planes), pm2(planes);
#pragma omp parallel for schedule(static)
    for (int k = 0; k < planes; ++k) {
        const T* xs = x + static_cast<size_t>(k) * S;
        const T K = xs[0];
        double s1 = 0, s2 = 0;
        sum_shifted_d(xs, S, K, &s1, &s2);
        pm[k] = static_cast<double>(K) + s1 / S;
        pm2[k] = std::max(0.0, s2 - s1 * s1 / S);
    }
    for (int c = 0; c < C; ++c) {
        double count = 0;
        for (int n = 0; n < N; ++n) {
            const int k = n * C + c;
            const double d = pm[k] - mu[c], tot = count + S;
            mu[c] += d * S / tot;
            m2[c] += pm2[k] + d * d * count * S / tot;
            count = tot;
        }
    }
}

// y = (x - mu_c) * k_c + b_c over every plane (x and y may be the same array).
template <class T>
void channel_scale_shift(const T* x, int N, int C, int S, const T* mu, const T* k, const T* b, T* y) {
    if (S == 1) {
        for (int n = 0; n < N; ++n) {
            const T* r = x + static_cast<size_t>(n) * C;
            T* o = y + static_cast<size_t>(n) * C;
#pragma omp simd
            for (int c = 0; c < C; ++c) o[c] = (r[c] - mu[c]) * k[c] + b[c];
        }
        return;
    }
#pragma omp parallel for schedule(static)
    for (int p = 0; p < N * C; ++p) {
        const int c = p % C;
        const T m = mu[c], sc = k[c], sh = b[c];
        const T* xs = x + static_cast<size_t>(p) * S;
        T* ys = y + static_cast<size_t>(p) * S;
#pragma omp simd
        for (int s = 0; s < S; ++s) ys[s] = (xs[s] - m) * sc + sh;
    }
}
}  // namespace

// Training forward. Per plane, one pass of the shifted-data algorithm in double: with K the plane's
// first value, s1 = sum (x - K), s2 = sum (x - K)^2, then mean = K + s1/S and
// M2 = s2 - s1^2/S. K is a sample of the plane, so x - K is on the scale of its spread and the
// subtraction loses nothing to cancellation (unlike E[x^2] - E[x]^2: at mean 1e4 and std 1 that
// would cancel 8 digits; here the error stays at double rounding of values of order std^2).
// Per channel the N planes are merged with Chan, Golub & LeVeque's pairwise update
//   M2 = M2_a + M2_b + d^2 n_a n_b / (n_a + n_b),  d = mean_b - mean_a,
// var = M2 / M (biased). (With S = 1, one shifted pass over the rows, K the first row.) A second
// pass writes y = (x - mu) * gamma / sqrt(var + eps) + beta.
template <class T>
void batchnorm_forward_train(const T* x, int N, int C, int S, const T* gamma, const T* beta, T* y, T* mean,
                             T* inv_std, T* rolling_mean, T* rolling_var, double eps) {
    const double M = static_cast<double>(N) * S;
    const double m = kBatchnormMomentum;
    std::vector<double> mus, m2s;
    channel_moments(x, N, C, S, mus, m2s);
    std::vector<T> scale(C);
    for (int c = 0; c < C; ++c) {
        const double mu_d = mus[c];
        const T mu = static_cast<T>(mu_d);
        // variance about the rounded mean the normalization subtracts
        const double var = std::max(0.0, m2s[c] / M) + (mu_d - mu) * (mu_d - mu);
        const double inv = 1.0 / std::sqrt(var + eps);
        mean[c] = mu;
        inv_std[c] = static_cast<T>(inv);
        scale[c] = static_cast<T>(gamma[c] * inv);
        if (rolling_mean) rolling_mean[c] = static_cast<T>((1 - m) * rolling_mean[c] + m * mu_d);
        if (rolling_var) {
            const double unbiased = M > 1 ? var * M / (M - 1) : var;
            rolling_var[c] = static_cast<T>((1 - m) * rolling_var[c] + m * unbiased);
        }
    }
    channel_scale_shift(x, N, C, S, mean, scale.data(), beta, y);
}

template <class T>
void batchnorm_forward_eval(const T* x, int N, int C, int S, const T* gamma, const T* beta, const T* rolling_mean,
                            const T* rolling_var, T* y, double eps) {
    std::vector<T> scale(C);
    for (int c = 0; c < C; ++c) scale[c] = static_cast<T>(gamma[c] / std::sqrt(static_cast<double>(rolling_var[c]) + eps));
    channel_scale_shift(x, N, C, S, rolling_mean, scale.data(), beta, y);
}

namespace {
// Per channel: sdy = sum dy, sdyx = sum dy (x - mu), over all planes in memory order. Planes are
// reduced into per-plane slots, then summed per channel (no races, deterministic order).
template <class T>
void channel_sums(const T* x, const T* dy, int N, int C, int S, const T* mu, std::vector<double>& sdy,
                  std::vector<double>& sdyx) {
    sdy.assign(C, 0.0);
    sdyx.assign(C, 0.0);
    if (S == 1) {  // rows of C values, as in channel_moments
        double *a = sdy.data(), *b = sdyx.data();
        for (int n = 0; n < N; ++n) {
            const T* xr = x + static_cast<size_t>(n) * C;
            const T* dr = dy + static_cast<size_t>(n) * C;
#pragma omp simd
            for (int c = 0; c < C; ++c) {
                const double d = static_cast<double>(dr[c]);
                a[c] += d;
                b[c] += d * static_cast<double>(xr[c] - mu[c]);
            }
        }
        return;
    }
    const int planes = N * C;
    std::vector<double> a(planes), b(planes);
#pragma omp parallel for schedule(static)
    for (int k = 0; k < planes; ++k) {
        double u = 0, v = 0;
        sum_dy_dyx_d(dy + static_cast<size_t>(k) * S, x + static_cast<size_t>(k) * S, S, mu[k % C], &u, &v);
        a[k] = u;
        b[k] = v;
    }
    for (int k = 0; k < planes; ++k) {
        sdy[k % C] += a[k];
        sdyx[k % C] += b[k];
    }
}

// dx = k_c dy + c1_c (x - mu_c) + c0_c over every plane (written, or added when accumulate).
template <class T>
void channel_affine(const T* x, const T* dy, int N, int C, int S, const T* mu, const std::vector<T>& k,
                    const std::vector<T>& c1, const std::vector<T>& c0, T* dx, bool accumulate) {
    if (S == 1) {
        for (int n = 0; n < N; ++n) {
            const size_t off = static_cast<size_t>(n) * C;
            const T *xs = x + off, *ds = dy + off;
            T* o = dx + off;
            if (accumulate) {
#pragma omp simd
                for (int c = 0; c < C; ++c) o[c] += k[c] * ds[c] + c1[c] * (xs[c] - mu[c]) + c0[c];
            } else {
#pragma omp simd
                for (int c = 0; c < C; ++c) o[c] = k[c] * ds[c] + c1[c] * (xs[c] - mu[c]) + c0[c];
            }
        }
        return;
    }
#pragma omp parallel for schedule(static)
    for (int p = 0; p < N * C; ++p) {
        const int c = p % C;
        const T kk = k[c], a = c1[c], b = c0[c], m = mu[c];
        const T* xs = x + static_cast<size_t>(p) * S;
        const T* ds = dy + static_cast<size_t>(p) * S;
        T* o = dx + static_cast<size_t>(p) * S;
        if (accumulate) {
#pragma omp simd
            for (int s = 0; s < S; ++s) o[s] += kk * ds[s] + a * (xs[s] - m) + b;
        } else {
#pragma omp simd
            for (int s = 0; s < S; ++s) o[s] = kk * ds[s] + a * (xs[s] - m) + b;
        }
    }
}
}  // namespace

// Backward, training mode (Ioffe & Szegedy 2015, Sec. 3, chain rule through the batch statistics).
// With x_hat = (x - mu) * inv, inv = (var + eps)^-1/2, y = gamma * x_hat + beta, and dy = dL/dy:
//   dL/dbeta  = sum_i dy_i
//   dL/dgamma = sum_i dy_i * x_hat_i
//   dL/dx_hat_i = gamma * dy_i
//   dL/dvar   = sum_i dL/dx_hat_i * (x_i - mu) * (-1/2) * inv^3
//   dL/dmu    = -inv * sum_i dL/dx_hat_i            (the dvar/dmu term is sum(x - mu) = 0)
//   dL/dx_i   = dL/dx_hat_i * inv + dL/dvar * 2 (x_i - mu)/M + dL/dmu / M
//             = gamma * inv / M * (M dy_i - sum_j dy_j - x_hat_i * sum_j dy_j x_hat_j)
// The biased variance (1/M) of the forward pass is the one differentiated here.
// Implementation: one reduction pass for (sum dy, sum dy*(x - mu)), then one elementwise pass
//   dx_i = k*dy_i + c1*(x_i - mu) + c0,  k = gamma*inv, c0 = -k*mean(dy), c1 = -k*inv^2*mean(dy*(x-mu)).
template <class T>
void batchnorm_backward_train(const T* x, const T* dy, int N, int C, int S, const T* gamma, const T* mean,
                              const T* inv_std, T* dx, bool accumulate, T* dgamma, T* dbeta) {
    const double M = static_cast<double>(N) * S;
    std::vector<double> sdy, sdyx;
    channel_sums(x, dy, N, C, S, mean, sdy, sdyx);
    std::vector<T> k(C), c1(C), c0(C);
    for (int c = 0; c < C; ++c) {
        const double inv = inv_std[c];
        dgamma[c] += static_cast<T>(sdyx[c] * inv);
        dbeta[c] += static_cast<T>(sdy[c]);
        const double kk = gamma[c] * inv;
        k[c] = static_cast<T>(kk);
        c0[c] = static_cast<T>(-kk * sdy[c] / M);
        c1[c] = static_cast<T>(-kk * inv * inv * sdyx[c] / M);
    }
    if (dx) channel_affine(x, dy, N, C, S, mean, k, c1, c0, dx, accumulate);
}

// Backward, eval mode: mu_r = rolling_mean, inv_r = (rolling_var + eps)^-1/2 are constants, so
// y = gamma * (x - mu_r) * inv_r + beta is affine in x:
//   dL/dx_i = gamma * inv_r * dy_i,  dL/dgamma = sum_i dy_i (x_i - mu_r) inv_r,  dL/dbeta = sum_i dy_i.
template <class T>
void batchnorm_backward_eval(const T* x, const T* dy, int N, int C, int S, const T* gamma, const T* rolling_mean,
                             const T* rolling_var, T* dx, bool accumulate, T* dgamma, T* dbeta, double eps) {
    std::vector<double> sdy, sdyx;
    channel_sums(x, dy, N, C, S, rolling_mean, sdy, sdyx);
    std::vector<T> k(C), zero(C, T(0));
    for (int c = 0; c < C; ++c) {
        const double inv = 1.0 / std::sqrt(static_cast<double>(rolling_var[c]) + eps);
        dgamma[c] += static_cast<T>(sdyx[c] * inv);
        dbeta[c] += static_cast<T>(sdy[c]);
        k[c] = static_cast<T>(gamma[c] * inv);
    }
    if (dx) channel_affine(x, dy, N, C, S, rolling_mean, k, zero, zero, dx, accumulate);
}

#define DN_INSTANTIATE_BN(T)                                                                              \
    template void batchnorm_forward_train<T>(const T*, int, int, int, const T*, const T*, T*, T*, T*, T*, T*,     \
                                             double);                                                     \
    template void batchnorm_forward_eval<T>(const T*, int, int, int, const T*, const T*, const T*, const T*, T*,  \
                                            double);                                                      \
    template void batchnorm_backward_train<T>(const T*, const T*, int, int, int, const T*, const T*, const T*, T*, \
                                              bool, T*, T*);                                              \
    template void batchnorm_backward_eval<T>(const T*, const T*, int, int, int, const T*, const T*, const T*, T*, \
                                             bool, T*, T*, double);
DN_INSTANTIATE_BN(float)
DN_INSTANTIATE_BN(double)

}  // namespace dn
