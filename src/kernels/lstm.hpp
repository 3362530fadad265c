// [lstm]'s cell per value (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al.
// 2000): host and device code, called by the CPU loop (lstm_layer.cpp) and a GPU thread per value
// (layers_gpu.cu).
#pragma once

#include <cmath>

#include "kernels/gpu_index.hpp"  // DN_HD

namespace dn {

/// The gate pre-activations z_q = W_q h_{t-1} + U_q x_t arrive as their two halves (the state
/// block's and the input block's outputs). i, f, o = logistic(z), g = tanh(z_g),
/// c = f c_prev + i g, h = o tanh(c).
template <class T>
DN_HD inline void lstm_forward_at(T wi, T ui, T wf, T uf, T wo, T uo, T wg, T ug, T c_prev, T* i, T* f, T* o, T* g,
                                  T* c, T* h) {
    const T one = 1;
    *i = one / (one + exp(-(wi + ui)));
    *f = one / (one + exp(-(wf + uf)));
    *o = one / (one + exp(-(wo + uo)));
    *g = tanh(wg + ug);
    *c = *f * c_prev + *i * *g;
    *h = *o * tanh(*c);
}

// Backward of one value, dh = dL/dh_t (from y_t and from step t+1) and dc_next = dL/dc_t from
// step t+1 (through c_{t+1} = f_{t+1} c_t + ...):
//   dL/dc_t = dh o (1 - tanh^2 c_t) + dc_next,
//   dz_o = dh tanh(c_t) o (1 - o),  dz_i = dc g i (1 - i),  dz_g = dc i (1 - g^2),
//   dz_f = dc c_{t-1} f (1 - f),  and dL/dc_{t-1} = dc f (the next step down's dc_next).
/// Writes dz_i, dz_f, dz_o, dz_g and dc_prev.
template <class T>
DN_HD inline void lstm_backward_at(T dh, T dc_next, T i, T f, T o, T g, T c, T c_prev, T* dzi, T* dzf, T* dzo, T* dzg,
                                   T* dc_prev) {
    const T one = 1, tc = tanh(c);
    const T dc = dh * o * (one - tc * tc) + dc_next;
    *dzo = dh * tc * o * (one - o);
    *dzi = dc * g * i * (one - i);
    *dzg = dc * i * (one - g * g);
    *dzf = dc * c_prev * f * (one - f);
    *dc_prev = dc * f;
}

}  // namespace dn
