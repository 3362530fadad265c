// Device management and memory (GPU=1), and the stubs of a CPU build.
#include "darknet/cuda.hpp"

#include "darknet/error.hpp"

#ifdef DN_GPU
#include <cublas_v2.h>
#include <cuda_runtime.h>
#ifdef DN_CUDNN
#include <cudnn.h>
#endif

#include "kernels/gpu.hpp"

namespace dn {

void cuda_check(cudaError_t e, const char* what, const char* file, int line) {
    if (e == cudaSuccess) return;
    fail("CUDA error %d (%s) in %s at %s:%d", static_cast<int>(e), cudaGetErrorString(e), what, file, line);
}

void cublas_check(int status, const char* what, const char* file, int line) {
    if (status == CUBLAS_STATUS_SUCCESS) return;
    fail("cuBLAS error %d in %s at %s:%d", status, what, file, line);
}

int gpu_count() {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();  // no driver or no device: clear the sticky error, report none
        return 0;
    }
    return n;
}

void gpu_set_device(int i) {
    const int n = gpu_count();
    if (n == 0) fail("no CUDA device is present (or the NVIDIA driver is not loaded); run without -i/-gpus to use the CPU");
    if (i < 0 || i >= n) fail("GPU index %d is out of range: this machine has %d CUDA device%s (0..%d)", i, n, n == 1 ? "" : "s", n - 1);
    DN_CUDA_CHECK(cudaSetDevice(i));
}

std::string gpu_describe(int i) {
    cudaDeviceProp p{};
    DN_CUDA_CHECK(cudaGetDeviceProperties(&p, i));
    return strfmt("%s, %.1f GiB, sm_%d%d", p.name, p.totalGlobalMem / 1073741824.0, p.major, p.minor);
}

void gpu_synchronize() { DN_CUDA_CHECK(cudaDeviceSynchronize()); }

void* gpu_malloc(size_t bytes) {
    void* p = nullptr;
    const cudaError_t e = cudaMalloc(&p, bytes);
    if (e != cudaSuccess) {
        cudaGetLastError();
        size_t free_b = 0, total = 0;
        cudaMemGetInfo(&free_b, &total);
        fail("cannot allocate %.1f MiB on the GPU (%s; %.1f of %.1f MiB free)", bytes / 1048576.0, cudaGetErrorString(e),
             free_b / 1048576.0, total / 1048576.0);
    }
    return p;
}

void gpu_free(void* p) {
    if (p) cudaFree(p);
}
void gpu_memcpy_h2d(void* dst, const void* src, size_t bytes) { DN_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice)); }
void gpu_memcpy_d2h(void* dst, const void* src, size_t bytes) { DN_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost)); }
void gpu_memcpy_d2d(void* dst, const void* src, size_t bytes) {
    DN_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, 0));
}
void gpu_memset0(void* p, size_t bytes) { DN_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, 0)); }

// The launchers' scratch area (kernels/gpu.hpp): one per host thread, grown on demand.
float* gpu_scratch(size_t n) {
    static thread_local float* p = nullptr;
    static thread_local size_t have = 0;
    if (n > have) {
        if (p) cudaFree(p);
        p = nullptr;
        have = 0;
        DN_CUDA_CHECK(cudaMalloc(&p, n * sizeof(float)));
        have = n;
    }
    return p;
}

void copy_gpu(const float* x, float* y, size_t n) {
    if (n && x != y) DN_CUDA_CHECK(cudaMemcpyAsync(y, x, n * sizeof(float), cudaMemcpyDeviceToDevice, 0));
}

// One handle per device and thread would be needed for multi-GPU threads; the CLI drives one device.
cublasHandle_t blas_handle() {
    static thread_local cublasHandle_t h = nullptr;
    static thread_local int dev = -1;
    int d = 0;
    DN_CUDA_CHECK(cudaGetDevice(&d));
    if (!h || d != dev) {
        DN_CUBLAS_CHECK(cublasCreate(&h));
        dev = d;
    }
    return h;
}

// Row-major C = A B is column-major C^T = B^T A^T: swap the operands and their roles.
void gemm_gpu(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
              float beta, float* C, int ldc) {
    DN_CUBLAS_CHECK(cublasSgemm(blas_handle(), tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, N, M, K,
                                &alpha, B, ldb, A, lda, &beta, C, ldc));
}

#ifdef DN_CUDNN
void cudnn_check(int status, const char* what, const char* file, int line) {
    if (status == CUDNN_STATUS_SUCCESS) return;
    fail("cuDNN error %d (%s) in %s at %s:%d", status, cudnnGetErrorString(static_cast<cudnnStatus_t>(status)), what, file,
         line);
}

cudnnHandle_t cudnn_handle() {
    static thread_local cudnnHandle_t h = nullptr;
    static thread_local int dev = -1;
    int d = 0;
    DN_CUDA_CHECK(cudaGetDevice(&d));
    if (!h || d != dev) {
        DN_CUDNN_CHECK(cudnnCreate(&h));
        dev = d;
    }
    return h;
}
#endif

}  // namespace dn

#else  // CPU build

namespace dn {

namespace {
[[noreturn]] void no_gpu() { fail("this darknet was built without GPU support; rebuild with make GPU=1 (CUDNN=1)"); }
}  // namespace

int gpu_count() { return 0; }
void gpu_set_device(int) { no_gpu(); }
std::string gpu_describe(int) { no_gpu(); }
void gpu_synchronize() { no_gpu(); }
void* gpu_malloc(size_t) { no_gpu(); }
void gpu_free(void* p) {
    if (p) no_gpu();
}
void gpu_memcpy_h2d(void*, const void*, size_t) { no_gpu(); }
void gpu_memcpy_d2h(void*, const void*, size_t) { no_gpu(); }
void gpu_memcpy_d2d(void*, const void*, size_t) { no_gpu(); }
void gpu_memset0(void*, size_t) { no_gpu(); }

}  // namespace dn

#endif
