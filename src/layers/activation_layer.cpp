#include "activation_layer.hpp"

#include <cstring>

#include "darknet/network.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
ActivationLayer<T>::ActivationLayer(const BuildContext<T>& b) : name_(b.section.name) {
    const CfgSection& s = b.section;
    if (name_ == "activation") {
        activation = cn.parse(s, "linear");
    }
    set_shape(*this, b, b.w, b.h, b.c);
}

template <class T>
void ActivationLayer<T>::resize(Network<T>&, int new_w, int new_h) {
    this->w = this->out_w = new_w;
    this->h = this->out_h = new_h;
}

template <class T>
void ActivationLayer<T>::forward(Network<T>& net) {
    const size_t n = this->output.size();
    if (this->output.data() != net.input) std::memcpy(this->output.data(), net.input, n * sizeof(T));
    activate_keep(net, activation, this->output.data(), n, x_act_);
    cn.forward(net, this->output.data(), this->batch, this->c, this->w * this->h);
}

// Backward: y = f(x) elementwise, so dL/dx += f'(x) dL/dy (f' from y, or from the kept x for the
// activations that need it; 1 for the identity); a channel activation's Jacobian transpose
// (kernels/channel_norm.hpp) instead.
template <class T>
void ActivationLayer<T>::backward(Network<T>& net) {
    const size_t n = this->delta.size();
    T* d = this->delta.data();
    cn.backward(this->output.data(), d, this->batch, this->c, this->w * this->h, this->where);
    gradient_array(this->output.data(), x_act_.empty() ? nullptr : x_act_.data(), n, activation, d);
    if (!net.delta) return;
    for (size_t i = 0; i < n; ++i) net.delta[i] += d[i];
}

template <class T>
std::string ActivationLayer<T>::describe() const {
    std::string s = name_ != "activation" ? name_
                    : cn.on()               ? std::string(cn.name())
                                            : strfmt("activation %s", activation_name(activation));
    while (s.size() < 25) s += ' ';
    return s + shape_str(*this);
}

DN_REGISTER_LAYER(ActivationLayer, "activation,empty,silence")

}  // namespace dn
