// [shortcut]: residual addition of earlier layers' outputs to the previous layer's, then activation.
#pragma once

#include <vector>

#include "darknet/layer.hpp"
#include "layers/gpu_decls.hpp"
#include "kernels/activations.hpp"

namespace dn {

/// Keys: from (one or more indices, negative = relative), activation (default linear).
/// y = f(x_prev + sum_from x_from). A `from` layer of another size is added Darknet's way: over the
/// common channels, with the spatial stride/sample of pjreddie's shortcut_cpu.
template <class T>
class ShortcutLayer : public Layer<T> {
public:
    explicit ShortcutLayer(const BuildContext<T>& b);
    const char* type() const override { return "shortcut"; }
    void forward(Network<T>& net) override;
    void backward(Network<T>& net) override;
    DN_GPU_LAYER_DECLS
    std::string describe() const override;
    double flops() const override { return static_cast<double>(this->outputs()) * from.size(); }
    void resize(Network<T>& net, int new_w, int new_h) override;
    std::vector<int> reads() const override {
        std::vector<int> r = from;
        r.push_back(this->index - 1);
        return r;
    }

    std::vector<int> from;  ///< absolute indices
    Activation activation = Activation::Linear;

private:
    std::vector<T> x_act_;  ///< activation input (training, activations that need it)
#ifdef DN_GPU
    DeviceBuffer<T> x_act_gpu_;
    bool gpu_keep_act_ = false;
#endif
};

}  // namespace dn
