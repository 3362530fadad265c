#include "region_layer.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "darknet/network.hpp"
#include "kernels/softmax.hpp"
#include "layers/detection_truth.hpp"
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
    jitter = s.get_float("jitter", 0.2f);
    random = s.get_int("random", 0);
    thresh = s.get_float("thresh", 0.5f);
    rescore = s.get_int("rescore", 0) != 0;
    bias_match = s.get_int("bias_match", 0) != 0;
    object_scale = s.get_float("object_scale", 1);
    noobject_scale = s.get_float("noobject_scale", 1);
    class_scale = s.get_float("class_scale", 1);
    coord_scale = s.get_float("coord_scale", 1);
    for (const char* k : {"object_scale", "noobject_scale", "class_scale", "coord_scale"})
        if (s.get_float(k, 1) < 0) s.error(k, "must be >= 0");
    max_boxes = s.get_int_min("max", 30, 1);
    (void)s.get_str("absolute", "");  // read by pjreddie's parser, used by no region code
    for (size_t i = 0; i < anchors.size(); ++i)
        if (!(anchors[i] > 0)) s.error("anchors", strfmt("value %zu is %g; anchors must be > 0", i + 1, anchors[i]));
    const long long want = static_cast<long long>(num) * (coords + 1LL + classes);
    if (b.c != want)
        s.error_section(strfmt("expects the previous layer to have %lld channels (num=%d x (coords %d + 1 + %d classes)), "
                               "it has %d",
                               want, num, coords, classes, b.c));
    set_shape(*this, b, b.w, b.h, b.c);
    this->has_loss = true;
}

template <class T>
void RegionLayer<T>::resize(Network<T>&, int new_w, int new_h) {
    this->w = this->out_w = new_w;
    this->h = this->out_h = new_h;
}

template <class T>
void RegionLayer<T>::forward(Network<T>& net) {
    transform().forward_host(net.input, this->output.size(), this->output.data());
    const size_t S = static_cast<size_t>(this->w) * this->h;
    if (softmax)  // over the classes of each cell (stride S)
        for (int b = 0; b < this->batch; ++b)
            for (int n = 0; n < num; ++n) {
                T* p = this->output.data() + entry_index(b, n, 0, coords + 1);
                for (size_t i = 0; i < S; ++i) softmax_group(p + i, classes, S, T(1), p + i);
            }
    loss_mode_ = net.train && net.truth;
    this->cost = 0;
    if (loss_mode_) loss(net);
}

// Backward of the forward transform (the loss, when training, adds its gradient w.r.t. the input
// first):
//   x, y, objectness: y = sigmoid(t)   ->  dt = dy * y (1 - y)
//   w, h:             y = t            ->  dt = dy
//   classes, softmax: y = softmax(t)   ->  dt_j = y_j (dy_j - sum_k y_k dy_k)   (identity without)
template <class T>
void RegionLayer<T>::backward(Network<T>& net) {
    if (!net.delta) return;
    if (loss_mode_)
        for (size_t i = 0; i < loss_grad_.size(); ++i) net.delta[i] += loss_grad_[i];
    transform().backward_host(this->output.data(), this->delta.data(), this->output.size(), net.delta);
    if (!softmax) return;
    const size_t S = static_cast<size_t>(this->w) * this->h;
    for (int b = 0; b < this->batch; ++b)
        for (int n = 0; n < num; ++n) {
            const size_t off = entry_index(b, n, 0, coords + 1);
            for (size_t i = 0; i < S; ++i)
                softmax_group_backward(this->output.data() + off + i, this->delta.data() + off + i, classes, S, T(1),
                                       net.delta + off + i);
        }
}

// ---- the region loss (pjreddie's forward_region_layer, as a loss with its exact gradient) -------
//
// Per image, with truth boxes t (x, y, w, h relative to the image, class) and each anchor slot
// (cell (i, j), anchor n; W x H grid) predicting o = sigmoid(t_o), a box
// (x, y) = sigmoid(t_x, t_y), (t_w, t_h) raw, decoded as ((i + x)/W, (j + y)/H, exp(t_w) a_w/W,
// exp(t_h) a_h/H), and class scores p (softmax of the logits, or raw):
//  - assignment: each truth goes to the cell holding its center and the anchor whose shape
//    (the predicted box's, or with bias_match=1 the anchor's) overlaps the truth's best, both
//    centered at 0. A slot given several truths keeps the last one (Darknet's deltas overwrite);
//    with raw classes its class targets are the union of their classes (Darknet's multi-label
//    rule), with softmax the last truth's class.
//  - responsible slots, with their truth t:
//      coord_scale (2 - t.w t.h) / 2 * ((x - tx)^2 + (y - ty)^2 + (t_w - tw)^2 + (t_h - th)^2),
//        tx = t.x W - i, ty = t.y H - j, tw = log(t.w W / a_w), th = log(t.h H / a_h)
//      object_scale / 2 * (o - target)^2, target 1, or with rescore=1 the IoU of the predicted
//        box with t (a constant of the loss: a stop-gradient, as Darknet's delta)
//      softmax: class_scale * -log p_c (cross-entropy, gradient class_scale (p - onehot) w.r.t.
//        the logits); raw: class_scale / 2 * sum_c (p_c - target_c)^2
//  - other slots: noobject_scale / 2 * o^2 when the predicted box overlaps no truth by more than
//    thresh; and while fewer than 12800 images have been seen, the prior
//    0.01 / 2 * ((x - 0.5)^2 + (y - 0.5)^2 + t_w^2 + t_h^2) (the anchor at the cell's center).
// Darknet writes delta = -(the gradient w.r.t. the outputs) and chains it through the logistic in
// its backward; these are the same gradients, w.r.t. the inputs (dx/dt_x = x (1 - x)), from a
// loss that this->cost reports (Darknet reports the squared norm of its delta instead).
template <class T>
void RegionLayer<T>::loss(const Network<T>& net) {
    const int W = this->w, H = this->h, S = W * H;
    const T* y = this->output.data();
    const T* x = net.input;
    loss_grad_.assign(this->output.size(), T(0));
    double cost = 0;
    const size_t n_slots = static_cast<size_t>(this->batch) * num * S;
    const bool reuse = frozen_ && rescore_targets_.size() == n_slots;
    if (rescore && !reuse) rescore_targets_.assign(n_slots, 0.0);
    const bool prior = net.header.seen < 12800;
    for (int b = 0; b < this->batch; ++b) {
        const T* tr = net.truth + static_cast<size_t>(b) * truth_size();
        const std::vector<TruthBox> truths = read_truths(tr, max_boxes, classes, this->where);
        const auto box = [&](int n, int loc, double* bx, double* by, double* bw, double* bh) {
            const size_t bi = entry_index(b, n, loc, 0);
            *bx = (loc % W + y[bi]) / W;
            *by = (loc / W + y[bi + S]) / H;
            *bw = std::exp(static_cast<double>(y[bi + 2 * S])) * anchors[2 * n] / W;
            *bh = std::exp(static_cast<double>(y[bi + 3 * S])) * anchors[2 * n + 1] / H;
        };
        // slot (n * S + loc) -> its truth (the last assigned), and with raw classes every class assigned
        std::vector<int> resp(static_cast<size_t>(num) * S, -1);
        std::vector<std::vector<char>> hot(static_cast<size_t>(num) * S);
        for (size_t ti = 0; ti < truths.size(); ++ti) {
            const TruthBox& t = truths[ti];
            const int i = std::min(W - 1, std::max(0, static_cast<int>(t.x * W)));
            const int j = std::min(H - 1, std::max(0, static_cast<int>(t.y * H)));
            int best_n = 0;
            double best = 0;
            for (int n = 0; n < num; ++n) {
                double px, py, pw, ph;
                box(n, j * W + i, &px, &py, &pw, &ph);
                if (bias_match) pw = anchors[2 * n] / W, ph = anchors[2 * n + 1] / H;
                const double v = iou_xywh(0, 0, pw, ph, 0, 0, t.w, t.h);
                if (v > best) best = v, best_n = n;
            }
            const size_t slot = static_cast<size_t>(best_n) * S + j * W + i;
            resp[slot] = static_cast<int>(ti);
            if (hot[slot].empty() || softmax) hot[slot].assign(classes, 0);
            hot[slot][t.cls] = 1;
        }
        for (int n = 0; n < num; ++n)
            for (int loc = 0; loc < S; ++loc) {
                const size_t slot = static_cast<size_t>(n) * S + loc;
                const size_t bi = entry_index(b, n, loc, 0), oi = entry_index(b, n, loc, coords);
                const double o = y[oi], go = o * (1 - o);  // do/dt_o
                const double sx = y[bi], sy = y[bi + S];
                double px, py, pw, ph;
                box(n, loc, &px, &py, &pw, &ph);
                // the box term's squared errors toward (tx, ty, tw, th), scaled
                const auto box_term = [&](double scale, double tx, double ty, double tw, double th) {
                    const double ex = sx - tx, ey = sy - ty, ew = y[bi + 2 * S] - tw, eh = y[bi + 3 * S] - th;
                    cost += scale * 0.5 * (ex * ex + ey * ey + ew * ew + eh * eh);
                    loss_grad_[bi] += static_cast<T>(scale * ex * sx * (1 - sx));
                    loss_grad_[bi + S] += static_cast<T>(scale * ey * sy * (1 - sy));
                    loss_grad_[bi + 2 * S] += static_cast<T>(scale * ew);
                    loss_grad_[bi + 3 * S] += static_cast<T>(scale * eh);
                };
                if (resp[slot] < 0) {
                    double best_iou = 0;
                    for (const TruthBox& t : truths) best_iou = std::max(best_iou, iou_xywh(px, py, pw, ph, t.x, t.y, t.w, t.h));
                    if (best_iou <= thresh) {
                        cost += noobject_scale * 0.5 * o * o;
                        loss_grad_[oi] += static_cast<T>(noobject_scale * o * go);
                    }
                    if (prior) box_term(0.01, 0.5, 0.5, 0, 0);
                    continue;
                }
                const TruthBox& t = truths[resp[slot]];
                const int i = loc % W, j = loc / W;
                box_term(coord_scale * (2 - t.w * t.h), t.x * W - i, t.y * H - j, std::log(t.w * W / anchors[2 * n]),
                         std::log(t.h * H / anchors[2 * n + 1]));
                double target = 1;
                if (rescore) {
                    const size_t k = (static_cast<size_t>(b) * num + n) * S + loc;
                    if (!reuse) rescore_targets_[k] = iou_xywh(px, py, pw, ph, t.x, t.y, t.w, t.h);
                    target = rescore_targets_[k];
                }
                cost += object_scale * 0.5 * (o - target) * (o - target);
                loss_grad_[oi] += static_cast<T>(object_scale * (o - target) * go);
                const size_t ci = entry_index(b, n, loc, coords + 1);
                if (softmax) {  // cross-entropy from the logits: -log p_c = logsumexp(z) - z_c
                    double m = x[ci];
                    for (int c = 1; c < classes; ++c) m = std::max(m, static_cast<double>(x[ci + c * S]));
                    double sum = 0;
                    for (int c = 0; c < classes; ++c) sum += std::exp(x[ci + c * S] - m);
                    cost += class_scale * (m + std::log(sum) - x[ci + t.cls * S]);
                }
                for (int c = 0; c < classes; ++c) {
                    const double p = y[ci + c * S], e = p - hot[slot][c];
                    if (!softmax) cost += class_scale * 0.5 * e * e;
                    loss_grad_[ci + c * S] += static_cast<T>(class_scale * e);
                }
            }
    }
    this->cost = cost;
}

template <class T>
void RegionLayer<T>::random_truth(std::mt19937_64& rng, T* truth) const {
    random_truths(rng, classes, max_boxes, truth);
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
            set_class_probs(d, objectness, p + entry_index(b, n, i, coords + 1), S, classes, thresh);
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
