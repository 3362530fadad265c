#include "connected_layer.hpp"

#include "darknet/network.hpp"
#include "darknet/weights.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
ConnectedLayer<T>::ConnectedLayer(const BuildContext<T>& b) {
    const CfgSection& s = b.section;
    int out = s.get_int_min("output", 1, 1);
    const bool batch_normalize = s.get_int("batch_normalize", 0) != 0;
    const Activation activation = activation_key(s, "logistic");
    set_shape(*this, b, 1, 1, out);
    fc.init(b.w * b.h * b.c, out, activation, batch_normalize);
    fc.bn.dontloadscales = s.get_int("dontloadscales", 0) != 0;  // read without batch_normalize too, as Darknet
}

template <class T>
void ConnectedLayer<T>::forward(Network<T>& net) {
    const size_t n = this->output.size();
    if (fc.batch_normalize) x_pre_.resize(n);
    if (keep_activation_input(net, fc.activation))
        x_act_.resize(n);
    else
        x_act_.clear();
    fc.forward(net.input, this->batch, this->output.data(), x_pre_.data(), x_act_.empty() ? nullptr : x_act_.data(),
               net.train);
}

// Backward: Dense::backward's (dense.cpp).
template <class T>
void ConnectedLayer<T>::backward(Network<T>& net) {
    fc.backward(net.input, this->batch, this->output.data(), this->delta.data(), x_pre_.data(),
                x_act_.empty() ? nullptr : x_act_.data(), net.delta);
}

template <class T>
std::vector<Param<T>> ConnectedLayer<T>::params() {
    std::vector<Param<T>> p;
    fc.append_params(p);
    return p;
}

template <class T>
void ConnectedLayer<T>::load_weights(WeightsReader& r) {
    fc.load(r);
}

template <class T>
size_t ConnectedLayer<T>::unloaded_bytes() const {
    return fc.unloaded_bytes();
}

template <class T>
void ConnectedLayer<T>::save_weights(WeightsWriter& w) const {
    fc.save(w);
}

template <class T>
std::string ConnectedLayer<T>::describe() const {
    return strfmt("connected                %4d -> %4d", this->inputs(), this->outputs());
}

DN_REGISTER_LAYER(ConnectedLayer, "connected,conn")

}  // namespace dn
