// [normalization] / [lrn]: local response normalization across channels (kernels/lrn.hpp).
#pragma once

#include "darknet/layer.hpp"
#include "layers/gpu_decls.hpp"
#include "kernels/lrn.hpp"

namespace dn {

/// Keys: size (5), alpha (.0001, not divided by size), beta (.75), kappa (1). Input and output
/// [N, C, H, W]. Backward is exact (Darknet's is an approximation that also overwrites net.delta)
/// and keeps no state: it reads the forward input again and recomputes the norms.
template <class T>
class NormalizationLayer : public Layer<T> {
public:
    explicit NormalizationLayer(const BuildContext<T>& b);
    const char* type() const override { return "normalization"; }
    void forward(Network<T>& net) override;
    void backward(Network<T>& net) override;
    DN_GPU_LAYER_DECLS
    std::string describe() const override;
    double flops() const override { return (4.0 + 2 * p.size) * this->outputs(); }
    void resize(Network<T>& net, int new_w, int new_h) override;

    LrnParams p;
};

}  // namespace dn
