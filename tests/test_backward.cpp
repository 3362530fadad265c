// Backward passes of every layer type and activation: gradients against finite differences
// (float64 to 1e-6, float32 to 1e-2) and the accumulate contract; whole shipped cfgs through the
// same checker `darknet gradcheck` uses.
#include <gtest/gtest.h>

#include "gradcheck.hpp"
#include "kernels/activations.hpp"

using namespace dn;
using namespace dn::test;

namespace {

struct LayerCase {
    std::string name;
    std::string cfg;  // [net] + layers; the layer checked is `layer`
    int layer;
    bool train = true;
};

std::vector<LayerCase> layer_cases() {
    const std::string in = net_cfg(2, 3, 6, 6);
    std::vector<LayerCase> v = {
        {"conv_3x3", in + "[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=leaky\n", 0},
        {"conv_stride2_bn_mish", in + "[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\nbatch_normalize=1\nactivation=mish\n", 0},
        {"conv_1x1_bn_eval", in + "[convolutional]\nfilters=5\nsize=1\nbatch_normalize=1\nactivation=swish\n", 0, false},
        {"conv_groups", net_cfg(2, 4, 5, 5) + "[convolutional]\nfilters=6\nsize=3\npad=1\ngroups=2\nactivation=linear\n", 0},
        {"conv_depthwise_s2", net_cfg(2, 4, 7, 7) + "[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\ngroups=4\nactivation=relu6\n", 0},
        {"conv_depthwise_5x5_bn", net_cfg(2, 3, 6, 6) + "[convolutional]\nfilters=3\nsize=5\npad=1\ngroups=3\nbatch_normalize=1\nactivation=leaky\n", 0},
        // a stride past the input (a cfg's 2^31 - 1): one output; im2col's ceiling divisions overflowed int
        {"conv_stride_past_input", in + "[convolutional]\nfilters=2\nsize=3\nstride=2147483647\npad=1\nactivation=leaky\n", 0},
        {"conv_depthwise_stride_past_input", net_cfg(2, 4, 7, 7) + "[convolutional]\nfilters=4\nsize=3\nstride=2147483647\npad=1\ngroups=4\nactivation=leaky\n", 0},
        {"conv_dilation", in + "[convolutional]\nfilters=2\nsize=3\npadding=2\ndilation=2\nactivation=logistic\n", 0},
        {"deconv_k4_s2_p1", in + "[deconvolutional]\nfilters=3\nsize=4\nstride=2\npadding=1\nactivation=leaky\n", 0},
        {"deconv_k3_s1_bn_mish", in + "[deconvolutional]\nfilters=2\nsize=3\nstride=1\npad=1\nbatch_normalize=1\nactivation=mish\n", 0},
        {"deconv_k3_s3_bn_eval", in + "[deconvolutional]\nfilters=2\nsize=3\nstride=3\nbatch_normalize=1\nactivation=logistic\n", 0, false},
        {"connected", in + "[connected]\noutput=7\nactivation=tanh\n", 0},
        {"connected_bn", in + "[connected]\noutput=5\nbatch_normalize=1\nactivation=leaky\n", 0},
        // [rnn] through time: time_steps rows per image, hidden != output, per-step batchnorm
        // statistics, the shortcut's direct path, the self block's own activation (logistic=2:
        // loggy), the carried state of a non-training pass, an input gradient into a convolution
        {"rnn_tanh", net_cfg(2, 3, 2, 2) + "time_steps=3\n[rnn]\noutput=4\nhidden=5\nactivation=tanh\n", 0},
        {"rnn_bn_shortcut_mish", net_cfg(3, 2, 2, 2) + "time_steps=2\n[rnn]\noutput=3\nhidden=4\nbatch_normalize=1\n"
                                                       "shortcut=1\nactivation=mish\n", 0},
        {"rnn_bn_loggy_eval", net_cfg(2, 3, 1, 2) + "time_steps=3\n[rnn]\noutput=3\nhidden=3\nbatch_normalize=1\n"
                                                    "logistic=2\nactivation=leaky\n", 0, false},
        {"lstm", net_cfg(2, 3, 1, 2) + "time_steps=3\n[lstm]\noutput=4\n", 0},
        {"lstm_bn", net_cfg(3, 2, 2, 1) + "time_steps=3\n[lstm]\noutput=3\nbatch_normalize=1\n", 0},
        {"lstm_bn_eval", net_cfg(2, 2, 1, 2) + "time_steps=2\n[lstm]\noutput=3\nbatch_normalize=1\n", 0, false},
        {"lstm_after_conv", net_cfg(2, 2, 2, 2) + "time_steps=2\n[convolutional]\nfilters=2\nsize=1\nactivation=linear\n"
                                                  "[lstm]\noutput=3\n", 1},
        // [gru]: the reset gate's path through W_h's input, the logistic (default) and tanh
        // candidates, per-step batchnorm of all six blocks
        {"gru", net_cfg(2, 3, 1, 2) + "time_steps=3\n[gru]\noutput=4\n", 0},
        {"gru_bn_tanh", net_cfg(3, 2, 2, 1) + "time_steps=3\n[gru]\noutput=3\nbatch_normalize=1\ntanh=1\n", 0},
        {"gru_bn_eval", net_cfg(2, 2, 1, 2) + "time_steps=2\n[gru]\noutput=3\nbatch_normalize=1\n", 0, false},
        {"gru_after_conv", net_cfg(2, 2, 2, 2) + "time_steps=2\n[convolutional]\nfilters=2\nsize=1\nactivation=linear\n"
                                                 "[gru]\noutput=3\ntanh=1\n", 1},
        {"rnn_after_conv", net_cfg(2, 2, 3, 3) + "time_steps=2\n[convolutional]\nfilters=2\nsize=3\npad=1\nactivation=linear\n"
                                                 "[rnn]\noutput=3\nshortcut=1\nactivation=logistic\n", 1},
        // AlexeyAB's channel activations (ASFF): across the channels at each position
        {"conv_normalize_channels", in + "[convolutional]\nfilters=3\nsize=1\nactivation=normalize_channels\n", 0},
        {"conv_bn_normalize_channels_softmax", in + "[convolutional]\nfilters=4\nsize=3\npad=1\nbatch_normalize=1\n"
                                                    "activation=normalize_channels_softmax\n", 0},
        {"conv_normalize_channels_softmax_maxval", in + "[convolutional]\nfilters=3\nsize=1\n"
                                                        "activation=normalize_channels_softmax_maxval\n", 0},
        {"activation_normalize_channels_softmax_maxval", in + "[activation]\nactivation=normalize_channels_softmax_maxval\n", 0},
        {"activation_normalize_channels_eval", in + "[activation]\nactivation=normalize_channels\n", 0, false},
        {"maxpool_2x2", in + "[maxpool]\nsize=2\nstride=2\n", 0},
        {"maxpool_3x3_s1", in + "[maxpool]\nsize=3\nstride=1\n", 0},
        {"avgpool", in + "[avgpool]\n", 0},
        {"maxpool_depth", in + "[convolutional]\nfilters=6\nsize=1\nactivation=linear\n[maxpool]\nmaxpool_depth=1\nout_channels=2\n", 1},
        {"local_avgpool_2x2", in + "[local_avgpool]\nsize=2\nstride=2\n", 0},
        // antialiasing: the stride-1 layer, then the fixed blur at the stride (7x6: odd sizes)
        {"conv_aa1_s2_bn", net_cfg(2, 3, 7, 6) + "[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\nantialiasing=1\nbatch_normalize=1\nactivation=mish\n", 0},
        {"conv_aa2_s2", net_cfg(2, 3, 7, 6) + "[convolutional]\nfilters=3\nsize=3\nstride=2\npad=1\nantialiasing=2\nactivation=leaky\n", 0},
        {"maxpool_aa1", net_cfg(2, 3, 7, 6) + "[convolutional]\nfilters=3\nsize=1\nactivation=linear\n[maxpool]\nsize=2\nstride=2\nantialiasing=1\n", 1},
        {"local_avgpool_aa2", net_cfg(2, 3, 7, 6) + "[local_avgpool]\nsize=3\nstride=2\nantialiasing=2\n", 0},
        {"activation_mish", in + "[activation]\nactivation=mish\n", 0},
        {"activation_logistic", in + "[activation]\nactivation=logistic\n", 0},
        {"empty", in + "[empty]\n", 0},
        {"local_avgpool_3x3_s1", in + "[local_avgpool]\nsize=3\nstride=1\n", 0},
        {"local_avgpool_3x3_s2_pad", net_cfg(2, 3, 9, 8) + "[local_avgpool]\nsize=3\nstride=2\npadding=2\n", 0},
        {"upsample", in + "[upsample]\nstride=2\nscale=0.7\n", 0},
        {"dropout_train", in + "[dropout]\nprobability=0.3\n", 0},
        {"dropblock_train", in + "[dropout]\nprobability=0.3\ndropblock=1\ndropblock_size_abs=2\n", 0},
        {"route_concat", in + "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n[route]\nlayers=-1,-1\n", 1},
        {"route_group", in + "[convolutional]\nfilters=4\nsize=1\nactivation=linear\n[route]\nlayers=-1\ngroups=2\ngroup_id=1\n", 1},
        {"shortcut_same", in + "[convolutional]\nfilters=3\nsize=1\nactivation=linear\n[convolutional]\nfilters=3\nsize=1\nactivation=linear\n"
                                "[shortcut]\nfrom=-2\nactivation=leaky\n", 2},
        // AlexeyAB's weighted shortcuts: the normalized weights' exact gradient (random raw weights)
        {"shortcut_w_feature_softmax", in + "[convolutional]\nfilters=3\nsize=1\nactivation=linear\n[convolutional]\nfilters=3\nsize=1\nactivation=linear\n"
                                          "[shortcut]\nfrom=-2\nweights_type=per_feature\nweights_normalization=softmax\nactivation=leaky\n", 2},
        {"shortcut_w_channel_relu", in + "[convolutional]\nfilters=3\nsize=1\nactivation=linear\n[convolutional]\nfilters=3\nsize=1\nactivation=linear\n"
                                       "[convolutional]\nfilters=3\nsize=3\npad=1\nactivation=linear\n"
                                       "[shortcut]\nfrom=-2,-3\nweights_type=per_channel\nweights_normalization=relu\nactivation=mish\n", 3},
        {"shortcut_w_channel_softmax", in + "[convolutional]\nfilters=3\nsize=1\nactivation=linear\n[convolutional]\nfilters=3\nsize=1\nactivation=linear\n"
                                          "[shortcut]\nfrom=-2,-1\nweights_type=per_channel\nweights_normalization=softmax\n", 2},
        {"shortcut_w_feature_none", in + "[convolutional]\nfilters=3\nsize=1\nactivation=linear\n[convolutional]\nfilters=3\nsize=1\nactivation=linear\n"
                                       "[shortcut]\nfrom=-2\nweights_type=per_feature\n", 2},
        {"shortcut_sampled", in + "[convolutional]\nfilters=4\nsize=1\nactivation=linear\n[maxpool]\nsize=2\nstride=2\n"
                                  "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n[shortcut]\nfrom=-3\n", 3},
        {"softmax_jacobian", net_cfg(2, 6, 1, 1) + "[softmax]\ngroups=2\ntemperature=1.7\n[connected]\noutput=3\nactivation=linear\n", 0},
        {"softmax_loss", net_cfg(2, 6, 1, 1) + "[softmax]\ntemperature=0.8\n", 0},
        {"softmax_spatial", net_cfg(2, 4, 2, 3) + "[softmax]\nspatial=1\n[maxpool]\nsize=1\nstride=1\n", 0},
        {"cost_sse", net_cfg(2, 5, 1, 1) + "[cost]\nscale=0.5\n", 0},
        {"logistic_loss", net_cfg(2, 5, 1, 1) + "[logistic]\n", 0},
        {"logistic_jacobian", net_cfg(2, 3, 2, 2) + "[logistic]\n[connected]\noutput=3\nactivation=linear\n", 0},
        {"l2norm", net_cfg(2, 5, 2, 3) + "[l2norm]\n", 0},
        {"l2norm_one_channel", net_cfg(2, 1, 3, 3) + "[l2norm]\n[connected]\noutput=2\nactivation=linear\n", 0},
        {"cost_smooth", net_cfg(2, 5, 1, 1) + "[cost]\ntype=smooth\n", 0},
        {"cost_l1", net_cfg(2, 5, 1, 1) + "[cost]\ntype=L1\n", 0},
        {"yolo", net_cfg(2, 14, 3, 3) + "[yolo]\nmask=0,1\nanchors=1,2,3,4\nclasses=2\nnum=2\nscale_x_y=1.1\n", 0},
        {"yolo_new_coords", net_cfg(2, 14, 3, 3) + "[yolo]\nmask=0,1\nanchors=1,2,3,4\nclasses=2\nnum=2\nnew_coords=1\nscale_x_y=2\n", 0},
        {"scale_channels", in + "[convolutional]\nfilters=4\nsize=1\nactivation=linear\n[avgpool]\n"
                                "[convolutional]\nfilters=4\nsize=1\nactivation=logistic\n[scale_channels]\nfrom=-3\nactivation=leaky\n", 3},
        {"scale_channels_wh", in + "[convolutional]\nfilters=4\nsize=1\nactivation=linear\n"
                                   "[convolutional]\nfilters=1\nsize=1\nactivation=logistic\n[scale_channels]\nfrom=-2\nscale_wh=1\nactivation=mish\n", 2},
        {"sam", in + "[convolutional]\nfilters=4\nsize=1\nactivation=linear\n"
                     "[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=logistic\n[sam]\nfrom=-2\n", 2},
        {"sam_square", in + "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n[sam]\nfrom=-1\n", 1},
        {"reorg", in + "[convolutional]\nfilters=4\nsize=1\nactivation=linear\n[reorg]\nstride=2\n", 1},
        {"reorg_reverse", in + "[convolutional]\nfilters=8\nsize=1\nactivation=linear\n[reorg]\nstride=2\nreverse=1\n", 1},
        {"reorg3d", in + "[reorg3d]\nstride=2\n", 0},
        // the transform (no labels here: the loss's gradient is tests/test_region_loss.cpp's)
        {"region_softmax", net_cfg(2, 14, 3, 3) + "[region]\nclasses=2\nnum=2\nsoftmax=1\nanchors=1,1,2,2\n", 0},
        {"region_raw", net_cfg(2, 14, 3, 3) + "[region]\nclasses=2\nnum=2\nanchors=1,1,2,2\n", 0},
        {"region_softmax_eval", net_cfg(2, 14, 3, 3) + "[region]\nclasses=2\nnum=2\nsoftmax=1\nanchors=1,1,2,2\n", 0, false},
        // [crop]: levels in (0, 1) from a logistic layer (so the HSV Jacobian is visited), rotation,
        // flip, shift; the half-pixel centered window of inference; one channel with noadjust
        {"crop_train_hsv", in + "[convolutional]\nfilters=3\nsize=1\nactivation=logistic\n[crop]\ncrop_height=4\n"
                                "crop_width=5\nflip=1\nangle=25\nsaturation=1.5\nexposure=1.4\nshift=0.2\n", 1},
        {"crop_eval_half_pixel", net_cfg(2, 2, 6, 7) + "[crop]\ncrop_height=3\ncrop_width=4\n", 0, false},
        {"crop_train_gray", net_cfg(2, 1, 7, 6) + "[crop]\ncrop_height=5\ncrop_width=4\nflip=1\nangle=40\nnoadjust=1\n", 0},
        {"local_3x3_pad", in + "[local]\nfilters=3\nsize=3\npad=1\nactivation=leaky\n", 0},
        {"local_s2_mish", net_cfg(2, 2, 7, 6) + "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n[local]\nfilters=2\n"
                                                "size=3\nstride=2\nactivation=mish\n", 1},
        // [implicit] (its weights; no input gradient) and YOLOR's use of it, scaling channels
        {"implicit", in + "[implicit]\nfilters=5\natoms=2\n", 0},
        {"implicit_mul", in + "[convolutional]\nfilters=4\nsize=1\nactivation=linear\n[implicit]\nfilters=4\nmean=1\n"
                              "[scale_channels]\nfrom=-2\n", 2},
        {"batchnorm", in + "[batchnorm]\n", 0},
        {"lrn", in + "[lrn]\nsize=3\nalpha=0.5\nbeta=0.75\nkappa=2\n", 0},
        {"groupnorm", net_cfg(2, 4, 3, 3) + "[groupnorm]\ngroups=2\nactivation=gelu\n", 0},
    };
    return v;
}

class LayerBackward : public testing::TestWithParam<LayerCase> {};

}  // namespace

TEST_P(LayerBackward, ExactAndAccumulates) {
    const LayerCase& t = GetParam();
    auto probe = net_from<double>(t.cfg);
    std::vector<double> x = make_input(probe->batch, probe->c, probe->h, probe->w, 0.2, 1, -1, 31);
    Checked r = check_cfg(t.cfg, x, t.train, t.layer, 400);
    EXPECT_LE(r.f64.max_err, 1e-6) << describe(r.f64);
    EXPECT_LE(r.f32.max_err, 1e-2) << describe(r.f32);
    EXPECT_LE(r.accumulation, 1e-12) << "backward must add into net.delta and the gradient buffers";
    size_t checked = 0, kinks = 0;
    for (const auto& tc : r.f64.tensors) {
        checked += tc.checked;
        kinks += tc.kinks;
    }
    EXPECT_GT(checked, 0u);
    EXPECT_LE(kinks * 10, checked) << "more than 10% of the elements sat on kinks";
}

INSTANTIATE_TEST_SUITE_P(Layers, LayerBackward, testing::ValuesIn(layer_cases()),
                         [](const testing::TestParamInfo<LayerCase>& i) { return i.param.name; });

TEST(ActivationBackward, EveryActivationIsExact) {
    for (const char* a : {"linear", "logistic", "loggy", "relu", "elu", "selu", "relie", "ramp", "leaky", "tanh", "plse",
                          "hardtan", "lhtan", "relu6", "mish", "hard_mish", "swish", "gelu", "stair"}) {
        SCOPED_TRACE(a);
        // inputs spread over [-8, 8] so that every piece of the piecewise activations is visited
        std::string cfg = net_cfg(2, 2, 4, 4) + "[convolutional]\nfilters=3\nsize=1\nactivation=" + a + "\n";
        std::vector<double> x = make_input(2, 2, 4, 4, 0, 4, -1, 77);
        Checked r = check_cfg(cfg, x, true);
        EXPECT_LE(r.f64.max_err, 1e-6) << describe(r.f64);
        EXPECT_LE(r.f32.max_err, 1e-2) << describe(r.f32);
    }
}

// Every cfg we ship (an AlexNet-style net with [lrn], ResNet-18 with batchnorm, the GroupNorm
// variant, the demos) and the fuzzing's networks in data/ (YOLOv2's, YOLOv1's and Gaussian YOLO's
// heads, [crop], antialiasing, [deconvolutional], the recurrent layers, ASFF's fusion) parse, run
// forward and backward, and every layer passes the checker in training and eval mode.
TEST(NetworkGradcheck, ShippedCfgsPassEveryLayer) {
    struct C {
        const char* name;
        size_t checks;
    };
    for (C c : {C{"cfg/classifier-demo.cfg", 60}, C{"cfg/detector-demo.cfg", 40}, C{"cfg/fashion_bn.cfg", 20},
                C{"cfg/fashion_gn.cfg", 20}, C{"cfg/fashion_lrn.cfg", 20}, C{"cfg/fashion_se.cfg", 20},
                C{"cfg/resnet18_fashion.cfg", 3}, C{"data/yolov2-style.cfg", 20}, C{"data/yolov1-style.cfg", 20},
                C{"data/crop-gaussian-style.cfg", 20}, C{"data/deconv-style.cfg", 20},
                C{"data/rnn-style.cfg", 20}, C{"data/asff-style.cfg", 20}}) {
        const char* name = c.name;
        SCOPED_TRACE(name);
        set_quiet(true);
        auto net = Network<double>::from_cfg_file(repo_root() + "/" + name, 2);
        for (bool train : {true, false}) {
            GradcheckOptions opt;
            opt.train = train;
            opt.max_checks = c.checks;
            auto data = prepare_gradcheck(*net, opt);
            for (int i = 0; i < net->num_layers(); ++i) {
                LayerCheck r = gradcheck_layer(*net, i, opt);
                EXPECT_TRUE(r.pass) << describe(r);
                EXPECT_LE(check_accumulation(*net, i, opt), 1e-12) << "layer " << i;
            }
        }
    }
}

TEST(NetworkGradcheck, CliPrintsATableAndFailsOnlyOnErrors) {
    int rc = 0;
    std::string out = run(darknet_bin() + " gradcheck " + repo_root() + "/cfg/classifier-demo.cfg -checks 30", &rc);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("layer  type"), std::string::npos) << out;
    EXPECT_NE(out.find("connected"), std::string::npos) << out;
    EXPECT_NE(out.find("\nPASS\n"), std::string::npos) << out;
    out = run(darknet_bin() + " gradcheck " + repo_root() + "/cfg/classifier-demo.cfg -checks 30 -float32 -layer 2", &rc);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("float32 analytic vs float64 numeric"), std::string::npos) << out;
    // an impossible tolerance makes it fail, with the worst elements listed
    out = run(darknet_bin() + " gradcheck " + repo_root() + "/cfg/classifier-demo.cfg -checks 30 -layer 0 -tol 1e-30", &rc);
    EXPECT_EQ(rc, 1) << out;
    EXPECT_NE(out.find("FAIL"), std::string::npos) << out;
    EXPECT_NE(out.find("analytic"), std::string::npos) << out;
}
