// [deconvolutional] (pjreddie's; also [deconv]): the transposed 2-D convolution (the adjoint of a
// strided convolution), optional batch_normalize=1, bias and activation.
#pragma once

#include <string>
#include <vector>

#include "batchnorm_layer.hpp"
#include "darknet/layer.hpp"
#include "kernels/activations.hpp"
#include "kernels/blas.hpp"
#include "layers/gpu_decls.hpp"

namespace dn {

/// Keys: filters, size, stride, pad=1 (padding = size/2) or padding, batch_normalize, activation
/// (default logistic). Input [N, C, H, W] -> output [N, filters, out_h, out_w] with
/// out = (in - 1) * stride + size - 2 * padding (pjreddie's make_deconvolutional_layer). Each input
/// value spreads its filter over a size x size window of the output, windows stride apart:
///   z[f, y, x] = sum_{c, i, j} W[c, f, ki, kj] x[c, i, j]  over  y = i stride - padding + ki,
///   x = j stride - padding + kj,
/// so z = col2im(W^T x) with the geometry of the convolution from the output back to the input.
/// Weights [C][filters][size][size]; Darknet file order: biases, (scales, rolling_mean,
/// rolling_variance), weights (as [convolutional]).
template <class T>
class DeconvolutionalLayer : public Layer<T> {
public:
    explicit DeconvolutionalLayer(const BuildContext<T>& b);
    const char* type() const override { return "deconvolutional"; }
    void forward(Network<T>& net) override;
    void backward(Network<T>& net) override;
    DN_GPU_LAYER_DECLS
    std::vector<Param<T>> params() override;
    void alloc_grads() override {
        if (weight_grads.size() != weights.size()) weight_grads.assign(weights.size(), T(0));
    }
    void load_weights(WeightsReader& r) override;
    size_t unloaded_bytes() const override { return batch_normalize ? bn.unloaded_bytes() : 0; }
    void save_weights(WeightsWriter& w) const override;
    size_t workspace_size() const override;
    double flops() const override { return 2.0 * this->c * filters * size * size * this->h * this->w; }
    std::string describe() const override;
    void resize(Network<T>& net, int new_w, int new_h) override;

    int filters = 1, size = 1, stride = 1, padding = 0;
    bool batch_normalize = false;
    Activation activation = Activation::Logistic;
    std::vector<T> weights, weight_grads;  ///< [c][filters][size][size]
    std::vector<T> biases, bias_grads;     ///< [filters]; beta when batch_normalize
    BatchNorm<T> bn;

private:
    /// The convolution from this layer's output [filters, out_h, out_w] to its input [c, h, w]:
    /// im2col of the output is [filters*size*size, h*w].
    ConvGeom out_geom() const;
    /// The GEMM sizes: batch N, input channels C, K = filters*size*size, S = h*w input positions,
    /// F = filters, P = out_h*out_w output positions; values per input and output image.
    struct Sizes {
        int N, C, K, S, F, P;
        size_t per_in, per_out;
    };
    Sizes sizes() const {
        return {this->batch, this->c, filters * size * size, this->h * this->w, filters, this->out_h * this->out_w,
                static_cast<size_t>(this->inputs()), static_cast<size_t>(this->outputs())};
    }

    std::vector<T> x_pre_, x_act_;  ///< before batchnorm; the activation's input (training)
#ifdef DN_GPU
    DeviceBuffer<T> x_pre_gpu_, x_act_gpu_;
    bool gpu_keep_act_ = false;
#endif
};

}  // namespace dn
