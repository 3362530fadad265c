#include "depthwise.hpp"

#include <algorithm>
#include <cstring>

namespace dn {

namespace {
// Output columns ox with 0 <= ox*s + xoff < width form [*lo, *hi).
inline void valid_range(int xoff, int s, int width, int ow, int* lo, int* hi) {
    int a = xoff >= 0 ? 0 : (-xoff + s - 1) / s;
    int b = width - xoff > 0 ? (width - xoff + s - 1) / s : 0;
    *lo = std::min(a, ow);
    *hi = std::max(*lo, std::min(b, ow));
}
}  // namespace

template <class T>
void depthwise_forward(const T* in, const T* w, const ConvGeom& g, T* out) {
    const int oh = g.out_h(), ow = g.out_w(), kh = g.ksize_h, kw = g.ksize_w, s = g.stride_w;
#pragma omp parallel for schedule(static) if (g.channels * oh * ow > 32768)
    for (int c = 0; c < g.channels; ++c) {
        const T* plane = in + static_cast<size_t>(c) * g.height * g.width;
        const T* wc = w + static_cast<size_t>(c) * kh * kw;
        T* oc = out + static_cast<size_t>(c) * oh * ow;
        for (int oy = 0; oy < oh; ++oy) {
            T* o = oc + static_cast<size_t>(oy) * ow;
            std::memset(o, 0, sizeof(T) * ow);
            for (int ky = 0; ky < kh; ++ky) {
                const int iy = oy * g.stride_h + ky * g.dilation - g.pad_h;
                if (iy < 0 || iy >= g.height) continue;
                const T* row = plane + static_cast<size_t>(iy) * g.width;
                for (int kx = 0; kx < kw; ++kx) {
                    const T wv = wc[ky * kw + kx];
                    const int xoff = kx * g.dilation - g.pad_w;
                    int lo, hi;
                    valid_range(xoff, s, g.width, ow, &lo, &hi);
                    const T* src = row + xoff;
                    if (s == 1) {
                        for (int ox = lo; ox < hi; ++ox) o[ox] += wv * src[ox];
                    } else {
                        for (int ox = lo; ox < hi; ++ox) o[ox] += wv * src[ox * s];
                    }
                }
            }
        }
    }
}

template <class T>
void depthwise_backward(const T* in, const T* w, const T* dy, const ConvGeom& g, T* dw, T* din) {
    const int oh = g.out_h(), ow = g.out_w(), kh = g.ksize_h, kw = g.ksize_w, s = g.stride_w;
#pragma omp parallel for schedule(static) if (g.channels * oh * ow > 32768)
    for (int c = 0; c < g.channels; ++c) {
        const T* plane = in + static_cast<size_t>(c) * g.height * g.width;
        const T* wc = w + static_cast<size_t>(c) * kh * kw;
        const T* dc = dy + static_cast<size_t>(c) * oh * ow;
        T* dwc = dw + static_cast<size_t>(c) * kh * kw;
        T* dinc = din ? din + static_cast<size_t>(c) * g.height * g.width : nullptr;
        for (int ky = 0; ky < kh; ++ky) {
            for (int kx = 0; kx < kw; ++kx) {
                const int xoff = kx * g.dilation - g.pad_w;
                int lo, hi;
                valid_range(xoff, s, g.width, ow, &lo, &hi);
                const T wv = wc[ky * kw + kx];
                T acc = T(0);
                for (int oy = 0; oy < oh; ++oy) {
                    const int iy = oy * g.stride_h + ky * g.dilation - g.pad_h;
                    if (iy < 0 || iy >= g.height) continue;
                    const T* src = plane + static_cast<size_t>(iy) * g.width + xoff;
                    const T* d = dc + static_cast<size_t>(oy) * ow;
                    for (int ox = lo; ox < hi; ++ox) acc += d[ox] * src[ox * s];
                    if (dinc) {
                        T* dst = dinc + static_cast<size_t>(iy) * g.width + xoff;
                        for (int ox = lo; ox < hi; ++ox) dst[ox * s] += wv * d[ox];
                    }
                }
                dwc[ky * kw + kx] += acc;
            }
        }
    }
}

template void depthwise_forward<float>(const float*, const float*, const ConvGeom&, float*);
template void depthwise_forward<double>(const double*, const double*, const ConvGeom&, double*);
template void depthwise_backward<float>(const float*, const float*, const float*, const ConvGeom&, float*, float*);
template void depthwise_backward<double>(const double*, const double*, const double*, const ConvGeom&, double*,
                                         double*);

}  // namespace dn
