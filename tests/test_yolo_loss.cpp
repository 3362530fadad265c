// The [yolo] loss: values computed by hand on a 2x2 grid, the assignment rules (responsible
// anchor by shape, ignore_thresh, iou_thresh), and exact gradients of every box-loss kind against
// finite differences.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "gradcheck.hpp"

using namespace dn;
using namespace dn::test;

namespace {

// A 2x2 network input straight into a [yolo] head (2x2 grid, one class); anchors are in network
// pixels, so "1,1" is half the image. `extra` adds keys to [yolo].
std::string grid_cfg(int masks, const std::string& anchors, int num, const std::string& extra) {
    std::string mask;
    for (int i = 0; i < masks; ++i) mask += (i ? "," : "") + std::to_string(i);
    return "[net]\nbatch=1\nwidth=2\nheight=2\nchannels=" + std::to_string(masks * 6) +
           "\n[yolo]\nclasses=1\nmask=" + mask + "\nnum=" + std::to_string(num) + "\nanchors=" + anchors + "\n" + extra;
}

// Input for a 2x2 grid where every logit is 0: boxes centered in their cells, size = anchor,
// objectness and class probability 0.5.
std::vector<double> zero_logits(int masks) { return std::vector<double>(static_cast<size_t>(masks) * 6 * 4, 0.0); }

const double ln2 = std::log(2.0);
// Input offsets on the 2x2 grid with 6 entries per anchor: entry e of anchor n at cell (i, j).
size_t at(int n, int e, int i, int j) { return static_cast<size_t>(n) * 24 + e * 4 + j * 2 + i; }

}  // namespace

// One truth (0.7, 0.3, 0.4, 0.6) on a 2x2 grid, anchor 1x1 px on a 2x2 net, all logits 0:
// the predictions are (cell center, 0.5 x 0.5). Cell (1,0) is responsible; cell (1,1) overlaps the
// truth with IoU 0.04/0.45 < 0.5 and cells (0,*) not at all, so three slots take the no-object
// term. By hand:
//   objectness: 3 x BCE(0.5, 0) + BCE(0.5, 1) = 4 ln 2;  class: BCE(0.5, 1) = ln 2
//   box (mse): tx = 0.7*2 - 1 = 0.4, ty = 0.6, tw = ln(0.4*2/1), th = ln(0.6*2/1);
//     0.75 * (2 - 0.24) / 2 * ((0.5-0.4)^2 + (0.5-0.6)^2 + tw^2 + th^2)
TEST(YoloLoss, MseValueAndGradientByHand) {
    const std::string cfg = grid_cfg(1, "1,1", 1, "");
    LossRun r = run_loss(cfg, zero_logits(1), {0.7, 0.3, 0.4, 0.6, 0});
    const double tw = std::log(0.8), th = std::log(1.2), scale = 0.75 * (2 - 0.24);
    const double box = scale / 2 * (0.01 + 0.01 + tw * tw + th * th);
    EXPECT_NEAR(r.cost, 5 * ln2 + box, 1e-12);
    // logits: x = 0 -> sigmoid 0.5, dsigmoid 0.25
    EXPECT_NEAR(r.grad[at(0, 0, 1, 0)], scale * (0.5 - 0.4) * 0.25, 1e-12);
    EXPECT_NEAR(r.grad[at(0, 1, 1, 0)], scale * (0.5 - 0.6) * 0.25, 1e-12);
    EXPECT_NEAR(r.grad[at(0, 2, 1, 0)], scale * (0 - tw), 1e-12);
    EXPECT_NEAR(r.grad[at(0, 3, 1, 0)], scale * (0 - th), 1e-12);
    EXPECT_NEAR(r.grad[at(0, 4, 1, 0)], 0.5 - 1, 1e-12);  // objectness toward 1
    EXPECT_NEAR(r.grad[at(0, 5, 1, 0)], 0.5 - 1, 1e-12);  // class toward 1
    for (auto [i, j] : {std::pair{0, 0}, {0, 1}, {1, 1}}) {
        EXPECT_NEAR(r.grad[at(0, 4, i, j)], 0.5, 1e-12) << i << "," << j;  // no-object term
        for (int e : {0, 1, 2, 3, 5}) EXPECT_EQ(r.grad[at(0, e, i, j)], 0.0) << "entry " << e;
    }
}

// The same truth with new_coords=1 and scale_x_y=2 (Scaled-YOLOv4): inputs are the previous
// layer's probabilities, all 0.5: x, y = 2*0.5 - 0.5 = 0.5 (cell centers), w = 4*0.5^2*anchor =
// anchor. Objectness and class are squared errors on the probabilities (AlexeyAB's delta):
//   4 objectness terms + 1 class term, each (0.5 - t)^2 / 2 = 0.125
//   box (mse): tw = sqrt(0.4*2/1)/2, th = sqrt(0.6*2/1)/2; same scale; dx/dinput = 2, dw/dinput = 1.
TEST(YoloLoss, NewCoordsValueAndGradientByHand) {
    const std::string cfg = grid_cfg(1, "1,1", 1, "new_coords=1\nscale_x_y=2\n");
    LossRun r = run_loss(cfg, std::vector<double>(24, 0.5), {0.7, 0.3, 0.4, 0.6, 0});
    const double tw = std::sqrt(0.8) / 2, th = std::sqrt(1.2) / 2, scale = 0.75 * (2 - 0.24);
    const double box = scale / 2 * (0.01 + 0.01 + (0.5 - tw) * (0.5 - tw) + (0.5 - th) * (0.5 - th));
    EXPECT_NEAR(r.cost, 5 * 0.125 + box, 1e-12);
    EXPECT_NEAR(r.grad[at(0, 0, 1, 0)], scale * (0.5 - 0.4) * 2, 1e-12);
    EXPECT_NEAR(r.grad[at(0, 1, 1, 0)], scale * (0.5 - 0.6) * 2, 1e-12);
    EXPECT_NEAR(r.grad[at(0, 2, 1, 0)], scale * (0.5 - tw), 1e-12);
    EXPECT_NEAR(r.grad[at(0, 3, 1, 0)], scale * (0.5 - th), 1e-12);
    EXPECT_NEAR(r.grad[at(0, 4, 1, 0)], 0.5 - 1, 1e-12);
    EXPECT_NEAR(r.grad[at(0, 5, 1, 0)], 0.5 - 1, 1e-12);
    for (auto [i, j] : {std::pair{0, 0}, {0, 1}, {1, 1}}) {
        EXPECT_NEAR(r.grad[at(0, 4, i, j)], 0.5, 1e-12) << i << "," << j;
        for (int e : {0, 1, 2, 3, 5}) EXPECT_EQ(r.grad[at(0, e, i, j)], 0.0) << "entry " << e;
    }
}

// ignore_thresh below cell (1,1)'s IoU (0.089) removes its no-object term.
TEST(YoloLoss, IgnoreThreshUsesThePredictedBoxIoU) {
    const std::string cfg = grid_cfg(1, "1,1", 1, "ignore_thresh=0.05\n");
    LossRun r = run_loss(cfg, zero_logits(1), {0.7, 0.3, 0.4, 0.6, 0});
    const double tw = std::log(0.8), th = std::log(1.2), scale = 0.75 * (2 - 0.24);
    EXPECT_NEAR(r.cost, 4 * ln2 + scale / 2 * (0.02 + tw * tw + th * th), 1e-12);
    EXPECT_EQ(r.grad[at(0, 4, 1, 1)], 0.0);
    EXPECT_NEAR(r.grad[at(0, 4, 0, 1)], 0.5, 1e-12);
}

// GIoU by hand for prediction (0.75, 0.25, 0.5, 0.5) vs truth (0.7, 0.3, 0.4, 0.6):
// I = 0.4*0.5 = 0.2, U = 0.25 + 0.24 - 0.2 = 0.29, C = 0.5*0.6 = 0.3, GIoU = I/U - (C-U)/C.
TEST(YoloLoss, GiouValueByHand) {
    const std::string cfg = grid_cfg(1, "1,1", 1, "iou_loss=giou\niou_normalizer=0.0625\n");
    LossRun r = run_loss(cfg, zero_logits(1), {0.7, 0.3, 0.4, 0.6, 0});
    const double giou = 0.2 / 0.29 - 0.01 / 0.3;
    EXPECT_NEAR(r.cost, 5 * ln2 + 0.0625 * (1 - giou), 1e-12);
}

// objectness_smooth=1 on the MSE example: the responsible slot (1,0), predicting (0.75, 0.25,
// 0.5, 0.5), has IoU 0.2/0.29 with the truth and is trained toward it; slot (1,1) (IoU 0.04/0.45,
// above ignore_thresh=0.05) toward its IoU instead of being skipped; slots (0,*) (IoU 0) toward 0.
// At logit 0 every BCE is ln 2 whatever the target, so the cost is unchanged; the targets are
// constants (stop-gradient), so the box gradients are those without objectness_smooth.
TEST(YoloLoss, ObjectnessSmoothTargetsAreTheIoUs) {
    const std::vector<double> truth = {0.7, 0.3, 0.4, 0.6, 0};
    LossRun plain = run_loss(grid_cfg(1, "1,1", 1, "ignore_thresh=0.05\n"), zero_logits(1), truth);
    LossRun r = run_loss(grid_cfg(1, "1,1", 1, "ignore_thresh=0.05\nobjectness_smooth=1\n"), zero_logits(1), truth);
    const double tw = std::log(0.8), th = std::log(1.2), scale = 0.75 * (2 - 0.24);
    EXPECT_NEAR(r.cost, 5 * ln2 + scale / 2 * (0.02 + tw * tw + th * th), 1e-12);
    EXPECT_NEAR(r.grad[at(0, 4, 1, 0)], 0.5 - 0.2 / 0.29, 1e-12);
    EXPECT_NEAR(r.grad[at(0, 4, 1, 1)], 0.5 - 0.04 / 0.45, 1e-12);
    EXPECT_NEAR(r.grad[at(0, 4, 0, 0)], 0.5, 1e-12);
    EXPECT_NEAR(r.grad[at(0, 4, 0, 1)], 0.5, 1e-12);
    for (int e : {0, 1, 2, 3, 5})
        for (int c = 0; c < 4; ++c) EXPECT_EQ(r.grad[at(0, e, c % 2, c / 2)], plain.grad[at(0, e, c % 2, c / 2)]);
    // without it the responsible slot is trained toward 1 and slot (1,1) is skipped
    EXPECT_NEAR(plain.grad[at(0, 4, 1, 0)], 0.5 - 1, 1e-12);
    EXPECT_EQ(plain.grad[at(0, 4, 1, 1)], 0.0);
}

// max_delta clips the IoU term's gradient per coordinate of the decoded box in AlexeyAB's units
// (w, h times exp(t)), then chains it exactly: at m between the smallest and the largest of them,
// the large ones are cut to +-m and the small ones kept. MSE ignores it, as in AlexeyAB's.
TEST(YoloLoss, MaxDeltaClipsTheBoxGradientInAlexeyABsUnits) {
    // truth (0.95, 0.45, 0.3, 0.3) -> cell (1,0); its prediction (0.75, 0.25, 0.5 e^-0.3, 0.5)
    // overlaps it partly in x and y, so all four coordinates have a gradient
    const std::vector<double> truth = {0.95, 0.45, 0.3, 0.3, 0};
    std::vector<double> x = zero_logits(1);
    x[at(0, 2, 1, 0)] = -0.3;
    const std::string base = "iou_loss=giou\niou_normalizer=0.5\n";
    LossRun a = run_loss(grid_cfg(1, "1,1", 1, base), x, truth);
    const double e = std::exp(-0.3);
    // chain factors from the decoded box to the inputs: x, y: sigmoid'(0)/W; w: w_box; h: h_box
    const double chain[4] = {0.25 / 2, 0.25 / 2, 0.5 * e, 0.5};
    const double unit[4] = {1, 1, e, 1};  // AlexeyAB's w, h gradients carry exp(t)
    double q[4], lo = 1e300, hi = 0;
    for (int k = 0; k < 4; ++k) {
        q[k] = a.grad[at(0, k, 1, 0)] / chain[k] * unit[k];
        lo = std::min(lo, std::fabs(q[k]));
        hi = std::max(hi, std::fabs(q[k]));
    }
    ASSERT_GT(lo, 1e-3);
    ASSERT_GT(hi, 1.5 * lo);
    const double m = static_cast<float>(std::sqrt(lo * hi));  // max_delta is a float
    LossRun b = run_loss(grid_cfg(1, "1,1", 1, base + strfmt("max_delta=%.17g\n", m)), x, truth);
    EXPECT_EQ(b.cost, a.cost);  // the loss itself is not changed
    int clipped = 0;
    for (int k = 0; k < 4; ++k) {
        const double want = std::clamp(q[k], -m, m) / unit[k] * chain[k];
        EXPECT_NEAR(b.grad[at(0, k, 1, 0)], want, 1e-12 * std::fabs(want)) << "coordinate " << k;
        clipped += std::fabs(q[k]) > m;
    }
    EXPECT_GT(clipped, 0);
    EXPECT_LT(clipped, 4);
    for (size_t i = 0; i < x.size(); ++i) {
        if (i != at(0, 0, 1, 0) && i != at(0, 1, 1, 0) && i != at(0, 2, 1, 0) && i != at(0, 3, 1, 0)) {
            EXPECT_EQ(b.grad[i], a.grad[i]) << i;
        }
    }
    // a bound above every coordinate changes nothing
    LossRun c = run_loss(grid_cfg(1, "1,1", 1, base + strfmt("max_delta=%.17g\n", 2 * hi)), x, truth);
    EXPECT_EQ(c.grad, a.grad);
    LossRun mse = run_loss(grid_cfg(1, "1,1", 1, "max_delta=1e-3\n"), x, truth);
    EXPECT_EQ(mse.grad, run_loss(grid_cfg(1, "1,1", 1, ""), x, truth).grad);
}

// focal_loss=1 on the 2x2 grid with two classes, all logits 0 (p = 1/2): the true class's term is
// 0.5 (1/2)^2 ln 2 with gradient -0.125 (1/2 + ln 2), minus AlexeyAB's delta alpha (1-p) grad; the
// other class's is the same value with gradient +0.125 (1/2 + ln 2) (AlexeyAB's delta there reuses
// the true class's factor). Objectness and box terms are unchanged.
TEST(YoloLoss, FocalLossByHand) {
    const auto cfg = [](const std::string& extra) {
        return "[net]\nbatch=1\nwidth=2\nheight=2\nchannels=7\n[yolo]\nclasses=2\nmask=0\nnum=1\nanchors=1,1\n" + extra;
    };
    const std::vector<double> x(28, 0.0), truth = {0.7, 0.3, 0.4, 0.6, 0};
    const auto at2 = [](int e, int i, int j) { return static_cast<size_t>(e) * 4 + j * 2 + i; };
    LossRun bce = run_loss(cfg(""), x, truth), fl = run_loss(cfg("focal_loss=1\n"), x, truth);
    const double pt = 0.5, alexeyab_grad = -(1 - pt) * (2 * pt * std::log(pt) + pt - 1);
    EXPECT_NEAR(fl.grad[at2(5, 1, 0)], -0.5 * (1 - pt) * alexeyab_grad, 1e-12);
    EXPECT_NEAR(fl.grad[at2(5, 1, 0)], -0.125 * (0.5 + ln2), 1e-12);
    EXPECT_NEAR(fl.grad[at2(6, 1, 0)], 0.125 * (0.5 + ln2), 1e-12);
    // the two class terms: BCE's 2 ln 2 becomes 2 x 0.125 ln 2
    EXPECT_NEAR(fl.cost, bce.cost - 2 * ln2 + 2 * 0.125 * ln2, 1e-12);
    for (size_t i = 0; i < x.size(); ++i) {
        if (i != at2(5, 1, 0) && i != at2(6, 1, 0)) {
            EXPECT_EQ(fl.grad[i], bce.grad[i]) << i;
        }
    }
    EXPECT_NE(error_of([&] { run_loss(cfg("focal_loss=1\nlabel_smooth_eps=0.1\n"), x, truth); }).find("label_smooth_eps"),
              std::string::npos);
}

// counters_per_class=100,400 (multipliers 4 and 1) on the MSE example with two classes and a truth
// of class 0: the responsible slot's objectness, box and class-0 terms are 4 times those without
// it, its class-1 term and the no-object terms are unchanged; a class-1 truth changes nothing.
TEST(YoloLoss, CountersPerClassWeightTheRarerClasses) {
    const auto cfg = [](const std::string& extra) {
        return "[net]\nbatch=1\nwidth=2\nheight=2\nchannels=7\n[yolo]\nclasses=2\nmask=0\nnum=1\nanchors=1,1\n" + extra;
    };
    const std::vector<double> x(28, 0.0);
    const auto at2 = [](int e, int i, int j) { return static_cast<size_t>(e) * 4 + j * 2 + i; };
    for (int cls : {0, 1}) {
        SCOPED_TRACE(cls);
        const std::vector<double> truth = {0.7, 0.3, 0.4, 0.6, static_cast<double>(cls)};
        LossRun plain = run_loss(cfg(""), x, truth);
        LossRun w = run_loss(cfg("counters_per_class=100, 400\n"), x, truth);
        const double m = cls == 0 ? 4 : 1;
        for (int e = 0; e < 7; ++e)
            for (int c = 0; c < 4; ++c) {
                const int i = c % 2, j = c / 2;
                const bool responsible = i == 1 && j == 0;
                const bool weighted = responsible && (e < 5 || e == 5 + cls);
                EXPECT_NEAR(w.grad[at2(e, i, j)], (weighted ? m : 1) * plain.grad[at2(e, i, j)], 1e-12)
                    << "entry " << e << " at (" << i << "," << j << ")";
            }
        EXPECT_NE(plain.grad[at2(5 + cls, 1, 0)], 0.0);
    }
    EXPECT_NE(error_of([&] { run_loss(cfg("counters_per_class=100\n"), x, {0.7, 0.3, 0.4, 0.6, 0}); })
                  .find("counters_per_class': has 1 values; classes=2 needs one per class"),
              std::string::npos);
    EXPECT_NE(error_of([&] { run_loss(cfg("counters_per_class=100,0\n"), x, {0.7, 0.3, 0.4, 0.6, 0}); })
                  .find("every count must be > 0"),
              std::string::npos);
}

// Two anchors, 0.25 x 0.75 and 0.5 x 0.5 of the image: a tall truth (0.25 x 0.75) matches the first by shape; with
// iou_thresh below the second's shape IoU both are responsible.
TEST(YoloLoss, ResponsibleAnchorByShapeAndIouThresh) {
    const std::vector<double> truth = {0.2, 0.6, 0.25, 0.75, 0};
    LossRun one = run_loss(grid_cfg(2, "0.5,1.5,1,1", 2, ""), zero_logits(2), truth);
    EXPECT_NEAR(one.grad[at(0, 4, 0, 1)], -0.5, 1e-12);  // anchor 0, cell (0,1): responsible
    EXPECT_GT(one.grad[at(1, 4, 0, 1)], -1e-12);          // anchor 1 there: not responsible
    // shape IoU of anchor 1 (0.5x0.5) with the truth: 0.25*0.5 / (0.25 + 0.1875 - 0.125) = 0.4
    LossRun both = run_loss(grid_cfg(2, "0.5,1.5,1,1", 2, "iou_thresh=0.3\n"), zero_logits(2), truth);
    EXPECT_NEAR(both.grad[at(0, 4, 0, 1)], -0.5, 1e-12);
    EXPECT_NEAR(both.grad[at(1, 4, 0, 1)], -0.5, 1e-12);
    LossRun none = run_loss(grid_cfg(2, "0.5,1.5,1,1", 2, "iou_thresh=0.41\n"), zero_logits(2), truth);
    EXPECT_GT(none.grad[at(1, 4, 0, 1)], -1e-12);
}

// The analytic gradient of the whole loss matches finite differences for every box-loss kind with
// scale_x_y, label smoothing, several anchors and normalizers, at random logits (every element);
// and with new_coords=1 at random probabilities; and with objectness_smooth=1 (whose IoU targets
// the check holds fixed: they are constants of the loss; see freeze_randomness) and
// counters_per_class.
TEST(YoloLoss, ExactGradientEveryIouKind) {
    // extra keys: 1 objectness_smooth, max_delta (never reached), counters_per_class; 2 focal_loss
    for (int extra : {0, 1, 2})
    for (int new_coords : {0, 1})
    for (const char* kind : {"mse", "iou", "giou", "diou", "ciou"}) {
        if (extra == 2 && new_coords) continue;  // focal_loss needs the logits
        const bool smooth = extra == 1;
        SCOPED_TRACE(std::string(kind) + (new_coords ? " new_coords=1" : "") + (smooth ? " objectness_smooth=1" : "") +
                     (extra == 2 ? " focal_loss=1" : ""));
        const std::string cfg = "[net]\nbatch=2\nwidth=4\nheight=4\nchannels=21\n"
                                "[yolo]\nclasses=2\nmask=0,1,2\nnum=4\nanchors=0.6,0.9,1.4,1.7,2.3,3.6,3.1,3.2\n"
                                "iou_thresh=0.213\ncls_normalizer=0.8\n" +
                                std::string(extra == 2 ? "focal_loss=1\n" : "label_smooth_eps=0.1\n") +
                                "iou_normalizer=0.3\nobj_normalizer=1.3\nignore_thresh=0.6\niou_loss=" +
                                std::string(kind) + (new_coords ? "\nnew_coords=1\nscale_x_y=2\n" : "\nscale_x_y=1.05\n") +
                                (smooth ? "objectness_smooth=1\nmax_delta=1e6\ncounters_per_class=10,30\n" : "");
        set_quiet(true);
        auto net = net_from<double>(cfg);
        std::vector<double> x = make_input(2, 21, 4, 4, 0, 1, -1, 5);
        if (new_coords)  // the previous layer's logistic outputs
            for (double& v : x) v = 1 / (1 + std::exp(-v));
        expect_exact_head_loss_gradient(*net, x);
    }
}

// Labels the head cannot use are errors, not silent garbage.
TEST(YoloLoss, ClassOutsideRangeIsAnError) {
    EXPECT_THROW(run_loss(grid_cfg(1, "1,1", 1, ""), zero_logits(1), {0.5, 0.5, 0.2, 0.2, 3}), Error);
}
