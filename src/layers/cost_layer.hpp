// [cost]: a loss on the previous layer's output against the labels; identity forward.
#pragma once

#include "darknet/layer.hpp"
#include "kernels/cost.hpp"
#include "layers/gpu_decls.hpp"

namespace dn {

/// Keys: type (sse default, masked, L1, smooth), scale (default 1).
///   sse:    L = scale * 1/2 sum (y - t)^2            dL/dy = scale (y - t)
///   masked: sse over the entries whose label is not -1234 (Darknet's SECRET_NUM)
///   L1:     L = scale * sum |y - t|                  dL/dy = scale sign(y - t)
///   smooth: L = scale * sum huber(y - t), huber(d) = d^2/2 (|d| < 1) else |d| - 1/2
/// (Darknet reports sum (y - t)^2 for sse; here the reported cost is the L whose gradient is used.)
/// The terms are kernels/cost.hpp's cost_element, on the CPU and in cost_gpu alike.
template <class T>
class CostLayer : public Layer<T> {
public:
    explicit CostLayer(const BuildContext<T>& b);
    const char* type() const override { return "cost"; }
    void forward(Network<T>& net) override;
    void backward(Network<T>& net) override;
    DN_GPU_LAYER_DECLS
    std::string describe() const override;
    void resize(Network<T>& net, int new_w, int new_h) override;
    bool identity_at_inference() const override { return true; }

    CostType cost_type = CostType::Sse;
    float scale = 1;
};

}  // namespace dn
