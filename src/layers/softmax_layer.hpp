// [softmax]: softmax over groups of the input; the cross-entropy loss when it ends the network.
#pragma once

#include <vector>

#include "darknet/layer.hpp"
#include "layers/gpu_decls.hpp"

namespace dn {

/// Keys: groups (default 1; softmax over each of `groups` contiguous slices of the input),
/// temperature (default 1), spatial (softmax over channels at each position).
/// As the last layer of a training network with labels, its loss is cross-entropy
/// L = -sum t log y and its delta is dL/d(input) = (y - t)/temperature (the exact gradient of the
/// composed softmax + cross-entropy). Elsewhere its backward is the softmax Jacobian.
template <class T>
class SoftmaxLayer : public Layer<T> {
public:
    explicit SoftmaxLayer(const BuildContext<T>& b);
    const char* type() const override { return "softmax"; }
    void forward(Network<T>& net) override;
    void backward(Network<T>& net) override;
    DN_GPU_LAYER_DECLS
    std::string describe() const override;
    void resize(Network<T>& net, int new_w, int new_h) override;
    void random_truth(std::mt19937_64& rng, T* truth) const override;

    /// The groups as the GPU kernels take them (softmax_forward_gpu): groups per image, elements per
    /// group, element stride, group stride (spatial: H*W groups of C elements H*W apart).
    void gpu_groups(int* ngroups, int* n, int* stride, int* group_stride) const;

    int groups = 1;
    float temperature = 1;
    bool spatial = false;

private:
    bool loss_mode_ = false;  ///< the last forward computed the loss (delta = dL/d input)
    template <class F>
    void for_each_group(F&& f) const;  ///< f(offset, count, stride) per softmax group
};

}  // namespace dn
