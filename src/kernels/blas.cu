// Elementwise kernels and im2col/col2im (the GPU side of kernels/blas.hpp); cuBLAS GEMM, copies
// and the scratch area are host code in src/core/cuda.cpp. Kernels launch through DN_LAUNCH, so
// tests/test_gpu_emu_blas.cpp runs this file on the CPU.
#include <algorithm>

#include "kernels/blas.hpp"
#include "kernels/gpu.hpp"
#include "kernels/gpu_reduce.cuh"
#include "kernels/optimizer.hpp"

namespace dn {

namespace {

__global__ void fill_k(float* x, size_t n, float v) { DN_GRID_FOR(i, n) x[i] = v; }
__global__ void axpy_k(size_t n, float a, const float* x, float* y) { DN_GRID_FOR(i, n) y[i] += a * x[i]; }

__global__ void add_bias_k(float* y, const float* bias, uint32_t n, NchwIndex ix) {
    DN_GRID_FOR32(i, n) y[i] += bias[ix.channel(i)];
}

// One block per channel: sum over the N*S values of that channel (float partials, block_sum).
__global__ void bias_grad_k(const float* d, int N, int C, int S, float* db) {
    const int c = blockIdx.x;
    float s = 0.f;
    for (int n = 0; n < N; ++n) {
        const float* p = d + (static_cast<size_t>(n) * C + c) * S;
        for (int k = threadIdx.x; k < S; k += blockDim.x) s += p[k];
    }
    s = block_sum(s);
    if (threadIdx.x == 0) db[c] += s;
}

__global__ void sgd_k(float* v, float* g, size_t n, float lr, float decay, float mom, bool apply_decay) {
    DN_GRID_FOR(i, n) sgd_step(v[i], g[i], lr, decay, mom, apply_decay);
}

__global__ void adam_k(float* w, float* g, float* m, float* v, size_t n, AdamStep<float> s) {
    DN_GRID_FOR(i, n) adam_step(w[i], g[i], m[i], v[i], s);
}

__global__ void ema_k(float* e, const float* w, size_t n, float alpha) { DN_GRID_FOR(i, n) ema_follow(e[i], w[i], alpha); }

__global__ void copy_rows_k(const float* src, size_t ss, float* dst, size_t ds, size_t rows, size_t len, bool acc) {
    DN_GRID_FOR(i, rows * len) {
        const size_t r = i / len, k = i % len;
        const float v = src[r * ss + k];
        if (acc) dst[r * ds + k] += v;
        else dst[r * ds + k] = v;
    }
}

// im2col: col[(c*kh + ky)*kw + kx][oy*ow + ox] = im[c][oy*sh - ph + ky*d][ox*sw - pw + kx*d] (0 outside)
__global__ void im2col_k(const float* im, ConvGeom g, int oh, int ow, float* col) {
    const size_t n = static_cast<size_t>(g.channels) * g.ksize_h * g.ksize_w * oh * ow;
    DN_GRID_FOR(i, n) {
        const int ox = static_cast<int>(i % ow);
        size_t r = i / ow;
        const int oy = static_cast<int>(r % oh);
        r /= oh;
        const int kx = static_cast<int>(r % g.ksize_w);
        r /= g.ksize_w;
        const int ky = static_cast<int>(r % g.ksize_h);
        const int c = static_cast<int>(r / g.ksize_h);
        const int y = oy * g.stride_h - g.pad_h + ky * g.dilation, x = ox * g.stride_w - g.pad_w + kx * g.dilation;
        col[i] = (y >= 0 && y < g.height && x >= 0 && x < g.width) ? im[(static_cast<size_t>(c) * g.height + y) * g.width + x] : 0.f;
    }
}

// col2im as a gather: each image pixel sums the column entries that read it (no atomics).
__global__ void col2im_k(const float* col, ConvGeom g, int oh, int ow, float* im) {
    const size_t n = static_cast<size_t>(g.channels) * g.height * g.width;
    DN_GRID_FOR(i, n) {
        const int x = static_cast<int>(i % g.width);
        const int y = static_cast<int>((i / g.width) % g.height);
        const int c = static_cast<int>(i / (static_cast<size_t>(g.width) * g.height));
        float s = 0.f;
        for (int ky = 0; ky < g.ksize_h; ++ky) {
            const int ty = y + g.pad_h - ky * g.dilation;
            if (ty < 0 || ty % g.stride_h) continue;
            const int oy = ty / g.stride_h;
            if (oy >= oh) continue;
            for (int kx = 0; kx < g.ksize_w; ++kx) {
                const int tx = x + g.pad_w - kx * g.dilation;
                if (tx < 0 || tx % g.stride_w) continue;
                const int ox = tx / g.stride_w;
                if (ox >= ow) continue;
                s += col[((static_cast<size_t>(c) * g.ksize_h + ky) * g.ksize_w + kx) * oh * ow + static_cast<size_t>(oy) * ow + ox];
            }
        }
        im[i] += s;
    }
}

}  // namespace

void fill_gpu(float* x, size_t n, float v) {
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, fill_k)(x, n, v);
    DN_KERNEL_CHECK();
}

void axpy_gpu(size_t n, float a, const float* x, float* y) {
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, axpy_k)(n, a, x, y);
    DN_KERNEL_CHECK();
}

void im2col_gpu(const float* im, const ConvGeom& g, float* col) {
    const size_t n = static_cast<size_t>(g.channels) * g.ksize_h * g.ksize_w * g.out_h() * g.out_w();
    DN_LAUNCH(grid_blocks(n), kGridThreads, im2col_k)(im, g, g.out_h(), g.out_w(), col);
    DN_KERNEL_CHECK();
}

void col2im_add_gpu(const float* col, const ConvGeom& g, float* im) {
    const size_t n = static_cast<size_t>(g.channels) * g.height * g.width;
    DN_LAUNCH(grid_blocks(n), kGridThreads, col2im_k)(col, g, g.out_h(), g.out_w(), im);
    DN_KERNEL_CHECK();
}

void add_bias_gpu(float* y, const float* bias, int N, int C, int S) {
    const size_t n = static_cast<size_t>(N) * C * S;
    if (!n) return;
    gpu_index_check(n, "add_bias_gpu");
    DN_LAUNCH(grid_blocks(n), kGridThreads, add_bias_k)(y, bias, static_cast<uint32_t>(n), NchwIndex(C, S));
    DN_KERNEL_CHECK();
}

void bias_grad_gpu(const float* delta, int N, int C, int S, float* dbias) {
    if (!C) return;
    DN_LAUNCH(C, kGridThreads, bias_grad_k)(delta, N, C, S, dbias);
    DN_KERNEL_CHECK();
}

void sgd_update_gpu(float* v, float* g, size_t n, float lr, float decay, float momentum, bool apply_decay) {
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, sgd_k)(v, g, n, lr, decay, momentum, apply_decay);
    DN_KERNEL_CHECK();
}

void adam_update_gpu(float* w, float* g, float* m, float* v, size_t n, const AdamStep<float>& s) {
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, adam_k)(w, g, m, v, n, s);
    DN_KERNEL_CHECK();
}

void ema_update_gpu(float* e, const float* w, size_t n, float alpha) {
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, ema_k)(e, w, n, alpha);
    DN_KERNEL_CHECK();
}

void copy_rows_gpu(const float* src, size_t src_stride, float* dst, size_t dst_stride, size_t rows, size_t len,
                   bool accumulate) {
    if (!rows || !len) return;
    DN_LAUNCH(grid_blocks(rows * len), kGridThreads, copy_rows_k)(src, src_stride, dst, dst_stride, rows, len, accumulate);
    DN_KERNEL_CHECK();
}

}  // namespace dn
