// Device-side reduction helpers shared by the GPU kernels: grid-stride loops, Welford statistics
// with Chan et al.'s pairwise merge ("Updating formulae and a pairwise algorithm for computing
// sample variances", 1979), and block-wide sums. CUDA sources only.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <type_traits>

#include "kernels/gpu_index.hpp"
#include "kernels/gpu_tuning.hpp"

namespace dn {

/// Launches a kernel: DN_LAUNCH(grid, block, kernel)(args...). The normalization kernels launch
/// through it so that tests/cuda_emu.hpp can run them on the CPU (tests/test_gpu_emu_*.cpp).
#ifndef DN_LAUNCH
#define DN_LAUNCH(grid, block, ...) __VA_ARGS__<<<grid, block>>>
#endif

/// Declares a block's shared array: DN_SHARED(float, name, n) is `__shared__ float name[n]`.
/// tests/cuda_emu.hpp gives each declaration an area of the running block that starts as NaN.
#ifndef DN_SHARED
#define DN_SHARED(T, name, n) __shared__ T name[n]
#endif

constexpr int kGridThreads = 256;    ///< threads per block of elementwise kernels
constexpr int kReduceThreads = 256;  ///< threads per block of reduction kernels (a multiple of 32)

inline unsigned grid_blocks(size_t n) {
    return static_cast<unsigned>(std::min<size_t>((n + kGridThreads - 1) / kGridThreads, 1u << 20));
}

/// Blocks per reduced set (a batchnorm channel, a GroupNorm group) of M values, over `sets` sets:
/// about one block per `chunk` values (gpu_tuning().norm_chunk, else 8192), so that every SM gets
/// several blocks, and at most 4096 blocks in all unless a set alone needs more than one.
inline int reduction_parts(size_t M, int sets) {
    const size_t chunk = gpu_tuning().norm_chunk ? gpu_tuning().norm_chunk : 8192;
    const size_t p = (M + chunk - 1) / chunk;
    return static_cast<int>(std::max<size_t>(1, std::min<size_t>(p, std::max(1, 4096 / std::max(1, sets)))));
}

#define DN_GRID_FOR(i, n)                                                                   \
    for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < (n); \
         i += static_cast<size_t>(gridDim.x) * blockDim.x)

/// Grid-stride loop with a 32-bit index, for n <= 2^31 - 1 (gpu_index_check): i + stride stays
/// below 2^32 since the grid has at most 2^28 threads.
#define DN_GRID_FOR32(i, n)                                                                  \
    for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < static_cast<uint32_t>(n); \
         i += gridDim.x * blockDim.x)

/// Units of V floats per thread in the elementwise passes of batchnorm and GroupNorm:
/// gpu_tuning().elem_units, else 4. One float4 per thread leaves an SM at most 2048 x 16 B = 32 KB
/// of loads in flight, about what an H100's loaded latency (~1 us) times its share of the HBM rate
/// (~23 GB/s per SM) needs, with nothing to spare while threads retire and blocks start; four units
/// per thread, all loaded before any is computed, give four times that.
inline int elem_units() { return gpu_tuning().elem_units == 1 ? 1 : 4; }

/// Calls f(std::integral_constant<int, K>) with K = elem_units().
template <class F>
void with_units(F&& f) {
    if (elem_units() == 1) f(std::integral_constant<int, 1>{});
    else f(std::integral_constant<int, 4>{});
}

/// Blocks of kGridThreads threads for an elementwise pass over nu units, K per thread.
inline unsigned unit_blocks(size_t nu, int K) { return grid_blocks((nu + K - 1) / K); }

/// The elementwise passes' loop over units [0, n) (n < 2^31), K per thread: a block's tile is K *
/// blockDim.x consecutive units, of which thread t takes t, t + blockDim.x, ..., t + (K-1) blockDim.x
/// (each of the K accesses coalesced across the warp); f(std::integral_constant<int, K>, idx) gets
/// the K unit indices so that it can issue all its loads before any store, and a last, partial tile
/// goes one unit at a time (integral_constant<int, 1>). Tiles are visited last first, grid-stride:
/// the pass after a reduction over the same tensor starts on what it read last, still in the L2.
template <int K, class F>
__device__ __forceinline__ void grid_units_rev(uint32_t n, F&& f) {
    const uint32_t B = blockDim.x, T = K * B, tiles = (n + T - 1) / T;
    for (uint32_t tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
        const uint32_t u = (tiles - 1 - tile) * T + threadIdx.x;
        if (u + (K - 1) * B < n) {
            uint32_t idx[K];
#pragma unroll
            for (int k = 0; k < K; ++k) idx[k] = u + k * B;
            f(std::integral_constant<int, K>{}, idx);
        } else {
            for (uint32_t k = 0; k < static_cast<uint32_t>(K); ++k) {
                const uint32_t i = u + k * B;
                if (i < n) f(std::integral_constant<int, 1>{}, &i);
            }
        }
    }
}

/// V consecutive floats (V = 1, 2 or 4) to or from memory in one access: p is 4V-byte aligned.
template <int V>
__device__ __forceinline__ void load_vec(const float* p, float* v) {
    if constexpr (V == 4) {
        const float4 t = *reinterpret_cast<const float4*>(p);
        v[0] = t.x, v[1] = t.y, v[2] = t.z, v[3] = t.w;
    } else if constexpr (V == 2) {
        const float2 t = *reinterpret_cast<const float2*>(p);
        v[0] = t.x, v[1] = t.y;
    } else {
        static_assert(V == 1, "V is 1, 2 or 4");
        v[0] = *p;
    }
}
template <int V>
__device__ __forceinline__ void store_vec(float* p, const float* v) {
    if constexpr (V == 4) {
        *reinterpret_cast<float4*>(p) = make_float4(v[0], v[1], v[2], v[3]);
    } else if constexpr (V == 2) {
        *reinterpret_cast<float2*>(p) = make_float2(v[0], v[1]);
    } else {
        static_assert(V == 1, "V is 1, 2 or 4");
        *p = v[0];
    }
}

/// The K units of V floats at unit offsets off[0..K) of p into v[0..K*V), all loads issued first.
template <int K, int V, class I>
__device__ __forceinline__ void load_units(const float* p, const I* off, float* v) {
#pragma unroll
    for (int k = 0; k < K; ++k) load_vec<V>(p + off[k] * V, v + k * V);
}

/// v = gis (v - mu) + b for V values: the normalize step gamma inv_std (x - mean) + beta with
/// gis = gamma * inv_std.
template <int V>
__device__ __forceinline__ void affine_vec(float* v, float mu, float gis, float b) {
#pragma unroll
    for (int j = 0; j < V; ++j) v[j] = gis * (v[j] - mu) + b;
}

/// True when every pointer is a multiple of `bytes`.
inline bool aligned(std::initializer_list<const void*> ptrs, uintptr_t bytes) {
    for (const void* p : ptrs)
        if (reinterpret_cast<uintptr_t>(p) % bytes) return false;
    return true;
}

/// True when per-plane runs of S floats can be moved as float4: S % 4 == 0 and every pointer is
/// 16-byte aligned (then 4 consecutive elements from a multiple of 4 share their plane).
inline bool vec4_ok(int S, std::initializer_list<const void*> ptrs) { return S % 4 == 0 && aligned(ptrs, 16); }

/// Calls f(std::integral_constant<int, V>) with V = 4 when v4, else 1.
template <class F>
void with_vec(bool v4, F&& f) {
    if (v4) f(std::integral_constant<int, 4>{});
    else f(std::integral_constant<int, 1>{});
}

/// Count, mean and sum of squared deviations (M2) of a set of values, in float.
struct Welford {
    float n = 0.f, mean = 0.f, m2 = 0.f;
    __device__ void add(float x) {
        n += 1.f;
        const float d = x - mean;
        mean += d / n;
        m2 += d * (x - mean);
    }
    /// Adds K values: when K is a multiple of 4 (the V-wide loads of four units that a thread has
    /// in flight), their own mean and M2 by two passes over the registers (four partial sums each,
    /// pairwise at the end), then one merge: one division per K values instead of one per value,
    /// which keeps the statistics pass memory-bound rather than bound by division sequences.
    template <int K>
    __device__ void add_all(const float (&v)[K]) {
        if constexpr (K % 4 == 0) {
            float s[4] = {0.f, 0.f, 0.f, 0.f};
#pragma unroll
            for (int i = 0; i < K; ++i) s[i % 4] += v[i];
            const float m = ((s[0] + s[1]) + (s[2] + s[3])) * (1.f / K);
            float q[4] = {0.f, 0.f, 0.f, 0.f};
#pragma unroll
            for (int i = 0; i < K; ++i) q[i % 4] += (v[i] - m) * (v[i] - m);
            merge(Welford{static_cast<float>(K), m, (q[0] + q[1]) + (q[2] + q[3])});
        } else {
#pragma unroll
            for (int i = 0; i < K; ++i) add(v[i]);
        }
    }
    /// Chan's merge: delta = mean_b - mean_a, M2 = M2_a + M2_b + delta^2 n_a n_b / n (one division).
    __host__ __device__ void merge(const Welford& o) {
        if (o.n == 0.f) return;
        if (n == 0.f) {
            *this = o;
            return;
        }
        const float t = n + o.n, d = o.mean - mean, wb = o.n / t;
        mean += d * wb;
        m2 += o.m2 + d * d * (n * wb);
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

/// Merges the Welford states of the warp's 32 lanes; the result is valid in lane 0. All 32 lanes
/// must call it.
__device__ inline Welford warp_merge(Welford w) {
    for (int o = 16; o > 0; o >>= 1) w.merge(shfl_down(w, o));
    return w;
}

/// Merges the Welford states of all threads of the block; the result is valid in thread 0.
/// Every thread of the block must call it.
__device__ inline Welford block_merge(Welford w) {
    DN_SHARED(Welford, sh, kReduceThreads / 32);
    w = warp_merge(w);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) sh[warp] = w;
    __syncthreads();
    if (warp == 0) w = warp_merge(lane < static_cast<int>(blockDim.x >> 5) ? sh[lane] : Welford{});
    __syncthreads();
    return w;
}

constexpr int kSetThreads = 128;  ///< threads per block of the kernels that give each set a warp

/// Blocks of kSetThreads threads for a warp per set over `sets` sets.
inline unsigned set_blocks(int sets) { return static_cast<unsigned>((sets + kSetThreads / 32 - 1) / (kSetThreads / 32)); }

/// The set of this thread's warp in a launch of set_blocks(sets) blocks of kSetThreads threads.
__device__ inline int warp_set() { return static_cast<int>(blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5)); }

/// The P partial Welford states (count, mean, M2) of set q, stored at part[(q*P + p)*3], merged
/// by one warp: lane l loads p = l, l + 32, ... (all loads in flight together), then five rounds
/// of shuffles; the result is valid in lane 0. All 32 lanes must call it. It replaces a loop of P
/// dependent merges, each waiting for its load.
__device__ inline Welford warp_merge_parts(const float* part, size_t q, int P) {
    Welford w;
    for (int p = threadIdx.x & 31; p < P; p += 32) {
        const float* o = part + (q * P + p) * 3;
        w.merge(Welford{o[0], o[1], o[2]});
    }
    return warp_merge(w);
}

/// Calls f(std::integral_constant<int, r>, off) for the r in 1..3 given at run time (nothing for
/// 0): the last, partial group of a thread's units in walk_channel / walk_range, in one call so
/// that their loads are in flight together (one round trip to memory instead of r).
template <class F>
__device__ __forceinline__ void walk_rest(int r, const size_t* off, F&& f) {
    if (r == 3) f(std::integral_constant<int, 3>{}, off);
    else if (r == 2) f(std::integral_constant<int, 2>{}, off);
    else if (r == 1) f(std::integral_constant<int, 1>{}, off);
}

/// Visits the units of channel c of an NCHW tensor that this thread owns among [u0, u1) (thread t
/// owns u0 + t, u0 + t + blockDim.x, ...), in the value order of ChannelWalk with plane size Su: four
/// at a time, f(std::integral_constant<int, 4>, off) with the four unit offsets in off[0..3] (so the
/// caller issues their loads together), then the last r < 4 in one call
/// (integral_constant<int, r>).
template <class F>
__device__ __forceinline__ void walk_channel(size_t u0, size_t u1, int C, int c, int Su, F&& f) {
    const uint32_t B = blockDim.x;
    size_t u = u0 + threadIdx.x, off[4];
    ChannelWalk it(u, C, c, Su, B);
    for (; u + 3 * B < u1; u += 4 * B) {
#pragma unroll
        for (int k = 0; k < 4; ++k) {
            off[k] = it.off;
            it.next();
        }
        f(std::integral_constant<int, 4>{}, off);
    }
    const int r = (u < u1) + (u + B < u1) + (u + 2 * B < u1);
#pragma unroll
    for (int k = 0; k < 3; ++k) {  // constant indices: off stays in registers
        if (k < r) {
            off[k] = it.off;
            it.next();
        }
    }
    walk_rest(r, off, f);
}

/// walk_channel for a contiguous range walked by a team of `stride` threads: this thread (`lane` of
/// the team) takes units u0 + lane, u0 + lane + stride, ... < u1, four at a time, then the last
/// r < 4 in one call; f gets the unit indices.
template <class F>
__device__ __forceinline__ void walk_strided(size_t u0, size_t u1, unsigned lane, unsigned stride, F&& f) {
    const size_t B = stride;
    size_t u = u0 + lane, off[4];
    for (; u + 3 * B < u1; u += 4 * B) {
#pragma unroll
        for (int k = 0; k < 4; ++k) off[k] = u + k * B;
        f(std::integral_constant<int, 4>{}, off);
    }
    const int r = (u < u1) + (u + B < u1) + (u + 2 * B < u1);
#pragma unroll
    for (int k = 0; k < 3; ++k) off[k] = u + k * B;  // those past r unused
    walk_rest(r, off, f);
}

/// walk_strided by the whole block: thread t takes u0 + t, u0 + t + blockDim.x, ... < u1.
template <class F>
__device__ __forceinline__ void walk_range(size_t u0, size_t u1, F&& f) {
    walk_strided(u0, u1, threadIdx.x, blockDim.x, f);
}

/// The sum of v over the warp's 32 lanes, in every lane (all 32 must call it); float or double.
template <class T>
__device__ inline T warp_sum(T v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    return __shfl_sync(0xffffffffu, v, 0);
}

/// The sum of v over the block's threads (blockDim.x a multiple of 32), valid in thread 0; float
/// or double. Every thread of the block must call it.
template <class T>
__device__ inline T block_sum(T v) {
    DN_SHARED(T, part, 32);
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) part[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < static_cast<int>(blockDim.x >> 5) ? part[lane] : T(0);
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    }
    __syncthreads();
    return v;
}

/// Block-wide sums of a and b; the results are valid in thread 0. Every thread must call it.
__device__ inline void block_sum2(float& a, float& b) {
    DN_SHARED(float, sa, kReduceThreads / 32);
    DN_SHARED(float, sb, kReduceThreads / 32);
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
