// [maxpool]: max over size x size windows (Darknet's padding convention) and [avgpool] (global).
#pragma once

#include <vector>

#include "darknet/layer.hpp"
#include "layers/antialias.hpp"
#include "layers/gpu_decls.hpp"

namespace dn {

/// Keys: size (default stride), stride (default 1), stride_x, stride_y, padding (default size-1).
/// out = (in + padding - size)/stride + 1; windows start at -padding/2 and skip positions outside
/// the input (Darknet's forward_maxpool_layer).
/// AlexeyAB's maxpool_depth=1 with out_channels=K (1..channels; default 1): the max over channels
/// instead, out[k][y][x] = max over the input channels j = k, k + K, k + 2K, ... of x[j][y][x] (the
/// first maximum), the size kept; the window keys are read (as his) and unused.
/// antialiasing=1|2 (AlexeyAB): the max at stride 1, then the fixed blur of layers/antialias.hpp
/// at the cfg's strides.
template <class T>
class MaxpoolLayer : public Layer<T> {
public:
    explicit MaxpoolLayer(const BuildContext<T>& b);
    const char* type() const override { return "maxpool"; }
    void forward(Network<T>& net) override;
    void backward(Network<T>& net) override;
    DN_GPU_LAYER_DECLS
    std::string describe() const override;
    double flops() const override;
    void resize(Network<T>& net, int new_w, int new_h) override;

    int size = 1, stride_x = 1, stride_y = 1, padding = 0;
    bool maxpool_depth = false;
    int out_channels = 1;  ///< maxpool_depth: output channels
    AntiAlias<T> aa;        ///< antialiasing=1|2

private:
    std::vector<int> indexes_;  ///< argmax input index per output (training)
#ifdef DN_GPU
    DeviceBuffer<int> indexes_gpu_;
#endif
};

}  // namespace dn
