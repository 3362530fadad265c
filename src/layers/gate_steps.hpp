// What the gated recurrent layers ([lstm], [gru]) share in their step loops: K Dense blocks of
// `output` units each, a step's output of each block, and with batch_normalize each block's input
// (W x) and batchnorm statistics per step, swapped into the block around each step's forward and
// backward. Ops: recurrent_ops.hpp (host or device).
#pragma once

#include <array>
#include <cstddef>
#include <vector>

#include "dense.hpp"

namespace dn {

/// A pass's per-block buffers, on the host (std::vector) or the device (DeviceBuffer).
template <class Buf, int K>
struct GateBuffers {
    std::array<Buf, K> out, pre;                    ///< each block's output (one step) [N O], its W x (all steps)
    std::array<std::vector<Buf>, K> mean, inv_std;  ///< batchnorm statistics of each step [O]
};

/// L: the layer (RecurrentLayer<T, K>, every block `output` wide).
template <class Ops, class L, int K>
struct GateSteps {
    using T = typename Ops::T;
    using Buf = typename Ops::Buf;
    L& l;
    Ops& ops;
    GateBuffers<Buf, K>& gb;

    int N() const { return l.streams(); }
    size_t NO() const { return static_cast<size_t>(N()) * l.outputs(); }
    size_t NI() const { return static_cast<size_t>(N()) * l.inputs(); }

    /// Sizes the block buffers for l.steps steps (batchnorm inputs and statistics only with
    /// batch_normalize).
    void size_gates() {
        const size_t no = NO(), T_ = static_cast<size_t>(l.steps);
        for (int q = 0; q < K; ++q) {
            const Dense<T>& d = l.gates[q];
            Ops::resize(gb.out[q], no);
            Ops::resize(gb.pre[q], d.batch_normalize ? T_ * no : 0);
            gb.mean[q].resize(d.batch_normalize ? T_ : 0);
            gb.inv_std[q].resize(d.batch_normalize ? T_ : 0);
            for (size_t t = 0; d.batch_normalize && t < T_; ++t) {
                Ops::resize(gb.mean[q][t], d.outputs);
                Ops::resize(gb.inv_std[q][t], d.outputs);
            }
        }
    }

    T* pre(int q, int t) { return gb.pre[q].empty() ? nullptr : gb.pre[q].data() + t * NO(); }
    T* out(int q) { return gb.out[q].data(); }

    /// Block q's linear output for step t of x [N, inputs of q] into out(q).
    void gate_forward(int q, int t, const T* x, bool train) {
        Dense<T>& d = l.gates[q];
        if (d.batch_normalize) Ops::swap_stats(d, gb.mean[q][t], gb.inv_std[q][t]);
        ops.gate_forward(q, x, N(), gb.out[q].data(), pre(q, t), nullptr, train);
        if (d.batch_normalize) Ops::swap_stats(d, gb.mean[q][t], gb.inv_std[q][t]);
    }

    /// dz: dL/dz of block q's (linear) output at step t, consumed (the output itself is not
    /// read); adds the parameter gradients and, when dx is not null, dL/dx into dx.
    void gate_backward(int q, int t, const T* x, T* dz, T* dx) {
        Dense<T>& d = l.gates[q];
        if (d.batch_normalize) Ops::swap_stats(d, gb.mean[q][t], gb.inv_std[q][t]);
        ops.gate_backward(q, x, N(), dz, dz, pre(q, t), nullptr, dx);
        if (d.batch_normalize) Ops::swap_stats(d, gb.mean[q][t], gb.inv_std[q][t]);
    }
};

}  // namespace dn
