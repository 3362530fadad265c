#include "blas.hpp"

#include <cblas.h>

#include <cstring>

namespace dn {

template <>
void gemm<float>(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
                 int ldb, float beta, float* C, int ldc) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A,
                lda, B, ldb, beta, C, ldc);
}

template <>
void gemm<double>(bool ta, bool tb, int M, int N, int K, double alpha, const double* A, int lda, const double* B,
                  int ldb, double beta, double* C, int ldc) {
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A,
                lda, B, ldb, beta, C, ldc);
}

namespace {

// Output columns [*ox0, *ox1) whose input column ox * stride + xoff lies in [0, width), clipped to
// [0, ow]. The ceiling divisions run in 64 bits: a cfg's stride near 2^31 overflows them in int.
inline void valid_columns(const ConvGeom& g, int xoff, int ow, int* ox0, int* ox1) {
    const long long s = g.stride_w;
    const long long a = xoff >= 0 ? 0 : (-static_cast<long long>(xoff) + s - 1) / s;
    const long long b = (static_cast<long long>(g.width) - xoff + s - 1) / s;  // exclusive
    *ox0 = static_cast<int>(a < ow ? a : ow);
    *ox1 = static_cast<int>(b < ow ? b : ow);
}

}  // namespace

// For each (channel, ky, kx) row of col and each output row oy, the input row is fixed and the
// valid output columns form one contiguous range; copying ranges (instead of testing every
// element) keeps the unfold memory-bound.
template <class T>
void im2col(const T* im, const ConvGeom& g, T* col) {
    const int oh = g.out_h(), ow = g.out_w();
    const int rows = g.channels * g.ksize_h * g.ksize_w;
#pragma omp parallel for schedule(static) if (static_cast<long long>(rows) * oh * ow > 65536)
    for (int r = 0; r < rows; ++r) {
        const int kx = r % g.ksize_w;
        const int ky = (r / g.ksize_w) % g.ksize_h;
        const int ch = r / (g.ksize_w * g.ksize_h);
        const T* plane = im + static_cast<size_t>(ch) * g.height * g.width;
        T* out = col + static_cast<size_t>(r) * oh * ow;
        const int xoff = kx * g.dilation - g.pad_w;
        int ox0, ox1;  // valid ox: 0 <= ox*stride + xoff < width
        valid_columns(g, xoff, ow, &ox0, &ox1);
        for (int oy = 0; oy < oh; ++oy) {
            const int iy = oy * g.stride_h + ky * g.dilation - g.pad_h;
            T* o = out + static_cast<size_t>(oy) * ow;
            if (iy < 0 || iy >= g.height || ox1 <= ox0) {
                std::memset(o, 0, sizeof(T) * ow);
                continue;
            }
            const T* src = plane + static_cast<size_t>(iy) * g.width + xoff;
            for (int ox = 0; ox < ox0; ++ox) o[ox] = T(0);
            if (g.stride_w == 1) {
                std::memcpy(o + ox0, src + ox0, sizeof(T) * (ox1 - ox0));
            } else {
                for (int ox = ox0; ox < ox1; ++ox) o[ox] = src[ox * g.stride_w];
            }
            for (int ox = ox1; ox < ow; ++ox) o[ox] = T(0);
        }
    }
}

template <class T>
void col2im_add(const T* col, const ConvGeom& g, T* im) {
    const int oh = g.out_h(), ow = g.out_w();
    // Rows of the same channel write the same plane: parallelize over channels only.
#pragma omp parallel for schedule(static) if (g.channels > 1 && static_cast<long long>(g.channels) * oh * ow * g.ksize_h * g.ksize_w > 65536)
    for (int ch = 0; ch < g.channels; ++ch) {
        T* plane = im + static_cast<size_t>(ch) * g.height * g.width;
        for (int ky = 0; ky < g.ksize_h; ++ky) {
            for (int kx = 0; kx < g.ksize_w; ++kx) {
                const int r = (ch * g.ksize_h + ky) * g.ksize_w + kx;
                const T* in = col + static_cast<size_t>(r) * oh * ow;
                const int xoff = kx * g.dilation - g.pad_w;
                int ox0, ox1;
                valid_columns(g, xoff, ow, &ox0, &ox1);
                for (int oy = 0; oy < oh; ++oy) {
                    const int iy = oy * g.stride_h + ky * g.dilation - g.pad_h;
                    if (iy < 0 || iy >= g.height) continue;
                    T* dst = plane + static_cast<size_t>(iy) * g.width + xoff;
                    const T* src = in + static_cast<size_t>(oy) * ow;
                    for (int ox = ox0; ox < ox1; ++ox) dst[ox * g.stride_w] += src[ox];
                }
            }
        }
    }
}

template void im2col<float>(const float*, const ConvGeom&, float*);
template void im2col<double>(const double*, const ConvGeom&, double*);
template void col2im_add<float>(const float*, const ConvGeom&, float*);
template void col2im_add<double>(const double*, const ConvGeom&, double*);

}  // namespace dn
