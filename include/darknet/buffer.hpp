// Buffer<T>: the array type of layer tensors. Either owns aligned, zero-initialized memory or is a
// non-owning view (into the network's inference arena). Offers the std::vector subset the layers use.
#pragma once

#include <cstddef>
#include <utility>

namespace dn {

/// Allocates n bytes aligned to 64 bytes; allocations of 4 MiB and more are 2 MiB aligned and
/// advised for transparent huge pages (far fewer page faults on first touch). Throws std::bad_alloc.
/// Allocations of 8 KiB and more are populated up front (prefault): one madvise call instead of a
/// page fault per 4 KiB page on first touch, which costs ~10 us each in a virtual machine.
void* buffer_alloc(size_t bytes);
void buffer_free(void* p);
/// Maps the whole pages inside [p, p + bytes) now (MADV_POPULATE_WRITE); a no-op where the kernel
/// lacks it (before Linux 5.14). The contents are unchanged.
void prefault(void* p, size_t bytes);

template <class T>
class Buffer {
public:
    Buffer() = default;
    explicit Buffer(size_t n, T v = T(0)) { assign(n, v); }
    Buffer(const Buffer& o) { copy_from(o); }
    Buffer(Buffer&& o) noexcept { swap(o); }
    Buffer& operator=(const Buffer& o) {
        if (this != &o) copy_from(o);
        return *this;
    }
    Buffer& operator=(Buffer&& o) noexcept {
        swap(o);
        return *this;
    }
    ~Buffer() { release(); }

    /// Owns n elements, all set to v (reuses the allocation when it is already n long and owned).
    void assign(size_t n, T v) {
        if (!(owned_ && n == size_)) {
            release();
            if (n) data_ = static_cast<T*>(buffer_alloc(n * sizeof(T)));
            size_ = n;
            owned_ = true;
        }
        for (size_t i = 0; i < n; ++i) data_[i] = v;
    }
    /// Owns a copy of [first, last).
    template <class It>
    void assign(It first, It last) {
        size_t n = static_cast<size_t>(last - first);
        if (!(owned_ && n == size_)) {
            release();
            if (n) data_ = static_cast<T*>(buffer_alloc(n * sizeof(T)));
            size_ = n;
            owned_ = true;
        }
        for (size_t i = 0; i < n; ++i) data_[i] = static_cast<T>(first[i]);
    }
    /// Owns n elements; keeps the values of a previous owned allocation of the same size.
    void resize(size_t n) {
        if (owned_ && n == size_) return;
        assign(n, T(0));
    }
    /// Becomes a view of n elements at p (not freed by this Buffer).
    void view(T* p, size_t n) {
        release();
        data_ = p;
        size_ = n;
        owned_ = false;
    }
    void clear() { release(); }

    T* data() { return data_; }
    const T* data() const { return data_; }
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    bool owned() const { return owned_; }
    T& operator[](size_t i) { return data_[i]; }
    const T& operator[](size_t i) const { return data_[i]; }
    T* begin() { return data_; }
    T* end() { return data_ + size_; }
    const T* begin() const { return data_; }
    const T* end() const { return data_ + size_; }
    void swap(Buffer& o) noexcept {
        std::swap(data_, o.data_);
        std::swap(size_, o.size_);
        std::swap(owned_, o.owned_);
    }

private:
    void release() {
        if (owned_ && data_) buffer_free(data_);
        data_ = nullptr;
        size_ = 0;
        owned_ = true;
    }
    void copy_from(const Buffer& o) { assign(o.begin(), o.end()); }

    T* data_ = nullptr;
    size_t size_ = 0;
    bool owned_ = true;
};

}  // namespace dn
