// [connected]: fully connected layer, optional batch_normalize=1 (statistics over the batch).
#pragma once

#include <vector>

#include "dense.hpp"
#include "darknet/layer.hpp"
#include "layers/gpu_decls.hpp"

namespace dn {

/// Keys: output, activation (default logistic), batch_normalize. Input [N, I] (any shape,
/// flattened) -> [N, output]. y = f(W x + b), W [output][I]; the math and the Darknet file order
/// are Dense's (dense.hpp).
template <class T>
class ConnectedLayer : public Layer<T> {
public:
    explicit ConnectedLayer(const BuildContext<T>& b);
    const char* type() const override { return "connected"; }
    void forward(Network<T>& net) override;
    void backward(Network<T>& net) override;
    DN_GPU_LAYER_DECLS
    std::vector<Param<T>> params() override;
    void alloc_grads() override { fc.alloc_grads(); }
    void load_weights(WeightsReader& r) override;
    size_t unloaded_bytes() const override;
    void save_weights(WeightsWriter& w) const override;
    double flops() const override { return 2.0 * this->inputs() * this->outputs(); }
    std::string describe() const override;

    Dense<T> fc;

private:
    std::vector<T> x_pre_, x_act_;
#ifdef DN_GPU
    DeviceBuffer<T> x_pre_gpu_, x_act_gpu_;
    bool gpu_keep_act_ = false;
#endif
};

}  // namespace dn
