// A small CUDA emulation that runs our GPU kernels (src/kernels/*.cu: the normalization kernels,
// activations, the elementwise/im2col kernels and the data-movement layers') on the CPU, so that a
// build without a GPU (CI) still executes every line of them. Two uses:
//  - CPU builds: tests/test_gpu_emu_*.cpp include one .cu file each after this header and compare
//    its launchers with the CPU specification;
//  - the GPU build run on the CPU (`make GPU=emu`, part of `make test`): tests/emu/cuda_runtime.h
//    and cublas_v2.h stand in for CUDA's, include this header, and the whole GPU code path (layers'
//    forward_gpu/backward_gpu/update_gpu, the network runner, the CLI's -i 0) runs on the host; the
//    device agreement tests (tests/test_gpu_agreement.cpp) run against it.
//
// Model: a launch (DN_LAUNCH) runs the grid's blocks in order; each CUDA thread of a block is a
// fiber (ucontext) that runs until it finishes or waits at a barrier, and a barrier opens once all
// of the block's (or warp's) live threads wait at it. Hence shared memory (DN_SHARED) is an area
// of the running block, NaN when the block starts; `__syncthreads()` is a barrier of the block's
// threads and `__shfl_down_sync` / `__shfl_sync` a two-phase exchange between the 32 threads of a
// warp (each writes its value, waits for the warp, reads its partner's, waits again); device
// memory is host memory. A barrier that some threads never reach aborts with a message (a
// deadlock on the device). Not modelled: timing, the memory model beyond barriers, atomics,
// clusters, the registers a launch may take, cuDNN; those are the device tests' job
// (tests/test_gpu_agreement.cpp on a GPU).
// A device runs blocks, and the warps of a block between barriers, in no fixed order. A kernel
// whose result depends on that order (one block reading what another writes in the same launch,
// one thread reading another's value with no barrier between) gives the ordered answer here only
// in one direction: with DN_EMU_ORDER=reverse (or set_order), blocks run last first and a block's
// threads from the last one down, so that `make test` runs the emulated kernels in both orders.
#pragma once

#if defined(DN_GPU) && !defined(DN_GPU_EMU)
#error "tests/cuda_emu.hpp is for CPU builds and GPU=emu; GPU builds run the real kernels"
#endif

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>


#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static  // not reset between blocks: the kernels declare theirs with DN_SHARED

struct dim3 {
    unsigned x, y, z;
    dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct alignas(16) float4 {
    float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
struct alignas(8) float2 {
    float x, y;
};
inline float2 make_float2(float x, float y) { return {x, y}; }
// The device's special-function unit approximates: rsqrt.approx (rsqrtf) has a relative error up
// to 2^-22.9, __powf (ex2/lg2.approx) and __fdividef (rcp.approx) a few ulps. The emulation gives
// the exact value moved by -2..+2 ulps, chosen from the arguments' bits (deterministic), so that
// the tests see the kind of error a device makes rather than a correctly rounded result.
inline float emu_ulps(float exact, float a, float b = 0.f) {
    uint32_t ua, ub;
    std::memcpy(&ua, &a, 4);
    std::memcpy(&ub, &b, 4);
    const int k = static_cast<int>(((ua ^ (ub * 0x9e3779b9u)) * 2654435761u) >> 29) % 5 - 2;
    const float toward = k < 0 ? -INFINITY : INFINITY;
    for (int i = 0; i < (k < 0 ? -k : k) && std::isfinite(exact); ++i) exact = std::nextafter(exact, toward);
    return exact;
}
inline float rsqrtf(float v) { return emu_ulps(1.f / std::sqrt(v), v); }
inline float __powf(float x, float y) { return emu_ulps(std::pow(x, y), x, y); }
inline float __fdividef(float x, float y) { return emu_ulps(x / y, x, y); }
// CUDA's device min/max of two values of one type.
template <class T>
inline T min(T a, T b) {
    return b < a ? b : a;
}
template <class T>
inline T max(T a, T b) {
    return a < b ? b : a;
}

namespace dn_emu {

struct Index3 {
    unsigned x = 0, y = 0, z = 0;
};
extern thread_local Index3 thread_idx, block_idx;
extern thread_local dim3 block_dim, grid_dim;

/// The order blocks run in, and a block's threads between barriers: from the first (Forward) or
/// from the last (Reverse).
enum class Order { Forward, Reverse };
/// The current order: set_order's, else DN_EMU_ORDER's (forward or reverse; another value
/// aborts with a message), else Forward.
Order order();
void set_order(Order o);
/// Runs body once per thread of every block of the grid (blocks in order(), threads concurrently).
/// Aborts with a message on a launch a device refuses: an empty grid or block, more than 1024
/// threads a block, a grid dimension past the device's limit.
void run_grid(dim3 grid, dim3 block, const std::function<void()>& body);
/// __syncthreads(): waits for every thread of the block.
void syncthreads();
/// The value lane + o of this warp passed to the same exchange (all of the warp's live threads
/// take part); `v` itself where lane + o >= 32. Aborts with a message where lane + o < 32 names a
/// thread that has exited or lies past the block's end (undefined on a device).
double shfl_down_slot(double v, int o);
/// __shfl_down_sync(full mask, v, o): v of lane + o, or v itself where lane + o >= 32. Values go
/// through a double, exactly for float, double and 32-bit integers.
template <class T>
T shfl_down(T v, int o) {
    return static_cast<T>(shfl_down_slot(static_cast<double>(v), o));
}
/// The value lane src of this warp passed to the same exchange; `v` itself where src >= 32;
/// aborts like shfl_down_slot where lane src has exited or does not exist.
double shfl_slot(double v, int src);
/// __shfl_sync(full mask, v, src): v of lane src.
template <class T>
T shfl(T v, int src) {
    return static_cast<T>(shfl_slot(static_cast<double>(v), src));
}

/// The area of the running block for the DN_SHARED declaration `key`: `bytes` long, aligned to
/// `align`, every byte 0xff (a float NaN) when the block first asks for it, since a block's shared
/// memory holds nothing defined when it starts. Aborts past 48 KB a block (the static limit).
void* shared_slot(const void* key, size_t bytes, size_t align);

template <class K>
auto launch(dim3 grid, dim3 block, K kernel) {
    return [grid, block, kernel](auto... args) { run_grid(grid, block, [&] { kernel(args...); }); };
}

}  // namespace dn_emu

#define threadIdx (::dn_emu::thread_idx)
#define blockIdx (::dn_emu::block_idx)
#define blockDim (::dn_emu::block_dim)
#define gridDim (::dn_emu::grid_dim)
#define __syncthreads() ::dn_emu::syncthreads()
#define __shfl_down_sync(mask, v, o) ::dn_emu::shfl_down((v), (o))
#define __shfl_sync(mask, v, src) ::dn_emu::shfl((v), (src))
#define DN_LAUNCH(grid, block, ...) ::dn_emu::launch(dim3(grid), dim3(block), __VA_ARGS__)
// A static's address names the declaration (one per template instance too); every thread of the
// block gets the same area.
#define DN_SHARED(T, name, n)      \
    static char name##_dn_key = 0; \
    T(&name)[n] = *reinterpret_cast<T(*)[n]>(::dn_emu::shared_slot(&name##_dn_key, sizeof(T) * (n), alignof(T)))
#ifndef DN_GPU
// CPU builds: the runtime calls and check macros the launchers use (in GPU builds, kernels/gpu.hpp
// gives them).
#include "emu/cuda_runtime.h"
#define DN_KERNEL_CHECK() \
    do {                  \
    } while (0)
#define DN_CUDA_CHECK(x) static_cast<void>(x)
namespace dn {
/// A grow-only scratch area of at least n floats (host memory here), its first n NaN (all bits
/// set) on every call.
float* gpu_scratch(size_t n);
}  // namespace dn
#endif
