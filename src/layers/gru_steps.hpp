// [gru]'s step loops, shared by the CPU (gru_layer.cpp) and the GPU (gru_layer.cu) through the
// Ops of recurrent_ops.hpp; the cell's math per value is kernels/gru.hpp.
#pragma once

#include <cstddef>

#include "gate_steps.hpp"
#include "gru_layer.hpp"

namespace dn {

template <class Ops>
struct GruSteps : GateSteps<Ops, GruLayer<typename Ops::T>, 6> {
    using Base = GateSteps<Ops, GruLayer<typename Ops::T>, 6>;
    using T = typename Ops::T;
    using Buf = typename Ops::Buf;
    using L = GruLayer<T>;
    using Base::gate_backward;
    using Base::gate_forward;
    using Base::l;
    using Base::NI;
    using Base::NO;
    using Base::out;
    typename L::template Saved<Buf>& s;

    GruSteps(L& layer, Ops& o, typename L::template Saved<Buf>& saved) : Base{layer, o, saved.gates}, s(saved) {}

    void size() {
        const size_t no = NO(), T_ = static_cast<size_t>(l.steps);
        Ops::resize(s.h, (T_ + 1) * no);
        if (s.carry.size() != no) Ops::resize(s.carry, no);
        for (Buf* b : {&s.z, &s.r, &s.s, &s.hc}) Ops::resize(*b, T_ * no);
        this->size_gates();
    }

    T* at(Buf& b, int t) { return b.data() + t * NO(); }

    /// x [T N I] -> out [T N O]; GruLayer's equations (gru_layer.hpp).
    void forward(const T* x, T* y, bool train, bool keep_carry) {
        const size_t no = NO(), ni = NI();
        T* H = s.h.data();
        if (train) Ops::fill0(H, no);
        else Ops::copy(s.carry.data(), H, no);
        for (int t = 0; t < l.steps; ++t) {
            T* h_prev = H + t * no;
            const T* xt = x + t * ni;
            for (int q : {L::kWz, L::kWr}) gate_forward(q, t, h_prev, train);
            for (int q : {L::kUz, L::kUr, L::kUh}) gate_forward(q, t, xt, train);
            Ops::gru_gates(no, out(L::kWz), out(L::kUz), out(L::kWr), out(L::kUr), h_prev, at(s.z, t), at(s.r, t),
                           at(s.s, t));
            gate_forward(L::kWh, t, at(s.s, t), train);
            Ops::gru_state(no, out(L::kWh), out(L::kUh), at(s.z, t), h_prev, l.use_tanh, at(s.hc, t), H + (t + 1) * no);
            Ops::copy(H + (t + 1) * no, y + t * no, no);
        }
        if (!train && keep_carry) Ops::copy(H + l.steps * no, s.carry.data(), no);
    }

    // Backward through time, t = T-1 down to 0. dL/dh_t is dy_t plus what step t+1 sent back
    // (dh_next). Through h_t = z h_{t-1} + (1 - z) hc (kernels/gru.hpp) it gives dL/d(pre z),
    // dL/d(pre hc) and the direct dL/dh_{t-1} = dL/dh_t z. The candidate's blocks take
    // dL/d(pre hc): U_h adds U_h^T dz_h into dL/dx_t, W_h gives ds = W_h^T dz_h, the gradient of
    // its input s = r h_{t-1}, so dL/d(pre r) = ds h_{t-1} r (1 - r) and dL/dh_{t-1} += ds r.
    // W_z and W_r add W^T dz into dL/dh_{t-1} (not formed at t = 0, h_0 being a constant), U_z
    // and U_r add U^T dz into dL/dx_t; every block adds its parameter gradients. pjreddie's CPU
    // backward is an empty function; its GPU one takes step 0's own output for h_0 (time_steps >
    // 1) and uses the last step's batchnorm statistics at every step.
    void backward(const T* x, const T* dy, T* dx) {
        const size_t no = NO(), ni = NI();
        for (Buf* b : {&s.dh, &s.dh_next, &s.ds, &s.dzc}) Ops::resize(*b, no);
        for (auto& d : s.dz) Ops::resize(d, no);
        Ops::fill0(s.dh_next.data(), no);
        const T* H = s.h.data();
        T *dzz = s.dz[0].data(), *dzr = s.dz[1].data(), *dzh = s.dz[2].data();
        for (int t = l.steps - 1; t >= 0; --t) {
            const T* h_prev = H + t * no;
            const T* xt = x + t * ni;
            T* dxt = dx ? dx + t * ni : nullptr;
            Ops::copy(dy + t * no, s.dh.data(), no);
            Ops::add(s.dh_next.data(), s.dh.data(), no);
            Ops::gru_state_backward(no, s.dh.data(), at(s.z, t), at(s.hc, t), h_prev, l.use_tanh, dzz, dzh,
                                    s.dh_next.data());
            Ops::fill0(s.ds.data(), no);
            backward_block(L::kWh, t, at(s.s, t), dzh, s.ds.data());
            backward_block(L::kUh, t, xt, dzh, dxt);
            Ops::gru_reset_backward(no, s.ds.data(), at(s.r, t), h_prev, dzr, s.dh_next.data());
            T* dh_prev = t > 0 ? s.dh_next.data() : nullptr;
            backward_block(L::kWz, t, h_prev, dzz, dh_prev);
            backward_block(L::kUz, t, xt, dzz, dxt);
            backward_block(L::kWr, t, h_prev, dzr, dh_prev);
            backward_block(L::kUr, t, xt, dzr, dxt);
        }
    }

    // Block q's backward from dz (kept: it is copied, as the block's backward consumes it).
    void backward_block(int q, int t, const T* x, const T* dz, T* dx) {
        Ops::copy(dz, s.dzc.data(), NO());
        gate_backward(q, t, x, s.dzc.data(), dx);
    }
};

}  // namespace dn
