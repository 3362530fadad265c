#include "darknet/buffer.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <new>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14
#endif

namespace dn {

void prefault(void* p, size_t bytes) {
    static const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    const uintptr_t a = (reinterpret_cast<uintptr_t>(p) + page - 1) / page * page;
    const uintptr_t b = (reinterpret_cast<uintptr_t>(p) + bytes) / page * page;
    if (b > a) madvise(reinterpret_cast<void*>(a), b - a, MADV_POPULATE_WRITE);  // advisory: older kernels say EINVAL
}

void* buffer_alloc(size_t bytes) {
    const size_t huge = size_t(2) << 20;
    const size_t align = bytes >= (size_t(4) << 20) ? huge : 64;
    const size_t rounded = (bytes + align - 1) / align * align;
    void* p = std::aligned_alloc(align, rounded);
    if (!p) throw std::bad_alloc();
    if (align == huge) madvise(p, rounded, MADV_HUGEPAGE);  // advisory: ignored where THP is off
    if (bytes >= (size_t(8) << 10)) prefault(p, rounded);
    return p;
}

void buffer_free(void* p) { std::free(p); }

}  // namespace dn
