#include "lrn.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
// GCC's own _mm512_undefined_ps (`__m512 __Y = __Y;`) trips -Wmaybe-uninitialized when the
// AVX-512 helpers below are inlined; the value is never read.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

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

// Float, beta = 3/4 (Darknet's default): k = n^-3/4 = r * sqrt(r), r = n^-1/2, and 1/n = r^2, from
// the hardware reciprocal square-root estimate refined by one Newton step r' = r (3 - n r^2) / 2
// (about one ulp), instead of two square roots and a division at ~10 cycles each per vector.
// Writes k[s] and, when inv_n is not null, 1/n.
void pow_075(const float* nrm, float* k, float* inv_n, int count) {
    int s = 0;
#if defined(__AVX512F__)
    const __m512 half = _mm512_set1_ps(0.5f), three = _mm512_set1_ps(3.f);
    for (; s + 16 <= count; s += 16) {
        const __m512 n = _mm512_loadu_ps(nrm + s);
        __m512 r = _mm512_rsqrt14_ps(n);
        r = _mm512_mul_ps(_mm512_mul_ps(half, r), _mm512_fnmadd_ps(_mm512_mul_ps(n, r), r, three));
        __m512 t = _mm512_rsqrt14_ps(r);  // r^-1/2, so r * t = sqrt(r)
        t = _mm512_mul_ps(_mm512_mul_ps(half, t), _mm512_fnmadd_ps(_mm512_mul_ps(r, t), t, three));
        _mm512_storeu_ps(k + s, _mm512_mul_ps(r, _mm512_mul_ps(r, t)));
        if (inv_n) _mm512_storeu_ps(inv_n + s, _mm512_mul_ps(r, r));
    }
#elif defined(__AVX2__) && defined(__FMA__)
    const __m256 half = _mm256_set1_ps(0.5f), three = _mm256_set1_ps(3.f);
    for (; s + 8 <= count; s += 8) {
        const __m256 n = _mm256_loadu_ps(nrm + s);
        __m256 r = _mm256_rsqrt_ps(n);  // 12-bit estimate: two Newton steps
        r = _mm256_mul_ps(_mm256_mul_ps(half, r), _mm256_fnmadd_ps(_mm256_mul_ps(n, r), r, three));
        r = _mm256_mul_ps(_mm256_mul_ps(half, r), _mm256_fnmadd_ps(_mm256_mul_ps(n, r), r, three));
        __m256 t = _mm256_rsqrt_ps(r);
        t = _mm256_mul_ps(_mm256_mul_ps(half, t), _mm256_fnmadd_ps(_mm256_mul_ps(r, t), t, three));
        t = _mm256_mul_ps(_mm256_mul_ps(half, t), _mm256_fnmadd_ps(_mm256_mul_ps(r, t), t, three));
        _mm256_storeu_ps(k + s, _mm256_mul_ps(r, _mm256_mul_ps(r, t)));
        if (inv_n) _mm256_storeu_ps(inv_n + s, _mm256_mul_ps(r, r));
    }
#endif
    for (; s < count; ++s) {
        const float r = 1.f / std::sqrt(nrm[s]);
        k[s] = r * std::sqrt(r);
        if (inv_n) inv_n[s] = r * r;
    }
}

template <PowKind K, class T>
constexpr bool fast_pow() {
    return K == PowKind::ThreeQuarters && std::is_same<T, float>::value;
}

// Tensors smaller than this (values) run on one thread.
constexpr long kParallelMin = 32768;

// Positions per job: long contiguous runs of each channel plane (prefetch-friendly; the rings
// below, 3 x size runs, stay in L2), cut shorter (multiples of 16, at least 128) where the N
// images would give fewer than 4 jobs per thread. At batch 1 (inference) a plane of up to 1024
// positions used to be one job, done by one thread. Where tiles of 128 cannot give every thread 4,
// the count is a multiple of the threads: a 27x27 plane on 2 threads is 4 tiles of 192; planes
// under 256 positions stay whole (two threads on halves of a 14x14 plane were no faster). Every
// position is computed the same way whatever the tiling, so the result does not depend on the
// thread count.
int tile_width(int N, int C, int S) {
    int ts = std::min(S, 1024);
#ifdef _OPENMP
    const long threads = static_cast<long>(N) * C * S > kParallelMin ? omp_get_max_threads() : 1;
    long k = (4 * threads + N - 1) / N;  // tiles each image needs
    if (threads > 1 && k > (S + ts - 1) / ts) {
        const long most = std::max(1, S / 128);  // tiles of at least 128 positions
        if (k > most) k = most >= threads ? most / threads * threads : most;
        ts = std::min<long>(ts, ((S + k - 1) / k + 15) / 16 * 16);
    }
#else
    (void)N;
    (void)C;
#endif
    return ts;
}

// Rows of a ring buffer: row j holds channel j % size.
template <class T>
struct Ring {
    T* base;
    int rows, ts;
    T* row(int j) const { return base + static_cast<size_t>(j % rows) * ts; }
};

// acc = sum over channels j0..j1 of ring rows.
template <class T>
inline void window_sum(const Ring<T>& r, int j0, int j1, int n, T* acc) {
    for (int s = 0; s < n; ++s) acc[s] = T(0);
    for (int j = j0; j <= j1; ++j) {
        const T* q = r.row(j);
#pragma omp simd
        for (int s = 0; s < n; ++s) acc[s] += q[s];
    }
}

// norms -> scale = norms^-beta (and 1/norms into inv when not null), in place on `acc`.
template <PowKind K, class T>
inline void scales_from(T* acc, int n, const LrnParams& p, T* scale, T* inv) {
    const T alpha = static_cast<T>(p.alpha), kappa = static_cast<T>(p.kappa), beta = static_cast<T>(p.beta);
#pragma omp simd
    for (int s = 0; s < n; ++s) acc[s] = kappa + alpha * acc[s];
    if constexpr (fast_pow<K, T>()) {
        pow_075(acc, scale, inv, n);
    } else {
#pragma omp simd
        for (int s = 0; s < n; ++s) {
            const T nrm = acc[s];
            scale[s] = pow_neg<K>(nrm, beta);
            if (inv) inv[s] = T(1) / nrm;
        }
    }
}

// Forward of positions [s0, s0+n) of one image, streaming through the channels: at step t the
// square of channel t enters the ring and channel c = t - size/2, whose window is then complete,
// is written. Window sums add the (non-negative) squares directly: no cancellation.
template <PowKind K, class T>
void forward_run(const T* x, int C, int S, int s0, int n, const LrnParams& p, T* y, T* ring_mem, T* acc, T* k) {
    const int lo = (p.size - 1) / 2, hi = p.size / 2;
    const Ring<T> sq{ring_mem, p.size, n};
    for (int t = 0; t < C + hi; ++t) {
        if (t < C) {
            const T* xt = x + static_cast<size_t>(t) * S + s0;
            T* r = sq.row(t);
#pragma omp simd
            for (int s = 0; s < n; ++s) r[s] = xt[s] * xt[s];
        }
        const int c = t - hi;
        if (c < 0) continue;
        window_sum(sq, std::max(0, c - lo), std::min(C - 1, c + hi), n, acc);
        scales_from<K>(acc, n, p, k, static_cast<T*>(nullptr));
        const T* xc = x + static_cast<size_t>(c) * S + s0;
        T* yc = y + static_cast<size_t>(c) * S + s0;
#pragma omp simd
        for (int s = 0; s < n; ++s) yc[s] = xc[s] * k[s];
    }
}

// Backward (exact). With A_j = sum_{k in win(j)} x_k^2, norms_j = kappa + alpha A_j, y_j = x_j norms_j^-beta:
//   dy_j/dx_i = [i == j] norms_j^-beta  +  x_j (-beta) norms_j^(-beta-1) * alpha * 2 x_i [i in win(j)]
// so, with q_j = dL/dy_j * y_j / norms_j,
//   dL/dx_i = dL/dy_i norms_i^-beta  -  2 alpha beta x_i  sum_{j : i in win(j)} q_j,
// and i in win(j) <=> j in [i - size/2, i + (size-1)/2] (the window mirrored).
// Streaming pipeline over the channels: at step t the square of channel t enters; channel
// j = t - size/2 gets its norms, scale and q; channel i = j - (size-1)/2, whose mirrored window of
// q is then complete, gets its dx. x and dy are read from memory once, dx written once.
template <PowKind K, class T>
void backward_run(const T* x, const T* dy, int C, int S, int s0, int n, const LrnParams& p, T* dx, bool accumulate,
                  T* ring_mem, T* acc, T* inv) {
    const int lo = (p.size - 1) / 2, hi = p.size / 2;
    const size_t ring = static_cast<size_t>(p.size) * n;
    const Ring<T> sq{ring_mem, p.size, n}, kr{ring_mem + ring, p.size, n}, qr{ring_mem + 2 * ring, p.size, n};
    const T two_ab = static_cast<T>(2 * p.alpha * p.beta);
    for (int t = 0; t < C + hi + lo; ++t) {
        if (t < C) {
            const T* xt = x + static_cast<size_t>(t) * S + s0;
            T* r = sq.row(t);
#pragma omp simd
            for (int s = 0; s < n; ++s) r[s] = xt[s] * xt[s];
        }
        const int j = t - hi;
        if (j >= 0 && j < C) {
            window_sum(sq, std::max(0, j - lo), std::min(C - 1, j + hi), n, acc);
            T* kj = kr.row(j);
            scales_from<K>(acc, n, p, kj, inv);
            const T* xj = x + static_cast<size_t>(j) * S + s0;
            const T* dj = dy + static_cast<size_t>(j) * S + s0;
            T* qj = qr.row(j);
#pragma omp simd
            for (int s = 0; s < n; ++s) qj[s] = dj[s] * xj[s] * kj[s] * inv[s];  // dL/dy * y / norms
        }
        const int i = j - lo;
        if (i < 0 || i >= C) continue;
        window_sum(qr, std::max(0, i - hi), std::min(C - 1, i + lo), n, acc);
        const T* xi = x + static_cast<size_t>(i) * S + s0;
        const T* di = dy + static_cast<size_t>(i) * S + s0;
        const T* ki = kr.row(i);
        T* o = dx + static_cast<size_t>(i) * S + s0;
        if (accumulate) {
#pragma omp simd
            for (int s = 0; s < n; ++s) o[s] += di[s] * ki[s] - two_ab * xi[s] * acc[s];
        } else {
#pragma omp simd
            for (int s = 0; s < n; ++s) o[s] = di[s] * ki[s] - two_ab * xi[s] * acc[s];
        }
    }
}

#if defined(__AVX512F__)
// ---- float, beta = 3/4, AVX-512, window sizes 1..7: channels in the inner loop ----------------
// For each block of 16 positions the kernel walks down the C channels (in groups, see below)
// with the window's squares (and, in backward, the q, k, x, dy queues) held in registers: x (and
// dy) are loaded once, the outputs stored once, and the window sum is recomputed from the
// registers at every step (no running add/subtract, hence no cancellation: at most `size` ulps).
// Channels outside [0, C-1] contribute zero squares, which is exactly the clipped window. A plane
// whose size is not a multiple of 16 ends in one masked block, so every position takes this path
// (until 2026-12-01 the last S % 16 positions took the generic ring code, which made 14x14 and
// 13x13 planes 1.5-1.7x slower per value, and planes under 16 positions 8-10x).

// The order of the walk (since 2026-12-01). Walking all C planes for one 16-position block
// before the next touches one cache line per plane per walk: C short streams, each advancing a
// line per walk. Where the tensor is not in cache, an Intel Xeon host (AVX-512, 2 MB L2) ran that
// at 20-30% of its STREAM triad (a copy in that order ran at a third of a streaming copy's rate,
// and matched it when each plane gave 32 lines per walk): more streams than the hardware
// prefetchers track. So a run of up to kRun positions (32 chunks of 16) takes the channels in
// groups of kGroup: for each chunk, its queues are loaded from a per-chunk state, the group's
// channel steps run in registers, and the queues are stored back. A group's planes are read
// chunk after chunk, kGroup streams per array advancing a line per few steps; the state costs
// one load and one store per queue register per group. Each output is computed exactly as
// before (the same operations in the same order), so it has the same bits.
constexpr int kRun = 512;
constexpr int kGroup = 16;

// Tensors whose `arrays` (x, y; or x, dy, dx) fit in the threads' L2 (1 MB each, today's x86
// cores have 1-2 MB) take all their channels in one group: nothing waits on memory there, and the
// state stores cost about 10% (the in-cache rows of make bench). C + 3 covers backward's C + lo steps.
inline int walk_group(int N, int C, int S, int arrays) {
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    const double bytes = static_cast<double>(arrays) * N * C * S * sizeof(float);
    return bytes <= threads * double(1 << 20) ? C + 3 : kGroup;
}

// r = n^-1/2 (rsqrt14 + one Newton step); k = r * sqrt(r) = n^-3/4
inline void rsqrt_pow075(__m512 n, __m512* r_out, __m512* k_out) {
    const __m512 half = _mm512_set1_ps(0.5f), three = _mm512_set1_ps(3.f);
    __m512 r = _mm512_rsqrt14_ps(n);
    r = _mm512_mul_ps(_mm512_mul_ps(half, r), _mm512_fnmadd_ps(_mm512_mul_ps(n, r), r, three));
    __m512 t = _mm512_rsqrt14_ps(r);
    t = _mm512_mul_ps(_mm512_mul_ps(half, t), _mm512_fnmadd_ps(_mm512_mul_ps(r, t), t, three));
    *r_out = r;
    *k_out = _mm512_mul_ps(r, _mm512_mul_ps(r, t));
}

// Shift a register queue down by one and append v (compile-time size: plain register renames).
template <int N>
inline void push(__m512 (&q)[N], __m512 v) {
    for (int k = 0; k + 1 < N; ++k) q[k] = q[k + 1];
    q[N - 1] = v;
}

template <int N>
inline __m512 sum(const __m512 (&q)[N]) {
    __m512 a = q[0];
    for (int k = 1; k < N; ++k) a = _mm512_add_ps(a, q[k]);
    return a;
}

// Loads and stores of a 16-position block; the last block of a run may be partial (M = true):
// only the lanes in m are read (masked-out lanes load 0 and cannot fault) and written.
template <bool M>
inline __m512 load16(const float* p, __mmask16 m) {
    if constexpr (M) return _mm512_maskz_loadu_ps(m, p);
    else return _mm512_loadu_ps(p);
}

template <bool M>
inline void store16(float* p, __mmask16 m, __m512 v) {
    if constexpr (M) _mm512_mask_storeu_ps(p, m, v);
    else _mm512_storeu_ps(p, v);
}

// Forward queues of one 16-position chunk: w, the squares of [c - lo, c + hi]; xq, x of [c, c + hi].
template <int SIZE>
struct ForwardQueues {
    __m512 w[SIZE], xq[SIZE / 2 + 1];
};

// Channels 0 .. hi-1 enter before c = 0 (channels < 0 are zero squares: the clipped window).
template <int SIZE, bool M>
inline void forward_init(ForwardQueues<SIZE>& q, const float* xs, int C, size_t plane, __mmask16 m) {
    constexpr int hi = SIZE / 2;
    for (auto& v : q.w) v = _mm512_setzero_ps();
    for (auto& v : q.xq) v = _mm512_setzero_ps();
    for (int e = 0; e < hi; ++e) {
        const __m512 v = e < C ? load16<M>(xs + e * plane, m) : _mm512_setzero_ps();
        push(q.w, _mm512_mul_ps(v, v));
        push(q.xq, v);
    }
}

// Output channels [c0, c1) of one chunk. Lanes outside m compute on zeros (norms = kappa > 0,
// finite) and are not stored.
template <int SIZE, bool M>
inline void forward_steps(ForwardQueues<SIZE>& q, const float* xs, float* ys, int C, size_t plane, int c0, int c1,
                          __m512 kappa, __m512 alpha, __mmask16 m) {
    constexpr int hi = SIZE / 2;  // the window is [c - (SIZE-1)/2, c + hi]
    for (int c = c0; c < c1; ++c) {
        const int e = c + hi;
        const __m512 v = e < C ? load16<M>(xs + e * plane, m) : _mm512_setzero_ps();
        push(q.w, _mm512_mul_ps(v, v));
        push(q.xq, v);
        __m512 r, k;
        rsqrt_pow075(_mm512_fmadd_ps(alpha, sum(q.w), kappa), &r, &k);
        store16<M>(ys + c * plane, m, _mm512_mul_ps(q.xq[0], k));
    }
}

// Runs of up to kRun positions of [s0, s0 + n), each in chunks of 16 (the last masked), with the
// channel steps [0, steps) in groups of kGroup: per chunk, init(masked, chunk offset, mask, state)
// before the first group and step(masked, chunk offset, mask, state, t0, t1) for each group. The
// state stays in registers within a group and in a per-thread buffer of kRun / 16 states between
// groups (not stored after the last group, so one group costs nothing extra).
template <class State, class Init, class Step>
inline void run_groups(int s0, int n, int steps, int group, Init&& init, Step&& step) {
    static thread_local std::vector<State> buf(kRun / 16);
    State* st = buf.data();
    for (int r0 = s0; r0 < s0 + n; r0 += kRun) {
        const int len = std::min(kRun, s0 + n - r0), full = len / 16;
        const __mmask16 all = 0xFFFF, tail = static_cast<__mmask16>((1u << (len % 16)) - 1);
        for (int t0 = 0; t0 < steps; t0 += group) {
            const int t1 = std::min(steps, t0 + group);
            auto chunk = [&](auto masked, int b, __mmask16 m) {
                State q;
                if (t0 == 0) init(masked, r0 + 16 * b, m, q);
                else q = st[b];
                step(masked, r0 + 16 * b, m, q, t0, t1);
                if (t1 < steps) st[b] = q;
            };
            for (int b = 0; b < full; ++b) chunk(std::false_type{}, b, all);
            if (tail) chunk(std::true_type{}, full, tail);
        }
    }
}

template <int SIZE>
void forward_reg(const float* x, int C, int S, int s0, int n, const LrnParams& p, float* y, int group) {
    const __m512 kappa = _mm512_set1_ps(static_cast<float>(p.kappa)), alpha = _mm512_set1_ps(static_cast<float>(p.alpha));
    const size_t plane = static_cast<size_t>(S);
    run_groups<ForwardQueues<SIZE>>(
        s0, n, C, group,
        [&](auto masked, int s, __mmask16 m, ForwardQueues<SIZE>& q) {
            forward_init<SIZE, decltype(masked)::value>(q, x + s, C, plane, m);
        },
        [&](auto masked, int s, __mmask16 m, ForwardQueues<SIZE>& q, int c0, int c1) {
            forward_steps<SIZE, decltype(masked)::value>(q, x + s, y + s, C, plane, c0, c1, kappa, alpha, m);
        });
}

// Backward pipeline (derivation above backward_run): at step t channel j = t gets norms_j from the
// squares window, k_j and q_j = dy_j x_j k_j / norms_j (1/norms = r^2); channel i = t - lo, whose
// mirrored window [i - hi, i + lo] of q is then complete, gets dx_i = dy_i k_i - 2 alpha beta x_i sum(q).
// Backward queues of one chunk: w, squares of [j-lo, j+hi]; xq, x of [j-lo, j+hi] (xq[0] = x_i,
// xq[lo] = x_j); dq, kq: dy and k of [j-lo, j]; qw: q of [j-lo-hi, j] = [i-hi, i+lo].
template <int SIZE>
struct BackwardQueues {
    static constexpr int lo = (SIZE - 1) / 2;
    __m512 w[SIZE], xq[SIZE], dq[lo + 1], kq[lo + 1], qw[SIZE];
};

template <int SIZE, bool M>
inline void backward_init(BackwardQueues<SIZE>& q, const float* xs, int C, size_t plane, __mmask16 m) {
    constexpr int hi = SIZE / 2;
    for (auto& v : q.w) v = _mm512_setzero_ps();
    for (auto& v : q.xq) v = _mm512_setzero_ps();
    for (auto& v : q.qw) v = _mm512_setzero_ps();
    for (auto& v : q.dq) v = _mm512_setzero_ps();
    for (auto& v : q.kq) v = _mm512_setzero_ps();
    for (int e = 0; e < hi; ++e) {
        const __m512 v = e < C ? load16<M>(xs + e * plane, m) : _mm512_setzero_ps();
        push(q.w, _mm512_mul_ps(v, v));
        push(q.xq, v);
    }
}

// Steps [t0, t1) of t in [0, C + lo) for one chunk.
template <int SIZE, bool M>
inline void backward_steps(BackwardQueues<SIZE>& q, const float* xs, const float* ds, float* os, int C, size_t plane,
                           int t0, int t1, __m512 kappa, __m512 alpha, __m512 two_ab, bool accumulate, __mmask16 m) {
    constexpr int lo = (SIZE - 1) / 2, hi = SIZE / 2;
    for (int t = t0; t < t1; ++t) {
        const int j = t, e = t + hi, i = t - lo;
        const __m512 v = e < C ? load16<M>(xs + e * plane, m) : _mm512_setzero_ps();
        push(q.w, _mm512_mul_ps(v, v));
        push(q.xq, v);
        __m512 kj = _mm512_setzero_ps(), qj = _mm512_setzero_ps(), dj = _mm512_setzero_ps();
        if (j < C) {
            __m512 r;
            rsqrt_pow075(_mm512_fmadd_ps(alpha, sum(q.w), kappa), &r, &kj);
            dj = load16<M>(ds + j * plane, m);
            qj = _mm512_mul_ps(_mm512_mul_ps(dj, q.xq[lo]), _mm512_mul_ps(kj, _mm512_mul_ps(r, r)));
        }
        push(q.dq, dj);
        push(q.kq, kj);
        push(q.qw, qj);
        if (i < 0) continue;
        __m512 d = _mm512_fnmadd_ps(_mm512_mul_ps(two_ab, q.xq[0]), sum(q.qw), _mm512_mul_ps(q.dq[0], q.kq[0]));
        if (accumulate) d = _mm512_add_ps(d, load16<M>(os + i * plane, m));
        store16<M>(os + i * plane, m, d);
    }
}

template <int SIZE>
void backward_reg(const float* x, const float* dy, int C, int S, int s0, int n, const LrnParams& p, float* dx,
                  bool accumulate, int group) {
    const __m512 kappa = _mm512_set1_ps(static_cast<float>(p.kappa)), alpha = _mm512_set1_ps(static_cast<float>(p.alpha));
    const __m512 two_ab = _mm512_set1_ps(static_cast<float>(2 * p.alpha * p.beta));
    const size_t plane = static_cast<size_t>(S);
    run_groups<BackwardQueues<SIZE>>(
        s0, n, C + (SIZE - 1) / 2, group,
        [&](auto masked, int s, __mmask16 m, BackwardQueues<SIZE>& q) {
            backward_init<SIZE, decltype(masked)::value>(q, x + s, C, plane, m);
        },
        [&](auto masked, int s, __mmask16 m, BackwardQueues<SIZE>& q, int t0, int t1) {
            backward_steps<SIZE, decltype(masked)::value>(q, x + s, dy + s, dx + s, C, plane, t0, t1, kappa, alpha,
                                                          two_ab, accumulate, m);
        });
}

bool forward_fast(const float* x, int C, int S, int s0, int n, const LrnParams& p, float* y, int group) {
    switch (p.size) {
        case 1: forward_reg<1>(x, C, S, s0, n, p, y, group); return true;
        case 2: forward_reg<2>(x, C, S, s0, n, p, y, group); return true;
        case 3: forward_reg<3>(x, C, S, s0, n, p, y, group); return true;
        case 4: forward_reg<4>(x, C, S, s0, n, p, y, group); return true;
        case 5: forward_reg<5>(x, C, S, s0, n, p, y, group); return true;
        case 6: forward_reg<6>(x, C, S, s0, n, p, y, group); return true;
        case 7: forward_reg<7>(x, C, S, s0, n, p, y, group); return true;
        default: return false;
    }
}

bool backward_fast(const float* x, const float* dy, int C, int S, int s0, int n, const LrnParams& p, float* dx,
                   bool accumulate, int group) {
    switch (p.size) {
        case 1: backward_reg<1>(x, dy, C, S, s0, n, p, dx, accumulate, group); return true;
        case 2: backward_reg<2>(x, dy, C, S, s0, n, p, dx, accumulate, group); return true;
        case 3: backward_reg<3>(x, dy, C, S, s0, n, p, dx, accumulate, group); return true;
        case 4: backward_reg<4>(x, dy, C, S, s0, n, p, dx, accumulate, group); return true;
        case 5: backward_reg<5>(x, dy, C, S, s0, n, p, dx, accumulate, group); return true;
        case 6: backward_reg<6>(x, dy, C, S, s0, n, p, dx, accumulate, group); return true;
        case 7: backward_reg<7>(x, dy, C, S, s0, n, p, dx, accumulate, group); return true;
        default: return false;
    }
}
#endif

template <class F>
void for_each_tile(int N, int C, int S, F&& f) {
    const int ts = tile_width(N, C, S);
    const int tiles = (S + ts - 1) / ts;
    const int jobs = N * tiles;
#pragma omp parallel for schedule(static) if (jobs > 1 && static_cast<long>(N) * C * S > kParallelMin)
    for (int k = 0; k < jobs; ++k) {
        const int n = k / tiles, s0 = (k % tiles) * ts;
        f(n, s0, std::min(ts, S - s0), ts);
    }
}

}  // namespace

template <class T>
void lrn_forward(const T* x, int N, int C, int S, const LrnParams& p, T* y) {
    const PowKind kind = pow_kind(p.beta);
#if defined(__AVX512F__)
    const int group = walk_group(N, C, S, 2);
#endif
    for_each_tile(N, C, S, [&](int n, int s0, int len, int tmax) {
        const size_t off = static_cast<size_t>(n) * C * S;
#if defined(__AVX512F__)
        if constexpr (std::is_same<T, float>::value) {
            if (kind == PowKind::ThreeQuarters && forward_fast(x + off, C, S, s0, len, p, y + off, group))
                return;
        }
#endif
        static thread_local std::vector<T> buf;  // the generic path's rings
        const size_t need = static_cast<size_t>(p.size + 2) * tmax;
        if (buf.size() < need) buf.resize(need);
        T* ring = buf.data();
        T* acc = ring + static_cast<size_t>(p.size) * tmax;
        T* k = acc + tmax;
        switch (kind) {
            case PowKind::ThreeQuarters: forward_run<PowKind::ThreeQuarters>(x + off, C, S, s0, len, p, y + off, ring, acc, k); break;
            case PowKind::Half: forward_run<PowKind::Half>(x + off, C, S, s0, len, p, y + off, ring, acc, k); break;
            case PowKind::One: forward_run<PowKind::One>(x + off, C, S, s0, len, p, y + off, ring, acc, k); break;
            case PowKind::General: forward_run<PowKind::General>(x + off, C, S, s0, len, p, y + off, ring, acc, k); break;
        }
    });
}

template <class T>
void lrn_backward(const T* x, const T* dy, int N, int C, int S, const LrnParams& p, T* dx, bool accumulate) {
    const PowKind kind = pow_kind(p.beta);
#if defined(__AVX512F__)
    const int group = walk_group(N, C, S, 3);
#endif
    for_each_tile(N, C, S, [&](int n, int s0, int len, int tmax) {
        const size_t off = static_cast<size_t>(n) * C * S;
#if defined(__AVX512F__)
        if constexpr (std::is_same<T, float>::value) {
            if (kind == PowKind::ThreeQuarters &&
                backward_fast(x + off, dy + off, C, S, s0, len, p, dx + off, accumulate, group))
                return;
        }
#endif
        static thread_local std::vector<T> buf;  // the generic path's rings
        const size_t need = static_cast<size_t>(3 * p.size + 2) * tmax;
        if (buf.size() < need) buf.resize(need);
        T* ring = buf.data();
        T* acc = ring + static_cast<size_t>(3 * p.size) * tmax;
        T* inv = acc + tmax;
        switch (kind) {
#define DN_LRN_BWD(K)                                                                                           \
    case PowKind::K:                                                                                            \
        backward_run<PowKind::K>(x + off, dy + off, C, S, s0, len, p, dx + off, accumulate, ring, acc, inv); \
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
