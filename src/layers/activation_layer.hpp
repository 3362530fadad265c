// [activation] (Darknet's activation_layer) and AlexeyAB's [empty] / [silence]: an elementwise
// activation, or the identity, of the previous layer's output.
#pragma once

#include <string>
#include <vector>

#include "darknet/layer.hpp"
#include "kernels/activations.hpp"
#include "layers/channel_norm.hpp"
#include "layers/gpu_decls.hpp"

namespace dn {

/// Input and output NCHW of the same shape. [activation]: y = f(x) with key activation (default
/// linear, as Darknet's parse_activation; AlexeyAB's normalize_channels* across the channels); [empty] and [silence] (AlexeyAB's): y = x, no keys.
template <class T>
class ActivationLayer : public Layer<T> {
public:
    explicit ActivationLayer(const BuildContext<T>& b);
    const char* type() const override { return name_.c_str(); }
    void forward(Network<T>& net) override;
    void backward(Network<T>& net) override;
    DN_GPU_LAYER_DECLS
    std::string describe() const override;
    void resize(Network<T>& net, int new_w, int new_h) override;
    bool identity_at_inference() const override { return activation == Activation::Linear && !cn.on(); }

    Activation activation = Activation::Linear;
    ChannelNorm<T> cn;  ///< activation=normalize_channels*: across the channels instead

private:
    std::string name_;      ///< the section name
    std::vector<T> x_act_;  ///< activation input (training, activations that need it)
    DeviceBuffer<T> x_act_gpu_;
    bool gpu_keep_act_ = false;
};

}  // namespace dn
