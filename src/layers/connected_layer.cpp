#include "connected_layer.hpp"

#include <cmath>

#include "darknet/network.hpp"
#include "darknet/random.hpp"
#include "darknet/weights.hpp"
#include "kernels/blas.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
ConnectedLayer<T>::ConnectedLayer(const BuildContext<T>& b) {
    const CfgSection& s = b.section;
    int out = s.get_int_min("output", 1, 1);
    batch_normalize = s.get_int("batch_normalize", 0) != 0;
    activation = activation_key(s, "logistic");
    set_shape(*this, b, 1, 1, out);
    const int in = b.w * b.h * b.c;
    weights.resize(static_cast<size_t>(out) * in);
    const float scale = std::sqrt(2.f / in);
    fill_uniform(weights.data(), weights.size(), -scale, scale);
    biases.assign(out, T(0));
    bias_grads.assign(out, T(0));
    if (batch_normalize) bn.init(out);
    bn.dontloadscales = s.get_int("dontloadscales", 0) != 0;  // read without batch_normalize too, as Darknet
}

template <class T>
void ConnectedLayer<T>::forward(Network<T>& net) {
    const int N = this->batch, I = this->inputs(), O = this->outputs();
    T* out = this->output.data();
    T* raw = out;
    if (batch_normalize) {
        x_pre_.resize(this->output.size());
        raw = x_pre_.data();
    }
    gemm<T>(false, true, N, O, I, T(1), net.input, I, weights.data(), I, T(0), raw, O);
    if (batch_normalize) {
        bn.forward(raw, out, N, 1, biases.data(), net.train);
    } else {
        for (int b = 0; b < N; ++b)
            for (int o = 0; o < O; ++o) out[static_cast<size_t>(b) * O + o] += biases[o];
    }
    activate_keep(net, activation, out, this->output.size(), x_act_);
}

// Backward, z = W x (+ b or BN), y = f(z): G = dL/dz = dy * f'(z) (BN backward in between), then
//   dL/db = sum_n G,  dL/dW += G^T X  [O x I],  dL/dX += G W  [N x I].
template <class T>
void ConnectedLayer<T>::backward(Network<T>& net) {
    const int N = this->batch, I = this->inputs(), O = this->outputs();
    T* d = this->delta.data();
    gradient_array(this->output.data(), x_act_.empty() ? nullptr : x_act_.data(), this->output.size(), activation, d);
    if (batch_normalize) {
        bn.backward(x_pre_.data(), d, d, false, N, 1, bias_grads.data());
    } else {
        for (int b = 0; b < N; ++b)
            for (int o = 0; o < O; ++o) bias_grads[o] += d[static_cast<size_t>(b) * O + o];
    }
    gemm<T>(true, false, O, I, N, T(1), d, O, net.input, I, T(1), weight_grads.data(), I);
    if (net.delta) gemm<T>(false, false, N, I, O, T(1), d, O, weights.data(), I, T(1), net.delta, I);
}

template <class T>
std::vector<Param<T>> ConnectedLayer<T>::params() {
    std::vector<Param<T>> p;
    p.push_back({"biases", biases.data(), bias_grads.data(), biases.size(), false});
    p.push_back({"weights", weights.data(), weight_grads.data(), weights.size(), true});
    if (batch_normalize) bn.append_params(p);
    return p;
}

namespace {
template <class T>
void transpose(std::vector<T>& m, int rows, int cols) {
    std::vector<T> t(m.size());
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c) t[static_cast<size_t>(c) * rows + r] = m[static_cast<size_t>(r) * cols + c];
    m.swap(t);
}
}  // namespace

template <class T>
void ConnectedLayer<T>::load_weights(WeightsReader& r) {
    r.read(biases.data(), biases.size(), "biases");
    r.read(weights.data(), weights.size(), "weights");
    transposed_file_ = r.major > 1000 || r.minor > 1000;
    if (transposed_file_) transpose(weights, this->inputs(), this->outputs());
    if (batch_normalize) bn.load(r);
}

template <class T>
size_t ConnectedLayer<T>::unloaded_bytes() const {
    return batch_normalize ? bn.unloaded_bytes() : 0;
}

template <class T>
void ConnectedLayer<T>::save_weights(WeightsWriter& w) const {
    w.write(biases.data(), biases.size());
    if (transposed_file_) {  // keep the layout the header announces
        std::vector<T> t = weights;
        transpose(t, this->outputs(), this->inputs());
        w.write(t.data(), t.size());
    } else {
        w.write(weights.data(), weights.size());
    }
    if (batch_normalize) bn.save(w);
}

template <class T>
std::string ConnectedLayer<T>::describe() const {
    return strfmt("connected                %4d -> %4d", this->inputs(), this->outputs());
}

DN_REGISTER_LAYER(ConnectedLayer, "connected,conn")

}  // namespace dn
