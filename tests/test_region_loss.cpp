// The [region] (YOLOv2) loss: values computed by hand on a 2x2 grid, the assignment rules
// (responsible anchor by shape, bias_match, thresh, several truths in one slot, the prior of
// the first 12800 images, rescore) and exact gradients against finite differences.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "gradcheck.hpp"

using namespace dn;
using namespace dn::test;

namespace {

// A 2x2 network input straight into a [region] head (2x2 grid, `classes` classes); anchors are in
// grid cells, so "1,1" is half the image.
std::string grid_cfg(int num, int classes, const std::string& anchors, const std::string& extra) {
    return "[net]\nbatch=1\nwidth=2\nheight=2\nchannels=" + std::to_string(num * (5 + classes)) +
           "\n[region]\nclasses=" + std::to_string(classes) + "\nnum=" + std::to_string(num) + "\nanchors=" + anchors +
           "\n" + extra;
}

// Input offset on the 2x2 grid: entry e of anchor n at cell (i, j), `entries` = 5 + classes.
size_t at(int entries, int n, int e, int i, int j) { return static_cast<size_t>(n) * entries * 4 + e * 4 + j * 2 + i; }

const std::vector<double> kTruth = {0.7, 0.3, 0.4, 0.6, 1};  // cell (1, 0), class 1

}  // namespace

// One truth (0.7, 0.3, 0.4, 0.6, class 1), anchor 1x1 cells, softmax over 2 classes, all logits 0:
// the predictions are (cell center, 0.5 x 0.5), objectness 0.5, class scores 0.5. Cell (1,0) is
// responsible; cell (1,1) overlaps the truth with IoU 0.04/0.45 < thresh 0.5 and cells (0,*) not
// at all: three no-object terms. By hand:
//   box: coord_scale (2 - 0.24) / 2 ((0.5 - 0.4)^2 + (0.5 - 0.6)^2 + log(0.8)^2 + log(1.2)^2)
//        (tx = 0.7*2 - 1, ty = 0.3*2, tw = log(0.4*2/1), th = log(0.6*2/1))
//   objectness (0.5 - 1)^2 / 2, no-object 3 x 0.5^2 / 2, class: -log 0.5
// The prior terms (0.01, the first 12800 images) vanish at these logits.
TEST(RegionLoss, ValueAndGradientByHand) {
    const int E = 7;
    LossRun r = run_loss(grid_cfg(1, 2, "1,1", "softmax=1\ncoord_scale=1.5\nobject_scale=2\nnoobject_scale=0.5\n"
                                                "class_scale=3\n"),
                         std::vector<double>(4 * E, 0.0), kTruth);
    const double tw = std::log(0.8), th = std::log(1.2), scale = 1.5 * (2 - 0.24);
    EXPECT_NEAR(r.cost, scale / 2 * (0.02 + tw * tw + th * th) + 2 * 0.125 + 0.5 * 3 * 0.125 + 3 * std::log(2.0), 1e-12);
    // x, y: (y - t) * y (1 - y); w, h raw
    EXPECT_NEAR(r.grad[at(E, 0, 0, 1, 0)], scale * (0.5 - 0.4) * 0.25, 1e-12);
    EXPECT_NEAR(r.grad[at(E, 0, 1, 1, 0)], scale * (0.5 - 0.6) * 0.25, 1e-12);
    EXPECT_NEAR(r.grad[at(E, 0, 2, 1, 0)], scale * (0 - tw), 1e-12);
    EXPECT_NEAR(r.grad[at(E, 0, 3, 1, 0)], scale * (0 - th), 1e-12);
    EXPECT_NEAR(r.grad[at(E, 0, 4, 1, 0)], 2 * (0.5 - 1) * 0.25, 1e-12);
    EXPECT_NEAR(r.grad[at(E, 0, 5, 1, 0)], 3 * (0.5 - 0), 1e-12);  // softmax + cross-entropy: p - onehot
    EXPECT_NEAR(r.grad[at(E, 0, 6, 1, 0)], 3 * (0.5 - 1), 1e-12);
    for (auto [i, j] : {std::pair{0, 0}, {0, 1}, {1, 1}}) {
        EXPECT_NEAR(r.grad[at(E, 0, 4, i, j)], 0.5 * 0.5 * 0.25, 1e-12) << i << "," << j;
        for (int e : {0, 1, 2, 3, 5, 6}) EXPECT_EQ(r.grad[at(E, 0, e, i, j)], 0.0) << "entry " << e;
    }
}

// thresh below cell (1,1)'s IoU (0.089) removes its no-object term; rescore=1 trains the
// responsible slot's objectness toward the IoU of its box (0.75, 0.25, 0.5, 0.5) with the truth,
// 0.2/0.29, a constant (no gradient reaches the box from it).
TEST(RegionLoss, ThreshAndRescore) {
    const int E = 7;
    const std::vector<double> x(4 * E, 0.0);
    const LossRun plain = run_loss(grid_cfg(1, 2, "1,1", "softmax=1\n"), x, kTruth);
    const LossRun t = run_loss(grid_cfg(1, 2, "1,1", "softmax=1\nthresh=0.05\n"), x, kTruth);
    EXPECT_NEAR(t.cost, plain.cost - 0.125, 1e-12);
    EXPECT_EQ(t.grad[at(E, 0, 4, 1, 1)], 0.0);
    EXPECT_NEAR(t.grad[at(E, 0, 4, 0, 1)], 0.5 * 0.25, 1e-12);
    const LossRun r = run_loss(grid_cfg(1, 2, "1,1", "softmax=1\nrescore=1\n"), x, kTruth);
    const double iou = 0.2 / 0.29;
    EXPECT_NEAR(r.cost, plain.cost - 0.125 + 0.5 * (0.5 - iou) * (0.5 - iou), 1e-12);
    EXPECT_NEAR(r.grad[at(E, 0, 4, 1, 0)], (0.5 - iou) * 0.25, 1e-12);
    for (int e : {0, 1, 2, 3}) EXPECT_EQ(r.grad[at(E, 0, e, 1, 0)], plain.grad[at(E, 0, e, 1, 0)]) << e;
}

// The prior (Darknet's first 12800 images): every slot without a truth is pulled toward the
// anchor at its cell's center with weight 0.01, (x, y) -> 0.5 and (t_w, t_h) -> 0; from 12800
// images on it is gone.
TEST(RegionLoss, AnchorPriorForTheFirst12800Images) {
    const int E = 7;
    std::vector<double> x(4 * E, 0.0);
    x[at(E, 0, 0, 0, 0)] = 1.0;  // sigmoid 0.7311
    x[at(E, 0, 2, 0, 0)] = 0.3;
    const double s = 1 / (1 + std::exp(-1.0));
    const LossRun early = run_loss(grid_cfg(1, 2, "1,1", "softmax=1\n"), x, kTruth, 12799);
    const LossRun late = run_loss(grid_cfg(1, 2, "1,1", "softmax=1\n"), x, kTruth, 12800);
    EXPECT_NEAR(early.cost - late.cost, 0.005 * ((s - 0.5) * (s - 0.5) + 0.09), 1e-12);
    EXPECT_NEAR(early.grad[at(E, 0, 0, 0, 0)], 0.01 * (s - 0.5) * s * (1 - s), 1e-12);
    EXPECT_NEAR(early.grad[at(E, 0, 2, 0, 0)], 0.01 * 0.3, 1e-12);
    EXPECT_EQ(late.grad[at(E, 0, 0, 0, 0)], 0.0);
    EXPECT_EQ(late.grad[at(E, 0, 2, 0, 0)], 0.0);
    // the responsible slot has no prior term
    EXPECT_EQ(early.grad[at(E, 0, 2, 1, 0)], late.grad[at(E, 0, 2, 1, 0)]);
}

// The responsible anchor: by the predicted box's shape, or with bias_match=1 the anchor's.
// Anchors (1,1) and (2,3) cells: shapes (0.5, 0.5) and (1, 1.5) of the image; the truth's
// (0.4, 0.6) overlaps the first best (0.2/0.29 against 0.24/1.5). Anchor 1's logits t_w, t_h =
// log 0.4 make its predicted box (0.4, 0.6): the truth's shape, IoU 1.
TEST(RegionLoss, ResponsibleAnchorByPredictedShapeOrBiasMatch) {
    const int E = 7;
    std::vector<double> x(2 * 4 * E, 0.0);
    x[at(E, 1, 2, 1, 0)] = x[at(E, 1, 3, 1, 0)] = std::log(0.4);
    for (int bias_match : {0, 1}) {
        const LossRun r = run_loss(grid_cfg(2, 2, "1,1,2,3", "softmax=1\nbias_match=" + std::to_string(bias_match) + "\n"),
                                   x, kTruth);
        const int n = bias_match ? 0 : 1;
        SCOPED_TRACE(bias_match);
        EXPECT_NEAR(r.grad[at(E, n, 6, 1, 0)], 0.5 - 1, 1e-12);  // the class term is the responsible slot's
        EXPECT_EQ(r.grad[at(E, 1 - n, 6, 1, 0)], 0.0);
    }
}

// Two truths in one slot: Darknet's deltas overwrite, so the box and objectness follow the last
// one; with raw class scores the class targets are the union of their classes (its multi-label
// rule), with softmax the last truth's class.
TEST(RegionLoss, SeveralTruthsInOneSlot) {
    const int E = 8;  // 3 classes
    const std::vector<double> x(4 * E, 0.0);
    const std::vector<double> two = {0.7, 0.3, 0.4, 0.6, 0, 0.6, 0.2, 0.3, 0.5, 2};
    const std::vector<double> last = {0.6, 0.2, 0.3, 0.5, 2};
    for (int sm : {0, 1}) {
        SCOPED_TRACE(sm);
        const std::string cfg = grid_cfg(1, 3, "1,1", sm ? "softmax=1\n" : "");
        const LossRun r = run_loss(cfg, x, two), l = run_loss(cfg, x, last);
        for (int e : {0, 1, 2, 3, 4}) EXPECT_EQ(r.grad[at(E, 0, e, 1, 0)], l.grad[at(E, 0, e, 1, 0)]) << e;
        const double p = sm ? 1.0 / 3 : 0.0;  // softmax of zeros, or the raw logits
        EXPECT_NEAR(r.grad[at(E, 0, 5, 1, 0)], p - (sm ? 0 : 1), 1e-12);
        EXPECT_NEAR(r.grad[at(E, 0, 6, 1, 0)], p, 1e-12);
        EXPECT_NEAR(r.grad[at(E, 0, 7, 1, 0)], p - 1, 1e-12);
    }
}

// The analytic gradient of the whole loss matches finite differences at random logits (every
// element), softmax and raw classes, rescore (its targets held fixed: see freeze_randomness) and
// bias_match, several anchors, two images, with and without the prior.
TEST(RegionLoss, ExactGradient) {
    for (const char* keys : {"softmax=1\n", "", "softmax=1\nrescore=1\nbias_match=1\nthresh=0.3\n"})
        for (uint64_t seen : {0ull, 20000ull}) {
            SCOPED_TRACE(std::string(keys) + " seen " + std::to_string(seen));
            const std::string cfg = "[net]\nbatch=2\nwidth=4\nheight=3\nchannels=21\n"
                                    "[region]\nclasses=2\nnum=3\nanchors=0.6,0.9,1.4,1.7,2.3,3.1\ncoord_scale=1.3\n"
                                    "object_scale=2\nnoobject_scale=0.7\nclass_scale=1.1\n" +
                                    std::string(keys);
            set_quiet(true);
            auto net = net_from<double>(cfg);
            net->header.seen = seen;
            std::vector<double> x = make_input(2, 21, 3, 4, 0, 1, -1, 5);
            expect_exact_head_loss_gradient(*net, x);
        }
}

// Labels the head cannot use are errors, and so are anchors it cannot divide by.
TEST(RegionLoss, BadLabelsAndAnchorsAreErrors) {
    EXPECT_THROW(run_loss(grid_cfg(1, 2, "1,1", ""), std::vector<double>(28, 0.0), {0.5, 0.5, 0.2, 0.2, 2}), Error);
    set_quiet(true);
    try {
        net_from<double>(grid_cfg(1, 2, "1,0", ""));
        ADD_FAILURE() << "anchors=1,0 was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("anchors"), std::string::npos) << e.what();
    }
}
