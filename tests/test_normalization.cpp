// The normalization layers: exact gradients (float64 to 1e-6, float32 to 1e-2) over the edge cases,
// the accumulate contract, forward against naive loops, batch independence of GroupNorm, batchnorm
// statistics, and proof that the checker catches Darknet's approximate LRN backward.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "darknet/weights.hpp"
#include "gradcheck.hpp"
#include "kernels/batchnorm.hpp"
#include "kernels/groupnorm.hpp"
#include "kernels/lrn.hpp"
#include "layers/normalization_layer.hpp"

using namespace dn;
using namespace dn::test;

namespace {

struct NormCase {
    std::string name;
    std::string layer;  // cfg section text
    int batch, c, h, w;
    double mean = 0, stddev = 1;
    int const_channel = -1;
    bool train = true;
};

std::vector<NormCase> norm_cases() {
    std::vector<NormCase> v;
    auto lrn = [](int size) { return "[lrn]\nsize=" + std::to_string(size) + "\nalpha=0.3\nbeta=0.75\nkappa=1.5\n"; };
    // LRN: sizes 1, 3, 4 (even), 5; C smaller than size; odd C; batch 1 and 2; H=W=1; large offsets
    v.push_back({"lrn_size1", lrn(1), 2, 5, 3, 4});
    v.push_back({"lrn_size3", lrn(3), 2, 7, 3, 3});
    v.push_back({"lrn_size4_even", lrn(4), 1, 7, 2, 3});
    v.push_back({"lrn_size5", lrn(5), 2, 9, 3, 2});
    v.push_back({"lrn_c_smaller_than_size", lrn(5), 2, 3, 2, 2});
    v.push_back({"lrn_hw1", lrn(5), 3, 6, 1, 1});
    v.push_back({"lrn_const_channel", lrn(3), 2, 5, 2, 3, 0, 1, 2});
    v.push_back({"lrn_offset_1e4", "[lrn]\nsize=5\nalpha=0.0001\nbeta=0.75\nkappa=1\n", 2, 6, 2, 2, 1e4, 1});
    v.push_back({"lrn_beta_general", "[lrn]\nsize=3\nalpha=0.2\nbeta=0.6\nkappa=2\n", 2, 5, 2, 2});
    // batchnorm, training and eval
    for (bool train : {true, false}) {
        const std::string m = train ? "_train" : "_eval";
        v.push_back({"bn_batch1" + m, "[batchnorm]\n", 1, 4, 3, 3, 0, 1, -1, train});
        v.push_back({"bn_batch2_odd_c" + m, "[batchnorm]\n", 2, 5, 2, 3, 0, 1, -1, train});
        v.push_back({"bn_hw1" + m, "[batchnorm]\n", 3, 5, 1, 1, 0, 1, -1, train});
        v.push_back({"bn_const_channel" + m, "[batchnorm]\n", 2, 4, 2, 2, 0, 1, 1, train});
        v.push_back({"bn_offset_1e4" + m, "[batchnorm]\n", 2, 3, 3, 3, 1e4, 1, -1, train});
        v.push_back({"bn_eps" + m, "[batchnorm]\neps=0.001\n", 2, 3, 2, 2, 0, 1, -1, train});
        v.push_back({"conv_bn" + m, "[convolutional]\nfilters=4\nsize=3\npad=1\nbatch_normalize=1\nactivation=linear\n", 2,
                     3, 4, 4, 0, 1, -1, train});
    }
    // groupnorm: groups 1 (LayerNorm-like), C (InstanceNorm-like), C/4
    v.push_back({"gn_groups1", "[groupnorm]\ngroups=1\n", 2, 5, 2, 3});
    v.push_back({"gn_groups_c", "[groupnorm]\ngroups=8\n", 2, 8, 2, 2});
    v.push_back({"gn_groups_c_over_4", "[groupnorm]\ngroups=2\n", 2, 8, 3, 2});
    v.push_back({"gn_batch1", "[groupnorm]\ngroups=4\n", 1, 8, 2, 3});
    v.push_back({"gn_hw1", "[groupnorm]\ngroups=1\n", 3, 7, 1, 1});
    v.push_back({"gn_const_channel", "[groupnorm]\ngroups=6\n", 2, 6, 2, 2, 0, 1, 2});
    v.push_back({"gn_offset_1e4", "[groupnorm]\ngroups=2\neps=0.0001\n", 2, 4, 3, 3, 1e4, 1});
    v.push_back({"gn_activation", "[groupnorm]\ngroups=2\nactivation=swish\n", 2, 4, 2, 2});
    return v;
}

class NormalizationGradient : public testing::TestWithParam<NormCase> {};

}  // namespace

TEST_P(NormalizationGradient, ExactInFloat64AndFloat32AndAccumulates) {
    const NormCase& t = GetParam();
    std::string cfg = net_cfg(t.batch, t.c, t.h, t.w) + t.layer;
    std::vector<double> x = make_input(t.batch, t.c, t.h, t.w, t.mean, t.stddev, t.const_channel, 42);
    Checked r = check_cfg(cfg, x, t.train);
    EXPECT_LE(r.f64.max_err, 1e-6) << describe(r.f64);
    EXPECT_LE(r.f32.max_err, 1e-2) << describe(r.f32);
    expect_complete(r.f64);
    EXPECT_LE(r.accumulation, 1e-12) << "backward must add into net.delta and the gradient buffers";
    // both the input gradient and (where the layer has them) the parameter gradients were checked
    bool has_params = t.layer.find("lrn") == std::string::npos;
    EXPECT_EQ(r.f64.tensors.size() > 1, has_params);
}

INSTANTIATE_TEST_SUITE_P(Cases, NormalizationGradient, testing::ValuesIn(norm_cases()),
                         [](const testing::TestParamInfo<NormCase>& i) { return i.param.name; });

// ---- forward against naive loops, written from the definitions ----

TEST(LrnForward, MatchesNaiveDefinition) {
    for (int size : {1, 2, 3, 4, 5, 7}) {
        const int N = 2, C = 6, S = 5;
        LrnParams p;
        p.size = size;
        p.alpha = 0.25;
        p.beta = size == 4 ? 0.6 : 0.75;
        p.kappa = 2;
        std::vector<double> x = make_input(N, C, 1, S, 0, 1, -1, 3), y(x.size());
        lrn_forward(x.data(), N, C, S, p, y.data());
        for (int n = 0; n < N; ++n)
            for (int c = 0; c < C; ++c)
                for (int s = 0; s < S; ++s) {
                    double sum = 0;
                    for (int j = c - (size - 1) / 2; j <= c + size / 2; ++j)
                        if (j >= 0 && j < C) sum += x[(n * C + j) * S + s] * x[(n * C + j) * S + s];
                    double want = x[(n * C + c) * S + s] * std::pow(p.kappa + p.alpha * sum, -p.beta);
                    ASSERT_NEAR(y[(n * C + c) * S + s], want, 1e-14) << "size " << size << " c " << c;
                }
    }
}

// S = 5: planes; S = 1: rows of C values ([connected], the recurrent blocks), their own loops.
class BatchnormForward : public testing::TestWithParam<int> {};

TEST_P(BatchnormForward, MatchesNaiveDefinitionAndUpdatesRollingStatistics) {
    const int N = 3, C = 4, S = GetParam();
    std::vector<double> x = make_input(N, C, 1, S, 2, 3, -1, 9), y(x.size()), gamma = {1.5, -0.5, 2, 0.7},
                        beta = {0.1, 0.2, -0.3, 0.4}, mean(C), inv(C), rm = {1, 2, 3, 4}, rv = {1, 1, 2, 2};
    std::vector<double> rm0 = rm, rv0 = rv;
    batchnorm_forward_train(x.data(), N, C, S, gamma.data(), beta.data(), y.data(), mean.data(), inv.data(), rm.data(),
                            rv.data());
    for (int c = 0; c < C; ++c) {
        double mu = 0, var = 0;
        for (int n = 0; n < N; ++n)
            for (int s = 0; s < S; ++s) mu += x[(n * C + c) * S + s];
        mu /= N * S;
        for (int n = 0; n < N; ++n)
            for (int s = 0; s < S; ++s) var += std::pow(x[(n * C + c) * S + s] - mu, 2);
        var /= N * S;  // biased, in the normalization
        for (int n = 0; n < N; ++n)
            for (int s = 0; s < S; ++s)
                EXPECT_NEAR(y[(n * C + c) * S + s], gamma[c] * (x[(n * C + c) * S + s] - mu) / std::sqrt(var + 1e-5) + beta[c],
                            1e-12);
        // rolling statistics: momentum .99/.01, unbiased variance M/(M-1)
        EXPECT_NEAR(rm[c], 0.99 * rm0[c] + 0.01 * mu, 1e-14);
        EXPECT_NEAR(rv[c], 0.99 * rv0[c] + 0.01 * var * (N * S) / (N * S - 1.0), 1e-14);
    }
    // eval uses the rolling statistics
    batchnorm_forward_eval(x.data(), N, C, S, gamma.data(), beta.data(), rm.data(), rv.data(), y.data());
    for (int k = 0; k < N * C * S; ++k) {
        const int c = k / S % C;
        EXPECT_NEAR(y[k], gamma[c] * (x[k] - rm[c]) / std::sqrt(rv[c] + 1e-5) + beta[c], 1e-12) << k;
    }
}

INSTANTIATE_TEST_SUITE_P(Spatial, BatchnormForward, testing::Values(5, 1));

TEST(GroupnormForward, MatchesNaiveDefinition) {
    const int N = 2, C = 6, S = 4, G = 3, Cg = 2;
    std::vector<double> x = make_input(N, C, 1, S, -1, 2, -1, 13), y(x.size()), gamma(C), beta(C), mean(N * G), inv(N * G);
    for (int c = 0; c < C; ++c) {
        gamma[c] = 0.5 + c;
        beta[c] = 0.1 * c;
    }
    groupnorm_forward(x.data(), N, C, S, G, gamma.data(), beta.data(), 1e-5, y.data(), mean.data(), inv.data());
    for (int n = 0; n < N; ++n)
        for (int g = 0; g < G; ++g) {
            double mu = 0, var = 0;
            for (int k = 0; k < Cg * S; ++k) mu += x[(n * C + g * Cg) * S + k];
            mu /= Cg * S;
            for (int k = 0; k < Cg * S; ++k) var += std::pow(x[(n * C + g * Cg) * S + k] - mu, 2);
            var /= Cg * S;
            for (int k = 0; k < Cg * S; ++k) {
                int c = g * Cg + k / S;
                EXPECT_NEAR(y[(n * C + g * Cg) * S + k], gamma[c] * (x[(n * C + g * Cg) * S + k] - mu) / std::sqrt(var + 1e-5) + beta[c],
                            1e-12);
            }
        }
}

TEST(GroupnormForward, OutputOfASampleDoesNotDependOnTheBatch) {
    const std::string layer = "[groupnorm]\ngroups=4\nactivation=leaky\n";
    auto alone = net_from<float>(net_cfg(1, 8, 5, 5) + layer);
    auto batch = net_from<float>(net_cfg(4, 8, 5, 5) + layer);
    randomize_params(*alone, 3);
    copy_params(*alone, *batch);
    std::vector<double> xb = make_input(4, 8, 5, 5, 0.5, 2, -1, 21);
    std::vector<float> xf(xb.begin(), xb.end());
    std::vector<float> y_batch(batch->forward(xf.data(), true), batch->forward(xf.data(), true) + 4 * 200);
    for (int n = 0; n < 4; ++n) {
        const float* y1 = alone->forward(xf.data() + n * 200, true);
        for (int k = 0; k < 200; ++k) ASSERT_EQ(y1[k], y_batch[n * 200 + k]) << "sample " << n << " element " << k;
    }
}

TEST_P(BatchnormForward, Float32StatisticsStayAccurateAtLargeOffsets) {
    // mean 1000, std 1: E[x^2] - E[x]^2 in float would lose the variance entirely (4000 values a
    // channel: 4 planes of 1000, or 4000 rows)
    const int S = GetParam() == 1 ? 1 : 1000, N = 4000 / S, C = 2;
    std::vector<double> xd = make_input(N, C, 1, S, 1000, 1, -1, 17);
    std::vector<float> x(xd.begin(), xd.end()), y(x.size()), g = {1, 1}, b = {0, 0}, mean(C), inv(C), rm(C), rv(C, 1);
    std::vector<double> xr(x.begin(), x.end()), yr(x.size()), gd = {1, 1}, bd = {0, 0}, md(C), id(C);
    batchnorm_forward_train(x.data(), N, C, S, g.data(), b.data(), y.data(), mean.data(), inv.data(), rm.data(), rv.data());
    batchnorm_forward_train(xr.data(), N, C, S, gd.data(), bd.data(), yr.data(), md.data(), id.data(), (double*)nullptr,
                            (double*)nullptr);
    double worst = 0;
    for (size_t k = 0; k < y.size(); ++k) worst = std::max(worst, std::fabs(y[k] - yr[k]));
    // float inputs near 1000 are spaced 6e-5 apart; the normalized outputs keep that order of accuracy
    EXPECT_LT(worst, 2e-4);
    EXPECT_NEAR(inv[0], id[0], 1e-6 * id[0]);
}

// GroupNorm's statistics (one shifted-data pass per group, as batchnorm's) at mean 1000, std 1:
// the float32 outputs agree with float64's to the spacing of the float inputs.
TEST(GroupnormForward, Float32StatisticsStayAccurateAtLargeOffsets) {
    const int N = 3, C = 4, S = 1000, G = 2;
    std::vector<double> xd = make_input(N, C, 1, S, 1000, 1, -1, 18);
    std::vector<float> x(xd.begin(), xd.end()), y(x.size()), g = {1, 0.5f, 2, 1}, b = {0, 0.1f, 0, -1};
    std::vector<float> mean(N * G), inv(N * G);
    std::vector<double> xr(x.begin(), x.end()), yr(x.size()), gd(g.begin(), g.end()), bd(b.begin(), b.end());
    std::vector<double> md(N * G), id(N * G);
    groupnorm_forward(x.data(), N, C, S, G, g.data(), b.data(), 1e-5, y.data(), mean.data(), inv.data());
    groupnorm_forward(xr.data(), N, C, S, G, gd.data(), bd.data(), 1e-5, yr.data(), md.data(), id.data());
    double worst = 0;
    for (size_t k = 0; k < y.size(); ++k) worst = std::max(worst, std::fabs(y[k] - yr[k]));
    EXPECT_LT(worst, 4e-4);  // gamma up to 2 times the 6e-5 spacing of floats near 1000, and then some
    for (int q = 0; q < N * G; ++q) {
        EXPECT_NEAR(inv[q], id[q], 1e-6 * id[q]) << q;
        EXPECT_NEAR(mean[q], md[q], 1e-4) << q;
    }
}

// ---- the checker catches the seed bug ----

namespace {
// Darknet's backward_normalization_layer: "approximate" (drops the cross-channel term) and it
// overwrites net.delta instead of adding.
template <class T>
class DarknetLrn : public NormalizationLayer<T> {
public:
    using NormalizationLayer<T>::NormalizationLayer;
    void backward(Network<T>& net) override {
        const int S = this->w * this->h;
        for (int n = 0; n < this->batch; ++n)
            for (int c = 0; c < this->c; ++c)
                for (int s = 0; s < S; ++s) {
                    size_t i = (static_cast<size_t>(n) * this->c + c) * S + s;
                    double sum = 0;
                    for (int j = c - (this->p.size - 1) / 2; j <= c + this->p.size / 2; ++j)
                        if (j >= 0 && j < this->c) {
                            double v = net.input[(static_cast<size_t>(n) * this->c + j) * S + s];
                            sum += v * v;
                        }
                    net.delta[i] = this->delta[i] * std::pow(this->p.kappa + this->p.alpha * sum, -this->p.beta);
                }
    }
};
}  // namespace

TEST(LrnBackward, TheHarnessFailsDarknetsApproximateOverwritingFormula) {
    const std::string cfg = net_cfg(2, 6, 2, 2) + "[lrn]\nsize=5\nalpha=0.3\nbeta=0.75\nkappa=1\n";
    auto net = net_from<double>(cfg);
    Cfg parsed = parse_cfg_string(cfg, "t.cfg");
    BuildContext<double> ctx{parsed.sections[1], net->cfg, 0, net->batch, 2, 2, 6, net->layers};
    auto bad = std::make_unique<DarknetLrn<double>>(ctx);
    bad->batch = net->batch;
    net->layers[0] = std::move(bad);
    std::vector<double> x = make_input(2, 6, 2, 2, 0, 1, -1, 5);
    net->forward(x.data(), true);
    GradcheckOptions opt;
    LayerCheck r = gradcheck_layer(*net, 0, opt);
    EXPECT_FALSE(r.pass) << describe(r);
    EXPECT_GT(r.max_err, 1e-3) << "the dropped cross-channel term is far above the tolerance";
    EXPECT_GT(check_accumulation(*net, 0, opt), 0.1) << "overwriting net.delta must be caught";
    // and ours, on the same input, passes both
    auto good = net_from<double>(cfg);
    good->forward(x.data(), true);
    EXPECT_TRUE(gradcheck_layer(*good, 0, opt).pass);
    EXPECT_LE(check_accumulation(*good, 0, opt), 1e-12);
}

TEST(GroupnormWeights, RoundTripAndErrors) {
    std::string cfg = net_cfg(1, 4, 2, 2) + "[groupnorm]\ngroups=2\n";
    auto a = net_from<float>(cfg);
    randomize_params(*a, 8);
    std::vector<char> bytes = weights_bytes(*a);
    EXPECT_EQ(bytes.size(), 20u + 8 * 4);  // biases then scales
    std::string p = make_temp_dir() + "/gn.weights";
    save_weights(*a, p);
    auto b = net_from<float>(cfg);
    load_weights(*b, p);
    EXPECT_TRUE(weights_bytes(*b) == bytes);
    std::string msg = error_of([&] { net_from<float>(net_cfg(1, 6, 2, 2) + "[groupnorm]\n"); });
    EXPECT_NE(msg.find("groups=32 (the default) does not divide the 6 input channels"), std::string::npos) << msg;
    msg = error_of([&] { net_from<float>(net_cfg(1, 6, 2, 2) + "[groupnorm]\ngroups=3\neps=-1\n"); });
    EXPECT_NE(msg.find("key 'eps': must be > 0"), std::string::npos) << msg;
    msg = error_of([&] { net_from<float>(net_cfg(1, 6, 2, 2) + "[lrn]\nkappa=0\n"); });
    EXPECT_NE(msg.find("key 'kappa': must be > 0"), std::string::npos) << msg;
}

// At batch 1 the LRN kernels cut each plane into tiles for the threads (a 27x27 plane was one
// job, so one thread did it all); every position is computed the same way whatever the tiling, so
// 1, 2 and 3 threads give the same bits, forward and backward, and 3 threads agree with float64.
TEST(LrnKernels, BatchOneSplitsPlanesAcrossThreadsWithTheSameBits) {
    const int N = 1, C = 48, S = 729;  // 35k values: over the parallel threshold
    LrnParams p;
    p.alpha = 0.3;
    p.kappa = 1.2;
    std::vector<double> xd = make_input(N, C, 1, S, 0.3, 1.5, -1, 9), dyd = make_input(N, C, 1, S, 0, 1, -1, 10);
    std::vector<float> x(xd.begin(), xd.end()), dy(dyd.begin(), dyd.end());
    const int before = get_num_threads();
    std::vector<float> y1, dx1;
    for (int threads : {1, 2, 3}) {
        SCOPED_TRACE("threads " + std::to_string(threads));
        set_num_threads(threads);
        std::vector<float> y(x.size()), dx(x.size(), 0.25f);
        lrn_forward(x.data(), N, C, S, p, y.data());
        lrn_backward(x.data(), dy.data(), N, C, S, p, dx.data(), true);
        if (threads == 1) {
            y1 = y;
            dx1 = dx;
            continue;
        }
        for (size_t k = 0; k < x.size(); ++k) {
            ASSERT_EQ(y[k], y1[k]) << k;
            ASSERT_EQ(dx[k], dx1[k]) << k;
        }
    }
    set_num_threads(before);
    std::vector<double> xr(x.begin(), x.end()), dyr(dy.begin(), dy.end()), yr(x.size()), dxr(x.size(), 0.25);
    lrn_forward(xr.data(), N, C, S, p, yr.data());
    lrn_backward(xr.data(), dyr.data(), N, C, S, p, dxr.data(), true);
    for (size_t k = 0; k < x.size(); ++k) {
        ASSERT_NEAR(y1[k], yr[k], 2e-6 * (1 + std::fabs(yr[k]))) << k;
        ASSERT_NEAR(dx1[k], dxr[k], 1e-5 * (1 + std::fabs(dxr[k]))) << k;
    }
}

// Tensors past the threads' L2 (1 MB each) take the channels in groups of 16 within runs of 512
// positions, their queues stored per chunk between groups; smaller ones take all channels in one
// group. On 1 thread these tensors are grouped (S = 1600: forward and backward, 1.15 and 1.7 MB;
// S = 1100: backward, 1.2 MB), on 4 they are not (and are tiled differently): the same bits either
// way, and float64's answer. C = 45 ends in a partial group, S = 1600 in a partial run (64
// positions) of whole chunks, S = 1100 in a masked chunk. (Dropping the first chunk's stored
// state fails it.)
TEST(LrnKernels, GroupedChannelWalkGivesTheSameBits) {
    const int before = get_num_threads();
    for (int size : {3, 5, 7})
        for (int S : {1600, 1100}) {
            SCOPED_TRACE("size " + std::to_string(size) + ", S " + std::to_string(S));
            const int N = 2, C = 45;
            LrnParams p;
            p.size = size;
            p.alpha = 0.3;
            p.kappa = 1.2;
            std::vector<double> xd = make_input(N, C, 1, S, 0.3, 1.5, -1, 11), dyd = make_input(N, C, 1, S, 0, 1, -1, 12);
            std::vector<float> x(xd.begin(), xd.end()), dy(dyd.begin(), dyd.end());
            std::vector<float> y[2], dxa[2], dxw[2];
            for (int r = 0; r < 2; ++r) {
                set_num_threads(r == 0 ? 1 : 4);
                y[r].resize(x.size());
                dxa[r].assign(x.size(), 0.25f);
                dxw[r].resize(x.size());
                lrn_forward(x.data(), N, C, S, p, y[r].data());
                lrn_backward(x.data(), dy.data(), N, C, S, p, dxa[r].data(), true);
                lrn_backward(x.data(), dy.data(), N, C, S, p, dxw[r].data(), false);
            }
            set_num_threads(before);
            ASSERT_EQ(0, std::memcmp(y[0].data(), y[1].data(), x.size() * sizeof(float)));
            ASSERT_EQ(0, std::memcmp(dxa[0].data(), dxa[1].data(), x.size() * sizeof(float)));
            ASSERT_EQ(0, std::memcmp(dxw[0].data(), dxw[1].data(), x.size() * sizeof(float)));
            std::vector<double> xr(x.begin(), x.end()), dyr(dy.begin(), dy.end()), yr(x.size()), dxr(x.size(), 0.25);
            lrn_forward(xr.data(), N, C, S, p, yr.data());
            lrn_backward(xr.data(), dyr.data(), N, C, S, p, dxr.data(), true);
            for (size_t k = 0; k < x.size(); ++k) {
                ASSERT_NEAR(y[0][k], yr[k], 2e-6 * (1 + std::fabs(yr[k]))) << k;
                ASSERT_NEAR(dxa[0][k], dxr[k], 1e-5 * (1 + std::fabs(dxr[k]))) << k;
            }
        }
}

// The float32 LRN kernels (vectorized for beta = 3/4 and window sizes 1-7, generic otherwise)
// against the float64 kernels on planes of whole 16-lane blocks (16), whole blocks and a masked
// tail (37 = 2 x 16 + 5), and only a tail (7).
TEST(LrnKernels, Float32FastPathsMatchFloat64) {
    for (int size : {1, 2, 3, 4, 5, 6, 7, 8})
        for (int C : {1, 3, 9})
            for (int S : {37, 16, 7}) {
            SCOPED_TRACE("size " + std::to_string(size) + ", C " + std::to_string(C) + ", S " + std::to_string(S));
            const int N = 2;
            LrnParams p;
            p.size = size;
            p.alpha = 0.3;
            p.beta = 0.75;
            p.kappa = 1.2;
            std::vector<double> xd = make_input(N, C, 1, S, 0.3, 1.5, -1, 7), dyd = make_input(N, C, 1, S, 0, 1, -1, 8);
            std::vector<float> x(xd.begin(), xd.end()), dy(dyd.begin(), dyd.end());
            std::vector<double> xr(x.begin(), x.end()), dyr(dy.begin(), dy.end());
            std::vector<float> y(x.size()), dx(x.size(), 0.5f);
            std::vector<double> yr(x.size()), dxr(x.size(), 0.5);
            lrn_forward(x.data(), N, C, S, p, y.data());
            lrn_forward(xr.data(), N, C, S, p, yr.data());
            lrn_backward(x.data(), dy.data(), N, C, S, p, dx.data(), true);
            lrn_backward(xr.data(), dyr.data(), N, C, S, p, dxr.data(), true);
            for (size_t k = 0; k < x.size(); ++k) {
                ASSERT_NEAR(y[k], yr[k], 2e-6 * (1 + std::fabs(yr[k]))) << k;
                ASSERT_NEAR(dx[k], dxr[k], 1e-5 * (1 + std::fabs(dxr[k]))) << k;
            }
            lrn_backward(x.data(), dy.data(), N, C, S, p, dx.data(), false);
            lrn_backward(xr.data(), dyr.data(), N, C, S, p, dxr.data(), false);
            for (size_t k = 0; k < x.size(); ++k) ASSERT_NEAR(dx[k], dxr[k], 1e-5 * (1 + std::fabs(dxr[k]))) << k;
        }
}
