// Forward passes of the layers against naive loop references written here from the definitions,
// and hand-computed small cases.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "darknet/network.hpp"
#include "test_util.hpp"

using namespace dn;
using dn::test::error_of;
using dn::test::net_from;

namespace {

std::string net_header(int w, int h, int c, int batch = 1) {
    return "[net]\nbatch=" + std::to_string(batch) + "\nwidth=" + std::to_string(w) + "\nheight=" + std::to_string(h) +
           "\nchannels=" + std::to_string(c) + "\n";
}

std::vector<double> randn(size_t n, uint64_t seed, double scale = 1.0) {
    std::mt19937_64 g(seed);
    std::normal_distribution<double> d(0, scale);
    std::vector<double> v(n);
    for (auto& x : v) x = d(g);
    return v;
}

void randomize(Network<double>& net, uint64_t seed) {
    std::mt19937_64 g(seed);
    std::uniform_real_distribution<double> u(-1, 1), pos(0.5, 2.0);
    for (auto& l : net.layers)
        for (auto& p : l->params())
            for (size_t i = 0; i < p.size; ++i) p.value[i] = p.name == "rolling_variance" || p.name == "scales" ? pos(g) : u(g);
    for (auto& l : net.layers) l->params_changed();
}

double leaky(double x) { return x > 0 ? x : 0.1 * x; }

struct ConvCase {
    int w, h, c, filters, size, stride, pad, groups, dilation, batch;
    bool bn;
};

// out[b][f][oy][ox] = act(bn(sum_{k,ky,kx} W[f][k][ky][kx] * in[b][g*C/G + k][oy*s - p + ky*d][ox*s - p + kx*d]))
void check_conv(const ConvCase& t) {
    std::string cfg = net_header(t.w, t.h, t.c, t.batch) + "[convolutional]\nfilters=" + std::to_string(t.filters) +
                      "\nsize=" + std::to_string(t.size) + "\nstride=" + std::to_string(t.stride) +
                      "\npadding=" + std::to_string(t.pad) + "\ngroups=" + std::to_string(t.groups) +
                      "\ndilation=" + std::to_string(t.dilation) + "\nbatch_normalize=" + (t.bn ? "1" : "0") +
                      "\nactivation=leaky\n";
    auto net = net_from<double>(cfg);
    randomize(*net, 7);
    auto& l = *net->layers[0];
    std::vector<double> x = randn(static_cast<size_t>(t.batch) * t.w * t.h * t.c, 11);
    net->forward(x.data(), false);
    auto P = l.params();
    auto get = [&](const char* n) -> const double* {
        for (auto& p : P)
            if (p.name == n) return p.value;
        return nullptr;
    };
    const double *W = get("weights"), *B = get("biases"), *S = get("scales"), *M = get("rolling_mean"), *V = get("rolling_variance");
    const int cg = t.c / t.groups, fg = t.filters / t.groups;
    const int oh = (t.h + 2 * t.pad - t.dilation * (t.size - 1) - 1) / t.stride + 1;
    const int ow = (t.w + 2 * t.pad - t.dilation * (t.size - 1) - 1) / t.stride + 1;
    ASSERT_EQ(l.out_h, oh);
    ASSERT_EQ(l.out_w, ow);
    double max_err = 0;
    for (int b = 0; b < t.batch; ++b)
        for (int f = 0; f < t.filters; ++f)
            for (int oy = 0; oy < oh; ++oy)
                for (int ox = 0; ox < ow; ++ox) {
                    double s = 0;
                    int g = f / fg;
                    for (int k = 0; k < cg; ++k)
                        for (int ky = 0; ky < t.size; ++ky)
                            for (int kx = 0; kx < t.size; ++kx) {
                                int iy = oy * t.stride - t.pad + ky * t.dilation, ix = ox * t.stride - t.pad + kx * t.dilation;
                                if (iy < 0 || ix < 0 || iy >= t.h || ix >= t.w) continue;
                                s += W[((f * cg + k) * t.size + ky) * t.size + kx] *
                                     x[((static_cast<size_t>(b) * t.c + g * cg + k) * t.h + iy) * t.w + ix];
                            }
                    if (t.bn) s = S[f] * (s - M[f]) / std::sqrt(V[f] + 1e-5);
                    s = leaky(s + B[f]);
                    double got = l.output[((static_cast<size_t>(b) * t.filters + f) * oh + oy) * ow + ox];
                    max_err = std::max(max_err, std::fabs(got - s));
                }
    EXPECT_LT(max_err, 1e-10);
}

}  // namespace

TEST(ConvForward, MatchesNaiveLoops) {
    // w h c filters size stride pad groups dilation batch bn
    check_conv({7, 6, 3, 4, 3, 1, 1, 1, 1, 1, false});
    check_conv({8, 8, 3, 5, 3, 2, 1, 1, 1, 2, true});
    check_conv({5, 5, 6, 4, 1, 1, 0, 1, 1, 2, true});   // 1x1 direct GEMM
    check_conv({6, 7, 4, 6, 3, 1, 1, 2, 1, 1, false});  // groups
    check_conv({9, 9, 5, 5, 3, 2, 1, 5, 1, 2, true});   // depthwise, stride 2
    check_conv({8, 8, 4, 4, 5, 1, 2, 4, 1, 1, true});   // depthwise 5x5
    check_conv({9, 9, 2, 3, 3, 1, 2, 1, 2, 1, false});  // dilation 2
    check_conv({1, 1, 3, 2, 1, 1, 0, 1, 1, 3, true});   // H=W=1
    check_conv({6, 5, 3, 2, 3, 3, 0, 1, 1, 1, false});  // stride 3, no padding
    check_conv({6, 5, 3, 2, 3, 2147483647, 1, 1, 1, 2, false});  // stride past the input: one output
}

TEST(ConvForward, FoldedBatchnormEqualsExactEval) {
    auto net = net_from<float>(net_header(10, 10, 3) + "[convolutional]\nfilters=8\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n"
                                                       "[convolutional]\nfilters=8\nsize=3\npad=1\ngroups=8\nbatch_normalize=1\nactivation=relu6\n");
    std::mt19937 g(3);
    std::uniform_real_distribution<float> u(0.2f, 1.5f);
    for (auto& l : net->layers)
        for (auto& p : l->params())
            for (size_t i = 0; i < p.size; ++i) p.value[i] = u(g);
    std::vector<float> x(300);
    for (auto& v : x) v = u(g);
    std::vector<float> exact(net->forward(x.data()), net->forward(x.data()) + 800);
    net->set_inference_fusion(true);
    const float* fused = net->forward(x.data());
    for (int i = 0; i < 800; ++i) EXPECT_NEAR(fused[i], exact[i], 1e-4f * (1 + std::fabs(exact[i])));
}

TEST(MaxpoolForward, HandComputed) {
    // 4x4 input 0..15, size 2 stride 2 (padding 1, windows start at 0): max of each 2x2 block
    auto net = net_from<float>(net_header(4, 4, 1) + "[maxpool]\nsize=2\nstride=2\n");
    std::vector<float> x(16);
    for (int i = 0; i < 16; ++i) x[i] = static_cast<float>(i);
    const float* y = net->forward(x.data());
    EXPECT_EQ(net->layers[0]->out_w, 2);
    EXPECT_EQ(std::vector<float>(y, y + 4), (std::vector<float>{5, 7, 13, 15}));
    // size 3 stride 1 keeps the size (padding 2, windows start at -1): 3x3 neighbourhood max
    auto n2 = net_from<float>(net_header(3, 3, 1) + "[maxpool]\nsize=3\nstride=1\n");
    std::vector<float> z = {1, 9, 2, 3, 4, 5, 8, 6, 7};
    const float* y2 = n2->forward(z.data());
    EXPECT_EQ(std::vector<float>(y2, y2 + 9), (std::vector<float>{9, 9, 9, 9, 9, 9, 8, 8, 7}));
    // odd size with stride 2 (Darknet: out = (5 + 1 - 2)/2 + 1 = 3, last window clipped)
    auto n3 = net_from<float>(net_header(5, 1, 1) + "[maxpool]\nsize=2\nstride=2\n");
    std::vector<float> r = {3, 1, 4, 1, 5};
    const float* y3 = n3->forward(r.data());
    EXPECT_EQ(std::vector<float>(y3, y3 + 3), (std::vector<float>{3, 4, 5}));
}

// AlexeyAB's maxpool_depth: with out_channels=2, output channel k is the max of input channels k,
// k + 2, ... at each position (the size kept, the window keys unused).
TEST(MaxpoolForward, DepthByHand) {
    auto net = net_from<float>(net_header(2, 1, 4) + "[maxpool]\nmaxpool_depth=1\nout_channels=2\nsize=2\nstride=2\n");
    EXPECT_EQ(net->layers[0]->out_c, 2);
    EXPECT_EQ(net->layers[0]->out_w, 2);
    const std::vector<float> x = {1, 8, /* c1 */ 5, -1, /* c2 */ 3, 2, /* c3 */ 4, 6};
    const float* y = net->forward(x.data());
    EXPECT_EQ(std::vector<float>(y, y + 4), (std::vector<float>{3, 8, 5, 6}));
    EXPECT_NE(error_of([&] { net_from<float>(net_header(2, 1, 4) + "[maxpool]\nmaxpool_depth=1\nout_channels=5\n"); })
                  .find("key 'out_channels': 5 exceeds the input's 4 channels"),
              std::string::npos);
}

// [local_avgpool]: the mean over the window's pixels inside the input (padding not counted).
TEST(LocalAvgpoolForward, HandComputed) {
    // 3x3 input 1..9, size 2 stride 1 (padding 1, windows start at 0): 3x3 output, the last row and
    // column of windows half outside
    auto net = net_from<float>(net_header(3, 3, 1) + "[local_avgpool]\nsize=2\nstride=1\n");
    std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    const float* y = net->forward(x.data());
    EXPECT_EQ(net->layers[0]->out_w, 3);
    EXPECT_EQ(std::vector<float>(y, y + 9), (std::vector<float>{3, 4, 4.5f, 6, 7, 7.5f, 7.5f, 8.5f, 9}));
    // AlexeyAB's AConv form, size 2 stride 1 padding 0: 2x2 output of 2x2 means
    auto n2 = net_from<float>(net_header(3, 3, 1) + "[local_avg]\nsize=2\nstride=1\npadding=0\n");
    const float* y2 = n2->forward(x.data());
    EXPECT_EQ(n2->layers[0]->out_w, 2);
    EXPECT_EQ(std::vector<float>(y2, y2 + 4), (std::vector<float>{3, 4, 6, 7}));
}

// [activation] applies its activation (default linear); [empty] and [silence] are the identity,
// in training and in the planned inference network alike; [conn] is [connected].
TEST(ActivationForward, ActivationEmptyAndSilence) {
    const std::vector<float> x = {-2, -0.5f, 0, 1.5f, 3, -4};
    for (bool planned : {false, true}) {
        auto net = net_from<float>(net_header(3, 1, 2) + "[activation]\nactivation=leaky\n[empty]\n[silence]\n"
                                                         "[activation]\n[activation]\nactivation=logistic\n");
        if (planned) net->optimize_for_inference();
        const float* y = net->forward(x.data());
        std::vector<float> leaky(x), logistic(x.size());
        for (auto& v : leaky) v = v > 0 ? v : 0.1f * v;
        for (size_t i = 0; i < x.size(); ++i) logistic[i] = 1.f / (1.f + std::exp(-leaky[i]));
        for (int l = 0; l < 4; ++l)
            EXPECT_EQ(std::vector<float>(net->layers[l]->output.begin(), net->layers[l]->output.begin() + 6), leaky)
                << "layer " << l << (planned ? " planned" : "");
        for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(y[i], logistic[i], 1e-6) << i;
        EXPECT_STREQ(net->layers[1]->type(), "empty");
        EXPECT_STREQ(net->layers[2]->type(), "silence");
    }
    auto rev = net_from<float>(net_header(3, 1, 2) + "[activation]\nactivation=revleaky\n");
    const float* yr = rev->forward(x.data());
    for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(yr[i], x[i] > 0 ? x[i] : 0.1f * x[i]) << "revleaky " << i;
    auto c = net_from<float>(net_header(3, 1, 2) + "[conn]\noutput=2\n");
    EXPECT_STREQ(c->layers[0]->type(), "connected");
    const std::string e = error_of([&] { net_from<float>(net_header(3, 1, 2) + "[activation]\nactivation=sigmoid\n"); });
    EXPECT_NE(e.find("t.cfg:7: [activation] key 'activation': unknown activation 'sigmoid'"), std::string::npos) << e;
}

// AlexeyAB's channel activations in [activation] and [convolutional], against his formulas in
// double: at each position, over the channels, normalize_channels y = max(x, 0) / (1e-4 + sum
// max(x, 0)), normalize_channels_softmax y = e^x / (1e-4 + sum e^x) (finite here where e^x
// overflows a float: x = 100), normalize_channels_softmax_maxval y = e^(x-m) / (1e-4 + sum e^(x-m)).
TEST(ActivationForward, ChannelNormalizationsAsAlexeyAB) {
    const int N = 2, C = 3, S = 4;
    std::vector<double> xd = randn(N * C * S, 31, 2.0);
    xd[5] = 100;
    const std::vector<float> x(xd.begin(), xd.end());
    for (const char* name : {"normalize_channels", "normalize_channels_softmax", "normalize_channels_softmax_maxval"}) {
        SCOPED_TRACE(name);
        for (bool planned : {false, true}) {
            auto net = net_from<float>(net_header(2, 2, C, N) + "[activation]\nactivation=" + name + "\n");
            if (planned) net->optimize_for_inference();
            const float* y = net->forward(x.data());
            for (int b = 0; b < N; ++b)
                for (int p = 0; p < S; ++p) {
                    auto at = [&](int k) { return static_cast<double>(x[(b * C + k) * S + p]); };
                    double m = at(0), sum = 1e-4;
                    for (int k = 1; k < C; ++k) m = std::max(m, at(k));
                    const std::string n = name;
                    for (int k = 0; k < C; ++k)
                        sum += n == "normalize_channels" ? std::max(at(k), 0.0)
                                                         : std::exp(at(k) - (n == "normalize_channels_softmax" ? 0 : m));
                    for (int k = 0; k < C; ++k) {
                        const double want = n == "normalize_channels"           ? std::max(at(k), 0.0) / sum
                                            : n == "normalize_channels_softmax" ? std::exp(at(k)) / sum
                                                                                : std::exp(at(k) - m) / sum;
                        ASSERT_NEAR(y[(b * C + k) * S + p], want, 2e-7) << b << " " << k << " " << p;
                    }
                }
        }
    }
    // in a convolution (1x1, identity weights, no bias): the same as on its input
    auto conv = net_from<float>(net_header(2, 2, C, N) + "[convolutional]\nfilters=3\nsize=1\n"
                                                         "activation=normalize_channels_softmax_maxval\n");
    auto act = net_from<float>(net_header(2, 2, C, N) + "[activation]\nactivation=normalize_channels_softmax_maxval\n");
    auto ps = conv->layers[0]->params();
    for (auto& p : ps)
        if (p.name == "weights")
            for (int f = 0; f < C; ++f)
                for (int c = 0; c < C; ++c) p.value[f * C + c] = f == c ? 1.f : 0.f;
    const float* yc = conv->forward(x.data());
    const std::vector<float> vc(yc, yc + N * C * S);
    const float* ya = act->forward(x.data());
    for (int i = 0; i < N * C * S; ++i) EXPECT_FLOAT_EQ(vc[i], ya[i]) << i;
    const std::string e = error_of([&] {
        net_from<float>(net_header(2, 2, C, N) + "[convolutional]\nfilters=3\n[shortcut]\nfrom=-1\n"
                                                 "activation=normalize_channels\n");
    });
    EXPECT_NE(e.find("[shortcut] key 'activation': 'normalize_channels' normalizes across the channels: "
                     "[convolutional] and [activation] take it"),
              std::string::npos)
        << e;
}

// [implicit]: every image's output is the layer's weights, whatever the input; the weights file
// holds them.
TEST(ImplicitForward, WeightsForEveryImage) {
    auto net = net_from<float>(net_header(3, 2, 1, 2) + "[implicit]\nfilters=3\natoms=2\nmean=0.5\nstd=0.1\n");
    auto& l = *net->layers[0];
    EXPECT_EQ(l.out_c, 3);
    EXPECT_EQ(l.out_h, 2);
    EXPECT_EQ(l.out_w, 1);
    auto p = l.params();
    ASSERT_EQ(p.size(), 1u);
    ASSERT_EQ(p[0].size, 6u);
    for (size_t i = 0; i < 6; ++i) {
        EXPECT_GE(p[0].value[i], 0.4f);
        EXPECT_LE(p[0].value[i], 0.6f);
        p[0].value[i] = static_cast<float>(i) - 2.f;
    }
    std::vector<float> x(12, 7.f);
    const float* y = net->forward(x.data());
    for (int b = 0; b < 2; ++b)
        for (int i = 0; i < 6; ++i) EXPECT_EQ(y[b * 6 + i], i - 2.f);
    const std::vector<char> bytes = weights_bytes(*net);
    EXPECT_EQ(bytes.size(), 20u + 6 * 4);
}

// DropBlock (dropout dropblock=1): on ones, every zero lies in a wholly zero 3x3 block (clipped to
// the plane), each image's other values are its values / its kept values (so they sum to the image's
// size), about the probability is dropped; AlexeyAB's schedule starts at rate 0 (nothing dropped)
// and single pixels (side 3 * 0.4 -> 1) at 40% of its 85%.
TEST(DropoutForward, DropBlockZeroesBlocksAndRescales) {
    const int W = 12, H = 12, C = 2, B = 2;
    auto net = net_from<float>("[net]\nbatch=2\nwidth=12\nheight=12\nchannels=2\nmax_batches=100\n"
                               "[dropout]\nprobability=0.3\ndropblock=1\ndropblock_size_abs=3\n");
    const std::vector<float> x(static_cast<size_t>(B) * C * W * H, 1.f);
    auto at = [&](const float* y, int b, int c, int yy, int xx) { return y[((b * C + c) * H + yy) * W + xx]; };
    net->header.seen = 90 * 2;  // iteration 90: past 85, the full rate and side
    const float* y = net->forward(x.data(), true);
    int dropped = 0;
    for (int b = 0; b < B; ++b) {
        double sum = 0;
        for (int c = 0; c < C; ++c)
            for (int yy = 0; yy < H; ++yy)
                for (int xx = 0; xx < W; ++xx) {
                    const float v = at(y, b, c, yy, xx);
                    sum += v;
                    if (v != 0) continue;
                    ++dropped;
                    bool in_block = false;  // some clipped 3x3 block starting at (y0, x0) holding it is all zero
                    for (int y0 = std::max(0, yy - 2); y0 <= yy && !in_block; ++y0)
                        for (int x0 = std::max(0, xx - 2); x0 <= xx && !in_block; ++x0) {
                            bool all = true;
                            for (int a = y0; a < std::min(H, y0 + 3); ++a)
                                for (int d = x0; d < std::min(W, x0 + 3); ++d) all = all && at(y, b, c, a, d) == 0;
                            in_block = all;
                        }
                    EXPECT_TRUE(in_block) << b << " " << c << " " << yy << " " << xx;
                }
        EXPECT_NEAR(sum, C * W * H, 1e-3);
    }
    EXPECT_GT(dropped, 0.1 * x.size());
    EXPECT_LT(dropped, 0.5 * x.size());
    net->header.seen = 0;  // iteration 0: rate 0
    y = net->forward(x.data(), true);
    for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(y[i], 1.f);
    net->header.seen = 34 * 2;  // iteration 34 = 0.4 * 85: side 1
    y = net->forward(x.data(), true);
    int lone = 0;
    for (size_t i = 0; i < x.size(); ++i) lone += y[i] == 0;
    EXPECT_GT(lone, 0);
    const float* z = net->forward(x.data(), false);  // inference: the identity
    for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(z[i], 1.f);
}

// Darknet's stair: floor(x/2) where floor(x) is even, floor(x/2) + (x - floor(x)) where it is odd.
TEST(ActivationForward, StairByHand) {
    const std::vector<float> x = {-2.5f, -1.25f, 0.5f, 1.5f, 2.5f, 3.25f};
    auto net = net_from<float>(net_header(3, 1, 2) + "[activation]\nactivation=stair\n");
    const float* y = net->forward(x.data());
    EXPECT_EQ(std::vector<float>(y, y + 6), (std::vector<float>{-1.5f, -1.f, 0.f, 0.5f, 1.f, 1.25f}));
}

TEST(OtherForward, UpsampleRouteShortcutAvgpoolSoftmaxConnected) {
    auto net = net_from<double>(net_header(2, 2, 2) +
                                "[upsample]\nstride=2\n"        // 0: 4x4x2
                                "[maxpool]\nsize=2\nstride=2\n"  // 1: 2x2x2
                                "[route]\nlayers=-1\ngroups=2\ngroup_id=1\n"  // 2: channel 1 of layer 1
                                "[route]\nlayers=1,2\n"          // 3: 2x2x3
                                "[shortcut]\nfrom=-4\n"          // 4: layer 3 + layer 0? shapes differ -> sampled
                                "[avgpool]\n"                    // 5: 1x1x3
                                "[softmax]\n"                    // 6
                                "[connected]\noutput=2\nactivation=linear\n");  // 7
    std::vector<double> x = {1, 2, 3, 4, 5, 6, 7, 8};
    net->forward(x.data());
    const auto& up = net->layers[0]->output;
    EXPECT_EQ(up[0], 1);
    EXPECT_EQ(up[1], 1);
    EXPECT_EQ(up[2], 2);
    EXPECT_EQ(up[4], 1);
    EXPECT_EQ(up[16 + 15], 8);
    const auto& mp = net->layers[1]->output;  // equals x (each 2x2 block is constant)
    EXPECT_EQ(std::vector<double>(mp.begin(), mp.end()), x);
    const auto& r = net->layers[2]->output;
    EXPECT_EQ(std::vector<double>(r.begin(), r.end()), (std::vector<double>{5, 6, 7, 8}));
    const auto& r3 = net->layers[3]->output;
    EXPECT_EQ(std::vector<double>(r3.begin(), r3.end()), (std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 5, 6, 7, 8}));
    // shortcut: layer 0 is 4x4x2 (stride 2 into 2x2), adds over the 2 common channels
    const auto& sc = net->layers[4]->output;
    EXPECT_EQ(sc[0], 1 + up[0]);
    EXPECT_EQ(sc[1], 2 + up[2]);
    EXPECT_EQ(sc[2], 3 + up[8]);
    EXPECT_EQ(sc[4], 5 + up[16]);
    EXPECT_EQ(sc[8], 5);  // third channel has no partner
    const auto& av = net->layers[5]->output;
    EXPECT_DOUBLE_EQ(av[2], 6.5);
    const auto& sm = net->layers[6]->output;
    double z = std::exp(av[0]) + std::exp(av[1]) + std::exp(av[2]);
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(sm[i], std::exp(av[i]) / z, 1e-15);
    auto P = net->layers[7]->params();
    const double* W = P[1].value;
    const double* B = P[0].value;
    for (int o = 0; o < 2; ++o)
        EXPECT_NEAR(net->layers[7]->output[o], W[o * 3] * sm[0] + W[o * 3 + 1] * sm[1] + W[o * 3 + 2] * sm[2] + B[o], 1e-15);
}

TEST(YoloForward, LogisticOnCoordinatesObjectnessAndClassesOnly) {
    auto net = net_from<double>(net_header(2, 2, 14) + "[yolo]\nmask=0,1\nanchors=10,14,23,27\nclasses=2\nnum=2\nscale_x_y=1.2\n");
    std::vector<double> x = randn(56, 5);
    const double* y = net->forward(x.data());
    auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
    for (int n = 0; n < 2; ++n)
        for (int e = 0; e < 7; ++e)
            for (int s = 0; s < 4; ++s) {
                int i = (n * 7 + e) * 4 + s;
                double want = e < 2 ? sig(x[i]) * 1.2 - 0.1 : (e < 4 ? x[i] : sig(x[i]));  // scale_x_y: float cfg value
                EXPECT_NEAR(y[i], want, 1e-7) << "slot " << n << " entry " << e;
            }
}
