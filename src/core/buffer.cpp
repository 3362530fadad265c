#include "darknet/buffer.hpp"

#include <sys/mman.h>

#include <cstdlib>
#include <new>

namespace dn {

void* buffer_alloc(size_t bytes) {
    const size_t huge = size_t(2) << 20;
    const size_t align = bytes >= (size_t(4) << 20) ? huge : 64;
    const size_t rounded = (bytes + align - 1) / align * align;
    void* p = std::aligned_alloc(align, rounded);
    if (!p) throw std::bad_alloc();
    if (align == huge) madvise(p, rounded, MADV_HUGEPAGE);  // advisory: ignored where THP is off
    return p;
}

void buffer_free(void* p) { std::free(p); }

}  // namespace dn
