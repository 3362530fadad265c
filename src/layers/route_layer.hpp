// [route]: concatenates (slices of) earlier layers' outputs along channels.
#pragma once

#include <vector>

#include "darknet/layer.hpp"
#include "layers/gpu_decls.hpp"

namespace dn {

/// Keys: layers (indices, negative = relative), groups (default 1), group_id (default 0): each
/// input contributes its channel slice [group_id*C/groups, (group_id+1)*C/groups). All inputs must
/// share width and height.
template <class T>
class RouteLayer : public Layer<T> {
public:
    explicit RouteLayer(const BuildContext<T>& b);
    const char* type() const override { return "route"; }
    void forward(Network<T>& net) override;
    void backward(Network<T>& net) override;
    DN_GPU_LAYER_DECLS
    std::string describe() const override;
    void resize(Network<T>& net, int new_w, int new_h) override;
    std::vector<int> reads() const override { return inputs_idx; }

    std::vector<int> inputs_idx;  ///< absolute indices of the routed layers
    int groups = 1, group_id = 0;
};

}  // namespace dn
