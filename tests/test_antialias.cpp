// AlexeyAB's antialiasing=1|2 ([convolutional], [maxpool], [local_avgpool]): the layer at stride 1,
// then a fixed blur at the cfg's stride. Checked here against the blur written out from its
// definition (Zhang 2019; Darknet's "AA" input_layer weights) and against the same network spelled
// with an explicit depthwise [convolutional] holding those weights. Gradients against finite
// differences: tests/test_backward.cpp; the GPU against the CPU: tests/test_gpu_agreement.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "darknet/network.hpp"
#include "darknet/weights.hpp"
#include "gradcheck.hpp"
#include "test_util.hpp"

using namespace dn;
using dn::test::error_of;
using dn::test::make_input;
using dn::test::net_cfg;
using dn::test::net_from;

namespace {

// Darknet's 3x3 taps (make_convolutional_layer's input_layer weights), row by row, and its 2x2 box.
const double kBinomial[3][3] = {{1 / 16., 2 / 16., 1 / 16.}, {2 / 16., 4 / 16., 2 / 16.}, {1 / 16., 2 / 16., 1 / 16.}};

// The blur of one w x h plane, straight from the definition: k x k taps, padding pad, stride s.
std::vector<double> blur_ref(const std::vector<double>& x, int w, int h, int k, int pad, int s) {
    const int ow = (w + 2 * pad - k) / s + 1, oh = (h + 2 * pad - k) / s + 1;
    std::vector<double> y(static_cast<size_t>(ow) * oh, 0.0);
    for (int i = 0; i < oh; ++i)
        for (int j = 0; j < ow; ++j)
            for (int a = 0; a < k; ++a)
                for (int b = 0; b < k; ++b) {
                    const int r = i * s - pad + a, c = j * s - pad + b;
                    if (r >= 0 && r < h && c >= 0 && c < w) y[i * ow + j] += (k == 3 ? kBinomial[a][b] : 0.25) * x[r * w + c];
                }
    return y;
}

}  // namespace

// [maxpool] size=1 is the identity, so with antialiasing the output is the blur alone: the 3x3
// binomial (padding 1) or the 2x2 box (no padding), at stride 2. A 5x4 input (odd width).
TEST(Antialias, MaxpoolOutputIsTheBlurByHand) {
    std::vector<double> x(20);
    for (int i = 0; i < 20; ++i) x[i] = i * i % 7 - 2.5;
    for (int kind : {1, 2}) {
        auto net = net_from<double>(net_cfg(1, 1, 4, 5) + "[maxpool]\nsize=1\nstride=2\nantialiasing=" + std::to_string(kind) + "\n");
        const int k = kind == 1 ? 3 : 2, pad = kind == 1 ? 1 : 0;
        const auto want = blur_ref(x, 5, 4, k, pad, 2);
        const auto& l = *net->layers[0];
        EXPECT_EQ(l.out_w, (5 + 2 * pad - k) / 2 + 1) << kind;
        EXPECT_EQ(l.out_h, (4 + 2 * pad - k) / 2 + 1) << kind;
        ASSERT_EQ(static_cast<size_t>(l.outputs()), want.size());
        const double* y = net->forward(x.data());
        for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(y[i], want[i], 1e-12) << "antialiasing=" << kind << " at " << i;
    }
    // two values by hand on 0..15 (4x4): the binomial at (0, 0) is (4*0 + 2*1 + 2*4 + 1*5)/16, the
    // box at (1, 1) the mean of 10, 11, 14, 15
    std::vector<double> r(16);
    for (int i = 0; i < 16; ++i) r[i] = i;
    auto n1 = net_from<double>(net_cfg(1, 1, 4, 4) + "[maxpool]\nsize=1\nstride=2\nantialiasing=1\n");
    EXPECT_DOUBLE_EQ(n1->forward(r.data())[0], 15.0 / 16.0);
    auto n2 = net_from<double>(net_cfg(1, 1, 4, 4) + "[maxpool]\nsize=1\nstride=2\nantialiasing=2\n");
    EXPECT_DOUBLE_EQ(n2->forward(r.data())[3], 12.5);
}

// A stride-2 [convolutional] with antialiasing=1 (batchnorm, leaky, training) equals the same
// convolution at stride 1 followed by a depthwise 3x3 stride-2 linear convolution holding Darknet's
// blur weights: output, input gradient and every parameter gradient (random parameters and
// upstream gradient), and the weights file does not hold the blur.
TEST(Antialias, ConvEqualsStrideOneConvThenDepthwiseBlur) {
    const std::string conv = "[convolutional]\nfilters=3\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n";
    auto a = net_from<double>(net_cfg(2, 2, 6, 7) + conv + "stride=2\nantialiasing=1\n");
    auto b = net_from<double>(net_cfg(2, 2, 6, 7) + conv + "stride=1\n" +
                              "[convolutional]\nfilters=3\ngroups=3\nsize=3\nstride=2\npad=1\nactivation=linear\n");
    ASSERT_EQ(a->layers[0]->out_w, b->layers[1]->out_w);
    ASSERT_EQ(a->layers[0]->out_h, b->layers[1]->out_h);
    std::mt19937_64 g(7);
    std::uniform_real_distribution<double> u(-1, 1), pos(0.5, 2.0);
    auto pa = a->layers[0]->params(), pb = b->layers[0]->params();
    ASSERT_EQ(pa.size(), pb.size());
    for (size_t k = 0; k < pa.size(); ++k)
        for (size_t i = 0; i < pa[k].size; ++i)
            pa[k].value[i] = pb[k].value[i] = pa[k].name == "scales" || pa[k].name == "rolling_variance" ? pos(g) : u(g);
    for (auto& p : b->layers[1]->params())
        for (size_t i = 0; i < p.size; ++i) p.value[i] = p.name == "weights" ? kBinomial[(i % 9) / 3][i % 3] : 0.0;
    for (auto* n : {a.get(), b.get()})
        for (auto& l : n->layers) l->params_changed();

    const auto x = make_input(2, 2, 6, 7, 0.0, 1.0, -1, 11);
    const double* ya = a->forward(x.data(), true);
    const double* yb = b->forward(x.data(), true);
    const size_t n = a->layers[0]->output.size();
    for (size_t i = 0; i < n; ++i) ASSERT_NEAR(ya[i], yb[i], 1e-12) << i;
    const auto w = make_input(1, 1, 1, static_cast<int>(n), 0.0, 1.0, -1, 12);
    for (size_t i = 0; i < n; ++i) a->layers.back()->delta[i] = b->layers.back()->delta[i] = w[i];
    std::vector<double> dxa(x.size(), 0.5), dxb(x.size(), 0.5);  // backward adds into a pre-filled delta
    a->backward(dxa.data());
    b->backward(dxb.data());
    for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(dxa[i], dxb[i], 1e-12) << "dL/dx " << i;
    pa = a->layers[0]->params(), pb = b->layers[0]->params();
    for (size_t k = 0; k < pa.size(); ++k) {
        if (!pa[k].grad) continue;
        double mag = 0;
        for (size_t i = 0; i < pa[k].size; ++i) {
            EXPECT_NEAR(pa[k].grad[i], pb[k].grad[i], 1e-12) << pa[k].name << " " << i;
            mag += std::fabs(pa[k].grad[i]);
        }
        EXPECT_GT(mag, 1e-3) << pa[k].name << ": a vanishing gradient would compare nothing";
    }
    auto plain = net_from<double>(net_cfg(2, 2, 6, 7) + conv + "stride=2\n");
    EXPECT_EQ(weights_bytes(*a).size(), weights_bytes(*plain).size());
}

// Shapes: the blur sets the output size (and keeps doing so on a resize, as multi-scale training
// does); bad values name the key.
TEST(Antialias, ShapesAndErrors) {
    auto net = net_from<float>(net_cfg(1, 3, 8, 9) + "[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\nantialiasing=2\n"
                                                   "activation=leaky\n[local_avgpool]\nsize=2\nstride=2\nantialiasing=1\n");
    // conv at stride 1: 9x8; the 2x2 blur at stride 2: (9-2)/2+1 = 4 by (8-2)/2+1 = 4
    EXPECT_EQ(net->layers[0]->out_w, 4);
    EXPECT_EQ(net->layers[0]->out_h, 4);
    // local_avgpool size 2 stride 1 (padding 1): 4x4; the 3x3 blur at stride 2: 2x2
    EXPECT_EQ(net->layers[1]->out_w, 2);
    EXPECT_EQ(net->layers[1]->out_h, 2);
    net->resize(17, 12);
    EXPECT_EQ(net->layers[0]->out_w, 8);
    EXPECT_EQ(net->layers[0]->out_h, 6);
    std::vector<float> x(3 * 17 * 12, 0.25f);
    net->forward(x.data());  // runs at the new size (ASan checks the buffers)
    EXPECT_NE(error_of([&] { net_from<float>(net_cfg(1, 1, 4, 4) + "[maxpool]\nsize=2\nstride=2\nantialiasing=3\n"); })
                  .find("key 'antialiasing': is 3"),
              std::string::npos);
    EXPECT_NE(error_of([&] { net_from<float>(net_cfg(1, 1, 4, 1) + "[maxpool]\nsize=1\nstride=1\nantialiasing=2\n"); })
                  .find("key 'antialiasing': its 2x2 blur needs a map of at least 2x2, not 1x4"),
              std::string::npos);
}
