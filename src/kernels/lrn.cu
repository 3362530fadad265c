// Local response normalization on the GPU: the definition of kernels/lrn.hpp (window
// [c - (size-1)/2, c + size/2], alpha not divided by size), exactly as on the CPU.
//
// One thread per (image, position, run of kLrnRun channels) streams through its channels keeping
// the window in registers (sizes 1-7, compiled per size): x and dy are read once from memory
// (plus a halo of size - 1 channels per run, mostly from cache), y / dx written once. Runs rather
// than whole channel columns give the GPU enough threads (and loads in flight) when N*H*W is small.
// Window sums add the non-negative squares directly (no running-sum cancellation).
// Each thread loads the next four channels' values together (four loads in flight, not one).
// Other sizes use a direct kernel that re-reads the window from cache.
#include <algorithm>

#include "darknet/error.hpp"
#include "kernels/gpu.hpp"
#include "kernels/gpu_reduce.cuh"

namespace dn {

namespace {

__device__ inline float pow_neg(float n, float beta, bool three_quarters) {
    if (three_quarters) {
        const float r = rsqrtf(n);
        return r * sqrtf(r);  // n^-3/4
    }
    return powf(n, -beta);
}

constexpr int kLrnRun = 32;  ///< channels per thread

struct LrnArgs {
    int N, C, S;
    float alpha, beta, kappa;
    bool tq;  ///< beta == 0.75
};

template <int SZ>
__global__ void lrn_fwd_k(const float* __restrict__ x, LrnArgs a, float* __restrict__ y) {
    constexpr int lo = (SZ - 1) / 2, hi = SZ / 2;
    const size_t t = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x, lanes = static_cast<size_t>(a.N) * a.S;
    const int runs = (a.C + kLrnRun - 1) / kLrnRun;
    if (t >= lanes * runs) return;
    const size_t lane = t % lanes, n = lane / a.S, s = lane % a.S, S = a.S;
    const int c0 = static_cast<int>(t / lanes) * kLrnRun, c1 = min(a.C, c0 + kLrnRun);
    const float* xp = x + n * a.C * S + s;
    float* yp = y + n * a.C * S + s;
    float xw[SZ];  // x over [c - lo, c + hi], 0 outside [0, C)
#pragma unroll
    for (int k = 0; k < SZ; ++k) {
        const int j = c0 + k - lo;
        xw[k] = (j >= 0 && j < a.C) ? xp[j * S] : 0.f;
    }
    const int jend = min(a.C, c1 + hi);  // x beyond channel c1 - 1 + hi is not needed by this run
    for (int c = c0; c < c1; c += 4) {
        float nx[4];  // the next four window channels, loaded together
#pragma unroll
        for (int k = 0; k < 4; ++k) {
            const int j = c + 1 + hi + k;
            nx[k] = j < jend ? xp[j * S] : 0.f;
        }
#pragma unroll
        for (int k = 0; k < 4; ++k) {
            if (c + k < c1) {
                float sum = 0.f;
#pragma unroll
                for (int i = 0; i < SZ; ++i) sum += xw[i] * xw[i];
                yp[(c + k) * S] = xw[lo] * pow_neg(a.kappa + a.alpha * sum, a.beta, a.tq);
            }
#pragma unroll
            for (int i = 0; i + 1 < SZ; ++i) xw[i] = xw[i + 1];
            xw[SZ - 1] = nx[k];
        }
    }
}

// Backward (derivation in docs/math.md): with norm_j = kappa + alpha sum_{i in win(j)} x_i^2,
// k_j = norm_j^-beta and y_j = x_j k_j,
//   dL/dx_c = dy_c k_c - 2 alpha beta x_c sum_{j : c in win(j)} dy_j x_j k_j / norm_j,
// and c in win(j) <=> j in [c - hi, c + lo]. The thread runs a head j over the channels, computing
// t_j = dy_j x_j k_j / norm_j; output c = j - lo is complete once t_{c+lo} is known. A run of
// outputs [c0, c1) starts the head at j = c0 - hi (the first t its first output needs).
template <int SZ>
__global__ void lrn_bwd_k(const float* __restrict__ x, const float* __restrict__ dy, LrnArgs a, float* dx,
                          bool accumulate) {
    constexpr int lo = (SZ - 1) / 2, hi = SZ / 2;
    const size_t t = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x, lanes = static_cast<size_t>(a.N) * a.S;
    const int runs = (a.C + kLrnRun - 1) / kLrnRun;
    if (t >= lanes * runs) return;
    const size_t lane = t % lanes, n = lane / a.S, s = lane % a.S, S = a.S;
    const int c0 = static_cast<int>(t / lanes) * kLrnRun, c1 = min(a.C, c0 + kLrnRun);
    const size_t off = n * a.C * S + s;
    const float *xp = x + off, *dp = dy + off;
    float* op = dx + off;
    const int j0 = c0 - hi;
    float xw[SZ];                  // x over [j - lo, j + hi]
    float tw[SZ], kw[SZ], dw[SZ];  // t, k, dy of channels j - SZ + 1 .. j
#pragma unroll
    for (int k = 0; k < SZ; ++k) {
        const int j = j0 + k - lo;
        xw[k] = (j >= 0 && j < a.C) ? xp[j * S] : 0.f;
        tw[k] = kw[k] = dw[k] = 0.f;
    }
    const float two_ab = 2.f * a.alpha * a.beta;
    const int jend = c1 + lo, xend = min(a.C, jend + hi);  // head channels; x needed below xend
    for (int j4 = j0; j4 < jend; j4 += 4) {
        float nd[4], nx[4];  // dy of the next four heads and x entering the window: loaded together
#pragma unroll
        for (int k = 0; k < 4; ++k) {
            const int j = j4 + k, e = j + 1 + hi;
            nd[k] = (j >= 0 && j < a.C && j < jend) ? dp[j * S] : 0.f;
            nx[k] = (e >= 0 && e < xend) ? xp[e * S] : 0.f;
        }
#pragma unroll
        for (int k = 0; k < 4; ++k) {
            const int j = j4 + k;
            if (j >= jend) break;
            float tj = 0.f, kj = 0.f;
            const float xc = xw[0];  // x_{j - lo}: the output channel c of this step
            if (j >= 0 && j < a.C) {
                float sum = 0.f;
#pragma unroll
                for (int i = 0; i < SZ; ++i) sum += xw[i] * xw[i];
                const float nrm = a.kappa + a.alpha * sum;
                kj = pow_neg(nrm, a.beta, a.tq);
                tj = nd[k] * xw[lo] * kj / nrm;
            }
#pragma unroll
            for (int i = 0; i + 1 < SZ; ++i) tw[i] = tw[i + 1], kw[i] = kw[i + 1], dw[i] = dw[i + 1];
            tw[SZ - 1] = tj, kw[SZ - 1] = kj, dw[SZ - 1] = nd[k];
            const int c = j - lo;
            if (c >= c0) {
                float ts = 0.f;
#pragma unroll
                for (int i = 0; i < SZ; ++i) ts += tw[i];
                const float v = dw[SZ - 1 - lo] * kw[SZ - 1 - lo] - two_ab * xc * ts;
                if (accumulate) op[c * S] += v;
                else op[c * S] = v;
            }
#pragma unroll
            for (int i = 0; i + 1 < SZ; ++i) xw[i] = xw[i + 1];
            xw[SZ - 1] = nx[k];
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
        y[i] = x[i] * pow_neg(norm_at(xp, a.S, a.C, c, lo, hi, a), a.beta, a.tq);
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
            const float nrm = norm_at(xp, a.S, a.C, j, lo, hi, a);
            ts += dp[j * a.S] * xp[j * a.S] * pow_neg(nrm, a.beta, a.tq) / nrm;
        }
        const float v = dy[i] * pow_neg(norm_at(xp, a.S, a.C, c, lo, hi, a), a.beta, a.tq) - 2.f * a.alpha * a.beta * x[i] * ts;
        if (accumulate) dx[i] += v;
        else dx[i] = v;
    }
}

LrnArgs args(int N, int C, int S, const LrnParams& p) {
    return {N, C, S, static_cast<float>(p.alpha), static_cast<float>(p.beta), static_cast<float>(p.kappa), p.beta == 0.75};
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

}  // namespace

void lrn_forward_gpu(const float* x, int N, int C, int S, const LrnParams& p, float* y) {
    const size_t lanes = static_cast<size_t>(N) * S;
    if (!lanes || !C) return;
    const LrnArgs a = args(N, C, S, p);
    by_size(p.size, [&](auto sz) {
        constexpr int SZ = decltype(sz)::value;
        if constexpr (SZ > 0) {
            const size_t threads = lanes * ((C + kLrnRun - 1) / kLrnRun);
            DN_LAUNCH(static_cast<unsigned>((threads + 127) / 128), 128, lrn_fwd_k<SZ>)(x, a, y);
        } else {
            DN_LAUNCH(grid_blocks(lanes * C), kGridThreads, lrn_fwd_any_k)(x, a, p.size, y);
        }
    });
    DN_KERNEL_CHECK();
}

void lrn_backward_gpu(const float* x, const float* dy, int N, int C, int S, const LrnParams& p, float* dx,
                      bool accumulate) {
    const size_t lanes = static_cast<size_t>(N) * S;
    if (!lanes || !C) return;
    if (!accumulate && dx == dy) fail("lrn_backward_gpu: dx may not alias dy");
    const LrnArgs a = args(N, C, S, p);
    by_size(p.size, [&](auto sz) {
        constexpr int SZ = decltype(sz)::value;
        if constexpr (SZ > 0) {
            const size_t threads = lanes * ((C + kLrnRun - 1) / kLrnRun);
            DN_LAUNCH(static_cast<unsigned>((threads + 127) / 128), 128, lrn_bwd_k<SZ>)(x, dy, a, dx, accumulate);
        } else {
            DN_LAUNCH(grid_blocks(lanes * C), kGridThreads, lrn_bwd_any_k)(x, dy, a, p.size, dx, accumulate);
        }
    });
    DN_KERNEL_CHECK();
}

}  // namespace dn
