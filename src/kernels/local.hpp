// [local]: pjreddie's locally connected layer (YOLOv1), a convolution whose filters differ at
// every output position. Per-element math shared by local_layer.cpp and the GPU kernels
// (layers_gpu.cu), so that the CPU and the GPU cannot drift apart.
#pragma once

#include <cstddef>

#include "kernels/gpu_index.hpp"  // DN_HD

namespace dn {

/// Sizes of a [local] layer: input c x h x w, n filters of size x size at stride `stride` with
/// `pad` pixels of zero padding, output n x oh x ow. Weights [L][n][c][size][size] (L = oh*ow, one
/// filter bank per output position, pjreddie's layout), biases [n][L] (one per output value).
struct LocalGeom {
    int c = 0, h = 0, w = 0, n = 0, size = 1, stride = 1, pad = 0, oh = 0, ow = 0;
    DN_HD int K() const { return c * size * size; }
    DN_HD int L() const { return oh * ow; }
};

/// y[f][loc] of one image x [c][h][w], before the activation:
///   bias[f][loc] + sum_{c,ky,kx} W[loc][f][c][ky][kx] x[c][oy s - p + ky][ox s - p + kx].
template <class T>
DN_HD inline T local_value(const LocalGeom& g, const T* x, const T* W, const T* bias, int f, int loc) {
    const int oy = loc / g.ow, ox = loc % g.ow;
    const T* w = W + (static_cast<size_t>(loc) * g.n + f) * g.K();
    T s = bias[static_cast<size_t>(f) * g.L() + loc];
    for (int c = 0; c < g.c; ++c)
        for (int ky = 0; ky < g.size; ++ky) {
            const int iy = oy * g.stride - g.pad + ky;
            if (iy < 0 || iy >= g.h) continue;
            for (int kx = 0; kx < g.size; ++kx) {
                const int ix = ox * g.stride - g.pad + kx;
                if (ix < 0 || ix >= g.w) continue;
                s += w[(c * g.size + ky) * g.size + kx] * x[(static_cast<size_t>(c) * g.h + iy) * g.w + ix];
            }
        }
    return s;
}

/// dL/dW[loc][f][k] over the batch, k = (c size + ky) size + kx, given G = dL/dz [batch][n][L]:
///   sum_b G[b][f][loc] x_b[c][oy s - p + ky][ox s - p + kx]   (0 where that pixel is padding).
template <class T>
DN_HD inline T local_weight_grad(const LocalGeom& g, const T* x, const T* G, int batch, int loc, int f, int k) {
    const int kx = k % g.size, ky = (k / g.size) % g.size, c = k / (g.size * g.size);
    const int iy = (loc / g.ow) * g.stride - g.pad + ky, ix = (loc % g.ow) * g.stride - g.pad + kx;
    if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) return T(0);
    const size_t in_img = static_cast<size_t>(g.c) * g.h * g.w, out_img = static_cast<size_t>(g.n) * g.L();
    const size_t xi = (static_cast<size_t>(c) * g.h + iy) * g.w + ix, gi = static_cast<size_t>(f) * g.L() + loc;
    T s = 0;
    for (int b = 0; b < batch; ++b) s += G[b * out_img + gi] * x[b * in_img + xi];
    return s;
}

/// dL/dx[c][iy][ix] of one image, given G = dL/dz [n][L] of that image: a gather over the kernel
/// taps (ky, kx) whose output position oy = (iy + p - ky)/s, ox = (ix + p - kx)/s is whole and
/// inside the output, and the filters: sum G[f][loc] W[loc][f][c][ky][kx].
template <class T>
DN_HD inline T local_input_grad(const LocalGeom& g, const T* W, const T* G, int c, int iy, int ix) {
    T s = 0;
    for (int ky = 0; ky < g.size; ++ky) {
        const int ty = iy + g.pad - ky;
        if (ty < 0 || ty % g.stride) continue;
        const int oy = ty / g.stride;
        if (oy >= g.oh) continue;
        for (int kx = 0; kx < g.size; ++kx) {
            const int tx = ix + g.pad - kx;
            if (tx < 0 || tx % g.stride) continue;
            const int ox = tx / g.stride;
            if (ox >= g.ow) continue;
            const int loc = oy * g.ow + ox, k = (c * g.size + ky) * g.size + kx;
            for (int f = 0; f < g.n; ++f)
                s += G[static_cast<size_t>(f) * g.L() + loc] * W[(static_cast<size_t>(loc) * g.n + f) * g.K() + k];
        }
    }
    return s;
}

}  // namespace dn
