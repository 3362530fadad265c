#include "lstm_layer.hpp"

#include <algorithm>

#include "darknet/network.hpp"
#include "darknet/weights.hpp"
#include "layers/layer_util.hpp"
#include "lstm_steps.hpp"
#include "recurrent_ops.hpp"

namespace dn {

template <class T>
LstmLayer<T>::LstmLayer(const BuildContext<T>& b) {
    const CfgSection& s = b.section;
    const int out = s.get_int_min("output", 1, 1);
    const bool bn = s.get_int("batch_normalize", 0) != 0;
    this->set_steps(b);
    set_shape(*this, b, 1, 1, out);
    const int in = b.w * b.h * b.c;
    for (int q = 0; q < 8; ++q) gates[q].init(q < 4 ? out : in, out, Activation::Linear, bn);
}

template <class T>
void LstmLayer<T>::reset_state() {
    std::fill(host_.carry_h.begin(), host_.carry_h.end(), T(0));
    std::fill(host_.carry_c.begin(), host_.carry_c.end(), T(0));
#ifdef DN_GPU
    dev_.carry_h.zero();
    dev_.carry_c.zero();
#endif
}

template <class T>
void LstmLayer<T>::forward(Network<T>& net) {
    HostOps<LstmLayer<T>, T> ops{*this};
    LstmSteps<HostOps<LstmLayer<T>, T>> run{*this, ops, host_};
    run.size();
    run.forward(net.input, this->output.data(), net.train, !this->frozen_);
}

// Backward: LstmSteps::backward (lstm_steps.hpp) and kernels/lstm.hpp have the derivation.
template <class T>
void LstmLayer<T>::backward(Network<T>& net) {
    HostOps<LstmLayer<T>, T> ops{*this};
    LstmSteps<HostOps<LstmLayer<T>, T>> run{*this, ops, host_};
    run.backward(net.input, this->delta.data(), net.delta);
}

template <class T>
std::string LstmLayer<T>::describe() const {
    return strfmt("lstm                     %4d -> %4d  %d steps", this->inputs(), this->outputs(), steps);
}

DN_REGISTER_LAYER(LstmLayer, "lstm")

}  // namespace dn
