// darknet rnn train|generate|valid: pjreddie's character-level language model (examples/rnn.c
// there): one byte a row, one-hot over the network's `inputs`, the next byte as the label.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>

#include "args.hpp"
#include "cli_common.hpp"
#include "commands.hpp"
#include "darknet/cfg.hpp"
#include "darknet/error.hpp"
#include "darknet/network.hpp"
#include "darknet/random.hpp"
#include "darknet/trainer.hpp"
#include "layers/rnn_layer.hpp"
#include "layers/softmax_layer.hpp"

namespace dn {

namespace {

const std::vector<std::string> kValueFlags = {"-threads", "-i", "-gpus", "-file", "-seed", "-len", "-temp", "-srand",
                                              "-backup", "-save_every", "-max_batches", "-chart"};

std::string read_text(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) fail("%s: cannot read the text file", path.c_str());
    std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (s.size() < 2) fail("%s: a text to learn from needs at least 2 bytes, it has %zu", path.c_str(), s.size());
    return s;
}

// The net's rows are one-hot bytes, and its output (and labels) one value per byte.
void check_char_net(const Network<float>& net, const std::string& cfg) {
    if (net.outputs() != net.inputs())
        fail("%s: a character model predicts the next byte: the network's outputs (%d) must equal its inputs (%d)",
             cfg.c_str(), net.outputs(), net.inputs());
}

void check_byte(unsigned char c, int inputs, const std::string& where, size_t offset) {
    if (c >= inputs)
        fail("%s: byte %zu is 0x%02x, past the network's inputs=%d one-hot values (use inputs=256 for any byte)",
             where.c_str(), offset, c, inputs);
}

// A character model to run one byte a pass: batch 1, time_steps 1 (the weights do not depend on
// them), so that [rnn]'s state carries from byte to byte.
std::unique_ptr<Network<float>> one_step_net(const std::string& cfgfile, const std::string& weightfile) {
    Cfg cfg = parse_cfg_file(cfgfile);
    if (!cfg.sections.empty())
        for (auto& e : cfg.sections[0].entries)
            if (e.key == "time_steps") e.value = "1";
    auto net = Network<float>::from_cfg(cfg, 1);
    check_char_net(*net, cfgfile);
    if (!weightfile.empty()) load_weights(*net, weightfile, false, LoadFor::Inference);
    return net;
}

// Output probabilities of the byte `c` fed as the next row.
const float* feed(Network<float>& net, std::vector<float>& x, int c) {
    x.assign(x.size(), 0.f);
    x[c] = 1;
    return net.forward(x.data(), false);
}

int rnn_train(const std::string& cfgfile, const std::string& weightfile, const Args& a) {
    const std::string file = a.str("-file", "data/shakespeare.txt");
    const std::string text = read_text(file);
    auto net = Network<float>::from_cfg_file(cfgfile);
    net->print_summary();
    check_char_net(*net, cfgfile);
    for (size_t i = 0; i < text.size(); ++i) check_byte(static_cast<unsigned char>(text[i]), net->inputs(), file, i);
    start_training(*net, weightfile, a);
    // runs of consecutive bytes a pass, and their length: time_steps in networks with [rnn], [lstm] or [gru]
    // (their pass holds batch/subdivisions * time_steps rows), else 1
    const int streams = std::max(1, net->cfg.batch / net->cfg.subdivisions), steps = net->batch / streams;
    const int V = net->inputs();
    const uint64_t seed = static_cast<uint64_t>(a.integer("-srand", 0));
    // Each pass reads `streams` runs of steps + 1 consecutive bytes at places drawn from (seed,
    // iteration, pass), so that a resumed run sees the same data: row t * streams + n is byte t of
    // run n, labelled with byte t + 1. (A training pass starts [rnn], [lstm] and [gru] from a zero state,
    // as Darknet's [rnn] does, so runs need not continue one another.)
    BatchLoader load = [&](int64_t it, int pass, float* X, float* Y) {
        std::mt19937_64 g(seed * 1000003ull + static_cast<uint64_t>(it) * 97ull + static_cast<uint64_t>(pass));
        std::uniform_int_distribution<size_t> u(0, text.size() - 1);
        std::fill(X, X + static_cast<size_t>(net->batch) * V, 0.f);
        std::fill(Y, Y + static_cast<size_t>(net->batch) * V, 0.f);
        for (int n = 0; n < streams; ++n) {
            const size_t at = u(g);
            for (int t = 0; t < steps; ++t) {
                const size_t row = static_cast<size_t>(t) * streams + n;
                X[row * V + static_cast<unsigned char>(text[(at + t) % text.size()])] = 1;
                Y[row * V + static_cast<unsigned char>(text[(at + t + 1) % text.size()])] = 1;
            }
        }
    };
    TrainOptions opt;
    opt.backup_dir = a.str("-backup", "backup");
    opt.base = base_name(cfgfile);
    opt.save_every = a.integer("-save_every", 100);
    opt.chart_path = a.str("-chart", "chart.png");
    opt.train_images = text.size();
    std::printf("Learning Rate: %g, Momentum: %g, Decay: %g, Inputs: %d, %d streams x %d steps\n", net->cfg.learning_rate,
                net->cfg.momentum, net->cfg.decay, V, streams, steps);
    TrainResult r = dn::train(*net, load, static_cast<size_t>(V), opt);
    std::printf("Trained %lld iterations in %.1f s, final loss %f (avg %f) per byte%s\n",
                static_cast<long long>(r.iterations), r.seconds, r.loss, r.avg_loss,
                r.interrupted ? " -- interrupted" : "");
    return r.interrupted ? 130 : 0;
}

// pjreddie's test_char_rnn: the seed text is fed byte by byte, then each next byte is drawn from
// the output (softmax at -temp; probabilities under 1e-4 dropped, as there) and fed back.
int rnn_generate(const std::string& cfgfile, const std::string& weightfile, const Args& a) {
    auto net = one_step_net(cfgfile, weightfile);
    const float temp = a.num("-temp", 0.7f);
    if (!(temp > 0)) fail("-temp must be > 0, got %g", temp);
    for (auto& l : net->layers)
        if (auto* s = dynamic_cast<SoftmaxLayer<float>*>(l.get())) s->temperature = temp;
    std::mt19937_64 g(static_cast<uint64_t>(a.integer("-srand", static_cast<int>(std::time(nullptr)))));
    const std::string seed = a.str("-seed", "\n\n");
    const int len = a.integer("-len", 1000), V = net->inputs();
    std::vector<float> x(V);
    int c = 0;
    for (size_t i = 0; i + 1 < seed.size(); ++i) {
        c = static_cast<unsigned char>(seed[i]);
        check_byte(static_cast<unsigned char>(c), V, "-seed", i);
        feed(*net, x, c);
        std::putchar(c);
    }
    if (!seed.empty()) {
        c = static_cast<unsigned char>(seed.back());
        check_byte(static_cast<unsigned char>(c), V, "-seed", seed.size() - 1);
        std::putchar(c);
    }
    std::vector<double> p(V);
    for (int i = 0; i < len; ++i) {
        const float* out = feed(*net, x, c);
        for (int j = 0; j < V; ++j) p[j] = out[j] < 1e-4f ? 0.0 : out[j];
        std::discrete_distribution<int> pick(p.begin(), p.end());
        c = pick(g);
        std::putchar(c);
    }
    std::putchar('\n');
    return 0;
}

// pjreddie's valid_char_rnn: bits per character of the text on stdin, after the seed text.
int rnn_valid(const std::string& cfgfile, const std::string& weightfile, const Args& a) {
    auto net = one_step_net(cfgfile, weightfile);
    const int V = net->inputs();
    std::vector<float> x(V);
    const std::string seed = a.str("-seed", "\n\n");
    for (size_t i = 0; i < seed.size(); ++i) {
        check_byte(static_cast<unsigned char>(seed[i]), V, "-seed", i);
        feed(*net, x, static_cast<unsigned char>(seed[i]));
    }
    const std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    if (text.size() < 2) fail("rnn valid: the text on stdin needs at least 2 bytes, it has %zu", text.size());
    double bits = 0;
    size_t words = 1, count = 0;
    for (size_t i = 0; i + 1 < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]), next = static_cast<unsigned char>(text[i + 1]);
        check_byte(c, V, "stdin", i);
        check_byte(next, V, "stdin", i + 1);
        const float* out = feed(*net, x, c);
        bits -= std::log2(std::max(static_cast<double>(out[next]), 1e-30));
        ++count;
        if (next == ' ' || next == '\n' || next == '\t') ++words;
    }
    std::printf("%zu bytes: BPC: %.4f   Perplexity: %.4f    Word Perplexity: %.4f\n", count, bits / count,
                std::exp2(bits / count), std::exp2(bits / words));
    return 0;
}

}  // namespace

int run_rnn(int argc, char** argv) {
    Args a(argc, argv, kValueFlags);
    const std::string verb = a.pos(2);
    if (a.npos() < 4) {
        std::fprintf(stderr,
                     "usage: %s rnn train <cfg> [weights] [-file data/shakespeare.txt] [-clear] [-backup backup]\n"
                     "       %s rnn generate <cfg> <weights> [-len 1000] [-seed TEXT] [-temp 0.7] [-srand N]\n"
                     "       %s rnn valid <cfg> <weights> [-seed TEXT] < text\n",
                     argv[0], argv[0], argv[0]);
        return 1;
    }
    if (a.flag("-srand")) set_seed(static_cast<uint64_t>(a.integer("-srand", 0)));
    if (verb == "train") return rnn_train(a.pos(3), a.pos(4), a);
    if (verb == "generate") return rnn_generate(a.pos(3), a.pos(4), a);
    if (verb == "valid") return rnn_valid(a.pos(3), a.pos(4), a);
    fail("unknown rnn command '%s' (train, generate, valid)", verb.c_str());
}

}  // namespace dn
