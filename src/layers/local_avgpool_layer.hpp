// [local_avgpool] (AlexeyAB's; also [local_avg]): the average over size x size windows.
#pragma once

#include <string>

#include "darknet/layer.hpp"
#include "layers/antialias.hpp"
#include "layers/gpu_decls.hpp"
#include "layers/layer_util.hpp"

namespace dn {

/// Input and output NCHW; the window geometry of [maxpool] (PoolWindow: size, stride, stride_x,
/// stride_y, padding). Each output is the mean of the window's pixels inside the input (padding
/// excluded from the count, as AlexeyAB's forward_local_avgpool_layer and cuDNN's
/// CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING); a window wholly in the padding gives 0. On a GPU
/// (local_avgpool_forward_gpu / _backward_gpu) the same sums in the same order: bit-identical.
/// antialiasing=1|2 (AlexeyAB): the average at stride 1, then the fixed blur of layers/antialias.hpp.
template <class T>
class LocalAvgpoolLayer : public Layer<T> {
public:
    explicit LocalAvgpoolLayer(const BuildContext<T>& b);
    const char* type() const override { return "local_avgpool"; }
    void forward(Network<T>& net) override;
    void backward(Network<T>& net) override;
    DN_GPU_LAYER_DECLS
    std::string describe() const override;
    double flops() const override;
    void resize(Network<T>& net, int new_w, int new_h) override;

    PoolWindow win;
    AntiAlias<T> aa;  ///< antialiasing=1|2
};

}  // namespace dn
