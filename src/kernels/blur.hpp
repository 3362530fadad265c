// The fixed low-pass filter of AlexeyAB's antialiasing=1|2 (Zhang 2019, "Making Convolutional
// Networks Shift-Invariant Again", ICML, the "BlurPool" of Sec. 3): a depthwise convolution of every
// plane with a constant kernel, at the layer's stride. antialiasing=1: the 3x3 binomial
// [1 2 1]^T [1 2 1] / 16 with padding 1; antialiasing=2: the 2x2 box / 4 with no padding (Darknet's
// make_convolutional_layer / make_maxpool_layer "AA" input_layer). Host and device code: the CPU
// loops (layers/antialias.hpp) and the GPU kernels (layers_gpu.cu) both call these per element.
#pragma once

#include <cstddef>

#include "kernels/gpu_index.hpp"  // DN_HD

namespace dn {

/// One plane's blur: input w x h, output ow x oh; kernel k x k (3 or 2), padding pad, strides sx, sy.
struct BlurGeom {
    int w = 0, h = 0, ow = 0, oh = 0;
    int k = 3, pad = 1, sx = 1, sy = 1;
    /// Darknet's convolution size (in + 2 pad - k) / stride + 1 (64-bit: a cfg's huge size is caught
    /// by the caller instead of wrapping around).
    static long long out_size(long long in, int k, int pad, int stride) { return (in + 2LL * pad - k) / stride + 1; }
};

/// The kernel's tap (i, j): (1, 2, 1)_i (1, 2, 1)_j / 16 for k = 3, 1/4 for k = 2. Powers of two, so
/// the taps are exact in float32.
template <class T>
DN_HD inline T blur_tap(int k, int i, int j) {
    if (k == 2) return T(0.25);
    return T((i == 1 ? 2 : 1) * (j == 1 ? 2 : 1)) / T(16);
}

/// Forward, output (oy, ox) of one plane: y = sum_{i,j} t_ij x[oy sy - pad + i][ox sx - pad + j],
/// the taps outside the plane reading zero.
template <class T>
DN_HD inline T blur_value(const BlurGeom& g, const T* in, int oy, int ox) {
    T s = T(0);
    for (int i = 0; i < g.k; ++i) {
        const int y = oy * g.sy - g.pad + i;
        if (y < 0 || y >= g.h) continue;
        for (int j = 0; j < g.k; ++j) {
            const int x = ox * g.sx - g.pad + j;
            if (x >= 0 && x < g.w) s += blur_tap<T>(g.k, i, j) * in[static_cast<size_t>(y) * g.w + x];
        }
    }
    return s;
}

// Backward. y is linear in x with dy_o/dx_p = t_ij exactly when p = (oy sy - pad + i, ox sx - pad + j),
// so dL/dx[y][x] = sum over the taps (i, j) and the outputs o = (oy, ox) with oy sy = y + pad - i and
// ox sx = x + pad - j (divisible, inside the output) of t_ij dL/dy_o: a gather per input value, the
// sum of at most k^2 terms.
/// dL/dx at (y, x) of one plane from the plane's dL/dy d.
template <class T>
DN_HD inline T blur_input_grad(const BlurGeom& g, const T* d, int y, int x) {
    T s = T(0);
    for (int i = 0; i < g.k; ++i) {
        const int ty = y + g.pad - i;
        if (ty < 0 || ty % g.sy) continue;
        const int oy = ty / g.sy;
        if (oy >= g.oh) continue;
        for (int j = 0; j < g.k; ++j) {
            const int tx = x + g.pad - j;
            if (tx < 0 || tx % g.sx) continue;
            const int ox = tx / g.sx;
            if (ox < g.ow) s += blur_tap<T>(g.k, i, j) * d[static_cast<size_t>(oy) * g.ow + ox];
        }
    }
    return s;
}

}  // namespace dn
