#include "normalization_layer.hpp"

#include "darknet/network.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
NormalizationLayer<T>::NormalizationLayer(const BuildContext<T>& b) {
    const CfgSection& s = b.section;
    p.size = s.get_int_min("size", 5, 1);
    p.alpha = s.get_float("alpha", 0.0001f);
    p.beta = s.get_float("beta", 0.75f);
    p.kappa = s.get_float("kappa", 1.0f);
    if (p.alpha < 0) s.error("alpha", "must be >= 0");
    if (!(p.kappa > 0)) s.error("kappa", "must be > 0 (the norms kappa + alpha*sum(x^2) must stay positive)");
    set_shape(*this, b, b.w, b.h, b.c);
}

template <class T>
void NormalizationLayer<T>::resize(Network<T>&, int new_w, int new_h) {
    this->w = this->out_w = new_w;
    this->h = this->out_h = new_h;
}

template <class T>
void NormalizationLayer<T>::forward(Network<T>& net) {
    lrn_forward(net.input, this->batch, this->c, this->w * this->h, p, this->output.data());
}

// Backward: see the derivation above lrn_backward (kernels/lrn.cpp); adds into net.delta.
template <class T>
void NormalizationLayer<T>::backward(Network<T>& net) {
    if (!net.delta) return;
    lrn_backward(net.input, this->delta.data(), this->batch, this->c, this->w * this->h, p, net.delta, true);
}

template <class T>
std::string NormalizationLayer<T>::describe() const {
    return strfmt("lrn       size %d a %.2g b %.2g  ", p.size, p.alpha, p.beta) + shape_str(*this);
}

DN_REGISTER_LAYER(NormalizationLayer, "normalization,lrn")

}  // namespace dn
