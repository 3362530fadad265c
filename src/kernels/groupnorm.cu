// Group normalization on the GPU (Wu & He 2018), the conventions of kernels/groupnorm.hpp:
// statistics per (n, g) over the M = (C/G)*S contiguous values of the group, biased variance,
// per-channel gamma/beta.
//   forward: Welford statistics per (n, g) (reads x) + one elementwise pass (reads x, writes y);
//   when one block covers a group, that block normalizes it too, re-reading from cache (one kernel);
//   backward: per-(n, c) sums of dy and dy*x_hat (reads x, dy; a warp per plane when planes are
//   many) + one tiny combine + one elementwise pass (reads x, dy, writes dx).
// Planes whose size is a multiple of 4 move as float4; the reductions keep four such loads in
// flight per thread; the elementwise passes take four units per thread (elem_units, all loaded
// before any is stored), run last tile first (the reduction's last reads are still in the L2) and
// find channel and group with multiply-highs (NchwIndex), not divisions.
#include <algorithm>

#include "kernels/gpu.hpp"
#include "kernels/gpu_reduce.cuh"
#include "kernels/groupnorm.hpp"

namespace dn {

namespace {

__device__ void gn_finalize_group(int q, const Welford& w, float eps, float* mean, float* inv_std) {
    mean[q] = w.mean;
    inv_std[q] = rsqrtf((w.n > 0 ? w.m2 / w.n : 0.f) + eps);
}

// Where the statistics go and, for the fused normalize (P == 1), what it needs.
struct GnArgs {
    float eps;
    float *mean, *inv_std;
    int G, cpg;
    FastDivmod Su;  ///< units per plane (unit u of a group lies in its channel u / Su)
    const float *gamma, *beta;
    float* y;  ///< null: statistics only
};

// Block (q, p), q = n*G + g: Welford over part p of the group's Lu contiguous units of V floats.
// P > 1: (count, mean, M2) to part[(q*P + p)*3]. P == 1: the block finalizes the group and, when
// a.y is set, normalizes it from the units its threads have just read (cache hits): one kernel.
template <int V>
__global__ void gn_stats_k(const float* x, size_t Lu, int P, float* part, GnArgs a) {
    const int q = blockIdx.x, p = blockIdx.y;
    const size_t chunk = (Lu + P - 1) / P, u0 = p * chunk, u1 = min(Lu, u0 + chunk);
    const float* xg = x + static_cast<size_t>(q) * Lu * V;
    Welford w;
    walk_range(u0, u1, [&](auto kk, const size_t* off) {
        constexpr int K = decltype(kk)::value;
        float v[K * V];
        load_units<K, V>(xg, off, v);
        w.add_all(v);
    });
    w = block_merge(w);
    DN_SHARED(float, mu_is, 2);
    if (threadIdx.x == 0) {
        if (P == 1) {
            gn_finalize_group(q, w, a.eps, a.mean, a.inv_std);
            mu_is[0] = w.mean, mu_is[1] = a.inv_std[q];
        } else {
            float* o = part + (static_cast<size_t>(q) * P + p) * 3;
            o[0] = w.n, o[1] = w.mean, o[2] = w.m2;
        }
    }
    if (P != 1 || !a.y) return;
    __syncthreads();
    const float mu = mu_is[0], is = mu_is[1];
    const int c0 = (q % a.G) * a.cpg;
    float* yg = a.y + static_cast<size_t>(q) * Lu * V;
    walk_range(u0, u1, [&](auto kk, const size_t* off) {
        constexpr int K = decltype(kk)::value;
        float v[K * V], gis[K], b[K];
#pragma unroll
        for (int k = 0; k < K; ++k) {  // loads before stores: none can move above a store to y
            const int c = c0 + static_cast<int>(a.Su.div(static_cast<uint32_t>(off[k])));
            gis[k] = a.gamma[c] * is, b[k] = a.beta[c];
        }
        load_units<K, V>(xg, off, v);
#pragma unroll
        for (int k = 0; k < K; ++k) {
            affine_vec<V>(v + k * V, mu, gis[k], b[k]);
            store_vec<V>(yg + off[k] * V, v + k * V);
        }
    });
}

// A warp per group: merge the P partials, then gn_finalize_group (P > 1 only).
__global__ void gn_finalize_k(const float* part, int Q, int P, float eps, float* mean, float* inv_std) {
    const int q = warp_set();
    if (q >= Q) return;  // the whole warp
    const Welford w = warp_merge_parts(part, q, P);
    if ((threadIdx.x & 31) == 0) gn_finalize_group(q, w, eps, mean, inv_std);
}

// y = gamma_c (x - mean_q) inv_std_q + beta_c over units of V floats, K per thread (every load
// before any store; y may be x), last tile first.
template <int V, int K>
__global__ void gn_normalize_k(const float* x, uint32_t nu, NchwIndex ix, FastDivmod cpg, uint32_t G,
                               const float* gamma, const float* beta, const float* mean, const float* inv_std,
                               float* y) {
    grid_units_rev<K>(nu, [&](auto kk, const uint32_t* idx) {
        constexpr int J = decltype(kk)::value;
        float mu[J], gis[J], b[J], v[J * V];
#pragma unroll
        for (int j = 0; j < J; ++j) {
            const uint32_t i = idx[j] * V, c = ix.channel(i), q = ix.group(i, cpg, G);
            mu[j] = mean[q], gis[j] = gamma[c] * inv_std[q], b[j] = beta[c];
        }
        load_units<J, V>(x, idx, v);
#pragma unroll
        for (int j = 0; j < J; ++j) {
            affine_vec<V>(v + j * V, mu[j], gis[j], b[j]);
            store_vec<V>(y + idx[j] * V, v + j * V);
        }
    });
}

// Per plane (n, c): A = sum_s dy, B = sum_s dy * x_hat. A team of T threads per plane (T = 32: a
// warp, for many small planes; T = blockDim.x: the block, for few large ones), units of V floats.
template <int V, int T>
__global__ void gn_plane_sums_k(const float* __restrict__ x, const float* __restrict__ dy, int NC, int C, int Su,
                                int cpg, const float* mean, const float* inv_std, float* AB) {
    const int teams = blockDim.x / T, team = threadIdx.x / T, r = threadIdx.x % T;
    const int nc = blockIdx.x * teams + team;
    float a = 0.f, b = 0.f;
    if (nc < NC) {
        const int c = nc % C;
        const size_t q = static_cast<size_t>(nc / C) * (C / cpg) + c / cpg;
        const float mu = mean[q], is = inv_std[q];
        const float* xp = x + static_cast<size_t>(nc) * Su * V;
        const float* dp = dy + static_cast<size_t>(nc) * Su * V;
        walk_strided(0, Su, r, T, [&](auto kk, const size_t* off) {
            constexpr int K = decltype(kk)::value;
            float xv[K * V], dv[K * V];
            load_units<K, V>(xp, off, xv);
            load_units<K, V>(dp, off, dv);
#pragma unroll
            for (int j = 0; j < K * V; ++j) {
                a += dv[j];
                b += dv[j] * (xv[j] - mu) * is;
            }
        });
    }
    if constexpr (T == 32) {
        for (int o = 16; o > 0; o >>= 1) {
            a += __shfl_down_sync(0xffffffffu, a, o);
            b += __shfl_down_sync(0xffffffffu, b, o);
        }
    } else {
        block_sum2(a, b);
    }
    if (r == 0 && nc < NC) AB[2 * static_cast<size_t>(nc)] = a, AB[2 * static_cast<size_t>(nc) + 1] = b;
}

// Threads [0, C): dbeta_c += sum_n A[n,c], dgamma_c += sum_n B[n,c] (in double, n in order).
// Threads [C, C + Q), q = n*G + g: k_q = (sum_c gamma_c A / M, sum_c gamma_c B / M) over the
// group's channels.
__global__ void gn_combine_k(const float* AB, int N, int C, int Q, int cpg, const float* gamma, float M,
                             float* dgamma, float* dbeta, float* k) {
    const int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t < C) {
        double a = 0, b = 0;
        for (int n = 0; n < N; ++n) {
            a += AB[2 * (static_cast<size_t>(n) * C + t)];
            b += AB[2 * (static_cast<size_t>(n) * C + t) + 1];
        }
        dbeta[t] += static_cast<float>(a);
        dgamma[t] += static_cast<float>(b);
        return;
    }
    const int q = t - C;
    if (q >= Q || !k) return;
    const int G = C / cpg;
    const size_t n = q / G;
    const int g = q % G;
    float a = 0.f, b = 0.f;
    for (int j = 0; j < cpg; ++j) {
        const int c = g * cpg + j;
        a += gamma[c] * AB[2 * (n * C + c)];
        b += gamma[c] * AB[2 * (n * C + c) + 1];
    }
    k[2 * q] = a / M;
    k[2 * q + 1] = b / M;
}

// dx = inv_std (gamma_c dy - k0 - x_hat k1) over units of V floats, K per thread, last tile first.
// Every load before any store: dx may alias dy (each element is read before it is written, by
// the same thread).
template <int V, int K>
__global__ void gn_dx_k(const float* x, const float* dy, uint32_t nu, NchwIndex ix, FastDivmod cpg, uint32_t G,
                        const float* gamma, const float* mean, const float* inv_std, const float* k, float* dx,
                        bool accumulate) {
    grid_units_rev<K>(nu, [&](auto kk, const uint32_t* idx) {
        constexpr int J = decltype(kk)::value;
        float is[J], mu[J], gc[J], k0[J], k1[J], xv[J * V], d[J * V], o[J * V];
#pragma unroll
        for (int j = 0; j < J; ++j) {
            const uint32_t i = idx[j] * V, c = ix.channel(i), q = ix.group(i, cpg, G);
            is[j] = inv_std[q], mu[j] = mean[q], gc[j] = gamma[c], k0[j] = k[2 * q], k1[j] = k[2 * q + 1];
        }
        load_units<J, V>(x, idx, xv);
        load_units<J, V>(dy, idx, d);
        if (accumulate) load_units<J, V>(dx, idx, o);
#pragma unroll
        for (int j = 0; j < J; ++j) {
#pragma unroll
            for (int e = j * V; e < (j + 1) * V; ++e) {
                const float v = is[j] * (gc[j] * d[e] - k0[j] - (xv[e] - mu[j]) * is[j] * k1[j]);
                o[e] = accumulate ? o[e] + v : v;
            }
            store_vec<V>(dx + idx[j] * V, o + j * V);
        }
    });
}

}  // namespace

void groupnorm_forward_gpu(const float* x, int N, int C, int S, int G, const float* gamma, const float* beta, double eps,
                           float* y, float* mean, float* inv_std) {
    const int Q = N * G, cpg = C / G;
    const size_t L = static_cast<size_t>(cpg) * S, n = static_cast<size_t>(N) * C * S;
    if (!n) return;
    gpu_index_check(n, "groupnorm_forward_gpu");
    const int P = reduction_parts(L, Q);
    float* part = gpu_scratch(static_cast<size_t>(Q) * P * 3);
    with_vec(vec4_ok(S, {x, y}), [&](auto vv) {
        constexpr int V = decltype(vv)::value;
        const GnArgs a{static_cast<float>(eps), mean, inv_std, G, cpg, FastDivmod(S / V), gamma, beta, y};
        DN_LAUNCH(dim3(Q, P), kReduceThreads, gn_stats_k<V>)(x, L / V, P, part, a);
        DN_KERNEL_CHECK();
        if (P == 1) return;  // normalized by gn_stats_k
        DN_LAUNCH(set_blocks(Q), kSetThreads, gn_finalize_k)(part, Q, P, static_cast<float>(eps), mean, inv_std);
        DN_KERNEL_CHECK();
        with_units([&](auto kk) {
            constexpr int K = decltype(kk)::value;
            DN_LAUNCH(unit_blocks(n / V, K), kGridThreads, gn_normalize_k<V, K>)(
                x, static_cast<uint32_t>(n / V), NchwIndex(C, S), FastDivmod(cpg), G, gamma, beta, mean, inv_std, y);
        });
        DN_KERNEL_CHECK();
    });
}

// Backward (Wu & He 2018; derivation in docs/math.md). Per group (n, g) with M values,
// x_hat = (x - mu) inv_std and u = gamma_c dy (dL/dx_hat):
//   dL/dx = inv_std (u - (1/M) sum u - x_hat (1/M) sum u x_hat),
//   dL/dgamma_c = sum_{n,s} dy x_hat,   dL/dbeta_c = sum_{n,s} dy.
// sum u = sum_c gamma_c A[n,c] and sum u x_hat = sum_c gamma_c B[n,c] with the per-plane sums
// A = sum_s dy, B = sum_s dy x_hat, so x and dy are read once for all of the reductions.
void groupnorm_backward_gpu(const float* x, const float* dy, int N, int C, int S, int G, const float* gamma,
                            const float* mean, const float* inv_std, float* dx, bool accumulate, float* dgamma,
                            float* dbeta) {
    const int Q = N * G, cpg = C / G, NC = N * C;
    const size_t n = static_cast<size_t>(N) * C * S;
    if (!n) return;
    gpu_index_check(n, "groupnorm_backward_gpu");
    float* AB = gpu_scratch(static_cast<size_t>(NC) * 2 + static_cast<size_t>(Q) * 2);
    float* k = AB + static_cast<size_t>(NC) * 2;
    with_vec(vec4_ok(S, {x, dy, dx}), [&](auto vv) {
        constexpr int V = decltype(vv)::value;
        // A warp per plane when there are planes enough to fill the GPU with warps, else a block.
        if (NC >= 4096) {
            constexpr int teams = kReduceThreads / 32;
            DN_LAUNCH((NC + teams - 1) / teams, kReduceThreads, gn_plane_sums_k<V, 32>)(x, dy, NC, C, S / V, cpg, mean, inv_std,
                                                                                 AB);
        } else {
            DN_LAUNCH(NC, kReduceThreads, gn_plane_sums_k<V, kReduceThreads>)(x, dy, NC, C, S / V, cpg, mean, inv_std, AB);
        }
        DN_KERNEL_CHECK();
        DN_LAUNCH((C + Q + 127) / 128, 128, gn_combine_k)(AB, N, C, Q, cpg, gamma, static_cast<float>(static_cast<size_t>(cpg) * S),
                                                   dgamma, dbeta, dx ? k : nullptr);
        DN_KERNEL_CHECK();
        if (!dx) return;
        with_units([&](auto kk) {
            constexpr int K = decltype(kk)::value;
            DN_LAUNCH(unit_blocks(n / V, K), kGridThreads, gn_dx_k<V, K>)(x, dy, static_cast<uint32_t>(n / V), NchwIndex(C, S),
                                                                      FastDivmod(cpg), G, gamma, mean, inv_std, k, dx,
                                                                      accumulate);
        });
        DN_KERNEL_CHECK();
    });
}

}  // namespace dn
