// The primitives the recurrent layers' step loops (rnn_steps.hpp, lstm_steps.hpp, gru_steps.hpp) run on:
// HostOps (std::vector buffers, loops, Dense's CPU math) and, in GPU builds, DeviceOps
// (DeviceBuffer, BLAS-1 kernels, Dense's GPU twins). L is the layer: its `gates` are its Dense
// blocks, in params() order.
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

#include "dense.hpp"
#include "kernels/gru.hpp"
#include "kernels/lstm.hpp"
#ifdef DN_GPU
#include "darknet/cuda.hpp"
#include "kernels/gpu.hpp"
#endif

namespace dn {

template <class L, class TT>
struct HostOps {
    using T = TT;
    using Buf = std::vector<T>;
    L& l;
    static void resize(Buf& b, size_t n) {
        if (b.size() != n) b.assign(n, T(0));
    }
    static void fill0(T* p, size_t n) { std::fill(p, p + n, T(0)); }
    static void copy(const T* from, T* to, size_t n) { std::copy(from, from + n, to); }
    static void add(const T* x, T* y, size_t n) {
        for (size_t i = 0; i < n; ++i) y[i] += x[i];
    }
    static void swap_stats(Dense<T>& d, Buf& mean, Buf& inv_std) {
        d.bn.mean.swap(mean);
        d.bn.inv_std.swap(inv_std);
    }
    void gate_forward(int g, const T* x, int N, T* y, T* pre, T* act, bool train) {
        l.gates[g].forward(x, N, y, pre, act, train);
    }
    void gate_backward(int g, const T* x, int N, const T* y, T* dy, const T* pre, const T* act, T* dx) {
        l.gates[g].backward(x, N, y, dy, pre, act, dx);
    }
    /// [lstm]'s cell over n values (kernels/lstm.hpp); z[q] the state and input blocks' outputs
    /// of gate q in (i, f, o, g) order, z[q + 4] their input halves.
    static void lstm_forward(size_t n, const T* const z[8], const T* c_prev, T* i, T* f, T* o, T* g, T* c, T* h) {
        for (size_t k = 0; k < n; ++k)
            lstm_forward_at(z[0][k], z[4][k], z[1][k], z[5][k], z[2][k], z[6][k], z[3][k], z[7][k], c_prev[k], i + k,
                            f + k, o + k, g + k, c + k, h + k);
    }
    static void lstm_backward(size_t n, const T* dh, const T* dc_next, const T* i, const T* f, const T* o, const T* g,
                              const T* c, const T* c_prev, T* dzi, T* dzf, T* dzo, T* dzg, T* dc_prev) {
        for (size_t k = 0; k < n; ++k)
            lstm_backward_at(dh[k], dc_next[k], i[k], f[k], o[k], g[k], c[k], c_prev[k], dzi + k, dzf + k, dzo + k,
                             dzg + k, dc_prev + k);
    }
    /// [gru]'s cell over n values (kernels/gru.hpp): the gates and reset state, then the
    /// candidate and new state; their backward passes.
    static void gru_gates(size_t n, const T* wz, const T* uz, const T* wr, const T* ur, const T* h_prev, T* z, T* r,
                          T* s) {
        for (size_t k = 0; k < n; ++k) gru_gates_at(wz[k], uz[k], wr[k], ur[k], h_prev[k], z + k, r + k, s + k);
    }
    static void gru_state(size_t n, const T* wh, const T* uh, const T* z, const T* h_prev, bool use_tanh, T* hc, T* h) {
        for (size_t k = 0; k < n; ++k) gru_state_at(wh[k], uh[k], z[k], h_prev[k], use_tanh, hc + k, h + k);
    }
    static void gru_state_backward(size_t n, const T* dh, const T* z, const T* hc, const T* h_prev, bool use_tanh,
                                   T* dzz, T* dzh, T* dh_prev) {
        for (size_t k = 0; k < n; ++k)
            gru_state_backward_at(dh[k], z[k], hc[k], h_prev[k], use_tanh, dzz + k, dzh + k, dh_prev + k);
    }
    static void gru_reset_backward(size_t n, const T* ds, const T* r, const T* h_prev, T* dzr, T* dh_prev) {
        for (size_t k = 0; k < n; ++k) gru_reset_backward_at(ds[k], r[k], h_prev[k], dzr + k, dh_prev + k);
    }
};

#ifdef DN_GPU
/// first[g]: the params() index of block g's biases (its device arrays, Layer::gpu_value).
template <class L, class TT>
struct DeviceOps {
    using T = TT;
    using Buf = DeviceBuffer<T>;
    L& l;
    std::vector<size_t> first;
    static void resize(Buf& b, size_t n) { b.resize(n); }
    static void fill0(T* p, size_t n) { fill_gpu(p, n, 0.f); }
    static void copy(const T* from, T* to, size_t n) { copy_gpu(from, to, n); }
    static void add(const T* x, T* y, size_t n) { axpy_gpu(n, 1.f, x, y); }
    static void swap_stats(Dense<T>& d, Buf& mean, Buf& inv_std) {
        std::swap(d.bn.mean_gpu, mean);
        std::swap(d.bn.inv_std_gpu, inv_std);
    }
    void gate_forward(int g, const T* x, int N, T* y, T* pre, T* act, bool train) {
        l.gates[g].forward_gpu(l, first[g], x, N, y, pre, act, train);
    }
    void gate_backward(int g, const T* x, int N, const T* y, T* dy, const T* pre, const T* act, T* dx) {
        l.gates[g].backward_gpu(l, first[g], x, N, y, dy, pre, act, dx);
    }
    static void lstm_forward(size_t n, const T* const z[8], const T* c_prev, T* i, T* f, T* o, T* g, T* c, T* h) {
        lstm_forward_gpu(n, z, c_prev, i, f, o, g, c, h);
    }
    static void lstm_backward(size_t n, const T* dh, const T* dc_next, const T* i, const T* f, const T* o, const T* g,
                              const T* c, const T* c_prev, T* dzi, T* dzf, T* dzo, T* dzg, T* dc_prev) {
        lstm_backward_gpu(n, dh, dc_next, i, f, o, g, c, c_prev, dzi, dzf, dzo, dzg, dc_prev);
    }
    static void gru_gates(size_t n, const T* wz, const T* uz, const T* wr, const T* ur, const T* h_prev, T* z, T* r,
                          T* s) {
        gru_gates_gpu(n, wz, uz, wr, ur, h_prev, z, r, s);
    }
    static void gru_state(size_t n, const T* wh, const T* uh, const T* z, const T* h_prev, bool use_tanh, T* hc, T* h) {
        gru_state_gpu(n, wh, uh, z, h_prev, use_tanh, hc, h);
    }
    static void gru_state_backward(size_t n, const T* dh, const T* z, const T* hc, const T* h_prev, bool use_tanh,
                                   T* dzz, T* dzh, T* dh_prev) {
        gru_state_backward_gpu(n, dh, z, hc, h_prev, use_tanh, dzz, dzh, dh_prev);
    }
    static void gru_reset_backward(size_t n, const T* ds, const T* r, const T* h_prev, T* dzr, T* dh_prev) {
        gru_reset_backward_gpu(n, ds, r, h_prev, dzr, dh_prev);
    }
};
#endif

}  // namespace dn
