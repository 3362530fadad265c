#include "local_layer.hpp"

#include <cmath>

#include "darknet/network.hpp"
#include "darknet/random.hpp"
#include "darknet/weights.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
LocalLayer<T>::LocalLayer(const BuildContext<T>& b) {
    const CfgSection& s = b.section;
    LocalGeom& g = geom_;
    g.c = b.c, g.h = b.h, g.w = b.w;
    g.n = s.get_int_min("filters", 1, 1);
    g.size = s.get_int_min("size", 1, 1);
    g.stride = s.get_int_min("stride", 1, 1);
    g.pad = s.get_int_min("pad", 0, 0) ? g.size / 2 : 0;
    activation = activation_key(s, "logistic");
    const long long oh = (b.h + 2LL * g.pad - g.size) / g.stride + 1, ow = (b.w + 2LL * g.pad - g.size) / g.stride + 1;
    if (b.h + 2LL * g.pad < g.size || b.w + 2LL * g.pad < g.size)
        s.error("size", strfmt("%d is larger than the padded %dx%d input", g.size, b.w, b.h));
    set_shape(*this, b, ow, oh, g.n);
    g.oh = this->out_h, g.ow = this->out_w;
    const double k = static_cast<double>(g.c) * g.size * g.size;  // LocalGeom::K(), before it can overflow int
    const double nw = static_cast<double>(g.L()) * g.n * k;
    if (nw > 2147483647.0)
        s.error_section(strfmt("%d positions x filters=%d x %.4g weights each = %.4g weights; a layer holds at most "
                               "2^31 - 1", g.L(), g.n, k, nw));
    weights.resize(static_cast<size_t>(nw));
    const float scale = std::sqrt(2.f / g.K());
    fill_uniform(weights.data(), weights.size(), -scale, scale);
    biases.assign(static_cast<size_t>(this->outputs()), T(0));
    bias_grads.assign(biases.size(), T(0));
}

template <class T>
void LocalLayer<T>::resize(Network<T>&, int new_w, int new_h) {
    if (new_w != this->w || new_h != this->h)
        fail("%s: a [local] layer cannot be resized (its filters are tied to the %dx%d output positions); set "
             "random=0",
             this->where.c_str(), this->out_w, this->out_h);
}

template <class T>
void LocalLayer<T>::forward(Network<T>& net) {
    const LocalGeom g = geom_;
    const size_t in_img = static_cast<size_t>(this->inputs()), out_img = static_cast<size_t>(this->outputs());
    const int rows = this->batch * g.n;
#pragma omp parallel for schedule(static) if (static_cast<size_t>(rows) * g.L() * g.K() > 200000)
    for (int r = 0; r < rows; ++r) {
        const int f = r % g.n, b = r / g.n;
        T* out = this->output.data() + b * out_img + static_cast<size_t>(f) * g.L();
        for (int loc = 0; loc < g.L(); ++loc)
            out[loc] = local_value(g, net.input + b * in_img, weights.data(), biases.data(), f, loc);
    }
    activate_keep(net, activation, this->output.data(), this->output.size(), x_act_);
}

// Backward, y = f(z): G = dL/dz = dy f'(z); z is linear in W, bias and x, so
//   dL/dbias[f][loc] += sum_b G[b][f][loc]
//   dL/dW[loc][f][k] += sum_b G[b][f][loc] x_b[tap k of position loc]
//   dL/dx[c][iy][ix] += sum over the (position, tap) pairs reading it and f of G[f][loc] W[loc][f][tap]
// (kernels/local.hpp: each a gather, the same sums on the CPU and the GPU).
template <class T>
void LocalLayer<T>::backward(Network<T>& net) {
    const LocalGeom g = geom_;
    T* d = this->delta.data();
    gradient_array(this->output.data(), x_act_.empty() ? nullptr : x_act_.data(), this->output.size(), activation, d);
    const size_t in_img = static_cast<size_t>(this->inputs()), out_img = static_cast<size_t>(this->outputs());
    for (int b = 0; b < this->batch; ++b)
        for (size_t i = 0; i < out_img; ++i) bias_grads[i] += d[b * out_img + i];
    const int wrows = g.L() * g.n;
#pragma omp parallel for schedule(static) if (static_cast<size_t>(wrows) * g.K() * this->batch > 200000)
    for (int r = 0; r < wrows; ++r) {
        const int f = r % g.n, loc = r / g.n;
        T* dw = weight_grads.data() + static_cast<size_t>(r) * g.K();
        for (int k = 0; k < g.K(); ++k) dw[k] += local_weight_grad(g, net.input, d, this->batch, loc, f, k);
    }
    if (!net.delta) return;
    const int xrows = this->batch * g.c * g.h;
#pragma omp parallel for schedule(static) if (static_cast<size_t>(xrows) * g.w * g.size * g.size * g.n > 200000)
    for (int r = 0; r < xrows; ++r) {
        const int iy = r % g.h, c = (r / g.h) % g.c, b = r / (g.h * g.c);
        T* dx = net.delta + b * in_img + (static_cast<size_t>(c) * g.h + iy) * g.w;
        for (int ix = 0; ix < g.w; ++ix) dx[ix] += local_input_grad(g, weights.data(), d + b * out_img, c, iy, ix);
    }
}

template <class T>
std::vector<Param<T>> LocalLayer<T>::params() {
    return {{"biases", biases.data(), bias_grads.data(), biases.size(), false},
            {"weights", weights.data(), weight_grads.data(), weights.size(), true}};
}

template <class T>
void LocalLayer<T>::load_weights(WeightsReader& r) {
    r.read(biases.data(), biases.size(), "biases");
    r.read(weights.data(), weights.size(), "weights");
}

template <class T>
void LocalLayer<T>::save_weights(WeightsWriter& w) const {
    w.write(biases.data(), biases.size());
    w.write(weights.data(), weights.size());
}

template <class T>
std::string LocalLayer<T>::describe() const {
    return strfmt("local %5d %2d x%2d/%2d   ", geom_.n, geom_.size, geom_.size, geom_.stride) + shape_str(*this);
}

DN_REGISTER_LAYER(LocalLayer, "local")

}  // namespace dn
