// Small GPU kernels of the data-movement layers (maxpool, avgpool, upsample, shortcut, dropout,
// softmax); each mirrors the CPU loop of its layer in src/layers.
#include <algorithm>
#include <cfloat>

#include "kernels/gpu.hpp"
#include "kernels/gpu_reduce.cuh"

namespace dn {

namespace {

__global__ void maxpool_k(const float* in, size_t n, int w, int h, int size, int sx, int sy, int off, int ow, int oh,
                          float* out, int* idx) {
    DN_GRID_FOR(o, n) {
        const int j = static_cast<int>(o % ow), i = static_cast<int>((o / ow) % oh);
        const size_t p = o / (static_cast<size_t>(ow) * oh);
        const float* src = in + p * w * h;
        float best = -FLT_MAX;
        int bi = -1;
        for (int a = 0; a < size; ++a) {
            const int y = off + i * sy + a;
            if (y < 0 || y >= h) continue;
            for (int b = 0; b < size; ++b) {
                const int x = off + j * sx + b;
                if (x < 0 || x >= w) continue;
                const float v = src[y * w + x];
                if (v > best) best = v, bi = y * w + x;
            }
        }
        out[o] = best;
        if (idx) idx[o] = bi < 0 ? -1 : static_cast<int>(p * w * h + bi);
    }
}

// Windows overlap when stride < size: outputs add into shared inputs atomically.
__global__ void maxpool_bwd_k(const float* d, const int* idx, size_t n, float* din) {
    DN_GRID_FOR(o, n) {
        if (idx[o] >= 0) atomicAdd(din + idx[o], d[o]);
    }
}

__global__ void avgpool_k(const float* in, int planes, int S, float* out) {
    const int p = blockIdx.x;
    float a = 0.f, b = 0.f;
    for (int s = threadIdx.x; s < S; s += blockDim.x) a += in[static_cast<size_t>(p) * S + s];
    block_sum2(a, b);
    if (threadIdx.x == 0) out[p] = a / S;
}

__global__ void avgpool_bwd_k(const float* d, size_t n, int S, float* din) {
    DN_GRID_FOR(i, n) din[i] += d[i / S] / S;
}

__global__ void upsample_k(const float* in, size_t n, int w, int h, int stride, float scale, float* out) {
    const int ow = w * stride, oh = h * stride;
    DN_GRID_FOR(o, n) {
        const int x = static_cast<int>(o % ow), y = static_cast<int>((o / ow) % oh);
        const size_t p = o / (static_cast<size_t>(ow) * oh);
        out[o] = scale * in[p * w * h + (y / stride) * w + x / stride];
    }
}

// Each input pixel gathers its stride x stride outputs (no atomics).
__global__ void upsample_bwd_k(const float* d, size_t n, int w, int h, int stride, float scale, float* din) {
    const int ow = w * stride, oh = h * stride;
    DN_GRID_FOR(i, n) {
        const int x = static_cast<int>(i % w), y = static_cast<int>((i / w) % h);
        const size_t p = i / (static_cast<size_t>(w) * h);
        float s = 0.f;
        for (int a = 0; a < stride; ++a)
            for (int b = 0; b < stride; ++b) s += d[p * ow * oh + static_cast<size_t>(y * stride + a) * ow + x * stride + b];
        din[i] += scale * s;
    }
}

struct ShortcutMap {
    int stride, sample, minw, minh, minc, w1, h1, c1, w2, h2, c2;
};

ShortcutMap shortcut_map(int w1, int h1, int c1, int w2, int h2, int c2) {
    ShortcutMap m;
    m.stride = w1 / w2 > 0 ? w1 / w2 : 1;
    m.sample = w2 / w1 > 0 ? w2 / w1 : 1;
    m.minw = std::min(w1, w2), m.minh = std::min(h1, h2), m.minc = std::min(c1, c2);
    m.w1 = w1, m.h1 = h1, m.c1 = c1, m.w2 = w2, m.h2 = h2, m.c2 = c2;
    return m;
}

// The map (b, k, j, i) -> (out index, add index) is one-to-one, so both directions are gathers.
__global__ void shortcut_k(int batch, ShortcutMap m, const float* add, float* out, bool backward) {
    const size_t n = static_cast<size_t>(batch) * m.minc * m.minh * m.minw;
    DN_GRID_FOR(t, n) {
        const int i = static_cast<int>(t % m.minw), j = static_cast<int>((t / m.minw) % m.minh);
        const int k = static_cast<int>((t / (static_cast<size_t>(m.minw) * m.minh)) % m.minc);
        const size_t b = t / (static_cast<size_t>(m.minw) * m.minh * m.minc);
        const size_t oi = b * m.w2 * m.h2 * m.c2 + i * m.sample + m.w2 * (j * m.sample + static_cast<size_t>(m.h2) * k);
        const size_t ai = b * m.w1 * m.h1 * m.c1 + i * m.stride + m.w1 * (j * m.stride + static_cast<size_t>(m.h1) * k);
        if (backward) const_cast<float*>(add)[ai] += out[oi];
        else out[oi] += add[ai];
    }
}

__global__ void dropout_k(const float* x, const uint8_t* keep, size_t n, float scale, float* y, bool accumulate) {
    DN_GRID_FOR(i, n) {
        const float v = keep[i] ? x[i] * scale : 0.f;
        if (accumulate) y[i] += v;
        else y[i] = v;
    }
}

// One thread per softmax group (group g of image b starts at b*per_image + g*group_stride; its n
// elements are `stride` apart).
__global__ void softmax_k(const float* x, int batch, int per_image, int groups, int n, int stride, int group_stride,
                          float inv_t, float* y) {
    const size_t q = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
    if (q >= static_cast<size_t>(batch) * groups) return;
    const size_t off = (q / groups) * per_image + (q % groups) * group_stride;
    float m = -FLT_MAX;
    for (int i = 0; i < n; ++i) m = fmaxf(m, x[off + static_cast<size_t>(i) * stride]);
    double sum = 0;
    for (int i = 0; i < n; ++i) {
        const float e = expf((x[off + static_cast<size_t>(i) * stride] - m) * inv_t);
        y[off + static_cast<size_t>(i) * stride] = e;
        sum += e;
    }
    for (int i = 0; i < n; ++i) y[off + static_cast<size_t>(i) * stride] = static_cast<float>(y[off + static_cast<size_t>(i) * stride] / sum);
}

// dL/dx_k += y_k (dL/dy_k - sum_i dL/dy_i y_i) / T per group.
__global__ void softmax_bwd_k(const float* y, const float* d, int batch, int per_image, int groups, int n, int stride,
                              int group_stride, float inv_t, float* dx) {
    const size_t q = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
    if (q >= static_cast<size_t>(batch) * groups) return;
    const size_t off = (q / groups) * per_image + (q % groups) * group_stride;
    double dot = 0;
    for (int i = 0; i < n; ++i) dot += d[off + static_cast<size_t>(i) * stride] * y[off + static_cast<size_t>(i) * stride];
    for (int i = 0; i < n; ++i) {
        const size_t k = off + static_cast<size_t>(i) * stride;
        dx[k] += static_cast<float>(y[k] * (d[k] - dot) * inv_t);
    }
}

__global__ void softmax_ce_k(const float* y, const float* t, size_t n, float inv_t, float* delta, double* cost) {
    double c = 0;
    DN_GRID_FOR(i, n) {
        delta[i] = (y[i] - t[i]) * inv_t;
        if (t[i] != 0.f) c -= t[i] * log(fmax(static_cast<double>(y[i]), 1.17549435e-38));
    }
    atomicAdd(cost, c);
}

}  // namespace

void maxpool_forward_gpu(const float* in, int planes, int w, int h, int size, int sx, int sy, int off, int ow, int oh,
                         float* out, int* idx) {
    const size_t n = static_cast<size_t>(planes) * ow * oh;
    if (!n) return;
    maxpool_k<<<grid_blocks(n), kGridThreads>>>(in, n, w, h, size, sx, sy, off, ow, oh, out, idx);
    DN_KERNEL_CHECK();
}

void maxpool_backward_gpu(const float* d, const int* idx, size_t n, float* din) {
    if (!n) return;
    maxpool_bwd_k<<<grid_blocks(n), kGridThreads>>>(d, idx, n, din);
    DN_KERNEL_CHECK();
}

void avgpool_forward_gpu(const float* in, int planes, int S, float* out) {
    if (!planes) return;
    avgpool_k<<<planes, kReduceThreads>>>(in, planes, S, out);
    DN_KERNEL_CHECK();
}

void avgpool_backward_gpu(const float* d, int planes, int S, float* din) {
    const size_t n = static_cast<size_t>(planes) * S;
    if (!n) return;
    avgpool_bwd_k<<<grid_blocks(n), kGridThreads>>>(d, n, S, din);
    DN_KERNEL_CHECK();
}

void upsample_forward_gpu(const float* in, int planes, int w, int h, int stride, float scale, float* out) {
    const size_t n = static_cast<size_t>(planes) * w * h * stride * stride;
    if (!n) return;
    upsample_k<<<grid_blocks(n), kGridThreads>>>(in, n, w, h, stride, scale, out);
    DN_KERNEL_CHECK();
}

void upsample_backward_gpu(const float* d, int planes, int w, int h, int stride, float scale, float* din) {
    const size_t n = static_cast<size_t>(planes) * w * h;
    if (!n) return;
    upsample_bwd_k<<<grid_blocks(n), kGridThreads>>>(d, n, w, h, stride, scale, din);
    DN_KERNEL_CHECK();
}

void shortcut_gpu(int batch, int w1, int h1, int c1, const float* add, int w2, int h2, int c2, float* out) {
    const ShortcutMap m = shortcut_map(w1, h1, c1, w2, h2, c2);
    const size_t n = static_cast<size_t>(batch) * m.minc * m.minh * m.minw;
    if (!n) return;
    shortcut_k<<<grid_blocks(n), kGridThreads>>>(batch, m, add, out, false);
    DN_KERNEL_CHECK();
}

void shortcut_backward_gpu(int batch, int w1, int h1, int c1, float* add_delta, int w2, int h2, int c2, const float* d) {
    const ShortcutMap m = shortcut_map(w1, h1, c1, w2, h2, c2);
    const size_t n = static_cast<size_t>(batch) * m.minc * m.minh * m.minw;
    if (!n) return;
    shortcut_k<<<grid_blocks(n), kGridThreads>>>(batch, m, add_delta, const_cast<float*>(d), true);
    DN_KERNEL_CHECK();
}

void dropout_forward_gpu(const float* x, const uint8_t* keep, size_t n, float scale, float* y) {
    if (!n) return;
    dropout_k<<<grid_blocks(n), kGridThreads>>>(x, keep, n, scale, y, false);
    DN_KERNEL_CHECK();
}

void dropout_backward_gpu(const float* d, const uint8_t* keep, size_t n, float scale, float* dx) {
    if (!n) return;
    dropout_k<<<grid_blocks(n), kGridThreads>>>(d, keep, n, scale, dx, true);
    DN_KERNEL_CHECK();
}

void softmax_forward_gpu(const float* x, int batch, int per_image, int groups, int n, int stride, int group_stride,
                         float inv_t, float* y) {
    const size_t q = static_cast<size_t>(batch) * groups;
    if (!q) return;
    softmax_k<<<static_cast<unsigned>((q + 127) / 128), 128>>>(x, batch, per_image, groups, n, stride, group_stride, inv_t, y);
    DN_KERNEL_CHECK();
}

void softmax_backward_gpu(const float* y, const float* d, int batch, int per_image, int groups, int n, int stride,
                          int group_stride, float inv_t, float* dx) {
    const size_t q = static_cast<size_t>(batch) * groups;
    if (!q) return;
    softmax_bwd_k<<<static_cast<unsigned>((q + 127) / 128), 128>>>(y, d, batch, per_image, groups, n, stride,
                                                                   group_stride, inv_t, dx);
    DN_KERNEL_CHECK();
}

double softmax_ce_gpu(const float* y, const float* t, size_t n, float inv_t, float* delta) {
    if (!n) return 0;
    double* c = reinterpret_cast<double*>(gpu_scratch(2));
    DN_CUDA_CHECK(cudaMemsetAsync(c, 0, sizeof(double), 0));
    softmax_ce_k<<<std::min(grid_blocks(n), 1024u), kGridThreads>>>(y, t, n, inv_t, delta, c);
    DN_KERNEL_CHECK();
    double h = 0;
    DN_CUDA_CHECK(cudaMemcpy(&h, c, sizeof(double), cudaMemcpyDeviceToHost));
    return h;
}

}  // namespace dn
