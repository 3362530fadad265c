#include "softmax_layer.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "darknet/network.hpp"
#include "kernels/softmax.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
SoftmaxLayer<T>::SoftmaxLayer(const BuildContext<T>& b) {
    const CfgSection& s = b.section;
    groups = s.get_int_min("groups", 1, 1);
    temperature = s.get_float("temperature", 1);
    if (temperature <= 0) s.error("temperature", "must be > 0");
    spatial = s.get_int("spatial", 0) != 0;
    reject_unsupported(s, {"tree"});
    const int inputs = b.w * b.h * b.c;
    if (!spatial && inputs % groups != 0)
        s.error("groups", strfmt("groups=%d does not divide the %d inputs", groups, inputs));
    set_shape(*this, b, b.w, b.h, b.c);
    this->has_loss = true;
}

template <class T>
void SoftmaxLayer<T>::resize(Network<T>&, int new_w, int new_h) {
    this->w = this->out_w = new_w;
    this->h = this->out_h = new_h;
}

template <class T>
template <class F>
void SoftmaxLayer<T>::for_each_group(F&& f) const {
    const int per = this->outputs();
    if (spatial) {
        const int S = this->w * this->h;
        for (int b = 0; b < this->batch; ++b)
            for (int s = 0; s < S; ++s) f(static_cast<size_t>(b) * per + s, this->c, S);
    } else {
        const int n = per / groups;
        for (int b = 0; b < this->batch; ++b)
            for (int g = 0; g < groups; ++g) f(static_cast<size_t>(b) * per + static_cast<size_t>(g) * n, n, 1);
    }
}

template <class T>
void SoftmaxLayer<T>::gpu_groups(int* ngroups, int* n, int* stride, int* group_stride) const {
    const int per = this->outputs();
    if (spatial) {
        *ngroups = this->w * this->h, *n = this->c, *stride = this->w * this->h, *group_stride = 1;
    } else {
        *ngroups = groups, *n = per / groups, *stride = 1, *group_stride = per / groups;
    }
}

template <class T>
void SoftmaxLayer<T>::forward(Network<T>& net) {
    const T inv_t = static_cast<T>(1.0 / temperature);
    for_each_group([&](size_t off, int n, int stride) { softmax_group(net.input + off, n, stride, inv_t, this->output.data() + off); });
    loss_mode_ = net.train && net.truth && net.current == net.num_layers() - 1;
    this->cost = 0;
    if (!loss_mode_) return;
    double cost = 0;
    const size_t n = this->output.size();
    for (size_t i = 0; i < n; ++i) {
        const T t = net.truth[i], y = this->output[i];
        if (t != T(0)) cost -= t * std::log(std::max(y, std::numeric_limits<T>::min()));
        this->delta[i] = (y - t) * inv_t;
    }
    this->cost = cost;
}

// Backward. Loss mode: delta already holds dL/dx = (y - t)/temperature (softmax + cross-entropy).
// Otherwise, per group, y_i = exp(x_i/tau) / sum_j exp(x_j/tau) has Jacobian
// dy_i/dx_k = y_i (delta_ik - y_k)/tau, so  dL/dx_k = y_k (dL/dy_k - sum_i dL/dy_i y_i) / tau
// (kernels/softmax.hpp).
template <class T>
void SoftmaxLayer<T>::backward(Network<T>& net) {
    if (!net.delta) return;
    if (loss_mode_) {
        for (size_t i = 0; i < this->delta.size(); ++i) net.delta[i] += this->delta[i];
        return;
    }
    const T inv_t = static_cast<T>(1.0 / temperature);
    for_each_group([&](size_t off, int n, int stride) {
        softmax_group_backward(this->output.data() + off, this->delta.data() + off, n, stride, inv_t, net.delta + off);
    });
}

// A random probability distribution over each softmax group of one image.
template <class T>
void SoftmaxLayer<T>::random_truth(std::mt19937_64& rng, T* truth) const {
    std::uniform_real_distribution<double> u(0.05, 1);
    const int per = this->outputs();
    auto fill = [&](size_t off, int n, int stride) {
        double sum = 0;
        for (int i = 0; i < n; ++i) sum += (truth[off + static_cast<size_t>(i) * stride] = static_cast<T>(u(rng)));
        for (int i = 0; i < n; ++i) truth[off + static_cast<size_t>(i) * stride] /= static_cast<T>(sum);
    };
    if (spatial) {
        for (int s = 0; s < this->w * this->h; ++s) fill(s, this->c, this->w * this->h);
    } else {
        for (int g = 0; g < groups; ++g) fill(static_cast<size_t>(g) * (per / groups), per / groups, 1);
    }
}

template <class T>
std::string SoftmaxLayer<T>::describe() const {
    return strfmt("softmax                                        %4d", this->outputs());
}

DN_REGISTER_LAYER(SoftmaxLayer, "softmax,soft")

}  // namespace dn
