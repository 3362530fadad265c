#include "reorg_layer.hpp"

#include "darknet/network.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
ReorgLayer<T>::ReorgLayer(const BuildContext<T>& b) {
    const CfgSection& s = b.section;
    reject_unsupported(s, {"flatten", "extra"});
    space_to_depth_ = s.name == "reorg3d";
    stride = s.get_int_min("stride", 1, 1);
    reverse = s.get_int("reverse", 0) != 0;
    if (space_to_depth_ && reverse) s.error("reverse", "reverse=1 is not supported for [reorg3d]");
    const long long s2 = static_cast<long long>(stride) * stride;
    if (!space_to_depth_ && b.c % s2 != 0)
        s.error("stride", strfmt("stride %d needs the channels (%d) to be divisible by %lld (Darknet's mapping)", stride,
                                 b.c, s2));
    if (!reverse && (b.w % stride != 0 || b.h % stride != 0))
        s.error("stride", strfmt("stride %d does not divide the %dx%d input", stride, b.w, b.h));
    if (reverse) set_shape(*this, b, static_cast<long long>(b.w) * stride, static_cast<long long>(b.h) * stride, b.c / s2);
    else set_shape(*this, b, b.w / stride, b.h / stride, b.c * s2);
}

template <class T>
void ReorgLayer<T>::set_out_shape() {
    if (reverse) {
        this->out_w = this->w * stride, this->out_h = this->h * stride, this->out_c = this->c / (stride * stride);
    } else {
        this->out_w = this->w / stride, this->out_h = this->h / stride, this->out_c = this->c * stride * stride;
    }
}

template <class T>
void ReorgLayer<T>::resize(Network<T>&, int new_w, int new_h) {
    if (!reverse && (new_w % stride != 0 || new_h % stride != 0))
        fail("%s: [reorg] stride %d does not divide the new %dx%d input", this->where.c_str(), stride, new_w, new_h);
    this->w = new_w;
    this->h = new_h;
    set_out_shape();
}

template <class T>
ReorgMap ReorgLayer<T>::map() const {
    ReorgMap m;
    m.w = space_to_depth_ ? this->out_w : this->w, m.h = space_to_depth_ ? this->out_h : this->h;
    m.c = space_to_depth_ ? this->out_c : this->c, m.s = stride, m.batch = this->batch;
    return m;
}

template <class T>
template <class F>
void ReorgLayer<T>::for_each_pair(F&& f) const {
    const ReorgMap m = map();
    size_t in = 0;
    for (int b = 0; b < m.batch; ++b)
        for (int k = 0; k < m.c; ++k)
            for (int j = 0; j < m.h; ++j)
                for (int i = 0; i < m.w; ++i) f(in++, m.out(b, k, j, i));
}

template <class T>
void ReorgLayer<T>::forward(Network<T>& net) {
    const T* x = net.input;
    T* y = this->output.data();
    if (reverse) for_each_pair([&](size_t in, size_t out) { y[out] = x[in]; });
    else for_each_pair([&](size_t in, size_t out) { y[in] = x[out]; });
}

// Backward: y = P x for the permutation P above, so dL/dx += P^T dL/dy.
template <class T>
void ReorgLayer<T>::backward(Network<T>& net) {
    if (!net.delta) return;
    const T* d = this->delta.data();
    T* dx = net.delta;
    if (reverse) for_each_pair([&](size_t in, size_t out) { dx[in] += d[out]; });
    else for_each_pair([&](size_t in, size_t out) { dx[out] += d[in]; });
}

template <class T>
std::string ReorgLayer<T>::describe() const {
    std::string s = strfmt("%s%s /%d", type(), reverse ? " reverse" : "", stride);
    while (s.size() < 25) s += ' ';
    return s + shape_str(*this);
}

DN_REGISTER_LAYER(ReorgLayer, "reorg,reorg3d")

}  // namespace dn
