#include "cost_layer.hpp"

#include <cstring>

#include "darknet/network.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
CostLayer<T>::CostLayer(const BuildContext<T>& b) {
    const CfgSection& s = b.section;
    std::string t = s.get_str("type", "sse");
    if (t == "sse") cost_type = CostType::Sse;
    else if (t == "masked") cost_type = CostType::Masked;
    else if (t == "L1" || t == "l1") cost_type = CostType::L1;
    else if (t == "smooth") cost_type = CostType::Smooth;
    else s.error("type", "unknown cost type '" + t + "' (sse, masked, L1, smooth)");
    scale = s.get_float("scale", 1);
    set_shape(*this, b, b.w, b.h, b.c);
    this->has_loss = true;
}

template <class T>
void CostLayer<T>::resize(Network<T>&, int new_w, int new_h) {
    this->w = this->out_w = new_w;
    this->h = this->out_h = new_h;
}

template <class T>
void CostLayer<T>::forward(Network<T>& net) {
    const size_t n = this->output.size();
    if (this->output.data() != net.input) std::memcpy(this->output.data(), net.input, n * sizeof(T));
    this->cost = 0;
    if (!net.train || !net.truth) return;
    const T sc = static_cast<T>(scale);
    double cost = 0;
    for (size_t i = 0; i < n; ++i) this->delta[i] = sc * cost_element(cost_type, net.input[i], net.truth[i], &cost);
    this->cost = scale * cost;
}

// Backward: the layer is the identity on values, so dL/dx += delta (= dL/dy set by forward, or by
// the caller when the cost layer is not the loss).
template <class T>
void CostLayer<T>::backward(Network<T>& net) {
    if (!net.delta) return;
    for (size_t i = 0; i < this->delta.size(); ++i) net.delta[i] += this->delta[i];
}

template <class T>
std::string CostLayer<T>::describe() const {
    return strfmt("cost                                           %4d", this->outputs());
}

DN_REGISTER_LAYER(CostLayer, "cost")

}  // namespace dn
