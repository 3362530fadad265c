#include "scale_channels_layer.hpp"

#include "darknet/network.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
ScaleChannelsLayer<T>::ScaleChannelsLayer(const BuildContext<T>& b) {
    const CfgSection& s = b.section;
    sam_ = s.name == "sam";
    if (!s.has("from")) s.error("from", "is required");
    const std::vector<int> refs = s.get_ints("from");
    if (refs.size() != 1) s.error("from", strfmt("takes one layer, got %zu", refs.size()));
    from = resolve_layer_ref(s, "from", refs[0], b.index);
    if (!sam_) scale_wh = s.get_int("scale_wh", 0) != 0;
    activation = activation_key(s, "linear");
    const Layer<T>& a = *b.built[from];
    check_shapes(b.w, b.h, b.c, a.out_w, a.out_h, a.out_c, &s);
    set_shape(*this, b, a.out_w, a.out_h, a.out_c);
}

template <class T>
void ScaleChannelsLayer<T>::check_shapes(int pw, int ph, int pc, int aw, int ah, int ac, const CfgSection* s) const {
    const bool ok = sam_ ? (pw == aw && ph == ah && pc == ac)
                         : scale_wh ? (pw == aw && ph == ah && pc == 1) : (pw == 1 && ph == 1 && pc == ac);
    if (ok) return;
    const std::string want = sam_ ? strfmt("%dx%dx%d", aw, ah, ac)
                                  : scale_wh ? strfmt("%dx%dx1", aw, ah) : strfmt("1x1x%d", ac);
    const std::string msg = strfmt("layer %d is %dx%dx%d, so the previous layer (the scales) must be %s, not %dx%dx%d",
                                   from, aw, ah, ac, want.c_str(), pw, ph, pc);
    if (s) s->error("from", msg);
    fail("%s: [%s] %s", this->where.c_str(), type(), msg.c_str());
}

template <class T>
void ScaleChannelsLayer<T>::resize(Network<T>& net, int new_w, int new_h) {
    const Layer<T>& a = *net.layers[from];
    check_shapes(new_w, new_h, this->c, a.out_w, a.out_h, a.out_c, nullptr);
    this->w = new_w;
    this->h = new_h;
    this->out_w = a.out_w;
    this->out_h = a.out_h;
}

template <class T>
ScaleMap ScaleChannelsLayer<T>::map() const {
    ScaleMap m;
    m.mode = sam_ ? ScaleMap::Elementwise : scale_wh ? ScaleMap::Spatial : ScaleMap::Channel;
    m.S = static_cast<size_t>(this->out_w) * this->out_h;
    m.CS = m.S * this->out_c;
    return m;
}

template <class T>
void ScaleChannelsLayer<T>::forward(Network<T>& net) {
    const T* a = net.layers[from]->output.data();
    const T* p = net.input;
    T* y = this->output.data();
    const size_t n = this->output.size();
    const ScaleMap k = map();
    for (size_t i = 0; i < n; ++i) y[i] = a[i] * p[k(i)];
    activate_keep(net, activation, y, n, x_act_);
}

// Backward: u = a * P p (P broadcasts p to a's shape: a 0/1 matrix), y = f(u).
//   dL/du = dy * f'(u);   dL/da += dL/du * (P p);   dL/dp += P^T (dL/du * a)
// (the sum over the broadcast positions: the H*W of a channel, or the C of a position).
// AlexeyAB's [sam] backward writes dL/da with '=' instead of adding; this adds, as every layer.
template <class T>
void ScaleChannelsLayer<T>::backward(Network<T>& net) {
    T* d = this->delta.data();
    const size_t n = this->output.size();
    gradient_array(this->output.data(), x_act_.empty() ? nullptr : x_act_.data(), n, activation, d);
    Layer<T>& src = *net.layers[from];
    src.ensure_delta();
    const T* a = src.output.data();
    const T* p = net.input;
    T* da = src.delta.data();
    const ScaleMap map_p = map();
    for (size_t i = 0; i < n; ++i) {
        const size_t k = map_p(i);
        da[i] += d[i] * p[k];
        if (net.delta) net.delta[k] += d[i] * a[i];
    }
}

template <class T>
std::string ScaleChannelsLayer<T>::describe() const {
    std::string s = strfmt("%s %d", sam_ ? "sam" : (scale_wh ? "scale_wh" : "scale_channels"), from);
    while (s.size() < 25) s += ' ';
    return s + shape_str(*this);
}

DN_REGISTER_LAYER(ScaleChannelsLayer, "scale_channels,sam")

}  // namespace dn
