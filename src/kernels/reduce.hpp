// Vectorized reductions that accumulate in double (shared by batchnorm, groupnorm, layers).
// kReduceLanes = 32 independent double accumulators (4 AVX-512 / 8 AVX2 vectors) keep the
// additions off a single latency-bound dependency chain. The n % 32 values past the last full
// block go into the first lanes (independent additions, not a chain), and the lanes are folded
// as a tree (16 + 16, 8 + 8, ...: five vector steps). Both used to be sequential scalar chains,
// about 32 dependent additions per call, which cost more than the sum itself on a plane of 196
// values (BM_*InCache in make bench). The order is fixed, so results do not depend on threads.
#pragma once

namespace dn {

constexpr int kReduceLanes = 32;

namespace detail {

/// a[0] + ... + a[W - 1] as a tree (a is overwritten). Each step has a constant trip count, so
/// it compiles to a few vector additions in registers (a loop over the width did not: its stores
/// and overlapping reloads stalled on store forwarding).
template <int W = kReduceLanes>
inline double fold_lanes(double* a) {
    if constexpr (W == 1) {
        return a[0];
    } else {
#pragma omp simd
        for (int k = 0; k < W / 2; ++k) a[k] += a[k + W / 2];
        return fold_lanes<W / 2>(a);
    }
}

/// sum over i in [0, n) of term(i), in double lanes.
template <class F>
inline double lane_sum(int n, F term) {
    alignas(64) double a[kReduceLanes] = {};
    int i = 0;
    for (; i + kReduceLanes <= n; i += kReduceLanes) {
#pragma omp simd
        for (int k = 0; k < kReduceLanes; ++k) a[k] += term(i + k);
    }
    const int r = n - i;
#pragma omp simd
    for (int k = 0; k < r; ++k) a[k] += term(i + k);
    return fold_lanes(a);
}

/// (*s1, *s2) += sums over i in [0, n) of (u, v) = term(i, &u, &v), in double lanes.
template <class F>
inline void lane_sum2(int n, F term, double* s1, double* s2) {
    alignas(64) double a[kReduceLanes] = {}, b[kReduceLanes] = {};
    int i = 0;
    for (; i + kReduceLanes <= n; i += kReduceLanes) {
#pragma omp simd
        for (int k = 0; k < kReduceLanes; ++k) {
            double u, v;
            term(i + k, &u, &v);
            a[k] += u;
            b[k] += v;
        }
    }
    const int r = n - i;
#pragma omp simd
    for (int k = 0; k < r; ++k) {
        double u, v;
        term(i + k, &u, &v);
        a[k] += u;
        b[k] += v;
    }
    *s1 += fold_lanes(a);
    *s2 += fold_lanes(b);
}

}  // namespace detail

/// sum(x[0..n)) in double.
template <class T>
inline double sum_d(const T* x, int n) {
    return detail::lane_sum(n, [x](int i) { return static_cast<double>(x[i]); });
}

/// *s1 += sum(x - K), *s2 += sum((x - K)^2), in double (the shifted-data variance; K a sample).
template <class T>
inline void sum_shifted_d(const T* x, int n, T K, double* s1, double* s2) {
    const double k = static_cast<double>(K);
    detail::lane_sum2(
        n,
        [x, k](int i, double* u, double* v) {
            const double d = static_cast<double>(x[i]) - k;
            *u = d;
            *v = d * d;
        },
        s1, s2);
}

/// *sdy += sum(dy), *sdyx += sum(dy * (x - mu)), in double.
template <class T>
inline void sum_dy_dyx_d(const T* dy, const T* x, int n, T mu, double* sdy, double* sdyx) {
    detail::lane_sum2(
        n,
        [dy, x, mu](int i, double* u, double* v) {
            const double d = static_cast<double>(dy[i]);
            *u = d;
            *v = d * static_cast<double>(x[i] - mu);
        },
        sdy, sdyx);
}

}  // namespace dn
