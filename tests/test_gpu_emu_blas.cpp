// src/kernels/blas.cu run on the CPU through tests/cuda_emu.hpp against the CPU specification:
// im2col / col2im (kernels/blas.hpp) over strides, paddings, dilations and rectangular windows; the
// per-channel bias add and bias gradient; the SGD step against Layer::update of a real layer; and
// the small elementwise kernels.
#define DN_EMU_KERNELS_CU "../src/kernels/blas.cu"
#include "gpu_emu_util.hpp"
#if DN_EMU_TESTS
#include "kernels/blas.hpp"
#include "test_util.hpp"

namespace {

using emu_test::expect_close;
using emu_test::Tensor;

struct GeomCase {
    int c, h, w, kh, kw, sh, sw, ph, pw, dil;
};

class GpuEmuIm2col : public testing::TestWithParam<GeomCase> {};

TEST_P(GpuEmuIm2col, Im2colAndCol2imMatchTheCpu) {
    const GeomCase t = GetParam();
    dn::ConvGeom g;
    g.channels = t.c, g.height = t.h, g.width = t.w, g.ksize_h = t.kh, g.ksize_w = t.kw;
    g.stride_h = t.sh, g.stride_w = t.sw, g.pad_h = t.ph, g.pad_w = t.pw, g.dilation = t.dil;
    const size_t n_im = static_cast<size_t>(t.c) * t.h * t.w;
    const size_t n_col = static_cast<size_t>(t.c) * t.kh * t.kw * g.out_h() * g.out_w();
    ASSERT_GT(n_col, 0u);
    std::mt19937 r(3);
    Tensor im(n_im, r), col(n_col, r), im0(n_im, r);
    std::vector<float> want(n_col), got(n_col, 7.f);
    dn::im2col(im.data(), g, want.data());
    dn::im2col_gpu(im.data(), g, got.data());
    EXPECT_EQ(got, want) << "im2col (a copy: bit-identical)";
    std::vector<float> back = im0.values(), back_gpu = im0.values();
    dn::col2im_add(col.data(), g, back.data());
    dn::col2im_add_gpu(col.data(), g, back_gpu.data());
    expect_close("col2im added onto an image", back_gpu, back);
}

INSTANTIATE_TEST_SUITE_P(Geometries, GpuEmuIm2col,
                         testing::Values(GeomCase{3, 7, 6, 3, 3, 1, 1, 1, 1, 1}, GeomCase{2, 9, 8, 3, 3, 2, 2, 1, 1, 1},
                                         GeomCase{2, 8, 9, 3, 3, 1, 1, 2, 2, 2}, GeomCase{3, 5, 7, 1, 1, 1, 1, 0, 0, 1},
                                         GeomCase{2, 10, 7, 5, 3, 2, 1, 2, 1, 1}, GeomCase{1, 6, 6, 2, 2, 2, 2, 0, 0, 1},
                                         GeomCase{2, 11, 9, 3, 5, 3, 2, 0, 2, 1}),
                         [](const testing::TestParamInfo<GeomCase>& i) {
                             const GeomCase& c = i.param;
                             return "k" + std::to_string(c.kh) + "x" + std::to_string(c.kw) + "_s" + std::to_string(c.sh) +
                                    std::to_string(c.sw) + "_p" + std::to_string(c.ph) + std::to_string(c.pw) + "_d" +
                                    std::to_string(c.dil);
                         });

// y[n][c][s] += bias[c] and dbias[c] += sum_{n,s} delta[n][c][s], against loops over the layout
// (the CPU layers add the bias inside their GEMM epilogue; this is the definition).
TEST(GpuEmuBlas, BiasAddAndBiasGradient) {
    for (const auto& shape : {std::vector<int>{2, 3, 5}, std::vector<int>{3, 7, 300}, std::vector<int>{1, 33, 1}}) {
        const int N = shape[0], C = shape[1], S = shape[2];
        const size_t n = static_cast<size_t>(N) * C * S;
        std::mt19937 r(N * 100 + C);
        Tensor y(n, r), bias(C, r), d(n, r), db0(C, r);
        std::vector<float> want = y.values(), got = y.values();
        std::vector<double> dbw(db0.v.begin(), db0.v.end());
        for (int b = 0; b < N; ++b)
            for (int c = 0; c < C; ++c)
                for (int s = 0; s < S; ++s) {
                    const size_t i = (static_cast<size_t>(b) * C + c) * S + s;
                    want[i] += bias.data()[c];
                    dbw[c] += d.data()[i];
                }
        dn::add_bias_gpu(got.data(), bias.data(), N, C, S);
        EXPECT_EQ(got, want) << "bias add " << N << "x" << C << "x" << S;
        std::vector<float> db = db0.values();
        dn::bias_grad_gpu(d.data(), N, C, S, db.data());
        expect_close("bias gradient added " + std::to_string(N) + "x" + std::to_string(C) + "x" + std::to_string(S), db,
                     std::vector<float>(dbw.begin(), dbw.end()));
    }
}

// The device SGD step, called as Layer::update_gpu calls it, equals Layer::update of a real
// [connected] layer (weights decay, biases do not).
TEST(GpuEmuBlas, SgdStepMatchesLayerUpdate) {
    auto net = dn::test::net_from<float>("[net]\nbatch=2\nwidth=3\nheight=2\nchannels=2\n[connected]\noutput=5\n");
    dn::Layer<float>& l = *net->layers[0];
    l.alloc_grads();
    std::mt19937 r(9);
    std::normal_distribution<float> nd(0.f, 1.f);
    auto ps = l.params();
    std::vector<std::vector<float>> v0, g0;
    for (auto& p : ps) {
        ASSERT_TRUE(p.grad) << p.name;
        for (size_t i = 0; i < p.size; ++i) p.value[i] = nd(r), p.grad[i] = nd(r);
        v0.emplace_back(p.value, p.value + p.size);
        g0.emplace_back(p.grad, p.grad + p.size);
    }
    dn::UpdateArgs a;
    a.learning_rate = 0.1f, a.momentum = 0.8f, a.decay = 0.05f, a.batch = 4;
    l.update(a);
    ps = l.params();
    for (size_t k = 0; k < ps.size(); ++k) {
        std::vector<float> v = v0[k], g = g0[k];
        dn::sgd_update_gpu(v.data(), g.data(), v.size(), a.learning_rate / a.batch, a.decay * a.batch, a.momentum,
                           ps[k].decay);
        expect_close(ps[k].name + " after the step", v, std::vector<float>(ps[k].value, ps[k].value + ps[k].size));
        expect_close(ps[k].name + " momentum", g, std::vector<float>(ps[k].grad, ps[k].grad + ps[k].size));
    }
}

// The device Adam step, as Layer::update_gpu calls it, equals Layer::update of a real
// [connected] layer over three steps (moments carried, gradients zeroed, every array decayed).
TEST(GpuEmuBlas, AdamStepMatchesLayerUpdate) {
    auto net = dn::test::net_from<float>("[net]\nbatch=2\nwidth=3\nheight=2\nchannels=2\nadam=1\nB1=0.7\nB2=0.9\n"
                                         "[connected]\noutput=5\nbatch_normalize=1\n");
    dn::Layer<float>& l = *net->layers[0];
    l.alloc_grads();
    std::mt19937 r(19);
    std::normal_distribution<float> nd(0.f, 1.f);
    auto ps = l.params();
    std::vector<std::vector<float>> w, m, v;
    for (auto& p : ps) {
        for (size_t i = 0; i < p.size; ++i) p.value[i] = p.name == "rolling_variance" ? 1.f : nd(r);
        w.emplace_back(p.value, p.value + p.size);
        m.emplace_back(p.size, 0.f);
        v.emplace_back(p.size, 0.f);
    }
    dn::UpdateArgs a = net->update_args(0.02f);
    a.decay = 0.05f;
    for (int t = 1; t <= 3; ++t) {
        std::vector<std::vector<float>> g;
        for (auto& p : ps) {
            for (size_t i = 0; p.grad && i < p.size; ++i) p.grad[i] = nd(r);
            g.emplace_back(p.grad ? p.grad : p.value, (p.grad ? p.grad : p.value) + p.size);
        }
        l.update(a);
        const dn::AdamStep<float> s = dn::make_adam_step<float>(a.learning_rate, a.B1, a.B2, a.eps, a.decay * a.batch, t);
        ps = l.params();
        for (size_t k = 0; k < ps.size(); ++k) {
            if (!ps[k].grad) continue;
            dn::adam_update_gpu(w[k].data(), g[k].data(), m[k].data(), v[k].data(), w[k].size(), s);
            expect_close(ps[k].name + " after the step", w[k], std::vector<float>(ps[k].value, ps[k].value + ps[k].size));
            expect_close(ps[k].name + " first moment", m[k], l.adam.m[k]);
            expect_close(ps[k].name + " second moment", v[k], l.adam.v[k]);
            EXPECT_EQ(g[k], std::vector<float>(ps[k].size, 0.f)) << ps[k].name << ": the gradient is zeroed";
        }
    }
}

TEST(GpuEmuBlas, FillAxpyAndStridedRowCopies) {
    std::mt19937 r(4);
    Tensor x(1000, r), y(1000, r);
    std::vector<float> f(1000, 0.f);
    dn::fill_gpu(f.data(), f.size(), 2.5f);
    EXPECT_EQ(f, std::vector<float>(1000, 2.5f));
    std::vector<float> want = y.values(), got = y.values();
    for (size_t i = 0; i < want.size(); ++i) want[i] += -0.75f * x.data()[i];
    dn::axpy_gpu(got.size(), -0.75f, x.data(), got.data());
    EXPECT_EQ(got, want);
    // 7 rows of 9 values from rows 13 apart into rows 11 apart, written then added
    Tensor src(7 * 13, r), dst(7 * 11, r);
    for (int acc = 0; acc < 2; ++acc) {
        std::vector<float> w = dst.values(), gd = dst.values();
        for (int row = 0; row < 7; ++row)
            for (int k = 0; k < 9; ++k) w[row * 11 + k] = (acc ? w[row * 11 + k] : 0.f) + src.data()[row * 13 + k];
        dn::copy_rows_gpu(src.data(), 13, gd.data(), 11, 7, 9, acc);
        EXPECT_EQ(gd, w) << (acc ? "rows added" : "rows copied");
    }
}

}  // namespace
#endif  // DN_EMU_TESTS
