// [upsample]: nearest-neighbour upsampling by an integer stride.
#pragma once

#include "darknet/layer.hpp"
#include "layers/gpu_decls.hpp"

namespace dn {

/// Keys: stride (default 2), scale (default 1): y[c][y][x] = scale * x[c][y/stride][x/stride].
template <class T>
class UpsampleLayer : public Layer<T> {
public:
    explicit UpsampleLayer(const BuildContext<T>& b);
    const char* type() const override { return "upsample"; }
    void forward(Network<T>& net) override;
    void backward(Network<T>& net) override;
    DN_GPU_LAYER_DECLS
    std::string describe() const override;
    void resize(Network<T>& net, int new_w, int new_h) override;

    int stride = 2;
    float scale = 1;
};

}  // namespace dn
