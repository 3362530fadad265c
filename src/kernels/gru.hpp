// [gru]'s cell per value (Cho et al. 2014, "Learning Phrase Representations using RNN
// Encoder-Decoder", eq. 5-8, in pjreddie's form): host and device code, called by the CPU loop
// (recurrent_ops.hpp's HostOps) and a GPU thread per value (layers_gpu.cu).
#pragma once

#include <cmath>

#include "kernels/gpu_index.hpp"  // DN_HD

namespace dn {

/// The candidate's squashing: logistic (pjreddie's default) or tanh (`tanh=1`), and its
/// derivative from its output.
template <class T>
DN_HD inline T gru_squash(T v, bool use_tanh) {
    const T one = 1;
    return use_tanh ? tanh(v) : one / (one + exp(-v));
}
template <class T>
DN_HD inline T gru_squash_grad(T y, bool use_tanh) {
    const T one = 1;
    return use_tanh ? one - y * y : y * (one - y);
}

/// The gates, from their pre-activations' two halves (the state block's W h_{t-1} + b and the
/// input block's U x_t + b'): z = logistic, r = logistic, and the reset state s = r h_{t-1}
/// (the input of the candidate's state block W_h).
template <class T>
DN_HD inline void gru_gates_at(T wz, T uz, T wr, T ur, T h_prev, T* z, T* r, T* s) {
    const T one = 1;
    *z = one / (one + exp(-(wz + uz)));
    *r = one / (one + exp(-(wr + ur)));
    *s = *r * h_prev;
}

/// The candidate hc = squash(W_h s + U_h x) and the new state h = z h_{t-1} + (1 - z) hc
/// (pjreddie's weighted_sum: z keeps the old state).
template <class T>
DN_HD inline void gru_state_at(T wh, T uh, T z, T h_prev, bool use_tanh, T* hc, T* h) {
    const T one = 1;
    *hc = gru_squash(wh + uh, use_tanh);
    *h = z * h_prev + (one - z) * *hc;
}

// Backward of h = z h_prev + (1 - z) hc, given dh = dL/dh_t (from y_t and from step t+1):
//   dL/d(pre z) = dh (h_prev - hc) z (1 - z),   dL/d(pre hc) = dh (1 - z) squash'(hc),
//   and the direct path dL/dh_prev = dh z (written; the blocks add theirs after).
/// Writes dzz, dzh and dh_prev.
template <class T>
DN_HD inline void gru_state_backward_at(T dh, T z, T hc, T h_prev, bool use_tanh, T* dzz, T* dzh, T* dh_prev) {
    const T one = 1;
    *dzz = dh * (h_prev - hc) * z * (one - z);
    *dzh = dh * (one - z) * gru_squash_grad(hc, use_tanh);
    *dh_prev = dh * z;
}

// Backward of s = r h_prev, given ds = dL/ds (W_h's input gradient):
//   dL/d(pre r) = ds h_prev r (1 - r),  dL/dh_prev += ds r.
/// Writes dzr, adds into dh_prev.
template <class T>
DN_HD inline void gru_reset_backward_at(T ds, T r, T h_prev, T* dzr, T* dh_prev) {
    const T one = 1;
    *dzr = ds * h_prev * r * (one - r);
    *dh_prev += ds * r;
}

}  // namespace dn
