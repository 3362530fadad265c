#include "lrn.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace dn {

namespace {

// n^-beta, with the common betas done by square roots (exact and vectorizable) instead of pow.
enum class PowKind { ThreeQuarters, Half, One, General };

PowKind pow_kind(double beta) {
    if (beta == 0.75) return PowKind::ThreeQuarters;
    if (beta == 0.5) return PowKind::Half;
    if (beta == 1.0) return PowKind::One;
    return PowKind::General;
}

template <PowKind K, class T>
inline T pow_neg(T n, T beta) {
    if (K == PowKind::ThreeQuarters) {
        T r = std::sqrt(n);
        return T(1) / (r * std::sqrt(r));
    }
    if (K == PowKind::Half) return T(1) / std::sqrt(n);
    if (K == PowKind::One) return T(1) / n;
    return std::pow(n, -beta);
}

// Spatial tile width: a tile of all C channels x TS positions of x, dy and two scratch arrays
// stays in L2 between the passes.
int tile_width(int C, int S) {
    int ts = std::max(16, 16384 / std::max(1, C));
    ts = (ts + 15) / 16 * 16;
    return std::min(ts, S);
}

// Sliding window over channels for one tile: acc[s] = sum_{j in win(c)} x_j[s]^2, in double.
template <class T>
struct Window {
    int lo, hi;  // win(c) = [c - lo, c + hi]
    explicit Window(int size) : lo((size - 1) / 2), hi(size / 2) {}
};

template <PowKind K, class T>
void forward_tile(const T* x, int C, int S, int s0, int ts, const LrnParams& p, T* y, double* acc) {
    const Window<T> w(p.size);
    const T alpha = static_cast<T>(p.alpha), kappa = static_cast<T>(p.kappa), beta = static_cast<T>(p.beta);
    for (int s = 0; s < ts; ++s) acc[s] = 0;
    for (int j = 0; j <= std::min(w.hi, C - 1); ++j) {
        const T* xj = x + static_cast<size_t>(j) * S + s0;
#pragma omp simd
        for (int s = 0; s < ts; ++s) acc[s] += static_cast<double>(xj[s]) * xj[s];
    }
    for (int c = 0; c < C; ++c) {
        if (c > 0) {
            const int add = c + w.hi, sub = c - 1 - w.lo;
            if (add < C) {
                const T* xa = x + static_cast<size_t>(add) * S + s0;
#pragma omp simd
                for (int s = 0; s < ts; ++s) acc[s] += static_cast<double>(xa[s]) * xa[s];
            }
            if (sub >= 0) {
                const T* xs = x + static_cast<size_t>(sub) * S + s0;
#pragma omp simd
                for (int s = 0; s < ts; ++s) acc[s] -= static_cast<double>(xs[s]) * xs[s];
            }
        }
        const T* xc = x + static_cast<size_t>(c) * S + s0;
        T* yc = y + static_cast<size_t>(c) * S + s0;
#pragma omp simd
        for (int s = 0; s < ts; ++s) yc[s] = xc[s] * pow_neg<K>(kappa + alpha * static_cast<T>(acc[s]), beta);
    }
}

// Backward (exact). With A_j = sum_{k in win(j)} x_k^2, norms_j = kappa + alpha A_j, y_j = x_j norms_j^-beta:
//   dy_j/dx_i = [i == j] norms_j^-beta  +  x_j (-beta) norms_j^(-beta-1) * alpha * 2 x_i [i in win(j)]
// so, with q_j = dL/dy_j * y_j / norms_j,
//   dL/dx_i = dL/dy_i norms_i^-beta  -  2 alpha beta x_i  sum_{j : i in win(j)} q_j,
// and i in win(j) <=> j in [i - size/2, i + (size-1)/2] (the window mirrored). Pass 1 slides win(c)
// to get the norms, scale = norms^-beta and q; pass 2 slides the mirrored window over q.
template <PowKind K, class T>
void backward_tile(const T* x, const T* dy, int C, int S, int s0, int ts, const LrnParams& p, T* dx, bool accumulate,
                   double* acc, T* scale, T* q) {
    const Window<T> w(p.size);
    const T alpha = static_cast<T>(p.alpha), kappa = static_cast<T>(p.kappa), beta = static_cast<T>(p.beta);
    for (int s = 0; s < ts; ++s) acc[s] = 0;
    for (int j = 0; j <= std::min(w.hi, C - 1); ++j) {
        const T* xj = x + static_cast<size_t>(j) * S + s0;
#pragma omp simd
        for (int s = 0; s < ts; ++s) acc[s] += static_cast<double>(xj[s]) * xj[s];
    }
    for (int c = 0; c < C; ++c) {
        if (c > 0) {
            const int add = c + w.hi, sub = c - 1 - w.lo;
            if (add < C) {
                const T* xa = x + static_cast<size_t>(add) * S + s0;
#pragma omp simd
                for (int s = 0; s < ts; ++s) acc[s] += static_cast<double>(xa[s]) * xa[s];
            }
            if (sub >= 0) {
                const T* xs = x + static_cast<size_t>(sub) * S + s0;
#pragma omp simd
                for (int s = 0; s < ts; ++s) acc[s] -= static_cast<double>(xs[s]) * xs[s];
            }
        }
        const T* xc = x + static_cast<size_t>(c) * S + s0;
        const T* dc = dy + static_cast<size_t>(c) * S + s0;
        T* sc = scale + static_cast<size_t>(c) * ts;
        T* qc = q + static_cast<size_t>(c) * ts;
#pragma omp simd
        for (int s = 0; s < ts; ++s) {
            const T n = kappa + alpha * static_cast<T>(acc[s]);
            const T k = pow_neg<K>(n, beta);
            sc[s] = k;
            qc[s] = dc[s] * xc[s] * k / n;  // dL/dy * y / norms
        }
    }
    // pass 2: Q_i = sum_{j = i - hi}^{i + lo} q_j
    const T two_ab = static_cast<T>(2 * p.alpha * p.beta);
    for (int s = 0; s < ts; ++s) acc[s] = 0;
    for (int j = 0; j <= std::min(w.lo, C - 1); ++j) {
        const T* qj = q + static_cast<size_t>(j) * ts;
#pragma omp simd
        for (int s = 0; s < ts; ++s) acc[s] += qj[s];
    }
    for (int i = 0; i < C; ++i) {
        if (i > 0) {
            const int add = i + w.lo, sub = i - 1 - w.hi;
            if (add < C) {
                const T* qa = q + static_cast<size_t>(add) * ts;
#pragma omp simd
                for (int s = 0; s < ts; ++s) acc[s] += qa[s];
            }
            if (sub >= 0) {
                const T* qs = q + static_cast<size_t>(sub) * ts;
#pragma omp simd
                for (int s = 0; s < ts; ++s) acc[s] -= qs[s];
            }
        }
        const T* xi = x + static_cast<size_t>(i) * S + s0;
        const T* di = dy + static_cast<size_t>(i) * S + s0;
        const T* si = scale + static_cast<size_t>(i) * ts;
        T* o = dx + static_cast<size_t>(i) * S + s0;
        if (accumulate) {
#pragma omp simd
            for (int s = 0; s < ts; ++s) o[s] += di[s] * si[s] - two_ab * xi[s] * static_cast<T>(acc[s]);
        } else {
#pragma omp simd
            for (int s = 0; s < ts; ++s) o[s] = di[s] * si[s] - two_ab * xi[s] * static_cast<T>(acc[s]);
        }
    }
}

template <class F>
void for_each_tile(int N, int C, int S, F&& f) {
    const int ts = tile_width(C, S);
    const int tiles = (S + ts - 1) / ts;
    const int jobs = N * tiles;
#pragma omp parallel for schedule(static) if (static_cast<long>(N) * C * S > 32768)
    for (int k = 0; k < jobs; ++k) {
        const int n = k / tiles, s0 = (k % tiles) * ts;
        f(n, s0, std::min(ts, S - s0), ts);
    }
}

}  // namespace

template <class T>
void lrn_forward(const T* x, int N, int C, int S, const LrnParams& p, T* y) {
    const PowKind kind = pow_kind(p.beta);
    for_each_tile(N, C, S, [&](int n, int s0, int ts, int tmax) {
        static thread_local std::vector<double> acc;
        if (acc.size() < static_cast<size_t>(tmax)) acc.resize(tmax);
        const size_t off = static_cast<size_t>(n) * C * S;
        switch (kind) {
            case PowKind::ThreeQuarters: forward_tile<PowKind::ThreeQuarters>(x + off, C, S, s0, ts, p, y + off, acc.data()); break;
            case PowKind::Half: forward_tile<PowKind::Half>(x + off, C, S, s0, ts, p, y + off, acc.data()); break;
            case PowKind::One: forward_tile<PowKind::One>(x + off, C, S, s0, ts, p, y + off, acc.data()); break;
            case PowKind::General: forward_tile<PowKind::General>(x + off, C, S, s0, ts, p, y + off, acc.data()); break;
        }
    });
}

template <class T>
void lrn_backward(const T* x, const T* dy, int N, int C, int S, const LrnParams& p, T* dx, bool accumulate) {
    const PowKind kind = pow_kind(p.beta);
    for_each_tile(N, C, S, [&](int n, int s0, int ts, int tmax) {
        static thread_local std::vector<double> acc;
        static thread_local std::vector<T> scale, q;
        if (acc.size() < static_cast<size_t>(tmax)) acc.resize(tmax);
        if (scale.size() < static_cast<size_t>(C) * tmax) {
            scale.resize(static_cast<size_t>(C) * tmax);
            q.resize(static_cast<size_t>(C) * tmax);
        }
        const size_t off = static_cast<size_t>(n) * C * S;
        switch (kind) {
#define DN_LRN_BWD(K)                                                                                            \
    case PowKind::K:                                                                                             \
        backward_tile<PowKind::K>(x + off, dy + off, C, S, s0, ts, p, dx + off, accumulate, acc.data(), scale.data(), \
                                  q.data());                                                                     \
        break;
            DN_LRN_BWD(ThreeQuarters) DN_LRN_BWD(Half) DN_LRN_BWD(One) DN_LRN_BWD(General)
#undef DN_LRN_BWD
        }
    });
}

template void lrn_forward<float>(const float*, int, int, int, const LrnParams&, float*);
template void lrn_forward<double>(const double*, int, int, int, const LrnParams&, double*);
template void lrn_backward<float>(const float*, const float*, int, int, int, const LrnParams&, float*, bool);
template void lrn_backward<double>(const double*, const double*, int, int, int, const LrnParams&, double*, bool);

}  // namespace dn
