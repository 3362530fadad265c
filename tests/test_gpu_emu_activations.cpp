// src/kernels/activations.cu run on the CPU through tests/cuda_emu.hpp against the CPU
// specification (kernels/activations.hpp): every activation, in place, fused with a per-channel
// bias (keeping the pre-activation input), and its gradient.
#define DN_EMU_KERNELS_CU "../src/kernels/activations.cu"
#include "gpu_emu_util.hpp"
#if DN_EMU_TESTS
#include "kernels/activations.hpp"

namespace {

using emu_test::Tensor;

constexpr dn::Activation kAll[] = {
    dn::Activation::Linear, dn::Activation::Logistic, dn::Activation::Loggy,   dn::Activation::Relu,
    dn::Activation::Elu,    dn::Activation::Selu,     dn::Activation::Relie,   dn::Activation::Ramp,
    dn::Activation::Leaky,  dn::Activation::Tanh,     dn::Activation::Plse,    dn::Activation::Hardtan,
    dn::Activation::Lhtan,  dn::Activation::Relu6,    dn::Activation::Mish,    dn::Activation::HardMish,
    dn::Activation::Swish,  dn::Activation::Gelu};

class GpuEmuActivation : public testing::TestWithParam<dn::Activation> {};

// The kernels call the CPU's act::f / act::df: the activations are the CPU's bit for bit (the
// gradients up to FMA contraction, which the compiler chooses per call site).
TEST_P(GpuEmuActivation, ForwardBiasAndGradientMatchTheCpu) {
    const dn::Activation a = GetParam();
    const int N = 2, C = 3, S = 37;
    const size_t n = static_cast<size_t>(N) * C * S;
    std::mt19937 r(static_cast<unsigned>(a) + 1);
    Tensor x(n, r, 0.f, 4.f), bias(C, r), d(n, r);  // sd 4: both sides of every kink and clip
    std::vector<float> want = x.values(), got = x.values();
    dn::activate_array(want.data(), n, a);
    dn::activate_gpu(got.data(), n, a);
    EXPECT_EQ(got, want) << "activate";

    std::vector<float> u = x.values();  // the fused epilogue: u = y + bias[c], y = f(u)
    for (size_t i = 0; i < n; ++i) u[i] += bias.data()[(i / S) % C];
    std::vector<float> fu = u;
    dn::activate_array(fu.data(), n, a);
    std::vector<float> y = x.values(), keep(n, -1.f);
    dn::bias_activate_gpu(y.data(), bias.data(), N, C, S, a, keep.data());
    EXPECT_EQ(y, fu) << "bias + activate";
    EXPECT_EQ(keep, u) << "kept pre-activation input";
    std::vector<float> y2 = x.values(), fx = x.values();
    dn::activate_array(fx.data(), n, a);
    dn::bias_activate_gpu(y2.data(), nullptr, N, C, S, a, nullptr);
    EXPECT_EQ(y2, fx) << "no bias, nothing kept";

    std::vector<float> gw = d.values(), gg = d.values();
    dn::gradient_array(fu.data(), u.data(), n, a, gw.data());
    dn::gradient_gpu(fu.data(), u.data(), n, a, gg.data());
    emu_test::expect_close("gradient", gg, gw);  // contraction into FMAs may differ in the last bit
}

INSTANTIATE_TEST_SUITE_P(All, GpuEmuActivation, testing::ValuesIn(kAll),
                         [](const testing::TestParamInfo<dn::Activation>& i) {
                             return std::string(dn::activation_name(i.param));
                         });

TEST(GpuEmuActivations, GradientWithoutTheInputItNeedsIsAClearError) {
    std::vector<float> y(4, 0.5f), d(4, 1.f);
    try {
        dn::gradient_gpu(y.data(), nullptr, 4, dn::Activation::Mish, d.data());
        FAIL() << "expected dn::Error";
    } catch (const dn::Error& e) {
        EXPECT_NE(std::string(e.what()).find("needs its input"), std::string::npos) << e.what();
    }
}

}  // namespace
#endif  // DN_EMU_TESTS
