// The CUDA runtime API that darknet uses, on the host, for the GPU build run on the CPU
// (`make GPU=emu`, `make test`): device memory is host memory, every call is synchronous and
// succeeds unless the host runs out of memory, and one "device" is present. Kernels run through
// tests/cuda_emu.hpp (each CUDA thread a fiber). Only what src/ calls is here.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "../cuda_emu.hpp"

using cudaError_t = int;
constexpr cudaError_t cudaSuccess = 0;
constexpr cudaError_t cudaErrorMemoryAllocation = 2;
using cudaStream_t = void*;
enum cudaMemcpyKind { cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice };

inline const char* cudaGetErrorString(cudaError_t e) { return e == cudaSuccess ? "no error" : "out of host memory"; }
inline cudaError_t cudaGetLastError() { return cudaSuccess; }

/// 256-byte aligned, as cudaMalloc's. A device's fresh memory holds whatever was there; here every
/// byte is 0xff (a float NaN, an int -1), so that a value read before it is written shows in the
/// results instead of passing as the zero a fresh host page would give.
inline cudaError_t cudaMalloc(void** p, size_t bytes) {
    const size_t rounded = (bytes + 255) / 256 * 256;
    *p = bytes ? std::aligned_alloc(256, rounded) : nullptr;
    if (*p) std::memset(*p, 0xff, rounded);
    return *p || !bytes ? cudaSuccess : cudaErrorMemoryAllocation;
}
template <class T>
cudaError_t cudaMalloc(T** p, size_t bytes) {
    return cudaMalloc(reinterpret_cast<void**>(p), bytes);
}
inline cudaError_t cudaFree(void* p) {
    std::free(p);
    return cudaSuccess;
}
inline cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind) {
    if (bytes) std::memmove(dst, src, bytes);
    return cudaSuccess;
}
inline cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind k, cudaStream_t) {
    return cudaMemcpy(dst, src, bytes, k);
}
inline cudaError_t cudaMemsetAsync(void* p, int v, size_t bytes, cudaStream_t) {
    if (bytes) std::memset(p, v, bytes);
    return cudaSuccess;
}

inline cudaError_t cudaGetDeviceCount(int* n) {
    *n = 1;
    return cudaSuccess;
}
inline cudaError_t cudaSetDevice(int) { return cudaSuccess; }
inline cudaError_t cudaGetDevice(int* d) {
    *d = 0;
    return cudaSuccess;
}
inline cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
struct cudaDeviceProp {
    char name[256];
    size_t totalGlobalMem;
    int major, minor;
};
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int) {
    std::strcpy(p->name, "CPU emulation of a CUDA device");
    p->totalGlobalMem = size_t(8) << 30;
    p->major = 9, p->minor = 0;
    return cudaSuccess;
}
inline cudaError_t cudaMemGetInfo(size_t* free_b, size_t* total) {
    *free_b = *total = size_t(8) << 30;
    return cudaSuccess;
}
