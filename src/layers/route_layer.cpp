#include "route_layer.hpp"

#include <cstring>

#include "darknet/network.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
RouteLayer<T>::RouteLayer(const BuildContext<T>& b) {
    const CfgSection& s = b.section;
    if (!s.has("layers")) s.error("layers", "is required");
    std::vector<int> refs = s.get_ints("layers");
    if (refs.empty()) s.error("layers", "lists no layers");
    groups = s.get_int_min("groups", 1, 1);
    group_id = s.get_int_min("group_id", 0, 0);
    if (group_id >= groups) s.error("group_id", strfmt("must be less than groups=%d", groups));
    int ow = -1, oh = -1;
    long long oc = 0;
    for (int r : refs) {
        int idx = resolve_layer_ref(s, "layers", r, b.index);
        const Layer<T>& src = *b.built[idx];
        if (src.out_c % groups != 0)
            s.error("groups", strfmt("groups=%d does not divide the %d channels of layer %d", groups, src.out_c, idx));
        if (ow < 0) {
            ow = src.out_w;
            oh = src.out_h;
        } else if (src.out_w != ow || src.out_h != oh) {
            s.error("layers", strfmt("layer %d is %dx%d but layer %d is %dx%d; routed layers must share width and height",
                                     idx, src.out_w, src.out_h, inputs_idx[0], ow, oh));
        }
        oc += src.out_c / groups;
        inputs_idx.push_back(idx);
    }
    set_shape(*this, b, ow, oh, oc);
    // the input shape of a route is that of what it concatenates
    this->w = ow;
    this->h = oh;
    this->c = this->out_c;
}

template <class T>
void RouteLayer<T>::resize(Network<T>& net, int, int) {
    // follows its sources, which the network resized before this layer
    const Layer<T>& first = *net.layers[inputs_idx[0]];
    this->w = this->out_w = first.out_w;
    this->h = this->out_h = first.out_h;
}

template <class T>
void RouteLayer<T>::forward(Network<T>& net) {
    const size_t out_per = static_cast<size_t>(this->outputs());
    size_t offset = 0;
    for (int idx : inputs_idx) {
        const Layer<T>& src = *net.layers[idx];
        const size_t src_per = static_cast<size_t>(src.outputs());
        const size_t part = src_per / groups;
        for (int b = 0; b < this->batch; ++b)
            std::memcpy(this->output.data() + b * out_per + offset, src.output.data() + b * src_per + part * group_id,
                        part * sizeof(T));
        offset += part;
    }
}

// Backward: the output is a copy of input slices, so each slice's gradient adds into the source
// layer's delta (route layers add into the layers they read from).
template <class T>
void RouteLayer<T>::backward(Network<T>& net) {
    const size_t out_per = static_cast<size_t>(this->outputs());
    size_t offset = 0;
    for (int idx : inputs_idx) {
        Layer<T>& src = *net.layers[idx];
        src.ensure_delta();
        const size_t src_per = static_cast<size_t>(src.outputs());
        const size_t part = src_per / groups;
        for (int b = 0; b < this->batch; ++b) {
            const T* d = this->delta.data() + b * out_per + offset;
            T* o = src.delta.data() + b * src_per + part * group_id;
            for (size_t i = 0; i < part; ++i) o[i] += d[i];
        }
        offset += part;
    }
}

template <class T>
std::string RouteLayer<T>::describe() const {
    std::string s = "route ";
    for (int i : inputs_idx) s += strfmt(" %d", i);
    if (groups > 1) s += strfmt(" (group %d/%d)", group_id, groups);
    while (s.size() < 25) s += ' ';
    return s + strfmt("                -> %4d x%4d x%4d", this->out_w, this->out_h, this->out_c);
}

DN_REGISTER_LAYER(RouteLayer, "route")

}  // namespace dn
