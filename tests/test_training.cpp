// Training: the loss falls on real data, an interrupted and resumed run equals an uninterrupted
// one, a NaN loss stops with the layer named, learning-rate policies, labels, augmentation.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "darknet/augment.hpp"
#include "darknet/data.hpp"
#include "darknet/image.hpp"
#include "darknet/trainer.hpp"
#include "test_util.hpp"

using namespace dn;
using namespace dn::test;

namespace {

std::string tiny_cfg(int max_batches, float lr) {
    return strfmt("[net]\nbatch=32\nsubdivisions=2\nwidth=28\nheight=28\nchannels=1\nmomentum=0.9\ndecay=0.0005\n"
                  "learning_rate=%g\nburn_in=10\npolicy=poly\npower=2\nmax_batches=%d\nmin_crop=28\nmax_crop=30\n"
                  "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=2\npad=1\nactivation=leaky\n"
                  "[convolutional]\nbatch_normalize=1\nfilters=16\nsize=3\nstride=2\npad=1\nactivation=leaky\n"
                  "[dropout]\nprobability=.2\n"
                  "[connected]\noutput=10\nactivation=linear\n[softmax]\n",
                  lr, max_batches);
}

std::string train_cmd(const std::string& dir, const std::string& cfg, const std::string& weights = "") {
    return "cd " + dir + " && OMP_NUM_THREADS=2 exec " + darknet_bin() + " classifier train " + small_classification_set() +
           "/fashion.data " + cfg + " " + weights + " -dont_show -chart chart.png";
}

}  // namespace

TEST(Training, LossFallsOnFashionMnistAndTheModelClassifies) {
    std::string dir = make_temp_dir();
    write_text(dir + "/tiny.cfg", tiny_cfg(80, 0.05f));
    int rc = 0;
    std::string log = run(train_cmd(dir, "tiny.cfg"), &rc);
    ASSERT_EQ(rc, 0) << log;
    std::vector<double> l = losses(log);
    ASSERT_EQ(l.size(), 80u) << log;
    const double first = (l[0] + l[1] + l[2]) / 3, last = (l[75] + l[76] + l[77] + l[78] + l[79]) / 5;
    EXPECT_LT(last, 0.6 * first) << "loss did not fall: first " << first << ", last " << last;
    EXPECT_TRUE(file_exists(dir + "/backup/tiny_final.weights"));
    EXPECT_TRUE(file_exists(dir + "/chart.png"));
    std::string out = run("cd " + dir + " && " + darknet_bin() + " classifier valid " + small_classification_set() + "/fashion.data tiny.cfg backup/tiny_final.weights", &rc);
    ASSERT_EQ(rc, 0) << out;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(out, m, std::regex("\\d+ images: top 1: ([0-9.]+), top 2: ([0-9.]+)"))) << out;
    EXPECT_GT(std::stod(m[1]), 0.5) << out;  // 10 classes: chance is 0.1
    out = run("cd " + dir + " && " + darknet_bin() + " classifier predict " + small_classification_set() +
                  "/fashion.data tiny.cfg backup/tiny_final.weights $(head -1 " + small_classification_set() + "/test.list)",
              &rc);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_TRUE(std::regex_search(out, std::regex("Predicted in [0-9.]+ seconds\\.\\n *[0-9.]+%: [a-z]+\\n"))) << out;
}

namespace {

// Stopping (Ctrl-C) at an arbitrary iteration and resuming from <cfg>_last.weights gives the same
// final weights, byte for byte, as one uninterrupted run: the data, the dropout masks and the
// augmentation are functions of the iteration, and the checkpoint carries the optimizer's state.
void expect_resumed_run_equals_uninterrupted(const std::string& cfg, int iterations) {
    std::string a = make_temp_dir(), b = make_temp_dir();
    write_text(a + "/net.cfg", cfg);
    write_text(b + "/net.cfg", cfg);
    int rc = 0;
    std::string log = run(train_cmd(a, "net.cfg"), &rc);
    ASSERT_EQ(rc, 0) << log;
    // b: interrupt once a few iterations are done
    run(train_cmd(b, "net.cfg") + " > log.txt 2>&1 & echo $! > " + b + "/pid", &rc);
    std::string blog;
    for (int i = 0; i < 300; ++i) {
        blog = read_text_file(b + "/log.txt");
        if (losses(blog).size() >= 6) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    run("kill -INT $(cat " + b + "/pid)", &rc);
    for (int i = 0; i < 500 && run("kill -0 $(cat " + b + "/pid) 2>/dev/null; echo $?", &rc) == "0\n"; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    blog = read_text_file(b + "/log.txt");
    const size_t stopped = losses(blog).size();
    ASSERT_LT(stopped, static_cast<size_t>(iterations)) << "the run finished before the interrupt; " << blog;
    ASSERT_NE(blog.find("Interrupted"), std::string::npos) << blog;
    ASSERT_TRUE(file_exists(b + "/backup/net_last.weights")) << blog;
    std::string resumed = run(train_cmd(b, "net.cfg", "backup/net_last.weights"), &rc);
    ASSERT_EQ(rc, 0) << resumed;
    EXPECT_EQ(losses(resumed).size() + stopped, static_cast<size_t>(iterations)) << resumed;
    std::vector<char> wa = read_bytes(a + "/backup/net_final.weights"), wb = read_bytes(b + "/backup/net_final.weights");
    ASSERT_FALSE(wa.empty());
    EXPECT_TRUE(wa == wb) << "stopped after " << stopped << " iterations; resumed weights differ";
}

}  // namespace

TEST(Training, InterruptedAndResumedRunEqualsUninterruptedRun) {
    expect_resumed_run_equals_uninterrupted(tiny_cfg(40, 0.05f), 40);
}

// The same with adam=1: the checkpoint carries Adam's moments and step count. And Adam trains.
TEST(Training, AdamTrainsAndResumesExactly) {
    std::string cfg = tiny_cfg(40, 0.005f);
    cfg.replace(cfg.find("momentum=0.9\n"), 13, "adam=1\nB1=0.9\nB2=0.999\n");
    expect_resumed_run_equals_uninterrupted(cfg, 40);
    std::string dir = make_temp_dir();
    write_text(dir + "/adam.cfg", cfg);
    int rc = 0;
    std::string log = run(train_cmd(dir, "adam.cfg"), &rc);
    ASSERT_EQ(rc, 0) << log;
    EXPECT_EQ(log.find("not used"), std::string::npos) << "adam=1's keys are read: " << log;
    std::vector<double> l = losses(log);
    ASSERT_EQ(l.size(), 40u) << log;
    const double first = (l[0] + l[1] + l[2]) / 3, last = (l[35] + l[36] + l[37] + l[38] + l[39]) / 5;
    EXPECT_LT(last, 0.6 * first) << "loss did not fall with Adam: first " << first << ", last " << last;
}

// -clear: training from a checkpoint with -clear is training from its weights alone: the iteration
// count and the optimizer's state (SGD's momentum here) restart, so the run equals, byte for byte
// after the header, one from the same weights written without them (darknet partial: seen 0).
TEST(Training, ClearStartsFromTheWeightsAlone) {
    const std::string dir = make_temp_dir();
    write_text(dir + "/net.cfg", tiny_cfg(6, 0.05f));
    int rc = 0;
    std::string log = run(train_cmd(dir, "net.cfg"), &rc);
    ASSERT_EQ(rc, 0) << log;
    run("mkdir -p " + dir + "/b " + dir + "/c && cp " + dir + "/net.cfg " + dir + "/b/ && cp " + dir + "/net.cfg " + dir + "/c/");
    log = run(train_cmd(dir + "/b", "net.cfg", dir + "/backup/net_last.weights -clear"), &rc);
    ASSERT_EQ(rc, 0) << log;
    EXPECT_EQ(losses(log).size(), 6u) << "-clear restarts the iteration count\n" << log;
    log = run(darknet_bin() + " partial " + dir + "/net.cfg " + dir + "/backup/net_last.weights " + dir + "/plain.weights 5", &rc);
    ASSERT_EQ(rc, 0) << log;
    log = run(train_cmd(dir + "/c", "net.cfg", dir + "/plain.weights"), &rc);
    ASSERT_EQ(rc, 0) << log;
    const std::vector<char> b = read_bytes(dir + "/b/backup/net_final.weights"), c = read_bytes(dir + "/c/backup/net_final.weights");
    ASSERT_EQ(b.size(), c.size());
    ASSERT_GT(b.size(), 20u);
    EXPECT_TRUE(std::equal(b.begin() + 20, b.end(), c.begin() + 20)) << "-clear kept some of the checkpoint's optimizer state";
}

TEST(Training, NanLossStopsWithTheFirstNonFiniteLayerNamed) {
    std::string dir = make_temp_dir();
    std::string cfg = tiny_cfg(50, 1e12f);
    write_text(dir + "/bad.cfg", cfg);
    int rc = 0;
    std::string log = run(train_cmd(dir, "bad.cfg"), &rc);
    EXPECT_EQ(rc, 1) << log;
    EXPECT_TRUE(std::regex_search(log, std::regex("darknet: error: iteration \\d+: the loss is (NaN|infinite); layer \\d+ "
                                                  "\\(\\w+, bad.cfg:\\d+\\) is the first whose output is not finite")))
        << log;
}

// The chart's loss axis: fitted to the curve, or ending at [net] max_chart_loss (AlexeyAB's): a
// constant loss 2.5 over 100 iterations is drawn halfway up the plot with max_chart_loss=5.
TEST(Training, ChartLossAxis) {
    const std::string dir = make_temp_dir();
    std::vector<std::pair<int64_t, double>> losses;
    for (int64_t i = 1; i <= 100; ++i) losses.push_back({i, 2.5});
    auto blue_at = [&](const std::string& path, int x, int y) {
        const Image im = load_image(path, 3);
        const size_t plane = static_cast<size_t>(im.w) * im.h, p = static_cast<size_t>(y) * im.w + x;
        return im.data[p] < 0.3f && im.data[plane + p] < 0.4f && im.data[2 * plane + p] > 0.6f;
    };
    write_chart(dir + "/fixed.png", losses, {}, 100, "", 5);
    write_chart(dir + "/fitted.png", losses, {}, 100, "");
    // plot: x from 70 to 730 over 100 iterations, y from 430 (0) up to 30 (the axis's end)
    EXPECT_TRUE(blue_at(dir + "/fixed.png", 400, 230));
    EXPECT_FALSE(blue_at(dir + "/fitted.png", 400, 230));
    EXPECT_TRUE(blue_at(dir + "/fitted.png", 400, 430 - static_cast<int>(400 * 2.5 / 2.75)));
    auto net = net_from<float>("[net]\nwidth=4\nheight=4\nchannels=1\nmax_chart_loss=20\nmosaic_bound=1\n[avgpool]\n");
    EXPECT_EQ(net->cfg.max_chart_loss, 20.f);
}

TEST(Training, LearningRatePolicies) {
    auto rate = [](const std::string& keys, uint64_t iteration) {
        auto net = net_from<float>("[net]\nbatch=4\nsubdivisions=2\nwidth=4\nheight=4\nchannels=1\nlearning_rate=0.1\n" + keys +
                                   "[maxpool]\nsize=1\nstride=1\n");
        net->header.seen = iteration * 4;  // batch * subdivisions images per iteration
        return static_cast<double>(net->current_rate());
    };
    EXPECT_NEAR(rate("policy=constant\n", 500), 0.1, 1e-7);
    EXPECT_NEAR(rate("policy=steps\nsteps=100,200\nscales=.5,.1\n", 99), 0.1, 1e-7);
    EXPECT_NEAR(rate("policy=steps\nsteps=100,200\nscales=.5,.1\n", 150), 0.05, 1e-7);
    EXPECT_NEAR(rate("policy=steps\nsteps=100,200\nscales=.5,.1\n", 250), 0.005, 1e-7);
    EXPECT_NEAR(rate("policy=poly\npower=2\nmax_batches=1000\n", 250), 0.1 * 0.75 * 0.75, 1e-7);
    EXPECT_NEAR(rate("policy=poly\npower=2\nmax_batches=1000\nburn_in=100\n", 50), 0.1 * 0.25, 1e-7);  // (50/100)^2
    EXPECT_NEAR(rate("policy=exp\ngamma=0.99\n", 10), 0.1 * std::pow(0.99, 10), 1e-7);
    EXPECT_NEAR(rate("policy=step\nstep=100\nscale=0.5\n", 250), 0.025, 1e-7);
    EXPECT_NEAR(rate("policy=sig\ngamma=0.1\nstep=100\n", 100), 0.05, 1e-7);
    EXPECT_NEAR(rate("policy=sgdr\nsgdr_cycle=100\nlearning_rate_min=0\n", 50), 0.05, 1e-7);  // half a cosine
}

TEST(Training, LabelsComeFromThePathAndBadPathsAreNamed) {
    std::string dir = make_temp_dir();
    write_text(dir + "/1_cat.png", "");  // the list's images must exist (a stat: they are not decoded here)
    write_text(dir + "/2_dog.png", "");
    write_text(dir + "/ok.list", dir + "/1_cat.png\n\n" + dir + "/2_dog.png\n");
    ClassificationSet s = load_classification_set(dir + "/ok.list", {"cat", "dog"});
    EXPECT_EQ(s.label, (std::vector<int>{0, 1}));
    EXPECT_EQ(s.where(1), dir + "/ok.list:3");  // the blank line counts
    write_text(dir + "/none.list", "/x/1_cat.png\n/x/2_bird.png\n");
    std::string msg = error_of([&] { load_classification_set(dir + "/none.list", {"cat", "dog"}); });
    EXPECT_NE(msg.find("none.list:2: '/x/2_bird.png' contains no label name"), std::string::npos) << msg;
    write_text(dir + "/two.list", "/x/cat_dog.png\n");
    msg = error_of([&] { load_classification_set(dir + "/two.list", {"cat", "dog"}); });
    EXPECT_NE(msg.find("two.list:1: '/x/cat_dog.png' contains more than one label name"), std::string::npos) << msg;
    // an empty or repeated label names itself, not the paths it would match
    msg = error_of([&] { load_classification_set(dir + "/ok.list", {"cat", "", "dog"}); });
    EXPECT_NE(msg.find("label 1 of 3 (line 2 of the labels file) is empty"), std::string::npos) << msg;
    msg = error_of([&] { load_classification_set(dir + "/ok.list", {"cat", "dog", "cat"}); });
    EXPECT_NE(msg.find("labels 0 and 2 (lines 1 and 3 of the labels file) are both 'cat'"), std::string::npos) << msg;
}

// [net] label_smooth_eps (AlexeyAB's fill_truth_smooth): three classes, eps 0.3: the image's class
// 0.7, the others 0.15; a MixUp row is the same mix of the smoothed rows; no smoothing without aug
// (validation) and the key's range is checked.
TEST(ClassificationData, LabelSmoothing) {
    const std::string dir = make_temp_dir();
    std::string list;
    for (int i = 0; i < 3; ++i) {
        const std::string p = strfmt("%s/%d_%s.png", dir.c_str(), i, i == 0 ? "apple" : i == 1 ? "banana" : "cherry");
        save_image(Image(8, 8, 3, 0.5f * i), p);
        list += p + "\n";
    }
    write_text(dir + "/list.txt", list);
    const ClassificationSet set = load_classification_set(dir + "/list.txt", {"apple", "banana", "cherry"});
    auto net = net_from<float>("[net]\nwidth=8\nheight=8\nchannels=3\nlabel_smooth_eps=0.3\nflip=0\n[avgpool]\n");
    ClassifierAugment aug = ClassifierAugment::from(net->cfg);
    std::vector<float> X(3 * 8 * 8), Y(3);
    load_classification_batch(set, {1}, 8, 8, 3, &aug, 7, X.data(), Y.data());
    EXPECT_NEAR(Y[0], 0.15f, 1e-6);
    EXPECT_NEAR(Y[1], 0.7f, 1e-6);
    EXPECT_NEAR(Y[2], 0.15f, 1e-6);
    load_classification_batch(set, {1}, 8, 8, 3, nullptr, 7, X.data(), Y.data());
    EXPECT_EQ(Y, (std::vector<float>{0, 1, 0}));
    aug.mix = ClassMix::Mixup;
    int mixed = 0;
    for (uint64_t seed = 0; seed < 40; ++seed) {
        load_classification_batch(set, {0}, 8, 8, 3, &aug, seed, X.data(), Y.data());
        ASSERT_NEAR(Y[0] + Y[1] + Y[2], 1.0, 1e-6);
        if (Y[0] > 0.6f) continue;  // not mixed (or mixed with itself)
        ++mixed;  // half the apple, half another: 0.5 * 0.7 + 0.5 * 0.15 for apple, the other 0.425, the third 0.15
        EXPECT_NEAR(Y[0], 0.425f, 1e-6) << "seed " << seed;
        EXPECT_NEAR(std::max(Y[1], Y[2]), 0.425f, 1e-6) << "seed " << seed;
        EXPECT_NEAR(std::min(Y[1], Y[2]), 0.15f, 1e-6) << "seed " << seed;
    }
    EXPECT_GT(mixed, 5);
    EXPECT_NE(error_of([] { net_from<float>("[net]\nwidth=8\nheight=8\nchannels=3\nlabel_smooth_eps=1\n[avgpool]\n"); })
                  .find("key 'label_smooth_eps': must be in [0, 1), got 1"),
              std::string::npos);
}

// Classifier mixing (AlexeyAB's load_data_augment): dark (0) and light (1) images of two classes.
// Whatever the method, each label row sums to 1 and its "light" share is the image's mean pixel
// (the share of its pixels that came from light images); MixUp gives half values, CutMix and
// Mosaic whole pixels of either image; about half of the images are mixed (with another class:
// fewer). A quarter of the images are blurred with blur=1.
TEST(ClassificationData, MixupCutmixAndMosaicMixTheImagesAndTheirLabels) {
    const std::string dir = make_temp_dir();
    std::string list;
    for (int i = 0; i < 6; ++i) {
        const std::string p = strfmt("%s/%d_%s.png", dir.c_str(), i, i % 2 ? "light" : "dark");
        save_image(Image(16, 16, 3, i % 2 ? 1.f : 0.f), p);
        list += p + "\n";
    }
    write_text(dir + "/list.txt", list);
    const ClassificationSet set = load_classification_set(dir + "/list.txt", {"dark", "light"});
    ClassifierAugment aug;
    aug.flip = false;
    std::vector<float> X(3 * 16 * 16), Y(2);
    for (ClassMix mix : {ClassMix::None, ClassMix::Mixup, ClassMix::Cutmix, ClassMix::Mosaic, ClassMix::CutmixOrMosaic}) {
        SCOPED_TRACE(static_cast<int>(mix));
        aug.mix = mix;
        int mixed = 0;
        for (uint64_t seed = 0; seed < 80; ++seed) {
            load_classification_batch(set, {static_cast<int>(seed % 6)}, 16, 16, 3, &aug, seed, X.data(), Y.data());
            double mean = 0;
            bool half = false, whole = true;
            for (float v : X) {
                mean += v / X.size();
                half = half || std::fabs(v - 0.5f) < 1e-6f;
                whole = whole && (v == 0.f || v == 1.f);
            }
            ASSERT_NEAR(Y[0] + Y[1], 1.0, 1e-6) << "seed " << seed;
            ASSERT_NEAR(Y[1], mean, 1e-5) << "seed " << seed;
            if (mix == ClassMix::Mixup) {
                EXPECT_TRUE(whole || half) << "seed " << seed;
            } else {
                EXPECT_TRUE(whole) << "seed " << seed;
            }
            mixed += Y[1] > 0.01f && Y[1] < 0.99f;
        }
        if (mix == ClassMix::None) {
            EXPECT_EQ(mixed, 0);
        } else {
            EXPECT_GT(mixed, 8);
            EXPECT_LT(mixed, 50);
        }
    }
    // blur=1: a quarter of the images blurred (noise shows it)
    Image noise(16, 16, 3);
    std::mt19937_64 g(3);
    for (float& v : noise.data) v = std::uniform_real_distribution<float>(0, 1)(g);
    save_image(noise, dir + "/0_dark.png");
    const ClassificationSet one = load_classification_set(dir + "/list.txt", {"dark", "light"});
    aug.mix = ClassMix::None;
    std::vector<float> plain(X.size());
    int blurred = 0;
    for (uint64_t seed = 0; seed < 80; ++seed) {
        aug.blur = 0;
        load_classification_batch(one, {0}, 16, 16, 3, &aug, seed, plain.data(), Y.data());
        aug.blur = 1;
        load_classification_batch(one, {0}, 16, 16, 3, &aug, seed, X.data(), Y.data());
        blurred += X != plain;
    }
    EXPECT_GT(blurred, 8);
    EXPECT_LT(blurred, 35);
}

TEST(Training, AugmentedBatchesAreAFunctionOfTheirSeed) {
    ClassificationSet set = load_classification_set(small_classification_set() + "/train.list",
                                                     std::vector<std::string>(std::begin(kFashionLabels), std::end(kFashionLabels)));
    ClassifierAugment aug;
    aug.angle = 10;
    aug.min_crop = 28;
    aug.max_crop = 34;
    aug.exposure = 1.5f;
    std::vector<int> idx = {0, 1, 2, 3};
    std::vector<float> x1(4 * 784), x2(4 * 784), x3(4 * 784), y(40);
    load_classification_batch(set, idx, 28, 28, 1, &aug, 7, x1.data(), y.data());
    load_classification_batch(set, idx, 28, 28, 1, &aug, 7, x2.data(), y.data());
    load_classification_batch(set, idx, 28, 28, 1, &aug, 8, x3.data(), y.data());
    EXPECT_TRUE(x1 == x2);
    EXPECT_FALSE(x1 == x3);
    for (float v : x1) ASSERT_TRUE(v >= 0 && v <= 1);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(y[i * 10 + set.label[i]], 1.f);
}

// Subdivisions: batch=64 as one pass of 64 or as 4 passes of 16 accumulates the same gradient in
// every parameter (a net without batchnorm: batchnorm's statistics are per pass, as in Darknet,
// so there the two differ by design). Both settings then train from the command line.
TEST(Training, SubdivisionsAccumulateTheSameGradientAndBothTrain) {
    auto cfg = [](int sub) {
        return strfmt("[net]\nbatch=64\nsubdivisions=%d\nwidth=6\nheight=6\nchannels=2\n"
                      "[convolutional]\nfilters=4\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
                      "[maxpool]\nsize=2\nstride=2\n[connected]\noutput=5\nactivation=linear\n[softmax]\n",
                      sub);
    };
    auto a = net_from<double>(cfg(1)), b = net_from<double>(cfg(4));
    ASSERT_EQ(a->batch, 64);
    ASSERT_EQ(b->batch, 16);
    a->ensure_grads();
    b->ensure_grads();
    for (int i = 0; i < a->num_layers(); ++i) {
        auto pa = a->layers[i]->params(), pb = b->layers[i]->params();
        ASSERT_EQ(pa.size(), pb.size());
        for (size_t k = 0; k < pa.size(); ++k) std::copy(pa[k].value, pa[k].value + pa[k].size, pb[k].value);
    }
    Rng g(5);
    const size_t in = a->inputs();
    std::vector<double> x(64 * in), y(64 * 5, 0.0);
    for (auto& v : x) v = uniform(g, -1.f, 1.f);
    for (int n = 0; n < 64; ++n) y[n * 5 + n % 5] = 1;
    a->forward(x.data(), true, y.data());
    a->backward();
    for (int p = 0; p < 4; ++p) {
        b->forward(x.data() + p * 16 * in, true, y.data() + p * 16 * 5);
        b->backward();
    }
    int compared = 0;
    for (int i = 0; i < a->num_layers(); ++i) {
        auto pa = a->layers[i]->params(), pb = b->layers[i]->params();
        for (size_t k = 0; k < pa.size(); ++k) {
            if (!pa[k].grad) continue;
            double largest = 0;
            for (size_t j = 0; j < pa[k].size; ++j) largest = std::max(largest, std::fabs(pa[k].grad[j]));
            EXPECT_GT(largest, 1e-6) << "layer " << i << " " << pa[k].name << ": no gradient reached it";
            for (size_t j = 0; j < pa[k].size; ++j)
                ASSERT_NEAR(pa[k].grad[j], pb[k].grad[j], 1e-12 * std::max(1.0, largest))
                    << "layer " << i << " " << pa[k].name << "[" << j << "]";
            ++compared;
        }
    }
    EXPECT_EQ(compared, 4);  // conv weights, biases; connected weights, biases

    for (int sub : {1, 4}) {
        const std::string dir = make_temp_dir();
        std::string c = tiny_cfg(30, 0.05f);
        c = std::regex_replace(c, std::regex("batch=32\nsubdivisions=2"), strfmt("batch=64\nsubdivisions=%d", sub));
        write_text(dir + "/net.cfg", c);
        int rc = 0;
        std::string log = run(train_cmd(dir, "net.cfg"), &rc);
        ASSERT_EQ(rc, 0) << log;
        EXPECT_NE(log.find(strfmt("batch %d x %d subdivisions", 64 / sub, sub)), std::string::npos) << log;
        std::vector<double> l = losses(log);
        ASSERT_EQ(l.size(), 30u) << log;
        EXPECT_LT((l[27] + l[28] + l[29]) / 3, 0.7 * (l[0] + l[1] + l[2]) / 3) << "subdivisions=" << sub << "\n" << log;
    }
}

// Bad data. A missing image, a directory in the list, an empty list and a backup= that is a file
// are errors before the first iteration, naming the list's line. An image that does not decode
// (found only when it is drawn) is a warning naming its line, once, and training goes on with the
// other images of the list (as AlexeyAB's Darknet goes on); an error when no image loads. A valid=
// image that does not decode stops training with its line named, after saving _last.
TEST(Training, BadImagesAndListsAreNamedByTheirLine) {
    const std::string dir = make_temp_dir();
    write_text(dir + "/n.cfg",
               "[net]\nbatch=8\nsubdivisions=1\nwidth=28\nheight=28\nchannels=1\nmax_batches=3\n"
               "[connected]\noutput=10\nactivation=linear\n[softmax]\n");
    const std::string good = run("head -1 " + small_classification_set() + "/train.list | tr -d '\\n'");
    run("head -c 100 " + good + " > " + dir + "/corrupt_bag.png && mkdir " + dir + "/dir_bag.png && touch " + dir + "/file");
    std::string labels;
    for (const char* l : kFashionLabels) labels += std::string(l) + "\n";
    write_text(dir + "/labels.txt", labels);
    auto train = [&](const std::string& list, int want_rc, const std::string& extra = "",
                     const char* backup = nullptr) {  // nullptr: <dir>/b
        write_text(dir + "/t.list", list);
        write_text(dir + "/d.data", "classes=10\ntrain=" + dir + "/t.list\nvalid=" + dir + "/t.list\nlabels=" + dir +
                                        "/labels.txt\nbackup=" + (backup ? std::string(backup) : dir + "/b") + "\n");
        int rc = 0;
        std::string log = run("cd " + dir + " && " + darknet_bin() + " classifier train d.data n.cfg -dont_show " + extra, &rc);
        EXPECT_EQ(rc, want_rc) << log;
        return log;
    };
    std::string log = train("\n" + dir + "/missing_bag.png\n" + good + "\n" + dir + "/missing2_bag.png\n", 1);
    EXPECT_NE(log.find("darknet: error: " + dir + "/t.list:2: image '" + dir +
                       "/missing_bag.png' does not exist (2 of the 3 listed images are missing or not files)"),
              std::string::npos)
        << log;
    EXPECT_TRUE(losses(log).empty()) << "trained before the check\n" << log;
    log = train(dir + "/dir_bag.png\n", 1);
    EXPECT_NE(log.find("t.list:1: image '" + dir + "/dir_bag.png' is a directory"), std::string::npos) << log;
    log = train("", 1);
    EXPECT_NE(log.find("darknet: error: " + dir + "/t.list lists no images"), std::string::npos) << log;
    log = train(good + "\n", 1, "", (dir + "/file").c_str());
    EXPECT_NE(log.find("darknet: error: backup directory '" + dir + "/file' exists and is not a directory"),
              std::string::npos)
        << log;
    EXPECT_TRUE(losses(log).empty()) << "trained before the check\n" << log;
    log = train(good + "\n", 1, "", "");  // Darknet would write /n_last.weights
    EXPECT_NE(log.find("darknet: error: d.data:5: backup= is empty"), std::string::npos) << log;
    EXPECT_TRUE(losses(log).empty()) << "trained before the check\n" << log;

    log = train(dir + "/corrupt_bag.png\n", 1);
    EXPECT_NE(log.find("darknet: error: " + dir + "/t.list:1: cannot load image '" + dir +
                       "/corrupt_bag.png'"),
              std::string::npos)
        << log;
    EXPECT_NE(log.find("and no other image of " + dir + "/t.list loads either"), std::string::npos) << log;
    // 3 iterations x 8 draws from 2 images: the corrupt one is drawn ~12 times, warned about once
    log = train(dir + "/corrupt_bag.png\n" + good + "\n", 0);
    const std::string warning = "darknet: warning: " + dir + "/t.list:1: cannot load image '" + dir +
                                "/corrupt_bag.png'";
    const size_t at = log.find(warning);
    EXPECT_NE(at, std::string::npos) << log;
    EXPECT_NE(log.find("training uses other images of the list that load in its place"), std::string::npos) << log;
    EXPECT_EQ(log.find(warning, at + 1), std::string::npos) << "warned more than once\n" << log;
    EXPECT_EQ(losses(log).size(), 3u) << log;
    // the earlier run, which found no stand-in, listed it in bad.list too: once a run
    EXPECT_EQ(read_text_file(dir + "/bad.list"), dir + "/corrupt_bag.png\n" + dir + "/corrupt_bag.png\n");
    // the same list as valid= with -eval_every 2: iteration 2's evaluation fails; _last keeps 2 iterations
    run("rm -rf " + dir + "/b");
    log = train(dir + "/corrupt_bag.png\n" + good + "\n", 1, "-eval_every 2");
    EXPECT_NE(log.find("darknet: error: " + dir + "/t.list:1: cannot load image '" + dir + "/corrupt_bag.png'"),
              std::string::npos)
        << log;
    EXPECT_NE(log.find("Saving weights to " + dir + "/b/n_last.weights"), std::string::npos) << log;
    EXPECT_EQ(losses(log).size(), 2u) << log;
    auto net = Network<float>::from_cfg_file(dir + "/n.cfg");
    load_weights(*net, dir + "/b/n_last.weights");
    EXPECT_EQ(net->current_batch(), 2);
}

// Every image going away mid-run (their disk unmounted, the folder moved) stops training with an
// error, after saving _last.weights at the last whole iteration (its `seen` too), from which the
// run resumes once the images are back.
TEST(Training, ImagesThatVanishMidRunKeepWhatWasTrained) {
    const std::string dir = make_temp_dir();
    int rc = 0;
    run("mkdir " + dir + "/img && head -64 " + small_classification_set() + "/train.list | xargs -I{} cp {} " + dir +
            "/img/ && ls " + dir + "/img/* > " + dir + "/t.list",
        &rc);
    ASSERT_EQ(rc, 0);
    write_text(dir + "/d.data", "classes=10\ntrain=" + dir + "/t.list\nlabels=" + small_classification_set() +
                                    "/labels.txt\nbackup=" + dir + "/backup\n");
    write_text(dir + "/net.cfg", tiny_cfg(100000, 0.05f));
    run("cd " + dir + " && (OMP_NUM_THREADS=2 " + darknet_bin() +
            " classifier train d.data net.cfg -dont_show > log.txt 2>&1; echo $? > rc) > /dev/null 2>&1 & ",
        &rc);
    std::string log;
    for (int i = 0; i < 500 && losses(log).size() < 5; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        log = read_text_file(dir + "/log.txt");
    }
    ASSERT_GE(losses(log).size(), 5u) << log;
    run("mv " + dir + "/img " + dir + "/img_gone", &rc);
    for (int i = 0; i < 1500 && !file_exists(dir + "/rc"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_TRUE(file_exists(dir + "/rc")) << "training did not stop";
    log = read_text_file(dir + "/log.txt");
    EXPECT_EQ(read_text_file(dir + "/rc"), "1\n") << log;
    EXPECT_NE(log.find("no other image of"), std::string::npos) << log;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(log, m, std::regex("Saving weights to \\S+/net_last.weights \\(iteration (\\d+)")))
        << log;
    const size_t done = losses(log).size();
    EXPECT_EQ(std::stoul(m[1]), done) << "the checkpoint is the last whole iteration printed\n" << log;
    const std::vector<char> w = read_bytes(dir + "/backup/net_last.weights");
    ASSERT_GE(w.size(), 20u);
    uint64_t seen = 0;
    std::memcpy(&seen, w.data() + 12, 8);
    EXPECT_EQ(seen, 32 * done) << "seen of a whole iteration";
    run("mv " + dir + "/img_gone " + dir + "/img", &rc);
    log = run("cd " + dir + " && OMP_NUM_THREADS=2 " + darknet_bin() +
                  " classifier train d.data net.cfg backup/net_last.weights -dont_show -max_batches " +
                  std::to_string(done + 3),
              &rc);
    ASSERT_EQ(rc, 0) << log;
    EXPECT_EQ(losses(log).size(), 3u) << log;
    EXPECT_NE(log.find("\n" + std::to_string(done + 1) + ", "), std::string::npos) << log;
}

// Classifier training takes AlexeyAB's mixing keys (no "not implemented" warning any more); with
// mosaic=1, mixup=1 is not used (AlexeyAB's parser), and the log says so.
TEST(Training, ClassifierMixingKeysAreTakenAsAlexeyABsParserDoes) {
    std::string dir = make_temp_dir(), cfg = tiny_cfg(2, 0.05f);
    cfg.replace(cfg.find("[net]\n"), 6, "[net]\nmixup=1\nmosaic=1\ncutmix=1\nblur=0\n");
    write_text(dir + "/net.cfg", cfg);
    int rc = 0;
    const std::string log = run(train_cmd(dir, "net.cfg"), &rc);
    ASSERT_EQ(rc, 0) << log;
    EXPECT_NE(log.find("net.cfg:1: [net] mixup=1 is not used with mosaic=1"), std::string::npos) << log;
    EXPECT_EQ(log.find("not implemented"), std::string::npos) << log;
    EXPECT_EQ(log.find("blur="), std::string::npos) << "blur=0 is off: no warning\n" << log;
}

// A listed image that does not decode is replaced by another image of the list: the next one for
// salt 0, and over many draws (salts) every other image about equally often, so that none is
// drawn twice as often as the rest; its path goes to bad.list (AlexeyAB's) once.
TEST(Training, BadImageStandInsAreSpreadOverTheOthers) {
    const std::string dir = make_temp_dir();
    std::string list;
    for (int i = 0; i < 5; ++i) {
        const std::string p = strfmt("%s/%d.png", dir.c_str(), i);
        if (i == 1) write_text(p, "not a png");
        else save_image(Image(4, 3, 3, 0.1f * i), p);
        list += p + "\n";
    }
    write_text(dir + "/list.txt", list);
    const ImageList l = read_image_list(dir + "/list.txt");
    const bool q = is_quiet();
    set_quiet(true);
    size_t used = 0;
    const std::filesystem::path cwd = std::filesystem::current_path();
    std::filesystem::current_path(dir);  // bad.list is written in the working directory
    load_listed_image(l, 1, 3, BadImage::UseAnother, &used, 0);
    EXPECT_EQ(used, 2u) << "salt 0: the next image";
    std::vector<int> count(5, 0);
    for (uint64_t salt = 1; salt <= 800; ++salt) {
        const Image im = load_listed_image(l, 1, 3, BadImage::UseAnother, &used, salt * 0x9E3779B97F4A7C15ull);
        ASSERT_NE(used, 1u);
        EXPECT_NEAR(im.data[0], 0.1f * used, 0.005f) << "the image returned is image " << used;
        ++count[used];
    }
    std::filesystem::current_path(cwd);
    set_quiet(q);
    // the image that does not decode is listed in bad.list once, however often it was drawn
    EXPECT_EQ(read_text_file(dir + "/bad.list"), dir + "/1.png\n");
    for (int i : {0, 2, 3, 4}) {
        EXPECT_GT(count[i], 140) << "image " << i;
        EXPECT_LT(count[i], 260) << "image " << i;
    }
}
