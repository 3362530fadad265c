// Group normalization on the GPU (Wu & He 2018), the conventions of kernels/groupnorm.hpp:
// statistics per (n, g) over the M = (C/G)*S contiguous values of the group, biased variance,
// per-channel gamma/beta.
//   forward: Welford statistics per (n, g) (reads x) + one elementwise pass (reads x, writes y);
//   backward: per-(n, c) sums of dy and dy*x_hat (reads x, dy) + tiny combines + one elementwise
//   pass (reads x, dy, writes dx).
// The reductions keep four loads in flight per thread; the elementwise passes find channel and
// group with multiply-highs (NchwIndex), not integer divisions.
#include <algorithm>

#include "kernels/gpu.hpp"
#include "kernels/gpu_reduce.cuh"

namespace dn {

namespace {

constexpr int kChunk = 8192;
int parts_for(size_t L, int groups) {
    const size_t p = (L + kChunk - 1) / kChunk;
    return static_cast<int>(std::max<size_t>(1, std::min<size_t>(p, std::max(1, 4096 / std::max(1, groups)))));
}

// Block (q, p), q = n*G + g: Welford over part p of the group's L contiguous values.
__global__ void gn_stats_k(const float* __restrict__ x, size_t L, int P, float* part) {
    const int q = blockIdx.x, p = blockIdx.y;
    const size_t chunk = (L + P - 1) / P, m0 = p * chunk, m1 = min(L, m0 + chunk);
    const float* g = x + static_cast<size_t>(q) * L;
    const size_t B = blockDim.x;
    Welford w;
    size_t m = m0 + threadIdx.x;
    for (; m + 3 * B < m1; m += 4 * B) w.add4(g[m], g[m + B], g[m + 2 * B], g[m + 3 * B]);
    for (; m < m1; m += B) w.add(g[m]);
    w = block_merge(w);
    if (threadIdx.x == 0) {
        float* o = part + (static_cast<size_t>(q) * P + p) * 3;
        o[0] = w.n, o[1] = w.mean, o[2] = w.m2;
    }
}

__global__ void gn_finalize_k(const float* part, int Q, int P, float eps, float* mean, float* inv_std) {
    const int q = blockIdx.x * blockDim.x + threadIdx.x;
    if (q >= Q) return;
    Welford w;
    for (int p = 0; p < P; ++p) {
        const float* o = part + (static_cast<size_t>(q) * P + p) * 3;
        w.merge(Welford{o[0], o[1], o[2]});
    }
    mean[q] = w.mean;
    inv_std[q] = rsqrtf((w.n > 0 ? w.m2 / w.n : 0.f) + eps);
}

__global__ void gn_normalize_k(const float* __restrict__ x, uint32_t n, NchwIndex ix, FastDivmod cpg, uint32_t G,
                               const float* gamma, const float* beta, const float* mean, const float* inv_std,
                               float* __restrict__ y) {
    DN_GRID_FOR32(i, n) {
        const uint32_t c = ix.channel(i), q = ix.group(i, cpg, G);
        y[i] = gamma[c] * (x[i] - mean[q]) * inv_std[q] + beta[c];
    }
}

// Block per plane (n, c): A = sum_s dy, B = sum_s dy * x_hat.
__global__ void gn_plane_sums_k(const float* __restrict__ x, const float* __restrict__ dy, int C, int S, int cpg,
                                const float* mean, const float* inv_std, float* AB) {
    const size_t nc = blockIdx.x;
    const int c = static_cast<int>(nc % C);
    const size_t q = (nc / C) * (C / cpg) + c / cpg;
    const float mu = mean[q], is = inv_std[q];
    const float* xp = x + nc * S;
    const float* dp = dy + nc * S;
    float a = 0.f, b = 0.f;
#pragma unroll 4
    for (int s = threadIdx.x; s < S; s += blockDim.x) {
        const float d = dp[s];
        a += d;
        b += d * (xp[s] - mu) * is;
    }
    block_sum2(a, b);
    if (threadIdx.x == 0) AB[2 * nc] = a, AB[2 * nc + 1] = b;
}

// Per channel: dbeta_c += sum_n A[n,c], dgamma_c += sum_n B[n,c].
__global__ void gn_param_grads_k(const float* AB, int N, int C, float* dgamma, float* dbeta) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    double a = 0, b = 0;
    for (int n = 0; n < N; ++n) {
        a += AB[2 * (static_cast<size_t>(n) * C + c)];
        b += AB[2 * (static_cast<size_t>(n) * C + c) + 1];
    }
    dbeta[c] += static_cast<float>(a);
    dgamma[c] += static_cast<float>(b);
}

// Per group q = (n, g): k = (sum_c gamma_c A / M, sum_c gamma_c B / M) over the group's channels.
__global__ void gn_group_k(const float* AB, int Q, int C, int cpg, const float* gamma, float M, float* k) {
    const int q = blockIdx.x * blockDim.x + threadIdx.x;
    if (q >= Q) return;
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

// dx may alias dy (each element is read before it is written, by the same thread).
__global__ void gn_dx_k(const float* __restrict__ x, const float* dy, uint32_t n, NchwIndex ix, FastDivmod cpg,
                        uint32_t G, const float* gamma, const float* mean, const float* inv_std, const float* k,
                        float* dx, bool accumulate) {
    DN_GRID_FOR32(i, n) {
        const uint32_t c = ix.channel(i), q = ix.group(i, cpg, G);
        const float is = inv_std[q];
        const float v = is * (gamma[c] * dy[i] - k[2 * q] - (x[i] - mean[q]) * is * k[2 * q + 1]);
        if (accumulate) dx[i] += v;
        else dx[i] = v;
    }
}

}  // namespace

void groupnorm_forward_gpu(const float* x, int N, int C, int S, int G, const float* gamma, const float* beta, double eps,
                           float* y, float* mean, float* inv_std) {
    const int Q = N * G, cpg = C / G;
    const size_t L = static_cast<size_t>(cpg) * S, n = static_cast<size_t>(N) * C * S;
    if (!n) return;
    gpu_index_check(n, "groupnorm_forward_gpu");
    const int P = parts_for(L, Q);
    float* part = gpu_scratch(static_cast<size_t>(Q) * P * 3);
    DN_LAUNCH(dim3(Q, P), kReduceThreads, gn_stats_k)(x, L, P, part);
    DN_KERNEL_CHECK();
    DN_LAUNCH((Q + 127) / 128, 128, gn_finalize_k)(part, Q, P, static_cast<float>(eps), mean, inv_std);
    DN_KERNEL_CHECK();
    DN_LAUNCH(grid_blocks(n), kGridThreads, gn_normalize_k)(x, static_cast<uint32_t>(n), NchwIndex(C, S), FastDivmod(cpg), G,
                                                      gamma, beta, mean, inv_std, y);
    DN_KERNEL_CHECK();
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
    const int Q = N * G, cpg = C / G;
    const size_t n = static_cast<size_t>(N) * C * S;
    if (!n) return;
    gpu_index_check(n, "groupnorm_backward_gpu");
    float* AB = gpu_scratch(static_cast<size_t>(N) * C * 2 + static_cast<size_t>(Q) * 2);
    float* k = AB + static_cast<size_t>(N) * C * 2;
    DN_LAUNCH(N * C, kReduceThreads, gn_plane_sums_k)(x, dy, C, S, cpg, mean, inv_std, AB);
    DN_KERNEL_CHECK();
    DN_LAUNCH((C + 127) / 128, 128, gn_param_grads_k)(AB, N, C, dgamma, dbeta);
    DN_KERNEL_CHECK();
    if (!dx) return;
    DN_LAUNCH((Q + 127) / 128, 128, gn_group_k)(AB, Q, C, cpg, gamma, static_cast<float>(static_cast<size_t>(cpg) * S), k);
    DN_KERNEL_CHECK();
    DN_LAUNCH(grid_blocks(n), kGridThreads, gn_dx_k)(x, dy, static_cast<uint32_t>(n), NchwIndex(C, S), FastDivmod(cpg), G, gamma,
                                               mean, inv_std, k, dx, accumulate);
    DN_KERNEL_CHECK();
}

}  // namespace dn
