// darknet benchmark <cfg> [weights] [-image img] [-runs N] [-warmup N] [-threads N] [-profile]
// Median forward latency of a network loaded once (inference path, batch 1).
#include <algorithm>
#include <cstdio>
#include <map>
#include <numeric>
#include <vector>

#include "args.hpp"
#include "commands.hpp"
#include "darknet/detector.hpp"
#include "darknet/error.hpp"
#include "darknet/image.hpp"
#include "darknet/network.hpp"
#include "darknet/random.hpp"

namespace dn {

int run_benchmark(int argc, char** argv) {
    Args a(argc, argv, {"-image", "-runs", "-warmup", "-threads", "-seed", "-i", "-gpus"});
    if (a.npos() < 3) {
        std::fprintf(stderr, "usage: %s benchmark <cfg> [weights] [-image img] [-runs 50] [-warmup 5] [-threads N] [-profile]\n",
                     argv[0]);
        return 1;
    }
    const bool q = is_quiet();
    set_quiet(true);
    auto net = Network<float>::from_cfg_file(a.pos(2), 1);
    if (!a.pos(3).empty()) load_weights(*net, a.pos(3), false, LoadFor::Inference);
    set_quiet(q);
    net->optimize_for_inference();
    // the pass: net->batch rows (one image, or its time_steps rows in a recurrent network; the
    // input used to be one row, read past its end by a recurrent layer: a fuzz case under ASan)
    const size_t per = static_cast<size_t>(net->inputs());
    std::vector<float> x(per * net->batch);
    if (a.flag("-image")) {
        Image im = load_image(a.str("-image", ""), net->c);
        Image sized = preprocess(im, net->w, net->h, false);
        for (int r = 0; r < net->batch; ++r) std::copy(sized.data.begin(), sized.data.end(), x.begin() + r * per);
    } else {
        for (auto& v : x) v = rand_uniform(0, 1);
    }
    const int runs = a.integer("-runs", 50), warmup = a.integer("-warmup", 5);
    for (int i = 0; i < warmup; ++i) net->forward(x.data());
    net->profile = a.flag("-profile");
    std::vector<double> ms;
    for (int i = 0; i < runs; ++i) {
        double t0 = now_seconds();
        net->forward(x.data());
        ms.push_back((now_seconds() - t0) * 1e3);
    }
    std::vector<double> s = ms;
    std::sort(s.begin(), s.end());
    double mean = std::accumulate(s.begin(), s.end(), 0.0) / s.size();
    // the pass: one image, or one image's time_steps rows in a recurrent network
    const double flops = net->flops() * net->batch;
    std::printf("%s: %d threads, %d runs: median %.2f ms, min %.2f ms, mean %.2f ms, max %.2f ms (%.3f BFLOPs, %.1f GFLOP/s at the median)\n",
                a.pos(2).c_str(), get_num_threads(), runs, s[s.size() / 2], s.front(), mean, s.back(), flops / 1e9,
                flops / 1e6 / s[s.size() / 2]);
    if (net->profile) {
        std::vector<std::pair<double, int>> by;
        std::map<std::string, double> by_type;
        for (int i = 0; i < net->num_layers(); ++i) {
            by.push_back({net->layer_ms[i] / runs, i});
            by_type[net->layers[i]->describe().substr(0, 10)] += net->layer_ms[i] / runs;
        }
        std::sort(by.rbegin(), by.rend());
        std::printf("slowest layers (ms per forward):\n");
        for (int k = 0; k < std::min<int>(15, static_cast<int>(by.size())); ++k)
            std::printf("  %7.3f  %4d %s\n", by[k].first, by[k].second, net->layers[by[k].second]->describe().c_str());
        std::printf("by kind:\n");
        for (const auto& kv : by_type) std::printf("  %7.3f  %s\n", kv.second, kv.first.c_str());
    }
    return 0;
}

}  // namespace dn
