#include "gru_layer.hpp"

#include <algorithm>

#include "darknet/network.hpp"
#include "darknet/weights.hpp"
#include "gru_steps.hpp"
#include "layers/layer_util.hpp"
#include "recurrent_ops.hpp"

namespace dn {

template <class T>
GruLayer<T>::GruLayer(const BuildContext<T>& b) {
    const CfgSection& s = b.section;
    const int out = s.get_int_min("output", 1, 1);
    const bool bn = s.get_int("batch_normalize", 0) != 0;
    const int t = s.get_int("tanh", 0);
    if (t != 0 && t != 1) s.error("tanh", "must be 0 (a logistic candidate) or 1 (tanh)");
    use_tanh = t == 1;
    this->set_steps(b);
    set_shape(*this, b, 1, 1, out);
    const int in = b.w * b.h * b.c;
    for (int q = 0; q < 6; ++q) gates[q].init(q < 3 ? out : in, out, Activation::Linear, bn);
}

template <class T>
void GruLayer<T>::reset_state() {
    std::fill(host_.carry.begin(), host_.carry.end(), T(0));
#ifdef DN_GPU
    dev_.carry.zero();
#endif
}

template <class T>
void GruLayer<T>::forward(Network<T>& net) {
    HostOps<GruLayer<T>, T> ops{*this};
    GruSteps<HostOps<GruLayer<T>, T>> run{*this, ops, host_};
    run.size();
    run.forward(net.input, this->output.data(), net.train, !this->frozen_);
}

// Backward: GruSteps::backward (gru_steps.hpp) and kernels/gru.hpp have the derivation.
template <class T>
void GruLayer<T>::backward(Network<T>& net) {
    HostOps<GruLayer<T>, T> ops{*this};
    GruSteps<HostOps<GruLayer<T>, T>> run{*this, ops, host_};
    run.backward(net.input, this->delta.data(), net.delta);
}

template <class T>
std::string GruLayer<T>::describe() const {
    return strfmt("gru                      %4d -> %4d  %d steps%s", this->inputs(), this->outputs(), steps,
                  use_tanh ? ", tanh" : "");
}

DN_REGISTER_LAYER(GruLayer, "gru")

}  // namespace dn
