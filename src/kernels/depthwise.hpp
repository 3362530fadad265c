// Depthwise convolution (groups == channels == filters) on one image, direct loops.
//
// out[c][oy][ox] = sum_{ky,kx} w[c][ky][kx] * in[c][oy*s - p + ky*d][ox*s - p + kx*d]
// (zero outside the image). im2col + GEMM would unfold k*k copies of the input to do C tiny
// 1 x (k*k) products; these loops read each input row k times from L1 instead.
#pragma once

#include "activations.hpp"
#include "blas.hpp"

namespace dn {

/// out [C, oh, ow] = act(depthwise(in [C, H, W], w [C, kh, kw]) + bias[C]); overwrites out.
/// bias may be null (0). 3x3 and 5x5 kernels with stride 1 or 2 take a vectorized path.
template <class T>
void depthwise_forward(const T* in, const T* w, const ConvGeom& g, T* out, const T* bias = nullptr,
                       Activation a = Activation::Linear);

/// Backward of depthwise_forward for upstream dy [C, oh, ow]: ADDS dL/dw into dw [C, kh, kw] and,
/// when din is not null, dL/din into din [C, H, W].
template <class T>
void depthwise_backward(const T* in, const T* w, const T* dy, const ConvGeom& g, T* dw, T* din);

}  // namespace dn
