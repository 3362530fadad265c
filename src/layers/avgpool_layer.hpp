// [avgpool]: global average pooling, [N, C, H, W] -> [N, C, 1, 1].
#pragma once

#include "darknet/layer.hpp"
#include "layers/gpu_decls.hpp"

namespace dn {

template <class T>
class AvgpoolLayer : public Layer<T> {
public:
    explicit AvgpoolLayer(const BuildContext<T>& b);
    const char* type() const override { return "avgpool"; }
    void forward(Network<T>& net) override;
    void backward(Network<T>& net) override;
    DN_GPU_LAYER_DECLS
    std::string describe() const override;
    double flops() const override { return static_cast<double>(this->inputs()); }
    void resize(Network<T>&, int new_w, int new_h) override {
        this->w = new_w;
        this->h = new_h;
    }
};

}  // namespace dn
