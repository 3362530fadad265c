#include "detection_layer.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "darknet/network.hpp"
#include "kernels/activations.hpp"
#include "kernels/softmax.hpp"
#include "layers/detection_truth.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
DetectionLayer<T>::DetectionLayer(const BuildContext<T>& b) {
    const CfgSection& s = b.section;
    reject_unsupported(s, {"reorg"});
    this->has_loss = true;
    classes = s.get_int_min("classes", 1, 1);
    const int coords = s.get_int_min("coords", 1, 1);
    if (coords != 4) s.error("coords", strfmt("%d: only 4 (x, y, w, h) is supported", coords));
    num = s.get_int_min("num", 1, 1);
    side = s.get_int_min("side", 7, 1);
    softmax = s.get_int("softmax", 0) != 0;
    sqrt_wh = s.get_int("sqrt", 0) != 0;
    rescore = s.get_int("rescore", 0) != 0;
    forced = s.get_int("forced", 0) != 0;
    jitter = s.get_float("jitter", 0.2f);
    random = s.get_int("random", 0);
    object_scale = s.get_float("object_scale", 1);
    noobject_scale = s.get_float("noobject_scale", 1);
    class_scale = s.get_float("class_scale", 1);
    coord_scale = s.get_float("coord_scale", 1);
    max_boxes = s.get_int_min("max", 90, 1);
    const long long want = static_cast<long long>(side) * side * (5LL * num + classes);
    if (static_cast<long long>(b.w) * b.h * b.c != want)
        s.error_section(strfmt("expects %lld inputs (side=%d: %d x %d cells x (%d boxes x 5 + %d classes)), the previous "
                               "layer has %lld",
                               want, side, side, side, num, classes, static_cast<long long>(b.w) * b.h * b.c));
    set_shape(*this, b, b.w, b.h, b.c);
}

template <class T>
void DetectionLayer<T>::resize(Network<T>&, int new_w, int new_h) {
    if (new_w != this->w || new_h != this->h)
        fail("%s: a [detection] layer cannot be resized (its input is a fixed grid of side=%d); set random=0",
             this->where.c_str(), side);
}

template <class T>
void DetectionLayer<T>::forward(Network<T>& net) {
    const size_t n = this->output.size(), per = static_cast<size_t>(this->inputs());
    if (this->output.data() != net.input) std::memcpy(this->output.data(), net.input, n * sizeof(T));
    if (softmax)
        for (int b = 0; b < this->batch; ++b) {
            T* y = this->output.data() + b * per;
            for (int cell = 0; cell < side * side; ++cell) softmax_group(y + class_index(cell), classes, 1, T(1), y + class_index(cell));
            const size_t rest = static_cast<size_t>(side) * side * classes;
            activate_array(y + rest, per - rest, Activation::Logistic);
        }
    loss_mode_ = net.train && net.truth;
    this->cost = 0;
    if (loss_mode_) loss(net);
}

// Backward: with g = dL/dy (delta from above plus the loss's own gradient w.r.t. the outputs),
// softmax=0: dL/dx += g; softmax=1: the class scores' softmax Jacobian per cell,
// dL/dx_k += y_k (g_k - sum_i g_i y_i), and the logistic's y (1 - y) on the rest. (Darknet leaves
// the softmax's Jacobian out of its class deltas.)
template <class T>
void DetectionLayer<T>::backward(Network<T>& net) {
    if (!net.delta) return;
    const size_t n = this->output.size(), per = static_cast<size_t>(this->inputs());
    std::vector<T> g(this->delta.begin(), this->delta.end());
    if (loss_mode_)
        for (size_t i = 0; i < n; ++i) g[i] += loss_grad_[i];
    if (!softmax) {
        for (size_t i = 0; i < n; ++i) net.delta[i] += g[i];
        return;
    }
    const size_t rest = static_cast<size_t>(side) * side * classes;
    for (int b = 0; b < this->batch; ++b) {
        const T* y = this->output.data() + b * per;
        const T* gb = g.data() + b * per;
        T* dx = net.delta + b * per;
        for (int cell = 0; cell < side * side; ++cell)
            softmax_group_backward(y + class_index(cell), gb + class_index(cell), classes, 1, T(1), dx + class_index(cell));
        for (size_t i = rest; i < per; ++i) dx[i] += gb[i] * y[i] * (T(1) - y[i]);
    }
}

// ---- the YOLOv1 loss (pjreddie's assignment, exact gradients) ----------------------------------
//
// Per image, the cell holding a truth's center (the first such truth) is responsible for it; with
// o the objectness, p the class scores and (x, y, w, h) a box's outputs (w, h squared with
// sqrt=1 to give the box), halved squared errors (Darknet's deltas are their negative gradients):
//   every box of every cell, but a responsible cell's best one:   noobject_scale/2 o^2
//   a responsible cell:    class_scale/2 sum_c (t_c - p_c)^2   (one-hot t)
//     its best box j (the largest IoU with the truth, or the least RMSE when none overlaps; with
//     forced=1 box 1 for a truth under 0.1 of the image and box 0 otherwise):
//       object_scale/2 (target - o_j)^2, target 1, or with rescore=1 the box's IoU (a constant:
//       a stop-gradient, held by freeze_randomness)
//       coord_scale/2 |(x, y, w, h)_j - (t.x side - col, t.y side - row, t.w, t.h)|^2
//       (sqrt=1: the targets of w, h are their square roots)
// IoU and RMSE compare the boxes within the cell ((x / side, y / side, w, h) against the truth's
// offsets / side and size), as Darknet's. Darknet's cost also adds (1 - IoU)^2 for each truth,
// which it does not differentiate; it is left out here. The gradient is w.r.t. the outputs; backward
// chains it through the softmax and logistic.
template <class T>
void DetectionLayer<T>::loss(const Network<T>& net) {
    const int cells = side * side;
    const size_t per = static_cast<size_t>(this->inputs());
    loss_grad_.assign(this->output.size(), T(0));
    const size_t n_slots = static_cast<size_t>(this->batch) * cells;
    const bool reuse = frozen_ && rescore_targets_.size() == n_slots;
    if (rescore && !reuse) rescore_targets_.assign(n_slots, 0.0);
    double cost = 0;
    for (int b = 0; b < this->batch; ++b) {
        const T* y = this->output.data() + b * per;
        T* gr = loss_grad_.data() + b * per;
        const std::vector<TruthBox> truths =
            read_truths(net.truth + static_cast<size_t>(b) * truth_size(), max_boxes, classes, this->where);
        std::vector<int> owner(cells, -1);  // Darknet's fill_truth_region: the first truth in a cell
        for (size_t t = 0; t < truths.size(); ++t) {
            const int col = std::min(side - 1, std::max(0, static_cast<int>(truths[t].x * side)));
            const int row = std::min(side - 1, std::max(0, static_cast<int>(truths[t].y * side)));
            if (owner[row * side + col] < 0) owner[row * side + col] = static_cast<int>(t);
        }
        for (int cell = 0; cell < cells; ++cell) {
            int best = -1;
            double tgt[4] = {0, 0, 0, 0};
            if (owner[cell] >= 0) {
                const TruthBox& t = truths[owner[cell]];
                const int col = cell % side, row = cell / side;
                tgt[0] = t.x * side - col, tgt[1] = t.y * side - row, tgt[2] = t.w, tgt[3] = t.h;
                double best_iou = 0, best_rmse = 20;
                for (int j = 0; j < num; ++j) {
                    const T* o = y + box_index(cell, j);
                    const double ow = sqrt_wh ? o[2] * o[2] : o[2], oh = sqrt_wh ? o[3] * o[3] : o[3];
                    const double dx = o[0] / side - tgt[0] / side, dy = o[1] / side - tgt[1] / side;
                    const double iou = iou_xywh(o[0] / side, o[1] / side, ow, oh, tgt[0] / side, tgt[1] / side, t.w, t.h);
                    const double rmse = std::sqrt(dx * dx + dy * dy + (ow - t.w) * (ow - t.w) + (oh - t.h) * (oh - t.h));
                    if (best_iou > 0 || iou > 0) {
                        if (iou > best_iou) best_iou = iou, best = j;
                    } else if (rmse < best_rmse) {
                        best_rmse = rmse, best = j;
                    }
                }
                if (forced && num > 1) best = t.w * t.h < .1 ? 1 : 0;
                if (best < 0) best = 0;  // Darknet indexes box -1 here
            }
            for (int j = 0; j < num; ++j) {
                if (j == best) continue;
                const size_t oi = obj_index(cell, j);
                cost += noobject_scale / 2.0 * y[oi] * y[oi];
                gr[oi] += static_cast<T>(noobject_scale * y[oi]);
            }
            if (best < 0) continue;
            for (int c = 0; c < classes; ++c) {
                const size_t ci = class_index(cell) + c;
                const double e = y[ci] - (c == truths[owner[cell]].cls ? 1.0 : 0.0);
                cost += class_scale / 2.0 * e * e;
                gr[ci] += static_cast<T>(class_scale * e);
            }
            const T* o = y + box_index(cell, best);
            double target = 1;
            if (rescore) {
                const TruthBox& t = truths[owner[cell]];
                const size_t slot = static_cast<size_t>(b) * cells + cell;
                if (!reuse) {
                    const double ow = sqrt_wh ? o[2] * o[2] : o[2], oh = sqrt_wh ? o[3] * o[3] : o[3];
                    rescore_targets_[slot] =
                        iou_xywh(o[0] / side, o[1] / side, ow, oh, tgt[0] / side, tgt[1] / side, t.w, t.h);
                }
                target = rescore_targets_[slot];
            }
            const size_t oi = obj_index(cell, best);
            cost += object_scale / 2.0 * (y[oi] - target) * (y[oi] - target);
            gr[oi] += static_cast<T>(object_scale * (y[oi] - target));
            if (sqrt_wh) tgt[2] = std::sqrt(tgt[2]), tgt[3] = std::sqrt(tgt[3]);
            for (int k = 0; k < 4; ++k) {
                const double e = o[k] - tgt[k];
                cost += coord_scale / 2.0 * e * e;
                gr[box_index(cell, best) + k] += static_cast<T>(coord_scale * e);
            }
        }
    }
    this->cost = cost;
}

template <class T>
void DetectionLayer<T>::random_truth(std::mt19937_64& rng, T* truth) const {
    random_truths(rng, classes, max_boxes, truth);
}

// Darknet's get_detection_detections (image b of the batch); boxes relative to the network input,
// mapped to the image by BoxCorrection (the identity without letterbox, as YOLOv1 ran).
template <class T>
void DetectionLayer<T>::get_detections(int im_w, int im_h, int net_w, int net_h, float thresh, bool letterbox,
                                       std::vector<Detection>& out, int b) const {
    const T* p = this->output.data() + static_cast<size_t>(b) * this->inputs();
    const BoxCorrection correct(im_w, im_h, net_w, net_h, letterbox);
    for (int cell = 0; cell < side * side; ++cell) {
        const int row = cell / side, col = cell % side;
        for (int n = 0; n < num; ++n) {
            const float objectness = static_cast<float>(p[obj_index(cell, n)]);
            const T* o = p + box_index(cell, n);
            Detection d;
            d.bbox.x = static_cast<float>((o[0] + col) / side);
            d.bbox.y = static_cast<float>((o[1] + row) / side);
            d.bbox.w = static_cast<float>(sqrt_wh ? o[2] * o[2] : o[2]);
            d.bbox.h = static_cast<float>(sqrt_wh ? o[3] * o[3] : o[3]);
            correct.apply(d.bbox);
            set_class_probs(d, objectness, p + class_index(cell), 1, classes, thresh);
            out.push_back(std::move(d));
        }
    }
}

template <class T>
std::string DetectionLayer<T>::describe() const {
    return strfmt("detection  %dx%d cells, %d boxes, %d classes%s", side, side, num, classes, softmax ? ", softmax" : "");
}

DN_REGISTER_LAYER(DetectionLayer, "detection")

}  // namespace dn
