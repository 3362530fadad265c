// CUDA devices and device memory. Declared in every build; in a CPU build (GPU=0) gpu_count()
// is 0 and the rest throws dn::Error saying the build has no GPU support.
#pragma once

#include <cstddef>
#include <string>

namespace dn {

/// CUDA devices visible to this process (0 in a CPU build or without a driver/device).
int gpu_count();
/// Makes device i current for the calling thread. Throws dn::Error when the build has no GPU
/// support, when no device is present, or when i is not in [0, gpu_count()).
void gpu_set_device(int i);
/// "NVIDIA H100 80GB HBM3, 79.1 GiB, sm_90" for device i.
std::string gpu_describe(int i);
/// Waits for all work queued on the current device; throws dn::Error on an asynchronous fault.
void gpu_synchronize();

/// Raw device memory (bytes), for DeviceBuffer.
void* gpu_malloc(size_t bytes);
void gpu_free(void* p);
void gpu_memcpy_h2d(void* dst, const void* src, size_t bytes);
void gpu_memcpy_d2h(void* dst, const void* src, size_t bytes);
void gpu_memcpy_d2d(void* dst, const void* src, size_t bytes);
void gpu_memset0(void* p, size_t bytes);

/// An array of n T on the current device (cudaMalloc), owning and movable. Contents are zero after
/// resize() grows it. Throws dn::Error (with the size requested) when the device is out of memory.
template <class T>
class DeviceBuffer {
public:
    DeviceBuffer() = default;
    explicit DeviceBuffer(size_t n) { resize(n); }
    ~DeviceBuffer() { gpu_free(p_); }
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
    DeviceBuffer(DeviceBuffer&& o) noexcept : p_(o.p_), n_(o.n_) { o.p_ = nullptr, o.n_ = 0; }
    DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
        std::swap(p_, o.p_);
        std::swap(n_, o.n_);
        return *this;
    }
    /// Exactly n elements (reallocates when the size changes; then zeroed).
    void resize(size_t n) {
        if (n == n_) return;
        gpu_free(p_);
        p_ = nullptr;
        n_ = 0;
        if (n) p_ = static_cast<T*>(gpu_malloc(n * sizeof(T)));
        n_ = n;
        if (n) gpu_memset0(p_, n * sizeof(T));
    }
    /// At least n elements (grows only; workspaces).
    void reserve(size_t n) {
        if (n > n_) resize(n);
    }
    void zero() {
        if (n_) gpu_memset0(p_, n_ * sizeof(T));
    }
    /// Resizes to n and copies n host values in.
    void push(const T* host, size_t n) {
        resize(n);
        if (n) gpu_memcpy_h2d(p_, host, n * sizeof(T));
    }
    /// Copies the first n values out (n <= size()).
    void pull(T* host, size_t n) const {
        if (n) gpu_memcpy_d2h(host, p_, n * sizeof(T));
    }
    T* data() { return p_; }
    const T* data() const { return p_; }
    size_t size() const { return n_; }
    bool empty() const { return n_ == 0; }

private:
    T* p_ = nullptr;
    size_t n_ = 0;
};

}  // namespace dn
