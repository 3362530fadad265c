// [crop]: pjreddie's input-augmentation layer (alexnet.cfg, vgg-16.cfg) as his GPU path computes
// it (crop_layer_kernels.cu, what Darknet's classifiers were trained with): per image, RGB levels
// (saturation and exposure in HSV, a per-channel shift), then a crop at a fractional offset, rotated
// about the input's center and mirrored, read with bilinear interpolation; the values mapped by
// scale * v + translate (2v - 1 unless noadjust=1). Host and device code: crop_layer.cpp runs it
// per element, the GPU kernels (layers_gpu.cu) a thread per element, so CPU and GPU cannot drift
// apart.
#pragma once

#include <cmath>
#include <cstddef>

#include "kernels/gpu_index.hpp"  // DN_HD

namespace dn {

/// One image's random draws of a [crop] forward (the identity but for the centered crop at
/// inference). Darknet's formulas, with u_i uniform in [0, 1): saturation s = u0 (sat - 1) + 1,
/// inverted when u1 > 1/2; exposure e likewise from u2, u3; offset (dw, dh) = ((w - ow) u4,
/// (h - oh) u5); flip when u6 > 1/2; angle (2 u7 - 1) * angle; shift_k = (u_{8+k} - 1/2) shift.
struct CropDraw {
    float dw = 0, dh = 0;                ///< the crop's top-left corner in the input, pixels (fractional)
    float cos_a = 1, sin_a = 0;          ///< rotation about the input's center (cx, cy) = (w/2, h/2)
    float saturation = 1, exposure = 1;  ///< HSV factors (hsv only)
    float shift[3] = {0, 0, 0};          ///< added to channel k's level (hsv only)
    int flip = 0;                        ///< mirrored left-right
    int hsv = 0;                         ///< levels in HSV: training on a 3-channel input
};

/// A [crop] layer's sizes: input w x h x c, output ow x oh x c; levels mapped by scale * v + translate.
struct CropGeom {
    int w = 0, h = 0, c = 0, ow = 0, oh = 0;
    float scale = 2, translate = -1;
};

/// The level of channel k at input pixel pix of one image (img: its c planes of w*h values):
///   A_k = scale * L_k + translate + shift_k,
///   L_k = clamp(e ((1 - s) M + s v_k), 0, 1), M = max(v_r, v_g, v_b)   (hsv)
///   L_k = v_k                                                          (otherwise)
/// The hsv form is Darknet's rgb_to_hsv, S *= s, V *= e, hsv_to_rgb (with its clamp) in closed form:
/// every channel is v_k = V (1 - S (1 - f_k)) with V = M, S = (M - m)/M and f_k = (v_k - m)/(M - m)
/// fixed by the hue, so after the scaling it is e M - e s (M - v_k).
template <class T>
DN_HD inline T crop_level(const CropGeom& g, const CropDraw& d, const T* img, int pix, int k) {
    const size_t plane = static_cast<size_t>(g.w) * g.h;
    const T v = img[k * plane + pix];
    if (!d.hsv) return T(g.scale) * v + T(g.translate);
    const T r = img[pix], gr = img[plane + pix], b = img[2 * plane + pix];
    const T M = r > gr ? (r > b ? r : b) : (gr > b ? gr : b);
    const T s = d.saturation, e = d.exposure;
    const T u = e * ((T(1) - s) * M + s * v);
    const T L = u < T(0) ? T(0) : (u > T(1) ? T(1) : u);
    return T(g.scale) * L + T(g.translate) + T(d.shift[k]);
}

/// Where output (i, j) reads the input: x = j + dw (flip: w - dw - j - 1), y = i + dh, rotated by
/// the angle about (w/2, h/2): (rx, ry) = R (x - cx, y - cy) + (cx, cy).
template <class T>
DN_HD inline void crop_point(const CropGeom& g, const CropDraw& d, int i, int j, T* rx, T* ry) {
    const T cx = T(g.w) / 2, cy = T(g.h) / 2;
    const T x = d.flip ? T(g.w) - T(d.dw) - T(j) - T(1) : T(j) + T(d.dw);
    const T y = T(i) + T(d.dh);
    const T c = d.cos_a, s = d.sin_a;
    *rx = c * (x - cx) - s * (y - cy) + cx;
    *ry = s * (x - cx) + c * (y - cy) + cy;
}

/// The bilinear weight with which output (i, j) reads input pixel (y, x): with (rx, ry) its point,
/// (ix, iy) = floor, (dx, dy) the fractions, the four pixels (ix + a, iy + b) weigh
/// (a ? dx : 1 - dx) (b ? dy : 1 - dy); 0 for any other pixel.
template <class T>
DN_HD inline T crop_weight(const CropGeom& g, const CropDraw& d, int i, int j, int y, int x) {
    T rx, ry;
    crop_point(g, d, i, j, &rx, &ry);
    const T fx = std::floor(rx), fy = std::floor(ry);
    const int a = x - static_cast<int>(fx), b = y - static_cast<int>(fy);
    if (a < 0 || a > 1 || b < 0 || b > 1) return T(0);
    const T dx = rx - fx, dy = ry - fy;
    return (a ? dx : T(1) - dx) * (b ? dy : T(1) - dy);
}

/// Output (k, i, j) of one image: sum over the four pixels inside the input of weight * A_k
/// (Darknet's bilinear_interpolate_kernel, whose pixels outside the input are 0).
template <class T>
DN_HD inline T crop_value(const CropGeom& g, const CropDraw& d, const T* img, int k, int i, int j) {
    T rx, ry;
    crop_point(g, d, i, j, &rx, &ry);
    const T fx = std::floor(rx), fy = std::floor(ry);
    const int ix = static_cast<int>(fx), iy = static_cast<int>(fy);
    const T dx = rx - fx, dy = ry - fy;
    T v = 0;
    for (int b = 0; b < 2; ++b)
        for (int a = 0; a < 2; ++a) {
            const int x = ix + a, y = iy + b;
            const T wt = (a ? dx : T(1) - dx) * (b ? dy : T(1) - dy);
            if (wt == T(0) || x < 0 || y < 0 || x >= g.w || y >= g.h) continue;
            v += wt * crop_level(g, d, img, y * g.w + x, k);
        }
    return v;
}

/// Backward for input pixel (y, x) of one image, every channel: adds dL/dv_k into
/// dimg[k][y][x] given dout = dL/dy of the image's output [c][oh][ow].
///
/// Derivation. out_k(i, j) = sum_p w_p(i, j) A_k(p) is linear in the levels, so
///   G_k = dL/dA_k(y, x) = sum_{(i, j)} w_{(y,x)}(i, j) dout_k(i, j),
/// over the outputs whose four pixels hold (y, x): |rx - x| < 1 and |ry - y| < 1, a square of
/// radius sqrt(2) about (x, y) whose preimage under the rotation (and the flip, a reflection) lies
/// within sqrt(2) of the point R^-1 (x - cx, y - cy) + (cx, cy) shifted by the offset; those
/// 4 x 4 candidates are tested with crop_weight itself (the forward's own arithmetic), in
/// increasing output order: a gather, no atomics, the same sum on the CPU and the GPU.
/// Then through the levels: without hsv dA_k/dv_k = scale. With hsv, u_k = e ((1 - s) M + s v_k)
/// and L_k = clamp(u_k), so with m the index of the maximum (the first of r, g, b in
/// crop_level's comparisons) and in_k = [0 < u_k < 1],
///   dL_k/dv_j = in_k e (s [j = k] + (1 - s) [j = m]),
///   dL/dv_j = scale e (s in_j G_j + [j = m] (1 - s) sum_k in_k G_k).
template <class T>
DN_HD inline void crop_backward_pixel(const CropGeom& g, const CropDraw& d, const T* img, const T* dout, int y, int x,
                                      T* dimg) {
    const T cx = T(g.w) / 2, cy = T(g.h) / 2, c = d.cos_a, s = d.sin_a;
    const T px = c * (T(x) - cx) + s * (T(y) - cy) + cx;
    const T py = -s * (T(x) - cx) + c * (T(y) - cy) + cy;
    const T jc = d.flip ? T(g.w) - T(d.dw) - T(1) - px : px - T(d.dw);
    const T ic = py - T(d.dh);
    const int i0 = static_cast<int>(std::ceil(ic - T(1.5))), i1 = static_cast<int>(std::floor(ic + T(1.5)));
    const int j0 = static_cast<int>(std::ceil(jc - T(1.5))), j1 = static_cast<int>(std::floor(jc + T(1.5)));
    int at[16];
    T wt[16];
    int n = 0;
    for (int i = i0 < 0 ? 0 : i0; i <= i1 && i < g.oh; ++i)
        for (int j = j0 < 0 ? 0 : j0; j <= j1 && j < g.ow; ++j) {
            const T w = crop_weight<T>(g, d, i, j, y, x);
            if (w != T(0) && n < 16) at[n] = i * g.ow + j, wt[n++] = w;
        }
    if (n == 0) return;
    const size_t plane = static_cast<size_t>(g.w) * g.h, oplane = static_cast<size_t>(g.ow) * g.oh;
    const int pix = y * g.w + x;
    const T sc = g.scale;
    if (!d.hsv) {
        for (int k = 0; k < g.c; ++k) {
            T G = 0;
            for (int q = 0; q < n; ++q) G += wt[q] * dout[k * oplane + at[q]];
            dimg[k * plane + pix] += sc * G;
        }
        return;
    }
    const T r = img[pix], gr = img[plane + pix], b = img[2 * plane + pix];
    const int m = r > gr ? (r > b ? 0 : 2) : (gr > b ? 1 : 2);
    const T M = m == 0 ? r : (m == 1 ? gr : b);
    const T sat = d.saturation, e = d.exposure;
    T G[3], sum = 0;
    for (int k = 0; k < 3; ++k) {
        G[k] = 0;
        for (int q = 0; q < n; ++q) G[k] += wt[q] * dout[k * oplane + at[q]];
        const T u = e * ((T(1) - sat) * M + sat * img[k * plane + pix]);
        if (!(u > T(0) && u < T(1))) G[k] = 0;
        sum += G[k];
    }
    for (int k = 0; k < 3; ++k) {
        T dv = sat * G[k];
        if (k == m) dv += (T(1) - sat) * sum;
        dimg[k * plane + pix] += sc * e * dv;
    }
}

}  // namespace dn
