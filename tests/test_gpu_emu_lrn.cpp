// src/kernels/lrn.cu run on the CPU through tests/cuda_emu.hpp against the CPU specification
// (kernels/lrn.hpp): window sizes 1-7 (the register-window kernels, odd and even) and a larger one
// (the direct kernel), one run of channels per thread and several, dx written and added.
#ifndef DN_GPU
#include "cuda_emu.hpp"
// clang-format off
#include "kernels/lrn.hpp"
#include "../src/kernels/lrn.cu"
// clang-format on
#include "gpu_emu_util.hpp"

namespace {

using emu_test::expect_close;
using emu_test::Tensor;

struct LrnCase {
    int N, C, S, size;
    double alpha, beta, kappa;
};

class GpuEmuLrn : public testing::TestWithParam<LrnCase> {};

TEST_P(GpuEmuLrn, MatchesTheCpu) {
    const LrnCase t = GetParam();
    const size_t n = static_cast<size_t>(t.N) * t.C * t.S;
    dn::LrnParams p;
    p.size = t.size, p.alpha = t.alpha, p.beta = t.beta, p.kappa = t.kappa;
    std::mt19937 g(5);
    Tensor x(n, g, 0.3f, 1.5f), dy(n, g), dx0(n, g);
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
                                         LrnCase{2, 12, 9, 9, 0.2, 0.75, 1}),
                         [](const testing::TestParamInfo<LrnCase>& i) {
                             const LrnCase& c = i.param;
                             return std::to_string(c.N) + "x" + std::to_string(c.C) + "x" + std::to_string(c.S) +
                                    "_size" + std::to_string(c.size);
                         });

}  // namespace
#endif  // DN_GPU
