// [reorg]: Darknet's space-to-depth for YOLOv2's passthrough, with Darknet's own index mapping;
// [reorg3d]: AlexeyAB's true space-to-depth.
#pragma once

#include <string>

#include "darknet/layer.hpp"
#include "kernels/index_maps.hpp"
#include "layers/gpu_decls.hpp"

namespace dn {

/// Keys: stride (1), reverse (0); flatten and extra are errors. Output: W/s x H/s x C*s*s, or with
/// reverse=1 W*s x H*s x C/(s*s). The mapping is Darknet's reorg_cpu (pjreddie's and AlexeyAB's,
/// which YOLOv2's weights were trained with): with the input's sizes w, h, c, for every input
/// position (i, j, k) of image b, c' = c/(s*s), k' = k mod c', o = k div c',
///   in  = i + w (j + h (k + c b))
///   out = (i s + o mod s) + w s ((j s + o div s) + h s (k' + c' b))
/// and y[in] = x[out] (y[out] = x[in] with reverse=1): a permutation, not the textbook
/// space-to-depth; c must be divisible by s*s either way (OpenCV's importer computes the same).
/// [reorg3d] (AlexeyAB's) runs the same formulas over the output's sizes instead, which is the
/// space-to-depth y[o c + k][j][i] = x[k][j s + o div s][i s + o mod s]; reverse=1 is an error
/// there. Backward applies the transpose. On a GPU both run as one gather/scatter kernel over the
/// same ReorgMap (reorg_gpu).
template <class T>
class ReorgLayer : public Layer<T> {
public:
    explicit ReorgLayer(const BuildContext<T>& b);
    const char* type() const override { return space_to_depth_ ? "reorg3d" : "reorg"; }
    void forward(Network<T>& net) override;
    void backward(Network<T>& net) override;
    DN_GPU_LAYER_DECLS
    std::string describe() const override;
    void resize(Network<T>& net, int new_w, int new_h) override;

    /// The mapping over this layer's sizes ([reorg]: its input's; [reorg3d]: its output's).
    ReorgMap map() const;

    int stride = 1;
    bool reverse = false;

private:
    /// Calls f(in, out) for every element pair of Darknet's mapping (sizes of this layer's input).
    template <class F>
    void for_each_pair(F&& f) const;
    void set_out_shape();
    bool space_to_depth_ = false;  ///< [reorg3d]
};

}  // namespace dn
