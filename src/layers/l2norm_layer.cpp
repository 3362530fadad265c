#include "l2norm_layer.hpp"

#include "darknet/network.hpp"
#include "kernels/l2norm.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
L2normLayer<T>::L2normLayer(const BuildContext<T>& b) {
    set_shape(*this, b, b.w, b.h, b.c);
}

template <class T>
void L2normLayer<T>::resize(Network<T>&, int new_w, int new_h) {
    this->w = this->out_w = new_w;
    this->h = this->out_h = new_h;
}

namespace {
// f(offset) for the first value of every (image, position) of [N][C][S] values, in parallel.
template <class F>
void for_each_position(int N, int C, size_t S, F&& f) {
    const long long positions = static_cast<long long>(N) * static_cast<long long>(S);
#pragma omp parallel for schedule(static) if (positions * C > 65536)
    for (long long p = 0; p < positions; ++p)
        f(static_cast<size_t>(p / static_cast<long long>(S)) * C * S + static_cast<size_t>(p) % S);
}
}  // namespace

template <class T>
void L2normLayer<T>::forward(Network<T>& net) {
    const size_t S = static_cast<size_t>(this->w) * this->h;
    for_each_position(this->batch, this->c, S,
                      [&](size_t off) { l2norm_forward_at(net.input + off, this->c, S, this->output.data() + off); });
}

// Backward: kernels/l2norm.hpp's l2norm_backward_at per position (the derivation is there).
template <class T>
void L2normLayer<T>::backward(Network<T>& net) {
    if (!net.delta) return;
    const size_t S = static_cast<size_t>(this->w) * this->h;
    for_each_position(this->batch, this->c, S, [&](size_t off) {
        l2norm_backward_at(net.input + off, this->delta.data() + off, this->c, S, net.delta + off);
    });
}

template <class T>
std::string L2normLayer<T>::describe() const {
    return "l2norm               " + shape_str(*this);
}

DN_REGISTER_LAYER(L2normLayer, "l2norm")

}  // namespace dn
