// BLAS wrappers (OpenBLAS) templated on the scalar type, plus im2col/col2im.
#pragma once

#include <cstddef>

namespace dn {

/// Row-major C = alpha * op(A) * op(B) + beta * C, op(X) = X or X^T. A is M x K after op, B is
/// K x N after op, C is M x N. Dispatches to cblas_sgemm / cblas_dgemm.
template <class T>
void gemm(bool trans_a, bool trans_b, int M, int N, int K, T alpha, const T* A, int lda, const T* B, int ldb,
          T beta, T* C, int ldc);

/// Geometry of a 2-D convolution window over one image plane.
struct ConvGeom {
    int channels = 0, height = 0, width = 0;  ///< input planes and size
    int ksize_h = 1, ksize_w = 1;
    int stride_h = 1, stride_w = 1;
    int pad_h = 0, pad_w = 0;
    int dilation = 1;
    int out_h() const { return (height + 2 * pad_h - (dilation * (ksize_h - 1) + 1)) / stride_h + 1; }
    int out_w() const { return (width + 2 * pad_w - (dilation * (ksize_w - 1) + 1)) / stride_w + 1; }
};

/// Unfolds image [channels, height, width] into col [channels*kh*kw, out_h*out_w] (zero padding).
template <class T>
void im2col(const T* im, const ConvGeom& g, T* col);
/// Adjoint of im2col: ADDS col [channels*kh*kw, out_h*out_w] into image [channels, height, width].
template <class T>
void col2im_add(const T* col, const ConvGeom& g, T* im);

}  // namespace dn
