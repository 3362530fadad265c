// Index maps shared by a CPU layer and its GPU kernels (host and device code), so that the two
// cannot drift apart: [reorg]'s permutation, [scale_channels]/[sam]'s broadcast, and the window
// span of [local_avgpool]. tests/test_gpu_emu_layers.cpp runs the kernels against the CPU layers.
#pragma once

#include <cstddef>

#include "kernels/gpu_index.hpp"  // DN_HD

namespace dn {

/// Darknet's reorg_cpu mapping (reorg_layer.hpp) over sizes w, h, c and stride s of a batch of
/// `batch` images: for input position (b, k, j, i) with c' = c/(s*s), k' = k mod c', o = k div c',
///   in  = i + w (j + h (k + c b)),   out = (i s + o mod s) + w s ((j s + o div s) + h s (k' + c' b)).
struct ReorgMap {
    int w = 1, h = 1, c = 1, s = 1, batch = 1;
    DN_HD size_t size() const { return static_cast<size_t>(w) * h * c * batch; }
    DN_HD size_t out(int b, int k, int j, int i) const {
        const int oc = c / (s * s), k2 = k % oc, o = k / oc;
        return (static_cast<size_t>(i) * s + o % s) +
               static_cast<size_t>(w) * s * ((static_cast<size_t>(j) * s + o / s) + static_cast<size_t>(h) * s * (k2 + static_cast<size_t>(oc) * b));
    }
    /// out() of the flat input index in (as above).
    DN_HD size_t out_of(size_t in) const {
        const int i = static_cast<int>(in % w), j = static_cast<int>((in / w) % h);
        const size_t kb = in / (static_cast<size_t>(w) * h);
        return out(static_cast<int>(kb / c), static_cast<int>(kb % c), j, i);
    }
};

/// [scale_channels] / [sam]'s broadcast of the scales p onto a = [N, C, S]: the index into p of
/// element i of a. Channel: p is [N, C] (k = i / S); Spatial (scale_wh=1): p is [N, S]
/// (k = (i / (C S)) S + i mod S); Elementwise ([sam]): p is [N, C, S] (k = i).
struct ScaleMap {
    enum Mode { Channel, Spatial, Elementwise };
    Mode mode = Channel;
    size_t S = 1, CS = 1;
    DN_HD size_t operator()(size_t i) const {
        return mode == Elementwise ? i : mode == Channel ? i / S : (i / CS) * S + i % S;
    }
};

/// The part [lo, hi) of pooling window `o` (along one axis: window start off + o * stride,
/// `size` wide) inside an axis of length `len`; empty (lo >= hi) for a window wholly in the padding.
DN_HD inline void pool_span(int off, int stride, int size, int o, int len, int& lo, int& hi) {
    const int a = off + o * stride, b = a + size;
    lo = a < 0 ? 0 : a;
    hi = b > len ? len : b;
}

/// The windows o that contain position x (0 <= x < len) along that axis: o in [first, last]
/// (empty when first > last). off <= 0.
DN_HD inline void pool_windows_of(int off, int stride, int size, int x, int n_out, int& first, int& last) {
    const int t = x - off;  // >= 0
    first = t - size + stride > 0 ? (t - size + stride) / stride : 0;
    last = t / stride < n_out - 1 ? t / stride : n_out - 1;
}

}  // namespace dn
