// [deconvolutional] (pjreddie's transposed convolution): the forward pass against the definition
// written out here as a scatter loop, its output size, and its weights layout. Gradients against
// finite differences: tests/test_backward.cpp; the GPU against the CPU: tests/test_gpu_agreement.cpp.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "darknet/network.hpp"
#include "darknet/weights.hpp"
#include "gradcheck.hpp"
#include "test_util.hpp"

using namespace dn;
using dn::test::make_input;
using dn::test::net_cfg;
using dn::test::net_from;

namespace {

// z[b][f][y][x] = bias[f] + sum_{c,i,j,ki,kj} W[c][f][ki][kj] x[b][c][i][j] at y = i s - p + ki,
// x = j s - p + kj (inside the output): each input value scatters its filter over the output.
std::vector<double> deconv_ref(const std::vector<double>& x, const std::vector<double>& W, const std::vector<double>& bias,
                               int N, int C, int H, int Wd, int F, int k, int s, int p, int OH, int OW) {
    std::vector<double> z(static_cast<size_t>(N) * F * OH * OW, 0.0);
    for (int b = 0; b < N; ++b)
        for (int f = 0; f < F; ++f)
            for (int q = 0; q < OH * OW; ++q) z[(static_cast<size_t>(b) * F + f) * OH * OW + q] = bias[f];
    for (int b = 0; b < N; ++b)
        for (int c = 0; c < C; ++c)
            for (int i = 0; i < H; ++i)
                for (int j = 0; j < Wd; ++j) {
                    const double v = x[((static_cast<size_t>(b) * C + c) * H + i) * Wd + j];
                    for (int f = 0; f < F; ++f)
                        for (int ki = 0; ki < k; ++ki)
                            for (int kj = 0; kj < k; ++kj) {
                                const int y = i * s - p + ki, xx = j * s - p + kj;
                                if (y < 0 || y >= OH || xx < 0 || xx >= OW) continue;
                                z[((static_cast<size_t>(b) * F + f) * OH + y) * OW + xx] +=
                                    W[((static_cast<size_t>(c) * F + f) * k + ki) * k + kj] * v;
                            }
                }
    return z;
}

}  // namespace

// Shapes from pjreddie's (in - 1) * stride + size - 2 * padding, and the output against the scatter
// loop: kernel 4 stride 2 padding 1 (the usual 2x upsampling), kernel 3 stride 3 without padding
// (windows that do not overlap), kernel 3 stride 1 pad=1 (the size kept).
TEST(Deconvolutional, ForwardIsTheScatterOfEachInputsFilter) {
    struct Case {
        int k, s, p;
        std::string keys;
    };
    for (const Case& t : {Case{4, 2, 1, "size=4\nstride=2\npadding=1\n"}, Case{3, 3, 0, "size=3\nstride=3\n"},
                          Case{3, 1, 1, "size=3\nstride=1\npad=1\n"}}) {
        const int N = 2, C = 3, H = 4, Wd = 5, F = 2;
        auto net = net_from<double>(net_cfg(N, C, H, Wd) + "[deconvolutional]\nfilters=2\nactivation=linear\n" + t.keys);
        auto& l = *net->layers[0];
        const int OH = (H - 1) * t.s + t.k - 2 * t.p, OW = (Wd - 1) * t.s + t.k - 2 * t.p;
        ASSERT_EQ(l.out_h, OH) << t.keys;
        ASSERT_EQ(l.out_w, OW) << t.keys;
        ASSERT_EQ(l.out_c, F);
        std::mt19937_64 g(3);
        std::uniform_real_distribution<double> u(-1, 1);
        std::vector<double> W, bias;
        for (auto& p : l.params()) {
            for (size_t i = 0; i < p.size; ++i) p.value[i] = u(g);
            (p.name == "weights" ? W : bias).assign(p.value, p.value + p.size);
        }
        ASSERT_EQ(W.size(), static_cast<size_t>(C) * F * t.k * t.k);
        const auto x = make_input(N, C, H, Wd, 0.0, 1.0, -1, 5);
        const auto want = deconv_ref(x, W, bias, N, C, H, Wd, F, t.k, t.s, t.p, OH, OW);
        const double* y = net->forward(x.data());
        for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(y[i], want[i], 1e-12) << t.keys << " at " << i;
    }
}

// The weights file holds, as pjreddie's (load_convolutional_weights serves both): biases, then the
// batchnorm scales, rolling mean and variance, then the weights [C][filters][size][size]; it loads
// back identically.
TEST(Deconvolutional, WeightsLayoutIsDarknets) {
    const std::string cfg = net_cfg(1, 2, 3, 3) + "[deconvolutional]\nfilters=3\nsize=2\nstride=2\nbatch_normalize=1\n"
                                                  "activation=leaky\n";
    auto a = net_from<float>(cfg);
    float v = 1;
    for (auto& p : a->layers[0]->params())
        for (size_t i = 0; i < p.size; ++i) {
            const float base = p.name == "biases" ? 100 : p.name == "scales" ? 200 : p.name == "rolling_mean" ? 300
                               : p.name == "rolling_variance"                                    ? 400
                                                                                                 : 0;
            p.value[i] = base + v++;
        }
    const std::vector<char> bytes = weights_bytes(*a);
    ASSERT_GE(bytes.size(), 20 + (3 + 3 + 3 + 3 + 2 * 3 * 2 * 2) * sizeof(float));
    std::vector<float> f((bytes.size() - 20) / sizeof(float));
    std::memcpy(f.data(), bytes.data() + 20, f.size() * sizeof(float));
    // each array's values lie in its own hundred (the weights below 100)
    auto hundred = [&](size_t i) { return static_cast<int>(f[i] / 100); };
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(hundred(i), 1) << "biases first, at " << i;
        EXPECT_EQ(hundred(3 + i), 2) << "then scales, at " << i;
        EXPECT_EQ(hundred(6 + i), 3) << "then the rolling mean, at " << i;
        EXPECT_EQ(hundred(9 + i), 4) << "then the rolling variance, at " << i;
    }
    EXPECT_EQ(f[12], 13.f);  // then the weights, in their order
    EXPECT_EQ(f[12 + 2 * 3 * 2 * 2 - 1], v - 1);  // the last value written
    auto b = net_from<float>(cfg);
    const std::string path = dn::test::make_temp_dir() + "/d.weights";
    save_weights(*a, path);
    load_weights(*b, path);
    EXPECT_TRUE(weights_bytes(*b) == bytes);
}

// A resize (multi-scale training) recomputes the output size; one that leaves no output is an
// error naming the layer, not a negative size.
TEST(Deconvolutional, ResizeRecomputesTheSizeOrSaysWhy) {
    auto net = net_from<float>(net_cfg(1, 2, 6, 6) + "[deconvolutional]\nfilters=2\nsize=4\nstride=2\npadding=1\n");
    net->resize(12, 10);
    EXPECT_EQ(net->layers[0]->out_w, 11 * 2 + 4 - 2);
    EXPECT_EQ(net->layers[0]->out_h, 9 * 2 + 4 - 2);
    std::vector<float> x(2 * 12 * 10, 0.5f);
    net->forward(x.data());
    auto small = net_from<float>(net_cfg(1, 2, 6, 6) + "[deconvolutional]\nfilters=2\nsize=1\npadding=2\n");
    EXPECT_NE(dn::test::error_of([&] { small->resize(1, 1); }).find("a 1x1 input gives a -3x-3 output"), std::string::npos);
}
