// Vectorized reductions that accumulate in double (shared by batchnorm, groupnorm, layers).
// 32 independent double accumulators (4 AVX-512 / 8 AVX2 vectors) keep the additions off a single
// latency-bound dependency chain; the lanes are summed at the end.
#pragma once

namespace dn {

constexpr int kReduceLanes = 32;

/// sum(x[0..n)) in double.
template <class T>
inline double sum_d(const T* x, int n) {
    double acc[kReduceLanes] = {};
    int i = 0;
    for (; i + kReduceLanes <= n; i += kReduceLanes) {
#pragma omp simd
        for (int k = 0; k < kReduceLanes; ++k) acc[k] += static_cast<double>(x[i + k]);
    }
    double s = 0;
    for (; i < n; ++i) s += static_cast<double>(x[i]);
    for (int k = 0; k < kReduceLanes; ++k) s += acc[k];
    return s;
}

/// sum((x - mu)^2) in double (second pass of the two-pass variance).
template <class T>
inline double sum_sq_dev_d(const T* x, int n, T mu) {
    double acc[kReduceLanes] = {};
    int i = 0;
    for (; i + kReduceLanes <= n; i += kReduceLanes) {
#pragma omp simd
        for (int k = 0; k < kReduceLanes; ++k) {
            const double d = static_cast<double>(x[i + k] - mu);
            acc[k] += d * d;
        }
    }
    double s = 0;
    for (; i < n; ++i) {
        const double d = static_cast<double>(x[i] - mu);
        s += d * d;
    }
    for (int k = 0; k < kReduceLanes; ++k) s += acc[k];
    return s;
}

/// *s1 += sum(x - K), *s2 += sum((x - K)^2), in double (the shifted-data variance; K a sample).
template <class T>
inline void sum_shifted_d(const T* x, int n, T K, double* s1, double* s2) {
    double a[kReduceLanes] = {}, b[kReduceLanes] = {};
    int i = 0;
    for (; i + kReduceLanes <= n; i += kReduceLanes) {
#pragma omp simd
        for (int k = 0; k < kReduceLanes; ++k) {
            const double d = static_cast<double>(x[i + k]) - static_cast<double>(K);
            a[k] += d;
            b[k] += d * d;
        }
    }
    double sa = 0, sb = 0;
    for (; i < n; ++i) {
        const double d = static_cast<double>(x[i]) - static_cast<double>(K);
        sa += d;
        sb += d * d;
    }
    for (int k = 0; k < kReduceLanes; ++k) {
        sa += a[k];
        sb += b[k];
    }
    *s1 += sa;
    *s2 += sb;
}

/// *sdy += sum(dy), *sdyx += sum(dy * (x - mu)), in double.
template <class T>
inline void sum_dy_dyx_d(const T* dy, const T* x, int n, T mu, double* sdy, double* sdyx) {
    double a[kReduceLanes] = {}, b[kReduceLanes] = {};
    int i = 0;
    for (; i + kReduceLanes <= n; i += kReduceLanes) {
#pragma omp simd
        for (int k = 0; k < kReduceLanes; ++k) {
            const double d = static_cast<double>(dy[i + k]);
            a[k] += d;
            b[k] += d * static_cast<double>(x[i + k] - mu);
        }
    }
    double sa = 0, sb = 0;
    for (; i < n; ++i) {
        const double d = static_cast<double>(dy[i]);
        sa += d;
        sb += d * static_cast<double>(x[i] - mu);
    }
    for (int k = 0; k < kReduceLanes; ++k) {
        sa += a[k];
        sb += b[k];
    }
    *sdy += sa;
    *sdyx += sb;
}

}  // namespace dn
