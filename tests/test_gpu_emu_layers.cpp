// src/kernels/layers_gpu.cu run on the CPU through tests/cuda_emu.hpp against the CPU layers
// themselves (src/layers/*.cpp, run through a Network built from cfg text): maxpool (overlapping
// windows, padding, unequal strides, windows wholly in the padding), local_avgpool (the same
// windows), avgpool, upsample, shortcut (downsampling and upsampling maps), reorg / reorg3d,
// scale_channels / sam, softmax (a warp per group and a thread per group, with a temperature;
// Jacobian backward and the cross-entropy loss), dropout. The forward outputs and the gradients
// ADDED onto a pattern already in dL/dx must agree; maxpool, local_avgpool, shortcut and reorg are
// bit-identical (the same additions in the same order).
#define DN_EMU_KERNELS_CU "../src/kernels/layers_gpu.cu"
#include "gpu_emu_util.hpp"
#if DN_EMU_TESTS
#include "layers/cost_layer.hpp"
#include "layers/local_avgpool_layer.hpp"
#include "layers/maxpool_layer.hpp"
#include "layers/reorg_layer.hpp"
#include "layers/scale_channels_layer.hpp"
#include "layers/softmax_layer.hpp"
#include "layers/upsample_layer.hpp"
#include "layers/yolo_layer.hpp"
#include "test_util.hpp"

namespace {

using emu_test::expect_close;
using emu_test::Tensor;

std::string net_cfg(int batch, int w, int h, int c, const std::string& layers) {
    return "[net]\nbatch=" + std::to_string(batch) + "\nwidth=" + std::to_string(w) + "\nheight=" + std::to_string(h) +
           "\nchannels=" + std::to_string(c) + "\n" + layers;
}

/// A one-layer network on the CPU: forward (training) on x, then backward of `upstream` with
/// dL/dx added onto `dx` (which holds a pattern beforehand).
struct OneLayer {
    std::unique_ptr<dn::Network<float>> net;
    dn::Layer<float>* l;
    OneLayer(const std::string& cfg, const float* x, const std::vector<float>& upstream, std::vector<float>& dx,
             const float* truth = nullptr) {
        net = dn::test::net_from<float>(cfg);
        l = net->layers.back().get();
        net->forward(x, true, truth);
        net->ensure_grads();
        l->ensure_delta();
        if (!truth) std::copy(upstream.begin(), upstream.end(), l->delta.begin());
        net->backward(dx.data());
    }
    std::vector<float> output() const { return {l->output.begin(), l->output.end()}; }
};

struct PoolCase {
    std::string name, layer;
    int w, h, c;
};
void PrintTo(const PoolCase& c, std::ostream* os) { *os << c.name; }

class GpuEmuMaxpool : public testing::TestWithParam<PoolCase> {};

TEST_P(GpuEmuMaxpool, ForwardAndGatherBackwardAreTheCpusBitForBit) {
    const PoolCase& t = GetParam();
    const int batch = 2;
    const std::string cfg = net_cfg(batch, t.w, t.h, t.c, "[maxpool]\n" + t.layer);
    auto probe = dn::test::net_from<float>(cfg);
    auto& m = dynamic_cast<dn::MaxpoolLayer<float>&>(*probe->layers[0]);
    const size_t n_in = static_cast<size_t>(batch) * m.inputs(), n_out = static_cast<size_t>(batch) * m.outputs();
    std::mt19937 r(17);
    Tensor x(n_in, r), up(n_out, r), dx0(n_in, r);
    // ties: a few repeated values, so that the first maximum of a window must win, as on the CPU
    for (size_t i = 0; i + 3 < n_in; i += 7) x.data()[i + 1] = x.data()[i];
    std::vector<float> dx = dx0.values();
    OneLayer cpu(cfg, x.data(), up.values(), dx);

    const int planes = batch * m.c, off = -m.padding / 2;
    std::vector<float> y(n_out, 9.f), dxe = dx0.values();
    std::vector<int> idx(n_out, -7);
    dn::maxpool_forward_gpu(x.data(), planes, m.w, m.h, m.size, m.stride_x, m.stride_y, off, m.out_w, m.out_h, y.data(),
                            idx.data());
    EXPECT_EQ(y, cpu.output()) << "forward";
    dn::maxpool_backward_gpu(up.data(), idx.data(), planes, m.w, m.h, m.size, m.stride_x, m.stride_y, off, m.out_w,
                             m.out_h, dxe.data());
    EXPECT_EQ(dxe, dx) << "dL/dx added onto a pattern";
}

std::vector<PoolCase> pool_windows() {
    return {PoolCase{"2x2_s2", "size=2\nstride=2\n", 8, 6, 3}, PoolCase{"2x2_s2_odd", "size=2\nstride=2\n", 7, 5, 2},
            PoolCase{"3x3_s1_overlap", "size=3\nstride=1\n", 6, 7, 2},
            PoolCase{"3x3_s2_overlap", "size=3\nstride=2\n", 9, 8, 2},
            PoolCase{"5x5_s1_pad4", "size=5\nstride=1\npadding=4\n", 6, 5, 2},
            PoolCase{"2x2_s1_yolo_tiny", "size=2\nstride=1\n", 5, 5, 3},
            PoolCase{"stride_x2_y1", "size=3\nstride_x=2\nstride_y=1\n", 8, 6, 2},
            PoolCase{"windows_in_padding", "size=1\nstride=1\npadding=2\n", 4, 3, 2}};
}
std::string pool_name(const testing::TestParamInfo<PoolCase>& i) { return i.param.name; }

INSTANTIATE_TEST_SUITE_P(Windows, GpuEmuMaxpool, testing::ValuesIn(pool_windows()), pool_name);

// [local_avgpool]: the same window geometries; the kernels add the CPU's terms in the CPU's order.
class GpuEmuLocalAvgpool : public testing::TestWithParam<PoolCase> {};

TEST_P(GpuEmuLocalAvgpool, ForwardAndGatherBackwardAreTheCpusBitForBit) {
    const PoolCase& t = GetParam();
    const int batch = 2;
    const std::string cfg = net_cfg(batch, t.w, t.h, t.c, "[local_avgpool]\n" + t.layer);
    auto probe = dn::test::net_from<float>(cfg);
    auto& m = dynamic_cast<dn::LocalAvgpoolLayer<float>&>(*probe->layers[0]);
    const size_t n_in = static_cast<size_t>(batch) * m.inputs(), n_out = static_cast<size_t>(batch) * m.outputs();
    std::mt19937 r(23);
    Tensor x(n_in, r), up(n_out, r), dx0(n_in, r);
    std::vector<float> dx = dx0.values();
    OneLayer cpu(cfg, x.data(), up.values(), dx);
    const dn::PoolWindow& p = m.win;
    std::vector<float> y(n_out, 9.f), dxe = dx0.values();
    dn::local_avgpool_forward_gpu(x.data(), batch * m.c, m.w, m.h, p.size, p.stride_x, p.stride_y, p.offset(), m.out_w,
                                  m.out_h, y.data());
    EXPECT_EQ(y, cpu.output()) << "forward";
    dn::local_avgpool_backward_gpu(up.data(), batch * m.c, m.w, m.h, p.size, p.stride_x, p.stride_y, p.offset(),
                                   m.out_w, m.out_h, dxe.data());
    EXPECT_EQ(dxe, dx) << "dL/dx added onto a pattern";
    if (t.name == "windows_in_padding") {  // a window wholly in the padding: 0, and no gradient from it
        EXPECT_EQ(y[0], 0.f);
    }
}

INSTANTIATE_TEST_SUITE_P(Windows, GpuEmuLocalAvgpool, testing::ValuesIn(pool_windows()), pool_name);

// [reorg] (Darknet's mapping, and its reverse) and [reorg3d]: a permutation forward and its
// transpose added onto a pattern backward, bit for bit.
TEST(GpuEmuLayers, ReorgPermutationsAreTheCpus) {
    struct Case {
        const char* name;
        int w, h, c;
        std::string layer;
        bool reverse;
    };
    const Case cases[] = {{"reorg_s2", 6, 4, 8, "[reorg]\nstride=2\n", false},
                          {"reorg_s3", 6, 3, 9, "[reorg]\nstride=3\n", false},
                          {"reorg_reverse", 3, 2, 8, "[reorg]\nstride=2\nreverse=1\n", true},
                          {"reorg3d", 6, 4, 3, "[reorg3d]\nstride=2\n", false}};
    for (const Case& t : cases) {
        const int batch = 2;
        const std::string cfg = net_cfg(batch, t.w, t.h, t.c, t.layer);
        auto probe = dn::test::net_from<float>(cfg);
        auto& l = dynamic_cast<dn::ReorgLayer<float>&>(*probe->layers[0]);
        const size_t n = static_cast<size_t>(batch) * l.inputs();
        ASSERT_EQ(l.map().size(), n) << t.name;
        std::mt19937 r(31);
        Tensor x(n, r), up(n, r), dx0(n, r);
        std::vector<float> dx = dx0.values();
        OneLayer cpu(cfg, x.data(), up.values(), dx);
        std::vector<float> y(n, 9.f), dxe = dx0.values();
        dn::reorg_gpu(x.data(), l.map(), !t.reverse, false, y.data());
        EXPECT_EQ(y, cpu.output()) << t.name << " forward";
        EXPECT_NE(y, x.values()) << t.name << ": not the identity";
        dn::reorg_gpu(up.data(), l.map(), t.reverse, true, dxe.data());
        EXPECT_EQ(dxe, dx) << t.name << " dL/dx added onto a pattern";
    }
}

// [scale_channels] (channel scales, and scale_wh's position scales) and [sam]: forward, dL/da
// into the from= layer's delta and dL/dp into the previous layer's, each added onto a pattern.
// S = 300 > 256: a channel's sum takes more than one pass of the block.
TEST(GpuEmuLayers, ScaleChannelsAndSamMatchTheCpu) {
    struct Case {
        const char* name;
        int pc, ph, pw;  // the scales' shape (the previous layer's output)
        std::string keys;
    };
    const int batch = 2, w = 20, h = 15, c = 3;
    const Case cases[] = {{"channel", c, 1, 1, ""}, {"scale_wh", 1, h, w, "scale_wh=1\n"}, {"sam", c, h, w, ""}};
    for (const Case& t : cases) {
        const bool sam = std::string(t.name) == "sam";
        // layer 0 (a): the input through a 1x1 maxpool; layers 1-2 (p): a 1x1 convolution, then
        // [avgpool] for channel scales or another 1x1 maxpool; layer 3 scales layer 0 by layer 2
        const std::string layers = "[maxpool]\nsize=1\nstride=1\n[convolutional]\nfilters=" + std::to_string(t.pc) +
                                   "\nsize=1\nactivation=linear\n" +
                                   (t.pw == 1 ? "[avgpool]\n" : "[maxpool]\nsize=1\nstride=1\n") +
                                   (sam ? "[sam]\n" : "[scale_channels]\n") + "from=-3\n" + t.keys;
        auto net = dn::test::net_from<float>(net_cfg(batch, w, h, c, layers));
        std::mt19937 r(41);
        Tensor x(static_cast<size_t>(batch) * net->inputs(), r);
        net->forward(x.data(), true);
        net->ensure_grads();
        dn::Layer<float>& a = *net->layers[0];
        dn::Layer<float>& p = *net->layers[2];
        auto& sc = dynamic_cast<dn::ScaleChannelsLayer<float>&>(*net->layers[3]);
        ASSERT_EQ(p.out_c * p.out_h * p.out_w, t.pc * t.ph * t.pw) << t.name;
        std::vector<float> y(sc.output.size(), 9.f);
        dn::scale_channels_forward_gpu(a.output.data(), p.output.data(), y.size(), sc.map(), y.data());
        EXPECT_EQ(y, std::vector<float>(sc.output.begin(), sc.output.end())) << t.name << " forward";

        Tensor up(sc.delta.size(), r), da0(a.delta.size(), r), dp0(p.delta.size(), r);
        std::copy(up.v.begin(), up.v.end(), sc.delta.begin());
        std::copy(da0.v.begin(), da0.v.end(), a.delta.begin());
        std::copy(dp0.v.begin(), dp0.v.end(), p.delta.begin());
        net->backward_layer(3);
        std::vector<float> da = da0.values(), dp = dp0.values();
        dn::scale_channels_backward_gpu(a.output.data(), p.output.data(), up.data(), up.size(), sc.map(), da.data(),
                                        dp.data());
        expect_close(std::string(t.name) + " dL/da added", da, std::vector<float>(a.delta.begin(), a.delta.end()));
        expect_close(std::string(t.name) + " dL/dp added", dp, std::vector<float>(p.delta.begin(), p.delta.end()));
        EXPECT_GT(emu_test::max_norm_err(dp, dp0.values()), 1e-3) << t.name << ": dL/dp is added to";
    }
}

TEST(GpuEmuLayers, AvgpoolMatchesTheCpu) {
    const int batch = 2, w = 7, h = 5, c = 3;
    const std::string cfg = net_cfg(batch, w, h, c, "[avgpool]\n");
    std::mt19937 r(2);
    const size_t n_in = static_cast<size_t>(batch) * w * h * c, planes = static_cast<size_t>(batch) * c;
    Tensor x(n_in, r, 0.4f), up(planes, r), dx0(n_in, r);
    std::vector<float> dx = dx0.values();
    OneLayer cpu(cfg, x.data(), up.values(), dx);
    std::vector<float> y(planes), dxe = dx0.values();
    dn::avgpool_forward_gpu(x.data(), static_cast<int>(planes), w * h, y.data());
    expect_close("forward", y, cpu.output());
    dn::avgpool_backward_gpu(up.data(), static_cast<int>(planes), w * h, dxe.data());
    expect_close("dL/dx added", dxe, dx);
}

TEST(GpuEmuLayers, UpsampleMatchesTheCpu) {
    for (int stride : {2, 3}) {
        const int batch = 2, w = 4, h = 3, c = 2;
        const std::string cfg = net_cfg(batch, w, h, c, "[upsample]\nstride=" + std::to_string(stride) + "\nscale=0.7\n");
        auto probe = dn::test::net_from<float>(cfg);
        auto& u = dynamic_cast<dn::UpsampleLayer<float>&>(*probe->layers[0]);
        std::mt19937 r(stride);
        const size_t n_in = static_cast<size_t>(batch) * u.inputs(), n_out = static_cast<size_t>(batch) * u.outputs();
        Tensor x(n_in, r), up(n_out, r), dx0(n_in, r);
        std::vector<float> dx = dx0.values();
        OneLayer cpu(cfg, x.data(), up.values(), dx);
        std::vector<float> y(n_out), dxe = dx0.values();
        dn::upsample_forward_gpu(x.data(), batch * c, w, h, u.stride, u.scale, y.data());
        EXPECT_EQ(y, cpu.output()) << "forward, stride " << stride;
        dn::upsample_backward_gpu(up.data(), batch * c, w, h, u.stride, u.scale, dxe.data());
        expect_close("dL/dx added, stride " + std::to_string(stride), dxe, dx);
    }
}

// [shortcut] from a layer of another size: the kernels compute out += P add and add_delta += P^T d
// for pjreddie's index map P; the CPU layer's forward (linear activation) and its backward into the
// source layer's delta are the reference.
TEST(GpuEmuLayers, ShortcutIndexMapMatchesTheCpu) {
    struct Case {
        const char* name;
        int w, h, c;
        std::string layers;  // layer 0: the source, layer 2: the previous layer, layer 3: shortcut
    };
    const Case cases[] = {
        {"downsample", 8, 8, 3,
         "[convolutional]\nfilters=4\nsize=1\nactivation=linear\n[maxpool]\nsize=2\nstride=2\n"
         "[convolutional]\nfilters=3\nsize=1\nactivation=linear\n[shortcut]\nfrom=-3\n"},
        {"upsample", 4, 3, 2,
         "[convolutional]\nfilters=3\nsize=1\nactivation=linear\n[upsample]\nstride=2\n"
         "[convolutional]\nfilters=5\nsize=1\nactivation=linear\n[shortcut]\nfrom=-3\n"},
    };
    for (const Case& t : cases) {
        const int batch = 2;
        auto net = dn::test::net_from<float>(net_cfg(batch, t.w, t.h, t.c, t.layers));
        std::mt19937 r(5);
        Tensor x(static_cast<size_t>(batch) * net->inputs(), r);
        net->forward(x.data(), true);
        net->ensure_grads();
        const dn::Layer<float>& src = *net->layers[0];
        const dn::Layer<float>& prev = *net->layers[2];
        dn::Layer<float>& sc = *net->layers[3];
        ASSERT_NE(src.out_w, sc.out_w) << t.name;
        std::vector<float> out(prev.output.begin(), prev.output.end());
        dn::shortcut_gpu(batch, src.out_w, src.out_h, src.out_c, src.output.data(), sc.out_w, sc.out_h, sc.out_c,
                         out.data());
        EXPECT_EQ(out, std::vector<float>(sc.output.begin(), sc.output.end())) << t.name << " forward";

        Tensor up(sc.delta.size(), r);
        std::copy(up.v.begin(), up.v.end(), sc.delta.begin());
        net->backward_layer(3);
        std::vector<float> add_delta(src.delta.size(), 0.f);
        dn::shortcut_backward_gpu(batch, src.out_w, src.out_h, src.out_c, add_delta.data(), sc.out_w, sc.out_h, sc.out_c,
                                  up.data());
        EXPECT_EQ(add_delta, std::vector<float>(src.delta.begin(), src.delta.end())) << t.name << " backward";
    }
}

struct SoftmaxCase {
    std::string name;
    int w, h, c;
    std::string keys;
};
void PrintTo(const SoftmaxCase& c, std::ostream* os) { *os << c.name; }

class GpuEmuSoftmax : public testing::TestWithParam<SoftmaxCase> {};

TEST_P(GpuEmuSoftmax, ForwardJacobianAndLossMatchTheCpu) {
    const SoftmaxCase& t = GetParam();
    const int batch = 3;
    const std::string cfg = net_cfg(batch, t.w, t.h, t.c, "[softmax]\n" + t.keys);
    auto probe = dn::test::net_from<float>(cfg);
    auto& s = dynamic_cast<dn::SoftmaxLayer<float>&>(*probe->layers[0]);
    int g, n, st, gs;
    s.gpu_groups(&g, &n, &st, &gs);
    const float inv_t = static_cast<float>(1.0 / s.temperature);
    const size_t size = static_cast<size_t>(batch) * s.outputs();
    std::mt19937 r(8);
    Tensor x(size, r, 0.f, 3.f), up(size, r), dx0(size, r);

    std::vector<float> dx = dx0.values();
    OneLayer cpu(cfg, x.data(), up.values(), dx);  // no labels: the Jacobian backward
    std::vector<float> y(size), dxe = dx0.values();
    dn::softmax_forward_gpu(x.data(), batch, s.outputs(), g, n, st, gs, inv_t, y.data());
    expect_close("forward", y, cpu.output());
    dn::softmax_backward_gpu(y.data(), up.data(), batch, s.outputs(), g, n, st, gs, inv_t, dxe.data());
    expect_close("Jacobian backward, added", dxe, dx);

    std::vector<float> truth(size);
    std::mt19937_64 r64(3);
    for (int b = 0; b < batch; ++b) s.random_truth(r64, truth.data() + static_cast<size_t>(b) * s.outputs());
    std::vector<float> unused = dx0.values();
    OneLayer loss(cfg, x.data(), {}, unused, truth.data());
    std::vector<float> delta(size, 5.f);
    const double cost = dn::softmax_ce_gpu(y.data(), truth.data(), size, inv_t, delta.data());
    expect_close("loss delta (y - t) / T", delta, std::vector<float>(loss.l->delta.begin(), loss.l->delta.end()));
    EXPECT_NEAR(cost, loss.l->cost, 1e-5 * std::max(1.0, std::fabs(loss.l->cost))) << "cross-entropy";
}

INSTANTIATE_TEST_SUITE_P(Groups, GpuEmuSoftmax,
                         testing::Values(SoftmaxCase{"one_group_of_70", 1, 1, 70, "temperature=1.7\n"},
                                         SoftmaxCase{"three_groups_of_4", 1, 1, 12, "groups=3\n"},
                                         SoftmaxCase{"two_groups_of_300", 1, 1, 600, "groups=2\ntemperature=0.6\n"},
                                         SoftmaxCase{"groups_of_32", 2, 2, 16, "groups=2\n"},
                                         SoftmaxCase{"spatial", 5, 3, 6, "spatial=1\ntemperature=1.3\n"}),
                         [](const testing::TestParamInfo<SoftmaxCase>& i) { return i.param.name; });

// [yolo]'s transform (logistic x, y with scale_x_y, raw w, h, logistic objectness and classes; and
// new_coords=1's scaled x, y) forward and backward (dL/dy chained and added onto a pattern, and a
// loss gradient added first), against the CPU layer.
TEST(GpuEmuLayers, YoloTransformMatchesTheCpu) {
    for (const char* keys : {"scale_x_y=1.1\n", "", "scale_x_y=2.0\nnew_coords=1\n"}) {
        const int batch = 2, w = 5, h = 3, c = 2 * 7;
        const std::string cfg = net_cfg(batch, w, h, c,
                                        std::string("[yolo]\nmask=0,1\nanchors=1,2,3,4\nclasses=2\nnum=2\n") + keys);
        std::mt19937 r(12);
        const size_t n = static_cast<size_t>(batch) * w * h * c;
        Tensor x(n, r, 0.f, 2.f), up(n, r), dx0(n, r), lg(n, r);
        std::vector<float> dx = dx0.values();
        OneLayer cpu(cfg, x.data(), up.values(), dx);
        auto& l = dynamic_cast<dn::YoloLayer<float>&>(*cpu.l);
        const dn::YoloTransform tf(l.scale_x_y, l.new_coords != 0, w * h, 5 + l.classes);
        std::vector<float> y(n, 9.f), dxe = dx0.values();
        dn::yolo_forward_gpu(x.data(), n, tf, y.data());
        // (not bit for bit: the compiler may fuse the multiply-adds into FMAs differently)
        expect_close(std::string(keys) + "forward", y, cpu.output());
        dn::yolo_backward_gpu(y.data(), up.data(), nullptr, n, tf, dxe.data());
        expect_close(std::string(keys) + "dL/dx added onto a pattern", dxe, dx);
        // with a loss gradient: dx + lg first, then the chained term (the CPU's two passes)
        std::vector<float> want = dx0.values(), got = dx0.values();
        for (size_t i = 0; i < n; ++i) want[i] = (want[i] + lg.data()[i]) + (dx[i] - dx0.values()[i]);
        dn::yolo_backward_gpu(y.data(), up.data(), lg.data(), n, tf, got.data());
        expect_close(std::string(keys) + "with the loss gradient", got, want);
    }
}

// [cost]'s kernel against the CPU layer, every type: the scaled delta and the loss (block sums in
// double). 1000 values: several blocks. Masked labels (-1234) in every type's labels, which only
// type=masked skips; |y - t| beyond 1 for smooth's linear part.
TEST(GpuEmuLayers, CostMatchesTheCpu) {
    const int batch = 2, n = 500;
    for (const char* type : {"sse", "masked", "L1", "smooth"}) {
        const std::string cfg = net_cfg(batch, 1, 1, n, std::string("[cost]\ntype=") + type + "\nscale=0.7\n");
        std::mt19937 r(8);
        Tensor x(static_cast<size_t>(batch) * n, r, 0.f, 1.5f), t(static_cast<size_t>(batch) * n, r);
        for (size_t i = 0; i < t.size(); i += 7) t.data()[i] = dn::kMaskedLabel;
        std::vector<float> unused(x.size(), 0.f);
        OneLayer cpu(cfg, x.data(), {}, unused, t.data());
        std::vector<float> delta(x.size(), 5.f);
        const dn::CostType kind = dynamic_cast<dn::CostLayer<float>&>(*cpu.l).cost_type;
        const double cost = dn::cost_gpu(x.data(), t.data(), x.size(), kind, 0.7f, delta.data());
        expect_close(std::string(type) + " delta", delta, std::vector<float>(cpu.l->delta.begin(), cpu.l->delta.end()));
        EXPECT_NEAR(cost, cpu.l->cost, 1e-9 * std::fabs(cpu.l->cost)) << type;
        EXPECT_GT(cpu.l->cost, 1.0) << type;
    }
}

// dropout's kernel against its definition: y = keep ? x / (1 - p) : 0, and dx += keep ? d / (1 - p)
// : 0 (the CPU layer draws its own mask, so the mask is given here).
TEST(GpuEmuLayers, DropoutAppliesTheMask) {
    std::mt19937 r(6);
    const size_t n = 777;
    Tensor x(n, r), d(n, r), dx0(n, r);
    std::vector<uint8_t> keep(n);
    for (size_t i = 0; i < n; ++i) keep[i] = (r() % 10) >= 3;
    const float scale = 1.f / (1.f - 0.3f);
    std::vector<float> y(n, 4.f), want(n), dxe = dx0.values(), dxw = dx0.values();
    for (size_t i = 0; i < n; ++i) {
        want[i] = keep[i] ? x.data()[i] * scale : 0.f;
        dxw[i] += keep[i] ? d.data()[i] * scale : 0.f;
    }
    dn::dropout_forward_gpu(x.data(), keep.data(), n, scale, y.data());
    EXPECT_EQ(y, want);
    dn::dropout_backward_gpu(d.data(), keep.data(), n, scale, dxe.data());
    expect_close("dL/dx added", dxe, dxw);  // dxw's multiply-add may be contracted into an FMA
}

}  // namespace
#endif  // DN_EMU_TESTS
