// Index arithmetic of the GPU kernels without an integer division per element: the per-channel
// elementwise kernels need c = (i / S) % C for every element and the per-channel reductions walk
// a channel's values across planes, and a 64-bit (or even 32-bit) integer division is a long
// instruction sequence on a GPU, enough to make a memory-bound kernel compute-bound.
// Host and device code: tests/test_gpu_index.cpp checks every helper on the host.
#pragma once

#include <cstddef>
#include <cstdint>

#include "darknet/error.hpp"

#ifdef __CUDACC__
#define DN_HD __host__ __device__
#else
#define DN_HD
#endif

namespace dn {

/// The per-channel elementwise kernels index with 32 bits: throws dn::Error naming the launcher
/// when a tensor has more than 2^31 - 1 elements.
inline void gpu_index_check(size_t n, const char* what) {
    if (n > 0x7fffffffu)
        fail("%s: a tensor of %zu elements exceeds the GPU kernels' 32-bit index range (2^31 - 1); use a smaller "
             "batch (more subdivisions)", what, n);
}

/// n / d and n % d for a fixed divisor 1 <= d <= 2^31 and any 0 <= n <= 2^31 - 1.
/// Granlund & Montgomery, "Division by invariant integers using multiplication" (PLDI 1994),
/// Sec. 4: with l = ceil(log2 d) and m = floor(2^32 (2^l - d) / d) + 1 (fits in 32 bits),
///   n / d = (umulhi(n, m) + n) >> l,
/// and umulhi(n, m) + n < 2^32 because umulhi(n, m) <= n < 2^31 (the same form as PyTorch's
/// IntDivider). The caller guarantees n < 2^31 (see gpu_index_check).
struct FastDivmod {
    uint32_t d = 1, mul = 0, shift = 0;

    FastDivmod() = default;
    /// Throws nothing; d is clamped to >= 1 (a zero divisor has no meaning for an index).
    explicit FastDivmod(uint32_t divisor) : d(divisor ? divisor : 1) {
        while (shift < 32 && (uint64_t(1) << shift) < d) ++shift;
        mul = static_cast<uint32_t>(((uint64_t(1) << 32) * ((uint64_t(1) << shift) - d)) / d + 1);
    }

    DN_HD uint32_t div(uint32_t n) const {
#ifdef __CUDA_ARCH__
        const uint32_t t = __umulhi(n, mul);
#else
        const uint32_t t = static_cast<uint32_t>((static_cast<uint64_t>(n) * mul) >> 32);
#endif
        return (t + n) >> shift;
    }
    DN_HD uint32_t mod(uint32_t n) const { return n - div(n) * d; }
};

/// Index arithmetic of an NCHW tensor [N][C][S] (S = H*W) by flat element index i < 2^31.
struct NchwIndex {
    FastDivmod S, C;
    NchwIndex() = default;
    NchwIndex(int channels, int spatial) : S(static_cast<uint32_t>(spatial)), C(static_cast<uint32_t>(channels)) {}
    DN_HD uint32_t plane(uint32_t i) const { return S.div(i); }             ///< n*C + c
    DN_HD uint32_t channel(uint32_t i) const { return C.mod(S.div(i)); }    ///< c
    /// Group (n*G + g) of element i for groups of `cpg` consecutive channels.
    DN_HD uint32_t group(uint32_t i, const FastDivmod& cpg, uint32_t G) const {
        const uint32_t nc = S.div(i), n = C.div(nc);
        return n * G + cpg.div(nc - n * C.d);
    }
};

/// The values of channel c of an NCHW tensor [N][C][S] in order m = 0 .. N*S-1, where value m is
/// element (m / S, c, m % S). A thread visits m, m + step, m + 2 step, ...: `next` advances the
/// element offset with an add and a compare instead of a division per value.
struct ChannelWalk {
    size_t off;   ///< element offset of the current value
    uint32_t s;   ///< its position in the plane
    uint32_t S, ds;       ///< plane size; step % S
    size_t jump, wrap;    ///< (step / S) * C * S + step % S; C * S - S
    DN_HD ChannelWalk(size_t m, int C, int c, int S_, uint32_t step) : S(static_cast<uint32_t>(S_)) {
        const size_t n = m / S, CS = static_cast<size_t>(C) * S;
        s = static_cast<uint32_t>(m - n * S);
        off = (n * C + c) * S + s;
        ds = step % S;
        jump = (step / S) * CS + ds;
        wrap = CS - S;
    }
    DN_HD void next() {
        s += ds;
        off += jump;
        if (s >= S) {
            s -= S;
            off += wrap;
        }
    }
};

}  // namespace dn
