#include "implicit_layer.hpp"

#include <cstring>

#include "darknet/network.hpp"
#include "darknet/random.hpp"
#include "darknet/weights.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
ImplicitLayer<T>::ImplicitLayer(const BuildContext<T>& b) {
    const CfgSection& s = b.section;
    const int filters = s.get_int_min("filters", 128, 1), atoms = s.get_int_min("atoms", 1, 1);
    const float mean = s.get_float("mean", 0), sd = s.get_float("std", 0.2f);
    if (!(sd >= 0)) s.error("std", strfmt("must be >= 0, got %g", sd));
    set_shape(*this, b, 1, atoms, filters);
    weights.resize(static_cast<size_t>(this->outputs()));
    fill_uniform(weights.data(), weights.size(), mean - sd, mean + sd);
}

template <class T>
void ImplicitLayer<T>::resize(Network<T>&, int new_w, int new_h) {
    this->w = new_w;  // the output does not depend on the input's size
    this->h = new_h;
}

template <class T>
void ImplicitLayer<T>::forward(Network<T>&) {
    const size_t n = weights.size();
    for (int b = 0; b < this->batch; ++b) std::memcpy(this->output.data() + b * n, weights.data(), n * sizeof(T));
}

// Backward: y[b][i] = w[i] for every image b, so dL/dw[i] += sum_b dL/dy[b][i]; y does not depend
// on the input, whose gradient is 0 (nothing to add).
template <class T>
void ImplicitLayer<T>::backward(Network<T>&) {
    const size_t n = weights.size();
    for (int b = 0; b < this->batch; ++b)
        for (size_t i = 0; i < n; ++i) weight_grads[i] += this->delta[b * n + i];
}

template <class T>
void ImplicitLayer<T>::load_weights(WeightsReader& r) {
    r.read(weights.data(), weights.size(), "weights");
}

template <class T>
void ImplicitLayer<T>::save_weights(WeightsWriter& w) const {
    w.write(weights.data(), weights.size());
}

template <class T>
std::string ImplicitLayer<T>::describe() const {
    return strfmt("implicit %5d x %d             ", this->out_c, this->out_h) + shape_str(*this);
}

DN_REGISTER_LAYER(ImplicitLayer, "implicit")

}  // namespace dn
