// src/kernels/groupnorm.cu run on the CPU through tests/cuda_emu.hpp against the CPU specification
// (kernels/groupnorm.hpp): forward and backward, one block or several per group, float4-aligned
// and unaligned buffers, dx written, added, and in place over dy.
#define DN_EMU_KERNELS_CU "../src/kernels/groupnorm.cu"
#include "gpu_emu_util.hpp"
#if DN_EMU_TESTS
#include "kernels/groupnorm.hpp"

namespace {

using emu_test::expect_close;
using emu_test::Tensor;

struct GnCase {
    int N, C, S, G;
    size_t pad;     // odd: unaligned buffers (scalar path)
    int chunk = 0;  // values per reduction block (gpu_tuning().norm_chunk; 0: the rule)
    int units = 0;  // units per thread of the elementwise passes (gpu_tuning().elem_units; 0: the rule)
};

class GpuEmuGroupnorm : public testing::TestWithParam<GnCase> {};

TEST_P(GpuEmuGroupnorm, MatchesTheCpu) {
    const GnCase t = GetParam();
    dn::GpuTuning tune;
    tune.norm_chunk = t.chunk;
    tune.elem_units = t.units;
    const dn::ScopedGpuTuning tuning(tune);
    const size_t n = static_cast<size_t>(t.N) * t.C * t.S, C = t.C, Q = static_cast<size_t>(t.N) * t.G;
    std::mt19937 g(11);
    Tensor x(n, g, 0.5f, 2.f, t.pad), dy(n, g, 0.f, 1.f, t.pad), gamma(C, g, 1.f, 0.5f), beta(C, g), dg0(C, g),
        db0(C, g), dx0(n, g, 0.f, 1.f, t.pad);
    const double eps = dn::kGroupnormEps;

    std::vector<float> y(n), mean(Q), inv(Q);
    dn::groupnorm_forward(x.data(), t.N, t.C, t.S, t.G, gamma.data(), beta.data(), eps, y.data(), mean.data(), inv.data());
    Tensor ye(n, g, 0.f, 1.f, t.pad);
    std::vector<float> mean_e(Q), inv_e(Q);
    dn::groupnorm_forward_gpu(x.data(), t.N, t.C, t.S, t.G, gamma.data(), beta.data(), eps, ye.data(), mean_e.data(),
                              inv_e.data());
    expect_close("forward y", ye.values(), y);
    expect_close("mean", mean_e, mean);
    expect_close("inv_std", inv_e, inv);

    for (int mode = 0; mode < 3; ++mode) {  // dx written, added, in place over dy
        const bool accumulate = mode == 1, in_place = mode == 2;
        std::vector<float> dx = dx0.values(), dgc = dg0.values(), dbc = db0.values();
        dn::groupnorm_backward(x.data(), dy.data(), t.N, t.C, t.S, t.G, gamma.data(), mean.data(), inv.data(), dx.data(),
                               accumulate, dgc.data(), dbc.data());
        Tensor dxe = dx0, dye = dy;
        std::vector<float> dge = dg0.values(), dbe = db0.values();
        float* out = in_place ? dye.data() : dxe.data();
        dn::groupnorm_backward_gpu(x.data(), dye.data(), t.N, t.C, t.S, t.G, gamma.data(), mean.data(), inv.data(), out,
                                   accumulate, dge.data(), dbe.data());
        const std::string m = " (mode " + std::to_string(mode) + ")";
        expect_close("dx" + m, in_place ? dye.values() : dxe.values(), dx);
        expect_close("dgamma" + m, dge, dgc);
        expect_close("dbeta" + m, dbe, dbc);
    }
}

// One block per group and several ((C/G)*S > 8192), planes that are and are not a multiple of 4,
// aligned and unaligned buffers, and N*C >= 4096 planes (the backward's warp-per-plane sums).
INSTANTIATE_TEST_SUITE_P(Shapes, GpuEmuGroupnorm,
                         testing::Values(GnCase{2, 8, 36, 4, 0}, GnCase{2, 8, 36, 4, 1}, GnCase{2, 4, 9, 2, 0},
                                         GnCase{2, 8, 4096, 2, 0}, GnCase{1, 4, 4361, 1, 0},
                                         GnCase{64, 64, 4, 16, 0}, GnCase{64, 64, 3, 16, 0},
                                         // forced block sizes (norm_chunk): several small blocks
                                         // per group, and one for a group the rule would split
                                         GnCase{2, 8, 36, 4, 0, 32}, GnCase{2, 8, 36, 4, 1, 50},
                                         GnCase{1, 4, 4361, 1, 0, 1 << 20},
                                         // more than 32 blocks per group (lanes of the finalizing warp take two)
                                         GnCase{2, 8, 600, 4, 0, 32},
                                         // one block per group, threads ending on 3 units (walk_rest)
                                         GnCase{1, 4, 900, 1, 0},
                                         // a warp per plane with lane 0 ending on 3 units, the others on 2
                                         GnCase{64, 64, 65, 16, 1},
                                         // one unit per thread in the elementwise passes (elem_units=1)
                                         GnCase{1, 4, 4361, 1, 0, 0, 1}, GnCase{64, 64, 4, 16, 0, 0, 1}),
                         [](const testing::TestParamInfo<GnCase>& i) {
                             const GnCase& c = i.param;
                             return std::to_string(c.N) + "x" + std::to_string(c.C) + "x" + std::to_string(c.S) + "_g" +
                                    std::to_string(c.G) + (c.pad ? "_unaligned" : "") +
                                    (c.chunk ? "_chunk" + std::to_string(c.chunk) : "") +
                                    (c.units ? "_units" + std::to_string(c.units) : "");
                         });

// Statistics of data far from zero (mean 1000, sd 1), one block per group and several: see
// GpuEmuBatchnormStats.LargeMeanKeepsItsDigits.
TEST(GpuEmuGroupnormStats, LargeMeanKeepsItsDigits) {
    struct Shape {
        int N, C, S, G;
    };
    for (const Shape t : {Shape{2, 8, 1024, 4}, Shape{2, 4, 16384, 2}, Shape{1, 6, 9999, 3}}) {
        const size_t n = static_cast<size_t>(t.N) * t.C * t.S, Q = static_cast<size_t>(t.N) * t.G;
        std::mt19937 g(12);
        Tensor x(n, g, 1000.f, 1.f), gamma(t.C, g, 1.f, 0.5f), beta(t.C, g);
        std::vector<float> y(n), mean(Q), inv(Q), ye(n), mean_e(Q), inv_e(Q);
        dn::groupnorm_forward(x.data(), t.N, t.C, t.S, t.G, gamma.data(), beta.data(), dn::kGroupnormEps, y.data(),
                              mean.data(), inv.data());
        dn::groupnorm_forward_gpu(x.data(), t.N, t.C, t.S, t.G, gamma.data(), beta.data(), dn::kGroupnormEps, ye.data(),
                                  mean_e.data(), inv_e.data());
        emu_test::expect_large_mean_stats(std::to_string(t.N) + "x" + std::to_string(t.C) + "x" + std::to_string(t.S) +
                                              " G" + std::to_string(t.G),
                                          mean_e, mean, inv_e, inv, ye, y);
    }
}

}  // namespace
#endif  // DN_EMU_TESTS
