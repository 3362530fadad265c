#include "dropout_layer.hpp"

#include <cstring>
#include <random>

#include "darknet/network.hpp"
#include "darknet/random.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
DropoutLayer<T>::DropoutLayer(const BuildContext<T>& b) : seed_(next_seed()) {
    const CfgSection& s = b.section;
    reject_unsupported(s, {"dropblock"});
    probability = s.get_float("probability", 0.5f);
    if (probability < 0 || probability >= 1) s.error("probability", "must be in [0, 1)");
    set_shape(*this, b, b.w, b.h, b.c);
}

template <class T>
void DropoutLayer<T>::resize(Network<T>&, int new_w, int new_h) {
    this->w = this->out_w = new_w;
    this->h = this->out_h = new_h;
}

template <class T>
void DropoutLayer<T>::forward(Network<T>& net) {
    const size_t n = this->output.size();
    last_train_ = net.train;
    if (!net.train || probability == 0) {
        if (this->output.data() != net.input) std::memcpy(this->output.data(), net.input, n * sizeof(T));
        last_train_ = false;
        return;
    }
    const bool draw = !(frozen_ && keep_.size() == n);
    keep_.resize(n);
    std::mt19937_64 rng = layer_draw_rng(seed_, net.header.seen);
    std::uniform_real_distribution<float> u(0.f, 1.f);
    const T scale = static_cast<T>(1.0 / (1.0 - probability));
    for (size_t i = 0; i < n; ++i) {
        if (draw) keep_[i] = u(rng) >= probability;
        this->output[i] = keep_[i] ? net.input[i] * scale : T(0);
    }
}

// Backward: y_i = m_i * x_i / (1-p) with the mask m fixed by the forward pass (identity in eval):
//   dL/dx_i += m_i * dL/dy_i / (1-p).
template <class T>
void DropoutLayer<T>::backward(Network<T>& net) {
    if (!net.delta) return;
    const size_t n = this->output.size();
    if (!last_train_) {
        for (size_t i = 0; i < n; ++i) net.delta[i] += this->delta[i];
        return;
    }
    const T scale = static_cast<T>(1.0 / (1.0 - probability));
    for (size_t i = 0; i < n; ++i)
        if (keep_[i]) net.delta[i] += this->delta[i] * scale;
}

template <class T>
std::string DropoutLayer<T>::describe() const {
    return strfmt("dropout      p = %.3f   ", probability) + shape_str(*this);
}

DN_REGISTER_LAYER(DropoutLayer, "dropout")

}  // namespace dn
