#include "shortcut_layer.hpp"

#include <cstring>

#include "darknet/network.hpp"
#include "darknet/weights.hpp"
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
    const std::string wt = s.get_str("weights_type", "none");
    if (wt == "per_feature") weight_groups = 1;
    else if (wt == "per_channel") weight_groups = b.c;
    else if (wt != "none") s.error("weights_type", "must be none, per_feature or per_channel, got '" + wt + "'");
    if (weight_groups > 0) {  // AlexeyAB reads the normalization only for weighted shortcuts
        const std::string wn = s.get_str("weights_normalization", "none");
        if (wn == "relu") norm = ShortcutNorm::Relu;
        else if (wn == "softmax") norm = ShortcutNorm::Softmax;
        else if (wn != "none")
            s.error("weights_normalization", "must be none, relu or softmax, got '" + wn + "'");
    }
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
        if (weight_groups > 0 && (src.out_w != b.w || src.out_h != b.h || src.out_c != b.c))
            s.error("from", strfmt("layer %d is %dx%dx%d; a weighted shortcut (weights_type) adds sources of the "
                                   "input's shape, %dx%dx%d", idx, src.out_w, src.out_h, src.out_c, b.w, b.h, b.c));
        from.push_back(idx);
    }
    if (weight_groups > 0 && sources() > kShortcutMaxSources)
        s.error("from", strfmt("a weighted shortcut takes at most %d sources (the previous layer and %d from= layers)",
                               kShortcutMaxSources, kShortcutMaxSources - 1));
    weights.assign(static_cast<size_t>(weight_groups) * sources(), T(1));  // AlexeyAB's initial weights
    activation = activation_key(s, "linear");
    set_shape(*this, b, b.w, b.h, b.c);
}

template <class T>
void ShortcutLayer<T>::normalized_weights(std::vector<T>& w) const {
    const int K = sources(), L = weight_groups;
    w.resize(weights.size());
    T g[kShortcutMaxSources];
    int argmax;
    for (int l = 0; l < L; ++l) {
        shortcut_group_weights(weights.data(), K, L, l, norm, g, &argmax);
        for (int k = 0; k < K; ++k) w[static_cast<size_t>(k) * L + l] = g[k];
    }
}

template <class T>
std::vector<Param<T>> ShortcutLayer<T>::params() {
    if (weights.empty()) return {};
    return {{"weights", weights.data(), weight_grads.empty() ? nullptr : weight_grads.data(), weights.size(), true}};
}

template <class T>
void ShortcutLayer<T>::load_weights(WeightsReader& r) {
    r.read(weights.data(), weights.size(), "weights");
}

template <class T>
void ShortcutLayer<T>::save_weights(WeightsWriter& w) const {
    w.write(weights.data(), weights.size());
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
    if (weight_groups > 0) {
        weighted_sum(net, out);
        activate_keep(net, activation, out, this->output.size(), x_act_);
        return;
    }
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

// Weighted: u = sum_k w_k(c) x_k, w = normalized_weights() (k = 0: the input, which `out` may
// alias: each element is read before it is written). S = H*W positions, C channels.
template <class T>
void ShortcutLayer<T>::weighted_sum(const Network<T>& net, T* out) {
    normalized_weights(wn_);
    const int K = sources(), L = weight_groups, C = this->out_c;
    const size_t S = static_cast<size_t>(this->out_w) * this->out_h;
    const size_t planes = static_cast<size_t>(this->batch) * C;
#pragma omp parallel for schedule(static) if (planes * S > 65536)
    for (size_t p = 0; p < planes; ++p) {
        const int l = L == 1 ? 0 : static_cast<int>(p % C);
        const size_t base = p * S;
        const T w0 = wn_[l];
        const T* x0 = net.input + base;
        for (size_t i = 0; i < S; ++i) out[base + i] = w0 * x0[i];
        for (int k = 1; k < K; ++k) {
            const T wk = wn_[static_cast<size_t>(k) * L + l];
            const T* xk = net.layers[from[k - 1]]->output.data() + base;
            for (size_t i = 0; i < S; ++i) out[base + i] += wk * xk[i];
        }
    }
}

// Weighted backward: y = f(u), u = sum_k w_k(c) x_k, g = dL/du = dy f'(u).
//   dL/dx_k += w_k(c) g;   dL/dw_k(l) = sum over the group's (b, c, s) of g x_k,
// then dL/draw through the normalization (shortcut_group_weights_backward).
template <class T>
void ShortcutLayer<T>::weighted_backward(Network<T>& net, const T* g) {
    const int K = sources(), L = weight_groups, C = this->out_c;
    const size_t S = static_cast<size_t>(this->out_w) * this->out_h;
    const size_t planes = static_cast<size_t>(this->batch) * C;
    std::vector<double> G(static_cast<size_t>(K) * L, 0.0);  // dL/dw, [K][L]
    std::vector<double> dots(planes);                        // one source's sum g x per plane
    for (int k = 0; k < K; ++k) {
        const T* x = k == 0 ? net.input : net.layers[from[k - 1]]->output.data();
        T* dx = k == 0 ? net.delta : nullptr;
        if (k > 0) {
            Layer<T>& src = *net.layers[from[k - 1]];
            src.ensure_delta();
            dx = src.delta.data();
        }
        // one pass over each plane of g: its dot with x_k and dx_k += w g; planes in parallel, their
        // dots then added in plane order (the same sum whatever the threads)
        const long long np = static_cast<long long>(planes);
#pragma omp parallel for schedule(static) if (planes * S > 65536)
        for (long long p = 0; p < np; ++p) {
            const size_t base = static_cast<size_t>(p) * S;
            const T w = wn_[static_cast<size_t>(k) * L + (L == 1 ? 0 : static_cast<int>(p % C))];
            double dot = 0;
            if (dx) {
                for (size_t i = 0; i < S; ++i) {
                    const T gi = g[base + i];
                    dot += static_cast<double>(gi) * x[base + i];
                    dx[base + i] += w * gi;
                }
            } else {
                for (size_t i = 0; i < S; ++i) dot += static_cast<double>(g[base + i]) * x[base + i];
            }
            dots[static_cast<size_t>(p)] = dot;
        }
        for (size_t p = 0; p < planes; ++p) G[static_cast<size_t>(k) * L + (L == 1 ? 0 : static_cast<int>(p % C))] += dots[p];
    }
    T Gl[kShortcutMaxSources];
    for (int l = 0; l < L; ++l) {
        for (int k = 0; k < K; ++k) Gl[k] = static_cast<T>(G[static_cast<size_t>(k) * L + l]);
        shortcut_group_weights_backward(weights.data(), K, L, l, norm, Gl, weight_grads.data());
    }
}

// Backward: y = f(u), u = x_prev + sum_from P_from x_from (P: the index map above, a 0/1 matrix).
//   dL/du = dy * f'(u);  dL/dx_prev += dL/du;  dL/dx_from += P_from^T dL/du.
template <class T>
void ShortcutLayer<T>::backward(Network<T>& net) {
    T* d = this->delta.data();
    gradient_array(this->output.data(), x_act_.empty() ? nullptr : x_act_.data(), this->output.size(), activation, d);
    if (weight_groups > 0) {
        weighted_backward(net, d);
        return;
    }
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
    if (weight_groups > 0)
        s += strfmt(" (w%s%s)", weight_groups == 1 ? "" : "c",
                    norm == ShortcutNorm::Relu ? ", relu" : norm == ShortcutNorm::Softmax ? ", softmax" : "");
    while (s.size() < 25) s += ' ';
    return s + shape_str(*this);
}

DN_REGISTER_LAYER(ShortcutLayer, "shortcut")

}  // namespace dn
