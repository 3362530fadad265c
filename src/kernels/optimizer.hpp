// The optimizer steps of Layer::update (CPU) and Layer::update_gpu (blas.cu): one formula per
// element, compiled for both, so that the two cannot drift apart.
//
// Gradients here are in true-gradient form: g = dL/dw summed over the `batch` images of a step
// (Darknet keeps -g in `*_updates`; see Layer::update for the translation).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "kernels/gpu_index.hpp"  // DN_HD

namespace dn {

/// Darknet's SGD step with momentum and L2 decay for one element (Darknet's update_*_layer):
///     g += decay*w (when apply_decay);   w -= lr*g;   g *= momentum.
/// lr is the learning rate over the batch (learning_rate / batch), decay is decay * batch.
template <class T>
DN_HD inline void sgd_step(T& w, T& g, T lr, T decay, T momentum, bool apply_decay) {
    T gi = g;
    if (apply_decay) gi += decay * w;
    w -= lr * gi;
    g = gi * momentum;
}

/// [net] ema_alpha's step for one element (AlexeyAB's moving average of the weights):
///     e = alpha*e + (1 - alpha)*w.
template <class T>
DN_HD inline void ema_follow(T& e, T w, T alpha) {
    e = alpha * e + (T(1) - alpha) * w;
}

/// The coefficients of Adam's step t (t = 1 for the first step since the moments were zero).
template <class T>
struct AdamStep {
    T lr;     ///< learning rate (Darknet's: not divided by the batch)
    T b1, b2; ///< decay rates of the first and second moment estimates (cfg B1, B2)
    T eps;    ///< added to sqrt(v_hat) (cfg eps)
    T decay;  ///< L2 decay * batch, added to the gradient of every trained array
    T c1, c2; ///< bias corrections 1 / (1 - b1^t), 1 / (1 - b2^t)
};

/// Adam's coefficients for step t >= 1; the bias corrections are computed in double.
template <class T>
AdamStep<T> make_adam_step(double lr, double b1, double b2, double eps, double decay, int64_t t) {
    const double td = static_cast<double>(t);
    return {static_cast<T>(lr), static_cast<T>(b1), static_cast<T>(b2), static_cast<T>(eps), static_cast<T>(decay),
            static_cast<T>(1.0 / (1.0 - std::pow(b1, td))), static_cast<T>(1.0 / (1.0 - std::pow(b2, td)))};
}

/// One element of Adam (Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015,
/// Algorithm 1), with L2 decay added to the gradient as Darknet's adam_update_gpu does:
///     g' = g + decay*w
///     m  = b1*m + (1 - b1)*g'          v = b2*v + (1 - b2)*g'^2
///     w -= lr * (m*c1) / (sqrt(v*c2) + eps)
///     g  = 0                           (the next step's gradient starts from zero)
template <class T>
DN_HD inline void adam_step(T& w, T& g, T& m, T& v, const AdamStep<T>& s) {
    const T gi = g + s.decay * w;
    const T mi = s.b1 * m + (T(1) - s.b1) * gi;
    const T vi = s.b2 * v + (T(1) - s.b2) * gi * gi;
    m = mi;
    v = vi;
    w -= s.lr * (mi * s.c1) / (std::sqrt(vi * s.c2) + s.eps);
    g = T(0);
}

/// Adam over n elements (the CPU side of adam_update_gpu).
template <class T>
inline void adam_update(T* w, T* g, T* m, T* v, size_t n, const AdamStep<T>& s) {
    for (size_t i = 0; i < n; ++i) adam_step(w[i], g[i], m[i], v[i], s);
}

}  // namespace dn
