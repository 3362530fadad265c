// The gradient checker for the tests: dn::gradcheck_layer (src/core/gradcheck.cpp, the same one
// `darknet gradcheck` uses) plus helpers that build a one-layer network from cfg text and feed it a
// chosen input.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "darknet/gradcheck.hpp"
#include "darknet/random.hpp"
#include "test_util.hpp"

namespace dn::test {

/// "[net]" header for an input of batch x c x h x w.
inline std::string net_cfg(int batch, int c, int h, int w) {
    return "[net]\nbatch=" + std::to_string(batch) + "\nwidth=" + std::to_string(w) + "\nheight=" + std::to_string(h) +
           "\nchannels=" + std::to_string(c) + "\n";
}

/// N(mean, std) values; channel `const_channel` (if >= 0) of every image set to 3.
inline std::vector<double> make_input(int batch, int c, int h, int w, double mean, double stddev, int const_channel,
                                      uint64_t seed) {
    std::mt19937_64 g(seed);
    std::normal_distribution<double> d(mean, stddev);
    std::vector<double> x(static_cast<size_t>(batch) * c * h * w);
    for (auto& v : x) v = d(g);
    if (const_channel >= 0)
        for (int b = 0; b < batch; ++b)
            for (int k = 0; k < h * w; ++k) x[(static_cast<size_t>(b) * c + const_channel) * h * w + k] = 3.0;
    return x;
}

struct Checked {
    LayerCheck f64, f32;
    double accumulation = 0;
};

/// Checks layer `layer` of the network in `cfg` fed with input x (float64 and float32), in training
/// or eval mode, every element of every tensor (up to max_checks).
inline Checked check_cfg(const std::string& cfg, const std::vector<double>& x_in, bool train, int layer = 0,
                         size_t max_checks = 100000) {
    GradcheckOptions opt;
    opt.train = train;
    opt.max_checks = max_checks;
    set_seed(99);  // same initialization and dropout streams for both networks
    auto dnet = net_from<double>(cfg);
    set_seed(99);
    auto fnet = net_from<float>(cfg);
    randomize_params(*dnet, 5);
    copy_params(*dnet, *fnet);
    copy_params(*fnet, *dnet);  // both hold the same float-representable values
    std::vector<float> xf(x_in.begin(), x_in.end());
    std::vector<double> x(xf.begin(), xf.end());
    dnet->forward(x.data(), train);
    fnet->forward(xf.data(), train);
    Checked c;
    c.f64 = gradcheck_layer(*dnet, layer, opt);
    GradcheckOptions o32 = opt;
    o32.tol = 1e-2;
    c.f32 = gradcheck_layer_f32(*dnet, *fnet, layer, o32);
    c.accumulation = check_accumulation(*dnet, layer, opt);
    return c;
}

/// gtest failure text listing each tensor's worst element.
inline std::string describe(const LayerCheck& r) {
    std::string s = "layer " + std::to_string(r.index) + " (" + r.type + "):";
    for (const auto& t : r.tensors)
        s += strfmt("\n  %-16s max rel err %.3e at [%ld] analytic %.10g numeric %.10g, %zu/%zu checked, %zu kinks",
                    t.name.c_str(), t.max_err, t.worst, t.analytic, t.numeric, t.checked, t.size, t.kinks);
    return s;
}

/// Every element of every tensor checked, no kinks skipped (the normalization layers are smooth).
inline void expect_complete(const LayerCheck& r) {
    for (const auto& t : r.tensors) {
        EXPECT_EQ(t.checked, t.size) << t.name << "\n" << describe(r);
        EXPECT_EQ(t.kinks, 0u) << t.name << "\n" << describe(r);
    }
}

/// One training forward and backward of a loss-head network built from `cfg` (float64) on input
/// x, with the first truth boxes `truth_boxes` (x, y, w, h, class each; the rest zero) and
/// `seen` images already trained on: the loss and dL/d(input).
struct LossRun {
    double cost;
    std::vector<double> grad;  // dL/d(input)
};
inline LossRun run_loss(const std::string& cfg, const std::vector<double>& x, const std::vector<double>& truth_boxes,
                        uint64_t seen = 0) {
    set_quiet(true);
    auto net = net_from<double>(cfg);
    net->header.seen = seen;
    std::vector<double> truth(net->layers.back()->truth_size(), 0.0);
    std::copy(truth_boxes.begin(), truth_boxes.end(), truth.begin());
    net->forward(x.data(), true, truth.data());
    LossRun r;
    r.cost = net->total_cost();
    r.grad.assign(x.size(), 0.0);
    net->backward(r.grad.data());
    return r;
}

/// A detection head's loss gradient (the head is layer 0 of `net`, batch 2): labels of three
/// boxes in image 0 and two of them in image 1, a training forward with input x (the loss
/// positive), then every input element's analytic gradient against finite differences (1e-6),
/// at most 4 elements on kinks.
inline void expect_exact_head_loss_gradient(Network<double>& net, const std::vector<double>& x) {
    const size_t per = net.layers[0]->truth_size();
    std::vector<double> truth(2 * per, 0.0);
    const std::vector<double> boxes = {0.3, 0.4, 0.2, 0.5, 1, 0.8, 0.7, 0.45, 0.3, 0, 0.1, 0.9, 0.15, 0.12, 1};
    std::copy(boxes.begin(), boxes.end(), truth.begin());
    std::copy(boxes.begin(), boxes.begin() + 10, truth.begin() + per);
    net.forward(x.data(), true, truth.data());
    EXPECT_GT(net.total_cost(), 0.0);
    GradcheckOptions opt;
    opt.train = true;
    opt.max_checks = 100000;
    LayerCheck r = gradcheck_layer(net, 0, opt);
    EXPECT_TRUE(r.loss_mode);
    EXPECT_LE(r.max_err, 1e-6) << describe(r);
    ASSERT_EQ(r.tensors.size(), 1u);
    EXPECT_EQ(r.tensors[0].checked + r.tensors[0].kinks, x.size());
    EXPECT_LE(r.tensors[0].kinks, 4u) << describe(r);
}

}  // namespace dn::test
