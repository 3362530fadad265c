// Vectorized reductions that accumulate in double (shared by batchnorm, groupnorm, layers).
#pragma once

namespace dn {

/// sum(x[0..n)) in double.
template <class T>
inline double sum_d(const T* x, int n) {
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int i = 0; i < n; ++i) s += static_cast<double>(x[i]);
    return s;
}

/// sum((x - mu)^2) in double (second pass of the two-pass variance).
template <class T>
inline double sum_sq_dev_d(const T* x, int n, T mu) {
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int i = 0; i < n; ++i) {
        double d = static_cast<double>(x[i] - mu);
        s += d * d;
    }
    return s;
}

/// *sdy += sum(dy), *sdyx += sum(dy * (x - mu)), in double.
template <class T>
inline void sum_dy_dyx_d(const T* dy, const T* x, int n, T mu, double* sdy, double* sdyx) {
    double a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
    for (int i = 0; i < n; ++i) {
        double d = static_cast<double>(dy[i]);
        a += d;
        b += d * static_cast<double>(x[i] - mu);
    }
    *sdy += a;
    *sdyx += b;
}

}  // namespace dn
