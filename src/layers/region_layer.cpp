#include "region_layer.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "darknet/network.hpp"
#include "kernels/activations.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
RegionLayer<T>::RegionLayer(const BuildContext<T>& b) {
    const CfgSection& s = b.section;
    reject_unsupported(s, {"tree", "softmax_tree", "map", "background", "log"});
    classes = s.get_int_min("classes", 20, 1);
    coords = s.get_int_min("coords", 4, 4);
    if (coords != 4) s.error("coords", "only coords=4 is supported");
    num = s.get_int_min("num", 1, 1);
    softmax = s.get_int("softmax", 0) != 0;
    anchors = s.get_floats("anchors");
    const size_t want_anchors = 2 * static_cast<size_t>(num);
    if (anchors.empty()) anchors.assign(want_anchors, 0.5f);
    if (anchors.size() != want_anchors)
        s.error("anchors", strfmt("has %zu values; num=%d anchors need %zu (w,h pairs)", anchors.size(), num, want_anchors));
    // training keys: read (so that they are not reported unused), not honoured (training is refused)
    for (const char* k : {"jitter", "rescore", "thresh", "random", "bias_match", "absolute", "object_scale",
                          "noobject_scale", "class_scale", "coord_scale", "max"})
        (void)s.get_str(k, "");
    const long long want = static_cast<long long>(num) * (coords + 1 + classes);
    if (b.c != want)
        s.error_section(strfmt("expects the previous layer to have %lld channels (num=%d x (coords %d + 1 + %d classes)), "
                               "it has %d",
                               want, num, coords, classes, b.c));
    set_shape(*this, b, b.w, b.h, b.c);
}

template <class T>
void RegionLayer<T>::resize(Network<T>&, int new_w, int new_h) {
    this->w = this->out_w = new_w;
    this->h = this->out_h = new_h;
}

template <class T>
void RegionLayer<T>::forward(Network<T>& net) {
    if (net.train && net.truth)
        fail("%s: training a [region] (YOLOv2) head is not implemented; use a [yolo] head", this->where.c_str());
    std::memcpy(this->output.data(), net.input, this->output.size() * sizeof(T));
    const int S = this->w * this->h;
    for (int b = 0; b < this->batch; ++b)
        for (int n = 0; n < num; ++n) {
            T* y = this->output.data() + entry_index(b, n, 0, 0);
            activate_array(y, 2 * static_cast<size_t>(S), Activation::Logistic);
            activate_array(this->output.data() + entry_index(b, n, 0, coords), static_cast<size_t>(S),
                           Activation::Logistic);
            if (!softmax) continue;
            T* p = this->output.data() + entry_index(b, n, 0, coords + 1);
            for (int i = 0; i < S; ++i) {  // softmax over the classes of each cell (stride S)
                T m = p[i];
                for (int c = 1; c < classes; ++c) m = std::max(m, p[i + c * S]);
                T sum = 0;
                for (int c = 0; c < classes; ++c) sum += p[i + c * S] = std::exp(p[i + c * S] - m);
                for (int c = 0; c < classes; ++c) p[i + c * S] /= sum;
            }
        }
}

// Backward of the forward transform (gradients from above; the head has no loss here):
//   x, y, objectness: y = sigmoid(t)   ->  dt = dy * y (1 - y)
//   w, h:             y = t            ->  dt = dy
//   classes, softmax: y = softmax(t)   ->  dt_j = y_j (dy_j - sum_k y_k dy_k)   (identity without)
template <class T>
void RegionLayer<T>::backward(Network<T>& net) {
    if (!net.delta) return;
    const int S = this->w * this->h;
    for (int b = 0; b < this->batch; ++b)
        for (int n = 0; n < num; ++n) {
            for (int e = 0; e < coords + 1; ++e) {
                const size_t off = entry_index(b, n, 0, e);
                const T* y = this->output.data() + off;
                const T* d = this->delta.data() + off;
                T* dx = net.delta + off;
                const bool logistic = e < 2 || e == coords;
                for (int i = 0; i < S; ++i) dx[i] += logistic ? d[i] * y[i] * (T(1) - y[i]) : d[i];
            }
            const size_t off = entry_index(b, n, 0, coords + 1);
            const T* y = this->output.data() + off;
            const T* d = this->delta.data() + off;
            T* dx = net.delta + off;
            for (int i = 0; i < S; ++i) {
                if (!softmax) {
                    for (int c = 0; c < classes; ++c) dx[i + c * S] += d[i + c * S];
                    continue;
                }
                T dot = 0;
                for (int c = 0; c < classes; ++c) dot += y[i + c * S] * d[i + c * S];
                for (int c = 0; c < classes; ++c) dx[i + c * S] += y[i + c * S] * (d[i + c * S] - dot);
            }
        }
}

// Darknet's get_region_detections + correct_region_boxes (image b of the batch).
template <class T>
void RegionLayer<T>::get_detections(int im_w, int im_h, int net_w, int net_h, float thresh, bool letterbox,
                                    std::vector<Detection>& out, int b) const {
    const int S = this->w * this->h;
    const T* p = this->output.data();
    const BoxCorrection correct(im_w, im_h, net_w, net_h, letterbox);
    for (int i = 0; i < S; ++i) {
        const int row = i / this->w, col = i % this->w;
        for (int n = 0; n < num; ++n) {
            const float objectness = static_cast<float>(p[entry_index(b, n, i, coords)]);
            if (!(objectness > thresh)) continue;
            const size_t bi = entry_index(b, n, i, 0);
            Detection d;
            d.bbox.x = (col + static_cast<float>(p[bi])) / this->w;
            d.bbox.y = (row + static_cast<float>(p[bi + S])) / this->h;
            d.bbox.w = std::exp(static_cast<float>(p[bi + 2 * S])) * anchors[2 * n] / this->w;
            d.bbox.h = std::exp(static_cast<float>(p[bi + 3 * S])) * anchors[2 * n + 1] / this->h;
            correct.apply(d.bbox);
            d.objectness = objectness;
            d.prob.resize(classes);
            for (int j = 0; j < classes; ++j) {
                const float prob = objectness * static_cast<float>(p[entry_index(b, n, i, coords + 1 + j)]);
                d.prob[j] = prob > thresh ? prob : 0.f;
            }
            out.push_back(std::move(d));
        }
    }
}

template <class T>
std::string RegionLayer<T>::describe() const {
    return strfmt("region                   %4d x%4d x%4d  (%d anchors, %d classes)", this->w, this->h, this->c, num,
                  classes);
}

DN_REGISTER_LAYER(RegionLayer, "region")

}  // namespace dn
