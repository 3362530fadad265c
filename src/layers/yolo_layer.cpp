#include "yolo_layer.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "darknet/network.hpp"
#include "kernels/activations.hpp"
#include "kernels/box_loss.hpp"
#include "layers/detection_truth.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
YoloLayer<T>::YoloLayer(const BuildContext<T>& b, bool gaussian_layout) : gaussian(gaussian_layout) {
    const CfgSection& s = b.section;
    classes = s.get_int_min("classes", 20, 1);
    this->has_loss = true;
    total = s.get_int_min("num", 1, 1);
    mask = s.get_ints("mask");
    if (mask.empty()) {  // every anchor: num x (classes + 5) channels, checked below
        if (total > b.c)
            s.error("num", strfmt("num=%d anchors and no mask= need %lld channels; the previous layer has %d", total,
                                  total * entries_ll(), b.c));
        for (int i = 0; i < total; ++i) mask.push_back(i);
    }
    for (int m : mask)
        if (m < 0 || m >= total) s.error("mask", strfmt("value %d is not an anchor index in [0, num=%d)", m, total));
    anchors = s.get_floats("anchors");
    const size_t n_anchor_values = 2 * static_cast<size_t>(total);
    if (anchors.empty()) anchors.assign(n_anchor_values, 0.5f);
    if (anchors.size() < n_anchor_values)
        s.error("anchors", strfmt("has %zu values; num=%d anchors need %zu (w,h pairs)", anchors.size(), total,
                                  n_anchor_values));
    if (anchors.size() > n_anchor_values)
        s.error("anchors", strfmt("has %zu values but num=%d (expected %zu)", anchors.size(), total, n_anchor_values));
    const long long want = static_cast<long long>(mask.size()) * entries_ll();
    if (b.c != want)
        s.error_section(strfmt("expects the previous layer to have %lld channels (%zu masks x (%d classes + %lld)), it has %d",
                               want, mask.size(), classes, entries_ll() - classes, b.c));
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
    if (!gaussian) obj_normalizer = s.get_float("obj_normalizer", 1);
    label_smooth_eps = s.get_float("label_smooth_eps", 0);
    resize_scale = s.get_float("resize", 1);
    if (!(resize_scale > 0))
        s.error("resize", strfmt("%g must be > 0 (the training crop is zoomed by up to resize, or 1/resize)", resize_scale));
    if (s.has("max_delta")) {
        max_delta = s.get_float("max_delta", 0);
        if (!(max_delta > 0))
            s.error("max_delta", strfmt("%g must be > 0 (the bound on each box-gradient coordinate)", max_delta));
    }
    objectness_smooth = s.get_int("objectness_smooth", 0);
    if (objectness_smooth != 0 && objectness_smooth != 1) s.error("objectness_smooth", "must be 0 or 1");
    random = s.get_int("random", 0);
    max_boxes = s.get_int_min("max", 200, 1);
    if (s.has("counters_per_class")) {  // AlexeyAB's class balancing: multiplier = largest count / count
        const std::vector<int> counts = s.get_ints("counters_per_class");
        if (static_cast<int>(counts.size()) != classes)
            s.error("counters_per_class", strfmt("has %zu values; classes=%d needs one per class", counts.size(), classes));
        int most = 0;
        for (int n : counts) {
            if (n <= 0) s.error("counters_per_class", strfmt("%d: every count must be > 0", n));
            most = std::max(most, n);
        }
        for (int n : counts) class_multipliers.push_back(static_cast<float>(most) / n);
    }
    focal_loss = s.get_int("focal_loss", 0);
    if (focal_loss != 0 && focal_loss != 1) s.error("focal_loss", "must be 0 or 1");
    if (focal_loss && new_coords)
        s.error("focal_loss", "is not supported with new_coords=1 (the class terms are then squared errors)");
    if (focal_loss && label_smooth_eps != 0)
        s.error("focal_loss", "and label_smooth_eps together are not supported (AlexeyAB's focal loss ignores the smoothing)");
    reject_unsupported(s, {"track_history_size", "embedding_layer"});
    if (gaussian) {
        uc_normalizer = s.get_float("uc_normalizer", 1);
        if (!(uc_normalizer >= 0)) s.error("uc_normalizer", strfmt("%g must be >= 0", uc_normalizer));
        for (const char* k : {"new_coords", "objectness_smooth", "focal_loss"})
            if (s.has(k) && s.get_int(k, 0) != 0) s.error(k, "is not supported in [Gaussian_yolo] (nor in AlexeyAB's)");
        if (max_delta > 0) s.error("max_delta", "is not supported in [Gaussian_yolo]");
        const std::string point = s.get_str("yolo_point", "center");
        if (point != "center")
            s.error("yolo_point", "'" + point + "': only center is supported (the boxes' center is the predicted point)");
    }
    net_w_ = b.net.width;
    net_h_ = b.net.height;
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
void YoloLayer<T>::resize(Network<T>& net, int new_w, int new_h) {
    this->w = this->out_w = new_w;
    this->h = this->out_h = new_h;
    net_w_ = net.w;
    net_h_ = net.h;
}

template <class T>
YoloTransform YoloLayer<T>::transform() const {
    if (gaussian) return YoloTransform::gaussian_yolo(scale_x_y, this->w * this->h, entries());
    return YoloTransform(scale_x_y, new_coords != 0, this->w * this->h, 5 + classes);
}

template <class T>
void YoloLayer<T>::forward(Network<T>& net) {
    transform().forward_host(net.input, this->output.size(), this->output.data());
    loss_mode_ = net.train && net.truth;
    this->cost = 0;
    if (loss_mode_) loss(net);
}

// Backward of the forward transform (the loss, when training, sets delta = dL/dy on the outputs):
//   x, y:         y = s*sigmoid(t) - (s-1)/2   ->  dy/dt = s * sig (1 - sig),  sig = (y + (s-1)/2)/s
//   w, h:         y = t                        ->  1
//   obj, classes: y = sigmoid(t)               ->  y (1 - y)
// With new_coords=1 the layer applies no logistic: dy/dt = s for x, y and 1 elsewhere
// (YoloTransform::grad). The loss's own gradient, already w.r.t. the input, is added first.
template <class T>
void YoloLayer<T>::backward(Network<T>& net) {
    if (!net.delta) return;
    if (loss_mode_)
        for (size_t i = 0; i < loss_grad_.size(); ++i) net.delta[i] += loss_grad_[i];
    transform().backward_host(this->output.data(), this->delta.data(), this->output.size(), net.delta);
}

// ---- the YOLO loss (AlexeyAB's assignment rules, exact gradients) -------------------------------
//
// Per image, with truth boxes t (x, y, w, h relative to the image) and each anchor slot a
// (cell (i, j), mask entry n) predicting objectness o, class scores p_c (logits x) and a box:
//  - responsible slots: for each truth, the cell holding its center and the mask entry of the anchor
//    whose shape (centered) overlaps the truth's best, plus every mask anchor whose shape IoU with
//    the truth exceeds iou_thresh; also any slot whose predicted box overlaps a truth by more than
//    truth_thresh (that truth). Terms, summed:
//      obj_normalizer * BCE(o, 1)
//      cls_normalizer * sum_c BCE(p_c, one-hot(class) smoothed by label_smooth_eps)
//      iou_normalizer * box term: mse: (2 - t.w t.h)/2 * |(x, y, t_w, t_h) - targets|^2 in Darknet's
//        coordinates (x, y: the layer's outputs; t_w, t_h: raw; targets t.x*W - i, log(t.w*netw/anchor_w));
//        iou/giou/diou/ciou: 1 - IoU_kind(decoded box, t)  (src/kernels/box_loss.hpp)
//  - other slots whose predicted box overlaps no truth by more than ignore_thresh:
//      obj_normalizer * BCE(o, 0);  the rest contribute nothing.
// BCE(y, t) with y = sigmoid(x) is taken as softplus(x) - t x from the logit x (stable), whose
// derivative is y - t, the logit delta Darknet writes. The box term is differentiated exactly
// (chain rule through the decode: dx_box/dt = s sig(1-sig)/W, dw_box/dt_w = w_box). Darknet's MSE
// delta drops the logistic's derivative and its IoU deltas are approximations; these are the
// gradients of the loss above, which this->cost reports.
//
// objectness_smooth=1 (Scaled-YOLOv4's IoU-aware objectness): a responsible slot's objectness
// target is the IoU of its predicted box with its truth (the best, when it has several), and a
// slot the ignore rule skipped (best IoU > ignore_thresh) is trained toward that IoU instead of
// being skipped. The IoUs are constants of the loss (stop-gradient, as Scaled-YOLOv4's
// iou.detach()): they add no gradient to the box, and freeze_randomness() holds them for
// finite-difference checks. AlexeyAB's code keeps a responsible slot's no-object delta unless its
// IoU exceeds ignore_thresh (its `delta == 0` guard never holds), so there a responsible slot
// that overlaps its truth by less than 0.7 is trained toward "no object".
// focal_loss=1: the class terms are focal losses (focal_term below) instead of BCE.
// counters_per_class (AlexeyAB's class balancing): with m_c = (largest count) / (count of class c),
// a responsible slot's objectness term, its box term and its true class's BCE term for a truth of
// class c are weighted by m_c (the objectness term, which a slot has once, by its truths' largest);
// the other classes' terms are not, as in AlexeyAB's delta_yolo_class.
// max_delta (AlexeyAB's, IoU losses only): the box term's gradient w.r.t. each coordinate of the
// decoded box, per slot and truth, is clipped to [-max_delta, max_delta] in AlexeyAB's units
// (x, y relative to the image; w, h relative to the image and times exp(t) with the exp decode),
// then chained to the inputs exactly. This is gradient clipping, not the gradient of a loss; the
// cost reported is the unclipped loss.
//
// new_coords=1 (Scaled-YOLOv4): the previous layer applies the logistic, this one none. The
// decode is x_box = (i + s*x - (s-1)/2)/W (dx_box/dx = s/W) and w_box = 4 x_w^2 anchor_w/net_w
// (dw_box/dx_w = 8 x_w anchor_w/net_w); the MSE targets for w, h are sqrt(t.w*net_w/anchor_w)/2
// (AlexeyAB's). Objectness and class terms are, as in AlexeyAB's, whose delta t - y then passes
// through the previous layer's logistic, squared errors on the probabilities:
// normalizer * (y - t)^2 / 2, with gradient normalizer * (y - t).
//
// [Gaussian_yolo] (AlexeyAB's delta_gaussian_yolo_box, made a loss): per responsible slot and truth,
// with the residuals e_k (the MSE ones above, k = x, y, w, h), the slot's sigmas s_k (logistic
// outputs), G(r, s) = -log(N(r; s) + 1e-9) the Gaussian negative log-likelihood (gauss_nll below)
// and bars for stop-gradient constants,
//   box term, mse:  iou_normalizer * m (2 - t.w t.h)/2 * sum_k [G(e_k, sbar_k) - G(0, sbar_k)]
//   box term, IoU:  as [yolo]'s
//   sigma term:     uc_normalizer (2 - t.w t.h)/2 * sum_k G(ebar_k, s_k)
// AlexeyAB's deltas are these gradients w.r.t. the outputs (he leaves out the logistic's
// derivative); his two normalizers weigh one likelihood's two gradients, which only the
// stop-gradients make the gradient of a loss. freeze_randomness() holds sbar and ebar for
// finite-difference checks.
namespace {
// -log(N(r; s) + eps) with AlexeyAB's Gaussian N(r; s) = exp(-r^2 / (2 s^2)) / (sqrt(2 pi) (s + c))
// (c = 0.3 in the normalizer only, eps = 1e-9: Choi et al.'s eq. 5), and its derivatives:
//   d/dr = D r / s^2,   d/ds = D (-r^2 / s^3 + 1 / (s + c)),   D = N / (N + eps),
// which are AlexeyAB's deltas (his temp factor is D / 2 times the scale). Robust where a float
// logistic saturated to s = 0: N = 0 there for r != 0, and D = 0 with it.
struct GaussNll {
    double value, d_r, d_s;
};
inline GaussNll gauss_nll(double r, double s) {
    constexpr double c = 0.3, eps = 1e-9, sqrt_2pi = 2.5066282746310002;
    const double q = r == 0 ? 0 : r * r / (2 * s * s);
    const double N = std::exp(-q) / (sqrt_2pi * (s + c)), D = N / (N + eps);
    GaussNll g{-std::log(N + eps), 0, 0};
    if (D > 0) {
        if (r != 0) g.d_r = D * r / (s * s), g.d_s = -D * 2 * q / s;
        g.d_s += D / (s + c);
    }
    return g;
}
inline double softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }
inline double bce_logit(double x, double t) { return softplus(x) - t * x; }
// One objectness or class term and its gradient w.r.t. the layer input x (y the output): BCE on
// the logit, or with new_coords the squared error on the probability y = x.
inline double prob_term(bool new_coords, double x, double y, double t, double* grad) {
    *grad = y - t;
    return new_coords ? 0.5 * (y - t) * (y - t) : bce_logit(x, t);
}
// Focal loss (Lin et al. 2017, eq. 5) of one class score, AlexeyAB's gamma 2 and alpha 0.5 for
// both targets, from the logit z (p = sigmoid(z), log p = -softplus(-z), log(1-p) = -softplus(z)):
//   t = 1:  FL = -a (1-p)^2 log p = a (1-p)^2 sp(-z);   dFL/dz = -a (1-p)^2 ((1-p) + 2 p sp(-z))
//   t = 0:  FL = -a p^2 log(1-p)  = a p^2 sp(z);        dFL/dz =  a p^2 (p + 2 (1-p) sp(z))
// (dp/dz = p (1-p) in the chain rule). For t = 1 this is AlexeyAB's delta; for t = 0 his delta
// reuses the true class's factor, which is the gradient of no loss.
inline double focal_term(double z, double p, bool positive, double* grad) {
    const double a = 0.5;
    if (positive) {
        const double sp = softplus(-z), q = 1 - p;
        *grad = -a * q * q * (q + 2 * p * sp);
        return a * q * q * sp;
    }
    const double sp = softplus(z);
    *grad = a * p * p * (p + 2 * (1 - p) * sp);
    return a * p * p * sp;
}

}  // namespace

template <class T>
void YoloLayer<T>::loss(const Network<T>& net) {
    const int S = this->w * this->h, nm = static_cast<int>(mask.size());
    const double s = scale_x_y, half = 0.5 * (scale_x_y - 1);
    // [Gaussian_yolo] weights objectness by cls_normalizer and the class terms by 1 (AlexeyAB's)
    const double on = gaussian ? cls_normalizer : obj_normalizer, cn = gaussian ? 1.0 : cls_normalizer;
    const double in = iou_normalizer;
    const int EY = coord_entry(1), EW = coord_entry(2), EH = coord_entry(3), EO = obj_entry();
    const T* y = this->output.data();
    const T* x = net.input;
    loss_grad_.assign(this->output.size(), T(0));
    double cost = 0;
    // objectness_smooth: each slot's IoU target, recorded, or reused while frozen
    const size_t n_slots = static_cast<size_t>(this->batch) * nm * S;
    const bool reuse = frozen_ && smooth_targets_.size() == n_slots;
    if (objectness_smooth && !reuse) smooth_targets_.assign(n_slots, 0.0);
    const auto smooth_target = [&](size_t slot, double iou) {
        if (!reuse) smooth_targets_[slot] = iou;
        return smooth_targets_[slot];
    };
    for (int b = 0; b < this->batch; ++b) {
        const T* tr = net.truth + static_cast<size_t>(b) * truth_size();
        const std::vector<TruthBox> truths = read_truths(tr, max_boxes, classes, this->where);
        // slot -> truths it is responsible for
        std::vector<std::vector<int>> resp(static_cast<size_t>(S) * nm);
        for (size_t ti = 0; ti < truths.size(); ++ti) {
            const TruthBox& t = truths[ti];
            int best_n = 0;
            double best = -1;
            std::vector<double> shape_iou(total);
            for (int n = 0; n < total; ++n) {
                shape_iou[n] = iou_xywh(0, 0, t.w, t.h, 0, 0, anchors[2 * n] / net_w_, anchors[2 * n + 1] / net_h_);
                if (shape_iou[n] > best) {
                    best = shape_iou[n];
                    best_n = n;
                }
            }
            const int i = std::min(this->w - 1, std::max(0, static_cast<int>(t.x * this->w)));
            const int j = std::min(this->h - 1, std::max(0, static_cast<int>(t.y * this->h)));
            for (int n = 0; n < nm; ++n)
                if (mask[n] == best_n || (iou_thresh < 1 && shape_iou[mask[n]] > iou_thresh))
                    resp[static_cast<size_t>(n) * S + j * this->w + i].push_back(static_cast<int>(ti));
        }
        for (int n = 0; n < nm; ++n) {
            const double aw = anchors[2 * mask[n]], ah = anchors[2 * mask[n] + 1];
            for (int loc = 0; loc < S; ++loc) {
                const int i = loc % this->w, j = loc / this->w;
                const size_t bi = entry_index(b, n, loc, 0), oi = entry_index(b, n, loc, EO);
                const double px = (i + y[bi]) / this->w, py = (j + y[bi + EY * S]) / this->h;
                const double yw = y[bi + EW * S], yh = y[bi + EH * S];
                const double pw = new_coords ? 4 * yw * yw * aw / net_w_ : std::exp(yw) * aw / net_w_;
                const double ph = new_coords ? 4 * yh * yh * ah / net_h_ : std::exp(yh) * ah / net_h_;
                // d(w_box)/d(input_w), d(h_box)/d(input_h)
                const double dpw = new_coords ? 8 * yw * aw / net_w_ : pw, dph = new_coords ? 8 * yh * ah / net_h_ : ph;
                std::vector<int> mine = resp[static_cast<size_t>(n) * S + loc];
                double best_iou = 0;
                int best_t = -1;
                for (size_t ti = 0; ti < truths.size(); ++ti) {
                    const double v = iou_xywh(px, py, pw, ph, truths[ti].x, truths[ti].y, truths[ti].w, truths[ti].h);
                    if (v > best_iou) {
                        best_iou = v;
                        best_t = static_cast<int>(ti);
                    }
                }
                if (mine.empty() && best_t >= 0 && best_iou > truth_thresh) mine.push_back(best_t);
                const size_t slot = (static_cast<size_t>(b) * nm + n) * S + loc;
                double g = 0;
                if (mine.empty()) {
                    if (best_iou <= ignore_thresh || objectness_smooth) {
                        const double target = best_iou <= ignore_thresh ? 0 : smooth_target(slot, best_iou);
                        cost += on * prob_term(new_coords, x[oi], y[oi], target, &g);
                        loss_grad_[oi] += static_cast<T>(on * g);
                    }
                    continue;
                }
                // counters_per_class: the responsible truths' class weight (the largest, with several)
                double m_obj = 1;
                for (int ti : mine)
                    if (!class_multipliers.empty()) m_obj = std::max(m_obj, static_cast<double>(class_multipliers[truths[ti].cls]));
                double obj_target = 1;
                if (objectness_smooth) {  // the best IoU of the predicted box with the truths it is responsible for
                    double v = 0;
                    for (int ti : mine) {
                        const TruthBox& t = truths[ti];
                        v = std::max(v, iou_xywh(px, py, pw, ph, t.x, t.y, t.w, t.h));
                    }
                    obj_target = smooth_target(slot, v);
                }
                cost += m_obj * on * prob_term(new_coords, x[oi], y[oi], obj_target, &g);
                loss_grad_[oi] += static_cast<T>(m_obj * on * g);
                // derivative of the x, y outputs w.r.t. the layer's inputs
                const double sx = (y[bi] + half) / s, sy = (y[bi + EY * S] + half) / s;
                const double dxdt = new_coords ? s : s * sx * (1 - sx), dydt = new_coords ? s : s * sy * (1 - sy);
                for (int ti : mine) {
                    const TruthBox& t = truths[ti];
                    const double m = class_multipliers.empty() ? 1.0 : class_multipliers[t.cls];
                    for (int c = 0; c < classes; ++c) {
                        const size_t ci = entry_index(b, n, loc, EO + 1 + c);
                        double target = c == t.cls ? 1 : 0;
                        target = target * (1 - label_smooth_eps) + 0.5 * label_smooth_eps;
                        const double w = c == t.cls ? m * cn : cn;  // AlexeyAB weights the true class's term
                        cost += w * (focal_loss ? focal_term(x[ci], y[ci], c == t.cls, &g)
                                                : prob_term(new_coords, x[ci], y[ci], target, &g));
                        loss_grad_[ci] += static_cast<T>(w * g);
                    }
                    // the MSE residuals in Darknet's coordinates (outputs minus targets t.x*W - i, log(t.w*netw/anchor_w))
                    const double tx = t.x * this->w - i, ty = t.y * this->h - j;
                    const double tw = new_coords ? std::sqrt(t.w * net_w_ / aw) / 2 : std::log(t.w * net_w_ / aw);
                    const double th = new_coords ? std::sqrt(t.h * net_h_ / ah) / 2 : std::log(t.h * net_h_ / ah);
                    const double e[4] = {y[bi] - tx, y[bi + EY * S] - ty, yw - tw, yh - th};
                    const size_t at[4] = {bi, bi + EY * S, bi + EW * S, bi + EH * S};
                    const double dcoord[4] = {dxdt, dydt, 1, 1};
                    // [Gaussian_yolo]'s stop-gradient constants: the sigmas (in the MSE box term) and
                    // the residuals (in the sigmas' term), held while frozen
                    std::array<double, 8> held{};
                    if (gaussian) {
                        for (int k = 0; k < 4; ++k) held[k] = y[at[k] + S], held[4 + k] = e[k];
                        if (frozen_) held = gauss_held_.try_emplace(slot * max_boxes + ti, held).first->second;
                    }
                    if (iou_loss == IouLoss::Mse) {
                        const double scale = m * in * (2 - t.w * t.h);
                        for (int k = 0; k < 4; ++k) {
                            if (!gaussian) {
                                cost += scale * 0.5 * e[k] * e[k];
                                loss_grad_[at[k]] += static_cast<T>(scale * e[k] * dcoord[k]);
                                continue;
                            }
                            // the Gaussian likelihood of the residual under the held sigma, 0 at e = 0
                            const GaussNll g = gauss_nll(e[k], held[k]);
                            cost += scale * 0.5 * (g.value - gauss_nll(0, held[k]).value);
                            loss_grad_[at[k]] += static_cast<T>(scale * 0.5 * g.d_r * dcoord[k]);
                        }
                    } else {
                        const BoxLoss kind = iou_loss == IouLoss::Iou    ? BoxLoss::Iou
                                             : iou_loss == IouLoss::Giou ? BoxLoss::Giou
                                             : iou_loss == IouLoss::Diou ? BoxLoss::Diou
                                                                         : BoxLoss::Ciou;
                        using D = Dual<4>;
                        const D L = box_loss(D::var(px, 0), D::var(py, 1), D::var(pw, 2), D::var(ph, 3), t.x, t.y, t.w,
                                             t.h, kind);
                        cost += m * in * L.v;
                        // gradient w.r.t. the decoded box (x, y, w, h relative to the image)
                        const double mi = m * in;
                        double gx = mi * L.d[0], gy = mi * L.d[1], gw = mi * L.d[2], gh = mi * L.d[3];
                        if (max_delta > 0) {  // AlexeyAB's clip, in his units: w, h times exp(t) with the exp decode
                            const double ew = new_coords ? 1 : std::exp(yw), eh = new_coords ? 1 : std::exp(yh);
                            const double m = max_delta;
                            gx = std::clamp(gx, -m, m);
                            gy = std::clamp(gy, -m, m);
                            gw = std::clamp(gw * ew, -m, m) / ew;
                            gh = std::clamp(gh * eh, -m, m) / eh;
                        }
                        loss_grad_[at[0]] += static_cast<T>(gx / this->w * dxdt);
                        loss_grad_[at[1]] += static_cast<T>(gy / this->h * dydt);
                        loss_grad_[at[2]] += static_cast<T>(gw * dpw);
                        loss_grad_[at[3]] += static_cast<T>(gh * dph);
                    }
                    if (gaussian) {  // the sigmas' negative log-likelihood of the (held) residuals
                        const double u = uc_normalizer * (2 - t.w * t.h) / 2;
                        for (int k = 0; k < 4; ++k) {
                            const double sg = y[at[k] + S];
                            const GaussNll g = gauss_nll(held[4 + k], sg);
                            cost += u * g.value;
                            loss_grad_[at[k] + S] += static_cast<T>(u * g.d_s * sg * (1 - sg));  // through the logistic
                        }
                    }
                }
            }
        }
    }
    this->cost = cost;
}

template <class T>
void YoloLayer<T>::random_truth(std::mt19937_64& rng, T* truth) const {
    random_truths(rng, classes, max_boxes, truth);
}

// Darknet's get_yolo_detections + correct_yolo_boxes (image b of the batch).
template <class T>
void YoloLayer<T>::get_detections(int im_w, int im_h, int net_w, int net_h, float thresh, bool letterbox,
                                  std::vector<Detection>& out, int b) const {
    const int S = this->w * this->h;
    const T* p = this->output.data();
    const BoxCorrection correct(im_w, im_h, net_w, net_h, letterbox);
    for (int i = 0; i < S; ++i) {
        const int row = i / this->w, col = i % this->w;
        for (int n = 0; n < static_cast<int>(mask.size()); ++n) {
            const float objectness = static_cast<float>(p[entry_index(b, n, i, obj_entry())]);
            if (!(objectness > thresh)) continue;
            const size_t bi = entry_index(b, n, i, 0);
            const float tx = static_cast<float>(p[bi]), ty = static_cast<float>(p[bi + coord_entry(1) * S]);
            const float tw = static_cast<float>(p[bi + coord_entry(2) * S]), th = static_cast<float>(p[bi + coord_entry(3) * S]);
            // [Gaussian_yolo]: the scores are scaled by 1 - the mean of the four sigmas (AlexeyAB's)
            float certainty = 1;
            if (gaussian)
                certainty = 1 - static_cast<float>(p[bi + S] + p[bi + 3 * S] + p[bi + 5 * S] + p[bi + 7 * S]) / 4;
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
            correct.apply(d.bbox);
            set_class_probs(d, objectness, p + entry_index(b, n, i, obj_entry() + 1), S, classes, thresh, certainty);
            out.push_back(std::move(d));
        }
    }
}

template <class T>
std::string YoloLayer<T>::describe() const {
    return strfmt("%-25s%4d x%4d x%4d  (%zu anchors, %d classes, scale_x_y %.2f)", gaussian ? "Gaussian_yolo" : "yolo",
                  this->w, this->h, this->c, mask.size(), classes, scale_x_y);
}

DN_REGISTER_LAYER(YoloLayer, "yolo")
DN_REGISTER_LAYER(GaussianYoloLayer, "gaussian_yolo")  // section names are matched in lower case

}  // namespace dn
