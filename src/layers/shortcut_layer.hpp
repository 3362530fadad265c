// [shortcut]: residual addition of earlier layers' outputs to the previous layer's, then activation.
#pragma once

#include <vector>

#include "darknet/layer.hpp"
#include "layers/gpu_decls.hpp"
#include "kernels/activations.hpp"
#include "kernels/shortcut_weights.hpp"

namespace dn {

/// Keys: from (one or more indices, negative = relative), activation (default linear),
/// weights_type (none, per_feature, per_channel), weights_normalization (none, relu, softmax).
/// y = f(x_prev + sum_from x_from), shapes [batch, C, H, W]. A `from` layer of another size is
/// added Darknet's way: over the common channels, with the spatial stride/sample of pjreddie's
/// shortcut_cpu. With weights (AlexeyAB's BiFPN-style fusion, kernels/shortcut_weights.hpp):
/// y = f(sum_k w_k x_k) over the K = 1 + from sources (k = 0: the previous layer), one weight per
/// source (per_feature) or per source and channel (per_channel), normalized per group; every
/// source must then have the output's shape. Errors name the cfg key.
template <class T>
class ShortcutLayer : public Layer<T> {
public:
    explicit ShortcutLayer(const BuildContext<T>& b);
    const char* type() const override { return "shortcut"; }
    void forward(Network<T>& net) override;
    void backward(Network<T>& net) override;
    DN_GPU_LAYER_DECLS
    std::string describe() const override;
    double flops() const override { return static_cast<double>(this->outputs()) * from.size() * (weights.empty() ? 1 : 2); }
    std::vector<Param<T>> params() override;
    void alloc_grads() override { weight_grads.resize(weights.size()); }
    void load_weights(WeightsReader& r) override;
    void save_weights(WeightsWriter& w) const override;
    void resize(Network<T>& net, int new_w, int new_h) override;
    std::vector<int> reads() const override {
        std::vector<int> r = from;
        r.push_back(this->index - 1);
        return r;
    }

    std::vector<int> from;  ///< absolute indices
    Activation activation = Activation::Linear;
    /// Weighted fusion: L weights per source (1: per_feature, C: per_channel; 0: no weights), raw
    /// values weights[k * L + l] (Darknet's layout and weights file order; initially 1).
    int weight_groups = 0;
    ShortcutNorm norm = ShortcutNorm::None;
    std::vector<T> weights, weight_grads;

private:
    int sources() const { return static_cast<int>(from.size()) + 1; }
    /// The normalized weights, [K][L] (weights_normalization applied).
    void normalized_weights(std::vector<T>& w) const;
    void weighted_sum(const Network<T>& net, T* out);
    void weighted_backward(Network<T>& net, const T* g);
    std::vector<T> wn_;  ///< normalized_weights() of the last forward
    std::vector<T> x_act_;  ///< activation input (training, activations that need it)
#ifdef DN_GPU
    DeviceBuffer<T> x_act_gpu_, wn_gpu_;
    bool gpu_keep_act_ = false;
#endif
};

}  // namespace dn
