// Spatial batch normalization on the GPU: the conventions of kernels/batchnorm.hpp (biased
// variance in forward and backward, eps inside the square root, unbiased rolling variance with
// momentum .01), so that CPU and GPU give the same answer.
//
// Each tensor is read the minimum number of times a two-kernel scheme allows:
//   forward (train): statistics pass (reads x) + normalize pass (reads x, writes y);
//   backward (train): one reduction of (sum dy, sum dy*x_hat) per channel (reads x, dy) + one
//   elementwise pass (reads x, dy, writes dx).
// Statistics: each thread folds its elements into a Welford state in float, four loads at a time
// (Welford::add4); threads, blocks and the per-channel partial results are merged with Chan et
// al.'s pairwise formula (no E[x^2] - E[x]^2 cancellation).
// Index arithmetic: the reductions walk a channel with ChannelWalk (no division per value); the
// elementwise passes find the channel with a multiply-high (NchwIndex), not an integer division.
#include <algorithm>
#include <cmath>

#include "kernels/gpu.hpp"
#include "kernels/gpu_reduce.cuh"

namespace dn {

namespace {

// Blocks per channel so that every SM gets several blocks; each block then covers ~kChunk values.
constexpr int kChunk = 8192;
int parts_for(size_t M, int C) {
    const size_t p = (M + kChunk - 1) / kChunk;
    return static_cast<int>(std::max<size_t>(1, std::min<size_t>(p, std::max(1, 4096 / std::max(1, C)))));
}

// Where the per-channel results go: mean, 1/sqrt(var + eps) and the rolling update.
struct BnFinal {
    size_t M;
    float eps, momentum;
    float *mean, *inv_std, *rolling_mean, *rolling_var;
};

__device__ void bn_finalize_channel(int c, const Welford& w, const BnFinal& f) {
    const float var = w.n > 0 ? w.m2 / w.n : 0.f;
    f.mean[c] = w.mean;
    f.inv_std[c] = rsqrtf(var + f.eps);
    if (f.rolling_mean) {
        const float unbiased = f.M > 1 ? w.m2 / (w.n - 1) : var;
        f.rolling_mean[c] = (1 - f.momentum) * f.rolling_mean[c] + f.momentum * w.mean;
        f.rolling_var[c] = (1 - f.momentum) * f.rolling_var[c] + f.momentum * unbiased;
    }
}

// Per channel: merge the P partials, then bn_finalize_channel (P > 1 only: with one block per
// channel, bn_stats_k finalizes itself and this launch is skipped).
__global__ void bn_finalize_k(const float* part, int C, int P, BnFinal f) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    Welford w;
    for (int p = 0; p < P; ++p) {
        const float* q = part + (static_cast<size_t>(c) * P + p) * 3;
        w.merge(Welford{q[0], q[1], q[2]});
    }
    bn_finalize_channel(c, w, f);
}

// Block (c, p): Welford statistics of the values m in [p*chunk, (p+1)*chunk) of channel c, where
// value m is x[(m / S) * C + c][m % S]. Writes (count, mean, M2) to part[(c*P + p)*3].
__global__ void bn_stats_k(const float* __restrict__ x, int N, int C, int S, int P, float* part, BnFinal f) {
    const int c = blockIdx.x, p = blockIdx.y;
    const size_t M = static_cast<size_t>(N) * S, chunk = (M + P - 1) / P;
    const size_t m0 = p * chunk, m1 = min(M, m0 + chunk);
    const uint32_t B = blockDim.x;
    Welford w;
    size_t m = m0 + threadIdx.x;
    ChannelWalk it(m, C, c, S, B);
    for (; m + 3 * B < m1; m += 4 * B) {  // four independent loads in flight per thread
        const float a = x[it.off];
        it.next();
        const float b = x[it.off];
        it.next();
        const float d = x[it.off];
        it.next();
        const float e = x[it.off];
        it.next();
        w.add4(a, b, d, e);
    }
    for (; m < m1; m += B, it.next()) w.add(x[it.off]);
    w = block_merge(w);
    if (threadIdx.x == 0) {
        if (P == 1) {
            bn_finalize_channel(c, w, f);
        } else {
            float* o = part + (static_cast<size_t>(c) * P + p) * 3;
            o[0] = w.n, o[1] = w.mean, o[2] = w.m2;
        }
    }
}

__global__ void bn_normalize_k(const float* __restrict__ x, uint32_t n, NchwIndex ix, const float* gamma,
                               const float* beta, const float* mean, const float* inv_std, float* __restrict__ y) {
    DN_GRID_FOR32(i, n) {
        const uint32_t c = ix.channel(i);
        y[i] = gamma[c] * (x[i] - mean[c]) * inv_std[c] + beta[c];
    }
}

__global__ void bn_inv_std_k(const float* rv, int C, float eps, float* inv_std) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c < C) inv_std[c] = rsqrtf(rv[c] + eps);
}

__global__ void bn_eval_k(const float* __restrict__ x, uint32_t n, NchwIndex ix, const float* gamma,
                          const float* beta, const float* rm, const float* rv, float eps, float* __restrict__ y) {
    DN_GRID_FOR32(i, n) {
        const uint32_t c = ix.channel(i);
        y[i] = gamma[c] * (x[i] - rm[c]) * rsqrtf(rv[c] + eps) + beta[c];
    }
}

// Per channel: dL/dbeta += sum dy, dL/dgamma += sum dy x_hat, and k = (sum dy / M,
// sum dy x_hat / M) for the elementwise pass.
struct BnDFinal {
    size_t M;
    float *dgamma, *dbeta, *k;
};

__device__ void bn_dfinal_channel(int c, double a, double b, const BnDFinal& g) {
    g.dbeta[c] += static_cast<float>(a);
    g.dgamma[c] += static_cast<float>(b);
    g.k[2 * c] = static_cast<float>(a / g.M);
    g.k[2 * c + 1] = static_cast<float>(b / g.M);
}

// The sums over the P partials (in double); P > 1 only (bn_dsum_k finishes a lone block itself).
__global__ void bn_dfinal_k(const float* part, int C, int P, BnDFinal g) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    double a = 0, b = 0;
    for (int p = 0; p < P; ++p) {
        a += part[(static_cast<size_t>(c) * P + p) * 2];
        b += part[(static_cast<size_t>(c) * P + p) * 2 + 1];
    }
    bn_dfinal_channel(c, a, b, g);
}

// Block (c, p): partial sums of dy and dy * x_hat over its values of channel c.
__global__ void bn_dsum_k(const float* __restrict__ x, const float* __restrict__ dy, int N, int C, int S, int P,
                          const float* mean, const float* inv_std, float* part, BnDFinal g) {
    const int c = blockIdx.x, p = blockIdx.y;
    const size_t M = static_cast<size_t>(N) * S, chunk = (M + P - 1) / P;
    const size_t m0 = p * chunk, m1 = min(M, m0 + chunk);
    const uint32_t B = blockDim.x;
    const float mu = mean[c], is = inv_std[c];
    float a = 0.f, b = 0.f;
    size_t m = m0 + threadIdx.x;
    ChannelWalk it(m, C, c, S, B);
    for (; m + 3 * B < m1; m += 4 * B) {  // eight independent loads in flight per thread
        float xv[4], dv[4];
#pragma unroll
        for (int k = 0; k < 4; ++k) {
            xv[k] = x[it.off];
            dv[k] = dy[it.off];
            it.next();
        }
#pragma unroll
        for (int k = 0; k < 4; ++k) {
            a += dv[k];
            b += dv[k] * (xv[k] - mu) * is;
        }
    }
    for (; m < m1; m += B, it.next()) {
        const float d = dy[it.off];
        a += d;
        b += d * (x[it.off] - mu) * is;
    }
    block_sum2(a, b);
    if (threadIdx.x == 0) {
        if (P == 1) {
            bn_dfinal_channel(c, a, b, g);
        } else {
            part[(static_cast<size_t>(c) * P + p) * 2] = a;
            part[(static_cast<size_t>(c) * P + p) * 2 + 1] = b;
        }
    }
}

// dx = gamma * inv_std * (dy - mean(dy) - x_hat * mean(dy x_hat))   (train; k from bn_dfinal_k)
// dx = gamma * inv_std * dy                                          (eval; k null)
// dx may be dy (the convolutional layer normalizes its delta in place): each element is read
// before it is written, by the same thread.
__global__ void bn_dx_k(const float* __restrict__ x, const float* dy, uint32_t n, NchwIndex ix,
                        const float* gamma, const float* mean, const float* inv_std, const float* k, float* dx,
                        bool accumulate) {
    DN_GRID_FOR32(i, n) {
        const uint32_t c = ix.channel(i);
        const float is = inv_std[c];
        float g = dy[i];
        if (k) g -= k[2 * c] + (x[i] - mean[c]) * is * k[2 * c + 1];
        const float v = gamma[c] * is * g;
        if (accumulate) dx[i] += v;
        else dx[i] = v;
    }
}

}  // namespace

void batchnorm_forward_train_gpu(const float* x, int N, int C, int S, const float* gamma, const float* beta, float* y,
                                 float* mean, float* inv_std, float* rolling_mean, float* rolling_var, double eps,
                                 double momentum) {
    const size_t M = static_cast<size_t>(N) * S, n = M * C;
    if (!n) return;
    gpu_index_check(n, "batchnorm_forward_train_gpu");
    const int P = parts_for(M, C);
    float* part = gpu_scratch(static_cast<size_t>(C) * P * 3);
    const BnFinal f{M, static_cast<float>(eps), static_cast<float>(momentum), mean, inv_std, rolling_mean, rolling_var};
    DN_LAUNCH(dim3(C, P), kReduceThreads, bn_stats_k)(x, N, C, S, P, part, f);
    DN_KERNEL_CHECK();
    if (P > 1) {
        DN_LAUNCH((C + 127) / 128, 128, bn_finalize_k)(part, C, P, f);
        DN_KERNEL_CHECK();
    }
    DN_LAUNCH(grid_blocks(n), kGridThreads, bn_normalize_k)(x, static_cast<uint32_t>(n), NchwIndex(C, S), gamma, beta, mean,
                                                      inv_std, y);
    DN_KERNEL_CHECK();
}

void batchnorm_forward_eval_gpu(const float* x, int N, int C, int S, const float* gamma, const float* beta,
                                const float* rolling_mean, const float* rolling_var, float* y, double eps) {
    const size_t n = static_cast<size_t>(N) * C * S;
    if (!n) return;
    gpu_index_check(n, "batchnorm_forward_eval_gpu");
    DN_LAUNCH(grid_blocks(n), kGridThreads, bn_eval_k)(x, static_cast<uint32_t>(n), NchwIndex(C, S), gamma, beta, rolling_mean,
                                                 rolling_var, static_cast<float>(eps), y);
    DN_KERNEL_CHECK();
}

// Backward (Ioffe & Szegedy 2015, Sec. 3; derivation in docs/math.md). With M = N*S values per
// channel, x_hat = (x - mu) * inv_std and y = gamma x_hat + beta:
//   dL/dbeta = sum dy,   dL/dgamma = sum dy x_hat,
//   dL/dx = gamma inv_std (dy - (1/M) sum dy - x_hat (1/M) sum dy x_hat),
// since d mu/dx = 1/M and d var/dx = 2 (x - mu)/M (biased variance, as in forward).
void batchnorm_backward_train_gpu(const float* x, const float* dy, int N, int C, int S, const float* gamma,
                                  const float* mean, const float* inv_std, float* dx, bool accumulate, float* dgamma,
                                  float* dbeta) {
    const size_t M = static_cast<size_t>(N) * S, n = M * C;
    if (!n) return;
    gpu_index_check(n, "batchnorm_backward_train_gpu");
    const int P = parts_for(M, C);
    float* part = gpu_scratch(static_cast<size_t>(C) * P * 2 + static_cast<size_t>(C) * 2);
    float* k = part + static_cast<size_t>(C) * P * 2;
    const BnDFinal g{M, dgamma, dbeta, k};
    DN_LAUNCH(dim3(C, P), kReduceThreads, bn_dsum_k)(x, dy, N, C, S, P, mean, inv_std, part, g);
    DN_KERNEL_CHECK();
    if (P > 1) {
        DN_LAUNCH((C + 127) / 128, 128, bn_dfinal_k)(part, C, P, g);
        DN_KERNEL_CHECK();
    }
    if (dx) {
        DN_LAUNCH(grid_blocks(n), kGridThreads, bn_dx_k)(x, dy, static_cast<uint32_t>(n), NchwIndex(C, S), gamma, mean, inv_std,
                                                   k, dx, accumulate);
        DN_KERNEL_CHECK();
    }
}

// Eval backward: mean and variance are the rolling constants, so x_hat is affine in x and
//   dL/dx = gamma dy / sqrt(rolling_var + eps);  dL/dgamma = sum dy x_hat;  dL/dbeta = sum dy.
void batchnorm_backward_eval_gpu(const float* x, const float* dy, int N, int C, int S, const float* gamma,
                                 const float* rolling_mean, const float* rolling_var, float* dx, bool accumulate,
                                 float* dgamma, float* dbeta, double eps) {
    const size_t M = static_cast<size_t>(N) * S, n = M * C;
    if (!n) return;
    gpu_index_check(n, "batchnorm_backward_eval_gpu");
    const int P = parts_for(M, C);
    float* part = gpu_scratch(static_cast<size_t>(C) * P * 2 + static_cast<size_t>(C) * 3);
    float* k = part + static_cast<size_t>(C) * P * 2;
    float* inv_std = k + 2 * C;
    DN_LAUNCH((C + 127) / 128, 128, bn_inv_std_k)(rolling_var, C, static_cast<float>(eps), inv_std);
    DN_KERNEL_CHECK();
    const BnDFinal g{M, dgamma, dbeta, k};
    DN_LAUNCH(dim3(C, P), kReduceThreads, bn_dsum_k)(x, dy, N, C, S, P, rolling_mean, inv_std, part, g);
    DN_KERNEL_CHECK();
    if (P > 1) {
        DN_LAUNCH((C + 127) / 128, 128, bn_dfinal_k)(part, C, P, g);
        DN_KERNEL_CHECK();
    }
    if (dx) {
        DN_LAUNCH(grid_blocks(n), kGridThreads, bn_dx_k)(x, dy, static_cast<uint32_t>(n), NchwIndex(C, S), gamma, rolling_mean,
                                                   inv_std, nullptr, dx, accumulate);
        DN_KERNEL_CHECK();
    }
}

}  // namespace dn
