// Small helpers shared by the layer implementations (shapes, summary text, cfg checks).
#pragma once

#include <string>
#include <vector>

#include "darknet/error.hpp"
#include "darknet/layer.hpp"
#include "darknet/network.hpp"
#include "kernels/activations.hpp"
#include "kernels/channel_norm.hpp"

namespace dn {

/// Sets input shape from the build context and the output shape. `output` is allocated by the
/// network before the first forward pass (or placed in the inference arena). The sizes come in
/// 64 bits so that a cfg's huge value is caught here rather than wrapping around in int.
/// Errors (naming the section's file and line): a side under 1, or an output of more than
/// 2^31 - 1 values per image (layer sizes are int, as in Darknet).
template <class T>
void set_shape(Layer<T>& l, const BuildContext<T>& b, long long out_w, long long out_h, long long out_c) {
    if (out_w < 1 || out_h < 1 || out_c < 1)
        b.section.error_section(strfmt("this layer's output would be %lldx%lldx%lld (width x height x channels); "
                                       "every side must be at least 1", out_w, out_h, out_c));
    const double values = static_cast<double>(out_w) * static_cast<double>(out_h) * static_cast<double>(out_c);
    if (values > 2147483647.0)
        b.section.error_section(strfmt("this layer's output would be %lldx%lldx%lld = %.4g values an image; a layer "
                                       "holds at most 2^31 - 1 = 2147483647",
                                       out_w, out_h, out_c, values));
    l.batch = b.batch;
    l.w = b.w;
    l.h = b.h;
    l.c = b.c;
    l.out_w = out_w;
    l.out_h = out_h;
    l.out_c = out_c;
}

/// Whether a forward pass must keep the activation's input for backward: the activation's
/// derivative needs it (mish, swish, ...) and the pass may be followed by a backward pass (any
/// pass but an inference-only one). Layers clear the copy otherwise, so no stale copy survives.
template <class T>
bool keep_activation_input(const Network<T>& net, Activation a) {
    return activation_needs_input(a) && (net.train || !net.fuse_inference);
}

/// The activation that ends a layer's forward: copies out[0, n) (the pre-activation values) into
/// x_act when backward will need them (keep_activation_input), clears x_act otherwise, then
/// applies a in place. Backward passes x_act.empty() ? nullptr : x_act.data() to gradient_array.
template <class T>
void activate_keep(const Network<T>& net, Activation a, T* out, size_t n, std::vector<T>& x_act) {
    if (keep_activation_input(net, a))
        x_act.assign(out, out + n);
    else
        x_act.clear();
    activate_array(out, n, a);
}

/// "  320 x 320 x   3 ->  160 x 160 x  16" (Darknet's summary columns).
template <class T>
std::string shape_str(const Layer<T>& l) {
    return strfmt("%4d x%4d x%4d -> %4d x%4d x%4d", l.w, l.h, l.c, l.out_w, l.out_h, l.out_c);
}

/// The window geometry of [maxpool] and [local_avgpool] (Darknet's make_maxpool_layer): keys
/// size (default stride), stride (default 1), stride_x, stride_y, padding (default size - 1);
/// output side (in + padding - size)/stride + 1; windows start at -padding/2. Error (naming the
/// section) when no output is left.
struct PoolWindow {
    int size = 1, stride_x = 1, stride_y = 1, padding = 0;
    /// 64-bit, so that a cfg's huge padding is caught by set_shape instead of wrapping around
    long long out_w(long long w) const { return (w + padding - size) / stride_x + 1; }
    long long out_h(long long h) const { return (h + padding - size) / stride_y + 1; }
    int offset() const { return -padding / 2; }
    static PoolWindow parse(const CfgSection& s, int w, int h) {
        PoolWindow p;
        const int stride = s.get_int_min("stride", 1, 1);
        p.stride_x = s.get_int_min("stride_x", stride, 1);
        p.stride_y = s.get_int_min("stride_y", stride, 1);
        p.size = s.get_int_min("size", stride, 1);
        p.padding = s.get_int_min("padding", p.size - 1, 0);
        if (p.out_w(w) <= 0 || p.out_h(h) <= 0)
            s.error_section(strfmt("a %dx%d window with padding %d leaves no output on a %dx%d input", p.size, p.size,
                                   p.padding, w, h));
        return p;
    }
};

/// The section's `activation` key (default `def`); an unknown name is an error naming the key and
/// listing the known names.
inline Activation activation_key(const CfgSection& s, const char* def) {
    const std::string name = s.get_str("activation", def);
    if (channel_norm_kind(name) != ChannelNormKind::None)
        s.error("activation", "'" + name + "' normalizes across the channels: [convolutional] and [activation] take it");
    try {
        return parse_activation(name);
    } catch (const Error& e) {
        s.error("activation", e.what());
    }
}

/// Errors out when an AlexeyAB key whose behaviour we do not implement is set to a non-zero value,
/// instead of silently computing something else.
inline void reject_unsupported(const CfgSection& s, std::initializer_list<const char*> keys) {
    for (const char* k : keys)
        if (s.has(k) && s.get_str(k, "0") != "0")
            s.error(k, "is not supported by this darknet (remove it or set it to 0)");
}

/// Index of a route/shortcut reference: negative values are relative to `self`. Errors name the key.
inline int resolve_layer_ref(const CfgSection& s, const char* key, int ref, int self) {
    int idx = ref < 0 ? self + ref : ref;
    if (idx < 0) s.error(key, strfmt("refers to layer %d (%d relative to layer %d), before the first layer", idx, ref, self));
    if (idx >= self)
        s.error(key, strfmt("refers to layer %d, which does not exist yet (this is layer %d)", idx, self));
    return idx;
}

}  // namespace dn
