#include "batchnorm_layer.hpp"

#include <algorithm>

#include "darknet/error.hpp"
#include "darknet/network.hpp"
#include "darknet/weights.hpp"
#include "kernels/batchnorm.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
void BatchNorm<T>::init(int c) {
    channels = c;
    eps = kBatchnormEps;
    scales.assign(c, T(1));
    scale_grads.assign(c, T(0));
    rolling_mean.assign(c, T(0));
    rolling_variance.assign(c, T(1));
    mean.assign(c, T(0));
    inv_std.assign(c, T(1));
}

template <class T>
void BatchNorm<T>::forward(const T* x, T* y, int N, int S, const T* beta, bool train) {
    last_train = train;
    if (train)
        batchnorm_forward_train(x, N, channels, S, scales.data(), beta, y, mean.data(), inv_std.data(),
                                rolling_mean.data(), rolling_variance.data(), eps);
    else
        batchnorm_forward_eval(x, N, channels, S, scales.data(), beta, rolling_mean.data(), rolling_variance.data(), y,
                               eps);
}

template <class T>
void BatchNorm<T>::backward(const T* x, const T* dy, T* dx, bool accumulate, int N, int S, T* beta_grads) {
    if (last_train)
        batchnorm_backward_train(x, dy, N, channels, S, scales.data(), mean.data(), inv_std.data(), dx, accumulate,
                                 scale_grads.data(), beta_grads);
    else
        batchnorm_backward_eval(x, dy, N, channels, S, scales.data(), rolling_mean.data(), rolling_variance.data(),
                                dx, accumulate, scale_grads.data(), beta_grads, eps);
}

template <class T>
void BatchNorm<T>::load(WeightsReader& r, int count) {
    if (dontloadscales && r.follows_load_keys()) return;
    const size_t n = count < 0 ? static_cast<size_t>(channels) : static_cast<size_t>(count);
    r.read(scales.data(), n, "scales");
    r.read(rolling_mean.data(), n, "rolling_mean");
    r.read_nonnegative(rolling_variance.data(), n, "rolling_variance");
}

template <class T>
void BatchNorm<T>::save(WeightsWriter& w) const {
    w.write(scales.data(), channels);
    w.write(rolling_mean.data(), channels);
    w.write(rolling_variance.data(), channels);
}

template <class T>
void BatchNorm<T>::append_params(std::vector<Param<T>>& p) {
    p.push_back({"scales", scales.data(), scale_grads.data(), scales.size(), false});
    p.push_back({"rolling_mean", rolling_mean.data(), nullptr, rolling_mean.size(), false});
    p.push_back({"rolling_variance", rolling_variance.data(), nullptr, rolling_variance.size(), false});
}

template struct BatchNorm<float>;
template struct BatchNorm<double>;

template <class T>
std::vector<Param<T>> conv_style_params(std::vector<T>& biases, std::vector<T>& bias_grads, BatchNorm<T>* bn,
                                        std::vector<T>& weights, std::vector<T>& weight_grads) {
    std::vector<Param<T>> p;
    p.push_back({"biases", biases.data(), bias_grads.data(), biases.size(), false});
    if (bn) bn->append_params(p);
    p.push_back({"weights", weights.data(), weight_grads.data(), weights.size(), true});
    return p;
}

template <class T>
void save_conv_style(WeightsWriter& w, const std::vector<T>& biases, const BatchNorm<T>* bn, const std::vector<T>& weights) {
    w.write(biases.data(), biases.size());
    if (bn) bn->save(w);
    w.write(weights.data(), weights.size());
}

#define DN_CONV_STYLE(T)                                                                                            \
    template std::vector<Param<T>> conv_style_params(std::vector<T>&, std::vector<T>&, BatchNorm<T>*, std::vector<T>&, \
                                                     std::vector<T>&);                                              \
    template void save_conv_style(WeightsWriter&, const std::vector<T>&, const BatchNorm<T>*, const std::vector<T>&);
DN_CONV_STYLE(float)
DN_CONV_STYLE(double)
#undef DN_CONV_STYLE

template <class T>
BatchnormLayer<T>::BatchnormLayer(const BuildContext<T>& b) {
    set_shape(*this, b, b.w, b.h, b.c);
    bn.init(b.c);
    if (b.section.has("eps")) bn.eps = b.section.get_float("eps", 0);
    if (!(bn.eps > 0)) b.section.error("eps", "must be > 0");
    biases.assign(b.c, T(0));
    bias_grads.assign(b.c, T(0));
}

template <class T>
void BatchnormLayer<T>::resize(Network<T>&, int new_w, int new_h) {
    this->w = this->out_w = new_w;
    this->h = this->out_h = new_h;
}

template <class T>
void BatchnormLayer<T>::forward(Network<T>& net) {
    const int N = this->batch, S = this->out_w * this->out_h;
    if (net.train) {
        x.assign(net.input, net.input + static_cast<size_t>(N) * this->inputs());
        bn.forward(x.data(), this->output.data(), N, S, biases.data(), true);
    } else {
        bn.forward(net.input, this->output.data(), N, S, biases.data(), false);
        if (!x.empty() || bn.last_train) x.clear();
    }
}

template <class T>
void BatchnormLayer<T>::backward(Network<T>& net) {
    const int N = this->batch, S = this->out_w * this->out_h;
    const T* xin = bn.last_train ? x.data() : net.input;
    bn.backward(xin, this->delta.data(), net.delta, true, N, S, bias_grads.data());
}

template <class T>
std::vector<Param<T>> BatchnormLayer<T>::params() {
    std::vector<Param<T>> p;
    p.push_back({"biases", biases.data(), bias_grads.data(), biases.size(), false});
    bn.append_params(p);
    return p;
}

// Darknet writes scales, rolling_mean, rolling_variance only, so its trained beta is lost on save.
// We keep that layout in place (files stay readable by every Darknet) and store beta in the
// weights trailer (see docs/cfg.md, "Weights layouts"); a Darknet file without it loads beta = 0,
// which is what Darknet itself has after loading.
template <class T>
void BatchnormLayer<T>::load_weights(WeightsReader& r) { bn.load(r); }

template <class T>
void BatchnormLayer<T>::save_weights(WeightsWriter& w) const { bn.save(w); }

template <class T>
void BatchnormLayer<T>::save_trailer(WeightsWriter& w) const { w.write(biases.data(), biases.size()); }

template <class T>
void BatchnormLayer<T>::load_trailer(WeightsReader& r) { r.read(biases.data(), biases.size(), "biases"); }

template <class T>
std::string BatchnormLayer<T>::describe() const {
    return "batchnorm                  " + shape_str(*this);
}

DN_REGISTER_LAYER(BatchnormLayer, "batchnorm")

}  // namespace dn
