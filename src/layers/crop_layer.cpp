#include "crop_layer.hpp"

#include <cmath>
#include <random>

#include "darknet/network.hpp"
#include "darknet/random.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
CropLayer<T>::CropLayer(const BuildContext<T>& b) : seed_(next_seed()) {
    const CfgSection& s = b.section;
    const int ch = s.get_int_min("crop_height", 1, 1), cw = s.get_int_min("crop_width", 1, 1);
    if (ch > b.h) s.error("crop_height", strfmt("%d is taller than the input (%d)", ch, b.h));
    if (cw > b.w) s.error("crop_width", strfmt("%d is wider than the input (%d)", cw, b.w));
    flip = s.get_int("flip", 0) != 0;
    angle = s.get_float("angle", 0);
    saturation = s.get_float("saturation", 1);
    exposure = s.get_float("exposure", 1);
    shift = s.get_float("shift", 0);
    noadjust = s.get_int("noadjust", 0) != 0;
    for (const char* k : {"saturation", "exposure"}) {
        const float v = s.get_float(k, 1);
        if (!(v >= 0)) s.error(k, "must be >= 0");
        if (v != 1 && b.c != 3) s.error(k, strfmt("needs a 3-channel (RGB) input; this one has %d channels", b.c));
    }
    if (shift != 0 && b.c != 3) s.error("shift", strfmt("needs a 3-channel (RGB) input; this one has %d channels", b.c));
    if (!std::isfinite(angle)) s.error("angle", "must be a finite number of degrees");
    ratio_ = static_cast<float>(ch) / b.h;
    set_shape(*this, b, cw, ch, b.c);
}

template <class T>
void CropLayer<T>::resize(Network<T>&, int new_w, int new_h) {
    this->w = new_w;
    this->h = new_h;
    this->out_w = std::max(1, std::min(new_w, static_cast<int>(ratio_ * new_w)));
    this->out_h = std::max(1, std::min(new_h, static_cast<int>(ratio_ * new_h)));
}

template <class T>
CropGeom CropLayer<T>::geom() const {
    CropGeom g;
    g.w = this->w, g.h = this->h, g.c = this->c, g.ow = this->out_w, g.oh = this->out_h;
    g.scale = noadjust ? 1.f : 2.f;
    g.translate = noadjust ? 0.f : -1.f;
    return g;
}

template <class T>
void CropLayer<T>::draw(const Network<T>& net) {
    const size_t n = static_cast<size_t>(this->batch);
    if (frozen_ && draws_.size() == n && drawn_train_ == net.train) return;
    drawn_train_ = net.train;
    draws_.assign(n, CropDraw{});
    const float cw = static_cast<float>(this->w - this->out_w), chh = static_cast<float>(this->h - this->out_h);
    if (!net.train) {
        for (CropDraw& d : draws_) d.dw = cw / 2, d.dh = chh / 2;
        return;
    }
    std::mt19937_64 rng = layer_draw_rng(seed_, net.header.seen);
    std::uniform_real_distribution<float> U(0.f, 1.f);
    const double radians = angle * 3.14159265358979323846 / 180;
    for (CropDraw& d : draws_) {
        float u[11];
        for (float& x : u) x = U(rng);
        d.saturation = u[0] * (saturation - 1) + 1;
        if (u[1] > .5f) d.saturation = 1 / d.saturation;
        d.exposure = u[2] * (exposure - 1) + 1;
        if (u[3] > .5f) d.exposure = 1 / d.exposure;
        d.dw = cw * u[4];
        d.dh = chh * u[5];
        d.flip = flip && u[6] > .5f;
        const double a = (2.0 * u[7] - 1) * radians;
        d.cos_a = static_cast<float>(std::cos(a));
        d.sin_a = static_cast<float>(std::sin(a));
        d.hsv = this->c == 3;
        for (int k = 0; k < 3; ++k) d.shift[k] = d.hsv ? (u[8 + k] - .5f) * shift : 0.f;
    }
}

template <class T>
void CropLayer<T>::forward(Network<T>& net) {
    draw(net);
    const CropGeom g = geom();
    const size_t in_img = static_cast<size_t>(this->inputs()), out_img = static_cast<size_t>(this->outputs());
    const int rows = this->batch * g.c * g.oh;
#pragma omp parallel for schedule(static) if (static_cast<size_t>(rows) * g.ow > 65536)
    for (int r = 0; r < rows; ++r) {
        const int i = r % g.oh, k = (r / g.oh) % g.c, b = r / (g.oh * g.c);
        const T* img = net.input + b * in_img;
        T* out = this->output.data() + b * out_img + (static_cast<size_t>(k) * g.oh + i) * g.ow;
        for (int j = 0; j < g.ow; ++j) out[j] = crop_value(g, draws_[b], img, k, i, j);
    }
}

// Backward: out_k(i, j) = sum_p w_p(i, j) A_k(p) with the levels A of the input pixels; the
// derivation (the gather over the outputs reading each pixel, then the levels' Jacobian) is
// crop_backward_pixel's, in kernels/crop.hpp. Adds dL/dx into net.delta.
template <class T>
void CropLayer<T>::backward(Network<T>& net) {
    if (!net.delta) return;
    const CropGeom g = geom();
    const size_t in_img = static_cast<size_t>(this->inputs()), out_img = static_cast<size_t>(this->outputs());
    const int rows = this->batch * g.h;
#pragma omp parallel for schedule(static) if (static_cast<size_t>(rows) * g.w > 16384)
    for (int r = 0; r < rows; ++r) {
        const int y = r % g.h, b = r / g.h;
        for (int x = 0; x < g.w; ++x)
            crop_backward_pixel(g, draws_[b], net.input + b * in_img, this->delta.data() + b * out_img, y, x,
                                net.delta + b * in_img);
    }
}

template <class T>
std::string CropLayer<T>::describe() const {
    return strfmt("crop        %s%s  ", flip ? "flip " : "     ", angle != 0 ? "rot " : "    ") + shape_str(*this);
}

DN_REGISTER_LAYER(CropLayer, "crop")

}  // namespace dn
