#include "shortcut_layer.hpp"

#include <cstring>

#include "darknet/network.hpp"
#include "layers/layer_util.hpp"

namespace dn {

namespace {
// Index maps of pjreddie's shortcut_cpu between a source [c1,h1,w1] and this layer [c2,h2,w2]:
// out[i*sample + w2*(j*sample + h2*k)] += add[i*stride + w1*(j*stride + h1*k)].
struct Mapping {
    int stride, sample, minw, minh, minc;
};
Mapping mapping(int w1, int h1, int c1, int w2, int h2, int c2) {
    Mapping m;
    m.stride = w1 / w2 > 0 ? w1 / w2 : 1;
    m.sample = w2 / w1 > 0 ? w2 / w1 : 1;
    m.minw = w1 < w2 ? w1 : w2;
    m.minh = h1 < h2 ? h1 : h2;
    m.minc = c1 < c2 ? c1 : c2;
    return m;
}
}  // namespace

template <class T>
ShortcutLayer<T>::ShortcutLayer(const BuildContext<T>& b) {
    const CfgSection& s = b.section;
    reject_unsupported(s, {"weights_normalization"});
    std::string wt = s.get_str("weights_type", "none");
    if (wt != "none") s.error("weights_type", "only 'none' is supported");
    if (!s.has("from")) s.error("from", "is required");
    std::vector<int> refs = s.get_ints("from");
    if (refs.empty()) s.error("from", "lists no layers");
    for (int r : refs) {
        int idx = resolve_layer_ref(s, "from", r, b.index);
        const Layer<T>& src = *b.built[idx];
        if (src.out_w != b.w || src.out_h != b.h) {
            bool ok = (b.w % src.out_w == 0 || src.out_w % b.w == 0) && (b.h % src.out_h == 0 || src.out_h % b.h == 0) &&
                      (src.out_w / b.w == src.out_h / b.h) && (b.w / src.out_w == b.h / src.out_h);
            if (!ok)
                s.error("from", strfmt("layer %d is %dx%d, which does not divide or multiply the %dx%d input", idx,
                                       src.out_w, src.out_h, b.w, b.h));
        }
        from.push_back(idx);
    }
    activation = activation_key(s, "linear");
    set_shape(*this, b, b.w, b.h, b.c);
}

template <class T>
void ShortcutLayer<T>::resize(Network<T>&, int new_w, int new_h) {
    this->w = this->out_w = new_w;
    this->h = this->out_h = new_h;
}

template <class T>
void ShortcutLayer<T>::forward(Network<T>& net) {
    const size_t per = static_cast<size_t>(this->outputs());
    T* out = this->output.data();
    if (out != net.input) std::memcpy(out, net.input, this->output.size() * sizeof(T));
    for (int idx : from) {
        const Layer<T>& src = *net.layers[idx];
        const T* add = src.output.data();
        if (src.out_w == this->out_w && src.out_h == this->out_h && src.out_c == this->out_c) {
            const size_t n = this->output.size();
#pragma omp parallel for simd schedule(static) if (n > 65536)
            for (size_t i = 0; i < n; ++i) out[i] += add[i];
            continue;
        }
        Mapping m = mapping(src.out_w, src.out_h, src.out_c, this->out_w, this->out_h, this->out_c);
        const int w1 = src.out_w, h1 = src.out_h, w2 = this->out_w, h2 = this->out_h;
        for (int b = 0; b < this->batch; ++b)
            for (int k = 0; k < m.minc; ++k)
                for (int j = 0; j < m.minh; ++j)
                    for (int i = 0; i < m.minw; ++i)
                        out[b * per + i * m.sample + w2 * (j * m.sample + h2 * k)] +=
                            add[b * static_cast<size_t>(src.outputs()) + i * m.stride + w1 * (j * m.stride + h1 * k)];
    }
    activate_keep(net, activation, out, this->output.size(), x_act_);
}

// Backward: y = f(u), u = x_prev + sum_from P_from x_from (P: the index map above, a 0/1 matrix).
//   dL/du = dy * f'(u);  dL/dx_prev += dL/du;  dL/dx_from += P_from^T dL/du.
template <class T>
void ShortcutLayer<T>::backward(Network<T>& net) {
    T* d = this->delta.data();
    gradient_array(this->output.data(), x_act_.empty() ? nullptr : x_act_.data(), this->output.size(), activation, d);
    const size_t n = this->output.size();
    if (net.delta)
        for (size_t i = 0; i < n; ++i) net.delta[i] += d[i];
    const size_t per = static_cast<size_t>(this->outputs());
    for (int idx : from) {
        Layer<T>& src = *net.layers[idx];
        src.ensure_delta();
        T* sd = src.delta.data();
        if (src.out_w == this->out_w && src.out_h == this->out_h && src.out_c == this->out_c) {
            for (size_t i = 0; i < n; ++i) sd[i] += d[i];
            continue;
        }
        Mapping m = mapping(src.out_w, src.out_h, src.out_c, this->out_w, this->out_h, this->out_c);
        const int w1 = src.out_w, h1 = src.out_h, w2 = this->out_w, h2 = this->out_h;
        for (int b = 0; b < this->batch; ++b)
            for (int k = 0; k < m.minc; ++k)
                for (int j = 0; j < m.minh; ++j)
                    for (int i = 0; i < m.minw; ++i)
                        sd[b * static_cast<size_t>(src.outputs()) + i * m.stride + w1 * (j * m.stride + h1 * k)] +=
                            d[b * per + i * m.sample + w2 * (j * m.sample + h2 * k)];
    }
}

template <class T>
std::string ShortcutLayer<T>::describe() const {
    std::string s = "shortcut";
    for (int i : from) s += strfmt(" %d", i);
    while (s.size() < 25) s += ' ';
    return s + shape_str(*this);
}

DN_REGISTER_LAYER(ShortcutLayer, "shortcut")

}  // namespace dn
