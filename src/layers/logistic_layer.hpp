// [logistic] (pjreddie's logistic_layer): y = logistic(x) elementwise; the binary cross-entropy
// loss against the labels when it ends the network (multi-label classifiers).
#pragma once

#include <random>
#include <string>

#include "darknet/layer.hpp"
#include "layers/gpu_decls.hpp"

namespace dn {

/// No keys; the shape kept. As the last layer of a training network with labels t (one per value,
/// in [0, 1]): L = sum -t log y - (1-t) log(1-y), computed from the logits x (kernels/cost.hpp,
/// finite where y rounds to 0 or 1), and delta = dL/dx = y - t (the composed gradient). Elsewhere
/// its backward is the logistic's derivative y (1 - y).
template <class T>
class LogisticLayer : public Layer<T> {
public:
    explicit LogisticLayer(const BuildContext<T>& b);
    const char* type() const override { return "logistic"; }
    void forward(Network<T>& net) override;
    void backward(Network<T>& net) override;
    DN_GPU_LAYER_DECLS
    std::string describe() const override;
    void resize(Network<T>& net, int new_w, int new_h) override;
    void random_truth(std::mt19937_64& rng, T* truth) const override;

private:
    bool loss_mode_ = false;  ///< the last forward computed the loss (delta = dL/d input)
};

}  // namespace dn
