// cfg parser: syntax, used-key warnings, and the error for each kind of malformed cfg.
#include <gtest/gtest.h>

#include "darknet/cfg.hpp"
#include "darknet/detect_data.hpp"
#include "layers/yolo_layer.hpp"
#include "test_util.hpp"

using namespace dn;
using dn::test::error_of;
using dn::test::net_from;

namespace {
const char* kNet = "[net]\nwidth=16\nheight=16\nchannels=3\n";
}

TEST(Cfg, ParsesSectionsCommentsListsAndSpaces) {
    Cfg c = parse_cfg_string(
        "# comment\n[net]\n batch = 64 ; trailing\nsteps=400,450\n\n[Convolutional]\nfilters= 16 # x\n"
        "anchors = 12, 18,  37, 49\n",
        "a.cfg");
    ASSERT_EQ(c.sections.size(), 2u);
    EXPECT_EQ(c.sections[0].name, "net");
    EXPECT_EQ(c.sections[1].name, "convolutional");
    EXPECT_EQ(c.sections[1].line, 6);
    EXPECT_EQ(c.sections[0].get_int("batch", 1), 64);
    EXPECT_EQ(c.sections[0].get_ints("steps"), (std::vector<int>{400, 450}));
    EXPECT_EQ(c.sections[1].get_int("filters", 0), 16);
    EXPECT_EQ(c.sections[1].get_floats("anchors"), (std::vector<float>{12, 18, 37, 49}));
    EXPECT_EQ(c.sections[1].where("filters"), "a.cfg:7");
}

TEST(Cfg, DefaultsWhenAbsentAndFirstRepeatWins) {
    Cfg c = parse_cfg_string("[net]\nbatch=2\nbatch=3\n", "r.cfg");
    EXPECT_EQ(c.sections[0].get_int("batch", 1), 2);
    EXPECT_EQ(c.sections[0].get_float("momentum", 0.9f), 0.9f);
    EXPECT_EQ(c.sections[0].get_str("policy", "constant"), "constant");
}

TEST(Cfg, UnusedKeyWarnsWithFileAndLine) {
    Cfg c = parse_cfg_string("[net]\nwidth=8\nheight=8\nchannels=1\nbogus_key=3\n[maxpool]\nsize=2\nstride=2\nfoo=1\n",
                             "u.cfg");
    bool q = is_quiet();
    set_quiet(false);
    testing::internal::CaptureStderr();
    auto net = Network<float>::from_cfg(c);
    std::string err = testing::internal::GetCapturedStderr();
    set_quiet(q);
    EXPECT_NE(err.find("u.cfg:5: [net] key 'bogus_key' is not used"), std::string::npos) << err;
    EXPECT_NE(err.find("u.cfg:9: [maxpool] key 'foo' is not used"), std::string::npos) << err;
    EXPECT_EQ(err.find("'size'"), std::string::npos) << "used keys must not warn: " << err;
}

TEST(Cfg, DataFileAndNames) {
    std::string dir = dn::test::make_temp_dir();
    dn::test::write_bytes(dir + "/n.names", {'a', '\r', '\n', 'b', ' ', '\n'});
    std::string data = "classes = 2\nnames = n.names\nbackup=backup/\n";
    dn::test::write_bytes(dir + "/x.data", std::vector<char>(data.begin(), data.end()));
    DataConfig d = parse_data_file(dir + "/x.data");
    EXPECT_EQ(d.get_int("classes", 0), 2);
    EXPECT_EQ(d.get_path("names", ""), dir + "/n.names");  // resolved next to the .data file
    EXPECT_EQ(read_names(d.get_path("names", "")), (std::vector<std::string>{"a", "b"}));
}

// A .data value that is not an integer, a path that does not exist or is a directory: the error
// names the .data file, the line and the key (or the default that was taken), never a bare
// "cannot open" or, for a directory, an empty list read as "no names".
TEST(Cfg, DataFileErrorsNameTheLineAndKey) {
    const std::string dir = dn::test::make_temp_dir();
    dn::test::write_text(dir + "/x.data", "# c\nclasses=1e40\nnames = nope.names\ntrain=" + dir + "\nbig=99999999999\n");
    DataConfig d = parse_data_file(dir + "/x.data");
    auto msg = [&](auto f) { return dn::test::error_of(f); };
    EXPECT_EQ(msg([&] { d.get_int("classes", 0); }), dir + "/x.data:2: key 'classes': expected an integer, got '1e40'");
    EXPECT_EQ(msg([&] { d.get_int("big", 0); }), dir + "/x.data:5: key 'big': expected an integer, got '99999999999'");
    EXPECT_EQ(msg([&] { d.get_path("names", ""); }),
              dir + "/x.data:3: names=nope.names: does not exist (nor " + dir + "/nope.names, " +
                  dn::dirname_of(dir) + "/nope.names)");
    EXPECT_EQ(msg([&] { d.get_path("train", ""); }), dir + "/x.data:4: train=" + dir + ": is a directory, not a file");
    EXPECT_EQ(msg([&] { d.get_path("valid", "/no/valid.list"); }),
              dir + "/x.data has no valid= and its default '/no/valid.list' does not exist");
    EXPECT_EQ(d.get_path("backup", ""), "");  // absent, no default: nothing to check
    EXPECT_EQ(msg([&] { dn::read_text_file(dir); }), "'" + dir + "' is a directory, not a file");
    EXPECT_EQ(dn::read_text_file(dir + "/x.data").substr(0, 3), "# c");
    dn::test::write_text(dir + "/empty", "");
    EXPECT_EQ(dn::read_text_file(dir + "/empty"), "");
    // what a message quotes reaches the terminal without its control characters (\x1b starts an
    // escape sequence); UTF-8 stays
    dn::test::write_text(dir + "/bin.data", "classes=2\n\x1b[2J\x07" "caf\xc3\xa9\tx\n");
    EXPECT_EQ(msg([&] { parse_data_file(dir + "/bin.data"); }),
              dir + "/bin.data:2: expected 'key=value', got '\\x1b[2J\\x07caf\xc3\xa9\tx'");
}

struct BadCfg {
    const char* name;
    std::string text;
    std::string expected;  // substring of the error message, including file:line
};

class MalformedCfg : public testing::TestWithParam<BadCfg> {};

TEST_P(MalformedCfg, GivesItsSpecificError) {
    const BadCfg& b = GetParam();
    std::string msg = error_of([&] { net_from<float>(b.text); });
    ASSERT_FALSE(msg.empty()) << b.name << ": no error raised";
    EXPECT_NE(msg.find(b.expected), std::string::npos) << b.name << ": got \"" << msg << "\"";
}

INSTANTIATE_TEST_SUITE_P(
    Errors, MalformedCfg,
    testing::Values(
        BadCfg{"word_for_number", std::string(kNet) + "[convolutional]\nfilters=abc\n",
               "t.cfg:6: [convolutional] key 'filters': expected an integer, got 'abc'"},
        BadCfg{"negative_size", std::string(kNet) + "[convolutional]\nfilters=4\nsize=-3\n",
               "t.cfg:7: [convolutional] key 'size': must be >= 1, got -3"},
        BadCfg{"fraction_for_integer", std::string(kNet) + "[convolutional]\nfilters=4\nstride=1.5\n",
               "t.cfg:7: [convolutional] key 'stride': expected an integer, got '1.5'"},
        BadCfg{"route_forward_reference", std::string(kNet) + "[convolutional]\nfilters=4\n[route]\nlayers=5\n",
               "t.cfg:8: [route] key 'layers': refers to layer 5, which does not exist yet (this is layer 1)"},
        BadCfg{"route_before_first", std::string(kNet) + "[convolutional]\nfilters=4\n[route]\nlayers=-4\n",
               "t.cfg:8: [route] key 'layers': refers to layer -3"},
        BadCfg{"crop_wider_than_input", std::string(kNet) + "[crop]\ncrop_width=17\ncrop_height=8\n",
               "t.cfg:6: [crop] key 'crop_width': 17 is wider than the input (16)"},
        BadCfg{"crop_levels_need_rgb", std::string(kNet) + "[convolutional]\nfilters=2\n[crop]\ncrop_width=8\n"
                                                           "crop_height=8\nsaturation=1.5\n",
               "t.cfg:10: [crop] key 'saturation': needs a 3-channel (RGB) input; this one has 2 channels"},
        BadCfg{"shortcut_weights_type", std::string(kNet) + "[convolutional]\nfilters=3\n[shortcut]\nfrom=-1\nweights_type=per_pixel\n",
               "[shortcut] key 'weights_type': must be none, per_feature or per_channel, got 'per_pixel'"},
        BadCfg{"shortcut_weights_normalization", std::string(kNet) + "[convolutional]\nfilters=3\n[shortcut]\nfrom=-1\n"
                                                                     "weights_type=per_feature\nweights_normalization=avg\n",
               "[shortcut] key 'weights_normalization': must be none, relu or softmax, got 'avg'"},
        BadCfg{"shortcut_weighted_other_shape", std::string(kNet) + "[convolutional]\nfilters=3\n[convolutional]\nfilters=4\n"
                                                                    "[shortcut]\nfrom=-2\nweights_type=per_channel\n",
               "[shortcut] key 'from': layer 0 is"},
        BadCfg{"shortcut_forward_reference", std::string(kNet) + "[convolutional]\nfilters=3\n[shortcut]\nfrom=1\n",
               "t.cfg:8: [shortcut] key 'from': refers to layer 1, which does not exist yet"},
        BadCfg{"groups_not_dividing", std::string(kNet) + "[convolutional]\nfilters=16\n[convolutional]\nfilters=16\ngroups=3\n",
               "t.cfg:9: [convolutional] key 'groups': groups=3 does not divide the 16 input channels"},
        BadCfg{"route_group_not_dividing", std::string(kNet) + "[convolutional]\nfilters=5\n[route]\nlayers=-1\ngroups=2\n",
               "t.cfg:9: [route] key 'groups': groups=2 does not divide the 5 channels of layer 0"},
        BadCfg{"route_size_mismatch",
               std::string(kNet) + "[convolutional]\nfilters=4\n[maxpool]\nsize=2\nstride=2\n[route]\nlayers=-1,-2\n",
               "t.cfg:11: [route] key 'layers': layer 0 is 16x16 but layer 1 is 8x8"},
        BadCfg{"unknown_section", std::string(kNet) + "[convolutinal]\nfilters=4\n",
               "t.cfg:5: unknown section [convolutinal]; known sections:"},
        BadCfg{"first_not_net", "[convolutional]\nfilters=4\n", "t.cfg:1: the first section must be [net]"},
        BadCfg{"no_equals", std::string(kNet) + "[convolutional]\nfilters 4\n", "t.cfg:6: expected 'key=value', got 'filters 4'"},
        BadCfg{"key_before_section", "batch=1\n[net]\n", "t.cfg:1: key 'batch' appears before the first [section]"},
        BadCfg{"bad_header", "[net\nwidth=1\n", "t.cfg:1: malformed section header '[net'"},
        BadCfg{"unknown_activation", std::string(kNet) + "[convolutional]\nfilters=4\nactivation=leeky\n",
               "t.cfg:7: [convolutional] key 'activation': unknown activation 'leeky'"},
        BadCfg{"net_without_size", "[net]\nbatch=1\n[maxpool]\n", "t.cfg:1: [net]: needs width, height and channels"},
        BadCfg{"steps_scales_mismatch", "[net]\nwidth=8\nheight=8\nchannels=1\npolicy=steps\nsteps=10,20\nscales=.1\n[maxpool]\n",
               "t.cfg:7: [net] key 'scales': has 1 values but steps= has 2"},
        BadCfg{"unknown_policy", "[net]\nwidth=8\nheight=8\nchannels=1\npolicy=stepz\n[maxpool]\n",
               "t.cfg:5: [net] key 'policy': unknown policy 'stepz'"},
        BadCfg{"yolo_channels", std::string(kNet) + "[convolutional]\nfilters=30\n[yolo]\nmask=0,1,2\nclasses=80\nnum=3\n",
               "t.cfg:7: [yolo]: expects the previous layer to have 255 channels (3 masks x (80 classes + 5)), it has 30"},
        BadCfg{"yolo_mask_range", std::string(kNet) + "[convolutional]\nfilters=18\n[yolo]\nmask=0,7\nclasses=4\nnum=3\n",
               "t.cfg:8: [yolo] key 'mask': value 7 is not an anchor index in [0, num=3)"},
        BadCfg{"yolo_anchor_count", std::string(kNet) + "[convolutional]\nfilters=27\n[yolo]\nmask=0,1,2\nclasses=4\nnum=3\nanchors=1,2,3\n",
               "t.cfg:11: [yolo] key 'anchors': has 3 values; num=3 anchors need 6"},
        BadCfg{"yolo_max_delta_zero", std::string(kNet) + "[convolutional]\nfilters=6\n[yolo]\nclasses=1\nmax_delta=0\n",
               "t.cfg:9: [yolo] key 'max_delta': 0 must be > 0"},
        BadCfg{"yolo_resize_negative", std::string(kNet) + "[convolutional]\nfilters=6\n[yolo]\nclasses=1\nresize=-1.5\n",
               "t.cfg:9: [yolo] key 'resize': -1.5 must be > 0"},
        BadCfg{"yolo_objectness_smooth_two", std::string(kNet) + "[convolutional]\nfilters=6\n[yolo]\nclasses=1\nobjectness_smooth=2\n",
               "t.cfg:9: [yolo] key 'objectness_smooth': must be 0 or 1"},
        BadCfg{"unsupported_key", std::string(kNet) + "[convolutional]\nfilters=4\nxnor=1\n",
               "t.cfg:7: [convolutional] key 'xnor': is not supported"},
        BadCfg{"antialiasing_value", std::string(kNet) + "[maxpool]\nsize=2\nstride=2\nantialiasing=3\n",
               "t.cfg:8: [maxpool] key 'antialiasing': is 3; Darknet knows 0 (off), 1 (3x3 blur) and 2 (2x2 blur)"},
        BadCfg{"empty_output", std::string(kNet) + "[convolutional]\nfilters=4\nsize=40\n",
               "t.cfg:5: [convolutional]: a 40x40 kernel with stride 1 and padding 0 leaves no output on a 16x16 input"},
        BadCfg{"no_layers", "[net]\nwidth=8\nheight=8\nchannels=1\n", "has a [net] section but no layers"},
        // Huge values (found by fuzzing the cfgs under ASan/UBSan): each used to overflow int, wrap a
        // size_t weight count to a small allocation, or abort on std::length_error.
        BadCfg{"huge_net_input", "[net]\nwidth=100000\nheight=100000\nchannels=3\n[maxpool]\n",
               "t.cfg:1: [net]: width x height x channels = 100000 x 100000 x 3 = 3e+10 values an image; at most 2^31 - 1"},
        BadCfg{"huge_filters", std::string(kNet) + "[convolutional]\nfilters=1000000000\n",
               "t.cfg:5: [convolutional]: this layer's output would be 16x16x1000000000 = 2.56e+11 values an image"},
        BadCfg{"huge_kernel_wraps_weight_count", std::string(kNet) + "[convolutional]\nfilters=2000\nsize=1000000000\npad=1\n",
               "t.cfg:5: [convolutional]: filters=2000 x 3 input channels a group x size 1000000000 x 1000000000 = "
               "6e+21 weights; a layer holds at most 2^31 - 1"},
        // [local]'s weights per filter (c * size * size) overflowed int before the size check
        BadCfg{"huge_local_kernel", std::string(kNet) + "[local]\nfilters=2\nsize=1000000000\npad=1\n",
               "t.cfg:5: [local]: 289 positions x filters=2 x 3e+18 weights each = 1.734e+21 weights; a layer holds at "
               "most 2^31 - 1"},
        BadCfg{"huge_dilation", std::string(kNet) + "[convolutional]\nfilters=4\nsize=3\ndilation=2000000000\n",
               "t.cfg:5: [convolutional]: size=3, dilation=2000000000 and padding=0 on a 16x16 input overflow (kernel "
               "extent 4000000001"},
        BadCfg{"huge_upsample", std::string(kNet) + "[upsample]\nstride=1000000000\n",
               "t.cfg:5: [upsample]: this layer's output would be 16000000000x16000000000x3"},
        // a slot's classes + 5 (Gaussian: + 9) entries and [region]'s coords + 1 + classes overflowed int
        BadCfg{"huge_yolo_classes", std::string(kNet) + "[convolutional]\nfilters=6\n[yolo]\nclasses=2147483647\n",
               "t.cfg:7: [yolo]: expects the previous layer to have 2147483652 channels (1 masks x (2147483647 classes + 5)), "
               "it has 6"},
        BadCfg{"huge_gaussian_yolo_classes", std::string(kNet) + "[convolutional]\nfilters=6\n[Gaussian_yolo]\n"
                                                                 "classes=2147483647\n",
               "(1 masks x (2147483647 classes + 9)), it has 6"},
        BadCfg{"huge_region_classes", std::string(kNet) + "[convolutional]\nfilters=6\n[region]\nclasses=2147483647\n",
               "expects the previous layer to have 2147483652 channels"},
        BadCfg{"huge_maxpool_padding", std::string(kNet) + "[maxpool]\nsize=2\nstride=1\npadding=2147483647\n",
               "t.cfg:5: [maxpool]: this layer's output would be 2147483662x2147483662x3"}),
    [](const testing::TestParamInfo<BadCfg>& i) { return std::string(i.param.name); });

// A layer whose memory cannot be allocated names its section (std::bad_alloc from the layer's
// constructor; a std::length_error there used to abort the program). 2^20 inputs x (2^31 - 1)
// outputs is 8 PB of weights, past any address space.
TEST(Cfg, LayerThatCannotGetItsMemoryNamesItsSection) {
#if defined(__SANITIZE_ADDRESS__)
    GTEST_SKIP() << "ASan's operator new aborts on an impossible allocation instead of throwing std::bad_alloc";
#endif
    std::string msg =
        error_of([] { net_from<float>("[net]\nwidth=1024\nheight=1024\nchannels=1\n[connected]\noutput=2147483647\n"); });
    EXPECT_NE(msg.find("t.cfg:5: [connected]: out of memory building this layer (layer 0, input 1024x1024x1)"),
              std::string::npos)
        << msg;
}

TEST(Cfg, MissingFileNamesThePath) {
    std::string msg = error_of([] { parse_cfg_file("/nonexistent/x.cfg"); });
    EXPECT_NE(msg.find("cannot open '/nonexistent/x.cfg'"), std::string::npos) << msg;
}

TEST(Cfg, EveryShippedCfgParses) {
    std::string root = dn::test::repo_root();
    int rc = 0;
    std::string list = dn::test::run("ls " + root + "/cfg/*.cfg", &rc);
    ASSERT_EQ(rc, 0) << list;
    std::istringstream in(list);
    std::string path;
    int n = 0;
    while (std::getline(in, path)) {
        if (path.empty()) continue;
        SCOPED_TRACE(path);
        set_quiet(true);
        EXPECT_NO_THROW(Network<float>::from_cfg_file(path, 1));
        ++n;
    }
    EXPECT_GT(n, 0);
}

// The [yolo] heads of AlexeyAB's yolov4-tiny.cfg (resize), yolov4.cfg (max_delta) and
// yolov4-csp.cfg (new_coords, objectness_smooth, max_delta, resize), keys verbatim, load with every
// key read: they used to be errors, so none of these models could even run `detector test`.
TEST(Cfg, Yolov4FamilyHeadsLoadWithTheirTrainingKeys) {
    const std::string conv = "[convolutional]\nsize=1\nstride=1\npad=1\nfilters=255\nactivation=linear\n";
    const std::string anchors = "anchors = 12, 16, 19, 36, 40, 28, 36, 75, 76, 55, 72, 146, 142, 110, 192, 243, 459, 401\n";
    const std::string tiny = "[yolo]\nmask = 3,4,5\nanchors = 10,14,  23,27,  37,58,  81,82,  135,169,  344,319\n"
                             "classes=80\nnum=6\njitter=.3\nscale_x_y = 1.05\ncls_normalizer=1.0\niou_normalizer=0.07\n"
                             "iou_loss=ciou\nignore_thresh = .7\ntruth_thresh = 1\nrandom=0\nresize=1.5\n"
                             "nms_kind=greedynms\nbeta_nms=0.6\n";
    const std::string v4 = "[yolo]\nmask = 6,7,8\n" + anchors +
                           "classes=80\nnum=9\njitter=.3\nignore_thresh = .7\ntruth_thresh = 1\nrandom=1\n"
                           "scale_x_y = 1.05\niou_thresh=0.213\ncls_normalizer=1.0\niou_normalizer=0.07\n"
                           "iou_loss=ciou\nnms_kind=greedynms\nbeta_nms=0.6\nmax_delta=5\n";
    const std::string csp = "[yolo]\nmask = 0,1,2\n" + anchors +
                            "classes=80\nnum=9\njitter=.1\nscale_x_y = 2.0\nobjectness_smooth=1\nignore_thresh = .7\n"
                            "truth_thresh = 1\n#random=1\nresize=1.5\niou_thresh=0.2\niou_normalizer=0.05\n"
                            "cls_normalizer=0.5\nobj_normalizer=4.0\niou_loss=ciou\nnms_kind=diounms\nbeta_nms=0.6\n"
                            "new_coords=1\nmax_delta=5\n";
    struct Want {
        const std::string* text;
        float max_delta, resize;
        int smooth, new_coords;
    };
    for (const Want& w : {Want{&tiny, 0, 1.5f, 0, 0}, Want{&v4, 5, 1, 0, 0}, Want{&csp, 5, 1.5f, 1, 1}}) {
        SCOPED_TRACE(*w.text);
        const Cfg cfg = parse_cfg_string(std::string(kNet) + conv + *w.text, "t.cfg");
        const bool q = is_quiet();
        set_quiet(true);
        auto net = Network<float>::from_cfg(cfg);
        EXPECT_EQ(warn_unused(cfg), 0);  // every key was read
        set_quiet(q);
        const auto* y = dynamic_cast<const YoloLayer<float>*>(net->layers.back().get());
        ASSERT_NE(y, nullptr);
        EXPECT_EQ(y->max_delta, w.max_delta);
        EXPECT_EQ(y->resize_scale, w.resize);
        EXPECT_EQ(y->objectness_smooth, w.smooth);
        EXPECT_EQ(y->new_coords, w.new_coords);
        EXPECT_EQ(DetectorAugment::from(*net).resize, w.resize);
    }
}
