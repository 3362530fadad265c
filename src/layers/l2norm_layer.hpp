// [l2norm] (pjreddie's l2norm_layer): each position's channel vector scaled to unit length.
#pragma once

#include <string>

#include "darknet/layer.hpp"
#include "layers/gpu_decls.hpp"

namespace dn {

/// No keys; input and output [N, C, H, W]. y[n, :, s] = x[n, :, s] / max(||x[n, :, s]||_2, 1e-12)
/// (kernels/l2norm.hpp). Darknet's backward passes the gradient through unchanged (the identity);
/// this one is the exact Jacobian.
template <class T>
class L2normLayer : public Layer<T> {
public:
    explicit L2normLayer(const BuildContext<T>& b);
    const char* type() const override { return "l2norm"; }
    void forward(Network<T>& net) override;
    void backward(Network<T>& net) override;
    DN_GPU_LAYER_DECLS
    std::string describe() const override;
    void resize(Network<T>& net, int new_w, int new_h) override;
};

}  // namespace dn
