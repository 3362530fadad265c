#include "rnn_layer.hpp"

#include <algorithm>

#include "darknet/network.hpp"
#include "darknet/weights.hpp"
#include "layers/layer_util.hpp"
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
    steps = b.net.time_steps;
    if (b.batch % steps != 0)
        s.error_section(strfmt("the pass holds %d rows, not a multiple of [net] time_steps=%d", b.batch, steps));
    set_shape(*this, b, 1, 1, out);
    gates[kInput].init(b.w * b.h * b.c, hidden, a, bn);
    gates[kSelf].init(hidden, hidden, self_a, bn);
    gates[kOutput].init(hidden, out, a, bn);
}

template <class T>
size_t RnnLayer<T>::first_param(int g) const {
    size_t k = 0;
    for (int i = 0; i < g; ++i) k += gates[i].param_count();
    return k;
}

template <class T>
std::vector<Param<T>> RnnLayer<T>::params() {
    std::vector<Param<T>> p;
    for (auto& g : gates) g.append_params(p);
    return p;
}

template <class T>
void RnnLayer<T>::reset_state() {
    std::fill(host_.carry.begin(), host_.carry.end(), T(0));
#ifdef DN_GPU
    dev_.carry.zero();
#endif
}

namespace {

template <class TT>
struct HostOps {
    using T = TT;
    using Buf = std::vector<T>;
    RnnLayer<T>& l;
    static void resize(Buf& b, size_t n) {
        if (b.size() != n) b.assign(n, T(0));
    }
    static void fill0(T* p, size_t n) { std::fill(p, p + n, T(0)); }
    static void copy(const T* from, T* to, size_t n) { std::copy(from, from + n, to); }
    static void add(const T* x, T* y, size_t n) {
        for (size_t i = 0; i < n; ++i) y[i] += x[i];
    }
    static void swap_stats(Dense<T>& d, Buf& mean, Buf& inv_std) {
        d.bn.mean.swap(mean);
        d.bn.inv_std.swap(inv_std);
    }
    void gate_forward(int g, const T* x, int N, T* y, T* pre, T* act, bool train) {
        l.gates[g].forward(x, N, y, pre, act, train);
    }
    void gate_backward(int g, const T* x, int N, const T* y, T* dy, const T* pre, const T* act, T* dx) {
        l.gates[g].backward(x, N, y, dy, pre, act, dx);
    }
};

}  // namespace

template <class T>
void RnnLayer<T>::forward(Network<T>& net) {
    HostOps<T> ops{*this};
    RnnSteps<HostOps<T>> run{*this, ops, host_};
    bool keep[3];
    for (int g = 0; g < 3; ++g) keep[g] = keep_activation_input(net, gates[g].activation);
    run.size(keep);
    run.forward(net.input, this->output.data(), net.train, !frozen_);
}

// Backward: RnnSteps::backward (rnn_steps.hpp) has the derivation.
template <class T>
void RnnLayer<T>::backward(Network<T>& net) {
    HostOps<T> ops{*this};
    RnnSteps<HostOps<T>> run{*this, ops, host_};
    run.backward(net.input, this->output.data(), this->delta.data(), net.delta);
}

template <class T>
void RnnLayer<T>::load_weights(WeightsReader& r) {
    for (auto& g : gates) g.load(r);
}

template <class T>
size_t RnnLayer<T>::unloaded_bytes() const {
    size_t n = 0;
    for (const auto& g : gates) n += g.unloaded_bytes();
    return n;
}

template <class T>
void RnnLayer<T>::save_weights(WeightsWriter& w) const {
    for (const auto& g : gates) g.save(w);
}

template <class T>
double RnnLayer<T>::flops() const {
    double f = 0;
    for (const auto& g : gates) f += 2.0 * g.inputs * g.outputs;
    return f;
}

template <class T>
std::string RnnLayer<T>::describe() const {
    return strfmt("rnn                      %4d -> %4d  hidden %d, %d steps%s", this->inputs(), this->outputs(), hidden,
                  steps, shortcut ? ", shortcut" : "");
}

DN_REGISTER_LAYER(RnnLayer, "rnn")

}  // namespace dn
