#include "groupnorm_layer.hpp"

#include "darknet/network.hpp"
#include "darknet/weights.hpp"
#include "kernels/groupnorm.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
GroupnormLayer<T>::GroupnormLayer(const BuildContext<T>& b) {
    const CfgSection& s = b.section;
    const bool given = s.has("groups");
    groups = s.get_int_min("groups", 32, 1);
    if (b.c % groups != 0)
        s.error("groups", strfmt("groups=%d%s does not divide the %d input channels", groups,
                                 given ? "" : " (the default)", b.c));
    eps = s.has("eps") ? s.get_float("eps", 0) : kGroupnormEps;
    if (!(eps > 0)) s.error("eps", "must be > 0");
    activation = activation_key(s, "linear");
    set_shape(*this, b, b.w, b.h, b.c);
    scales.assign(b.c, T(1));
    scale_grads.assign(b.c, T(0));
    biases.assign(b.c, T(0));
    bias_grads.assign(b.c, T(0));
}

template <class T>
void GroupnormLayer<T>::resize(Network<T>&, int new_w, int new_h) {
    this->w = this->out_w = new_w;
    this->h = this->out_h = new_h;
}

template <class T>
void GroupnormLayer<T>::forward(Network<T>& net) {
    const int N = this->batch, S = this->w * this->h;
    mean_.resize(static_cast<size_t>(N) * groups);
    inv_std_.resize(mean_.size());
    T* out = this->output.data();
    groupnorm_forward(net.input, N, this->c, S, groups, scales.data(), biases.data(), eps, out, mean_.data(),
                      inv_std_.data());
    activate_keep(net, activation, out, this->output.size(), x_act_);
}

// Backward: dL/du = dy * f'(u) for the activation (in place on delta), then the group-norm
// backward derived above groupnorm_backward (kernels/groupnorm.cpp), adding into net.delta.
template <class T>
void GroupnormLayer<T>::backward(Network<T>& net) {
    T* d = this->delta.data();
    gradient_array(this->output.data(), x_act_.empty() ? nullptr : x_act_.data(), this->output.size(), activation, d);
    groupnorm_backward(net.input, d, this->batch, this->c, this->w * this->h, groups, scales.data(), mean_.data(),
                       inv_std_.data(), net.delta, true, scale_grads.data(), bias_grads.data());
}

template <class T>
std::vector<Param<T>> GroupnormLayer<T>::params() {
    return {{"biases", biases.data(), bias_grads.data(), biases.size(), false},
            {"scales", scales.data(), scale_grads.data(), scales.size(), false}};
}

template <class T>
void GroupnormLayer<T>::load_weights(WeightsReader& r) {
    r.read(biases.data(), biases.size(), "biases");
    r.read(scales.data(), scales.size(), "scales");
}

template <class T>
void GroupnormLayer<T>::save_weights(WeightsWriter& w) const {
    w.write(biases.data(), biases.size());
    w.write(scales.data(), scales.size());
}

template <class T>
std::string GroupnormLayer<T>::describe() const {
    return strfmt("groupnorm  G=%-4d           ", groups) + shape_str(*this);
}

DN_REGISTER_LAYER(GroupnormLayer, "groupnorm")

}  // namespace dn
