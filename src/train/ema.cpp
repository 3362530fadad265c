// [net] ema_alpha: AlexeyAB's exponential moving average of the weights (his train_network_waitkey).
#include <cstddef>
#include <vector>

#include "darknet/error.hpp"
#include "darknet/trainer.hpp"
#include "kernels/optimizer.hpp"

namespace dn {

bool ema_due(const NetConfig& cfg, int64_t iteration, int64_t max_batches) {
    return cfg.ema_alpha > 0 && iteration >= max_batches / 2 && iteration <= max_batches - 1000;
}

// AlexeyAB's schedule: from max_batches/2 the average starts as a copy of the weights and follows
// them, ema = alpha * ema + (1 - alpha) * w, after every step until max_batches - 1000; at that
// step the weights are replaced by the average, and the last 1000 iterations train on from it
// (re-estimating the batchnorm rolling statistics, which are not averaged). AlexeyAB averages the
// weights, biases and scales of [convolutional] layers; here every array that has a gradient, which
// is the same set in convolutional networks and also covers [connected] and [groupnorm].
// In GPU runs the average lives on the device next to the weights (Layer::ema_follow_gpu: the same
// per-element step), so following it costs one pass over the weights and no host copy; the apply
// step, once per run, goes through the host.
EmaAction ema_step(Network<float>& net, int64_t iteration, int64_t max_batches, bool gpu) {
    if (!ema_due(net.cfg, iteration, max_batches)) return EmaAction::None;
    const float a = net.cfg.ema_alpha;
    bool started = false;
    for (auto& l : net.layers) started = started || !l->ema.empty();
    const bool apply = iteration == max_batches - 1000;
    if (gpu && apply) net.pull_params();  // the weights and the average, for the host's apply below
    for (auto& l : net.layers) {
        std::vector<Param<float>> ps = l->params();
        bool trained = false;
        for (const auto& p : ps) trained = trained || (p.grad && p.size);
        if (!trained) continue;
        if (gpu && !apply) {  // as below: the first step copies, every step (the first too) follows
            if (!started) l->ema_follow_gpu(a, true);
            l->ema_follow_gpu(a, false);
            continue;
        }
        if (!started) {
            l->ema.clear();
            for (const auto& p : ps)
                l->ema.push_back(p.grad ? std::vector<float>(p.value, p.value + p.size) : std::vector<float>());
        }
        if (l->ema.size() != ps.size())
            fail("%s: the moving average of layer %d has %zu arrays, the layer %zu", net.cfg.where.c_str(), l->index,
                 l->ema.size(), ps.size());
        for (size_t k = 0; k < ps.size(); ++k) {
            std::vector<float>& e = l->ema[k];
            if (e.empty()) continue;
            float* w = ps[k].value;
            if (apply) {
                for (size_t i = 0; i < e.size(); ++i) w[i] = e[i];
            } else {
                for (size_t i = 0; i < e.size(); ++i) ema_follow(e[i], w[i], a);
            }
        }
        if (apply) l->params_changed();
    }
    if (gpu && apply) net.push_params();
    return apply ? EmaAction::Applied : started ? EmaAction::Updated : EmaAction::Started;
}

}  // namespace dn
