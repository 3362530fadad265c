// src/kernels/batchnorm.cu run on the CPU through tests/cuda_emu.hpp against the CPU specification
// (kernels/batchnorm.hpp): training and eval, forward and backward, one block or several per
// channel, float4-aligned and unaligned buffers, y in place over x, dx written, added, and in
// place over dy.
#define DN_EMU_KERNELS_CU "../src/kernels/batchnorm.cu"
#include "gpu_emu_util.hpp"
#if DN_EMU_TESTS
#include "kernels/batchnorm.hpp"

namespace {

using emu_test::expect_close;
using emu_test::Tensor;

struct BnCase {
    int N, C, S;
    size_t pad;     // odd: unaligned buffers (scalar path)
    int chunk = 0;  // values per reduction block (gpu_tuning().norm_chunk; 0: the rule)
    int units = 0;  // units per thread of the elementwise passes (gpu_tuning().elem_units; 0: the rule)
};

class GpuEmuBatchnorm : public testing::TestWithParam<BnCase> {};

TEST_P(GpuEmuBatchnorm, TrainAndEvalMatchTheCpu) {
    const BnCase t = GetParam();
    dn::GpuTuning tune;
    tune.norm_chunk = t.chunk;
    tune.elem_units = t.units;
    const dn::ScopedGpuTuning tuning(tune);
    const size_t n = static_cast<size_t>(t.N) * t.C * t.S, C = t.C;
    std::mt19937 g(7);
    Tensor x(n, g, 0.5f, 2.f, t.pad), dy(n, g, 0.f, 1.f, t.pad), gamma(C, g, 1.f, 0.5f), beta(C, g), rm(C, g),
        rv(C, g, 2.f, 0.3f), dg0(C, g), db0(C, g), dx0(n, g, 0.f, 1.f, t.pad);
    const double eps = dn::kBatchnormEps;

    // forward, training: y, batch statistics, rolling statistics
    std::vector<float> y(n), mean(C), inv(C), rm_c = rm.values(), rv_c = rv.values();
    dn::batchnorm_forward_train(x.data(), t.N, t.C, t.S, gamma.data(), beta.data(), y.data(), mean.data(), inv.data(),
                                rm_c.data(), rv_c.data(), eps);
    Tensor ye(n, g, 0.f, 1.f, t.pad);
    std::vector<float> mean_e(C), inv_e(C), rm_e = rm.values(), rv_e = rv.values();
    dn::batchnorm_forward_train_gpu(x.data(), t.N, t.C, t.S, gamma.data(), beta.data(), ye.data(), mean_e.data(),
                                    inv_e.data(), rm_e.data(), rv_e.data(), eps, dn::kBatchnormMomentum);
    expect_close("forward y", ye.values(), y);
    expect_close("mean", mean_e, mean);
    expect_close("inv_std", inv_e, inv);
    expect_close("rolling_mean", rm_e, rm_c);
    expect_close("rolling_var", rv_e, rv_c);
    Tensor xy = x;  // y in place over x, as the CPU function allows
    dn::batchnorm_forward_train_gpu(xy.data(), t.N, t.C, t.S, gamma.data(), beta.data(), xy.data(), mean_e.data(),
                                    inv_e.data(), nullptr, nullptr, eps, dn::kBatchnormMomentum);
    expect_close("forward y in place", xy.values(), y);

    // backward, training: dx written, added, and in place over dy; dgamma/dbeta added
    for (int mode = 0; mode < 3; ++mode) {
        const bool accumulate = mode == 1, in_place = mode == 2;
        std::vector<float> dx = dx0.values(), dgc = dg0.values(), dbc = db0.values();
        dn::batchnorm_backward_train(x.data(), dy.data(), t.N, t.C, t.S, gamma.data(), mean.data(), inv.data(), dx.data(),
                                     accumulate, dgc.data(), dbc.data());
        Tensor dxe = dx0, dye = dy;
        std::vector<float> dge = dg0.values(), dbe = db0.values();
        float* out = in_place ? dye.data() : dxe.data();
        dn::batchnorm_backward_train_gpu(x.data(), dye.data(), t.N, t.C, t.S, gamma.data(), mean.data(), inv.data(), out,
                                         accumulate, dge.data(), dbe.data());
        const std::string m = " (mode " + std::to_string(mode) + ")";
        expect_close("dx" + m, in_place ? dye.values() : dxe.values(), dx);
        expect_close("dgamma" + m, dge, dgc);
        expect_close("dbeta" + m, dbe, dbc);
    }

    // eval: forward with the rolling statistics, backward through them
    dn::batchnorm_forward_eval(x.data(), t.N, t.C, t.S, gamma.data(), beta.data(), rm.data(), rv.data(), y.data(), eps);
    dn::batchnorm_forward_eval_gpu(x.data(), t.N, t.C, t.S, gamma.data(), beta.data(), rm.data(), rv.data(), ye.data(), eps);
    expect_close("eval y", ye.values(), y);
    for (int accumulate = 0; accumulate < 2; ++accumulate) {
        std::vector<float> dx = dx0.values(), dgc = dg0.values(), dbc = db0.values();
        dn::batchnorm_backward_eval(x.data(), dy.data(), t.N, t.C, t.S, gamma.data(), rm.data(), rv.data(), dx.data(),
                                    accumulate, dgc.data(), dbc.data(), eps);
        Tensor dxe = dx0;
        std::vector<float> dge = dg0.values(), dbe = db0.values();
        dn::batchnorm_backward_eval_gpu(x.data(), dy.data(), t.N, t.C, t.S, gamma.data(), rm.data(), rv.data(), dxe.data(),
                                        accumulate, dge.data(), dbe.data(), eps);
        expect_close("eval dx", dxe.values(), dx);
        expect_close("eval dgamma", dge, dgc);
        expect_close("eval dbeta", dbe, dbc);
    }
}

// One block per channel (N*S <= 8192) and several (more), planes that are and are not a multiple
// of 4, aligned and unaligned buffers, S = 1 (connected layers), and block sizes forced.
INSTANTIATE_TEST_SUITE_P(Shapes, GpuEmuBatchnorm,
                         testing::Values(BnCase{2, 3, 36, 0}, BnCase{2, 3, 36, 1}, BnCase{3, 2, 35, 0},
                                         BnCase{8, 5, 1, 0}, BnCase{2, 3, 4352, 0}, BnCase{2, 2, 4352, 1},
                                         BnCase{4, 2, 5183, 0},
                                         // forced block sizes: several small blocks per channel
                                         // (a last block shorter than the rest), and one
                                         // block for a channel the rule would split
                                         BnCase{2, 3, 36, 0, 32}, BnCase{3, 2, 35, 1, 50},
                                         BnCase{2, 2, 4352, 0, 1000}, BnCase{4, 2, 5183, 0, 1 << 20},
                                         // more than 32 blocks per channel (lanes of the finalizing warp take two)
                                         BnCase{2, 3, 1100, 0, 32},
                                         // one block per channel, threads ending on 3 units (walk_rest)
                                         BnCase{3, 2, 1200, 0},
                                         // one unit per thread in the elementwise passes (elem_units=1)
                                         BnCase{2, 2, 4352, 1, 0, 1}, BnCase{4, 2, 5183, 0, 0, 1}),
                         [](const testing::TestParamInfo<BnCase>& i) {
                             const BnCase& c = i.param;
                             return std::to_string(c.N) + "x" + std::to_string(c.C) + "x" + std::to_string(c.S) +
                                    (c.pad ? "_unaligned" : "") + (c.chunk ? "_chunk" + std::to_string(c.chunk) : "") +
                                    (c.units ? "_units" + std::to_string(c.units) : "");
                         });

// Statistics of data far from zero (mean 1000, sd 1: E[x^2] - E[x]^2 in float would cancel six
// of its seven digits): the GPU's float Welford/Chan statistics against the CPU's double-precision
// ones, with one block per channel and with several (emu_test::expect_large_mean_stats). The naive
// float formula is computed too, to show that the test tells the two apart.
TEST(GpuEmuBatchnormStats, LargeMeanKeepsItsDigits) {
    for (const BnCase t : {BnCase{2, 2, 4096, 0}, BnCase{8, 2, 4096, 0}, BnCase{8, 2, 4095, 0}}) {
        const size_t n = static_cast<size_t>(t.N) * t.C * t.S, C = t.C;
        std::mt19937 g(11);
        Tensor x(n, g, 1000.f, 1.f), gamma(C, g, 1.f, 0.5f), beta(C, g);
        std::vector<float> y(n), mean(C), inv(C), ye(n), mean_e(C), inv_e(C);
        dn::batchnorm_forward_train(x.data(), t.N, t.C, t.S, gamma.data(), beta.data(), y.data(), mean.data(), inv.data(),
                                    static_cast<float*>(nullptr), static_cast<float*>(nullptr), dn::kBatchnormEps);
        dn::batchnorm_forward_train_gpu(x.data(), t.N, t.C, t.S, gamma.data(), beta.data(), ye.data(), mean_e.data(),
                                        inv_e.data(), nullptr, nullptr, dn::kBatchnormEps, dn::kBatchnormMomentum);
        const std::string shape = std::to_string(t.N) + "x" + std::to_string(t.C) + "x" + std::to_string(t.S);
        emu_test::expect_large_mean_stats(shape, mean_e, mean, inv_e, inv, ye, y);
        for (size_t c = 0; c < C; ++c) {
            float s = 0.f, s2 = 0.f;
            for (int b = 0; b < t.N; ++b)
                for (int k = 0; k < t.S; ++k) {
                    const float v = x.data()[(static_cast<size_t>(b) * C + c) * t.S + k];
                    s += v, s2 += v * v;
                }
            const float m = s / (t.N * t.S), naive_var = s2 / (t.N * t.S) - m * m;
            const double var = 1.0 / (static_cast<double>(inv[c]) * inv[c]) - dn::kBatchnormEps;
            EXPECT_GT(std::fabs(naive_var / var - 1), 1e-2) << "the naive formula would pass this test";
        }
    }
}

}  // namespace
#endif  // DN_EMU_TESTS
