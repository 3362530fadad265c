// Training loop shared by `classifier train` and `detector train`.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "darknet/network.hpp"

namespace dn {

struct TrainOptions {
    std::string backup_dir = "backup";
    std::string base;                      ///< checkpoint prefix, normally the cfg file name without .cfg
    int save_every = 100;                  ///< iterations between <base>_last.weights
    std::string chart_path = "chart.png";  ///< loss chart, "" for none
    size_t train_images = 0;               ///< images per epoch (for the progress line)
    int64_t max_batches = 0;               ///< 0: the cfg's max_batches
    bool quiet = false;                    ///< no per-iteration lines
    /// Called every `eval_every` iterations (and at the end) for a metric to print and chart,
    /// e.g. validation accuracy or mAP; returns a value in [0, 1] or < 0 for none.
    std::function<double(int64_t iteration)> evaluate;
    int eval_every = 0;
    std::string eval_name = "accuracy";
    bool keep_best = false;                ///< write <base>_best.weights when the metric improves
    /// Multi-scale training (random=1): the network input size (w, h) for an iteration; the trainer
    /// resizes the network when it changes, and the loader must use the same function. Empty: fixed.
    std::function<std::pair<int, int>(int64_t iteration)> input_size;
    size_t max_inputs = 0;                 ///< largest w*h*c input_size gives (0: the network's)
};

/// Fills X (net.batch images, NCHW) and truth (net.batch * truth size) for pass `pass` of
/// iteration `iteration`; must be a function of its arguments (so resumed runs see the same data).
using BatchLoader = std::function<void(int64_t iteration, int pass, float* X, float* truth)>;

struct TrainResult {
    int64_t iterations = 0;    ///< iteration count reached (current_batch)
    double loss = 0;           ///< loss of the last iteration (per image)
    double avg_loss = 0;       ///< Darknet's running average (0.9/0.1)
    double seconds = 0;
    bool interrupted = false;  ///< stopped by SIGINT (after saving <base>_last.weights)
    std::vector<std::pair<int64_t, double>> losses;  ///< (iteration, loss)
};

/// Trains `net` up to max_batches: each iteration runs cfg `subdivisions` forward/backward passes
/// of net.batch images (gradients accumulate, batchnorm statistics per pass, `seen` += net.batch
/// per pass), then one SGD step at current_rate() (burn_in, policy). The next batch loads on a
/// background thread. Writes <backup>/<base>_last.weights (with the optimizer state, atomically)
/// every save_every iterations and at the end, <base>_final.weights at the end, and the chart.
/// A loss that is NaN or infinite stops training with dn::Error naming the iteration and the first
/// layer whose output is not finite. Ctrl-C stops after the current iteration (saving _last).
/// A dn::Error from `evaluate` (a valid= image that does not decode) saves _last, then propagates;
/// `backup_dir` must be a directory or creatable (dn::Error before the first iteration otherwise).
TrainResult train(Network<float>& net, const BatchLoader& load, size_t truth_per_image, const TrainOptions& opt);

/// What ema_step did.
enum class EmaAction { None, Started, Updated, Applied };

/// True when [net] ema_alpha > 0 and `iteration` is in AlexeyAB's averaging window,
/// max_batches/2 .. max_batches - 1000 (empty for runs under 1999 iterations).
bool ema_due(const NetConfig& cfg, int64_t iteration, int64_t max_batches);

/// [net] ema_alpha (AlexeyAB's), after the optimizer step that completed `iteration` (1-based).
/// In the window of ema_due: the first call copies every array that has a gradient into
/// Layer::ema (Started); each call then sets ema = alpha * ema + (1 - alpha) * w (Updated); at
/// iteration max_batches - 1000 the weights become the average instead (Applied), and training
/// goes on from it. With `gpu` (a network on the device) the average is kept and followed on the
/// device (Layer::ema_follow_gpu; Network::pull_params brings it to the host for checkpoints), and
/// Applied pulls the parameters, replaces them on the host and pushes them back. Throws dn::Error
/// when a layer's Layer::ema does not match its params().
EmaAction ema_step(Network<float>& net, int64_t iteration, int64_t max_batches, bool gpu = false);

/// Draws the loss curve (and the evaluation metric, if any) into a PNG. The loss axis ends at
/// `max_loss` when it is > 0 ([net] max_chart_loss, AlexeyAB's), else a little above the curve
/// (its first 5% left out). Throws dn::Error when the file cannot be written.
void write_chart(const std::string& path, const std::vector<std::pair<int64_t, double>>& losses,
                 const std::vector<std::pair<int64_t, double>>& metric, int64_t max_batches,
                 const std::string& metric_name, double max_loss = 0);

}  // namespace dn
