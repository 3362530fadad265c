#include "maxpool_layer.hpp"

#include <algorithm>
#include <limits>
#include <vector>

#include "darknet/network.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
MaxpoolLayer<T>::MaxpoolLayer(const BuildContext<T>& b) {
    const CfgSection& s = b.section;
    PoolWindow p = PoolWindow::parse(s, b.w, b.h);  // read with maxpool_depth too, as AlexeyAB's
    aa.parse(s, p.stride_x, p.stride_y);             // antialiasing: the max at stride 1, then the blur
    maxpool_depth = s.get_int("maxpool_depth", 0) != 0;
    if (maxpool_depth) {  // the window keys are then unused
        out_channels = s.get_int_min("out_channels", 1, 1);
        if (out_channels > b.c)
            s.error("out_channels", strfmt("%d exceeds the input's %d channels", out_channels, b.c));
        aa.set_shape(*this, b, b.w, b.h, out_channels);
        return;
    }
    size = p.size, stride_x = p.stride_x, stride_y = p.stride_y, padding = p.padding;
    aa.set_shape(*this, b, p.out_w(b.w), p.out_h(b.h), b.c);
}

template <class T>
double MaxpoolLayer<T>::flops() const {
    return static_cast<double>(size) * size * aa.full_outputs(*this) + aa.flops(this->outputs());
}

template <class T>
void MaxpoolLayer<T>::resize(Network<T>&, int new_w, int new_h) {
    this->w = new_w;
    this->h = new_h;
    if (maxpool_depth)
        aa.resize(*this, new_w, new_h);
    else
        aa.resize(*this, (new_w + padding - size) / stride_x + 1, (new_h + padding - size) / stride_y + 1);
}

// Inference: max over a k x k window = max over k rows of (max over k columns), so each plane
// takes a horizontal pass into a [h][ow] scratch and a vertical pass (2k compares per output
// instead of k^2). Windows are clipped to the image exactly as in the direct loop.
template <class T>
static void maxpool_separable(const T* in, int w, int h, int size, int sx, int sy, int off, int ow, int oh, T* tmp,
                              T* out) {
    for (int y = 0; y < h; ++y) {
        const T* row = in + static_cast<size_t>(y) * w;
        T* t = tmp + static_cast<size_t>(y) * ow;
        for (int j = 0; j < ow; ++j) {
            const int x0 = std::max(0, off + j * sx), x1 = std::min(w, off + j * sx + size);
            T m = -std::numeric_limits<T>::max();
            for (int x = x0; x < x1; ++x) m = row[x] > m ? row[x] : m;
            t[j] = m;
        }
    }
    for (int i = 0; i < oh; ++i) {
        const int y0 = std::max(0, off + i * sy), y1 = std::min(h, off + i * sy + size);
        T* o = out + static_cast<size_t>(i) * ow;
        for (int j = 0; j < ow; ++j) o[j] = -std::numeric_limits<T>::max();
        for (int y = y0; y < y1; ++y) {
            const T* t = tmp + static_cast<size_t>(y) * ow;
            for (int j = 0; j < ow; ++j) o[j] = t[j] > o[j] ? t[j] : o[j];
        }
    }
}

template <class T>
void MaxpoolLayer<T>::forward(Network<T>& net) {
    if (aa.wraps()) return aa.forward(*this, [&] { forward(net); });  // this body at stride 1, then the blur
    const bool keep_idx = net.train || !net.fuse_inference;
    if (maxpool_depth) {  // max over the channels k, k + K, ... at each position
        const size_t S = static_cast<size_t>(this->w) * this->h, n = this->output.size();
        const int C = this->c, K = out_channels;
        if (keep_idx) indexes_.resize(n);
#pragma omp parallel for schedule(static) if (n > 65536)
        for (long long o = 0; o < static_cast<long long>(n); ++o) {
            const size_t s = static_cast<size_t>(o) % S, k = (static_cast<size_t>(o) / S) % K, b = static_cast<size_t>(o) / S / K;
            T best = -std::numeric_limits<T>::max();
            int best_i = -1;
            for (size_t j = k; j < static_cast<size_t>(C); j += K) {
                const size_t i = (b * C + j) * S + s;
                if (net.input[i] > best) best = net.input[i], best_i = static_cast<int>(i);
            }
            this->output[o] = best;
            if (keep_idx) indexes_[o] = best_i;
        }
        return;
    }
    const int w = this->w, h = this->h, ow = this->out_w, oh = this->out_h;
    const int off = -padding / 2;
    const int planes = this->batch * this->c;
    // argmax indexes for backward; inference-only runs skip them
    const bool keep = keep_idx;
    if (!keep && size > 2) {
#pragma omp parallel if (planes * ow * oh > 4096)
        {
            std::vector<T> tmp(static_cast<size_t>(h) * ow);
#pragma omp for schedule(static)
            for (int p = 0; p < planes; ++p)
                maxpool_separable(net.input + static_cast<size_t>(p) * w * h, w, h, size, stride_x, stride_y, off, ow, oh,
                                  tmp.data(), this->output.data() + static_cast<size_t>(p) * ow * oh);
        }
        return;
    }
    if (keep) indexes_.resize(this->output.size());
    int* idx = keep ? indexes_.data() : nullptr;
#pragma omp parallel for schedule(static) if (planes * ow * oh > 16384)
    for (int p = 0; p < planes; ++p) {
        const T* in = net.input + static_cast<size_t>(p) * w * h;
        T* out = this->output.data() + static_cast<size_t>(p) * ow * oh;
        for (int i = 0; i < oh; ++i) {
            for (int j = 0; j < ow; ++j) {
                T best = -std::numeric_limits<T>::max();
                int best_i = -1;
                for (int n = 0; n < size; ++n) {
                    const int y = off + i * stride_y + n;
                    if (y < 0 || y >= h) continue;
                    for (int m = 0; m < size; ++m) {
                        const int x = off + j * stride_x + m;
                        if (x < 0 || x >= w) continue;
                        const T v = in[y * w + x];
                        if (v > best) {
                            best = v;
                            best_i = y * w + x;
                        }
                    }
                }
                out[i * ow + j] = best;
                // a window wholly in the padding (padding >= 2*size) has no argmax: -1, not the
                // last pixel of the plane before (Darknet's p*w*h - 1)
                if (idx) idx[static_cast<size_t>(p) * ow * oh + i * ow + j] = best_i < 0 ? -1 : p * w * h + best_i;
            }
        }
    }
}

// Backward: y_o = x_{argmax(o)}, so dL/dx_i += sum over outputs o whose argmax is i of dL/dy_o.
// Serial: windows overlap when stride < size, so two outputs may add into the same input.
template <class T>
void MaxpoolLayer<T>::backward(Network<T>& net) {
    if (!net.delta) return;
    if (aa.wraps()) return aa.backward(*this, [&] { backward(net); });  // dy through the blur's transpose first
    const size_t n = this->output.size();
    if (indexes_.size() != n) fail("%s: maxpool backward without a matching forward", this->where.c_str());
    for (size_t o = 0; o < n; ++o)
        if (indexes_[o] >= 0) net.delta[indexes_[o]] += this->delta[o];
}

template <class T>
std::string MaxpoolLayer<T>::describe() const {
    const std::string a = aa.on() ? strfmt(" AA%d", aa.kind()) : "";
    if (maxpool_depth) return "max depth            " + shape_str(*this) + a;
    return strfmt("max         %2dx%2d/%2d   ", size, size, stride_x) + shape_str(*this) +
           strfmt(" %5.3f BF", flops() / 1e9) + a;
}

DN_REGISTER_LAYER(MaxpoolLayer, "maxpool,max")

}  // namespace dn
