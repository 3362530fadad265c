// [lstm]'s step loops, shared by the CPU (lstm_layer.cpp) and the GPU (lstm_layer.cu) through
// the Ops of recurrent_ops.hpp.
#pragma once

#include <cstddef>
#include <utility>

#include "gate_steps.hpp"
#include "lstm_layer.hpp"

namespace dn {

template <class Ops>
struct LstmSteps : GateSteps<Ops, LstmLayer<typename Ops::T>, 8> {
    using Base = GateSteps<Ops, LstmLayer<typename Ops::T>, 8>;
    using T = typename Ops::T;
    using Buf = typename Ops::Buf;
    using Base::gate_backward;
    using Base::gate_forward;
    using Base::l;
    using Base::NI;
    using Base::NO;
    typename LstmLayer<T>::template Saved<Buf>& s;

    LstmSteps(LstmLayer<T>& layer, Ops& o, typename LstmLayer<T>::template Saved<Buf>& saved)
        : Base{layer, o, saved.gates}, s(saved) {}

    void size() {
        const size_t no = NO(), T_ = static_cast<size_t>(l.steps);
        Ops::resize(s.h, (T_ + 1) * no);
        Ops::resize(s.c, (T_ + 1) * no);
        if (s.carry_h.size() != no) Ops::resize(s.carry_h, no), Ops::resize(s.carry_c, no);
        for (auto& a : s.act) Ops::resize(a, T_ * no);
        this->size_gates();
    }

    T* act(int k, int t) { return s.act[k].data() + t * NO(); }

    /// x [T N I] -> out [T N O]; LstmLayer's equations (lstm_layer.hpp).
    void forward(const T* x, T* out, bool train, bool keep_carry) {
        const size_t no = NO(), ni = NI();
        T *H = s.h.data(), *C = s.c.data();
        if (train) {
            Ops::fill0(H, no);
            Ops::fill0(C, no);
        } else {
            Ops::copy(s.carry_h.data(), H, no);
            Ops::copy(s.carry_c.data(), C, no);
        }
        for (int t = 0; t < l.steps; ++t) {
            for (int q = 0; q < 4; ++q) gate_forward(q, t, H + t * no, train);
            for (int q = 4; q < 8; ++q) gate_forward(q, t, x + t * ni, train);
            const T* z[8];
            for (int q = 0; q < 8; ++q) z[q] = this->out(q);
            Ops::lstm_forward(no, z, C + t * no, act(0, t), act(1, t), act(2, t), act(3, t), C + (t + 1) * no,
                              H + (t + 1) * no);
            Ops::copy(H + (t + 1) * no, out + t * no, no);
        }
        if (!train && keep_carry) {
            Ops::copy(H + l.steps * no, s.carry_h.data(), no);
            Ops::copy(C + l.steps * no, s.carry_c.data(), no);
        }
    }

    // Backward through time, t = T-1 down to 0: dL/dh_t is dy_t plus what step t+1's state blocks
    // sent back (W_q^T dz_q,t+1), dL/dc_t comes from step t+1 through c_{t+1} = f c_t + ...; the
    // cell's backward (kernels/lstm.hpp) gives the four dz_q,t and dL/dc_{t-1}; each W_q's
    // backward adds W_q^T dz_q,t into dL/dh_{t-1} (not formed for the constant h_0) and its
    // parameter gradients, each U_q's adds U_q^T dz_q,t into dL/dx_t and its own. Unlike
    // pjreddie's, whose backward at t = 0 takes step 0's own cell and output for the previous
    // state (not the initial one) and uses the last step's batchnorm statistics at every step,
    // this is the gradient of the forward.
    void backward(const T* x, const T* dout, T* dx) {
        const size_t no = NO(), ni = NI();
        for (Buf* b : {&s.dh, &s.dh_next, &s.dc_next, &s.dc_prev, &s.dzc}) Ops::resize(*b, no);
        for (auto& d : s.dz) Ops::resize(d, no);
        Ops::fill0(s.dh_next.data(), no);
        Ops::fill0(s.dc_next.data(), no);
        T *H = s.h.data(), *C = s.c.data();
        for (int t = l.steps - 1; t >= 0; --t) {
            Ops::copy(dout + t * no, s.dh.data(), no);
            Ops::add(s.dh_next.data(), s.dh.data(), no);
            Ops::lstm_backward(no, s.dh.data(), s.dc_next.data(), act(0, t), act(1, t), act(2, t), act(3, t),
                               C + (t + 1) * no, C + t * no, s.dz[0].data(), s.dz[1].data(), s.dz[2].data(),
                               s.dz[3].data(), s.dc_prev.data());
            Ops::fill0(s.dh_next.data(), no);
            for (int q = 0; q < 4; ++q) {
                Ops::copy(s.dz[q].data(), s.dzc.data(), no);
                gate_backward(q, t, H + t * no, s.dzc.data(), t > 0 ? s.dh_next.data() : nullptr);
                Ops::copy(s.dz[q].data(), s.dzc.data(), no);
                gate_backward(q + 4, t, x + t * ni, s.dzc.data(), dx ? dx + t * ni : nullptr);
            }
            std::swap(s.dc_next, s.dc_prev);
        }
    }
};

}  // namespace dn
