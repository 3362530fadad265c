// [convolutional]: 2-D convolution with groups (depthwise when groups == channels == filters),
// optional batch_normalize=1, bias and activation.
#pragma once

#include <vector>

#include <memory>

#include "batchnorm_layer.hpp"
#include "layers/antialias.hpp"
#include "layers/channel_norm.hpp"
#include "darknet/layer.hpp"
#include "layers/gpu_decls.hpp"
#include "kernels/activations.hpp"
#include "kernels/blas.hpp"

namespace dn {

/// Keys: filters, size, stride (stride_x, stride_y), pad (padding = size/2) or padding, groups,
/// dilation, batch_normalize, activation (elementwise, or AlexeyAB's normalize_channels,
/// normalize_channels_softmax, normalize_channels_softmax_maxval across the channels). Input [N, C, H, W] -> output [N, filters, out_h, out_w],
/// out = (H + 2*padding - dilation*(size-1) - 1)/stride + 1.
/// antialiasing=1|2 (AlexeyAB): the convolution, batchnorm and activation run at stride 1, then the
/// fixed blur of layers/antialias.hpp takes the stride (the output size is the blur's).
/// Weights [filters][C/groups][size][size]; Darknet file order: biases, (scales, rolling_mean,
/// rolling_variance), weights.
template <class T>
class ConvolutionalLayer : public Layer<T> {
public:
    explicit ConvolutionalLayer(const BuildContext<T>& b);
    const char* type() const override { return "convolutional"; }
    void forward(Network<T>& net) override;
    void backward(Network<T>& net) override;
    std::vector<Param<T>> params() override;
    void alloc_grads() override {
        if (weight_grads.size() != weights.size()) weight_grads.assign(weights.size(), T(0));
    }
    void load_weights(WeightsReader& r) override;
    size_t unloaded_bytes() const override;
    void save_weights(WeightsWriter& w) const override;
    size_t workspace_size() const override;
    void params_changed() override { fused_valid_ = false; }
    double flops() const override;
    std::string describe() const override;
    void resize(Network<T>& net, int new_w, int new_h) override;
    DN_GPU_LAYER_DECLS

    int filters = 0, size = 1, stride_x = 1, stride_y = 1, padding = 0, groups = 1, dilation = 1;
    bool batch_normalize = false;
    /// Darknet's numload=N (1..filters; 0 = all): the weights file holds the first N filters of
    /// this layer (their biases, batchnorm arrays and weights); the others keep their initial values.
    int numload = 0;
    Activation activation = Activation::Logistic;
    std::vector<T> weights, weight_grads;  ///< [filters][c/groups][size][size]
    std::vector<T> biases, bias_grads;     ///< [filters]; beta when batch_normalize
    BatchNorm<T> bn;
    AntiAlias<T> aa;  ///< antialiasing=1|2: the stride-2 blur after the activation
    ChannelNorm<T> cn;  ///< activation=normalize_channels*: across the channels, after the rest

private:
    /// Geometry for the CPU kernels: one group's (im2col + GEMM), or all channels for the depthwise
    /// kernel (kernels/depthwise.hpp), which walks them itself.
    ConvGeom geom() const;
    /// Geometry of one group (channels = c / groups) whatever the kernel: what im2col of one group
    /// takes (the GPU's im2col + cuBLAS path, depthwise included).
    ConvGeom group_geom() const;
    bool depthwise() const { return groups == this->c && filters == this->c && groups > 1; }
    bool direct_1x1() const;
    /// out[filters, oh*ow] = act(W (*) in + bias) for one image; bias null: no bias, no activation.
    void convolve(const T* in, const T* w, T* out, T* ws, const T* bias, Activation act) const;
    void update_fusion();

    std::vector<T> x_pre_;   ///< conv output before batchnorm (training)
    std::vector<T> x_act_;   ///< activation input (training, activations that need it)
    std::vector<T> fused_w_, fused_b_;  ///< batchnorm folded into weights (inference)
    bool fused_valid_ = false;
    bool last_fused_ = false;
#ifdef DN_GPU
    DeviceBuffer<T> x_pre_gpu_, x_act_gpu_;  ///< device twins of x_pre_, x_act_
    std::shared_ptr<void> cudnn_;            ///< cuDNN descriptors and algorithms (CUDNN=1)
    bool gpu_keep_act_ = false;
#endif
};

}  // namespace dn
