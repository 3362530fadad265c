#include "groupnorm.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "reduce.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace dn {

// Per (n, g): the group's Cg planes are contiguous (Cg*S values), read three times from cache.
template <class T>
void groupnorm_forward(const T* x, int N, int C, int S, int G, const T* gamma, const T* beta, double eps, T* y,
                       T* mean, T* inv_std) {
    const int Cg = C / G;
    const int M = Cg * S;
#pragma omp parallel for schedule(static) if (static_cast<long>(N) * C * S > 32768)
    for (int ng = 0; ng < N * G; ++ng) {
        const int g = ng % G;
        const size_t off = static_cast<size_t>(ng) * M;
        const T* xs = x + off;
        // one pass of the shifted-data algorithm (as batchnorm's, src/kernels/batchnorm.cpp): with
        // K the group's first value, s1 = sum (x - K), s2 = sum (x - K)^2, mean = K + s1/M and
        // M2 = s2 - s1^2/M, no cancellation since x - K is on the scale of the spread. It was two
        // passes (the mean, then the squared deviations), each as costly as this one.
        const T K = xs[0];
        double s1 = 0, s2 = 0;
        sum_shifted_d(xs, M, K, &s1, &s2);
        const double mu_d = static_cast<double>(K) + s1 / M;
        const T mu = static_cast<T>(mu_d);
        // variance about the rounded mean the normalization subtracts
        const double var = std::max(0.0, s2 - s1 * s1 / M) / M + (mu_d - mu) * (mu_d - mu);
        const double inv = 1.0 / std::sqrt(var + eps);
        mean[ng] = mu;
        inv_std[ng] = static_cast<T>(inv);
        for (int k = 0; k < Cg; ++k) {
            const int c = g * Cg + k;
            const T sc = static_cast<T>(gamma[c] * inv), b = beta[c];
            const T* xc = xs + static_cast<size_t>(k) * S;
            T* yc = y + off + static_cast<size_t>(k) * S;
#pragma omp simd
            for (int s = 0; s < S; ++s) yc[s] = (xc[s] - mu) * sc + b;
        }
    }
}

// Backward (Wu & He 2018 with the chain rule of Ioffe & Szegedy 2015 applied per group).
// Per (n, g), with x_hat = (x - mu) inv, M = Cg*S, and g_i = dL/dx_hat_i = gamma_c(i) dL/dy_i:
//   dL/dx_i  = inv / M * (M g_i - sum_j g_j - x_hat_i sum_j g_j x_hat_j)
//   dL/dgamma_c += sum_{s} dL/dy * x_hat,   dL/dbeta_c += sum_s dL/dy     (over every n)
// One reduction pass gives per channel sdy_c = sum dy, sdyx_c = sum dy (x - mu); then
//   sum_j g_j = sum_c gamma_c sdy_c,  sum_j g_j x_hat_j = inv sum_c gamma_c sdyx_c,
// and one elementwise pass: dx = inv gamma_c dy + c1 (x - mu) + c0.
// dgamma/dbeta are summed per thread and reduced at the end (samples of one group share them).
template <class T>
void groupnorm_backward(const T* x, const T* dy, int N, int C, int S, int G, const T* gamma, const T* mean,
                        const T* inv_std, T* dx, bool accumulate, T* dgamma, T* dbeta) {
    const int Cg = C / G;
    const int M = Cg * S;
    int threads = 1;
#ifdef _OPENMP
    threads = static_cast<long>(N) * C * S > 32768 ? omp_get_max_threads() : 1;
#endif
    std::vector<double> part(static_cast<size_t>(threads) * 2 * C, 0.0);
#pragma omp parallel num_threads(threads)
    {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        double* pg = part.data() + static_cast<size_t>(tid) * 2 * C;
        double* pb = pg + C;
        std::vector<double> sdy(Cg), sdyx(Cg);
#pragma omp for schedule(static)
        for (int ng = 0; ng < N * G; ++ng) {
            const int g = ng % G;
            const size_t off = static_cast<size_t>(ng) * M;
            const T mu = mean[ng];
            const double inv = inv_std[ng];
            double s1 = 0, s2 = 0;
            for (int k = 0; k < Cg; ++k) {
                const int c = g * Cg + k;
                sdy[k] = 0;
                sdyx[k] = 0;
                sum_dy_dyx_d(dy + off + static_cast<size_t>(k) * S, x + off + static_cast<size_t>(k) * S, S, mu, &sdy[k],
                             &sdyx[k]);
                pg[c] += sdyx[k] * inv;
                pb[c] += sdy[k];
                s1 += gamma[c] * sdy[k];
                s2 += gamma[c] * sdyx[k] * inv;
            }
            if (!dx) continue;
            const T c0 = static_cast<T>(-inv * s1 / M);
            const T c1 = static_cast<T>(-inv * inv * s2 / M);
            for (int k = 0; k < Cg; ++k) {
                const int c = g * Cg + k;
                const T kk = static_cast<T>(inv * gamma[c]);
                const T* xs = x + off + static_cast<size_t>(k) * S;
                const T* ds = dy + off + static_cast<size_t>(k) * S;
                T* o = dx + off + static_cast<size_t>(k) * S;
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
    for (int c = 0; c < C; ++c) {
        double a = 0, b = 0;
        for (int t = 0; t < threads; ++t) {
            a += part[static_cast<size_t>(t) * 2 * C + c];
            b += part[static_cast<size_t>(t) * 2 * C + C + c];
        }
        dgamma[c] += static_cast<T>(a);
        dbeta[c] += static_cast<T>(b);
    }
}

template void groupnorm_forward<float>(const float*, int, int, int, int, const float*, const float*, double, float*,
                                       float*, float*);
template void groupnorm_forward<double>(const double*, int, int, int, int, const double*, const double*, double,
                                        double*, double*, double*);
template void groupnorm_backward<float>(const float*, const float*, int, int, int, int, const float*, const float*,
                                        const float*, float*, bool, float*, float*);
template void groupnorm_backward<double>(const double*, const double*, int, int, int, int, const double*,
                                         const double*, const double*, double*, bool, double*, double*);

}  // namespace dn
