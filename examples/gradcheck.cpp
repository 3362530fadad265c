// darknet gradcheck <cfg> [-layer i] [-eval] [-float32] [-batch 2] [-checks 200] [-seed 1]
// Checks every layer's backward pass against central finite differences in float64 (each layer
// with the inputs the network feeds it, random gamma/beta, random upstream gradient) and its
// accumulation into net.delta. Prints a table; exits 1 when a layer fails.
#include <cstdio>

#include "args.hpp"
#include "commands.hpp"
#include "darknet/error.hpp"
#include "darknet/gradcheck.hpp"
#include "darknet/network.hpp"
#include "darknet/random.hpp"

namespace dn {

int run_gradcheck(int argc, char** argv) {
    Args a(argc, argv, {"-layer", "-batch", "-checks", "-seed", "-threads", "-i", "-gpus", "-tol", "-step", "-kink"});
    if (a.npos() < 3) {
        std::fprintf(stderr, "usage: %s gradcheck <cfg> [-layer i] [-eval] [-float32] [-batch 2] [-checks 200] [-tol t]\n",
                     argv[0]);
        return 1;
    }
    const std::string cfg = a.pos(2);
    const int batch = a.integer("-batch", 2);
    GradcheckOptions opt;
    opt.train = !a.flag("-eval");
    opt.max_checks = static_cast<size_t>(a.integer("-checks", 200));
    opt.seed = static_cast<uint64_t>(a.integer("-seed", 1));
    const bool f32 = a.flag("-float32");
    opt.tol = a.num("-tol", f32 ? 1e-2f : 1e-6f);
    opt.step = a.num("-step", static_cast<float>(opt.step));
    opt.kink = a.num("-kink", static_cast<float>(opt.kink));
    const bool q = is_quiet();
    set_quiet(true);
    set_seed(opt.seed);  // both networks get the same initialization and dropout streams
    auto dnet = Network<double>::from_cfg_file(cfg, batch);
    std::unique_ptr<Network<float>> fnet;
    set_seed(opt.seed);
    if (f32) fnet = Network<float>::from_cfg_file(cfg, batch);
    set_quiet(q);
    auto data = prepare_gradcheck(*dnet, opt);
    std::vector<float> xf, tf;
    if (fnet) {
        copy_params(*dnet, *fnet);
        xf.assign(data.first.begin(), data.first.end());
        tf.assign(data.second.begin(), data.second.end());
        for (size_t k = 0; k < xf.size(); ++k) data.first[k] = xf[k];
        for (size_t k = 0; k < tf.size(); ++k) data.second[k] = tf[k];
        // dnet keeps the dropout masks it drew in prepare_gradcheck; fnet, seeded alike, draws the same
        for (auto& l : dnet->layers) l->freeze_randomness(true);
        dnet->forward(data.first.data(), opt.train, data.second.empty() ? nullptr : data.second.data());
        fnet->forward(xf.data(), opt.train, tf.empty() ? nullptr : tf.data());
    }
    const int only = a.integer("-layer", -1);
    std::printf("%s: %s mode, batch %d, %s, tolerance %.0e, up to %zu elements per tensor\n", cfg.c_str(),
                opt.train ? "train" : "eval", batch, f32 ? "float32 analytic vs float64 numeric" : "float64", opt.tol,
                opt.max_checks);
    std::printf("%5s  %-14s %12s %9s %6s %11s  %s\n", "layer", "type", "max rel err", "checked", "kinks", "accumulates",
                "result");
    int failed = 0;
    for (int i = 0; i < dnet->num_layers(); ++i) {
        if (only >= 0 && i != only) continue;
        LayerCheck r = f32 ? gradcheck_layer_f32(*dnet, *fnet, i, opt) : gradcheck_layer(*dnet, i, opt);
        const double acc = check_accumulation(*dnet, i, opt);
        size_t checked = 0, kinks = 0;
        for (const auto& t : r.tensors) {
            checked += t.checked;
            kinks += t.kinks;
        }
        const bool accumulates = acc <= 1e-9;
        const bool pass = r.pass && accumulates && checked > 0;
        failed += !pass;
        std::printf("%5d  %-14s %12.3e %9zu %6zu %11s  %s%s\n", i, r.type.c_str(), r.max_err, checked, kinks,
                    accumulates ? "yes" : "NO", pass ? "PASS" : "FAIL", r.loss_mode ? " (its loss)" : "");
        if (!pass)
            for (const auto& t : r.tensors)
                std::printf("         %-18s max rel err %.3e at [%ld]: analytic %.9g numeric %.9g (%zu of %zu checked)\n",
                            t.name.c_str(), t.max_err, t.worst, t.analytic, t.numeric, t.checked, t.size);
    }
    std::printf("%s\n", failed ? "FAIL" : "PASS");
    return failed ? 1 : 0;
}

}  // namespace dn
