// pjreddie's weights tools through the CLI: denormalize / normalize keep the network's function,
// rgbgr swaps the input's R and B, average is the mean of the files, ops the forward's FLOPs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "darknet/network.hpp"
#include "test_util.hpp"

using namespace dn;
using namespace dn::test;

namespace {

// conv (batchnorm), conv, deconv (batchnorm), connected (batchnorm), rnn (batchnorm): every
// layer type whose batchnorm folds into its weights, and one without it.
std::string tool_cfg(const char* bn) {
    const std::string b = std::string("batch_normalize=") + bn + "\n";
    return "[net]\nwidth=6\nheight=6\nchannels=3\n[convolutional]\n" + b + "filters=4\nsize=3\npad=1\nactivation=leaky\n"
           "[convolutional]\nfilters=3\nsize=1\nactivation=linear\n[deconvolutional]\n" + b +
           "filters=2\nsize=2\nstride=2\nactivation=leaky\n[connected]\n" + b + "output=5\nactivation=tanh\n[rnn]\n" + b +
           "output=3\nhidden=4\nactivation=leaky\n";
}

void randomize(Network<float>& net, uint64_t seed) {
    std::mt19937_64 g(seed);
    std::normal_distribution<float> nd(0.f, 0.5f);
    for (auto& l : net.layers) {
        for (auto& p : l->params())
            for (size_t i = 0; i < p.size; ++i)
                p.value[i] = p.name == "rolling_variance" ? 0.2f + std::fabs(nd(g)) : p.name == "scales" ? 1 + nd(g) : nd(g);
        l->params_changed();
    }
}

std::vector<float> eval(Network<float>& net, const std::vector<float>& x) {
    const float* y = net.forward(x.data(), false);
    return std::vector<float>(y, y + net.outputs());
}

double max_rel(const std::vector<float>& a, const std::vector<float>& b) {
    double d = 0, s = 1e-6;
    for (size_t i = 0; i < a.size(); ++i) d = std::max(d, double(std::fabs(a[i] - b[i]))), s = std::max(s, double(std::fabs(b[i])));
    return d / s;
}

std::vector<float> input(uint64_t seed) {
    std::mt19937_64 g(seed);
    std::normal_distribution<float> nd(0.f, 1.f);
    std::vector<float> x(108);
    for (auto& v : x) v = nd(g);
    return x;
}

}  // namespace

TEST(Tools, DenormalizeAndNormalizeKeepTheFunction) {
    const std::string dir = make_temp_dir();
    write_text(dir + "/bn.cfg", tool_cfg("1"));
    write_text(dir + "/plain.cfg", tool_cfg("0"));
    auto bn = net_from<float>(tool_cfg("1"), 1);
    randomize(*bn, 3);
    save_weights(*bn, dir + "/bn.weights");
    const std::vector<float> x = input(4), want = eval(*bn, x);
    int rc = 0;
    std::string out = run(darknet_bin() + " denormalize " + dir + "/bn.cfg " + dir + "/bn.weights " + dir + "/plain.weights", &rc);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("Folded the batchnorm of 4 layers"), std::string::npos) << out;
    auto plain = net_from<float>(tool_cfg("0"), 1);
    load_weights(*plain, dir + "/plain.weights");  // a layout error if the file kept batchnorm arrays
    const std::vector<float> got = eval(*plain, x);
    EXPECT_LE(max_rel(got, want), 1e-5);
    EXPECT_GT(max_rel(eval(*net_from<float>(tool_cfg("0"), 1), x), want), 1e-2) << "the test sees the weights";
    // and back: identity batchnorm arrays in every layer that can have them (layer 1 too, as
    // pjreddie's normalize), the same function again
    out = run(darknet_bin() + " normalize " + dir + "/plain.cfg " + dir + "/plain.weights " + dir + "/again.weights", &rc);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("Added identity batchnorm to 5 layers"), std::string::npos) << out;
    std::string all_bn = tool_cfg("1");
    all_bn.replace(all_bn.find("[convolutional]\nfilters=3\n"), 26, "[convolutional]\nbatch_normalize=1\nfilters=3\n");
    auto again = net_from<float>(all_bn, 1);
    load_weights(*again, dir + "/again.weights");
    EXPECT_LE(max_rel(eval(*again, x), want), 1e-5);
}

TEST(Tools, RgbgrTakesBgrForRgb) {
    const std::string dir = make_temp_dir();
    write_text(dir + "/t.cfg", tool_cfg("1"));
    auto net = net_from<float>(tool_cfg("1"), 1);
    randomize(*net, 5);
    save_weights(*net, dir + "/t.weights");
    int rc = 0;
    const std::string out = run(darknet_bin() + " rgbgr " + dir + "/t.cfg " + dir + "/t.weights " + dir + "/bgr.weights", &rc);
    ASSERT_EQ(rc, 0) << out;
    auto bgr = net_from<float>(tool_cfg("1"), 1);
    load_weights(*bgr, dir + "/bgr.weights");
    const std::vector<float> x = input(6);
    std::vector<float> swapped = x;
    std::swap_ranges(swapped.begin(), swapped.begin() + 36, swapped.begin() + 72);
    EXPECT_LE(max_rel(eval(*bgr, swapped), eval(*net, x)), 1e-6);
    EXPECT_GT(max_rel(eval(*bgr, x), eval(*net, x)), 1e-3);
}

TEST(Tools, AverageIsTheMeanOfEveryArrayAndOpsTheFlops) {
    const std::string dir = make_temp_dir();
    write_text(dir + "/t.cfg", tool_cfg("1"));
    auto a = net_from<float>(tool_cfg("1"), 1), b = net_from<float>(tool_cfg("1"), 1);
    randomize(*a, 7);
    randomize(*b, 8);
    save_weights(*a, dir + "/a.weights");
    save_weights(*b, dir + "/b.weights");
    int rc = 0;
    std::string out = run(darknet_bin() + " average " + dir + "/t.cfg " + dir + "/m.weights " + dir + "/a.weights " + dir +
                              "/b.weights",
                          &rc);
    ASSERT_EQ(rc, 0) << out;
    auto m = net_from<float>(tool_cfg("1"), 1);
    load_weights(*m, dir + "/m.weights");
    size_t checked = 0;
    for (int i = 0; i < m->num_layers(); ++i) {
        auto pm = m->layer(i).params(), pa = a->layer(i).params(), pb = b->layer(i).params();
        for (size_t k = 0; k < pm.size(); ++k)
            for (size_t j = 0; j < pm[k].size; ++j, ++checked)
                ASSERT_NEAR(pm[k].value[j], (double(pa[k].value[j]) + pb[k].value[j]) / 2, 1e-6) << i << " " << pm[k].name;
    }
    EXPECT_GT(checked, 300u);
    out = run(darknet_bin() + " ops " + dir + "/t.cfg", &rc);
    ASSERT_EQ(rc, 0) << out;
    char want[64];
    std::snprintf(want, sizeof want, "Floating Point Operations: %.0f\n", a->flops());
    EXPECT_NE(out.find(want), std::string::npos) << out << " (want " << want << ")";
    // a cfg whose first convolution does not take three channels is an error, not a wrong file
    write_text(dir + "/g.cfg", "[net]\nwidth=4\nheight=4\nchannels=1\n[convolutional]\nfilters=2\nsize=1\n");
    auto g = net_from<float>("[net]\nwidth=4\nheight=4\nchannels=1\n[convolutional]\nfilters=2\nsize=1\n", 1);
    save_weights(*g, dir + "/g.weights");
    out = run(darknet_bin() + " rgbgr " + dir + "/g.cfg " + dir + "/g.weights " + dir + "/x.weights", &rc);
    EXPECT_EQ(rc, 1);
    EXPECT_NE(out.find("rgbgr: the first [convolutional] (layer 0) has 1 input channels, not 3"), std::string::npos) << out;
}
