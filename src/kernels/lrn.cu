// Local response normalization on the GPU: the definition of kernels/lrn.hpp (window
// [c - (size-1)/2, c + size/2], alpha not divided by size), exactly as on the CPU.
//
// One thread per (image, V consecutive positions, run of channels) streams through its channels
// keeping the window in registers (sizes 1-7, compiled per size and V): x and dy are read once
// from memory (plus a halo of size - 1 channels per run), y / dx written once, in V-wide accesses
// (V = 4: float4, when H*W % 4 == 0 and the buffers are aligned). Runs rather than whole channel
// columns give the GPU enough threads (and loads in flight) when N*H*W is small; lrn_shape picks
// V and the run length. Window sums add the non-negative squares directly (no running-sum
// cancellation). Each thread loads the next four channels' values together (four loads in flight).
// Other sizes use a direct kernel that re-reads the window from cache.
#include <algorithm>

#include "darknet/error.hpp"
#include "kernels/gpu.hpp"
#include "kernels/gpu_reduce.cuh"
#include "kernels/gpu_tuning.hpp"
#include "kernels/lrn.hpp"

namespace dn {

namespace {

/// How k = norm^-beta is computed: Darknet's beta = 3/4 by reciprocal square roots, others by
/// exp2(-beta log2 norm). (Each kind is its own set of register-window kernels, 42 per kind: a
/// third for beta = 1/2 would not pay for its compile time.)
enum class LrnPow : int { ThreeQuarters, General };

/// k = n^-beta and k / n = n^(-beta-1) (the backward's factor) for n >= kappa > 0, from the GPU's
/// approximate special-function unit only (rsqrt.approx, lg2/ex2.approx, rcp.approx; relative error
/// a few 1e-7, against the 1e-5 CPU agreement bound): no IEEE square root or division, each a
/// multi-instruction sequence with a slow-path branch, in the per-element loops.
///   3/4: r = n^-1/2, k = r^2 r^-1/2 = n^-3/4, k / n = k r^2;   else: k = 2^(-beta log2 n),
///   k / n = k rcp(n).
struct LrnK {
    float k, k_over_n;
};
template <LrnPow P>
__device__ __forceinline__ LrnK lrn_k(float n, float beta) {
    if constexpr (P == LrnPow::ThreeQuarters) {
        const float r = rsqrtf(n), r2 = r * r, k = r2 * rsqrtf(r);
        return {k, k * r2};
    } else {
        const float k = __powf(n, -beta);
        return {k, __fdividef(k, n)};
    }
}
/// lrn_k for a kind known only at run time (the direct kernels; the register-window kernels are
/// compiled per kind, so that their channel loops carry no branch on it).
__device__ inline LrnK lrn_k(float n, float beta, LrnPow kind) {
    if (kind == LrnPow::ThreeQuarters) return lrn_k<LrnPow::ThreeQuarters>(n, beta);
    return lrn_k<LrnPow::General>(n, beta);
}

/// Channels whose loads a thread issues together (loads in flight per tensor). DN_LRN_AHEAD is for
/// scripts/lrn_step_instructions.sh, which counts machine instructions per channel step from the
/// size difference of builds with 4 and 12.
#ifndef DN_LRN_AHEAD
#define DN_LRN_AHEAD 4
#endif
constexpr int kAhead = DN_LRN_AHEAD;

struct LrnArgs {
    int N, C, S;
    float alpha, beta, kappa;
    LrnPow pow;
    int run;   ///< channels per thread
};

/// The thread of a register-window kernel: image n, positions [s, s + V), channels [c0, c1), and
/// `off`, the offset of (n, 0, s). Threads t = run index * lanes + lane, lanes = N * S / V, so
/// that a warp covers consecutive positions of one run (coalesced loads).
template <int V>
struct LrnThread {
    size_t off;
    int c0, c1;
    __device__ bool init(const LrnArgs& a) {
        const size_t t = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
        const size_t Su = static_cast<size_t>(a.S) / V, lanes = static_cast<size_t>(a.N) * Su;
        const int runs = (a.C + a.run - 1) / a.run;
        if (t >= lanes * runs) return false;
        const size_t lane = t % lanes, n = lane / Su, s = (lane % Su) * V;
        c0 = static_cast<int>(t / lanes) * a.run;
        c1 = min(a.C, c0 + a.run);
        off = n * a.C * static_cast<size_t>(a.S) + s;
        return true;
    }
};

/// p[0 .. V) into v when `in` (the channel exists and the run needs it), else zeros.
template <int V>
__device__ __forceinline__ void load_if(const float* p, bool in, float* v) {
    if (in) {
        load_vec<V>(p, v);
    } else {
#pragma unroll
        for (int q = 0; q < V; ++q) v[q] = 0.f;
    }
}

// The register-window kernels address channel planes through pointers stepped once per kAhead
// channels plus loop-invariant k*S (no multiply per access), and test ranges with one unsigned
// compare ((unsigned)(j - lo) < (unsigned)(hi - lo)).
// Every step runs the same instructions (no data-dependent branch but the stores' guards), which
// lets the compiler rename the windows' registers instead of copying them.

template <int SZ, int V, LrnPow P>
__global__ void lrn_fwd_k(const float* __restrict__ x, LrnArgs a, float* __restrict__ y) {
    constexpr int lo = (SZ - 1) / 2, hi = SZ / 2;
    LrnThread<V> th;
    if (!th.init(a)) return;
    const ptrdiff_t S = a.S;
    const int c0 = th.c0, c1 = th.c1;
    const float* xp = x + th.off;
    float* yp = y + th.off;
    float xw[SZ][V];  // x over [c - lo, c + hi], 0 outside [0, C)
#pragma unroll
    for (int k = 0; k < SZ; ++k) {
        const int j = c0 + k - lo;
        load_if<V>(xp + j * S, j >= 0 && j < a.C, xw[k]);
    }
    const int jend = min(a.C, c1 + hi);  // x beyond channel c1 - 1 + hi is not needed by this run
    const float* xq = xp + (c0 + 1 + hi) * S;  // x of the channel entering the window at step 0
    float* yq = yp + c0 * S;                   // y of channel c
    for (int c = c0; c < c1; c += kAhead, xq += kAhead * S, yq += kAhead * S) {
        float nx[kAhead][V];  // the next kAhead window channels, loaded together
#pragma unroll
        for (int k = 0; k < kAhead; ++k) load_if<V>(xq + k * S, c + 1 + hi + k < jend, nx[k]);
#pragma unroll
        for (int k = 0; k < kAhead; ++k) {
            float out[V];
#pragma unroll
            for (int q = 0; q < V; ++q) {
                float sum = 0.f;
#pragma unroll
                for (int i = 0; i < SZ; ++i) sum += xw[i][q] * xw[i][q];
                out[q] = xw[lo][q] * lrn_k<P>(a.kappa + a.alpha * sum, a.beta).k;
#pragma unroll
                for (int i = 0; i + 1 < SZ; ++i) xw[i][q] = xw[i + 1][q];
                xw[SZ - 1][q] = nx[k][q];
            }
            if (c + k < c1) store_vec<V>(yq + k * S, out);
        }
    }
}

// Backward (derivation in docs/math.md): with norm_j = kappa + alpha sum_{i in win(j)} x_i^2,
// k_j = norm_j^-beta and y_j = x_j k_j,
//   dL/dx_c = dy_c k_c - 2 alpha beta x_c sum_{j : c in win(j)} dy_j x_j k_j / norm_j,
// and c in win(j) <=> j in [c - hi, c + lo]. The thread runs a head j over the channels, computing
// t_j = dy_j x_j k_j / norm_j and p_j = dy_j k_j; output c = j - lo is complete once t_{c+lo} is
// known. A run of outputs [c0, c1) starts the head at j = c0 - hi (the first t its first output
// needs) and ends at c1 - 1 + lo. Heads outside [0, C) (and past the run) load dy = 0, so their t
// and p are 0 with no branch: norm >= kappa > 0 (the layer requires kappa > 0, alpha >= 0) keeps
// k and k / norm finite.
template <int SZ, int V, LrnPow P>
__global__ void lrn_bwd_k(const float* __restrict__ x, const float* __restrict__ dy, LrnArgs a, float* dx,
                          bool accumulate) {
    constexpr int lo = (SZ - 1) / 2, hi = SZ / 2;
    LrnThread<V> th;
    if (!th.init(a)) return;
    const ptrdiff_t S = a.S;
    const int c0 = th.c0, c1 = th.c1;
    const float *xp = x + th.off, *dp = dy + th.off;
    float* op = dx + th.off;
    const int j0 = c0 - hi;
    float xw[SZ][V];      // x over [j - lo, j + hi]
    float tw[SZ][V];      // t of channels j - SZ + 1 .. j
    float pw[lo + 1][V];  // dy k of channels j - lo .. j
#pragma unroll
    for (int k = 0; k < SZ; ++k) {
        const int j = j0 + k - lo;
        load_if<V>(xp + j * S, j >= 0 && j < a.C, xw[k]);
#pragma unroll
        for (int q = 0; q < V; ++q) tw[k][q] = 0.f;
    }
#pragma unroll
    for (int k = 0; k <= lo; ++k)
#pragma unroll
        for (int q = 0; q < V; ++q) pw[k][q] = 0.f;
    const float two_ab = 2.f * a.alpha * a.beta;
    // head channels [j0, jend); dy needed below dend, x below xend
    const int jend = c1 + lo, dend = min(a.C, jend), xend = min(a.C, jend + hi);
    // dy of head j4, x entering the window at head j4, dx of output j4 - lo: channel planes that
    // may lie outside the tensor (j < 0), read or written only when in range (unsigned compares)
    const float* dq = dp + j0 * S;
    const float* xq = xp + (j0 + 1 + hi) * S;
    float* oq = op + (j0 - lo) * S;
    const ptrdiff_t step = kAhead * S;
    for (int j4 = j0; j4 < jend; j4 += kAhead, dq += step, xq += step, oq += step) {
        float nd[kAhead][V], nx[kAhead][V];  // dy of the next heads and x entering the window: loaded together
#pragma unroll
        for (int k = 0; k < kAhead; ++k) {
            const int j = j4 + k;
            load_if<V>(dq + k * S, static_cast<unsigned>(j) < static_cast<unsigned>(dend), nd[k]);
            load_if<V>(xq + k * S, static_cast<unsigned>(j + 1 + hi) < static_cast<unsigned>(xend), nx[k]);
        }
#pragma unroll
        for (int k = 0; k < kAhead; ++k) {
            float out[V];
#pragma unroll
            for (int q = 0; q < V; ++q) {
                float sum = 0.f;
#pragma unroll
                for (int i = 0; i < SZ; ++i) sum += xw[i][q] * xw[i][q];
                const LrnK kn = lrn_k<P>(a.kappa + a.alpha * sum, a.beta);
                const float pj = nd[k][q] * kn.k, tj = nd[k][q] * xw[lo][q] * kn.k_over_n;
                const float xc = xw[0][q];  // x_{j - lo}: the output channel c of this step
#pragma unroll
                for (int i = 0; i + 1 < SZ; ++i) tw[i][q] = tw[i + 1][q];
                tw[SZ - 1][q] = tj;
#pragma unroll
                for (int i = 0; i < lo; ++i) pw[i][q] = pw[i + 1][q];
                pw[lo][q] = pj;
                float ts = 0.f;
#pragma unroll
                for (int i = 0; i < SZ; ++i) ts += tw[i][q];
                out[q] = pw[0][q] - two_ab * xc * ts;
#pragma unroll
                for (int i = 0; i + 1 < SZ; ++i) xw[i][q] = xw[i + 1][q];
                xw[SZ - 1][q] = nx[k][q];
            }
            const int c = j4 + k - lo;
            if (static_cast<unsigned>(c - c0) < static_cast<unsigned>(c1 - c0)) {
                float* oc = oq + k * S;
                if (accumulate) {
                    float old[V];
                    load_vec<V>(oc, old);
#pragma unroll
                    for (int q = 0; q < V; ++q) out[q] += old[q];
                }
                store_vec<V>(oc, out);
            }
        }
    }
}

// Any size: each output sums its window from memory (cache-served re-reads).
__device__ inline float norm_at(const float* xp, size_t S, int C, int j, int lo, int hi, const LrnArgs& a) {
    float sum = 0.f;
    for (int i = max(0, j - lo); i <= min(C - 1, j + hi); ++i) sum += xp[i * S] * xp[i * S];
    return a.kappa + a.alpha * sum;
}

__global__ void lrn_fwd_any_k(const float* x, LrnArgs a, int size, float* y) {
    const int lo = (size - 1) / 2, hi = size / 2;
    DN_GRID_FOR(i, static_cast<size_t>(a.N) * a.C * a.S) {
        const size_t n = i / (static_cast<size_t>(a.C) * a.S), s = i % a.S;
        const int c = static_cast<int>((i / a.S) % a.C);
        const float* xp = x + n * a.C * a.S + s;
        y[i] = x[i] * lrn_k(norm_at(xp, a.S, a.C, c, lo, hi, a), a.beta, a.pow).k;
    }
}

__global__ void lrn_bwd_any_k(const float* x, const float* dy, LrnArgs a, int size, float* dx, bool accumulate) {
    const int lo = (size - 1) / 2, hi = size / 2;
    DN_GRID_FOR(i, static_cast<size_t>(a.N) * a.C * a.S) {
        const size_t n = i / (static_cast<size_t>(a.C) * a.S), s = i % a.S;
        const int c = static_cast<int>((i / a.S) % a.C);
        const size_t base = n * a.C * a.S + s;
        const float* xp = x + base;
        const float* dp = dy + base;
        float ts = 0.f;
        for (int j = max(0, c - hi); j <= min(a.C - 1, c + lo); ++j) {
            ts += dp[j * a.S] * xp[j * a.S] * lrn_k(norm_at(xp, a.S, a.C, j, lo, hi, a), a.beta, a.pow).k_over_n;
        }
        const float v = dy[i] * lrn_k(norm_at(xp, a.S, a.C, c, lo, hi, a), a.beta, a.pow).k - 2.f * a.alpha * a.beta * x[i] * ts;
        if (accumulate) dx[i] += v;
        else dx[i] = v;
    }
}

template <class F>
void by_size(int size, F&& f) {
    switch (size) {
        case 1: f(std::integral_constant<int, 1>{}); break;
        case 2: f(std::integral_constant<int, 2>{}); break;
        case 3: f(std::integral_constant<int, 3>{}); break;
        case 4: f(std::integral_constant<int, 4>{}); break;
        case 5: f(std::integral_constant<int, 5>{}); break;
        case 6: f(std::integral_constant<int, 6>{}); break;
        case 7: f(std::integral_constant<int, 7>{}); break;
        default: f(std::integral_constant<int, 0>{}); break;
    }
}

LrnArgs args(int N, int C, int S, const LrnParams& p) {
    const LrnPow kind = p.beta == 0.75 ? LrnPow::ThreeQuarters : LrnPow::General;
    return {N, C, S, static_cast<float>(p.alpha), static_cast<float>(p.beta), static_cast<float>(p.kappa), kind, C};
}

// The launch shape of the register-window kernels: V positions per thread (V-wide loads; S % V
// == 0 and aligned buffers) and runs of `run` channels (a run re-reads a halo of size - 1 channels
// of x, and the backward as many of dy).
// Rule: enough loads in flight to cover the memory latency, N*S * runs >= 2^17 (threads * V: about
// 2 MB in flight at four V-wide loads per thread and tensor), from the fewest runs that give it,
// i.e. the longest runs and the least halo (run = floor(C / runs)); the widest V the tensor takes
// (the count of loads in flight does not depend on V). When even runs of 8 channels fall short
// (a small tensor), V = 1 and runs of min(C, 8): the most threads. gpu_tuning() overrides V, the
// run or both.
struct LrnShape {
    int vec, run;
};
LrnShape lrn_shape(int N, int C, int S, std::initializer_list<const void*> ptrs) {
    constexpr size_t kInFlight = size_t(1) << 17;
    const GpuTuning& tune = gpu_tuning();
    auto vec_ok = [&](int v) { return v == 1 || (v == 2 && S % 2 == 0 && aligned(ptrs, 8)) || (v == 4 && vec4_ok(S, ptrs)); };
    if (tune.lrn_vec && !vec_ok(tune.lrn_vec))
        fail("lrn GPU kernels: lrn_vec=%d needs H*W (%d) divisible by it and aligned buffers", tune.lrn_vec, S);
    const size_t positions = static_cast<size_t>(N) * S;
    const int short_run = std::min(C, 8);
    const bool small = positions * ((C + short_run - 1) / short_run) < kInFlight;
    LrnShape sh{1, short_run};
    if (!small) {
        const size_t runs = (kInFlight + positions - 1) / positions;  // >= 1
        sh.run = std::max(short_run, static_cast<int>(C / std::min<size_t>(runs, C)));
        sh.vec = vec_ok(4) ? 4 : vec_ok(2) ? 2 : 1;
    }
    if (tune.lrn_vec) sh.vec = tune.lrn_vec;
    if (tune.lrn_run) sh.run = std::max(1, std::min(tune.lrn_run, C));
    return sh;
}

// Launches kernel<SZ, V, P> (SZ = the window size when the register-window kernels take it, else 0
// and the direct kernel; P the power's kind) with V positions per thread, one thread per (lane, run):
// f(SZ, V, P as integral constants, blocks, args).
template <class F>
void lrn_launch(int N, int C, int S, const LrnParams& p, std::initializer_list<const void*> ptrs, F&& f) {
    using ThreeQuarters = std::integral_constant<LrnPow, LrnPow::ThreeQuarters>;
    using General = std::integral_constant<LrnPow, LrnPow::General>;
    by_size(p.size, [&](auto sz) {
        constexpr int SZ = decltype(sz)::value;
        LrnArgs a = args(N, C, S, p);
        if constexpr (SZ > 0) {
            const LrnShape sh = lrn_shape(N, C, S, ptrs);
            a.run = sh.run;
            const size_t threads = static_cast<size_t>(N) * (S / sh.vec) * ((C + a.run - 1) / a.run);
            const unsigned blocks = static_cast<unsigned>((threads + 127) / 128);
            auto with_pow = [&](auto vv) {
                if (a.pow == LrnPow::ThreeQuarters) f(sz, vv, ThreeQuarters{}, blocks, a);
                else f(sz, vv, General{}, blocks, a);
            };
            if (sh.vec == 4) with_pow(std::integral_constant<int, 4>{});
            else if (sh.vec == 2) with_pow(std::integral_constant<int, 2>{});
            else with_pow(std::integral_constant<int, 1>{});
        } else {
            f(sz, std::integral_constant<int, 1>{}, General{}, grid_blocks(static_cast<size_t>(N) * C * S), a);
        }
    });
    DN_KERNEL_CHECK();
}

}  // namespace

void lrn_gpu_shape(int N, int C, int S, const float* x, const float* y, int* vec, int* run) {
    const LrnShape sh = lrn_shape(N, C, S, {x, y});
    *vec = sh.vec, *run = sh.run;
}

void lrn_forward_gpu(const float* x, int N, int C, int S, const LrnParams& p, float* y) {
    if (!N || !C || !S) return;
    lrn_launch(N, C, S, p, {x, y}, [&](auto sz, auto vv, auto pw, unsigned blocks, const LrnArgs& a) {
        constexpr int SZ = decltype(sz)::value, V = decltype(vv)::value;
        constexpr LrnPow P = decltype(pw)::value;
        if constexpr (SZ > 0) DN_LAUNCH(blocks, 128, lrn_fwd_k<SZ, V, P>)(x, a, y);
        else DN_LAUNCH(blocks, kGridThreads, lrn_fwd_any_k)(x, a, p.size, y);
    });
}

void lrn_backward_gpu(const float* x, const float* dy, int N, int C, int S, const LrnParams& p, float* dx,
                      bool accumulate) {
    if (!N || !C || !S) return;
    if (!accumulate && dx == dy) fail("lrn_backward_gpu: dx may not alias dy");
    lrn_launch(N, C, S, p, {x, dy, dx}, [&](auto sz, auto vv, auto pw, unsigned blocks, const LrnArgs& a) {
        constexpr int SZ = decltype(sz)::value, V = decltype(vv)::value;
        constexpr LrnPow P = decltype(pw)::value;
        if constexpr (SZ > 0) DN_LAUNCH(blocks, 128, lrn_bwd_k<SZ, V, P>)(x, dy, a, dx, accumulate);
        else DN_LAUNCH(blocks, kGridThreads, lrn_bwd_any_k)(x, dy, a, p.size, dx, accumulate);
    });
}

}  // namespace dn
