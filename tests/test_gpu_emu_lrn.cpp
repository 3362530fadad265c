// src/kernels/lrn.cu run on the CPU through tests/cuda_emu.hpp against the CPU specification
// (kernels/lrn.hpp): window sizes 1-7 (the register-window kernels, odd and even) and a larger one
// (the direct kernel); the launch rule's shape and forced ones (1, 2 or 4 positions per thread;
// runs of one channel, a few, 32 with a tail, the whole column); dx written and added.
#define DN_EMU_KERNELS_CU "../src/kernels/lrn.cu"
#include "gpu_emu_util.hpp"
#if DN_EMU_TESTS
#include "kernels/lrn.hpp"
#include "kernels/gpu_tuning.hpp"
#include "test_util.hpp"

namespace {

using emu_test::expect_close;
using emu_test::Tensor;

struct LrnCase {
    int N, C, S, size;
    double alpha, beta, kappa;
    int vec = 0, run = 0;  // forced launch shape (0: the rule's)
    size_t pad = 0;        // odd: unaligned buffers
};

/// Sets dn::gpu_tuning()'s LRN fields for its lifetime.
// Forces LRN's launch shape for its lifetime (0: the rule).
struct LrnTuning : dn::ScopedGpuTuning {
    LrnTuning(int vec, int run) : ScopedGpuTuning(shape(vec, run)) {}
    static dn::GpuTuning shape(int vec, int run) {
        dn::GpuTuning t;
        t.lrn_vec = vec, t.lrn_run = run;
        return t;
    }
};

class GpuEmuLrn : public testing::TestWithParam<LrnCase> {};

TEST_P(GpuEmuLrn, MatchesTheCpu) {
    const LrnCase t = GetParam();
    const size_t n = static_cast<size_t>(t.N) * t.C * t.S;
    dn::LrnParams p;
    p.size = t.size, p.alpha = t.alpha, p.beta = t.beta, p.kappa = t.kappa;
    LrnTuning tuning(t.vec, t.run);
    std::mt19937 g(5);
    Tensor x(n, g, 0.3f, 1.5f, t.pad), dy(n, g, 0.f, 1.f, t.pad), dx0(n, g, 0.f, 1.f, t.pad);
    std::vector<float> y(n), ye(n);
    dn::lrn_forward(x.data(), t.N, t.C, t.S, p, y.data());
    dn::lrn_forward_gpu(x.data(), t.N, t.C, t.S, p, ye.data());
    expect_close("forward y", ye, y);
    for (int accumulate = 0; accumulate < 2; ++accumulate) {
        std::vector<float> dx = dx0.values(), dxe = dx0.values();
        dn::lrn_backward(x.data(), dy.data(), t.N, t.C, t.S, p, dx.data(), accumulate);
        dn::lrn_backward_gpu(x.data(), dy.data(), t.N, t.C, t.S, p, dxe.data(), accumulate);
        expect_close(accumulate ? "dx added" : "dx", dxe, dx);
    }
}

INSTANTIATE_TEST_SUITE_P(Shapes, GpuEmuLrn,
                         testing::Values(LrnCase{2, 8, 16, 5, 0.5, 0.75, 2}, LrnCase{2, 6, 16, 3, 0.3, 0.5, 1},
                                         LrnCase{1, 70, 12, 3, 0.3, 0.75, 1}, LrnCase{2, 40, 9, 5, 0.4, 0.75, 1.5},
                                         LrnCase{2, 10, 7, 4, 0.2, 0.6, 1}, LrnCase{2, 9, 5, 2, 0.2, 0.75, 1},
                                         LrnCase{1, 5, 6, 1, 0.5, 0.75, 1}, LrnCase{2, 37, 5, 7, 0.1, 0.75, 1},
                                         LrnCase{2, 12, 9, 9, 0.2, 0.75, 1},
                                         // forced launch shapes: float4 over whole columns and over
                                         // runs of 32 with a tail, float2 with odd runs, one
                                         // channel per thread, and the rule on unaligned buffers
                                         LrnCase{2, 40, 16, 5, 0.4, 0.75, 1.5, 4, 40},
                                         LrnCase{1, 70, 12, 3, 0.3, 0.75, 1, 4, 32},
                                         LrnCase{2, 37, 10, 7, 0.1, 0.75, 1, 2, 7},
                                         LrnCase{2, 9, 6, 2, 0.2, 0.6, 1, 2, 9},
                                         LrnCase{2, 10, 8, 4, 0.2, 0.75, 1, 4, 3},
                                         LrnCase{2, 6, 5, 5, 0.5, 0.75, 2, 1, 1},
                                         LrnCase{2, 11, 8, 5, 0.5, 0.75, 2, 0, 0, 1}),
                         [](const testing::TestParamInfo<LrnCase>& i) {
                             const LrnCase& c = i.param;
                             std::string name = std::to_string(c.N) + "x" + std::to_string(c.C) + "x" +
                                                std::to_string(c.S) + "_size" + std::to_string(c.size);
                             if (c.vec) name += "_vec" + std::to_string(c.vec) + "_run" + std::to_string(c.run);
                             if (c.pad) name += "_unaligned";
                             return name;
                         });

// The rule's shapes (N*S * runs >= 2^17 from the fewest runs, the widest loads) and the errors of
// a forced shape the tensor cannot take.
TEST(GpuEmuLrnShape, RuleAndForcedShapes) {
    std::vector<float> buf(16);
    const void* al = buf.data();  // std::vector<float> storage: 16-byte aligned (operator new)
    const void* un = buf.data() + 1;
    struct Shape {
        int vec, run;
    };
    auto shape = [&](int N, int C, int S, const void* p) {
        Shape s{};
        const float* f = static_cast<const float*>(p);
        dn::lrn_gpu_shape(N, C, S, f, f, &s.vec, &s.run);
        return s;
    };
    EXPECT_EQ(shape(64, 128, 112 * 112, al).vec, 4);
    EXPECT_EQ(shape(64, 128, 112 * 112, al).run, 128);  // whole columns: no halo
    EXPECT_EQ(shape(32, 256, 56 * 56, al).vec, 4);
    EXPECT_EQ(shape(32, 256, 56 * 56, al).run, 128) << "two runs per column give 2^17 position-runs";
    EXPECT_EQ(shape(32, 256, 56 * 56, un).vec, 1) << "unaligned: scalar loads";
    EXPECT_EQ(shape(32, 256, 14 * 14, al).vec, 4);
    EXPECT_EQ(shape(32, 256, 14 * 14, al).run, 12) << "few positions: 22 runs of 12 channels for enough loads";
    EXPECT_EQ(shape(8, 128, 80 * 80, al).run, 42);
    EXPECT_EQ(shape(2, 50, 128 * 128, al).run, 12) << "GpuAgreement's lrn_5_long_runs_vec4";
    EXPECT_EQ(shape(2, 3, 5, al).vec, 1) << "H*W odd";
    EXPECT_EQ(shape(2, 16, 64, al).vec, 1) << "a small tensor: the most threads";
    EXPECT_EQ(shape(2, 16, 64, al).run, 8);
    {
        LrnTuning t(2, 5);
        EXPECT_EQ(shape(32, 256, 56 * 56, al).vec, 2);
        EXPECT_EQ(shape(32, 256, 56 * 56, al).run, 5);
    }
    LrnTuning t(4, 0);
    EXPECT_NE(dn::test::error_of([&] { shape(2, 3, 6, al); }).find("lrn_vec=4"), std::string::npos);
    EXPECT_NE(dn::test::error_of([&] { shape(2, 3, 8, un); }).find("aligned"), std::string::npos);
}

}  // namespace
#endif  // DN_EMU_TESTS
