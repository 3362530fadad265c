// Shared by the CPU and GPU tests of [net] ema_alpha (test_optimizer.cpp, test_gpu_agreement.cpp).
#include <csignal>
#include <random>

#include "darknet/random.hpp"
#include "darknet/trainer.hpp"
#include "darknet/weights.hpp"
#include "test_util.hpp"

namespace dn::test {

const char* const kEmaNet =
    "[net]\nbatch=4\nsubdivisions=1\ninputs=5\nlearning_rate=0.05\nmomentum=0.9\ndecay=0.0005\n"
    "max_batches=2040\nema_alpha=0.9\n"
    "[connected]\noutput=3\nbatch_normalize=1\nactivation=leaky\n[cost]\ntype=sse\n";

namespace {
BatchLoader ema_loader(int64_t interrupt_at) {
    return [interrupt_at](int64_t it, int pass, float* X, float* truth) {
        std::mt19937_64 g(static_cast<uint64_t>(it) * 7 + pass);
        std::normal_distribution<float> nd(0, 1);
        for (int i = 0; i < 4 * 5; ++i) X[i] = nd(g);
        for (int b = 0; b < 4; ++b)
            for (int o = 0; o < 3; ++o) truth[b * 3 + o] = 0.5f * X[b * 5 + o] - 0.25f * X[b * 5 + 4] + 0.1f * nd(g);
        if (it == interrupt_at && pass == 0) std::raise(SIGINT);
    };
}
}  // namespace

EmaRun train_ema(const std::string& cfg, const std::string& dir, int64_t interrupt_at, const std::string& resume,
                 bool drop_ema, bool gpu) {
    set_seed(1);  // the initial weights
    auto net = net_from<float>(cfg);
    if (!resume.empty()) load_weights(*net, resume);
    if (drop_ema)
        for (auto& l : net->layers) l->ema.clear();
    if (gpu) net->use_gpu(0);
    EmaRun r;
    TrainOptions opt;
    opt.backup_dir = dir;
    opt.base = "ema";
    opt.chart_path = "";
    opt.quiet = true;
    opt.eval_every = 1;  // (GPU runs: the trainer pulls the parameters before it)
    opt.evaluate = [&](int64_t it) {
        if (it == 1040) r.at_apply = weights_bytes(*net, -1, true);
        return -1.0;
    };
    train(*net, ema_loader(interrupt_at), 3, opt);
    r.final = weights_bytes(*net, -1, false);
    return r;
}

}  // namespace dn::test
