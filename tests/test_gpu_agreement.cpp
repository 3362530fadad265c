// GPU against CPU, layer by layer: identical inputs and parameters; the forward output, the
// gradient w.r.t. the layer's input and its parameter gradients must agree (max normalized error
// <= 1e-5 in float32), and the GPU backward must ADD into the previous layer's delta. Without a
// CUDA device (or in a CPU build) every test here is skipped; `make test` also runs them on the GPU
// build run on the CPU (GPU=emu, tests/emu/), where everything but cuDNN is exercised.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <regex>

#include "darknet/cuda.hpp"
#include "darknet/random.hpp"
#include "darknet/weights.hpp"
#include "layers/rnn_layer.hpp"
#include "test_util.hpp"

using namespace dn;
using namespace dn::test;

namespace {

struct GpuCase {
    std::string name;
    std::string layers;  // cfg text after "[net]" and the leading identity layer
    int c = 3, h = 6, w = 6;
    bool train = true;
    bool truth = false;  // the last layer is a loss fed with random labels
    int batch = 2;
    float x_mean = 0.2f;  // of the N(x_mean, 1) input
    std::string net = "";  // more [net] keys (time_steps=)
};

std::vector<GpuCase> gpu_cases() {
    return {
        {"conv_3x3_leaky", "[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=leaky\n"},
        {"conv_s2_bn_mish", "[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\nbatch_normalize=1\nactivation=mish\n"},
        {"conv_1x1_bn_eval", "[convolutional]\nfilters=5\nsize=1\nbatch_normalize=1\nactivation=swish\n", 3, 6, 6, false},
        {"conv_groups", "[convolutional]\nfilters=6\nsize=3\npad=1\ngroups=2\nactivation=linear\n", 4, 5, 5},
        // AlexeyAB's channel activations: a thread per position over the channels
        {"conv_normalize_channels", "[convolutional]\nfilters=3\nsize=1\nactivation=normalize_channels\n"},
        {"conv_bn_normalize_channels_softmax", "[convolutional]\nfilters=4\nsize=3\npad=1\nbatch_normalize=1\n"
                                               "activation=normalize_channels_softmax\n"},
        {"activation_normalize_channels_softmax_maxval", "[activation]\nactivation=normalize_channels_softmax_maxval\n"},
        {"conv_depthwise_bn", "[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\ngroups=4\nbatch_normalize=1\nactivation=relu6\n", 4, 7, 7},
        {"conv_dilation", "[convolutional]\nfilters=2\nsize=3\npadding=2\ndilation=2\nactivation=logistic\n"},
        {"deconv_k4_s2_p1", "[deconvolutional]\nfilters=3\nsize=4\nstride=2\npadding=1\nactivation=leaky\n"},
        {"deconv_k3_s1_bn_mish", "[deconvolutional]\nfilters=2\nsize=3\nstride=1\npad=1\nbatch_normalize=1\nactivation=mish\n"},
        {"deconv_k3_s3_bn_eval", "[deconvolutional]\nfilters=2\nsize=3\nstride=3\nbatch_normalize=1\nactivation=logistic\n", 3, 6, 6, false},
        {"connected", "[connected]\noutput=7\nactivation=tanh\n"},
        // batch 8: batchnorm over 2 values (S = 1) has x_hat = +-1, whose input gradient is zero up
        // to eps, so dW would compare float32 rounding noise
        {"connected_bn", "[connected]\noutput=5\nbatch_normalize=1\nactivation=leaky\n", 3, 6, 6, true, false, 8},
        {"maxpool_2x2", "[maxpool]\nsize=2\nstride=2\n"},
        {"maxpool_3x3_s1", "[maxpool]\nsize=3\nstride=1\n"},
        {"maxpool_3x3_s2_pad", "[maxpool]\nsize=3\nstride=2\npadding=2\n", 3, 9, 8},
        {"avgpool", "[avgpool]\n"},
        {"maxpool_depth", "[convolutional]\nfilters=6\nsize=1\nactivation=linear\n[maxpool]\nmaxpool_depth=1\nout_channels=2\n"},
        {"local_avgpool_3x3_s2_pad", "[local_avgpool]\nsize=3\nstride=2\npadding=2\n", 3, 9, 8},
        {"local_avgpool_3x3_s1", "[local_avgpool]\nsize=3\nstride=1\n", 2, 7, 6},
        {"conv_aa1_s2_bn", "[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\nantialiasing=1\nbatch_normalize=1\nactivation=mish\n", 3, 7, 6},
        {"conv_aa2_s2", "[convolutional]\nfilters=3\nsize=3\nstride=2\npad=1\nantialiasing=2\nactivation=leaky\n", 3, 7, 6},
        {"maxpool_aa1", "[convolutional]\nfilters=3\nsize=1\nactivation=linear\n[maxpool]\nsize=2\nstride=2\nantialiasing=1\n", 3, 7, 6},
        {"local_avgpool_aa2", "[local_avgpool]\nsize=3\nstride=2\nantialiasing=2\n", 3, 9, 8},
        {"local_avg_3x3_sx2_sy1", "[local_avg]\nsize=3\nstride_x=2\nstride_y=1\n", 2, 6, 8},
        {"upsample", "[upsample]\nstride=2\nscale=0.7\n"},
        {"activation_swish", "[activation]\nactivation=swish\n"},
        {"activation_leaky_eval", "[activation]\nactivation=leaky\n", 3, 6, 6, false},
        {"silence", "[silence]\n"},
        {"dropout", "[dropout]\nprobability=0.3\n"},
        {"dropblock", "[dropout]\nprobability=0.3\ndropblock=1\ndropblock_size_abs=2\n", 3, 9, 8},
        {"route_concat", "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n[route]\nlayers=-1,-2\n"},
        {"route_group", "[convolutional]\nfilters=4\nsize=1\nactivation=linear\n[route]\nlayers=-1\ngroups=2\ngroup_id=1\n"},
        {"shortcut", "[convolutional]\nfilters=3\nsize=1\nactivation=linear\n[shortcut]\nfrom=-2\nactivation=leaky\n"},
        {"shortcut_w_softmax", "[convolutional]\nfilters=3\nsize=1\nactivation=linear\n[shortcut]\nfrom=-2\n"
                               "weights_type=per_feature\nweights_normalization=softmax\nactivation=leaky\n"},
        {"shortcut_wc_relu", "[convolutional]\nfilters=3\nsize=1\nactivation=linear\n[convolutional]\nfilters=3\nsize=3\n"
                             "pad=1\nactivation=linear\n[shortcut]\nfrom=-2,-3\nweights_type=per_channel\n"
                             "weights_normalization=relu\nactivation=mish\n"},
        {"scale_channels", "[convolutional]\nfilters=4\nsize=1\nactivation=linear\n[avgpool]\n"
                           "[convolutional]\nfilters=4\nsize=1\nactivation=logistic\n[scale_channels]\nfrom=-3\n"},
        {"reorg", "[convolutional]\nfilters=4\nsize=1\nactivation=linear\n[reorg]\nstride=2\n"},
        {"reorg_reverse", "[convolutional]\nfilters=8\nsize=1\nactivation=linear\n[reorg]\nstride=2\nreverse=1\n"},
        // scale_wh (a scale per position), and channel scales over planes of 20x15 (several passes
        // of the block's sum) with an activation that keeps its input
        {"scale_channels_wh", "[convolutional]\nfilters=4\nsize=1\nactivation=linear\n[convolutional]\nfilters=1\n"
                              "size=3\npad=1\nactivation=logistic\n[scale_channels]\nfrom=-2\nscale_wh=1\n"
                              "activation=leaky\n"},
        {"scale_channels_mish", "[convolutional]\nfilters=4\nsize=1\nactivation=linear\n[avgpool]\n"
                                "[convolutional]\nfilters=4\nsize=1\nactivation=logistic\n[scale_channels]\n"
                                "from=-3\nactivation=mish\n", 3, 15, 20},
        {"crop_train", "[convolutional]\nfilters=3\nsize=1\nactivation=logistic\n[crop]\ncrop_height=5\ncrop_width=4\n"
                       "flip=1\nangle=30\nsaturation=1.5\nexposure=1.5\nshift=0.1\n", 3, 7, 6},
        {"crop_eval", "[crop]\ncrop_height=3\ncrop_width=4\n", 2, 6, 7, false},
        {"reorg3d", "[reorg3d]\nstride=2\n"},
        {"implicit_mul", "[convolutional]\nfilters=4\nsize=1\nactivation=linear\n[implicit]\nfilters=4\nmean=1\n"
                         "[scale_channels]\nfrom=-2\n"},
        {"local_3x3_pad", "[local]\nfilters=3\nsize=3\npad=1\nactivation=leaky\n"},
        {"local_s2_swish", "[local]\nfilters=2\nsize=3\nstride=2\nactivation=swish\n", 2, 7, 6},
        {"detection_loss", "[detection]\nclasses=3\ncoords=4\nnum=2\nside=3\nsoftmax=1\nsqrt=1\nrescore=1\n", 117, 1, 1,
         true, true},
        {"region", "[convolutional]\nfilters=14\nsize=1\nactivation=linear\n[region]\nclasses=2\nnum=2\nsoftmax=1\n"
                   "anchors=1,1,2,2\n"},
        {"region_raw", "[convolutional]\nfilters=14\nsize=1\nactivation=linear\n[region]\nclasses=2\nnum=2\n"
                       "anchors=1,1,2,2\n"},
        {"region_eval", "[region]\nclasses=2\nnum=2\nsoftmax=1\nanchors=1,1,2,2\n", 14, 3, 3, false},
        {"region_loss", "[region]\nclasses=2\nnum=2\nsoftmax=1\nanchors=1,1,2,2\nrescore=1\n", 14, 3, 3, true, true},
        {"region_raw_loss", "[region]\nclasses=3\nnum=2\nanchors=1,1,2,2\nbias_match=1\n", 16, 3, 3, true, true},
        {"sam", "[convolutional]\nfilters=4\nsize=1\nactivation=linear\n[convolutional]\nfilters=4\nsize=3\npad=1\n"
                "activation=logistic\n[sam]\nfrom=-2\nactivation=swish\n"},
        {"shortcut_sampled", "[convolutional]\nfilters=4\nsize=1\nactivation=linear\n[maxpool]\nsize=2\nstride=2\n"
                             "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n[shortcut]\nfrom=-3\n"},
        {"softmax_groups", "[softmax]\ngroups=2\ntemperature=1.7\n", 6, 1, 1},
        {"softmax_loss", "[softmax]\ntemperature=0.8\n", 6, 1, 1, true, true},
        {"logistic_loss", "[logistic]\n", 5, 2, 3, true, true},
        {"logistic_jacobian", "[logistic]\n[convolutional]\nfilters=2\nsize=1\nactivation=linear\n"},
        {"l2norm", "[l2norm]\n", 5, 4, 3},
        // [rnn] through time (a pass of batch * time_steps rows): per-step batchnorm, shortcut,
        // the self block's logistic, mish's kept pre-activation values. With every block batch-
        // normalized, each path into the state's gradient comes through a batchnorm backward,
        // whose dx sums to zero over the rows, so the input block's beta gradient is a sum of
        // such terms weighted by f': a near-constant f' (mish, leaky) leaves a small, float-
        // sensitive result (CPU and device ~1e-5 apart), so the batchnorm case uses logistic.
        {"rnn_tanh", "[rnn]\noutput=5\nhidden=6\nactivation=tanh\n", 3, 2, 2, true, false, 2, 0.2f, "time_steps=3\n"},
        {"rnn_shortcut_mish", "[rnn]\noutput=5\nhidden=6\nshortcut=1\nlogistic=1\nactivation=mish\n", 3, 2, 2, true, false,
         3, 0.2f, "time_steps=4\n"},
        {"rnn_bn_shortcut", "[rnn]\noutput=4\nbatch_normalize=1\nshortcut=1\nactivation=logistic\n", 3, 2, 2, true, false,
         4, 0.2f, "time_steps=4\n"},
        {"lstm", "[lstm]\noutput=5\n", 3, 2, 2, true, false, 2, 0.2f, "time_steps=3\n"},
        {"lstm_bn", "[lstm]\noutput=4\nbatch_normalize=1\n", 3, 2, 2, true, false, 4, 0.2f, "time_steps=3\n"},
        {"lstm_bn_eval", "[lstm]\noutput=4\nbatch_normalize=1\n", 2, 1, 3, false, false, 2, 0.2f, "time_steps=2\n"},
        {"gru", "[gru]\noutput=5\n", 3, 2, 2, true, false, 2, 0.2f, "time_steps=3\n"},
        {"gru_bn_tanh", "[gru]\noutput=4\nbatch_normalize=1\ntanh=1\n", 3, 2, 2, true, false, 4, 0.2f, "time_steps=3\n"},
        {"gru_bn_eval", "[gru]\noutput=4\nbatch_normalize=1\n", 2, 1, 3, false, false, 2, 0.2f, "time_steps=2\n"},
        {"rnn_bn_eval", "[rnn]\noutput=4\nhidden=3\nbatch_normalize=1\nactivation=leaky\n", 2, 1, 3, false, false, 2, 0.2f,
         "time_steps=2\n"},
        // a warp per group (70 elements: two full passes of the lanes and a tail) and a thread per
        // position (spatial)
        {"softmax_wide", "[softmax]\ntemperature=1.3\n", 70, 1, 1},
        {"softmax_wide_loss", "[softmax]\n", 70, 1, 1, true, true},
        {"softmax_spatial", "[softmax]\nspatial=1\n", 5, 3, 4},
        {"cost_sse", "[cost]\nscale=0.5\n", 5, 1, 1, true, true},
        {"cost_l1", "[cost]\ntype=L1\nscale=0.5\n", 5, 1, 1, true, true},
        {"cost_smooth", "[cost]\ntype=smooth\nscale=1.5\n", 3, 4, 4, true, true},
        {"yolo_loss", "[yolo]\nmask=0,1\nanchors=1,2,3,4\nclasses=2\nnum=2\nscale_x_y=1.1\niou_loss=ciou\n", 14, 3, 3, true, true},
        {"yolo_no_loss", "[yolo]\nmask=0,1\nanchors=1,2,3,4\nclasses=2\nnum=2\nscale_x_y=1.05\n", 14, 3, 3},
        {"yolo_new_coords_loss", "[yolo]\nmask=0,1\nanchors=1,2,3,4\nclasses=2\nnum=2\nscale_x_y=2.0\nnew_coords=1\n"
                                 "iou_loss=ciou\nobjectness_smooth=1\n", 14, 3, 3, true, true},
        {"yolo_eval", "[yolo]\nmask=0,1\nanchors=1,2,3,4\nclasses=2\nnum=2\n", 14, 3, 3, false},
        {"gaussian_yolo_loss", "[Gaussian_yolo]\nmask=0,1\nanchors=1,2,3,4\nclasses=2\nnum=2\nscale_x_y=1.1\n"
                               "iou_loss=giou\nuc_normalizer=0.5\n", 22, 3, 3, true, true},
        {"gaussian_yolo_eval", "[Gaussian_yolo]\nmask=0,1\nanchors=1,2,3,4\nclasses=2\nnum=2\n", 22, 3, 3, false},
        {"batchnorm", "[batchnorm]\n"},
        {"batchnorm_eval", "[batchnorm]\n", 3, 6, 6, false},
        {"lrn_5", "[lrn]\nsize=5\nalpha=0.5\nbeta=0.75\nkappa=2\n", 8, 4, 4},
        {"lrn_3_beta_half", "[lrn]\nsize=3\nalpha=0.3\nbeta=0.5\nkappa=1\n", 6, 4, 4},
        {"lrn_9_generic", "[lrn]\nsize=9\nalpha=0.2\nbeta=0.75\nkappa=1\n", 12, 3, 3},
        {"groupnorm_gelu", "[groupnorm]\ngroups=2\nactivation=gelu\n", 4, 3, 3},
        // Shapes past the small-tensor paths: several blocks per channel or group (N*S or
        // (C/G)*S > 8192 values), the four-loads-per-thread loops with their tails, planes that
        // are not a multiple of the block size, channel windows far from the edges.
        {"batchnorm_multiblock", "[batchnorm]\n", 4, 71, 73},
        {"batchnorm_multiblock_eval", "[batchnorm]\n", 3, 67, 65, false},
        {"conv_bn_large", "[convolutional]\nfilters=6\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n", 3, 45, 41},
        {"groupnorm_multiblock", "[groupnorm]\ngroups=2\nactivation=linear\n", 8, 61, 63},
        {"lrn_5_deep", "[lrn]\nsize=5\nalpha=0.4\nbeta=0.75\nkappa=1.5\n", 40, 9, 11},
        {"lrn_3_three_runs", "[lrn]\nsize=3\nalpha=0.3\nbeta=0.75\nkappa=1\n", 70, 3, 4},
        {"lrn_11_generic_deep", "[lrn]\nsize=11\nalpha=0.1\nbeta=0.6\nkappa=1\n", 30, 5, 7},
        // the register-window kernels with a beta other than 3/4 and 1/2 (__powf, __fdividef), and
        // with long runs of float4 columns (2^15 positions: 5 runs of 12 channels, one short)
        {"lrn_5_beta_other", "[lrn]\nsize=5\nalpha=0.3\nbeta=0.6\nkappa=1\n", 12, 5, 6},
        {"lrn_5_long_runs_vec4", "[lrn]\nsize=5\nalpha=0.2\nbeta=0.75\nkappa=1\n", 50, 128, 128},
        // float4 paths (H*W a multiple of 4) with several blocks per channel or group (the
        // two-kernel schemes), and GroupNorm's warp-per-plane sums (N*C >= 4096 planes), with
        // float4 and without.
        {"batchnorm_multiblock_vec4", "[batchnorm]\n", 3, 64, 68},
        {"batchnorm_multiblock_vec4_eval", "[batchnorm]\n", 3, 64, 68, false},
        {"conv_bn_vec4", "[convolutional]\nfilters=3\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n", 2, 64, 68},
        {"groupnorm_vec4", "[groupnorm]\ngroups=4\nactivation=linear\n", 8, 6, 6},
        {"groupnorm_multiblock_vec4", "[groupnorm]\ngroups=2\nactivation=linear\n", 8, 64, 64},
        {"groupnorm_many_planes_vec4", "[groupnorm]\ngroups=16\nactivation=linear\n", 64, 2, 2, true, false, 64},
        {"groupnorm_many_planes", "[groupnorm]\ngroups=16\nactivation=linear\n", 64, 3, 3, true, false, 64},
        // inputs of mean 8 and sd 1 (statistics away from zero, on the device's arithmetic; the
        // float-cancellation tests proper, mean 1000, are tests/test_gpu_emu_*'s LargeMean ones,
        // whose tolerances allow for the ulp of the mean)
        {"batchnorm_offset_vec4", "[batchnorm]\n", 3, 64, 68, true, false, 2, 8.f},
        {"groupnorm_offset", "[groupnorm]\ngroups=2\nactivation=linear\n", 8, 61, 63, true, false, 2, 8.f},
    };
}

double max_norm_err(const float* a, const float* b, size_t n) {
    double diff = 0, scale = 0;
    for (size_t i = 0; i < n; ++i) {
        diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - b[i]));
        scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
    }
    return diff / std::max(scale, 1e-6);
}

class GpuAgreement : public testing::TestWithParam<GpuCase> {};

}  // namespace

TEST_P(GpuAgreement, ForwardBackwardAndAccumulate) {
    DN_REQUIRE_GPU();
    const GpuCase& t = GetParam();
    // layer 0 is an identity (1x1 maxpool) whose delta receives the tested layers' input gradient
    const std::string cfg = "[net]\nbatch=" + std::to_string(t.batch) + "\nwidth=" + std::to_string(t.w) + "\nheight=" + std::to_string(t.h) +
                            "\nchannels=" + std::to_string(t.c) + "\n" + t.net + "[maxpool]\nsize=1\nstride=1\n" + t.layers;
    set_seed(11);
    auto cpu = net_from<float>(cfg);
    set_seed(11);
    auto gpu = net_from<float>(cfg);
    std::mt19937_64 g(5);
    std::normal_distribution<float> nd(0.2f, 1.f);
    for (size_t li = 0; li < cpu->layers.size(); ++li) {  // random parameters, the same in both
        auto pc = cpu->layers[li]->params();
        auto pg = gpu->layers[li]->params();
        for (size_t k = 0; k < pc.size(); ++k)
            for (size_t i = 0; i < pc[k].size; ++i) {
                float v = nd(g);
                if (pc[k].name == "rolling_variance") v = 0.5f + std::fabs(v);
                pc[k].value[i] = pg[k].value[i] = v;
            }
        cpu->layers[li]->params_changed();
        gpu->layers[li]->params_changed();
    }
    std::vector<float> x(static_cast<size_t>(cpu->batch) * cpu->inputs());
    for (auto& v : x) v = t.x_mean - 0.2f + nd(g);
    std::vector<float> truth;
    if (t.truth) {
        Layer<float>& last = *cpu->layers.back();
        truth.resize(static_cast<size_t>(cpu->batch) * last.truth_size());
        for (int b = 0; b < cpu->batch; ++b) last.random_truth(g, truth.data() + b * last.truth_size());
    }
    const float* tp = truth.empty() ? nullptr : truth.data();
    Layer<float>& lc = *cpu->layers.back();
    Layer<float>& lg = *gpu->layers.back();
    std::vector<float> w(static_cast<size_t>(lc.batch) * lc.outputs()), pattern(static_cast<size_t>(cpu->batch) * cpu->inputs());
    for (auto& v : w) v = nd(g);
    for (size_t i = 0; i < pattern.size(); ++i) pattern[i] = 0.5f + std::sin(0.7f * i);

    // CPU
    cpu->forward(x.data(), t.train, tp);
    cpu->ensure_grads();
    lc.ensure_delta();
    cpu->layers[0]->ensure_delta();
    if (!t.truth) std::copy(w.begin(), w.end(), lc.delta.begin());
    std::copy(pattern.begin(), pattern.end(), cpu->layers[0]->delta.begin());
    cpu->backward();
    // GPU
    gpu->ensure_grads();
    gpu->use_gpu(0);
    gpu->forward_gpu(x.data(), t.train, tp);
    if (!t.truth) lg.delta_gpu.push(w.data(), w.size());
    gpu->layers[0]->delta_gpu.push(pattern.data(), pattern.size());
    gpu->backward_gpu();
    gpu->pull_params();
    gpu->pull_outputs();

    EXPECT_LE(max_norm_err(lg.output.data(), lc.output.data(), lc.output.size()), 1e-5) << "forward output";
    if (t.truth) {
        EXPECT_NEAR(gpu->total_cost(), cpu->total_cost(), 1e-5 * std::max(1.0, std::fabs(cpu->total_cost())));
    }
    std::vector<float> d0(pattern.size());
    gpu->layers[0]->delta_gpu.pull(d0.data(), d0.size());
    EXPECT_LE(max_norm_err(d0.data(), cpu->layers[0]->delta.data(), d0.size()), 1e-5)
        << "input gradient (added to a pattern already in net.delta)";
    for (size_t li = 1; li < cpu->layers.size(); ++li) {
        auto pc = cpu->layers[li]->params();
        auto pg = gpu->layers[li]->params();
        for (size_t k = 0; k < pc.size(); ++k) {
            if (pc[k].grad) {
                EXPECT_LE(max_norm_err(pg[k].grad, pc[k].grad, pc[k].size), 1e-5) << "layer " << li << " d" << pc[k].name;
            }
            EXPECT_LE(max_norm_err(pg[k].value, pc[k].value, pc[k].size), 1e-5) << "layer " << li << " " << pc[k].name;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Layers, GpuAgreement, testing::ValuesIn(gpu_cases()),
                         [](const testing::TestParamInfo<GpuCase>& i) { return i.param.name; });

// The optimizer steps on the device (SGD, and Adam with adam=1) equal the host's.
TEST(GpuAgreementNet, UpdateMatchesTheCpu) {
    DN_REQUIRE_GPU();
    for (const char* optimizer : {"momentum=0.9\n", "adam=1\nB1=0.8\nB2=0.99\n"}) {
        const std::string cfg = std::string("[net]\nbatch=2\nwidth=6\nheight=6\nchannels=3\ndecay=0.0005\n") + optimizer +
                                "[convolutional]\nfilters=4\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n"
                                "[connected]\noutput=3\nactivation=linear\n[softmax]\n";
        set_seed(3);
        auto cpu = net_from<float>(cfg);
        set_seed(3);
        auto gpu = net_from<float>(cfg);
        std::vector<float> x(2 * 108), truth(6, 0.f);
        for (size_t i = 0; i < x.size(); ++i) x[i] = std::cos(0.3f * i);
        truth[1] = truth[5] = 1.f;
        gpu->use_gpu(0);
        for (int step = 0; step < 3; ++step) {
            cpu->forward(x.data(), true, truth.data());
            cpu->backward();
            cpu->update(0.05f);
            gpu->forward_gpu(x.data(), true, truth.data());
            gpu->backward_gpu();
            gpu->update_gpu(0.05f);
        }
        gpu->pull_params();
        for (size_t li = 0; li < cpu->layers.size(); ++li) {
            auto pc = cpu->layers[li]->params();
            auto pg = gpu->layers[li]->params();
            for (size_t k = 0; k < pc.size(); ++k)
                EXPECT_LE(max_norm_err(pg[k].value, pc[k].value, pc[k].size), 1e-5)
                    << optimizer << "layer " << li << " " << pc[k].name;
            EXPECT_EQ(gpu->layers[li]->adam.t, cpu->layers[li]->adam.t) << optimizer << "layer " << li;
            for (size_t k = 0; k < cpu->layers[li]->adam.m.size(); ++k)
                EXPECT_LE(max_norm_err(gpu->layers[li]->adam.v[k].data(), cpu->layers[li]->adam.v[k].data(),
                                       cpu->layers[li]->adam.v[k].size()),
                          1e-5)
                    << "layer " << li << " " << pc[k].name << ": Adam's second moment pulled from the device";
        }
    }
}

// [net] ema_alpha on the device: the trainer pulls the weights for the moving average and pushes
// them back at the apply step (iteration 1040); right after it the weights and their average are
// the CPU run's (a missing push would leave the device's weights unaveraged, and the pull before
// the check would bring those back).
TEST(GpuAgreementNet, EmaTrainingFollowsTheCpu) {
    DN_REQUIRE_GPU();
    const std::string dir = make_temp_dir();
    const EmaRun cpu = train_ema(kEmaNet, dir + "/cpu", -1, ""), gpu = train_ema(kEmaNet, dir + "/gpu", -1, "", false, true);
    auto c = net_from<float>(kEmaNet), g = net_from<float>(kEmaNet);
    load_weights_bytes(*c, cpu.at_apply, "cpu");
    load_weights_bytes(*g, gpu.at_apply, "gpu");
    ASSERT_FALSE(c->layers[0]->ema.empty());
    auto pc = c->layers[0]->params(), pg = g->layers[0]->params();
    for (size_t k = 0; k < pc.size(); ++k) {
        EXPECT_LE(max_norm_err(pg[k].value, pc[k].value, pc[k].size), 1e-4) << pc[k].name;
        const auto& ec = c->layers[0]->ema[k];
        EXPECT_LE(max_norm_err(g->layers[0]->ema[k].data(), ec.data(), ec.size()), 1e-4) << pc[k].name << " average";
        if (pc[k].grad) {  // applied: the weights are their average
            EXPECT_LE(max_norm_err(pg[k].value, g->layers[0]->ema[k].data(), pc[k].size), 1e-7) << pc[k].name;
        }
    }
}

// The moving average lives on the device (Layer::ema_follow_gpu): a GPU run interrupted inside the
// averaging window writes it to its checkpoint (pull_params), and the run resumed from that
// checkpoint on the device goes on as the uninterrupted one (a checkpoint with the host's stale
// copy would be 10 steps of alpha 0.9 from the apply step, far off). Without the average in the
// checkpoint (dropped here) the applied weights differ.
TEST(GpuAgreementNet, EmaOnTheDeviceGoesThroughCheckpoints) {
    DN_REQUIRE_GPU();
    const std::string dir = make_temp_dir();
    const EmaRun whole = train_ema(kEmaNet, dir + "/a", -1, "", false, true);
    train_ema(kEmaNet, dir + "/b", 1030, "", false, true);
    const std::string ckpt = dir + "/b/ema_last.weights";
    ASSERT_TRUE(file_exists(ckpt));
    const EmaRun resumed = train_ema(kEmaNet, dir + "/r", -1, ckpt, false, true);
    const EmaRun dropped = train_ema(kEmaNet, dir + "/c", -1, ckpt, true, true);
    ASSERT_FALSE(resumed.at_apply.empty());
    ASSERT_FALSE(dropped.at_apply.empty());
    auto w = net_from<float>(kEmaNet), r = net_from<float>(kEmaNet), d = net_from<float>(kEmaNet), k = net_from<float>(kEmaNet);
    load_weights_bytes(*w, whole.at_apply, "whole");
    load_weights_bytes(*r, resumed.at_apply, "resumed");
    load_weights_bytes(*d, dropped.at_apply, "dropped");
    load_weights(*k, ckpt);
    ASSERT_GE(k->current_batch(), 1030);
    ASSERT_FALSE(k->layers[0]->ema.empty()) << "the checkpoint has no moving average";
    auto pw = w->layers[0]->params(), pr = r->layers[0]->params(), pd = d->layers[0]->params();
    double dropped_err = 0;
    for (size_t i = 0; i < pw.size(); ++i) {
        EXPECT_LE(max_norm_err(pr[i].value, pw[i].value, pw[i].size), 1e-6) << pw[i].name << " after the apply step";
        if (pw[i].grad) dropped_err = std::max(dropped_err, max_norm_err(pd[i].value, pw[i].value, pw[i].size));
    }
    EXPECT_GT(dropped_err, 1e-4) << "the checkpoint's moving average made no difference";
}

// AlexeyAB's per-layer training keys on the device: stopbackward=3 (layers 0-1 frozen for
// iterations 0..2) and learning_rate=0.25 on the [connected] layer; and dont_update=2 on layer 1
// with burnin_update=1 (burn_in=3) on the [connected] layer (steps held for iterations 1..2, the
// gradients dropped); with SGD and with Adam: every step's trained arrays agree with the CPU's,
// and the frozen or held ones do not move on the device.
TEST(GpuAgreementNet, StopbackwardAndLayerRatesFollowTheCpu) {
    DN_REQUIRE_GPU();
    for (bool held : {false, true})
        for (bool adam : {false, true}) {
            std::string cfg = held ? keyed_net("dont_update=2\n", "burnin_update=1\n", adam)
                                   : keyed_net("stopbackward=3\n", "learning_rate=0.25\n", adam);
            if (held) cfg.replace(cfg.find("batch=2\n"), 8, "batch=2\nburn_in=3\n");
            SCOPED_TRACE(std::string(held ? "dont_update, burnin_update" : "stopbackward, learning_rate") +
                         (adam ? ", adam" : ", sgd"));
            const std::vector<TrainedArrays> c = train_steps(cfg, 5), g = train_steps(cfg, 5, true);
            for (size_t s = 0; s < c.size(); ++s)
                for (size_t l = 0; l < c[s].size(); ++l)
                    EXPECT_LE(max_norm_err(g[s][l].data(), c[s][l].data(), c[s][l].size()), 1e-5)
                        << "step " << s << " layer " << l;
            const int last_still = held ? 2 : 3;
            for (int s = 1; s <= last_still; ++s) EXPECT_EQ(g[s][1], g[0][1]) << "frozen or held at step " << s;
            EXPECT_NE(g[last_still + 1][1], g[last_still][1]);
        }
}

// The CLI end to end: `detector test` on the device (-i 0) prints the CPU's detections (-nogpu):
// the same objects, probabilities within 1 point, boxes within 2 pixels.
TEST(GpuAgreementNet, DetectorTestGivesTheCpuDetections) {
    DN_REQUIRE_GPU();
    DN_REQUIRE_SHARED();
    struct Det {
        std::string name;
        int prob, x, y, w, h;
    };
    auto detections = [](const std::string& out) {
        static const std::regex re(R"((\w[\w ]*): (\d+)%\s+\(left_x:\s+(-?\d+)\s+top_y:\s+(-?\d+)\s+width:\s+(\d+)\s+height:\s+(\d+)\))");
        std::vector<Det> d;
        for (std::sregex_iterator it(out.begin(), out.end(), re), end; it != end; ++it)
            d.push_back({(*it)[1], std::stoi((*it)[2]), std::stoi((*it)[3]), std::stoi((*it)[4]), std::stoi((*it)[5]),
                         std::stoi((*it)[6])});
        return d;
    };
    const std::string m = model_dir();
    const std::string args = " detector test " + repo_root() + "/cfg/coco.data " + m + "/yolo-fastest-1.1-xl.cfg " + m +
                             "/yolo-fastest-1.1-xl.weights " + shared_dir() + "/images/dog.jpg -ext_output -dont_show";
    int rc_cpu = -1, rc_gpu = -1;
    const std::string cpu = run(darknet_path() + " -nogpu" + args, &rc_cpu);
    const std::string gpu = run(darknet_path() + " -i 0" + args, &rc_gpu);
    ASSERT_EQ(rc_cpu, 0) << cpu;
    ASSERT_EQ(rc_gpu, 0) << gpu;
    const std::vector<Det> a = detections(cpu), b = detections(gpu);
    ASSERT_GE(a.size(), 3u) << cpu;
    ASSERT_EQ(a.size(), b.size()) << "CPU:\n" << cpu << "\nGPU:\n" << gpu;
    for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].name, b[i].name) << i;
        EXPECT_LE(std::abs(a[i].prob - b[i].prob), 1) << a[i].name;
        EXPECT_LE(std::max({std::abs(a[i].x - b[i].x), std::abs(a[i].y - b[i].y), std::abs(a[i].w - b[i].w),
                            std::abs(a[i].h - b[i].h)}), 2)
            << a[i].name;
    }
}

// The CLI's training loop on the device: `classifier train -i 0` and `-nogpu` from the same seed
// (the same images, crops, flips and dropout masks) follow the same loss curve. Batchnorm, dropout,
// subdivisions, the learning-rate schedule and the SGD step all run on the device.
TEST(GpuAgreementNet, ClassifierTrainFollowsTheCpu) {
    DN_REQUIRE_GPU();
    const std::string set = small_classification_set(), dir = make_temp_dir();
    write_text(dir + "/t.cfg",
               "[net]\nbatch=16\nsubdivisions=2\nwidth=28\nheight=28\nchannels=1\nmomentum=0.9\ndecay=0.0005\n"
               "learning_rate=0.05\nburn_in=4\npolicy=poly\npower=2\nmax_batches=12\nmin_crop=28\nmax_crop=30\nflip=1\n"
               "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=2\npad=1\nactivation=leaky\n"
               "[maxpool]\nsize=2\nstride=2\n"
               "[convolutional]\nbatch_normalize=1\nfilters=16\nsize=3\nstride=1\npad=1\nactivation=mish\n"
               "[dropout]\nprobability=.2\n"
               "[connected]\noutput=10\nactivation=linear\n[softmax]\n");
    auto train = [&](const std::string& dev, const std::string& chart) {
        int rc = -1;
        const std::string out = run("cd " + dir + " && OMP_NUM_THREADS=2 " + darknet_path() + " " + dev +
                                        " classifier train " + set + "/fashion.data t.cfg -dont_show -seed 7 -chart " +
                                        chart,
                                    &rc);
        EXPECT_EQ(rc, 0) << out;
        return losses(out);
    };
    const std::vector<double> cpu = train("-nogpu", "cpu.png"), gpu = train("-i 0", "gpu.png");
    expect_loss_curves_close(gpu, cpu, 12, 1e-3);
}

// `rnn train -i 0` and `-nogpu` on the same text and seed follow the same loss curve: [rnn]'s,
// [lstm]'s and [gru]'s back-propagation through time with per-step batchnorm, the shortcut, and
// SGD on the device. (An [lstm] with batchnorm here, eight blocks normalized over 4 rows each step, makes
// the run chaotic: a 1e-6 change of the learning rate moves the CPU's own curve by ~1e-4 by
// iteration 10, and the devices' last-bit differences likewise; its batchnorm is the per-layer
// case lstm_bn's.)
TEST(GpuAgreementNet, RnnTrainFollowsTheCpu) {
    DN_REQUIRE_GPU();
    const std::string dir = make_temp_dir();
    std::string text;
    for (int i = 0; i < 400; ++i) text += "the cat sat on the mat " + std::to_string(i % 7) + "\n";
    write_text(dir + "/t.txt", text);
    write_text(dir + "/t.cfg",
               "[net]\ninputs=128\nbatch=4\ntime_steps=6\nmomentum=0.9\ndecay=0.0005\nlearning_rate=0.05\n"
               "max_batches=12\n[rnn]\nbatch_normalize=1\noutput=24\nhidden=20\nshortcut=1\nactivation=leaky\n"
               "[lstm]\noutput=16\n[gru]\noutput=16\ntanh=1\n[connected]\noutput=128\nactivation=linear\n"
               "[softmax]\n");
    auto train = [&](const std::string& dev, const std::string& chart) {
        int rc = -1;
        const std::string out = run("cd " + dir + " && " + darknet_path() + " " + dev + " rnn train t.cfg -file t.txt " +
                                        "-srand 3 -chart " + chart,
                                    &rc);
        EXPECT_EQ(rc, 0) << out;
        return losses(out);
    };
    const std::vector<double> cpu = train("-nogpu", "cpu.png"), gpu = train("-i 0", "gpu.png");
    expect_loss_curves_close(gpu, cpu, 12, 1e-3);
}

// Without a device the GPU entry points fail with a clear message instead of crashing.
TEST(GpuAgreementNet, NoDeviceIsAClearError) {
    if (gpu_count() > 0) GTEST_SKIP() << "SKIP: a device is present";
    auto net = net_from<float>("[net]\nbatch=1\nwidth=2\nheight=2\nchannels=1\n[maxpool]\nsize=1\nstride=1\n");
    const std::string msg = error_of([&] { net->use_gpu(0); });
    EXPECT_TRUE(msg.find("no CUDA device") != std::string::npos || msg.find("built without GPU support") != std::string::npos)
        << msg;
}

// [rnn]'s carried state on the device: consecutive non-training passes (each starting from the
// previous one's last state) and a reset give the host's outputs.
TEST(GpuAgreementNet, RnnCarriesTheStateLikeTheCpu) {
    DN_REQUIRE_GPU();
    const std::string cfg = "[net]\nbatch=2\ninputs=3\ntime_steps=2\n[rnn]\noutput=4\nhidden=5\nbatch_normalize=1\n"
                            "shortcut=1\nactivation=leaky\n[connected]\noutput=3\nactivation=linear\n";
    set_seed(4);
    auto cpu = net_from<float>(cfg);
    set_seed(4);
    auto gpu = net_from<float>(cfg);
    gpu->use_gpu(0);
    std::vector<float> x(4 * 3);
    for (int pass = 0; pass < 4; ++pass) {
        for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.9f * i + pass);
        if (pass == 3) {  // a new text
            dynamic_cast<RnnLayer<float>&>(*cpu->layers[0]).reset_state();
            dynamic_cast<RnnLayer<float>&>(*gpu->layers[0]).reset_state();
        }
        const float* yc = cpu->forward(x.data(), false);
        std::vector<float> c(yc, yc + 12);
        const float* yg = gpu->forward_gpu(x.data(), false);
        EXPECT_LE(max_norm_err(yg, c.data(), c.size()), 1e-5) << "pass " << pass;
    }
}
