// Device-side reduction helpers shared by the GPU kernels: grid-stride loops, Welford statistics
// with Chan et al.'s pairwise merge ("Updating formulae and a pairwise algorithm for computing
// sample variances", 1979), and block-wide sums. CUDA sources only.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "kernels/gpu_index.hpp"

namespace dn {

/// Launches a kernel: DN_LAUNCH(grid, block, kernel)(args...). The normalization kernels launch
/// through it so that tests/cuda_emu.hpp can run them on the CPU (tests/test_gpu_emu_*.cpp).
#ifndef DN_LAUNCH
#define DN_LAUNCH(grid, block, ...) __VA_ARGS__<<<grid, block>>>
#endif

constexpr int kGridThreads = 256;    ///< threads per block of elementwise kernels
constexpr int kReduceThreads = 256;  ///< threads per block of reduction kernels (a multiple of 32)

inline unsigned grid_blocks(size_t n) {
    return static_cast<unsigned>(std::min<size_t>((n + kGridThreads - 1) / kGridThreads, 1u << 20));
}

#define DN_GRID_FOR(i, n)                                                                   \
    for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < (n); \
         i += static_cast<size_t>(gridDim.x) * blockDim.x)

/// Grid-stride loop with a 32-bit index, for n <= 2^31 - 1 (gpu_index_check): i + stride stays
/// below 2^32 since the grid has at most 2^28 threads.
#define DN_GRID_FOR32(i, n)                                                                  \
    for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < static_cast<uint32_t>(n); \
         i += gridDim.x * blockDim.x)

/// Count, mean and sum of squared deviations (M2) of a set of values, in float.
struct Welford {
    float n = 0.f, mean = 0.f, m2 = 0.f;
    __device__ void add(float x) {
        n += 1.f;
        const float d = x - mean;
        mean += d / n;
        m2 += d * (x - mean);
    }
    /// Adds four values at once: their own mean and M2, then one merge (one division per four).
    __device__ void add4(float a, float b, float c, float d) {
        const float m = 0.25f * ((a + b) + (c + d));
        const float da = a - m, db = b - m, dc = c - m, dd = d - m;
        merge(Welford{4.f, m, (da * da + db * db) + (dc * dc + dd * dd)});
    }
    /// Chan's merge: delta = mean_b - mean_a, M2 = M2_a + M2_b + delta^2 n_a n_b / n.
    __host__ __device__ void merge(const Welford& o) {
        if (o.n == 0.f) return;
        if (n == 0.f) {
            *this = o;
            return;
        }
        const float t = n + o.n, d = o.mean - mean;
        mean += d * (o.n / t);
        m2 += o.m2 + d * d * (n * o.n / t);
        n = t;
    }
};

__device__ inline Welford shfl_down(const Welford& w, int o) {
    Welford r;
    r.n = __shfl_down_sync(0xffffffffu, w.n, o);
    r.mean = __shfl_down_sync(0xffffffffu, w.mean, o);
    r.m2 = __shfl_down_sync(0xffffffffu, w.m2, o);
    return r;
}

/// Merges the Welford states of all threads of the block; the result is valid in thread 0.
/// Every thread of the block must call it.
__device__ inline Welford block_merge(Welford w) {
    __shared__ Welford sh[kReduceThreads / 32];
    for (int o = 16; o > 0; o >>= 1) w.merge(shfl_down(w, o));
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) sh[warp] = w;
    __syncthreads();
    if (warp == 0) {
        w = lane < static_cast<int>(blockDim.x >> 5) ? sh[lane] : Welford{};
        for (int o = 16; o > 0; o >>= 1) w.merge(shfl_down(w, o));
    }
    __syncthreads();
    return w;
}

/// Block-wide sums of a and b; the results are valid in thread 0. Every thread must call it.
__device__ inline void block_sum2(float& a, float& b) {
    __shared__ float sa[kReduceThreads / 32], sb[kReduceThreads / 32];
    for (int o = 16; o > 0; o >>= 1) {
        a += __shfl_down_sync(0xffffffffu, a, o);
        b += __shfl_down_sync(0xffffffffu, b, o);
    }
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) sa[warp] = a, sb[warp] = b;
    __syncthreads();
    if (warp == 0) {
        a = lane < static_cast<int>(blockDim.x >> 5) ? sa[lane] : 0.f;
        b = lane < static_cast<int>(blockDim.x >> 5) ? sb[lane] : 0.f;
        for (int o = 16; o > 0; o >>= 1) {
            a += __shfl_down_sync(0xffffffffu, a, o);
            b += __shfl_down_sync(0xffffffffu, b, o);
        }
    }
    __syncthreads();
}

}  // namespace dn
