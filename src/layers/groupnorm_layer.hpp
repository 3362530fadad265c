// [groupnorm]: group normalization (Wu & He 2018; kernels/groupnorm.hpp), optional activation.
#pragma once

#include <vector>

#include "darknet/layer.hpp"
#include "layers/gpu_decls.hpp"
#include "kernels/activations.hpp"

namespace dn {

/// Keys: groups (default 32; must divide the channels), eps (1e-5), activation (linear).
/// Parameters gamma (`scales`) and beta (`biases`) per channel; weights file order: biases, scales.
template <class T>
class GroupnormLayer : public Layer<T> {
public:
    explicit GroupnormLayer(const BuildContext<T>& b);
    const char* type() const override { return "groupnorm"; }
    void forward(Network<T>& net) override;
    void backward(Network<T>& net) override;
    DN_GPU_LAYER_DECLS
    std::vector<Param<T>> params() override;
    void load_weights(WeightsReader& r) override;
    void save_weights(WeightsWriter& w) const override;
    std::string describe() const override;
    double flops() const override { return 4.0 * this->outputs(); }
    void resize(Network<T>& net, int new_w, int new_h) override;

    int groups = 32;
    double eps = 1e-5;
    Activation activation = Activation::Linear;
    std::vector<T> scales, scale_grads, biases, bias_grads;

private:
    std::vector<T> mean_, inv_std_;  ///< per (n, g), from the last forward
    std::vector<T> x_act_;           ///< activation input (training, activations that need it)
#ifdef DN_GPU
    DeviceBuffer<T> mean_gpu_, inv_std_gpu_, x_act_gpu_;
    bool gpu_keep_act_ = false;
#endif
};

}  // namespace dn
