// pjreddie's [l2norm] and [logistic] layers against values computed here from their definitions.
// Gradients against finite differences: tests/test_backward.cpp; the GPU against the CPU:
// tests/test_gpu_agreement.cpp.
#include <gtest/gtest.h>

#include <cmath>

#include "darknet/network.hpp"
#include "gradcheck.hpp"
#include "test_util.hpp"

using namespace dn;
using dn::test::net_cfg;
using dn::test::net_from;

// Each position's channel vector divided by its length: (3, 4) -> (0.6, 0.8); a zero vector stays
// zero (Darknet's 0/0 is NaN) and back-propagates finite values.
TEST(L2norm, UnitVectorPerPositionByHand) {
    auto net = net_from<double>(net_cfg(1, 2, 1, 3) + "[l2norm]\n");
    // channel 0 then channel 1 of three positions: (3, 4), (0, 0), (-1, 1)
    const std::vector<double> x = {3, 0, -1, 4, 0, 1};
    const double* y = net->forward(x.data(), true);
    const double h = 1 / std::sqrt(2.0);
    const std::vector<double> want = {0.6, 0, -h, 0.8, 0, h};
    for (int i = 0; i < 6; ++i) EXPECT_NEAR(y[i], want[i], 1e-15) << i;
    // dL/dx for dL/dy = g at (3, 4): (g - y (y.g)) / 5; with g = (1, 0): (1 - 0.36, -0.48) / 5
    auto& l = *net->layers[0];
    for (auto& d : l.delta) d = 0;
    l.delta[0] = 1;
    l.delta[1] = 1;  // the zero vector's channel 0
    std::vector<double> dx(6, 0.0);
    net->backward(dx.data());
    EXPECT_NEAR(dx[0], 0.64 / 5, 1e-15);
    EXPECT_NEAR(dx[3], -0.48 / 5, 1e-15);
    EXPECT_TRUE(std::isfinite(dx[1]));
    EXPECT_EQ(dx[4], 0.0);
}

// The loss is the binary cross-entropy of logistic(x) against the labels, finite for logits far
// past where logistic(x) rounds to 1; the layer's output is logistic(x).
TEST(Logistic, BinaryCrossEntropyByHand) {
    auto net = net_from<double>(net_cfg(1, 3, 1, 1) + "[logistic]\n");
    const std::vector<double> x = {0.5, -2, 40}, t = {1, 0.25, 0};
    const double* y = net->forward(x.data(), true, t.data());
    double want = 0;
    for (int i = 0; i < 3; ++i) {
        const double p = 1 / (1 + std::exp(-x[i]));
        EXPECT_NEAR(y[i], p, 1e-15) << i;
        // -t log p - (1-t) log(1-p), with log(1 - p) = -x - log(1 + e^-x) for the saturated logit
        want += i == 2 ? 40 + std::log1p(std::exp(-40.0)) : -t[i] * std::log(p) - (1 - t[i]) * std::log(1 - p);
        EXPECT_NEAR(net->layers[0]->delta[i], p - t[i], 1e-15) << i;
    }
    EXPECT_NEAR(net->layers[0]->cost, want, 1e-12);
    EXPECT_TRUE(std::isfinite(net->layers[0]->cost));
}
