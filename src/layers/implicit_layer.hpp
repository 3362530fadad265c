// [implicit]: AlexeyAB's implicit knowledge (YOLOR, representation_layer.c): a trained tensor
// that ignores the layer's input.
#pragma once

#include <string>
#include <vector>

#include "darknet/layer.hpp"
#include "layers/gpu_decls.hpp"

namespace dn {

/// Keys (AlexeyAB's): filters (128), atoms (1), mean (0), std (0.2). Output [N][filters][atoms][1]:
/// every image gets the same trained values `weights` [filters * atoms], initialized uniformly in
/// mean +- std. The input is not read, so dL/d(input) is 0 (nothing is added to net.delta) and
/// dL/dweights = the sum over the batch of dL/dy. Weights file: the weights (AlexeyAB's
/// load_implicit_weights); they take weight decay, as his update does.
template <class T>
class ImplicitLayer : public Layer<T> {
public:
    explicit ImplicitLayer(const BuildContext<T>& b);
    const char* type() const override { return "implicit"; }
    void forward(Network<T>& net) override;
    void backward(Network<T>& net) override;
    DN_GPU_LAYER_DECLS
    std::vector<Param<T>> params() override {
        return {{"weights", weights.data(), weight_grads.data(), weights.size(), true}};
    }
    void alloc_grads() override {
        if (weight_grads.size() != weights.size()) weight_grads.assign(weights.size(), T(0));
    }
    void load_weights(WeightsReader& r) override;
    void save_weights(WeightsWriter& w) const override;
    std::vector<int> reads() const override { return {}; }
    std::string describe() const override;
    void resize(Network<T>& net, int new_w, int new_h) override;

    std::vector<T> weights, weight_grads;
};

}  // namespace dn
