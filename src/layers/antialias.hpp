// AlexeyAB's antialiasing=1|2 on [convolutional], [maxpool] and [local_avgpool] (Zhang 2019,
// "Making Convolutional Networks Shift-Invariant Again"): the layer runs at stride 1 ("full
// resolution"), then a fixed low-pass blur (kernels/blur.hpp) takes the layer's stride. The blur has
// no trained parameters and nothing in the weights file, as in Darknet.
//
// The layer keeps its own code: AntiAlias::forward(layer, body) runs body with the layer's output,
// delta and out_w x out_h swapped for the full-resolution ones (restored on return or throw), then
// blurs the full output into the layer's output. Backward first maps the layer's delta through the
// blur's transpose into the full delta, then runs body, which reads it as its own. A layer calls its
// own method as body: `if (aa.wraps()) return aa.forward(*this, [&] { forward(net); });` (wraps()
// is false while the body runs).
#pragma once

#include <climits>
#include <cstddef>
#include <utility>

#include "darknet/cfg.hpp"
#include "darknet/error.hpp"
#include "darknet/layer.hpp"
#include "kernels/blur.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
class AntiAlias {
public:
    /// Reads antialiasing= (0: off; 1: the 3x3 binomial blur, padding 1; 2: the 2x2 box, no
    /// padding) of a layer whose cfg strides are sx, sy. When on, the blur takes those strides and
    /// sx, sy become 1 for the layer itself. Error (naming the key): another value.
    void parse(const CfgSection& s, int& sx, int& sy) {
        const int v = s.get_int_min("antialiasing", 0, 0);
        if (v > 2) s.error("antialiasing", strfmt("is %d; Darknet knows 0 (off), 1 (3x3 blur) and 2 (2x2 blur)", v));
        kind_ = v;
        if (!v) return;
        g_.k = v == 1 ? 3 : 2;
        g_.pad = v == 1 ? 1 : 0;
        g_.sx = sx, g_.sy = sy;
        sx = sy = 1;
    }
    bool on() const { return kind_ != 0; }
    /// True when the layer's method should hand itself to forward()/backward() (on, and not
    /// already inside the body).
    bool wraps() const { return kind_ != 0 && !inside_; }
    int full_w() const { return g_.w; }
    int full_h() const { return g_.h; }
    int kind() const { return kind_; }

    /// set_shape (layer_util.hpp) for a layer whose stride-1 output is fw x fh x oc: the blurred size
    /// when on. Error (naming the key): the 2x2 blur of a map under 2x2.
    void set_shape(Layer<T>& l, const BuildContext<T>& b, long long fw, long long fh, long long oc) {
        if (on() && fw > 0 && fh > 0 && fw <= INT_MAX && fh <= INT_MAX) {
            int bw, bh;
            if (!set_full(static_cast<int>(fw), static_cast<int>(fh), &bw, &bh))
                b.section.error("antialiasing", strfmt("its 2x2 blur needs a map of at least 2x2, not %lldx%lld", fw, fh));
            fw = bw, fh = bh;
        }
        dn::set_shape(l, b, fw, fh, oc);
    }
    /// resize(): the layer's out_w x out_h from its new stride-1 output fw x fh.
    void resize(Layer<T>& l, int fw, int fh) {
        l.out_w = fw, l.out_h = fh;
        if (on() && !set_full(fw, fh, &l.out_w, &l.out_h))
            fail("%s: the 2x2 antialiasing blur leaves no output of a %dx%d map", l.where.c_str(), fw, fh);
    }

    /// Sets the stride-1 output size fw x fh and returns the blurred one in *ow, *oh; false when the
    /// blur leaves no output (a 2x2 blur of a 1-wide map).
    bool set_full(int fw, int fh, int* ow, int* oh) {
        const long long bw = BlurGeom::out_size(fw, g_.k, g_.pad, g_.sx), bh = BlurGeom::out_size(fh, g_.k, g_.pad, g_.sy);
        if (fw + 2 * g_.pad < g_.k || fh + 2 * g_.pad < g_.k || bw < 1 || bh < 1) return false;
        g_.w = fw, g_.h = fh, g_.ow = static_cast<int>(bw), g_.oh = static_cast<int>(bh);
        *ow = g_.ow, *oh = g_.oh;
        return true;
    }
    /// Values per image of the layer's stride-1 output (its outputs() when off): what its own
    /// arithmetic runs over.
    double full_outputs(const Layer<T>& l) const {
        return on() ? static_cast<double>(g_.w) * g_.h * l.out_c : static_cast<double>(l.outputs());
    }
    /// The blur's multiply-adds, as flops (2 k^2 per output value) for `values` outputs.
    double flops(double values) const { return on() ? 2.0 * g_.k * g_.k * values : 0.0; }
    const BlurGeom& geom() const { return g_; }

    /// Forward (CPU): body() at full resolution, then output[p] = blur(full output[p]) per plane p.
    template <class Body>
    void forward(Layer<T>& l, Body&& body) {
        full_out_.resize(static_cast<size_t>(l.batch) * l.out_c * g_.w * g_.h);
        {
            Scope<Buffer<T>> s(*this, l, l.output, l.delta, full_out_, full_delta_);
            body();
        }
        const int planes = l.batch * l.out_c;
        const T* in = full_out_.data();
        T* out = l.output.data();
        const size_t pin = static_cast<size_t>(g_.w) * g_.h, pout = static_cast<size_t>(g_.ow) * g_.oh;
#pragma omp parallel for schedule(static) if (planes * pout > 16384)
        for (int p = 0; p < planes; ++p)
            for (int oy = 0; oy < g_.oh; ++oy)
                for (int ox = 0; ox < g_.ow; ++ox)
                    out[p * pout + static_cast<size_t>(oy) * g_.ow + ox] = blur_value(g_, in + p * pin, oy, ox);
    }

    /// Backward (CPU): full delta = blur^T(delta) (kernels/blur.hpp's gather; it is written, not
    /// added: only the blur feeds it), then body() at full resolution, which ADDS into net.delta.
    template <class Body>
    void backward(Layer<T>& l, Body&& body) {
        const int planes = l.batch * l.out_c;
        const size_t pin = static_cast<size_t>(g_.w) * g_.h, pout = static_cast<size_t>(g_.ow) * g_.oh;
        full_delta_.resize(planes * pin);
        const T* d = l.delta.data();
        T* fd = full_delta_.data();
#pragma omp parallel for schedule(static) if (planes * pin > 16384)
        for (int p = 0; p < planes; ++p)
            for (int y = 0; y < g_.h; ++y)
                for (int x = 0; x < g_.w; ++x)
                    fd[p * pin + static_cast<size_t>(y) * g_.w + x] = blur_input_grad(g_, d + p * pout, y, x);
        Scope<Buffer<T>> s(*this, l, l.output, l.delta, full_out_, full_delta_);
        body();
    }

#ifdef DN_GPU
    /// The same on device buffers (layers/antialias_gpu.hpp, included by the layers' .cu files).
    template <class Body>
    void forward_gpu(Layer<T>& l, Body&& body);
    template <class Body>
    void backward_gpu(Layer<T>& l, Body&& body);
#endif

private:
    // For the scope's life: the layer's buffers a, b swapped with the full-resolution fa, fb and its
    // out_w x out_h set to the full size.
    template <class Buf>
    struct Scope {
        AntiAlias& aa;
        Layer<T>& l;
        Buf &a, &b, &fa, &fb;
        Scope(AntiAlias& aa_, Layer<T>& l_, Buf& a_, Buf& b_, Buf& fa_, Buf& fb_)
            : aa(aa_), l(l_), a(a_), b(b_), fa(fa_), fb(fb_) {
            std::swap(a, fa);
            std::swap(b, fb);
            l.out_w = aa.g_.w, l.out_h = aa.g_.h;
            aa.inside_ = true;
        }
        ~Scope() {
            std::swap(a, fa);
            std::swap(b, fb);
            l.out_w = aa.g_.ow, l.out_h = aa.g_.oh;
            aa.inside_ = false;
        }
        Scope(const Scope&) = delete;
        Scope& operator=(const Scope&) = delete;
    };

    int kind_ = 0;
    bool inside_ = false;
    BlurGeom g_;
    Buffer<T> full_out_, full_delta_;
#ifdef DN_GPU
    DeviceBuffer<T> full_out_gpu_, full_delta_gpu_;
#endif
};

}  // namespace dn
