// Dense: one fully connected block, y = f(W x + b) or y = f(BN(W x; beta = b)), the math of
// [connected] and of the three blocks of [rnn] (input, self, output), on the CPU and the GPU.
#pragma once

#include <cstddef>
#include <vector>

#include "batchnorm_layer.hpp"
#include "darknet/layer.hpp"
#include "kernels/activations.hpp"

namespace dn {

class WeightsReader;
class WeightsWriter;

/// Parameters and math of one fully connected block. x [N, inputs] -> y [N, outputs] (rows are
/// images, or time steps x images in [rnn]); W [outputs][inputs], as Darknet stores it.
/// Darknet file order: biases, weights, then (batch_normalize) scales, rolling_mean,
/// rolling_variance; weights stored transposed when the file's major or minor version exceeds
/// 1000 (Darknet's rule). The owner's params() lists them in that order (append_params).
template <class T>
struct Dense {
    int inputs = 0, outputs = 0;
    Activation activation = Activation::Logistic;
    bool batch_normalize = false;
    std::vector<T> weights, weight_grads, biases, bias_grads;
    BatchNorm<T> bn;  ///< beta is `biases`

    /// Shapes and Darknet's initialization: W ~ U(-sqrt(2/inputs), sqrt(2/inputs)), b = 0.
    void init(int in, int out, Activation a, bool batchnorm);
    void alloc_grads() {
        if (weight_grads.size() != weights.size()) weight_grads.assign(weights.size(), T(0));
    }
    /// biases, weights, then bn's scales, rolling_mean, rolling_variance: 2 or 5 entries.
    void append_params(std::vector<Param<T>>& p);
    size_t param_count() const { return batch_normalize ? 5 : 2; }
    void load(WeightsReader& r);
    void save(WeightsWriter& w) const;
    size_t unloaded_bytes() const { return batch_normalize ? bn.unloaded_bytes() : 0; }

    /// Forward of N rows. `pre` [N, outputs]: receives W x, the batchnorm input (needed when
    /// batch_normalize, else unused and may be null). `act` [N, outputs] or null: receives the
    /// pre-activation values, for activations whose derivative needs them (keep_activation_input).
    void forward(const T* x, int N, T* y, T* pre, T* act, bool train);
    /// Backward of N rows, given the forward's x, y, pre and act: dy [N, outputs] = dL/dy is
    /// turned into dL/dz in place; adds dL/db (or dL/dgamma, dL/dbeta), dL/dW, and dL/dx into dx
    /// when dx is not null. Derivation above the definition (dense.cpp).
    void backward(const T* x, int N, const T* y, T* dy, const T* pre, const T* act, T* dx);

#ifdef DN_GPU
    /// The same on device pointers; the parameters are owner's device copies of its params()
    /// entries first .. first + param_count() - 1 (Layer::gpu_value(name, first)).
    void forward_gpu(Layer<T>& owner, size_t first, const T* x, int N, T* y, T* pre, T* act, bool train);
    void backward_gpu(Layer<T>& owner, size_t first, const T* x, int N, const T* y, T* dy, const T* pre,
                      const T* act, T* dx);
#endif

    bool transposed_file = false;  ///< the weights file stored W transposed; save keeps its layout
};

}  // namespace dn
