#include "upsample_layer.hpp"

#include "darknet/network.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
UpsampleLayer<T>::UpsampleLayer(const BuildContext<T>& b) {
    const CfgSection& s = b.section;
    stride = s.get_int("stride", 2);
    if (stride < 0) s.error("stride", "negative strides (downsampling) are not supported");
    if (stride == 0) s.error("stride", "must be >= 1");
    scale = s.get_float("scale", 1);
    set_shape(*this, b, static_cast<long long>(b.w) * stride, static_cast<long long>(b.h) * stride, b.c);
}

template <class T>
void UpsampleLayer<T>::resize(Network<T>&, int new_w, int new_h) {
    this->w = new_w;
    this->h = new_h;
    this->out_w = new_w * stride;
    this->out_h = new_h * stride;
}

template <class T>
void UpsampleLayer<T>::forward(Network<T>& net) {
    const int w = this->w, h = this->h, ow = this->out_w, oh = this->out_h;
    const T sc = static_cast<T>(scale);
    const int planes = this->batch * this->c;
#pragma omp parallel for schedule(static) if (planes * ow * oh > 65536)
    for (int p = 0; p < planes; ++p) {
        const T* in = net.input + static_cast<size_t>(p) * w * h;
        T* out = this->output.data() + static_cast<size_t>(p) * ow * oh;
        for (int y = 0; y < oh; ++y)
            for (int x = 0; x < ow; ++x) out[y * ow + x] = sc * in[(y / stride) * w + x / stride];
    }
}

// Backward: each input pixel feeds stride*stride outputs with weight scale:
//   dL/dx[c][i][j] += scale * sum_{a,b < stride} dL/dy[c][i*stride+a][j*stride+b].
template <class T>
void UpsampleLayer<T>::backward(Network<T>& net) {
    if (!net.delta) return;
    const int w = this->w, h = this->h, ow = this->out_w, oh = this->out_h;
    const T sc = static_cast<T>(scale);
    for (int p = 0; p < this->batch * this->c; ++p) {
        T* din = net.delta + static_cast<size_t>(p) * w * h;
        const T* d = this->delta.data() + static_cast<size_t>(p) * ow * oh;
        for (int y = 0; y < oh; ++y)
            for (int x = 0; x < ow; ++x) din[(y / stride) * w + x / stride] += sc * d[y * ow + x];
    }
}

template <class T>
std::string UpsampleLayer<T>::describe() const {
    return strfmt("upsample             %2dx  ", stride) + shape_str(*this);
}

DN_REGISTER_LAYER(UpsampleLayer, "upsample")

}  // namespace dn
