// Darknet .weights I/O: byte-identical round trips, the trailer, and errors for malformed files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "darknet/network.hpp"
#include "darknet/weights.hpp"
#include "test_util.hpp"

using namespace dn;
using dn::test::error_of;
using dn::test::net_from;

namespace {

std::string model(const std::string& name) { return dn::test::model_dir() + "/" + name; }

// A small net covering every layer with weights, in Darknet order.
const char* kSmall =
    "[net]\nwidth=8\nheight=8\nchannels=3\n"
    "[convolutional]\nfilters=4\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n"
    "[convolutional]\nfilters=4\nsize=3\ngroups=4\npad=1\nactivation=linear\n"
    "[batchnorm]\n"
    "[connected]\noutput=5\nbatch_normalize=1\nactivation=linear\n"
    "[connected]\noutput=3\nactivation=linear\n";

void fill_params(Network<float>& n, float base) {
    for (auto& l : n.layers)
        for (auto& p : l->params())
            for (size_t i = 0; i < p.size; ++i) p.value[i] = base + 0.001f * static_cast<float>(i % 97) + 0.5f;
}

}  // namespace

TEST(Weights, RealModelsRoundTripByteIdentical) {
    DN_REQUIRE_SHARED();
    for (const char* name : {"yolo-fastest-1.1-xl", "yolo-fastest-1.1"}) {
        SCOPED_TRACE(name);
        auto net = Network<float>::from_cfg_file(model(std::string(name) + ".cfg"), 1);
        std::string wpath = model(std::string(name) + ".weights");
        load_weights(*net, wpath);
        std::vector<char> original = dn::test::read_bytes(wpath);
        EXPECT_EQ(net->header.major, 0);
        EXPECT_EQ(net->header.minor, 2);
        EXPECT_EQ(net->header.revision, 5);
        std::vector<char> saved = weights_bytes(*net);
        ASSERT_EQ(saved.size(), original.size());
        EXPECT_TRUE(saved == original);
        // load -> save -> load -> save through a file
        std::string tmp = dn::test::make_temp_dir() + "/rt.weights";
        save_weights(*net, tmp);
        auto net2 = Network<float>::from_cfg_file(model(std::string(name) + ".cfg"), 1);
        load_weights(*net2, tmp);
        EXPECT_TRUE(weights_bytes(*net2) == original);
    }
}

TEST(Weights, SmallNetRoundTripAndDarknetLayout) {
    auto a = net_from<float>(kSmall, 1);
    fill_params(*a, 0.25f);
    std::vector<char> bytes = weights_bytes(*a);
    // Darknet's layout: header (20 bytes) then per layer; conv: biases, scales, mean, var, weights;
    // depthwise conv: biases, weights; batchnorm: scales, mean, var; connected: biases, weights, (bn).
    size_t floats = 4 + 3 * 4 + 4 * 3 * 9 + 4 + 4 * 9 + 3 * 4 + 5 + 5 * 4 * 8 * 8 + 3 * 5 + 3 + 3 * 5;
    size_t trailer = 4 + 4 + 4 + (4 + 4 + 4 + 4 * 4);  // DNXT, version, count, one record (kind, layer, n) of 4 biases
    EXPECT_EQ(bytes.size(), 20 + floats * 4 + trailer);
    EXPECT_EQ(std::memcmp(bytes.data() + 20 + floats * 4, "DNXT", 4), 0);
    std::string path = dn::test::make_temp_dir() + "/s.weights";
    save_weights(*a, path);
    auto b = net_from<float>(kSmall, 1);
    load_weights(*b, path);
    for (int i = 0; i < a->num_layers(); ++i) {
        auto pa = a->layers[i]->params(), pb = b->layers[i]->params();
        ASSERT_EQ(pa.size(), pb.size());
        for (size_t k = 0; k < pa.size(); ++k)
            for (size_t j = 0; j < pa[k].size; ++j)
                ASSERT_EQ(pa[k].value[j], pb[k].value[j]) << "layer " << i << " " << pa[k].name << "[" << j << "]";
    }
    EXPECT_TRUE(weights_bytes(*b) == bytes);
}

TEST(Weights, BatchnormBetaSurvivesWhereDarknetLosesIt) {
    auto a = net_from<float>(kSmall, 1);
    fill_params(*a, 0.f);
    auto* bn = a->layers[2].get();
    std::vector<float> beta;
    for (auto& p : bn->params())
        if (p.name == "biases") beta.assign(p.value, p.value + p.size);
    ASSERT_EQ(beta.size(), 4u);
    std::vector<char> bytes = weights_bytes(*a);
    // A Darknet reader stops before the trailer: cut it off and the file still loads, beta = 0.
    std::vector<char> darknet_part(bytes.begin(), bytes.end() - (12 + 12 + 16));
    std::string dir = dn::test::make_temp_dir();
    dn::test::write_bytes(dir + "/old.weights", darknet_part);
    auto old = net_from<float>(kSmall, 1);
    load_weights(*old, dir + "/old.weights");
    for (auto& p : old->layers[2]->params()) {
        if (p.name == "biases") {
            EXPECT_EQ(p.value[0], 0.f);
        }
    }
    dn::test::write_bytes(dir + "/new.weights", bytes);
    auto now = net_from<float>(kSmall, 1);
    load_weights(*now, dir + "/new.weights");
    for (auto& p : now->layers[2]->params()) {
        if (p.name != "biases") continue;
        for (size_t j = 0; j < p.size; ++j) EXPECT_EQ(p.value[j], beta[j]);
    }
}

TEST(Weights, OldHeaderWith32BitSeenRoundTrips) {
    auto a = net_from<float>(kSmall, 1);
    fill_params(*a, 1.f);
    a->header.major = 0;
    a->header.minor = 1;
    a->header.revision = 0;
    a->header.seen = 12345;
    std::vector<char> bytes = weights_bytes(*a);
    std::string p = dn::test::make_temp_dir() + "/v01.weights";
    dn::test::write_bytes(p, bytes);
    auto b = net_from<float>(kSmall, 1);
    load_weights(*b, p);
    EXPECT_EQ(b->header.seen, 12345u);
    EXPECT_EQ(b->header.minor, 1);
    EXPECT_TRUE(weights_bytes(*b) == bytes);
}

TEST(Weights, PartialFileLoadsLeadingLayersOnlyWhenAllowed) {
    auto a = net_from<float>(kSmall, 1);
    fill_params(*a, 2.f);
    std::string p = dn::test::make_temp_dir() + "/part.weights";
    save_weights(*a, p, 2);  // first two layers, like `darknet partial`
    auto b = net_from<float>(kSmall, 1);
    std::string msg = error_of([&] { load_weights(*b, p); });
    EXPECT_NE(msg.find("is truncated: layer 2 (batchnorm) needs 16 bytes for 'scales'"), std::string::npos) << msg;
    auto c = net_from<float>(kSmall, 1);
    load_weights(*c, p, true);
    EXPECT_EQ(c->layers[1]->params()[0].value[0], a->layers[1]->params()[0].value[0]);
}

namespace {

// params() values of one array of a layer, by Darknet's name.
std::vector<float> values_of(Layer<float>& l, const std::string& name) {
    for (auto& p : l.params())
        if (p.name == name) return std::vector<float>(p.value, p.value + p.size);
    ADD_FAILURE() << l.type() << " has no array " << name;
    return {};
}

const char* kTwoConvs =
    "[net]\nwidth=6\nheight=6\nchannels=2\n"
    "[convolutional]\nfilters=3\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n"
    "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n";
// kTwoConvs with a layer inserted between the two (same channels in and out), which the file of
// kTwoConvs has nothing for: Darknet's dontload=1.
const char* kInserted =
    "[net]\nwidth=6\nheight=6\nchannels=2\n"
    "[convolutional]\nfilters=3\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n"
    "[convolutional]\nfilters=3\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\ndontload=1\n"
    "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n";

}  // namespace

// AlexeyAB's save_shortcut_weights: a weighted shortcut's raw weights, source-major, after the
// layers before it.
TEST(Weights, WeightedShortcutWritesItsWeights) {
    const char* cfg = "[net]\nwidth=4\nheight=4\nchannels=2\n"
                      "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n"
                      "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n"
                      "[shortcut]\nfrom=-2\nweights_type=per_channel\nweights_normalization=softmax\n";
    auto a = net_from<float>(cfg, 1);
    auto w = a->layers[2]->params();
    ASSERT_EQ(w.size(), 1u);
    ASSERT_EQ(w[0].size, 4u);  // 2 sources x 2 channels
    for (size_t i = 0; i < 4; ++i) EXPECT_EQ(w[0].value[i], 1.f);  // AlexeyAB's initial weights
    const float raw[4] = {0.5f, -1.f, 2.f, 0.25f};
    std::copy(raw, raw + 4, w[0].value);
    std::vector<char> bytes = weights_bytes(*a);
    ASSERT_EQ(bytes.size(), 20u + 2 * (2 + 4) * 4 + 4 * 4);
    EXPECT_EQ(std::memcmp(bytes.data() + bytes.size() - 16, raw, 16), 0);
    auto b = net_from<float>(cfg, 1);
    load_weights_bytes(*b, bytes);
    EXPECT_EQ(values_of(*b->layers[2], "weights"), std::vector<float>(raw, raw + 4));
    EXPECT_TRUE(weights_bytes(*b) == bytes);
}

TEST(Weights, DontloadLayerReadsNothingFromTheFile) {
    auto a = net_from<float>(kTwoConvs, 1);
    fill_params(*a, 1.f);
    std::string path = dn::test::make_temp_dir() + "/two.weights";
    save_weights(*a, path);
    auto b = net_from<float>(kInserted, 1);
    for (auto& p : b->layers[1]->params())
        for (size_t i = 0; i < p.size; ++i) p.value[i] = -3.f - static_cast<float>(i);
    auto before = b->layers[1]->params();
    std::vector<std::vector<float>> inserted;
    for (auto& p : before) inserted.emplace_back(p.value, p.value + p.size);
    load_weights(*b, path);
    for (const char* name : {"biases", "scales", "rolling_mean", "rolling_variance", "weights"})
        EXPECT_EQ(values_of(*b->layers[0], name), values_of(*a->layers[0], name)) << name;
    for (const char* name : {"biases", "weights"})
        EXPECT_EQ(values_of(*b->layers[2], name), values_of(*a->layers[1], name)) << name;
    auto after = b->layers[1]->params();
    for (size_t k = 0; k < after.size(); ++k)
        EXPECT_EQ(std::vector<float>(after[k].value, after[k].value + after[k].size), inserted[k]) << after[k].name;
    // without the key the same file is one layer short: an error, not a shifted read
    auto c = net_from<float>(kInserted, 1);
    c->layers[1]->dontload = false;
    std::string msg = error_of([&] { load_weights(*c, path); });
    EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
}

TEST(Weights, DontloadscalesReadsAFileWithoutTheBatchnormArrays) {
    const char* plain = "[net]\nwidth=5\nheight=5\nchannels=2\n"
                        "[convolutional]\nfilters=3\nsize=3\npad=1\nactivation=leaky\n"
                        "[connected]\noutput=4\nactivation=linear\n";
    const char* with_bn = "[net]\nwidth=5\nheight=5\nchannels=2\n"
                          "[convolutional]\nfilters=3\nsize=3\npad=1\nactivation=leaky\nbatch_normalize=1\n"
                          "dontloadscales=1\n"
                          "[connected]\noutput=4\nactivation=linear\nbatch_normalize=1\ndontloadscales=1\n";
    auto a = net_from<float>(plain, 1);
    fill_params(*a, 0.5f);
    auto b = net_from<float>(with_bn, 1);
    for (int i = 0; i < 2; ++i)
        for (auto& p : b->layers[i]->params())
            if (p.name == "scales" || p.name == "rolling_mean" || p.name == "rolling_variance")
                std::fill(p.value, p.value + p.size, 7.f);
    load_weights_bytes(*b, weights_bytes(*a));
    for (int i = 0; i < 2; ++i) {
        SCOPED_TRACE(b->layers[i]->type());
        for (const char* name : {"biases", "weights"})
            EXPECT_EQ(values_of(*b->layers[i], name), values_of(*a->layers[i], name)) << name;
        for (const char* name : {"scales", "rolling_mean", "rolling_variance"})
            for (float v : values_of(*b->layers[i], name)) EXPECT_EQ(v, 7.f) << name;  // not read
    }
}

TEST(Weights, CheckpointOfACfgWithLoadKeysLoadsWhole) {
    // training from the cfg with dontload / dontloadscales writes every layer whole; resuming
    // from that file with the same cfg must not read it shifted
    auto a = net_from<float>(kInserted, 1);
    fill_params(*a, 1.5f);
    std::vector<char> bytes = weights_bytes(*a);
    std::string cfg = std::string(kInserted);
    cfg.insert(cfg.find("batch_normalize=1") + 18, "dontloadscales=1\n");
    auto b = net_from<float>(cfg.c_str(), 1);
    load_weights_bytes(*b, bytes);
    EXPECT_TRUE(weights_bytes(*b) == bytes);
}

// Darknet's dontsave=1: files written from the cfg hold nothing for the layer. Such a file loads
// back into the same cfg (the loader recognises the layout), into one with dontload=1 on the layer
// instead (Darknet's pairing), and a file that holds every layer still loads whole into it.
TEST(Weights, DontsaveLayerIsLeftOutOfTheFile) {
    std::string cfg = kInserted;
    cfg.replace(cfg.find("dontload=1"), 10, "dontsave=1");
    auto a = net_from<float>(cfg.c_str(), 1);
    fill_params(*a, 2.f);
    auto whole_net = net_from<float>(kInserted, 1);
    whole_net->layers[1]->dontload = false;
    fill_params(*whole_net, 2.f);
    const std::vector<char> whole = weights_bytes(*whole_net);
    const std::vector<char> bytes = weights_bytes(*a);
    WeightsWriter probe;
    a->layers[1]->save_weights(probe);
    ASSERT_EQ(bytes.size() + probe.bytes().size(), whole.size());
    // the file is layers 0 and 2 of the whole one
    auto two = net_from<float>(kTwoConvs, 1);
    load_weights_bytes(*two, bytes);
    for (const char* name : {"biases", "weights"})
        EXPECT_EQ(values_of(*two->layers[1], name), values_of(*a->layers[2], name)) << name;
    auto fresh = [&](const std::string& text) {
        auto n = net_from<float>(text.c_str(), 1);
        for (auto& p : n->layers[1]->params()) std::fill(p.value, p.value + p.size, -4.f);
        return n;
    };
    for (const std::string& text : {cfg, std::string(kInserted)}) {
        auto b = fresh(text);
        load_weights_bytes(*b, bytes);
        for (int i : {0, 2})
            for (auto& p : b->layers[i]->params())
                EXPECT_EQ(values_of(*b->layers[i], p.name.c_str()), values_of(*a->layers[i], p.name.c_str())) << p.name;
        for (auto& p : b->layers[1]->params())
            for (size_t k = 0; k < p.size; ++k) ASSERT_EQ(p.value[k], -4.f) << p.name << " was read from the file";
    }
    auto c = fresh(cfg);
    load_weights_bytes(*c, whole);
    for (auto& p : c->layers[1]->params())
        EXPECT_EQ(values_of(*c->layers[1], p.name.c_str()), values_of(*whole_net->layers[1], p.name.c_str())) << p.name;
    // copy_weights (training -> evaluation network) copies the dontsave layer too
    auto d = fresh(cfg);
    copy_weights(*a, *d);
    for (auto& p : d->layers[1]->params())
        EXPECT_EQ(values_of(*d->layers[1], p.name.c_str()), values_of(*a->layers[1], p.name.c_str())) << p.name;
}

// Darknet's numload=N on a [convolutional]: the file holds the layer's first N filters (a file from
// the cfg with filters=N); the others keep their initial values. The layer's own checkpoints hold
// every filter and load whole.
TEST(Weights, NumloadReadsTheFirstFilters) {
    const char* small = "[net]\nwidth=5\nheight=5\nchannels=3\n"
                        "[convolutional]\nfilters=2\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n[maxpool]\nsize=2\nstride=2\n";
    const char* wide = "[net]\nwidth=5\nheight=5\nchannels=3\n"
                       "[convolutional]\nfilters=4\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\nnumload=2\n"
                       "[maxpool]\nsize=2\nstride=2\n";
    auto a = net_from<float>(small, 1);
    fill_params(*a, 0.25f);
    auto b = net_from<float>(wide, 1);
    for (auto& p : b->layers[0]->params()) std::fill(p.value, p.value + p.size, 9.f);
    load_weights_bytes(*b, weights_bytes(*a));
    for (const char* name : {"biases", "scales", "rolling_mean", "rolling_variance", "weights"}) {
        const std::vector<float> got = values_of(*b->layers[0], name), want = values_of(*a->layers[0], name);
        ASSERT_EQ(got.size(), 2 * want.size()) << name;
        EXPECT_EQ(std::vector<float>(got.begin(), got.begin() + want.size()), want) << name;
        for (size_t k = want.size(); k < got.size(); ++k) ASSERT_EQ(got[k], 9.f) << name << "[" << k << "]";
    }
    const std::vector<char> own = weights_bytes(*b);
    auto c = net_from<float>(wide, 1);
    load_weights_bytes(*c, own);
    EXPECT_TRUE(weights_bytes(*c) == own);
    EXPECT_NE(error_of([&] { net_from<float>(std::string(wide).replace(std::string(wide).find("numload=2"), 9, "numload=5").c_str(), 1); })
                  .find("key 'numload': loads the first 5 filters of the weights file, but this layer has 4"),
              std::string::npos);
}

struct BadWeights {
    const char* name;
    int cut;      // bytes removed from the end (>0) or appended (<0)
    int keep;     // if > 0, keep only the first `keep` bytes
    std::string expected;
};

class MalformedWeights : public testing::TestWithParam<BadWeights> {};

TEST_P(MalformedWeights, GivesItsSpecificError) {
    const BadWeights& w = GetParam();
    auto a = net_from<float>(kSmall, 1);
    fill_params(*a, 3.f);
    std::vector<char> bytes = weights_bytes(*a);
    if (w.keep > 0) bytes.resize(w.keep);
    else if (w.cut > 0) bytes.resize(bytes.size() - w.cut);
    else bytes.insert(bytes.end(), -w.cut, '\x01');
    std::string p = dn::test::make_temp_dir() + "/bad.weights";
    dn::test::write_bytes(p, bytes);
    auto b = net_from<float>(kSmall, 1);
    std::string msg = error_of([&] { load_weights(*b, p); });
    ASSERT_FALSE(msg.empty()) << w.name << ": no error";
    EXPECT_NE(msg.find(w.expected), std::string::npos) << w.name << ": got \"" << msg << "\"";
}

INSTANTIATE_TEST_SUITE_P(
    Errors, MalformedWeights,
    testing::Values(
        // conv0 = biases(16 B) scales mean var (48 B) weights (432 B): cut inside its weights
        BadWeights{"truncated_in_layer", 0, 20 + 16 + 48 + 100,
                   "is truncated: layer 0 (convolutional) needs 432 bytes for 'weights' at byte offset 84, only 100 available"},
        BadWeights{"oversized", -10, 0, "has 10 bytes left after the last layer"},
        BadWeights{"header_too_short", 0, 8, "is 8 bytes long; a Darknet weights header needs at least 16"},
        BadWeights{"seen_truncated", 0, 15, "is truncated in its header: 'seen' needs 8 bytes at byte offset 12, only 3 available"},
        BadWeights{"cut_at_layer_boundary", 0, 20 + 16 + 48 + 432,
                   "is truncated: layer 1 (convolutional) needs 16 bytes for 'biases' at byte offset 516, only 0 available"},
        BadWeights{"trailer_cut", 12, 0, "is truncated: layer 2 (batchnorm) needs 16 bytes for 'biases'"},
        BadWeights{"trailer_header_cut", 32, 0, "is truncated: 'trailer record count' needs 4 bytes"}),
    [](const testing::TestParamInfo<BadWeights>& i) { return std::string(i.param.name); });

// A NaN or infinite value (a corrupt file, or one saved from a diverged run), or a negative rolling
// variance, is an error naming the layer, the array, the value's index and its byte offset; Darknet
// loads it and detects nothing.
TEST(Weights, NonFiniteValueIsAnErrorWithItsByteOffset) {
    auto a = net_from<float>(kSmall, 1);
    fill_params(*a, 3.f);
    const std::vector<char> good = weights_bytes(*a);
    struct Case {
        size_t offset;
        float value;
        std::string expected;
    };
    // conv0: biases at 20, scales 36, rolling_mean 52, rolling_variance 68, weights 84 (108 values)
    const Case cases[] = {
        {84 + 5 * 4, std::nanf(""), "layer 0 (convolutional) 'weights' value 5 of 108, at byte offset 104, is NaN"},
        {68 + 2 * 4, -INFINITY, "layer 0 (convolutional) 'rolling_variance' value 2 of 4, at byte offset 76, is -inf"},
        {68 + 3 * 4, -0.25f, "layer 0 (convolutional) 'rolling_variance' value 3 of 4, at byte offset 80, is -0.25: a "
                             "variance cannot be negative"},
    };
    for (const Case& c : cases) {
        std::vector<char> bytes = good;
        std::memcpy(bytes.data() + c.offset, &c.value, sizeof(float));
        std::string p = dn::test::make_temp_dir() + "/nan.weights";
        dn::test::write_bytes(p, bytes);
        auto b = net_from<float>(kSmall, 1);
        std::string msg = error_of([&] { load_weights(*b, p); });
        EXPECT_NE(msg.find(c.expected), std::string::npos) << "got \"" << msg << "\"";
    }
}

TEST(Weights, CheckpointsCarryOptimizerStateThatDarknetIgnores) {
    auto a = net_from<float>(kSmall, 1);
    fill_params(*a, 0.7f);
    a->ensure_grads();
    for (auto& l : a->layers)
        for (auto& p : l->params())
            if (p.grad)
                for (size_t i = 0; i < p.size; ++i) p.grad[i] = 0.001f * static_cast<float>(i % 13) - 0.004f;
    std::string dir = dn::test::make_temp_dir();
    save_weights(*a, dir + "/ckpt.weights", -1, true);
    save_weights(*a, dir + "/plain.weights");
    std::vector<char> ck = dn::test::read_bytes(dir + "/ckpt.weights"), pl = dn::test::read_bytes(dir + "/plain.weights");
    ASSERT_GT(ck.size(), pl.size());
    // the layers' part (what a Darknet reads) is identical
    EXPECT_TRUE(std::equal(pl.begin(), pl.begin() + static_cast<long>(pl.size()) - 40, ck.begin()));  // 40: the bn trailer
    auto b = net_from<float>(kSmall, 1);
    load_weights(*b, dir + "/ckpt.weights");
    for (int i = 0; i < a->num_layers(); ++i) {
        auto pa = a->layers[i]->params(), pb = b->layers[i]->params();
        for (size_t k = 0; k < pa.size(); ++k) {
            if (!pa[k].grad) continue;
            for (size_t j = 0; j < pa[k].size; ++j) ASSERT_EQ(pa[k].grad[j], pb[k].grad[j]) << i << " " << pa[k].name;
        }
    }
    EXPECT_TRUE(weights_bytes(*b, -1, true) == ck);
}

// Inference loads (detector test, classifier predict/valid, demo, benchmark) skip a checkpoint's
// training state: SGD's momentum, Adam's moments and ema_alpha's average. No weight gradient
// buffer or moment is allocated, and the network holds what the plain weights file gives.
TEST(Weights, InferenceLoadsSkipTheCheckpointsTrainingState) {
    const std::string sgd = kSmall;
    std::string adam = kSmall, ema = kSmall;
    adam.insert(adam.find("width"), "adam=1\n");
    ema.insert(ema.find("width"), "ema_alpha=0.9\n");
    for (const std::string& cfg : {sgd, adam, ema}) {
        auto a = net_from<float>(cfg, 1);
        fill_params(*a, 0.4f);
        a->ensure_grads();
        for (auto& l : a->layers) {
            auto ps = l->params();
            for (auto& p : ps)
                if (p.grad) std::fill(p.grad, p.grad + p.size, 0.01f);
            if (cfg == ema && !ps.empty())
                for (auto& p : ps) l->ema.emplace_back(p.grad ? p.size : 0, 0.25f);
        }
        if (cfg == adam) a->update(0.001f);  // Adam's moments and step count
        const std::string dir = dn::test::make_temp_dir();
        save_weights(*a, dir + "/ckpt.weights", -1, true);
        save_weights(*a, dir + "/plain.weights");
        const std::vector<char> ck = dn::test::read_bytes(dir + "/ckpt.weights");
        ASSERT_GT(ck.size(), dn::test::read_bytes(dir + "/plain.weights").size() + 100) << "no training state saved";
        auto t = net_from<float>(cfg, 1), i = net_from<float>(cfg, 1), p = net_from<float>(cfg, 1);
        load_weights(*t, dir + "/ckpt.weights");
        load_weights(*i, dir + "/ckpt.weights", false, LoadFor::Inference);
        load_weights(*p, dir + "/plain.weights");
        EXPECT_TRUE(weights_bytes(*t, -1, true) == ck) << "a training load restores it all";
        EXPECT_TRUE(weights_bytes(*i, -1, true) == weights_bytes(*p, -1, true)) << "the inference load is the plain file's";
        // gradient floats allocated (the layers make the small bias gradients when built)
        auto grad_floats = [](Network<float>& n) {
            size_t g = 0;
            for (auto& l : n.layers)
                for (auto& q : l->params()) g += q.grad ? q.size : 0;
            return g;
        };
        EXPECT_EQ(grad_floats(*i), grad_floats(*p));
        EXPECT_GT(grad_floats(*t), grad_floats(*p) + 100);
        for (auto& l : i->layers) {
            EXPECT_TRUE(l->adam.empty()) << l->index;
            EXPECT_TRUE(l->ema.empty()) << l->index;
        }
    }
}

// A checkpoint (_last.weights: the optimizer trailer after the layers) of a network whose last
// layers have no weights (every classifier ends in [softmax], every detector in [yolo]) is whole:
// `detector test`, `map` and `classifier valid` load it without allow_partial. They used to stop
// with "truncated ... before layer N (softmax)".
TEST(Weights, CheckpointOfANetEndingInLayersWithoutWeightsLoadsWhole) {
    const std::string tails[] = {"[softmax]\n", "[maxpool]\nsize=1\nstride=1\n[dropout]\n[softmax]\n",
                                 "[convolutional]\nfilters=18\nsize=1\nactivation=linear\n[yolo]\nmask=0,1,2\n"
                                 "anchors=1,1,2,2,3,3\nclasses=1\nnum=3\n"};
    for (const std::string& tail : tails) {
        const std::string cfg = std::string(kSmall).substr(0, std::string(kSmall).rfind("[connected]")) + tail;
        auto a = net_from<float>(cfg, 1);
        fill_params(*a, 0.3f);
        a->ensure_grads();
        const std::string p = dn::test::make_temp_dir() + "/last.weights";
        save_weights(*a, p, -1, true);
        auto b = net_from<float>(cfg, 1);
        load_weights(*b, p);  // not partial
        EXPECT_TRUE(weights_bytes(*b, -1, true) == dn::test::read_bytes(p)) << tail;
        // a layer with weights that the file lacks is still an error
        auto c = net_from<float>(cfg + "[connected]\noutput=2\n", 1);
        const std::string msg = error_of([&] { load_weights(*c, p); });
        EXPECT_NE(msg.find("is truncated: its layers end at byte offset"), std::string::npos) << tail << msg;
    }
}

TEST(Weights, GarbageHeaderIsRejected) {
    std::string p = dn::test::make_temp_dir() + "/jpeg.weights";
    std::vector<char> jpeg = {'\xff', '\xd8', '\xff', '\xe0', 0, 0x10, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0};
    dn::test::write_bytes(p, jpeg);
    auto b = net_from<float>(kSmall, 1);
    std::string msg = error_of([&] { load_weights(*b, p); });
    EXPECT_NE(msg.find("does not look like a Darknet weights file"), std::string::npos) << msg;
}

TEST(Weights, MissingFile) {
    auto b = net_from<float>(kSmall, 1);
    std::string msg = error_of([&] { load_weights(*b, "/nonexistent/w.weights"); });
    EXPECT_NE(msg.find("cannot open weights file '/nonexistent/w.weights'"), std::string::npos) << msg;
}

TEST(Weights, SaveIsAtomicAndKeepsOldFileOnFailure) {
    auto a = net_from<float>(kSmall, 1);
    std::string dir = dn::test::make_temp_dir();
    // writing into a directory that does not exist fails without touching anything
    std::string msg = error_of([&] { save_weights(*a, dir + "/missing/x.weights"); });
    EXPECT_NE(msg.find("cannot write"), std::string::npos) << msg;
    save_weights(*a, dir + "/x.weights");
    int rc = 0;
    std::string ls = dn::test::run("ls " + dir, &rc);
    EXPECT_EQ(ls, "x.weights\n");  // no temporary left behind
}
