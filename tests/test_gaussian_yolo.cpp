// [Gaussian_yolo] (Gaussian YOLOv3): its layout and transform, the loss by hand on a 2x2 grid, the
// uncertainty-scaled detection scores, and the exact gradient of the loss (with its stop-gradient
// constants held) against finite differences for the MSE and IoU box terms.
#include <gtest/gtest.h>

#include <cmath>

#include "gradcheck.hpp"

using namespace dn;
using namespace dn::test;

namespace {

// A 2x2 network input straight into a [Gaussian_yolo] head, one anchor (1x1 px on the 2x2 net,
// half the image), one class: 10 entries x, sx, y, sy, w, sw, h, sh, obj, class.
std::string gauss_cfg(const std::string& extra) {
    return "[net]\nbatch=1\nwidth=2\nheight=2\nchannels=10\n[Gaussian_yolo]\nclasses=1\nmask=0\nnum=1\nanchors=1,1\n" +
           extra;
}
// Input offset of entry e at cell (i, j).
size_t at(int e, int i, int j) { return static_cast<size_t>(e) * 4 + j * 2 + i; }
const double ln2 = std::log(2.0);

}  // namespace

// The transform: x, y (entries 0, 2) logistic and scale_x_y; the four sigmas (1, 3, 5, 7),
// objectness and classes logistic; w, h (4, 6) raw.
TEST(GaussianYolo, TransformOfEachEntry) {
    auto net = net_from<double>(gauss_cfg("scale_x_y=1.25\n"));
    std::vector<double> x(40);
    for (size_t i = 0; i < x.size(); ++i) x[i] = 0.1 * static_cast<double>(i) - 2;
    const double* y = net->forward(x.data(), false);
    const auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
    for (int e = 0; e < 10; ++e)
        for (int p = 0; p < 4; ++p) {
            const double v = x[e * 4 + p];
            const double want = e == 0 || e == 2 ? 1.25 * sig(v) - 0.125 : e == 4 || e == 6 ? v : sig(v);
            EXPECT_NEAR(y[e * 4 + p], want, 1e-12) << "entry " << e;
        }
}

// One truth (0.7, 0.3, 0.4, 0.6) on the 2x2 grid with every logit 0: predictions at the cell
// centers, size = anchor, every sigma 0.5, objectness and class 0.5. Cell (1,0) is responsible,
// the other three (IoU <= 0.089 < 0.5) take the no-object term. With cls_normalizer 0.75 (the
// objectness weight here), iou_normalizer 0.75, uc_normalizer 0.5, the residuals
// e = (0.1, -0.1, -ln 0.8, -ln 1.2) and G(r, s) = -ln(N(r; s) + 1e-9) with the Gaussian
// N(r; s) = exp(-r^2 / (2 s^2)) / (sqrt(2 pi) (s + 0.3)) (Choi et al.'s eq. 5, AlexeyAB's constants):
//   objectness 0.75 * 4 ln 2, class ln 2 (weight 1)
//   box (mse): 0.75 (2 - 0.24)/2 * sum [G(e, 0.5) - G(0, 0.5)]
//   sigmas:    0.5 (2 - 0.24)/2 * sum G(e, 0.5)
// and with D = N / (N + 1e-9) the gradients D e / s^2 (means) and D (-e^2 / s^3 + 1 / (s + 0.3)).
TEST(GaussianYolo, LossValueAndGradientByHand) {
    LossRun r = run_loss(gauss_cfg("cls_normalizer=0.75\nuc_normalizer=0.5\n"), std::vector<double>(40, 0.0),
                         {0.7, 0.3, 0.4, 0.6, 0});
    const double e[4] = {0.1, -0.1, -std::log(0.8), -std::log(1.2)};
    const double box_scale = 0.75 * (2 - 0.24), u = 0.5 * (2 - 0.24) / 2;
    const auto N = [](double r) { return std::exp(-r * r / (2 * 0.25)) / (std::sqrt(2 * M_PI) * 0.8); };
    const auto G = [&](double r) { return -std::log(N(r) + 1e-9); };
    double cost = 0.75 * 4 * ln2 + ln2;
    for (double v : e) cost += box_scale / 2 * (G(v) - G(0)) + u * G(v);
    EXPECT_NEAR(r.cost, cost, 1e-12);
    const int mean_entry[4] = {0, 2, 4, 6};
    for (int k = 0; k < 4; ++k) {
        SCOPED_TRACE(k);
        const double dcoord = k < 2 ? 0.25 : 1;  // the logistic's derivative at 0 for x, y
        const double D = N(e[k]) / (N(e[k]) + 1e-9);
        EXPECT_NEAR(r.grad[at(mean_entry[k], 1, 0)], box_scale / 2 * D * e[k] / 0.25 * dcoord, 1e-12);
        // times the logistic's derivative 0.25 at 0
        EXPECT_NEAR(r.grad[at(mean_entry[k] + 1, 1, 0)], u * D * (-e[k] * e[k] / 0.125 + 1 / 0.8) * 0.25, 1e-12);
    }
    EXPECT_NEAR(r.grad[at(8, 1, 0)], 0.75 * (0.5 - 1), 1e-12);
    EXPECT_NEAR(r.grad[at(9, 1, 0)], 0.5 - 1, 1e-12);
    for (auto [i, j] : {std::pair{0, 0}, {0, 1}, {1, 1}}) {
        EXPECT_NEAR(r.grad[at(8, i, j)], 0.75 * 0.5, 1e-12) << i << "," << j;
        for (int e2 : {0, 1, 2, 3, 4, 5, 6, 7, 9}) EXPECT_EQ(r.grad[at(e2, i, j)], 0.0) << "entry " << e2;
    }
}

// A detection's class scores are objectness * class * (1 - the mean of its four sigmas).
TEST(GaussianYolo, DetectionScoresCarryTheCertainty) {
    auto net = net_from<float>(gauss_cfg(""));
    std::vector<float> x(40, 0.f);
    const float sigma_logit[4] = {-1, 0, 1, 2};  // sigmas 0.269, 0.5, 0.731, 0.881
    for (int k = 0; k < 4; ++k) x[at(2 * k + 1, 1, 0)] = sigma_logit[k];
    for (int c = 0; c < 4; ++c) x[at(8, c % 2, c / 2)] = -3;
    x[at(8, 1, 0)] = 3;  // objectness 0.953 at cell (1,0), 0.047 elsewhere
    net->forward(x.data());
    std::vector<Detection> dets;
    net->layers[0]->get_detections(2, 2, 2, 2, 0.1f, false, dets);
    ASSERT_EQ(dets.size(), 1u);
    double mean = 0;
    for (float v : sigma_logit) mean += 1 / (1 + std::exp(-v)) / 4;
    const double obj = 1 / (1 + std::exp(-3.0));
    EXPECT_NEAR(dets[0].objectness, obj, 1e-6);
    EXPECT_NEAR(dets[0].prob[0], obj * 0.5 * (1 - mean), 1e-6);
    EXPECT_NEAR(dets[0].bbox.x, 0.75, 1e-6);
    EXPECT_NEAR(dets[0].bbox.y, 0.25, 1e-6);
    EXPECT_NEAR(dets[0].bbox.w, 0.5, 1e-6);
}

// The gradient of the whole loss against finite differences at random logits (every element),
// for the MSE box term and the IoU kinds, with scale_x_y, label smoothing, several anchors, the
// normalizers and counters_per_class; the stop-gradient constants are held by the check
// (freeze_randomness; without that hold the same check fails).
TEST(GaussianYolo, ExactGradientEveryIouKind) {
    for (const char* kind : {"mse", "giou", "ciou"}) {
        SCOPED_TRACE(kind);
        const std::string cfg = "[net]\nbatch=2\nwidth=4\nheight=4\nchannels=33\n"
                                "[Gaussian_yolo]\nclasses=2\nmask=0,1,2\nnum=4\nanchors=0.6,0.9,1.4,1.7,2.3,3.6,3.1,3.2\n"
                                "iou_thresh=0.213\ncls_normalizer=0.8\nlabel_smooth_eps=0.1\niou_normalizer=0.3\n"
                                "uc_normalizer=0.7\nignore_thresh=0.6\nscale_x_y=1.05\ncounters_per_class=10,30\niou_loss=" +
                                std::string(kind) + "\n";
        set_quiet(true);
        auto net = net_from<double>(cfg);
        std::vector<double> x = make_input(2, 33, 4, 4, 0, 1, -1, 5);
        expect_exact_head_loss_gradient(*net, x);
    }
}

// Keys [Gaussian_yolo] does not have are errors, and so is a head of the wrong width.
TEST(GaussianYolo, UnsupportedKeysAndWrongChannelsAreErrors) {
    EXPECT_NE(error_of([] { net_from<float>(gauss_cfg("new_coords=1\n")); })
                  .find("key 'new_coords': is not supported in [Gaussian_yolo]"),
              std::string::npos);
    EXPECT_NE(error_of([] { net_from<float>(gauss_cfg("yolo_point=left_top\n")); }).find("only center is supported"),
              std::string::npos);
    const std::string narrow = "[net]\nwidth=2\nheight=2\nchannels=6\n[Gaussian_yolo]\nclasses=1\nmask=0\nnum=1\nanchors=1,1\n";
    EXPECT_NE(error_of([&] { net_from<float>(narrow); })
                  .find("expects the previous layer to have 10 channels (1 masks x (1 classes + 9)), it has 6"),
              std::string::npos);
}
