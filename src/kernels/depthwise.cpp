#include "depthwise.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "activations.hpp"

namespace dn {

namespace {

// Output columns ox with 0 <= ox*s + xoff < width form [*lo, *hi).
inline void valid_range(int xoff, int s, int width, int ow, int* lo, int* hi) {
    int a = xoff >= 0 ? 0 : (-xoff + s - 1) / s;
    int b = width - xoff > 0 ? (width - xoff + s - 1) / s : 0;
    *lo = std::min(a, ow);
    *hi = std::max(*lo, std::min(b, ow));
}

// Fast path for a K x K kernel with stride S (1 or 2), no dilation. The channel plane is copied
// into a zero-padded buffer so that every tap is a bounds-free load; for S = 2 each padded row is
// stored de-interleaved (even columns, then odd columns) so that the taps of consecutive outputs
// are contiguous too. The K*K taps are unrolled and the loop over ox vectorizes; bias and
// activation are applied while the row is in registers/L1.
template <class T, int K, int S>
void plane_fast(const T* in, int H, int W, int pad, const T* w, T* out, int oh, int ow, T* buf, T bias, Activation a) {
    const int rows = (oh - 1) * S + K;
    const int cols = (ow - 1) * S + K;
    const int half = (cols + 1) / 2;  // even columns per de-interleaved row
    const int stride = S == 1 ? cols : 2 * half;
    // columns c of the padded row hold input x = c - pad; valid for c in [pad, pad + W)
    const int c_lo = std::min(pad, cols), c_hi = std::min(pad + W, cols);
    for (int r = 0; r < rows; ++r) {
        T* dst = buf + static_cast<size_t>(r) * stride;
        const int iy = r - pad;
        if (iy < 0 || iy >= H) {
            std::memset(dst, 0, sizeof(T) * stride);
            continue;
        }
        const T* src = in + static_cast<size_t>(iy) * W - pad;  // src[c] is padded column c
        if (S == 1) {
            std::memset(dst, 0, sizeof(T) * c_lo);
            std::memcpy(dst + c_lo, src + c_lo, sizeof(T) * (c_hi - c_lo));
            std::memset(dst + c_hi, 0, sizeof(T) * (cols - c_hi));
        } else {
            for (int parity = 0; parity < 2; ++parity) {
                T* d = dst + parity * half;
                const int n = parity ? cols / 2 : half;  // columns 2j + parity, j < n
                const int j_lo = std::min(n, (c_lo - parity + 1) / 2), j_hi = std::min(n, std::max(j_lo, (c_hi - parity + 1) / 2));
                for (int j = 0; j < j_lo; ++j) d[j] = T(0);
                const T* sp = src + parity;
                for (int j = j_lo; j < j_hi; ++j) d[j] = sp[2 * j];
                for (int j = j_hi; j < n; ++j) d[j] = T(0);
            }
        }
    }
    T wk[K * K];
    for (int i = 0; i < K * K; ++i) wk[i] = w[i];
    for (int oy = 0; oy < oh; ++oy) {
        T* o = out + static_cast<size_t>(oy) * ow;
        const T* r0 = buf + static_cast<size_t>(oy) * S * stride;
#pragma omp simd
        for (int ox = 0; ox < ow; ++ox) {
            T acc = T(0);
            for (int ky = 0; ky < K; ++ky) {
                const T* row = r0 + static_cast<size_t>(ky) * stride;
                for (int kx = 0; kx < K; ++kx) {
                    const T v = S == 1 ? row[ox + kx] : row[(kx & 1) * half + (kx >> 1) + ox];
                    acc += wk[ky * K + kx] * v;
                }
            }
            o[ox] = acc + bias;
        }
        if (a != Activation::Linear) activate_array(o, static_cast<size_t>(ow), a);
    }
}

template <class T>
void plane_generic(const T* plane, const ConvGeom& g, const T* wc, T* oc, T bias, Activation a) {
    const int oh = g.out_h(), ow = g.out_w(), kh = g.ksize_h, kw = g.ksize_w, s = g.stride_w;
    for (int oy = 0; oy < oh; ++oy) {
        T* o = oc + static_cast<size_t>(oy) * ow;
        for (int ox = 0; ox < ow; ++ox) o[ox] = bias;
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
                for (int ox = lo; ox < hi; ++ox) o[ox] += wv * src[ox * s];
            }
        }
        if (a != Activation::Linear) activate_array(o, static_cast<size_t>(ow), a);
    }
}

template <class T, int K, int S>
bool try_fast(const T* in, const T* w, const ConvGeom& g, T* out, const T* bias, Activation a) {
    if (g.ksize_h != K || g.ksize_w != K || g.stride_h != S || g.stride_w != S || g.dilation != 1 || g.pad_h != g.pad_w)
        return false;
    const int oh = g.out_h(), ow = g.out_w();
    const int rows = (oh - 1) * S + K, cols = (ow - 1) * S + K;
    const size_t need = static_cast<size_t>(rows) * (cols + 1);
#pragma omp parallel if (g.channels * oh * ow > 16384)
    {
        static thread_local std::vector<T> buf;  // padded plane, reused across calls
        if (buf.size() < need) buf.resize(need);
#pragma omp for schedule(static)
        for (int c = 0; c < g.channels; ++c)
            plane_fast<T, K, S>(in + static_cast<size_t>(c) * g.height * g.width, g.height, g.width, g.pad_h,
                                w + static_cast<size_t>(c) * K * K, out + static_cast<size_t>(c) * oh * ow, oh, ow,
                                buf.data(), bias ? bias[c] : T(0), a);
    }
    return true;
}

}  // namespace

template <class T>
void depthwise_forward(const T* in, const T* w, const ConvGeom& g, T* out, const T* bias, Activation a) {
    if (try_fast<T, 3, 1>(in, w, g, out, bias, a) || try_fast<T, 3, 2>(in, w, g, out, bias, a) ||
        try_fast<T, 5, 1>(in, w, g, out, bias, a) || try_fast<T, 5, 2>(in, w, g, out, bias, a))
        return;
    const int oh = g.out_h(), ow = g.out_w();
#pragma omp parallel for schedule(static) if (g.channels * oh * ow > 16384)
    for (int c = 0; c < g.channels; ++c)
        plane_generic(in + static_cast<size_t>(c) * g.height * g.width, g, w + static_cast<size_t>(c) * g.ksize_h * g.ksize_w,
                      out + static_cast<size_t>(c) * oh * ow, bias ? bias[c] : T(0), a);
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

template void depthwise_forward<float>(const float*, const float*, const ConvGeom&, float*, const float*, Activation);
template void depthwise_forward<double>(const double*, const double*, const ConvGeom&, double*, const double*, Activation);
template void depthwise_backward<float>(const float*, const float*, const float*, const ConvGeom&, float*, float*);
template void depthwise_backward<double>(const double*, const double*, const double*, const ConvGeom&, double*,
                                         double*);

}  // namespace dn
