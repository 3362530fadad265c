// Small GPU kernels of the data-movement layers (maxpool, avgpool, local_avgpool, upsample,
// shortcut, reorg, scale_channels, dropout, crop, local, antialiasing's blur, l2norm, softmax, lstm's and gru's cells); each mirrors the CPU loop of its layer in src/layers. Every backward is a gather (no
// atomics), so GPU results are bit-repeatable run to run. Kernels launch through DN_LAUNCH, so
// tests/test_gpu_emu_layers.cpp runs this file on the CPU against the CPU layers.
#include <algorithm>
#include <cfloat>
#include <vector>

#include "kernels/gpu.hpp"
#include "kernels/gpu_reduce.cuh"
#include "kernels/cost.hpp"
#include "kernels/blur.hpp"
#include "kernels/l2norm.hpp"
#include "kernels/channel_norm.hpp"
#include "kernels/gru.hpp"
#include "kernels/lstm.hpp"
#include "kernels/crop.hpp"
#include "kernels/local.hpp"
#include "kernels/index_maps.hpp"
#include "kernels/shortcut_weights.hpp"
#include "kernels/yolo_transform.hpp"

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

// Backward as a gather, in the CPU's order: input pixel (p, y, x) is in the window of output (i, j)
// when off + i*sy <= y <= off + i*sy + size - 1, i.e. i in [ceil((y - off - size + 1) / sy),
// floor((y - off) / sy)] (and likewise j); it adds the deltas of those outputs whose argmax it is,
// in increasing output index, one by one onto dL/dx as the CPU's serial loop does (bit-identical,
// and no atomics where windows overlap).
__global__ void maxpool_bwd_k(const float* d, const int* idx, size_t n, int w, int h, int size, int sx, int sy, int off,
                              int ow, int oh, float* din) {
    DN_GRID_FOR(i, n) {
        const int x = static_cast<int>(i % w), y = static_cast<int>((i / w) % h);
        const size_t p = i / (static_cast<size_t>(w) * h);
        const int ty = y - off, tx = x - off;  // >= 0: off <= 0
        const int i0 = max(0, (ty - size + sy) / sy), i1 = min(oh - 1, ty / sy);
        const int j0 = max(0, (tx - size + sx) / sx), j1 = min(ow - 1, tx / sx);
        const size_t base = p * ow * oh;
        float v = din[i];
        for (int a = i0; a <= i1; ++a)
            for (int b = j0; b <= j1; ++b) {
                const size_t o = base + static_cast<size_t>(a) * ow + b;
                if (idx[o] == static_cast<int>(i)) v += d[o];
            }
        din[i] = v;
    }
}

__global__ void avgpool_k(const float* in, int S, float* out) {
    const int p = blockIdx.x;
    float a = 0.f;
    for (int s = threadIdx.x; s < S; s += blockDim.x) a += in[static_cast<size_t>(p) * S + s];
    a = block_sum(a);
    if (threadIdx.x == 0) out[p] = a / S;
}

__global__ void avgpool_bwd_k(const float* d, size_t n, int S, float* din) {
    DN_GRID_FOR(i, n) din[i] += d[i / S] / S;
}

__global__ void local_avgpool_k(const float* in, size_t n, int w, int h, int size, int sx, int sy, int off, int ow,
                                int oh, float* out) {
    DN_GRID_FOR(o, n) {
        const int j = static_cast<int>(o % ow), i = static_cast<int>((o / ow) % oh);
        const float* src = in + (o / (static_cast<size_t>(ow) * oh)) * w * h;
        int x0, x1, y0, y1;
        pool_span(off, sy, size, i, h, y0, y1);
        pool_span(off, sx, size, j, w, x0, x1);
        float s = 0.f;
        for (int y = y0; y < y1; ++y)
            for (int x = x0; x < x1; ++x) s += src[y * w + x];
        const int cnt = max(0, y1 - y0) * max(0, x1 - x0);
        out[o] = cnt > 0 ? s / static_cast<float>(cnt) : 0.f;
    }
}

// dL/dx_i += sum over the windows o containing i, in increasing o, of dL/dy_o / n_o (the CPU's
// additions in the CPU's order).
__global__ void local_avgpool_bwd_k(const float* d, size_t n, int w, int h, int size, int sx, int sy, int off, int ow,
                                    int oh, float* din) {
    DN_GRID_FOR(i, n) {
        const int x = static_cast<int>(i % w), y = static_cast<int>((i / w) % h);
        const float* dy = d + (i / (static_cast<size_t>(w) * h)) * ow * oh;
        int i0, i1, j0, j1;
        pool_windows_of(off, sy, size, y, oh, i0, i1);
        pool_windows_of(off, sx, size, x, ow, j0, j1);
        float v = din[i];
        for (int a = i0; a <= i1; ++a) {
            int y0, y1;
            pool_span(off, sy, size, a, h, y0, y1);
            for (int b = j0; b <= j1; ++b) {
                int x0, x1;
                pool_span(off, sx, size, b, w, x0, x1);
                v += dy[a * ow + b] / static_cast<float>((y1 - y0) * (x1 - x0));
            }
        }
        din[i] = v;
    }
}

__global__ void reorg_k(const float* src, ReorgMap m, size_t n, bool to_in, bool accumulate, float* dst) {
    DN_GRID_FOR(i, n) {
        const size_t o = m.out_of(i);
        const size_t di = to_in ? i : o;
        const float v = src[to_in ? o : i];
        dst[di] = accumulate ? dst[di] + v : v;
    }
}

__global__ void scale_k(const float* a, const float* p, size_t n, ScaleMap k, float* y) {
    DN_GRID_FOR(i, n) y[i] = a[i] * p[k(i)];
}

// da[i] += d[i] p[k(i)]; for [sam] (k(i) = i) also dp[i] += d[i] a[i].
__global__ void scale_bwd_k(const float* a, const float* p, const float* d, size_t n, ScaleMap k, float* da, float* dp) {
    DN_GRID_FOR(i, n) {
        da[i] += d[i] * p[k(i)];
        if (dp && k.mode == ScaleMap::Elementwise) dp[i] += d[i] * a[i];
    }
}

// Channel mode: dp[plane] += sum_s d a over the S values of the plane (a block each); Add false:
// dp[plane] = that sum.
template <bool Add = true>
__global__ void scale_dp_plane_k(const float* a, const float* d, int S, float* dp) {
    const size_t base = static_cast<size_t>(blockIdx.x) * S;
    float s = 0.f;
    for (int t = threadIdx.x; t < S; t += blockDim.x) s += d[base + t] * a[base + t];
    s = block_sum(s);
    if (threadIdx.x == 0) dp[blockIdx.x] = Add ? dp[blockIdx.x] + s : s;
}

// Spatial mode (scale_wh): dp[n][s] += sum_c d a over the C channels, a thread per position
// (consecutive threads read consecutive positions), in the CPU's order.
__global__ void scale_dp_wh_k(const float* a, const float* d, size_t positions, size_t S, int C, float* dp) {
    DN_GRID_FOR(q, positions) {
        const size_t base = (q / S) * C * S + q % S;
        float v = dp[q];
        for (int c = 0; c < C; ++c) v += d[base + c * S] * a[base + c * S];
        dp[q] = v;
    }
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

// Weighted shortcut: a thread per weight group (the normalization of kernels/shortcut_weights.hpp).
__global__ void shortcut_weights_k(const float* raw, int K, int L, ShortcutNorm norm, float* wn) {
    DN_GRID_FOR(l, static_cast<size_t>(L)) {
        float w[kShortcutMaxSources];
        int argmax;
        shortcut_group_weights(raw, K, L, static_cast<int>(l), norm, w, &argmax);
        for (int k = 0; k < K; ++k) wn[static_cast<size_t>(k) * L + l] = w[k];
    }
}

__global__ void weighted_add_k(const float* x, const float* w, uint32_t n, NchwIndex ix, bool per_channel, float* out,
                               bool init) {
    DN_GRID_FOR(i, static_cast<size_t>(n)) {
        const float v = w[per_channel ? ix.channel(static_cast<uint32_t>(i)) : 0] * x[i];
        out[i] = init ? v : out[i] + v;
    }
}

// dot[k][n * C + c] = sum_s g x_k (scale_dp_plane_k) -> G_k(l) over the group's planes,
// a thread per group, in plane order.
__global__ void shortcut_weights_grad_k(const float* raw, const float* dot, int N, int C, int K, int L,
                                        ShortcutNorm norm, float* grad) {
    DN_GRID_FOR(l, static_cast<size_t>(L)) {
        float G[kShortcutMaxSources];
        const size_t planes = static_cast<size_t>(N) * C;
        const size_t first = L == 1 ? 0 : l, step = L == 1 ? 1 : static_cast<size_t>(C);  // the group's planes
        for (int k = 0; k < K; ++k) {
            float s = 0.f;
            for (size_t p = first; p < planes; p += step) s += dot[k * planes + p];
            G[k] = s;
        }
        shortcut_group_weights_backward(raw, K, L, static_cast<int>(l), norm, G, grad);
    }
}

__global__ void dropout_k(const float* x, const uint8_t* keep, size_t n, float scale, float* y, bool accumulate) {
    DN_GRID_FOR(i, n) {
        const float v = keep[i] ? x[i] * scale : 0.f;
        if (accumulate) y[i] += v;
        else y[i] = v;
    }
}

// Softmax group g of image b starts at b*per_image + g*group_stride; its n elements are `stride`
// apart. Groups of consecutive elements (stride 1: [softmax] groups=) take one warp each, its
// lanes reading consecutive elements; strided groups (spatial=1: one group per position, stride
// H*W) take one thread each, so that a warp reads consecutive positions. Sums are in double, as on
// the CPU.
struct SoftmaxGroups {
    int batch, per_image, groups, n, stride, group_stride;
    float inv_t;
    __device__ size_t offset(size_t q) const { return (q / groups) * per_image + (q % groups) * group_stride; }
};

constexpr int kWarpsPerBlock = kGridThreads / 32;

__device__ inline float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, o));
    return __shfl_sync(0xffffffffu, v, 0);
}

// The softmax of one group: `first` and `step` pick this thread's elements (lane, 32 for a warp;
// 0, 1 for a thread); with Warp the 32 lanes combine their max and sum by shuffles.
template <bool Warp>
__device__ void softmax_group(const float* x, const SoftmaxGroups& s, size_t off, int first, int step, float* y) {
    float m = -FLT_MAX;
    for (int i = first; i < s.n; i += step) m = fmaxf(m, x[off + static_cast<size_t>(i) * s.stride]);
    if constexpr (Warp) m = warp_max(m);
    double sum = 0;
    for (int i = first; i < s.n; i += step) {
        const size_t k = off + static_cast<size_t>(i) * s.stride;
        const float e = expf((x[k] - m) * s.inv_t);
        y[k] = e;
        sum += e;
    }
    if constexpr (Warp) sum = warp_sum(sum);
    for (int i = first; i < s.n; i += step) {
        const size_t k = off + static_cast<size_t>(i) * s.stride;
        y[k] = static_cast<float>(y[k] / sum);
    }
}

// dL/dx_k += y_k (dL/dy_k - sum_i dL/dy_i y_i) / T per group (softmax_layer.cpp).
template <bool Warp>
__device__ void softmax_group_bwd(const float* y, const float* d, const SoftmaxGroups& s, size_t off, int first,
                                  int step, float* dx) {
    double dot = 0;
    for (int i = first; i < s.n; i += step) {
        const size_t k = off + static_cast<size_t>(i) * s.stride;
        dot += d[k] * y[k];
    }
    if constexpr (Warp) dot = warp_sum(dot);
    for (int i = first; i < s.n; i += step) {
        const size_t k = off + static_cast<size_t>(i) * s.stride;
        dx[k] += static_cast<float>(y[k] * (d[k] - dot) * s.inv_t);
    }
}

template <bool Warp>
__global__ void softmax_k(const float* x, SoftmaxGroups s, float* y) {
    const size_t q = Warp ? blockIdx.x * static_cast<size_t>(kWarpsPerBlock) + threadIdx.x / 32
                          : blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
    if (q >= static_cast<size_t>(s.batch) * s.groups) return;  // a whole warp at once when Warp
    softmax_group<Warp>(x, s, s.offset(q), Warp ? threadIdx.x % 32 : 0, Warp ? 32 : 1, y);
}

template <bool Warp>
__global__ void softmax_bwd_k(const float* y, const float* d, SoftmaxGroups s, float* dx) {
    const size_t q = Warp ? blockIdx.x * static_cast<size_t>(kWarpsPerBlock) + threadIdx.x / 32
                          : blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
    if (q >= static_cast<size_t>(s.batch) * s.groups) return;
    softmax_group_bwd<Warp>(y, d, s, s.offset(q), Warp ? threadIdx.x % 32 : 0, Warp ? 32 : 1, dx);
}

__global__ void yolo_k(const float* x, size_t n, YoloTransform tf, float* y) {
    DN_GRID_FOR(i, n) y[i] = tf.forward(tf.entry(i), x[i]);
}

__global__ void yolo_bwd_k(const float* y, const float* d, const float* lg, size_t n, YoloTransform tf, float* dx) {
    DN_GRID_FOR(i, n) {
        const uint32_t e = tf.entry(i);
        float v = dx[i];
        if (lg) v += lg[i];
        if (tf.elementwise(e)) v += d[i] * tf.grad(e, y[i]);
        dx[i] = v;
    }
}

// [cost]: delta = scale * dL/dy, and each block's part of the sum of the terms into part[blockIdx.x].
__global__ void cost_k(const float* y, const float* t, size_t n, CostType type, float scale, float* delta, double* part) {
    double c = 0;
    DN_GRID_FOR(i, n) delta[i] = scale * cost_element(type, y[i], t[i], &c);
    c = block_sum(c);
    if (threadIdx.x == 0) part[blockIdx.x] = c;
}

// Loss mode: delta = (y - t) / T, and each block's part of -sum t log y into cost[blockIdx.x]
// (summed on the host in block order: the same loss every run).
__global__ void softmax_ce_k(const float* y, const float* t, size_t n, float inv_t, float* delta, double* cost) {
    double c = 0;
    DN_GRID_FOR(i, n) {
        delta[i] = (y[i] - t[i]) * inv_t;
        if (t[i] != 0.f) c -= t[i] * log(fmax(static_cast<double>(y[i]), 1.17549435e-38));
    }
    c = block_sum(c);
    if (threadIdx.x == 0) cost[blockIdx.x] = c;
}

}  // namespace

void maxpool_forward_gpu(const float* in, int planes, int w, int h, int size, int sx, int sy, int off, int ow, int oh,
                         float* out, int* idx) {
    const size_t n = static_cast<size_t>(planes) * ow * oh;
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, maxpool_k)(in, n, w, h, size, sx, sy, off, ow, oh, out, idx);
    DN_KERNEL_CHECK();
}

void maxpool_backward_gpu(const float* d, const int* idx, int planes, int w, int h, int size, int sx, int sy, int off,
                          int ow, int oh, float* din) {
    const size_t n = static_cast<size_t>(planes) * w * h;
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, maxpool_bwd_k)(d, idx, n, w, h, size, sx, sy, off, ow, oh, din);
    DN_KERNEL_CHECK();
}

void avgpool_forward_gpu(const float* in, int planes, int S, float* out) {
    if (!planes) return;
    DN_LAUNCH(planes, kReduceThreads, avgpool_k)(in, S, out);
    DN_KERNEL_CHECK();
}

void avgpool_backward_gpu(const float* d, int planes, int S, float* din) {
    const size_t n = static_cast<size_t>(planes) * S;
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, avgpool_bwd_k)(d, n, S, din);
    DN_KERNEL_CHECK();
}

void local_avgpool_forward_gpu(const float* in, int planes, int w, int h, int size, int sx, int sy, int off, int ow,
                               int oh, float* out) {
    const size_t n = static_cast<size_t>(planes) * ow * oh;
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, local_avgpool_k)(in, n, w, h, size, sx, sy, off, ow, oh, out);
    DN_KERNEL_CHECK();
}

void local_avgpool_backward_gpu(const float* d, int planes, int w, int h, int size, int sx, int sy, int off, int ow,
                                int oh, float* din) {
    const size_t n = static_cast<size_t>(planes) * w * h;
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, local_avgpool_bwd_k)(d, n, w, h, size, sx, sy, off, ow, oh, din);
    DN_KERNEL_CHECK();
}

void reorg_gpu(const float* src, const ReorgMap& m, bool to_in, bool accumulate, float* dst) {
    const size_t n = m.size();
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, reorg_k)(src, m, n, to_in, accumulate, dst);
    DN_KERNEL_CHECK();
}

void scale_channels_forward_gpu(const float* a, const float* p, size_t n, const ScaleMap& k, float* y) {
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, scale_k)(a, p, n, k, y);
    DN_KERNEL_CHECK();
}

void scale_channels_backward_gpu(const float* a, const float* p, const float* d, size_t n, const ScaleMap& k, float* da,
                                 float* dp) {
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, scale_bwd_k)(a, p, d, n, k, da, dp);
    DN_KERNEL_CHECK();
    if (!dp || k.mode == ScaleMap::Elementwise) return;
    if (k.mode == ScaleMap::Channel) {
        DN_LAUNCH(static_cast<unsigned>(n / k.S), kReduceThreads, scale_dp_plane_k<true>)(a, d, static_cast<int>(k.S), dp);
    } else {
        const size_t positions = n / k.CS * k.S;
        DN_LAUNCH(grid_blocks(positions), kGridThreads, scale_dp_wh_k)(a, d, positions, k.S,
                                                                        static_cast<int>(k.CS / k.S), dp);
    }
    DN_KERNEL_CHECK();
}

void upsample_forward_gpu(const float* in, int planes, int w, int h, int stride, float scale, float* out) {
    const size_t n = static_cast<size_t>(planes) * w * h * stride * stride;
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, upsample_k)(in, n, w, h, stride, scale, out);
    DN_KERNEL_CHECK();
}

void upsample_backward_gpu(const float* d, int planes, int w, int h, int stride, float scale, float* din) {
    const size_t n = static_cast<size_t>(planes) * w * h;
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, upsample_bwd_k)(d, n, w, h, stride, scale, din);
    DN_KERNEL_CHECK();
}

void shortcut_gpu(int batch, int w1, int h1, int c1, const float* add, int w2, int h2, int c2, float* out) {
    const ShortcutMap m = shortcut_map(w1, h1, c1, w2, h2, c2);
    const size_t n = static_cast<size_t>(batch) * m.minc * m.minh * m.minw;
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, shortcut_k)(batch, m, add, out, false);
    DN_KERNEL_CHECK();
}

void shortcut_backward_gpu(int batch, int w1, int h1, int c1, float* add_delta, int w2, int h2, int c2, const float* d) {
    const ShortcutMap m = shortcut_map(w1, h1, c1, w2, h2, c2);
    const size_t n = static_cast<size_t>(batch) * m.minc * m.minh * m.minw;
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, shortcut_k)(batch, m, add_delta, const_cast<float*>(d), true);
    DN_KERNEL_CHECK();
}

void shortcut_weights_gpu(const float* raw, int K, int L, ShortcutNorm norm, float* wn) {
    if (L <= 0) return;
    DN_LAUNCH(grid_blocks(static_cast<size_t>(L)), kGridThreads, shortcut_weights_k)(raw, K, L, norm, wn);
    DN_KERNEL_CHECK();
}

void weighted_add_gpu(const float* x, const float* w, size_t n, int C, int S, int L, float* out, bool init) {
    if (!n) return;
    gpu_index_check(n, "weighted_add_gpu");
    DN_LAUNCH(grid_blocks(n), kGridThreads, weighted_add_k)(x, w, static_cast<uint32_t>(n), NchwIndex(C, S), L > 1,
                                                             out, init);
    DN_KERNEL_CHECK();
}

void shortcut_weights_backward_gpu(const float* raw, const float* const* x, const float* g, int N, int C, int S, int K,
                                   int L, ShortcutNorm norm, float* grad) {
    const size_t planes = static_cast<size_t>(N) * C;
    if (!planes || L <= 0) return;
    float* dot = gpu_scratch(planes * K);
    for (int k = 0; k < K; ++k) {
        DN_LAUNCH(static_cast<unsigned>(planes), kReduceThreads, scale_dp_plane_k<false>)(x[k], g, S, dot + k * planes);
        DN_KERNEL_CHECK();
    }
    DN_LAUNCH(grid_blocks(static_cast<size_t>(L)), kGridThreads, shortcut_weights_grad_k)(raw, dot, N, C, K, L, norm,
                                                                                          grad);
    DN_KERNEL_CHECK();
}

namespace {

__global__ void maxpool_depth_k(const float* in, int C, size_t S, int K, size_t n, float* out, int* idx) {
    DN_GRID_FOR(o, n) {
        const size_t s = o % S, k = (o / S) % K, b = o / S / K;
        float best = -FLT_MAX;
        int bi = -1;
        for (size_t j = k; j < static_cast<size_t>(C); j += K) {
            const size_t i = (b * C + j) * S + s;
            if (in[i] > best) best = in[i], bi = static_cast<int>(i);
        }
        out[o] = best;
        idx[o] = bi;
    }
}

__global__ void maxpool_depth_bwd_k(const float* d, const int* idx, int C, size_t S, int K, size_t n, float* din) {
    DN_GRID_FOR(i, n) {
        const size_t s = i % S, j = (i / S) % C, b = i / S / C;
        const size_t o = (b * K + j % K) * S + s;
        if (idx[o] == static_cast<int>(i)) din[i] += d[o];
    }
}

}  // namespace

void maxpool_depth_forward_gpu(const float* in, int batch, int C, int S, int K, float* out, int* idx) {
    const size_t n = static_cast<size_t>(batch) * K * S;
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, maxpool_depth_k)(in, C, static_cast<size_t>(S), K, n, out, idx);
    DN_KERNEL_CHECK();
}

void maxpool_depth_backward_gpu(const float* d, const int* idx, int batch, int C, int S, int K, float* din) {
    const size_t n = static_cast<size_t>(batch) * C * S;
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, maxpool_depth_bwd_k)(d, idx, C, static_cast<size_t>(S), K, n, din);
    DN_KERNEL_CHECK();
}

void dropout_forward_gpu(const float* x, const uint8_t* keep, size_t n, float scale, float* y) {
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, dropout_k)(x, keep, n, scale, y, false);
    DN_KERNEL_CHECK();
}

void dropout_backward_gpu(const float* d, const uint8_t* keep, size_t n, float scale, float* dx) {
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, dropout_k)(d, keep, n, scale, dx, true);
    DN_KERNEL_CHECK();
}

namespace {

// [crop]: a thread per output value (kernels/crop.hpp crop_value).
__global__ void crop_k(const float* in, const CropDraw* draws, CropGeom g, size_t n, float* out) {
    DN_GRID_FOR(o, n) {
        const int j = static_cast<int>(o % g.ow), i = static_cast<int>((o / g.ow) % g.oh);
        const size_t kb = o / (static_cast<size_t>(g.ow) * g.oh);
        const int k = static_cast<int>(kb % g.c), b = static_cast<int>(kb / g.c);
        out[o] = crop_value(g, draws[b], in + static_cast<size_t>(b) * g.c * g.w * g.h, k, i, j);
    }
}

// Its backward: a thread per input pixel, every channel (crop_backward_pixel, a gather).
__global__ void crop_bwd_k(const float* in, const float* d, const CropDraw* draws, CropGeom g, size_t n, float* din) {
    DN_GRID_FOR(p, n) {
        const int x = static_cast<int>(p % g.w), y = static_cast<int>((p / g.w) % g.h);
        const int b = static_cast<int>(p / (static_cast<size_t>(g.w) * g.h));
        const size_t in_img = static_cast<size_t>(g.c) * g.w * g.h, out_img = static_cast<size_t>(g.c) * g.ow * g.oh;
        crop_backward_pixel(g, draws[b], in + b * in_img, d + b * out_img, y, x, din + b * in_img);
    }
}

// [local] (kernels/local.hpp): a thread per output value, per weight (summing the batch), per
// input value (a gather); no atomics.
__global__ void local_k(const float* x, const float* W, const float* bias, LocalGeom g, size_t n, float* y) {
    DN_GRID_FOR(o, n) {
        const int loc = static_cast<int>(o % g.L()), f = static_cast<int>((o / g.L()) % g.n);
        const size_t b = o / (static_cast<size_t>(g.L()) * g.n);
        y[o] = local_value(g, x + b * g.c * g.h * g.w, W, bias, f, loc);
    }
}

__global__ void local_wgrad_k(const float* x, const float* G, LocalGeom g, int batch, size_t n, float* dW) {
    DN_GRID_FOR(i, n) {
        const int k = static_cast<int>(i % g.K()), f = static_cast<int>((i / g.K()) % g.n);
        const int loc = static_cast<int>(i / (static_cast<size_t>(g.K()) * g.n));
        dW[i] += local_weight_grad(g, x, G, batch, loc, f, k);
    }
}

__global__ void local_dx_k(const float* W, const float* G, LocalGeom g, size_t n, float* dx) {
    DN_GRID_FOR(i, n) {
        const int ix = static_cast<int>(i % g.w), iy = static_cast<int>((i / g.w) % g.h);
        const int c = static_cast<int>((i / (static_cast<size_t>(g.w) * g.h)) % g.c);
        const size_t b = i / (static_cast<size_t>(g.w) * g.h * g.c);
        dx[i] += local_input_grad(g, W, G + b * g.n * g.L(), c, iy, ix);
    }
}

}  // namespace

void crop_forward_gpu(const float* in, const CropDraw* draws, const CropGeom& g, int batch, float* out) {
    const size_t n = static_cast<size_t>(batch) * g.c * g.ow * g.oh;
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, crop_k)(in, draws, g, n, out);
    DN_KERNEL_CHECK();
}

void local_forward_gpu(const float* x, const float* W, const float* bias, const LocalGeom& g, int batch, float* y) {
    const size_t n = static_cast<size_t>(batch) * g.n * g.L();
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, local_k)(x, W, bias, g, n, y);
    DN_KERNEL_CHECK();
}

void local_backward_gpu(const float* x, const float* G, const float* W, const LocalGeom& g, int batch, float* dW,
                        float* dx) {
    const size_t nw = static_cast<size_t>(g.L()) * g.n * g.K();
    if (nw) {
        DN_LAUNCH(grid_blocks(nw), kGridThreads, local_wgrad_k)(x, G, g, batch, nw, dW);
        DN_KERNEL_CHECK();
    }
    const size_t nx = static_cast<size_t>(batch) * g.c * g.h * g.w;
    if (dx && nx) {
        DN_LAUNCH(grid_blocks(nx), kGridThreads, local_dx_k)(W, G, g, nx, dx);
        DN_KERNEL_CHECK();
    }
}

void crop_backward_gpu(const float* in, const float* d, const CropDraw* draws, const CropGeom& g, int batch,
                       float* din) {
    const size_t n = static_cast<size_t>(batch) * g.w * g.h;
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, crop_bwd_k)(in, d, draws, g, n, din);
    DN_KERNEL_CHECK();
}

namespace {

// antialiasing's blur: a thread per output value; its backward a thread per input value (a gather).
__global__ void blur_k(const float* in, BlurGeom g, size_t n, float* out) {
    DN_GRID_FOR(o, n) {
        const int ox = static_cast<int>(o % g.ow), oy = static_cast<int>((o / g.ow) % g.oh);
        const size_t p = o / (static_cast<size_t>(g.ow) * g.oh);
        out[o] = blur_value(g, in + p * g.w * g.h, oy, ox);
    }
}

__global__ void blur_bwd_k(const float* d, BlurGeom g, size_t n, float* din) {
    DN_GRID_FOR(i, n) {
        const int x = static_cast<int>(i % g.w), y = static_cast<int>((i / g.w) % g.h);
        const size_t p = i / (static_cast<size_t>(g.w) * g.h);
        din[i] = blur_input_grad(g, d + p * g.ow * g.oh, y, x);
    }
}

}  // namespace

namespace {

// [l2norm]: a thread per position (adjacent threads read adjacent values of each channel plane).
__global__ void l2norm_k(const float* x, const float* g, int C, int S, size_t n, float* out, bool backward) {
    DN_GRID_FOR(p, n) {
        const size_t off = p / S * C * S + p % S;
        if (backward)
            l2norm_backward_at(x + off, g + off, C, static_cast<size_t>(S), out + off);
        else
            l2norm_forward_at(x + off, C, static_cast<size_t>(S), out + off);
    }
}

}  // namespace

void l2norm_forward_gpu(const float* x, int batch, int C, int S, float* y) {
    const size_t n = static_cast<size_t>(batch) * S;
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, l2norm_k)(x, nullptr, C, S, n, y, false);
    DN_KERNEL_CHECK();
}

void l2norm_backward_gpu(const float* x, const float* g, int batch, int C, int S, float* dx) {
    const size_t n = static_cast<size_t>(batch) * S;
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, l2norm_k)(x, g, C, S, n, dx, true);
    DN_KERNEL_CHECK();
}

namespace {

struct LstmIn {
    const float* z[8];
};

__global__ void lstm_forward_k(size_t n, LstmIn z, const float* c_prev, float* i, float* f, float* o, float* g, float* c,
                               float* h) {
    DN_GRID_FOR(k, n) {
        lstm_forward_at(z.z[0][k], z.z[4][k], z.z[1][k], z.z[5][k], z.z[2][k], z.z[6][k], z.z[3][k], z.z[7][k], c_prev[k],
                        i + k, f + k, o + k, g + k, c + k, h + k);
    }
}

__global__ void lstm_backward_k(size_t n, const float* dh, const float* dc_next, const float* i, const float* f,
                                const float* o, const float* g, const float* c, const float* c_prev, float* dzi,
                                float* dzf, float* dzo, float* dzg, float* dc_prev) {
    DN_GRID_FOR(k, n) {
        lstm_backward_at(dh[k], dc_next[k], i[k], f[k], o[k], g[k], c[k], c_prev[k], dzi + k, dzf + k, dzo + k, dzg + k,
                         dc_prev + k);
    }
}

}  // namespace

void lstm_forward_gpu(size_t n, const float* const z[8], const float* c_prev, float* i, float* f, float* o, float* g,
                      float* c, float* h) {
    if (!n) return;
    LstmIn in;
    for (int q = 0; q < 8; ++q) in.z[q] = z[q];
    DN_LAUNCH(grid_blocks(n), kGridThreads, lstm_forward_k)(n, in, c_prev, i, f, o, g, c, h);
    DN_KERNEL_CHECK();
}

void lstm_backward_gpu(size_t n, const float* dh, const float* dc_next, const float* i, const float* f, const float* o,
                       const float* g, const float* c, const float* c_prev, float* dzi, float* dzf, float* dzo,
                       float* dzg, float* dc_prev) {
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, lstm_backward_k)(n, dh, dc_next, i, f, o, g, c, c_prev, dzi, dzf, dzo, dzg,
                                                             dc_prev);
    DN_KERNEL_CHECK();
}

namespace {

__global__ void channel_norm_forward_k(ChannelNormKind kind, const float* x, int C, int S, size_t n, float* y) {
    DN_GRID_FOR(p, n) {
        const size_t off = p / S * static_cast<size_t>(C) * S + p % S;
        channel_norm_forward_at(kind, x + off, C, S, y + off);
    }
}

__global__ void channel_norm_backward_k(ChannelNormKind kind, const float* x, const float* y, const float* g, int C,
                                        int S, size_t n, float* dx) {
    DN_GRID_FOR(p, n) {
        const size_t off = p / S * static_cast<size_t>(C) * S + p % S;
        channel_norm_backward_at(kind, x + off, y + off, g + off, C, S, dx + off, false);
    }
}

}  // namespace

void channel_norm_forward_gpu(ChannelNormKind kind, const float* x, int N, int C, int S, float* y) {
    const size_t n = static_cast<size_t>(N) * S;
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, channel_norm_forward_k)(kind, x, C, S, n, y);
    DN_KERNEL_CHECK();
}

void channel_norm_backward_gpu(ChannelNormKind kind, const float* x, const float* y, const float* g, int N, int C, int S,
                               float* dx) {
    const size_t n = static_cast<size_t>(N) * S;
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, channel_norm_backward_k)(kind, x, y, g, C, S, n, dx);
    DN_KERNEL_CHECK();
}

namespace {

__global__ void gru_gates_k(size_t n, const float* wz, const float* uz, const float* wr, const float* ur,
                            const float* h_prev, float* z, float* r, float* s) {
    DN_GRID_FOR(k, n) { gru_gates_at(wz[k], uz[k], wr[k], ur[k], h_prev[k], z + k, r + k, s + k); }
}

__global__ void gru_state_k(size_t n, const float* wh, const float* uh, const float* z, const float* h_prev,
                            bool use_tanh, float* hc, float* h) {
    DN_GRID_FOR(k, n) { gru_state_at(wh[k], uh[k], z[k], h_prev[k], use_tanh, hc + k, h + k); }
}

__global__ void gru_state_backward_k(size_t n, const float* dh, const float* z, const float* hc, const float* h_prev,
                                     bool use_tanh, float* dzz, float* dzh, float* dh_prev) {
    DN_GRID_FOR(k, n) { gru_state_backward_at(dh[k], z[k], hc[k], h_prev[k], use_tanh, dzz + k, dzh + k, dh_prev + k); }
}

__global__ void gru_reset_backward_k(size_t n, const float* ds, const float* r, const float* h_prev, float* dzr,
                                     float* dh_prev) {
    DN_GRID_FOR(k, n) { gru_reset_backward_at(ds[k], r[k], h_prev[k], dzr + k, dh_prev + k); }
}

}  // namespace

void gru_gates_gpu(size_t n, const float* wz, const float* uz, const float* wr, const float* ur, const float* h_prev,
                   float* z, float* r, float* s) {
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, gru_gates_k)(n, wz, uz, wr, ur, h_prev, z, r, s);
    DN_KERNEL_CHECK();
}

void gru_state_gpu(size_t n, const float* wh, const float* uh, const float* z, const float* h_prev, bool use_tanh,
                   float* hc, float* h) {
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, gru_state_k)(n, wh, uh, z, h_prev, use_tanh, hc, h);
    DN_KERNEL_CHECK();
}

void gru_state_backward_gpu(size_t n, const float* dh, const float* z, const float* hc, const float* h_prev,
                            bool use_tanh, float* dzz, float* dzh, float* dh_prev) {
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, gru_state_backward_k)(n, dh, z, hc, h_prev, use_tanh, dzz, dzh, dh_prev);
    DN_KERNEL_CHECK();
}

void gru_reset_backward_gpu(size_t n, const float* ds, const float* r, const float* h_prev, float* dzr,
                            float* dh_prev) {
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, gru_reset_backward_k)(n, ds, r, h_prev, dzr, dh_prev);
    DN_KERNEL_CHECK();
}

void blur_forward_gpu(const float* in, const BlurGeom& g, int planes, float* out) {
    const size_t n = static_cast<size_t>(planes) * g.ow * g.oh;
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, blur_k)(in, g, n, out);
    DN_KERNEL_CHECK();
}

void blur_backward_gpu(const float* d, const BlurGeom& g, int planes, float* din) {
    const size_t n = static_cast<size_t>(planes) * g.w * g.h;
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, blur_bwd_k)(d, g, n, din);
    DN_KERNEL_CHECK();
}

namespace {

// Launches kernel<true> (a warp per group) for stride-1 groups, else kernel<false>.
template <class Launch>
void softmax_launch(const SoftmaxGroups& s, Launch&& launch) {
    const size_t q = static_cast<size_t>(s.batch) * s.groups;
    if (!q || !s.n) return;
    if (s.stride == 1) launch(std::true_type{}, static_cast<unsigned>((q + kWarpsPerBlock - 1) / kWarpsPerBlock));
    else launch(std::false_type{}, static_cast<unsigned>((q + kGridThreads - 1) / kGridThreads));
    DN_KERNEL_CHECK();
}

}  // namespace

void softmax_forward_gpu(const float* x, int batch, int per_image, int groups, int n, int stride, int group_stride,
                         float inv_t, float* y) {
    const SoftmaxGroups s{batch, per_image, groups, n, stride, group_stride, inv_t};
    softmax_launch(s, [&](auto warp, unsigned blocks) {
        DN_LAUNCH(blocks, kGridThreads, softmax_k<decltype(warp)::value>)(x, s, y);
    });
}

void softmax_backward_gpu(const float* y, const float* d, int batch, int per_image, int groups, int n, int stride,
                          int group_stride, float inv_t, float* dx) {
    const SoftmaxGroups s{batch, per_image, groups, n, stride, group_stride, inv_t};
    softmax_launch(s, [&](auto warp, unsigned blocks) {
        DN_LAUNCH(blocks, kGridThreads, softmax_bwd_k<decltype(warp)::value>)(y, d, s, dx);
    });
}

void yolo_forward_gpu(const float* x, size_t n, const YoloTransform& tf, float* y) {
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, yolo_k)(x, n, tf, y);
    DN_KERNEL_CHECK();
}

void yolo_backward_gpu(const float* y, const float* d, const float* loss_grad, size_t n, const YoloTransform& tf,
                       float* dx) {
    if (!n) return;
    DN_LAUNCH(grid_blocks(n), kGridThreads, yolo_bwd_k)(y, d, loss_grad, n, tf, dx);
    DN_KERNEL_CHECK();
}

namespace {
// Launches a loss kernel that writes its blocks' parts of the loss into part[0, blocks), and
// returns their sum, added on the host in block order.
template <class Launch>
double block_loss(size_t n, Launch&& launch) {
    if (!n) return 0;
    const unsigned blocks = std::min(grid_blocks(n), 1024u);
    double* part = reinterpret_cast<double*>(gpu_scratch(2 * static_cast<size_t>(blocks)));
    launch(blocks, part);
    DN_KERNEL_CHECK();
    std::vector<double> h(blocks);
    DN_CUDA_CHECK(cudaMemcpy(h.data(), part, blocks * sizeof(double), cudaMemcpyDeviceToHost));
    double c = 0;
    for (double v : h) c += v;
    return c;
}
}  // namespace

double softmax_ce_gpu(const float* y, const float* t, size_t n, float inv_t, float* delta) {
    return block_loss(n, [&](unsigned blocks, double* part) {
        DN_LAUNCH(blocks, kGridThreads, softmax_ce_k)(y, t, n, inv_t, delta, part);
    });
}

double cost_gpu(const float* y, const float* t, size_t n, CostType type, float scale, float* delta) {
    return static_cast<double>(scale) * block_loss(n, [&](unsigned blocks, double* part) {
        DN_LAUNCH(blocks, kGridThreads, cost_k)(y, t, n, type, scale, delta, part);
    });
}

}  // namespace dn
