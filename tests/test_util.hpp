// Helpers shared by the tests: paths to ../shared and the built binaries, cfg-from-text networks,
// command capture.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "darknet/cfg.hpp"
#include "darknet/cuda.hpp"
#include "darknet/error.hpp"
#include "darknet/network.hpp"

namespace dn::test {

/// Repository root ($DARKNET_ROOT, else the working directory `make test` runs in).
std::string repo_root();
/// ../shared beside the checkout ($DARKNET_SHARED overrides).
std::string shared_dir();
bool have_shared();
std::string darknet_path();  ///< $DARKNET_BIN or <root>/darknet
std::string darknet_bin();  ///< "$DARKNET_BIN -nogpu" (default <root>/darknet): the CLI on the CPU
std::string model_dir();    ///< <shared>/models/yolo-fastest-1.1
/// A fresh temporary directory.
std::string make_temp_dir();
/// Runs a shell command, returns stdout+stderr; *rc gets the exit status.
std::string run(const std::string& cmd, int* rc = nullptr);
std::vector<char> read_bytes(const std::string& path);
void write_bytes(const std::string& path, const std::vector<char>& b);
/// The per-iteration losses of a training log (the trainer's "iteration, epoch: loss, ..." lines).
std::vector<double> losses(const std::string& log);

/// EXPECTs two training runs' loss curves (GPU against CPU) to have `iterations` entries each and
/// to agree per iteration within rel * max(1, |cpu|).
void expect_loss_curves_close(const std::vector<double>& gpu, const std::vector<double>& cpu, size_t iterations,
                              double rel);
/// Fashion-MNIST's class names, in label order (small_classification_set's labels.txt).
extern const char* const kFashionLabels[10];
/// Writes text to a file (replacing it).
void write_text(const std::string& path, const std::string& text);
/// A small classification set in a temporary directory (made once per process): the first 600
/// train / 200 test Fashion-MNIST images (Debian dataset-fashion-mnist), or, without the package,
/// a synthetic 10-class set (a bright block whose position is the class, on noise), with
/// train.list, test.list, labels.txt and fashion.data (backup=backup/). Returns the directory.
std::string small_classification_set();

/// Builds a network from cfg text ("t.cfg" in messages), quietly.
template <class T>
std::unique_ptr<Network<T>> net_from(const std::string& cfg, int batch = 0) {
    bool q = is_quiet();
    set_quiet(true);
    auto n = Network<T>::from_cfg(parse_cfg_string(cfg, "t.cfg"), batch);
    set_quiet(q);
    return n;
}

/// [connected] with batchnorm (weights, biases, scales trained; rolling statistics not) and an
/// SSE cost, ema_alpha=0.9, max_batches 2040: AlexeyAB's averaging window is iterations 1020..1040.
extern const char* const kEmaNet;

/// A run of kEmaNet-like cfgs through dn::train.
struct EmaRun {
    std::vector<char> at_apply;  ///< the checkpoint bytes right after iteration 1040 (the apply step)
    std::vector<char> final;     ///< the final weights
};

/// Trains `cfg` (initial weights from seed 1) into `dir` on deterministic data (a function of the
/// iteration: a noisy linear map of 5 inputs to 3). `interrupt_at` >= 0: the loader raises SIGINT
/// when asked for that iteration (the trainer stops after it or the one before). `resume`: a
/// checkpoint to load first; `drop_ema` then clears its moving average. `gpu`: on device 0.
EmaRun train_ema(const std::string& cfg, const std::string& dir, int64_t interrupt_at, const std::string& resume,
                 bool drop_ema = false, bool gpu = false);

/// The trained arrays (the Param values that have a gradient) of each layer, concatenated:
/// result[layer].
using TrainedArrays = std::vector<std::vector<float>>;

/// `steps` optimizer steps of `cfg` (a float network whose last layer is a loss over its input
/// values, e.g. [cost]) from seed-1 initial weights, on deterministic data (N(0, 1) inputs, labels
/// a function of them), each step forward(train) / backward / update at learning rate 0.1, with
/// `seen` advanced by the batch so that iterations count; on device 0 when `gpu`. Returns the
/// trained arrays before the first step and after each: result[0 .. steps].
std::vector<TrainedArrays> train_steps(const std::string& cfg, int steps, bool gpu = false);

/// A conv (batchnorm) -> conv -> connected -> cost network for the per-layer training keys, with
/// `conv2_keys` added to layer 1 and `connected_keys` to layer 2; SGD (momentum 0.9, decay 0.001)
/// or adam=1.
std::string keyed_net(const std::string& conv2_keys, const std::string& connected_keys, bool adam = false);

/// Message of the dn::Error thrown by f, or "" when none is thrown.
template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace dn::test

/// Skips a test that needs a CUDA device (a GPU build on a GPU machine, or GPU=emu).
#define DN_REQUIRE_GPU()                                                                                 \
    do {                                                                                                 \
        if (::dn::gpu_count() == 0)                                                                      \
            GTEST_SKIP() << "SKIP: no CUDA device (or a CPU build); GPU agreement needs make GPU=1 and a GPU"; \
    } while (0)

#define DN_REQUIRE_SHARED()                                                                                \
    do {                                                                                                   \
        if (!::dn::test::have_shared())                                                                    \
            GTEST_SKIP() << "skipped: " << ::dn::test::shared_dir()                                        \
                         << " not found (real models and images live in ../shared beside the checkout)"; \
    } while (0)
