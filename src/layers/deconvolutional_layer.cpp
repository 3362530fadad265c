#include "deconvolutional_layer.hpp"

#include <climits>
#include <cmath>

#include "darknet/network.hpp"
#include "darknet/random.hpp"
#include "darknet/weights.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
DeconvolutionalLayer<T>::DeconvolutionalLayer(const BuildContext<T>& b) {
    const CfgSection& s = b.section;
    filters = s.get_int_min("filters", 1, 1);
    size = s.get_int_min("size", 1, 1);
    stride = s.get_int_min("stride", 1, 1);
    padding = s.get_int_min("padding", 0, 0);
    if (s.get_int_min("pad", 0, 0)) padding = size / 2;
    batch_normalize = s.get_int("batch_normalize", 0) != 0;
    activation = activation_key(s, "logistic");
    // 64-bit, so that a cfg's huge stride or size is an error rather than a wrapped size
    const long long ow = (b.w - 1LL) * stride + size - 2LL * padding, oh = (b.h - 1LL) * stride + size - 2LL * padding;
    set_shape(*this, b, ow, oh, filters);
    const double nw = static_cast<double>(b.c) * filters * size * size;
    if (nw > INT_MAX)
        s.error_section(strfmt("%d input channels x filters=%d x size %d x %d = %.4g weights; a layer holds at most "
                               "2^31 - 1",
                               b.c, filters, size, size, nw));
    weights.resize(static_cast<size_t>(nw));
    const float scale = std::sqrt(2.f / (size * size * b.c));
    fill_uniform(weights.data(), weights.size(), -scale, scale);
    biases.assign(filters, T(0));
    bias_grads.assign(filters, T(0));
    if (batch_normalize) bn.init(filters);
    bn.dontloadscales = s.get_int("dontloadscales", 0) != 0;
}

template <class T>
ConvGeom DeconvolutionalLayer<T>::out_geom() const {
    ConvGeom g;
    g.channels = filters;
    g.height = this->out_h;
    g.width = this->out_w;
    g.ksize_h = g.ksize_w = size;
    g.stride_h = g.stride_w = stride;
    g.pad_h = g.pad_w = padding;
    return g;
}

template <class T>
size_t DeconvolutionalLayer<T>::workspace_size() const {
    return static_cast<size_t>(filters) * size * size * this->h * this->w;
}

template <class T>
void DeconvolutionalLayer<T>::resize(Network<T>&, int new_w, int new_h) {
    this->w = new_w;
    this->h = new_h;
    const long long ow = (new_w - 1LL) * stride + size - 2LL * padding, oh = (new_h - 1LL) * stride + size - 2LL * padding;
    if (ow < 1 || oh < 1 || ow * oh * filters > INT_MAX)
        fail("%s: a %dx%d input gives a %lldx%lld output", this->where.c_str(), new_w, new_h, ow, oh);
    this->out_w = static_cast<int>(ow);
    this->out_h = static_cast<int>(oh);
}

// Forward, per image: col = W^T x ([filters*size*size] x [h*w]), z = col2im(col) (the adjoint of
// the output-to-input convolution's im2col), then batchnorm or bias, and the activation.
template <class T>
void DeconvolutionalLayer<T>::forward(Network<T>& net) {
    const auto [N, C, K, S, F, P, per_in, per_out] = sizes();
    T* out = this->output.data();
    T* raw = out;
    if (batch_normalize) {
        x_pre_.resize(this->output.size());
        raw = x_pre_.data();
    }
    const ConvGeom g = out_geom();
    T* col = net.workspace(workspace_size());
    for (int b = 0; b < N; ++b) {
        gemm<T>(true, false, K, S, C, T(1), weights.data(), K, net.input + b * per_in, S, T(0), col, S);
        T* z = raw + b * per_out;
        for (size_t i = 0; i < per_out; ++i) z[i] = T(0);
        col2im_add(col, g, z);
    }
    if (batch_normalize) {
        bn.forward(raw, out, N, P, biases.data(), net.train);
    } else {
        for (int i = 0; i < N * F; ++i) {
            T* o = out + static_cast<size_t>(i) * P;
            for (int k = 0; k < P; ++k) o[k] += biases[i % F];
        }
    }
    activate_keep(net, activation, out, this->output.size(), x_act_);
}

// Backward. With z = col2im(W^T x) (per image), u = BN(z) or z + b, y = f(u), dy = dL/dy:
//   G = dL/dz from dy * f'(u) through the batchnorm (or dL/db_f = sum_{n,s} G, dL/dz = dL/du);
//   im2col is col2im's adjoint, so L's part through z is <W^T x, im2col(G)>, and with
//   D = im2col(G) [filters*size*size x h*w]:  dL/dW += x D^T  [C x K],  dL/dx += W D  [C x h*w].
template <class T>
void DeconvolutionalLayer<T>::backward(Network<T>& net) {
    const auto [N, C, K, S, F, P, per_in, per_out] = sizes();
    T* d = this->delta.data();
    gradient_array(this->output.data(), x_act_.empty() ? nullptr : x_act_.data(), this->output.size(), activation, d);
    if (batch_normalize) {
        bn.backward(x_pre_.data(), d, d, false, N, P, bias_grads.data());
    } else {
        for (int f = 0; f < F; ++f) {
            double s = 0;
            for (int b = 0; b < N; ++b) {
                const T* g = d + (static_cast<size_t>(b) * F + f) * P;
                for (int k = 0; k < P; ++k) s += g[k];
            }
            bias_grads[f] += static_cast<T>(s);
        }
    }
    const ConvGeom g = out_geom();
    T* col = net.workspace(workspace_size());
    for (int b = 0; b < N; ++b) {
        im2col(d + b * per_out, g, col);
        const T* x = net.input + b * per_in;
        gemm<T>(false, true, C, K, S, T(1), x, S, col, S, T(1), weight_grads.data(), K);
        if (net.delta) gemm<T>(false, false, C, S, K, T(1), weights.data(), K, col, S, T(1), net.delta + b * per_in, S);
    }
}

template <class T>
std::vector<Param<T>> DeconvolutionalLayer<T>::params() {
    return conv_style_params(biases, bias_grads, batch_normalize ? &bn : nullptr, weights, weight_grads);
}

template <class T>
void DeconvolutionalLayer<T>::load_weights(WeightsReader& r) {
    r.read(biases.data(), biases.size(), "biases");
    if (batch_normalize) bn.load(r);
    r.read(weights.data(), weights.size(), "weights");
}

template <class T>
void DeconvolutionalLayer<T>::save_weights(WeightsWriter& w) const {
    save_conv_style(w, biases, batch_normalize ? &bn : nullptr, weights);
}

template <class T>
std::string DeconvolutionalLayer<T>::describe() const {
    return strfmt("deconv%5d      %2d x%2d/%2d   ", filters, size, size, stride) + shape_str(*this) +
           strfmt(" %5.3f BF", flops() / 1e9);
}

DN_REGISTER_LAYER(DeconvolutionalLayer, "deconvolutional,deconv")

}  // namespace dn
