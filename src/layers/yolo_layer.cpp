#include "yolo_layer.hpp"

#include <cmath>
#include <cstring>

#include "darknet/network.hpp"
#include "kernels/activations.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
YoloLayer<T>::YoloLayer(const BuildContext<T>& b) {
    const CfgSection& s = b.section;
    classes = s.get_int_min("classes", 20, 1);
    total = s.get_int_min("num", 1, 1);
    mask = s.get_ints("mask");
    if (mask.empty())
        for (int i = 0; i < total; ++i) mask.push_back(i);
    for (int m : mask)
        if (m < 0 || m >= total) s.error("mask", strfmt("value %d is not an anchor index in [0, num=%d)", m, total));
    anchors = s.get_floats("anchors");
    if (anchors.empty()) anchors.assign(2 * total, 0.5f);
    if (static_cast<int>(anchors.size()) < 2 * total)
        s.error("anchors", strfmt("has %zu values; num=%d anchors need %d (w,h pairs)", anchors.size(), total, 2 * total));
    if (static_cast<int>(anchors.size()) > 2 * total)
        s.error("anchors", strfmt("has %zu values but num=%d (expected %d)", anchors.size(), total, 2 * total));
    const int want = static_cast<int>(mask.size()) * (classes + 5);
    if (b.c != want)
        s.error_section(strfmt("expects the previous layer to have %d channels (%zu masks x (%d classes + 5)), it has %d",
                               want, mask.size(), classes, b.c));
    scale_x_y = s.get_float("scale_x_y", 1);
    new_coords = s.get_int("new_coords", 0);
    beta_nms = s.get_float("beta_nms", 0.6f);
    try {
        nms_kind = parse_nms_kind(s.get_str("nms_kind", "default"));
    } catch (const Error& e) {
        s.error("nms_kind", e.what());
    }
    jitter = s.get_float("jitter", 0.2f);
    ignore_thresh = s.get_float("ignore_thresh", 0.5f);
    truth_thresh = s.get_float("truth_thresh", 1);
    iou_thresh = s.get_float("iou_thresh", 1);
    cls_normalizer = s.get_float("cls_normalizer", 1);
    iou_normalizer = s.get_float("iou_normalizer", 0.75f);
    obj_normalizer = s.get_float("obj_normalizer", 1);
    label_smooth_eps = s.get_float("label_smooth_eps", 0);
    max_delta = s.get_float("max_delta", 0);
    resize_scale = s.get_float("resize", 1);
    random = s.get_int("random", 0);
    max_boxes = s.get_int_min("max", 200, 1);
    focal_loss = s.get_int("focal_loss", 0);
    std::string il = s.get_str("iou_loss", "mse");
    if (il == "mse") iou_loss = IouLoss::Mse;
    else if (il == "iou") iou_loss = IouLoss::Iou;
    else if (il == "giou") iou_loss = IouLoss::Giou;
    else if (il == "diou") iou_loss = IouLoss::Diou;
    else if (il == "ciou") iou_loss = IouLoss::Ciou;
    else s.error("iou_loss", "unknown iou_loss '" + il + "' (mse, iou, giou, diou, ciou)");
    set_shape(*this, b, b.w, b.h, b.c);
}

template <class T>
void YoloLayer<T>::resize(Network<T>&, int new_w, int new_h) {
    this->w = this->out_w = new_w;
    this->h = this->out_h = new_h;
}

template <class T>
void YoloLayer<T>::forward(Network<T>& net) {
    std::memcpy(this->output.data(), net.input, this->output.size() * sizeof(T));
    const int S = this->w * this->h;
    const T sxy = static_cast<T>(scale_x_y), shift = static_cast<T>(-0.5 * (scale_x_y - 1));
    for (int b = 0; b < this->batch; ++b) {
        for (int n = 0; n < static_cast<int>(mask.size()); ++n) {
            T* xy = this->output.data() + entry_index(b, n, 0, 0);
            if (!new_coords) {
                activate_array(xy, 2 * static_cast<size_t>(S), Activation::Logistic);
                activate_array(this->output.data() + entry_index(b, n, 0, 4), static_cast<size_t>(1 + classes) * S,
                               Activation::Logistic);
            }
            if (scale_x_y != 1)
                for (int i = 0; i < 2 * S; ++i) xy[i] = xy[i] * sxy + shift;
        }
    }
    if (net.train && net.truth)
        fail("%s: training a [yolo] layer needs the detector trainer (darknet detector train)", this->where.c_str());
}

// Backward of the forward transform (the loss, when training, sets delta = dL/dy on the outputs):
//   x, y:         y = s*sigmoid(t) - (s-1)/2   ->  dy/dt = s * sig (1 - sig),  sig = (y + (s-1)/2)/s
//   w, h:         y = t                        ->  1
//   obj, classes: y = sigmoid(t)               ->  y (1 - y)
// With new_coords=1 the layer applies no logistic: dy/dt = s for x, y and 1 elsewhere.
template <class T>
void YoloLayer<T>::backward(Network<T>& net) {
    if (!net.delta) return;
    const int S = this->w * this->h;
    const T s = static_cast<T>(scale_x_y), half = static_cast<T>(0.5 * (scale_x_y - 1));
    for (int b = 0; b < this->batch; ++b) {
        for (int n = 0; n < static_cast<int>(mask.size()); ++n) {
            for (int e = 0; e < 5 + classes; ++e) {
                const size_t off = entry_index(b, n, 0, e);
                const T* y = this->output.data() + off;
                const T* d = this->delta.data() + off;
                T* dx = net.delta + off;
                if (e < 2) {
                    for (int i = 0; i < S; ++i) {
                        const T sig = (y[i] + half) / s;
                        dx[i] += d[i] * (new_coords ? s : s * sig * (T(1) - sig));
                    }
                } else if (e < 4 || new_coords) {
                    for (int i = 0; i < S; ++i) dx[i] += d[i];
                } else {
                    for (int i = 0; i < S; ++i) dx[i] += d[i] * y[i] * (T(1) - y[i]);
                }
            }
        }
    }
}

// Darknet's get_yolo_detections + correct_yolo_boxes (image 0 of the batch).
template <class T>
void YoloLayer<T>::get_detections(int im_w, int im_h, int net_w, int net_h, float thresh, bool letterbox,
                                  std::vector<Detection>& out) const {
    const int S = this->w * this->h;
    const T* p = this->output.data();
    float new_w = static_cast<float>(net_w), new_h = static_cast<float>(net_h);
    if (letterbox) {
        if (static_cast<float>(net_w) / im_w < static_cast<float>(net_h) / im_h) {
            new_w = static_cast<float>(net_w);
            new_h = static_cast<float>((im_h * net_w) / im_w);
        } else {
            new_h = static_cast<float>(net_h);
            new_w = static_cast<float>((im_w * net_h) / im_h);
        }
    }
    const float deltaw = net_w - new_w, deltah = net_h - new_h;
    const float ratiow = new_w / net_w, ratioh = new_h / net_h;
    for (int i = 0; i < S; ++i) {
        const int row = i / this->w, col = i % this->w;
        for (int n = 0; n < static_cast<int>(mask.size()); ++n) {
            const float objectness = static_cast<float>(p[entry_index(0, n, i, 4)]);
            if (!(objectness > thresh)) continue;
            const size_t bi = entry_index(0, n, i, 0);
            const float tx = static_cast<float>(p[bi]), ty = static_cast<float>(p[bi + S]);
            const float tw = static_cast<float>(p[bi + 2 * S]), th = static_cast<float>(p[bi + 3 * S]);
            const float aw = anchors[2 * mask[n]], ah = anchors[2 * mask[n] + 1];
            Detection d;
            d.bbox.x = (col + tx) / this->w;
            d.bbox.y = (row + ty) / this->h;
            if (new_coords) {
                d.bbox.w = tw * tw * 4 * aw / net_w;
                d.bbox.h = th * th * 4 * ah / net_h;
            } else {
                d.bbox.w = std::exp(tw) * aw / net_w;
                d.bbox.h = std::exp(th) * ah / net_h;
            }
            d.bbox.x = static_cast<float>((d.bbox.x - deltaw / 2. / net_w) / ratiow);
            d.bbox.y = static_cast<float>((d.bbox.y - deltah / 2. / net_h) / ratioh);
            d.bbox.w *= 1 / ratiow;
            d.bbox.h *= 1 / ratioh;
            d.objectness = objectness;
            d.prob.resize(classes);
            for (int j = 0; j < classes; ++j) {
                const float prob = objectness * static_cast<float>(p[entry_index(0, n, i, 5 + j)]);
                d.prob[j] = prob > thresh ? prob : 0.f;
            }
            out.push_back(std::move(d));
        }
    }
}

template <class T>
std::string YoloLayer<T>::describe() const {
    return strfmt("yolo                     %4d x%4d x%4d  (%zu anchors, %d classes, scale_x_y %.2f)", this->w, this->h,
                  this->c, mask.size(), classes, scale_x_y);
}

DN_REGISTER_LAYER(YoloLayer, "yolo")

}  // namespace dn
