// [rnn]'s step loops, shared by the CPU (rnn_layer.cpp) and the GPU (rnn_layer.cu): `Ops`
// (recurrent_ops.hpp) supplies the buffer type and the primitives: resize (exactly n, zeroed when
// the size changes), fill0, copy, add (y += x), swap_stats (a block's batchnorm statistics <-> a
// step's), gate_forward / gate_backward (Dense's math on block g).
#pragma once

#include <cstddef>
#include <utility>

#include "rnn_layer.hpp"

namespace dn {

template <class Ops>
struct RnnSteps {
    using T = typename Ops::T;
    using Buf = typename Ops::Buf;
    RnnLayer<T>& l;
    Ops& ops;
    typename RnnLayer<T>::template Saved<Buf>& s;

    int N() const { return l.streams(); }
    size_t NH() const { return static_cast<size_t>(N()) * l.hidden; }
    size_t rows(int g) const { return static_cast<size_t>(N()) * l.gates[g].outputs; }

    T* at(Buf& b, size_t off) { return b.empty() ? nullptr : b.data() + off; }

    // Sizes what the pass keeps: pre-activation copies only for activations whose derivative
    // needs them (keep_act[g]), batchnorm inputs and statistics only with batch_normalize.
    void size(const bool keep_act[3]) {
        const int Tn = l.steps;
        Ops::resize(s.state, (Tn + 1) * NH());
        if (s.carry.size() != NH()) Ops::resize(s.carry, NH());
        for (int g = 0; g < 2; ++g) Ops::resize(s.y[g], Tn * rows(g));
        for (int g = 0; g < 3; ++g) {
            const Dense<T>& d = l.gates[g];
            Ops::resize(s.pre[g], d.batch_normalize ? Tn * rows(g) : 0);
            Ops::resize(s.act[g], keep_act[g] ? Tn * rows(g) : 0);
            s.mean[g].resize(d.batch_normalize ? Tn : 0);
            s.inv_std[g].resize(d.batch_normalize ? Tn : 0);
            for (int t = 0; d.batch_normalize && t < Tn; ++t) {
                Ops::resize(s.mean[g][t], d.outputs);
                Ops::resize(s.inv_std[g][t], d.outputs);
            }
        }
    }

    void gate_forward(int g, int t, const T* x, T* y, bool train) {
        Dense<T>& d = l.gates[g];
        const size_t off = t * rows(g);
        if (d.batch_normalize) Ops::swap_stats(d, s.mean[g][t], s.inv_std[g][t]);
        ops.gate_forward(g, x, N(), y, at(s.pre[g], off), at(s.act[g], off), train);
        if (d.batch_normalize) Ops::swap_stats(d, s.mean[g][t], s.inv_std[g][t]);
    }

    void gate_backward(int g, int t, const T* x, const T* y, T* dy, T* dx) {
        Dense<T>& d = l.gates[g];
        const size_t off = t * rows(g);
        if (d.batch_normalize) Ops::swap_stats(d, s.mean[g][t], s.inv_std[g][t]);
        ops.gate_backward(g, x, N(), y, dy, at(s.pre[g], off), at(s.act[g], off), dx);
        if (d.batch_normalize) Ops::swap_stats(d, s.mean[g][t], s.inv_std[g][t]);
    }

    /// x [T N I] -> out [T N O]; RnnLayer's equations (rnn_layer.hpp). keep_carry: a
    /// non-training pass leaves S_T as the next one's S_0.
    void forward(const T* x, T* out, bool train, bool keep_carry) {
        const size_t nh = NH(), in = static_cast<size_t>(N()) * l.inputs();
        T* S = s.state.data();
        if (train) Ops::fill0(S, nh);
        else Ops::copy(s.carry.data(), S, nh);
        for (int t = 0; t < l.steps; ++t) {
            T* It = s.y[0].data() + t * nh;
            T* Rt = s.y[1].data() + t * nh;
            T* St = S + t * nh;
            T* Snext = St + nh;
            gate_forward(RnnLayer<T>::kInput, t, x + t * in, It, train);
            gate_forward(RnnLayer<T>::kSelf, t, St, Rt, train);
            if (l.shortcut) Ops::copy(St, Snext, nh);
            else Ops::fill0(Snext, nh);
            Ops::add(It, Snext, nh);
            Ops::add(Rt, Snext, nh);
            gate_forward(RnnLayer<T>::kOutput, t, Snext, out + t * rows(RnnLayer<T>::kOutput), train);
        }
        if (!train && keep_carry) Ops::copy(S + l.steps * nh, s.carry.data(), nh);
    }

    // Backward through time. With G_t = dL/dS_t (t = 1 .. T): S_{t+1} feeds y_t (output block),
    // R_{t+1} (self block) and, with shortcut, S_{t+2} directly, so going from t = T-1 down to 0,
    //   G_{t+1} += W_o^T dz_o,t                 (output block's backward, dz_o,t from dy_t)
    // and G_{t+1} is then complete. I_t and R_t enter S_{t+1} with weight 1, so both blocks
    // receive dL/dI_t = dL/dR_t = G_{t+1}; their backward passes give
    //   G_t += W_s^T dz_s,t (+ G_{t+1} with shortcut),  dL/dx_t += W_i^T dz_i,t,
    // and each block adds its weight and bias (or gamma/beta) gradients. S_0 is a constant (zero,
    // or the carried state), so G_0 is not formed. Unlike Darknet's, whose backward rebuilds
    // S_{t+1} without the shortcut term, feeds the input block the self block's delta after its
    // activation derivative was applied (CPU), and uses the last step's batchnorm statistics for
    // every step, this is the gradient of the forward above.
    void backward(const T* x, const T* out, T* dout, T* dx) {
        const size_t nh = NH(), in = static_cast<size_t>(N()) * l.inputs();
        Ops::resize(s.dstate, (l.steps + 1) * nh);
        Ops::resize(s.dgate, nh);
        Ops::fill0(s.dstate.data(), (l.steps + 1) * nh);
        T* S = s.state.data();
        T* G = s.dstate.data();
        T* dz = s.dgate.data();
        const size_t on = rows(RnnLayer<T>::kOutput);
        for (int t = l.steps - 1; t >= 0; --t) {
            T* Gnext = G + (t + 1) * nh;
            gate_backward(RnnLayer<T>::kOutput, t, S + (t + 1) * nh, out + t * on, dout + t * on, Gnext);
            Ops::copy(Gnext, dz, nh);
            gate_backward(RnnLayer<T>::kSelf, t, S + t * nh, s.y[1].data() + t * nh, dz, t > 0 ? G + t * nh : nullptr);
            if (l.shortcut && t > 0) Ops::add(Gnext, G + t * nh, nh);
            Ops::copy(Gnext, dz, nh);
            gate_backward(RnnLayer<T>::kInput, t, x + t * in, s.y[0].data() + t * nh, dz, dx ? dx + t * in : nullptr);
        }
    }
};

}  // namespace dn
