// pjreddie's weights tools: darknet average|ops|rgbgr|denormalize|normalize|print.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <string>

#include "args.hpp"
#include "commands.hpp"
#include "darknet/cfg.hpp"
#include "darknet/error.hpp"
#include "darknet/network.hpp"
#include "kernels/batchnorm.hpp"

namespace dn {

namespace {

const std::vector<std::string> kFlags = {"-threads", "-seed", "-i", "-gpus"};

std::unique_ptr<Network<float>> load(const Cfg& cfg, const std::string& weights) {
    auto net = Network<float>::from_cfg(cfg, 1);
    load_weights(*net, weights, false, LoadFor::Inference);
    return net;
}

bool foldable(const std::string& type) {
    return type == "convolutional" || type == "connected" || type == "deconvolutional" || type == "rnn";
}

// The cfg with batch_normalize=`to` in every section whose batchnorm folds into its weights
// ([convolutional], [connected], [deconvolutional], [rnn]): an entry added or changed.
Cfg with_batch_normalize(Cfg cfg, const std::string& to) {
    for (auto& s : cfg.sections) {
        static const char* const kFoldable[] = {"convolutional", "conv", "connected", "conn", "deconvolutional",
                                                "deconv", "rnn"};
        if (std::find(std::begin(kFoldable), std::end(kFoldable), s.name) == std::end(kFoldable)) continue;
        bool found = false;
        for (auto& e : s.entries)
            if (e.key == "batch_normalize") e.value = to, found = true;
        if (!found && to == "1") s.entries.push_back({"batch_normalize", "1", s.line});
    }
    return cfg;
}

// Output channel of weight i of a layer's block with F outputs: [F][...] in [convolutional] and
// [connected] (and [rnn]'s blocks), [C][F][k][k] in [deconvolutional].
size_t channel_of(const Layer<float>& l, size_t i, size_t n_weights, size_t F) {
    if (std::string(l.type()) == "deconvolutional") {
        const size_t kk = n_weights / (static_cast<size_t>(l.c) * F);
        return (i / kk) % F;
    }
    return i / (n_weights / F);
}

struct Block {  // one "biases"-led group of a layer's params()
    Param<float>* biases = nullptr;
    Param<float>* weights = nullptr;
    Param<float>* scales = nullptr;
    Param<float>* mean = nullptr;
    Param<float>* var = nullptr;
};

std::vector<Block> blocks(std::vector<Param<float>>& ps) {
    std::vector<Block> out;
    for (auto& p : ps) {
        if (p.name == "biases") out.emplace_back();
        if (out.empty()) continue;
        Block& b = out.back();
        if (p.name == "biases") b.biases = &p;
        else if (p.name == "weights") b.weights = &p;
        else if (p.name == "scales") b.scales = &p;
        else if (p.name == "rolling_mean") b.mean = &p;
        else if (p.name == "rolling_variance") b.var = &p;
    }
    return out;
}

void copy_values(Param<float>& from, Param<float>& to) { std::copy(from.value, from.value + from.size, to.value); }

// The weights of `a.pos(3)` (for the cfg `a.pos(2)`) rewritten for the cfg with batch_normalize=`to`
// in its foldable sections, into `a.pos(4)`: layers whose arrays are the same are copied, and
// `convert_block(layer, from, to)` fills each block of the others. Returns their number.
template <class F>
int convert_batchnorm(const Args& a, const char* to, F&& convert_block) {
    const Cfg cfg = parse_cfg_file(a.pos(2));
    auto net = load(cfg, a.pos(3));
    auto out = Network<float>::from_cfg(with_batch_normalize(cfg, to), 1);
    int changed = 0;
    for (int i = 0; i < net->num_layers(); ++i) {
        Layer<float>& l = net->layer(i);
        auto ps = l.params(), qs = out->layer(i).params();
        if (ps.size() == qs.size()) {
            for (size_t k = 0; k < ps.size(); ++k) copy_values(ps[k], qs[k]);
            continue;
        }
        auto from = blocks(ps), into = blocks(qs);
        if (!foldable(l.type()) || from.size() != into.size())
            fail("layer %d (%s): its batchnorm arrays cannot be converted", i, l.type());
        for (size_t b = 0; b < from.size(); ++b) convert_block(l, from[b], into[b]);
        ++changed;
    }
    out->header = net->header;
    save_weights(*out, a.pos(4));
    return changed;
}

// darknet denormalize <cfg> <weights> <out>: batchnorm folded into the weights of every layer
// that has it, y = (s W) x + (beta - s mu), s = gamma / sqrt(var + eps): the file is for the cfg
// with batch_normalize=0 there (pjreddie's denormalize_net).
int denormalize(const Args& a) {
    const int n = convert_batchnorm(a, "0", [](const Layer<float>& l, const Block& f, const Block& t) {
        const size_t F = f.biases->size, nw = f.weights->size;
        std::vector<double> s(F);
        for (size_t c = 0; c < F; ++c) {
            s[c] = f.scales->value[c] / std::sqrt(static_cast<double>(f.var->value[c]) + kBatchnormEps);
            t.biases->value[c] = static_cast<float>(f.biases->value[c] - s[c] * f.mean->value[c]);
        }
        for (size_t w = 0; w < nw; ++w) t.weights->value[w] = static_cast<float>(f.weights->value[w] * s[channel_of(l, w, nw, F)]);
    });
    std::fprintf(stderr,
                 "Folded the batchnorm of %d layers into their weights: %s is for %s with batch_normalize=0 in "
                 "those layers\n",
                 n, a.pos(4).c_str(), a.pos(2).c_str());
    return 0;
}

// darknet normalize <cfg> <weights> <out>: the reverse, identity batchnorm arrays added to every
// [convolutional], [connected], [deconvolutional] and [rnn] without them (pjreddie's normalize_net;
// gamma 1, mean 0, variance 1 - eps so that the normalization divides by exactly 1, where his
// variance 0 divides by sqrt(eps); beta the bias): the file is for the cfg with batch_normalize=1
// in all of them.
int normalize(const Args& a) {
    const int n = convert_batchnorm(a, "1", [](const Layer<float>&, const Block& f, const Block& t) {
        copy_values(*f.biases, *t.biases);
        copy_values(*f.weights, *t.weights);
        std::fill(t.scales->value, t.scales->value + t.scales->size, 1.f);
        std::fill(t.mean->value, t.mean->value + t.mean->size, 0.f);
        std::fill(t.var->value, t.var->value + t.var->size, static_cast<float>(1 - kBatchnormEps));
    });
    std::fprintf(stderr,
                 "Added identity batchnorm to %d layers: %s is for %s with batch_normalize=1 in every "
                 "[convolutional], [connected], [deconvolutional] and [rnn]\n",
                 n, a.pos(4).c_str(), a.pos(2).c_str());
    return 0;
}

// darknet average <cfg> <out> <weights>...: the mean of every array over the files (pjreddie's
// averages [convolutional] and [connected] only); the header is the first file's.
int average(const Args& a) {
    const Cfg cfg = parse_cfg_file(a.pos(2));
    auto sum = load(cfg, a.pos(4));
    std::vector<std::vector<std::vector<double>>> acc(sum->num_layers());
    auto add = [&](Network<float>& n) {
        for (int i = 0; i < n.num_layers(); ++i) {
            auto ps = n.layer(i).params();
            acc[i].resize(ps.size());
            for (size_t k = 0; k < ps.size(); ++k) {
                acc[i][k].resize(ps[k].size, 0.0);
                for (size_t j = 0; j < ps[k].size; ++j) acc[i][k][j] += ps[k].value[j];
            }
        }
    };
    add(*sum);
    const size_t files = a.npos() - 4;
    for (size_t f = 5; f < a.npos(); ++f) add(*load(cfg, a.pos(f)));
    for (int i = 0; i < sum->num_layers(); ++i) {
        auto ps = sum->layer(i).params();
        for (size_t k = 0; k < ps.size(); ++k)
            for (size_t j = 0; j < ps[k].size; ++j) ps[k].value[j] = static_cast<float>(acc[i][k][j] / files);
        sum->layer(i).params_changed();
    }
    save_weights(*sum, a.pos(3));
    std::fprintf(stderr, "Averaged %zu weights files into %s\n", files, a.pos(3).c_str());
    return 0;
}

// darknet rgbgr <cfg> <weights> <out>: the first [convolutional] takes BGR where it took RGB
// (its input channels 0 and 2 swapped; pjreddie's rgbgr_net).
int rgbgr(const Args& a) {
    const Cfg cfg = parse_cfg_file(a.pos(2));
    auto net = load(cfg, a.pos(3));
    for (int i = 0; i < net->num_layers(); ++i) {
        Layer<float>& l = net->layer(i);
        if (std::string(l.type()) != "convolutional") continue;
        if (l.c != 3) fail("rgbgr: the first [convolutional] (layer %d) has %d input channels, not 3", i, l.c);
        for (auto& p : l.params()) {
            if (p.name != "weights") continue;
            const size_t F = static_cast<size_t>(l.out_c), per = p.size / F, kk = per / 3;
            if (per % 3) fail("rgbgr: layer %d is grouped; its filters do not see all three channels", i);
            for (size_t f = 0; f < F; ++f)
                std::swap_ranges(p.value + f * per, p.value + f * per + kk, p.value + f * per + 2 * kk);
        }
        l.params_changed();
        save_weights(*net, a.pos(4));
        std::fprintf(stderr, "Swapped the R and B input channels of layer %d into %s\n", i, a.pos(4).c_str());
        return 0;
    }
    fail("rgbgr: %s has no [convolutional] layer", a.pos(2).c_str());
}

// darknet ops <cfg>: the forward pass's floating point operations (2 per multiply-add).
int ops(const Args& a) {
    auto net = Network<float>::from_cfg_file(a.pos(2), 1);
    const double f = net->flops() * net->batch;
    std::printf("Floating Point Operations: %.0f\nFloating Point Operations: %.2f Bn\n", f, f / 1e9);
    return 0;
}

// darknet print <cfg> <weights> <layer>: a layer's weights, one output channel (filter) a line.
int print(const Args& a) {
    const Cfg cfg = parse_cfg_file(a.pos(2));
    auto net = load(cfg, a.pos(3));
    const std::string li = a.pos(4);
    char* end = nullptr;
    const long i = std::strtol(li.c_str(), &end, 10);
    if (li.empty() || *end || i < 0 || i >= net->num_layers())
        fail("print: <layer> must be a layer index in 0..%d, not '%s'", net->num_layers() - 1, li.c_str());
    Layer<float>& l = net->layer(static_cast<int>(i));
    for (auto& p : l.params()) {
        if (p.name != "weights") continue;
        const size_t F = static_cast<size_t>(l.out_c), per = p.size / F;
        for (size_t f = 0; f < F; ++f) {
            for (size_t j = 0; j < per; ++j) std::printf("%g ", p.value[f * per + j]);
            std::printf("\n");
        }
        return 0;
    }
    fail("print: layer %ld (%s) has no weights", i, l.type());
}

}  // namespace

int run_tool(int argc, char** argv) {
    Args a(argc, argv, kFlags);
    const std::string tool = a.pos(1);
    const size_t need = tool == "ops" ? 3 : 5;
    if (a.npos() < need) {
        std::fprintf(stderr,
                     "usage: %s average <cfg> <output weights> <weights> [<weights>...]\n"
                     "       %s ops <cfg>\n"
                     "       %s rgbgr|denormalize|normalize <cfg> <weights> <output weights>\n"
                     "       %s print <cfg> <weights> <layer>\n",
                     argv[0], argv[0], argv[0], argv[0]);
        return 1;
    }
    if (tool == "average") return average(a);
    if (tool == "ops") return ops(a);
    if (tool == "rgbgr") return rgbgr(a);
    if (tool == "denormalize") return denormalize(a);
    if (tool == "normalize") return normalize(a);
    if (tool == "print") return print(a);
    fail("unknown tool '%s'", tool.c_str());
}

}  // namespace dn
