#include "rnn_layer.hpp"

#include <algorithm>

#include "darknet/network.hpp"
#include "darknet/weights.hpp"
#include "layers/layer_util.hpp"
#include "recurrent_ops.hpp"
#include "rnn_steps.hpp"

namespace dn {

template <class T>
RnnLayer<T>::RnnLayer(const BuildContext<T>& b) {
    const CfgSection& s = b.section;
    const int out = s.get_int_min("output", 1, 1);
    hidden = s.get_int_min("hidden", out, 1);
    const Activation a = activation_key(s, "logistic");
    const bool bn = s.get_int("batch_normalize", 0) != 0;
    shortcut = s.get_int("shortcut", 0) != 0;
    const int logistic = s.get_int("logistic", 0);
    if (logistic < 0 || logistic > 2) s.error("logistic", "must be 0 (the activation), 1 (logistic) or 2 (loggy)");
    const Activation self_a = logistic == 2 ? Activation::Loggy : logistic == 1 ? Activation::Logistic : a;
    this->set_steps(b);
    set_shape(*this, b, 1, 1, out);
    gates[kInput].init(b.w * b.h * b.c, hidden, a, bn);
    gates[kSelf].init(hidden, hidden, self_a, bn);
    gates[kOutput].init(hidden, out, a, bn);
}

template <class T>
void RnnLayer<T>::reset_state() {
    std::fill(host_.carry.begin(), host_.carry.end(), T(0));
#ifdef DN_GPU
    dev_.carry.zero();
#endif
}


template <class T>
void RnnLayer<T>::forward(Network<T>& net) {
    HostOps<RnnLayer<T>, T> ops{*this};
    RnnSteps<HostOps<RnnLayer<T>, T>> run{*this, ops, host_};
    bool keep[3];
    for (int g = 0; g < 3; ++g) keep[g] = keep_activation_input(net, gates[g].activation);
    run.size(keep);
    run.forward(net.input, this->output.data(), net.train, !this->frozen_);
}

// Backward: RnnSteps::backward (rnn_steps.hpp) has the derivation.
template <class T>
void RnnLayer<T>::backward(Network<T>& net) {
    HostOps<RnnLayer<T>, T> ops{*this};
    RnnSteps<HostOps<RnnLayer<T>, T>> run{*this, ops, host_};
    run.backward(net.input, this->output.data(), this->delta.data(), net.delta);
}

template <class T>
std::string RnnLayer<T>::describe() const {
    return strfmt("rnn                      %4d -> %4d  hidden %d, %d steps%s", this->inputs(), this->outputs(), hidden,
                  steps, shortcut ? ", shortcut" : "");
}

DN_REGISTER_LAYER(RnnLayer, "rnn")

}  // namespace dn
