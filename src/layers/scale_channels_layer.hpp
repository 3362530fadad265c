// [scale_channels] and [sam]: an earlier layer's output scaled elementwise by the previous layer's
// (squeeze-and-excitation, spatial attention; AlexeyAB's layers), then an activation.
#pragma once

#include <string>
#include <vector>

#include "darknet/layer.hpp"
#include "kernels/activations.hpp"
#include "kernels/index_maps.hpp"
#include "layers/gpu_decls.hpp"

namespace dn {

/// Keys: from (one index, negative = relative), activation (default linear); [scale_channels]
/// also scale_wh (0). With a = layer `from`'s output [N, C, H, W] and p the previous layer's:
///   [scale_channels]            p is [N, C, 1, 1]:  y = f(a[n,c,s] * p[n,c])
///   [scale_channels] scale_wh=1 p is [N, 1, H, W]:  y = f(a[n,c,s] * p[n,s])
///   [sam]                       p is [N, C, H, W]:  y = f(a[n,c,s] * p[n,c,s])
/// The output has a's shape. Other shapes are cfg errors naming the key. On a GPU: one elementwise
/// kernel forward; backward one elementwise pass for dL/da (and [sam]'s dL/dp) and, for dL/dp of
/// the broadcast modes, a block-per-plane sum (channel) or a thread per position (scale_wh).
template <class T>
class ScaleChannelsLayer : public Layer<T> {
public:
    explicit ScaleChannelsLayer(const BuildContext<T>& b);
    const char* type() const override { return sam_ ? "sam" : "scale_channels"; }
    void forward(Network<T>& net) override;
    void backward(Network<T>& net) override;
    DN_GPU_LAYER_DECLS
    std::string describe() const override;
    double flops() const override { return static_cast<double>(this->outputs()); }
    void resize(Network<T>& net, int new_w, int new_h) override;
    std::vector<int> reads() const override { return {from, this->index - 1}; }

    /// The index into p of each output element (by mode).
    ScaleMap map() const;

    int from = 0;  ///< absolute index
    bool scale_wh = false;
    Activation activation = Activation::Linear;

private:
    void check_shapes(int pw, int ph, int pc, int aw, int ah, int ac, const CfgSection* s) const;
    bool sam_ = false;
    std::vector<T> x_act_;  ///< activation input (training, activations that need it)
    DeviceBuffer<T> x_act_gpu_;
    bool gpu_keep_act_ = false;
};

}  // namespace dn
