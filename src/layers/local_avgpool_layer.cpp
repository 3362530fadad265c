#include "local_avgpool_layer.hpp"

#include <algorithm>

#include "darknet/network.hpp"
#include "kernels/index_maps.hpp"

namespace dn {

template <class T>
LocalAvgpoolLayer<T>::LocalAvgpoolLayer(const BuildContext<T>& b) {
    win = PoolWindow::parse(b.section, b.w, b.h);
    aa.parse(b.section, win.stride_x, win.stride_y);  // antialiasing: the average at stride 1, then the blur
    aa.set_shape(*this, b, win.out_w(b.w), win.out_h(b.h), b.c);
}

template <class T>
double LocalAvgpoolLayer<T>::flops() const {
    return static_cast<double>(win.size) * win.size * aa.full_outputs(*this) + aa.flops(this->outputs());
}

template <class T>
void LocalAvgpoolLayer<T>::resize(Network<T>&, int new_w, int new_h) {
    this->w = new_w;
    this->h = new_h;
    aa.resize(*this, static_cast<int>(win.out_w(new_w)), static_cast<int>(win.out_h(new_h)));
}

namespace {
// Calls f(o, x0, x1, y0, y1, n) for every output o of one plane, with the part [x0, x1) x [y0, y1)
// of its window inside the w x h input and n its pixel count (0 for a window wholly in the padding).
template <class F>
void for_each_window(const PoolWindow& win, int w, int h, int ow, int oh, F&& f) {
    const int off = win.offset();
    for (int i = 0; i < oh; ++i) {
        int y0, y1;
        pool_span(off, win.stride_y, win.size, i, h, y0, y1);
        for (int j = 0; j < ow; ++j) {
            int x0, x1;
            pool_span(off, win.stride_x, win.size, j, w, x0, x1);
            f(i * ow + j, x0, x1, y0, y1, std::max(0, y1 - y0) * std::max(0, x1 - x0));
        }
    }
}
}  // namespace

template <class T>
void LocalAvgpoolLayer<T>::forward(Network<T>& net) {
    if (aa.wraps()) return aa.forward(*this, [&] { forward(net); });  // this body at stride 1, then the blur
    const int w = this->w, h = this->h, ow = this->out_w, oh = this->out_h;
    const int planes = this->batch * this->c;
#pragma omp parallel for schedule(static) if (planes * ow * oh > 16384)
    for (int p = 0; p < planes; ++p) {
        const T* in = net.input + static_cast<size_t>(p) * w * h;
        T* out = this->output.data() + static_cast<size_t>(p) * ow * oh;
        for_each_window(win, w, h, ow, oh, [&](int o, int x0, int x1, int y0, int y1, int n) {
            T s = 0;
            for (int y = y0; y < y1; ++y)
                for (int x = x0; x < x1; ++x) s += in[y * w + x];
            out[o] = n > 0 ? s / static_cast<T>(n) : T(0);
        });
    }
}

// Backward: y_o = (1/n_o) sum_{i in W_o} x_i over the n_o window pixels inside the input, so
// dL/dx_i += sum over windows o containing i of dL/dy_o / n_o. Per plane, serially over the
// windows (they overlap when stride < size); planes are independent.
template <class T>
void LocalAvgpoolLayer<T>::backward(Network<T>& net) {
    if (!net.delta) return;
    if (aa.wraps()) return aa.backward(*this, [&] { backward(net); });  // dy through the blur's transpose first
    const int w = this->w, h = this->h, ow = this->out_w, oh = this->out_h;
    const int planes = this->batch * this->c;
#pragma omp parallel for schedule(static) if (planes * ow * oh > 16384)
    for (int p = 0; p < planes; ++p) {
        T* dx = net.delta + static_cast<size_t>(p) * w * h;
        const T* dy = this->delta.data() + static_cast<size_t>(p) * ow * oh;
        for_each_window(win, w, h, ow, oh, [&](int o, int x0, int x1, int y0, int y1, int n) {
            if (n == 0) return;
            const T g = dy[o] / static_cast<T>(n);
            for (int y = y0; y < y1; ++y)
                for (int x = x0; x < x1; ++x) dx[y * w + x] += g;
        });
    }
}

template <class T>
std::string LocalAvgpoolLayer<T>::describe() const {
    return strfmt("avg         %2dx%2d/%2d   ", win.size, win.size, win.stride_x) + shape_str(*this) +
           strfmt(" %5.3f BF", flops() / 1e9) + (aa.on() ? strfmt(" AA%d", aa.kind()) : "");
}

DN_REGISTER_LAYER(LocalAvgpoolLayer, "local_avgpool,local_avg")

}  // namespace dn
