// YOLOv1's layers: [local] (a convolution with its own filters at every output position) against
// naive loops written here from the definition, and [detection] (the head): its loss and
// detections by hand on a 2x2 grid and the loss's exact gradient against finite differences.
// Their backward passes are also checked with the other layers' (tests/test_backward.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>

#include "darknet/weights.hpp"
#include "gradcheck.hpp"
#include "layers/local_layer.hpp"

using namespace dn;
using namespace dn::test;

namespace {

std::string header(int w, int h, int c, int batch) {
    return "[net]\nbatch=" + std::to_string(batch) + "\nwidth=" + std::to_string(w) + "\nheight=" + std::to_string(h) +
           "\nchannels=" + std::to_string(c) + "\n";
}

}  // namespace

// z[f][oy][ox] = bias[f][oy][ox] + sum W[oy*ow+ox][f][c][ky][kx] x[c][oy*s - p + ky][ox*s - p + kx],
// y = leaky(z), for a padded stride-1 case (Darknet's yolov1 shape: size 3, pad=1) and a stride-2
// unpadded one.
TEST(Local, ForwardMatchesNaiveLoops) {
    struct Case {
        int w, h, c, filters, size, stride, pad;
    };
    for (const Case t : {Case{5, 4, 3, 4, 3, 1, 1}, Case{7, 6, 2, 3, 3, 2, 0}, Case{4, 4, 2, 2, 1, 1, 0}}) {
        SCOPED_TRACE(t.size * 100 + t.stride * 10 + t.pad);
        auto net = net_from<double>(header(t.w, t.h, t.c, 2) + "[local]\nfilters=" + std::to_string(t.filters) +
                                    "\nsize=" + std::to_string(t.size) + "\nstride=" + std::to_string(t.stride) +
                                    "\npad=" + std::to_string(t.pad) + "\nactivation=leaky\n");
        auto& l = dynamic_cast<LocalLayer<double>&>(*net->layers[0]);
        const int p = t.pad ? t.size / 2 : 0;
        const int oh = (t.h + 2 * p - t.size) / t.stride + 1, ow = (t.w + 2 * p - t.size) / t.stride + 1;
        ASSERT_EQ(l.out_h, oh);
        ASSERT_EQ(l.out_w, ow);
        ASSERT_EQ(l.weights.size(), static_cast<size_t>(oh * ow * t.filters * t.c * t.size * t.size));
        ASSERT_EQ(l.biases.size(), static_cast<size_t>(t.filters * oh * ow));
        std::mt19937_64 g(3);
        std::normal_distribution<double> nd;
        for (double& v : l.weights) v = nd(g);
        for (double& v : l.biases) v = nd(g);
        std::vector<double> x(static_cast<size_t>(2) * t.c * t.h * t.w);
        for (double& v : x) v = nd(g);
        const double* y = net->forward(x.data(), false);
        double max_err = 0;
        for (int b = 0; b < 2; ++b)
            for (int f = 0; f < t.filters; ++f)
                for (int oy = 0; oy < oh; ++oy)
                    for (int ox = 0; ox < ow; ++ox) {
                        const int loc = oy * ow + ox;
                        double z = l.biases[(f * oh + oy) * ow + ox];
                        for (int c = 0; c < t.c; ++c)
                            for (int ky = 0; ky < t.size; ++ky)
                                for (int kx = 0; kx < t.size; ++kx) {
                                    const int iy = oy * t.stride - p + ky, ix = ox * t.stride - p + kx;
                                    if (iy < 0 || ix < 0 || iy >= t.h || ix >= t.w) continue;
                                    z += l.weights[(((static_cast<size_t>(loc) * t.filters + f) * t.c + c) * t.size + ky) * t.size + kx] *
                                         x[((static_cast<size_t>(b) * t.c + c) * t.h + iy) * t.w + ix];
                                }
                        const double want = z > 0 ? z : 0.1 * z;
                        max_err = std::max(max_err, std::fabs(y[((static_cast<size_t>(b) * t.filters + f) * oh + oy) * ow + ox] - want));
                    }
        EXPECT_LT(max_err, 1e-12);
    }
}

// The weights file holds [local]'s biases (one per output value), then its weights (Darknet's order).
TEST(Local, WeightsRoundTrip) {
    const std::string cfg = header(4, 3, 2, 1) + "[local]\nfilters=2\nsize=3\npad=1\nactivation=linear\n";
    auto a = net_from<float>(cfg, 1);
    auto& la = dynamic_cast<LocalLayer<float>&>(*a->layers[0]);
    for (size_t i = 0; i < la.biases.size(); ++i) la.biases[i] = 0.5f + i;
    const std::vector<char> bytes = weights_bytes(*a);
    ASSERT_EQ(bytes.size(), 20 + 4 * (la.biases.size() + la.weights.size()));
    float first;
    std::memcpy(&first, bytes.data() + 20, 4);
    EXPECT_EQ(first, 0.5f);
    auto b = net_from<float>(cfg, 1);
    load_weights_bytes(*b, bytes);
    EXPECT_TRUE(weights_bytes(*b) == bytes);
}

namespace {

// A 2x2 grid, 2 boxes per cell, 2 classes: 4 * (2 * 5 + 2) = 48 inputs, the head's outputs are its
// inputs (softmax=0). Offsets: class scores [cell][2], objectness 8 + [cell][2], boxes 16 + [cell][2][4].
std::string grid_cfg(const std::string& extra) {
    return "[net]\nbatch=1\nwidth=1\nheight=1\nchannels=48\n[detection]\nclasses=2\ncoords=4\nnum=2\nside=2\n"
           "object_scale=1\nnoobject_scale=0.5\nclass_scale=1\ncoord_scale=5\n" + extra;
}
// class scores 0.5, objectness 0.3; cell 0's boxes at its center, 0.2 and 0.6 wide; the others 0.1
std::vector<double> grid_outputs() {
    std::vector<double> x(48, 0.5);
    for (int i = 8; i < 16; ++i) x[i] = 0.3;
    for (int i = 16; i < 48; ++i) x[i] = 0.1;
    const double b0[4] = {0.5, 0.5, 0.2, 0.2}, b1[4] = {0.5, 0.5, 0.6, 0.6};
    for (int k = 0; k < 4; ++k) x[16 + k] = b0[k], x[20 + k] = b1[k];
    return x;
}

}  // namespace

// One truth (0.25, 0.25, 0.5, 0.5) of class 1 falls in cell 0 (offsets 0.5, 0.5). Its boxes
// overlap it by 0.04/0.25 = 0.16 (box 0) and 0.25/0.36 (box 1): box 1 is responsible. By hand:
//   no-object: the 7 other boxes, 0.5/2 * 0.3^2 each
//   class:     1/2 ((0.5 - 0)^2 + (0.5 - 1)^2)
//   object:    1/2 (1 - 0.3)^2, or with rescore=1 1/2 (0.25/0.36 - 0.3)^2
//   box:       5/2 ((0.6 - 0.5)^2 + (0.6 - 0.5)^2)
// and the gradients scale * (output - target).
TEST(DetectionLayer, LossAndGradientByHand) {
    for (bool rescore : {false, true}) {
        SCOPED_TRACE(rescore);
        const double target = rescore ? 0.25 / 0.36 : 1.0;
        LossRun r = run_loss(grid_cfg(rescore ? "rescore=1\n" : ""), grid_outputs(), {0.25, 0.25, 0.5, 0.5, 1});
        const double cost = 7 * 0.25 * 0.09 + 0.5 * 0.5 + 0.5 * (target - 0.3) * (target - 0.3) + 2.5 * 0.02;
        EXPECT_NEAR(r.cost, cost, 1e-12);
        EXPECT_NEAR(r.grad[0], 0.5, 1e-12);
        EXPECT_NEAR(r.grad[1], -0.5, 1e-12);
        for (int i = 2; i < 8; ++i) EXPECT_EQ(r.grad[i], 0.0) << i;  // no object in cells 1-3
        EXPECT_NEAR(r.grad[8], 0.5 * 0.3, 1e-12);  // cell 0, box 0: no-object
        EXPECT_NEAR(r.grad[9], 0.3 - target, 1e-12);
        for (int i = 10; i < 16; ++i) EXPECT_NEAR(r.grad[i], 0.5 * 0.3, 1e-12) << i;
        for (int k = 0; k < 4; ++k) EXPECT_EQ(r.grad[16 + k], 0.0);
        EXPECT_NEAR(r.grad[20], 0.0, 1e-12);
        EXPECT_NEAR(r.grad[21], 0.0, 1e-12);
        EXPECT_NEAR(r.grad[22], 5 * 0.1, 1e-12);
        EXPECT_NEAR(r.grad[23], 5 * 0.1, 1e-12);
        for (int i = 24; i < 48; ++i) EXPECT_EQ(r.grad[i], 0.0) << i;
    }
}

// Detections: every cell's boxes, at ((x + col)/side, (y + row)/side, w, h), objectness o and class
// probabilities o * p above the threshold.
TEST(DetectionLayer, DetectionsByHand) {
    auto net = net_from<float>(grid_cfg(""));
    std::vector<float> x(48);
    const std::vector<double> o = grid_outputs();
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(o[i]);
    x[1] = 0.9f;   // cell 0, class 1
    x[9] = 0.8f;   // cell 0, box 1's objectness
    net->forward(x.data());
    std::vector<Detection> dets;
    net->layers[0]->get_detections(2, 2, 1, 1, 0.2f, false, dets);
    ASSERT_EQ(dets.size(), 8u);
    EXPECT_NEAR(dets[1].bbox.x, 0.25, 1e-6);
    EXPECT_NEAR(dets[1].bbox.y, 0.25, 1e-6);
    EXPECT_NEAR(dets[1].bbox.w, 0.6, 1e-6);
    EXPECT_NEAR(dets[1].objectness, 0.8, 1e-6);
    EXPECT_NEAR(dets[1].prob[0], 0.4, 1e-6);
    EXPECT_NEAR(dets[1].prob[1], 0.72, 1e-6);
    EXPECT_NEAR(dets[0].prob[1], 0.27, 1e-6);  // 0.3 * 0.9 = 0.27 > 0.2; 0.3 * 0.5 = 0.15 is not
    EXPECT_EQ(dets[0].prob[0], 0.f);
    EXPECT_NEAR(dets[7].bbox.x, (0.1 + 1) / 2, 1e-6);  // cell 3 (row 1, col 1), box 1
    EXPECT_NEAR(dets[7].bbox.y, (0.1 + 1) / 2, 1e-6);
}

// The loss's gradient against finite differences at random inputs (every element), raw outputs and
// with softmax=1 (the softmax's and the logistic's Jacobians), sqrt=1 and rescore=1 (its IoU
// targets held by the check, freeze_randomness).
TEST(DetectionLayer, ExactGradient) {
    for (const char* extra : {"", "softmax=1\nsqrt=1\nrescore=1\n", "sqrt=1\nforced=1\n"}) {
        SCOPED_TRACE(extra);
        const std::string cfg = "[net]\nbatch=2\nwidth=1\nheight=1\nchannels=117\n[detection]\nclasses=3\ncoords=4\nnum=2\n"
                                "side=3\nobject_scale=1.5\nnoobject_scale=0.5\nclass_scale=1.25\ncoord_scale=5\n" +
                                std::string(extra);
        set_quiet(true);
        auto net = net_from<double>(cfg);
        std::vector<double> x = make_input(2, 117, 1, 1, 0.3, 0.5, -1, 11);
        if (std::string(extra).find("sqrt") != std::string::npos && std::string(extra).find("softmax") == std::string::npos)
            for (double& v : x) v = std::fabs(v) + 0.05;  // sqrt=1 outputs are square roots of sizes
        expect_exact_head_loss_gradient(*net, x);
    }
}

// A head of the wrong size, or other coords, is an error naming the numbers.
TEST(DetectionLayer, WrongInputsAreErrors) {
    EXPECT_NE(error_of([] { net_from<float>("[net]\nwidth=1\nheight=1\nchannels=40\n[detection]\nclasses=2\ncoords=4\nnum=2\nside=2\n"); })
                  .find("expects 48 inputs (side=2: 2 x 2 cells x (2 boxes x 5 + 2 classes)), the previous layer has 40"),
              std::string::npos);
    EXPECT_NE(error_of([] { net_from<float>("[net]\nwidth=1\nheight=1\nchannels=48\n[detection]\nclasses=2\ncoords=2\nnum=2\nside=2\n"); })
                  .find("key 'coords': 2: only 4"),
              std::string::npos);
}

// `darknet yolo test` (pjreddie's YOLOv1 verb) is `detector test` on cfg/voc.data: VOC's 20 names,
// and his default threshold 0.2 unless -thresh is given. Random weights, so with -thresh 1e-4 every
// cell reports a class, and by default only scores of at least 20% print.
TEST(YoloVerb, TestIsDetectorTestWithVocNames) {
    DN_REQUIRE_SHARED();
    const std::string dir = make_temp_dir(), cfg = dir + "/v1.cfg", weights = dir + "/v1.weights";
    const std::string text = header(32, 32, 3, 1) + "[connected]\noutput=100\nactivation=linear\n[detection]\nclasses=20\n"
                                                    "coords=4\nrescore=1\nside=2\nnum=1\nsqrt=1\n";
    write_text(cfg, text);
    save_weights(*net_from<float>(text), weights);
    const std::vector<std::string> voc = {"aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car",
                                          "cat", "chair", "cow", "diningtable", "dog", "horse", "motorbike",
                                          "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor"};
    auto scores = [&](const std::string& flags, int* named) {
        int rc = 0;
        const std::string out = run("cd " + repo_root() + " && " + darknet_bin() + " yolo test " + cfg + " " + weights +
                                        " " + shared_dir() + "/images/dog.jpg -dont_show" + flags + " && rm -f predictions.jpg",
                                    &rc);
        EXPECT_EQ(rc, 0) << out;
        std::vector<int> s;
        *named = 0;
        std::istringstream in(out);
        for (std::string line; std::getline(in, line);) {
            const size_t colon = line.find(": ");
            if (colon == std::string::npos || line.back() != '%') continue;
            const std::string name = line.substr(0, colon);
            if (std::find(voc.begin(), voc.end(), name) == voc.end()) continue;
            ++*named;
            s.push_back(std::atoi(line.c_str() + colon + 2));
        }
        return s;
    };
    int named = 0;
    scores(" -thresh 0.0001", &named);
    EXPECT_GE(named, 4) << "each of the 4 cells reports a VOC class";
    for (int s : scores("", &named)) EXPECT_GE(s, 20);
}
