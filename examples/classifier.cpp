// darknet classifier train|valid|predict, as in Darknet.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <numeric>
#include <random>

#include "args.hpp"
#include "cli_common.hpp"
#include "commands.hpp"
#include "darknet/cfg.hpp"
#include "darknet/data.hpp"
#include "darknet/detector.hpp"
#include "darknet/error.hpp"
#include "darknet/image.hpp"
#include "darknet/network.hpp"
#include "darknet/random.hpp"
#include "darknet/trainer.hpp"

namespace dn {

namespace {

const std::vector<std::string> kValueFlags = {"-threads", "-seed", "-i", "-gpus", "-save_every", "-max_batches",
                                              "-chart", "-top", "-batch", "-eval_every", "-valid_images"};

struct Dataset {
    DataConfig data;
    std::vector<std::string> labels;
};

Dataset read_data(const std::string& datacfg) {
    Dataset d;
    d.data = parse_data_file(datacfg);
    const std::string labels = d.data.get_path("labels", d.data.get_path("names", ""));
    if (labels.empty()) fail("%s: needs labels= (the class names, one per line)", datacfg.c_str());
    d.labels = read_names(labels);
    const int classes = d.data.get_int("classes", static_cast<int>(d.labels.size()));
    if (classes != static_cast<int>(d.labels.size()))
        fail("%s: classes=%d but %s lists %zu labels", datacfg.c_str(), classes, labels.c_str(), d.labels.size());
    return d;
}

void check_classes(const Network<float>& net, size_t classes, const std::string& cfg) {
    if (static_cast<size_t>(net.outputs()) != classes)
        fail("%s: the network outputs %d values per image but the data has %zu classes", cfg.c_str(), net.outputs(),
             classes);
}

// Top-1 and top-k accuracy of `net` (built for evaluation) on `set`.
std::pair<double, double> evaluate(Network<float>& net, const ClassificationSet& set, int topk, size_t limit,
                                   bool verbose) {
    const size_t n = std::min(limit, set.paths.size());
    const size_t classes = set.labels.size(), per = static_cast<size_t>(net.inputs());
    std::vector<float> X(static_cast<size_t>(net.batch) * per), Y(static_cast<size_t>(net.batch) * classes);
    size_t top1 = 0, topn = 0;
    for (size_t i0 = 0; i0 < n; i0 += net.batch) {
        std::vector<int> idx;
        for (size_t i = i0; i < std::min(n, i0 + net.batch); ++i) idx.push_back(static_cast<int>(i));
        const int b = static_cast<int>(idx.size());
        while (static_cast<int>(idx.size()) < net.batch) idx.push_back(idx.back());  // pad the last batch
        load_classification_batch(set, idx, net.w, net.h, net.c, nullptr, 0, X.data(), Y.data());
        const float* out = net.forward(X.data(), false);
        for (int k = 0; k < b; ++k) {
            const float* p = out + static_cast<size_t>(k) * classes;
            const int truth = set.label[idx[k]];
            int better = 0;  // classes scored above the true one
            for (size_t c = 0; c < classes; ++c) better += p[c] > p[truth];
            top1 += better == 0;
            topn += better < topk;
        }
        if (verbose && (i0 / net.batch) % 20 == 19)
            std::printf("%zu: top 1: %f, top %d: %f\n", i0 + b, double(top1) / (i0 + b), topk, double(topn) / (i0 + b));
    }
    return {double(top1) / n, double(topn) / n};
}

int classifier_train(const std::string& datacfg, const std::string& cfgfile, const std::string& weightfile,
                     const Args& a) {
    Dataset d = read_data(datacfg);
    ClassificationSet train = load_classification_set(d.data.get_path("train", "data/train.list"), d.labels);
    auto net = Network<float>::from_cfg_file(cfgfile);
    net->print_summary();
    check_classes(*net, d.labels.size(), cfgfile);
    start_training(*net, weightfile, a);
    warn_unimplemented_augmentation(net->cfg, false);
    const ClassifierAugment aug = ClassifierAugment::from(net->cfg);
    const uint64_t seed = static_cast<uint64_t>(a.integer("-seed", 0));
    const int n = static_cast<int>(train.paths.size());
    // Darknet draws each pass's images at random (with replacement); here from a seed that is a
    // function of (run seed, iteration, pass), so a resumed run continues the same sequence.
    BatchLoader load = [&](int64_t it, int pass, float* X, float* Y) {
        const uint64_t s = seed * 1000003ull + static_cast<uint64_t>(it) * 97ull + static_cast<uint64_t>(pass);
        std::mt19937_64 g(s);
        std::uniform_int_distribution<int> u(0, n - 1);
        std::vector<int> idx(net->batch);
        for (auto& i : idx) i = u(g);
        load_classification_batch(train, idx, net->w, net->h, net->c, &aug, s, X, Y, BadImage::UseAnother);
    };
    TrainOptions opt;
    opt.backup_dir = backup_dir(d.data);
    opt.base = base_name(cfgfile);
    opt.save_every = a.integer("-save_every", 100);
    opt.chart_path = a.str("-chart", "chart.png");
    opt.train_images = train.paths.size();
    // -eval_every N: accuracy on (up to -valid_images of) valid= every N iterations, in the chart
    std::unique_ptr<ClassificationSet> valid;
    std::unique_ptr<Network<float>> eval_net;
    if (a.flag("-eval_every") && d.data.has("valid")) {
        valid = std::make_unique<ClassificationSet>(load_classification_set(d.data.get_path("valid", ""), d.labels));
        opt.eval_every = a.integer("-eval_every", 0);
        const size_t limit = static_cast<size_t>(a.integer("-valid_images", 2000));
        opt.evaluate = [&, limit](int64_t) {
            if (!eval_net) {
                bool q = is_quiet();
                set_quiet(true);
                eval_net = Network<float>::from_cfg_file(cfgfile, 100);
                set_quiet(q);
            }
            copy_weights(*net, *eval_net);
            return evaluate(*eval_net, *valid, 1, limit, false).first;
        };
        opt.eval_name = "top-1 accuracy";
    }
    std::printf("Learning Rate: %g, Momentum: %g, Decay: %g\n", net->cfg.learning_rate, net->cfg.momentum, net->cfg.decay);
    std::printf("%zu training images, batch %d x %d subdivisions, %d iterations\n", train.paths.size(), net->batch,
                net->cfg.subdivisions, static_cast<int>(opt.max_batches > 0 ? opt.max_batches : net->cfg.max_batches));
    TrainResult r = dn::train(*net, load, d.labels.size(), opt);
    std::printf("Trained %lld iterations in %.1f s (%.1f images/s), final loss %f (avg %f)%s\n",
                static_cast<long long>(r.iterations), r.seconds,
                r.losses.size() * double(net->batch) * net->cfg.subdivisions / std::max(1e-9, r.seconds), r.loss,
                r.avg_loss, r.interrupted ? " -- interrupted" : "");
    return r.interrupted ? 130 : 0;
}

int classifier_valid(const std::string& datacfg, const std::string& cfgfile, const std::string& weightfile,
                     const Args& a) {
    Dataset d = read_data(datacfg);
    ClassificationSet valid = load_classification_set(d.data.get_path("valid", "data/valid.list"), d.labels);
    auto net = Network<float>::from_cfg_file(cfgfile, a.integer("-batch", 100));
    check_classes(*net, d.labels.size(), cfgfile);
    if (!weightfile.empty()) load_weights(*net, weightfile, false, LoadFor::Inference);
    net->optimize_for_inference();
    const int topk = a.integer("-top", d.data.get_int("top", 5));
    const double t0 = now_seconds();
    auto acc = evaluate(*net, valid, topk, valid.paths.size(), true);
    std::printf("%zu images: top 1: %f, top %d: %f (%.1f s)\n", valid.paths.size(), acc.first, topk, acc.second,
                now_seconds() - t0);
    return 0;
}

int classifier_predict(const std::string& datacfg, const std::string& cfgfile, const std::string& weightfile,
                       const std::string& filename, const Args& a) {
    Dataset d = read_data(datacfg);
    auto net = Network<float>::from_cfg_file(cfgfile, 1);
    check_classes(*net, d.labels.size(), cfgfile);
    if (!weightfile.empty()) load_weights(*net, weightfile, false, LoadFor::Inference);
    net->optimize_for_inference();
    const int topk = std::min<int>(a.integer("-top", d.data.get_int("top", 5)), static_cast<int>(d.labels.size()));
    while (true) {
        std::string input = filename;
        if (filename.empty() && !read_image_path(&input)) break;
        Image im = resize_image(load_image(input, net->c), net->w, net->h);
        const double t0 = now_seconds();
        const float* p = net->forward(im.data.data(), false);
        std::printf("%s: Predicted in %f seconds.\n", input.c_str(), now_seconds() - t0);
        std::vector<int> order(d.labels.size());
        std::iota(order.begin(), order.end(), 0);
        std::partial_sort(order.begin(), order.begin() + topk, order.end(), [&](int x, int y) { return p[x] > p[y]; });
        for (int k = 0; k < topk; ++k) std::printf("%5.2f%%: %s\n", 100 * p[order[k]], d.labels[order[k]].c_str());
        if (!filename.empty()) break;
    }
    return 0;
}

}  // namespace

int run_classifier(int argc, char** argv) {
    Args a(argc, argv, kValueFlags);
    const std::string verb = a.pos(2);
    if (a.npos() < 5) {
        std::fprintf(stderr,
                     "usage: %s classifier train <data> <cfg> [weights] [-dont_show] [-clear] [-eval_every N]\n"
                     "       %s classifier valid <data> <cfg> <weights> [-top 5]\n"
                     "       %s classifier predict <data> <cfg> <weights> [image] [-top 5]\n",
                     argv[0], argv[0], argv[0]);
        return 1;
    }
    if (verb == "train") return classifier_train(a.pos(3), a.pos(4), a.pos(5), a);
    if (verb == "valid") return classifier_valid(a.pos(3), a.pos(4), a.pos(5), a);
    if (verb == "predict") return classifier_predict(a.pos(3), a.pos(4), a.pos(5), a.pos(6), a);
    fail("unknown classifier command '%s' (train, valid, predict)", verb.c_str());
}

}  // namespace dn
