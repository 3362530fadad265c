#include "batchnorm.hpp"

#include <cmath>

#include "reduce.hpp"

namespace dn {

// Per channel c (M = N*S values):
//   mu = sum(x)/M                       (double accumulation)
//   var = sum((x - mu)^2)/M             (second pass over the channel, still in L2)
//   y = (x - mu) * gamma/sqrt(var + eps) + beta
// The channel's N planes are read three times; for the benchmark shapes a channel (<= 400 KB)
// stays in L2 between the passes, so DRAM sees one read of x and one write of y.
template <class T>
void batchnorm_forward_train(const T* x, int N, int C, int S, const T* gamma, const T* beta, T* y, T* mean,
                             T* inv_std, T* rolling_mean, T* rolling_var, double eps) {
    const double M = static_cast<double>(N) * S;
    const double m = kBatchnormMomentum;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; ++c) {
        double sum = 0;
        for (int n = 0; n < N; ++n) sum += sum_d(x + (static_cast<size_t>(n) * C + c) * S, S);
        const T mu = static_cast<T>(sum / M);
        double sq = 0;
        for (int n = 0; n < N; ++n) sq += sum_sq_dev_d(x + (static_cast<size_t>(n) * C + c) * S, S, mu);
        const double var = sq / M;
        const double inv = 1.0 / std::sqrt(var + eps);
        mean[c] = mu;
        inv_std[c] = static_cast<T>(inv);
        const T k = static_cast<T>(gamma[c] * inv);
        const T b = beta[c];
        for (int n = 0; n < N; ++n) {
            const size_t off = (static_cast<size_t>(n) * C + c) * S;
            const T* xs = x + off;
            T* ys = y + off;
#pragma omp simd
            for (int s = 0; s < S; ++s) ys[s] = (xs[s] - mu) * k + b;
        }
        if (rolling_mean) rolling_mean[c] = static_cast<T>((1 - m) * rolling_mean[c] + m * mu);
        if (rolling_var) {
            const double unbiased = M > 1 ? var * M / (M - 1) : var;
            rolling_var[c] = static_cast<T>((1 - m) * rolling_var[c] + m * unbiased);
        }
    }
}

template <class T>
void batchnorm_forward_eval(const T* x, int N, int C, int S, const T* gamma, const T* beta, const T* rolling_mean,
                            const T* rolling_var, T* y, double eps) {
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < N; ++n) {
        for (int c = 0; c < C; ++c) {
            const T k = static_cast<T>(gamma[c] / std::sqrt(static_cast<double>(rolling_var[c]) + eps));
            const T mu = rolling_mean[c], b = beta[c];
            const size_t off = (static_cast<size_t>(n) * C + c) * S;
            const T* xs = x + off;
            T* ys = y + off;
#pragma omp simd
            for (int s = 0; s < S; ++s) ys[s] = (xs[s] - mu) * k + b;
        }
    }
}

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
#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; ++c) {
        const T mu = mean[c];
        const double inv = inv_std[c];
        double sdy = 0, sdyx = 0;
        for (int n = 0; n < N; ++n) {
            const size_t off = (static_cast<size_t>(n) * C + c) * S;
            sum_dy_dyx_d(dy + off, x + off, S, mu, &sdy, &sdyx);
        }
        dgamma[c] += static_cast<T>(sdyx * inv);
        dbeta[c] += static_cast<T>(sdy);
        if (!dx) continue;
        const double k = gamma[c] * inv;
        const T kk = static_cast<T>(k);
        const T c0 = static_cast<T>(-k * sdy / M);
        const T c1 = static_cast<T>(-k * inv * inv * sdyx / M);
        for (int n = 0; n < N; ++n) {
            const size_t off = (static_cast<size_t>(n) * C + c) * S;
            const T* xs = x + off;
            const T* ds = dy + off;
            T* o = dx + off;
            if (accumulate) {
#pragma omp simd
                for (int s = 0; s < S; ++s) o[s] += kk * ds[s] + c1 * (xs[s] - mu) + c0;
            } else {
#pragma omp simd
                for (int s = 0; s < S; ++s) o[s] = kk * ds[s] + c1 * (xs[s] - mu) + c0;
            }
        }
    }
}

// Backward, eval mode: mu_r = rolling_mean, inv_r = (rolling_var + eps)^-1/2 are constants, so
// y = gamma * (x - mu_r) * inv_r + beta is affine in x:
//   dL/dx_i = gamma * inv_r * dy_i,  dL/dgamma = sum_i dy_i (x_i - mu_r) inv_r,  dL/dbeta = sum_i dy_i.
template <class T>
void batchnorm_backward_eval(const T* x, const T* dy, int N, int C, int S, const T* gamma, const T* rolling_mean,
                             const T* rolling_var, T* dx, bool accumulate, T* dgamma, T* dbeta, double eps) {
#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; ++c) {
        const T mu = rolling_mean[c];
        const double inv = 1.0 / std::sqrt(static_cast<double>(rolling_var[c]) + eps);
        double sdy = 0, sdyx = 0;
        for (int n = 0; n < N; ++n) {
            const size_t off = (static_cast<size_t>(n) * C + c) * S;
            sum_dy_dyx_d(dy + off, x + off, S, mu, &sdy, &sdyx);
        }
        dgamma[c] += static_cast<T>(sdyx * inv);
        dbeta[c] += static_cast<T>(sdy);
        if (!dx) continue;
        const T k = static_cast<T>(gamma[c] * inv);
        for (int n = 0; n < N; ++n) {
            const size_t off = (static_cast<size_t>(n) * C + c) * S;
            const T* ds = dy + off;
            T* o = dx + off;
            if (accumulate) {
#pragma omp simd
                for (int s = 0; s < S; ++s) o[s] += k * ds[s];
            } else {
#pragma omp simd
                for (int s = 0; s < S; ++s) o[s] = k * ds[s];
            }
        }
    }
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
