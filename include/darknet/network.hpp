// The network: the [net] section, the layer list, and the forward/backward/update runner.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "darknet/cfg.hpp"
#include "darknet/detection.hpp"
#include "darknet/layer.hpp"

namespace dn {

/// Learning-rate policies of Darknet's [net] `policy=`.
enum class LrPolicy { Constant, Step, Steps, Exp, Poly, Sig, Random, Sgdr, Cosine };

/// Everything the [net] section says. Augmentation keys are parsed and kept for the trainers.
struct NetConfig {
    int batch = 1;          ///< images per optimizer step (cfg `batch`)
    int subdivisions = 1;   ///< forward passes per step; a pass holds batch/subdivisions images
    int width = 0, height = 0, channels = 0;
    int inputs = 0;         ///< width*height*channels, or cfg `inputs` for 1-D networks
    float momentum = 0.9f, decay = 0.0001f, learning_rate = 0.001f;
    bool adam = false;                       ///< cfg adam=1: Adam instead of SGD with momentum
    float B1 = 0.9f, B2 = 0.999f, eps = 1e-6f;  ///< Adam's beta1, beta2, epsilon (AlexeyAB's defaults)
    float ema_alpha = 0;  ///< cfg ema_alpha in [0, 1): AlexeyAB's moving average of the weights (src/train/ema.cpp)
    float learning_rate_min = 0.00001f;
    int burn_in = 0;
    float power = 4;
    int max_batches = 0;
    LrPolicy policy = LrPolicy::Constant;
    std::vector<int> steps;
    std::vector<float> scales;
    int step = 1;
    float gamma = 1;
    int sgdr_cycle = 1000;
    float sgdr_mult = 2;
    // augmentation (kept for the data loaders)
    float angle = 0, saturation = 1, exposure = 1, hue = 0, aspect = 1, jitter = 0;
    int flip = 1, mosaic = 0, letter_box = 0, max_crop = 0, min_crop = 0, blur = 0;
    int mixup = 0, cutmix = 0, track = 0;
    /// steps a recurrent layer ([rnn]) unrolls; a pass of such a network holds
    /// batch/subdivisions * time_steps rows (Network::batch), time-major
    int time_steps = 1;
    /// AlexeyAB's classifier label smoothing, in [0, 1): training labels 1 - eps for the image's
    /// class and eps / (classes - 1) for the others (the [yolo] key of the same name is the head's)
    float label_smooth_eps = 0;
    /// AlexeyAB's chart keys: the loss axis's end (0: fitted to the curve), and mosaic_bound, read
    /// for his cfgs: mosaic's boxes are always clipped to their quadrant (his mosaic_bound=1)
    float max_chart_loss = 0;
    int mosaic_bound = 0;
    int resize_step = 32;  ///< multi-scale training (random=1) sizes are multiples of this (AlexeyAB)
    std::string where;  ///< file:line of the [net] section
};

/// The 4-int32 / uint64 header of a Darknet .weights file.
struct WeightsHeader {
    int32_t major = 0, minor = 2, revision = 5;
    uint64_t seen = 0;  ///< images trained on
};

/// A Darknet network in scalar type T (float for use, double for gradient checks).
template <class T>
class Network {
public:
    /// Builds the network described by `cfg`. When `batch_override` > 0 the pass batch is set to it
    /// (Darknet's parse_network_cfg_custom(cfg, batch, 1), used by `detector test` with 1).
    /// Throws dn::Error naming file:line for bad sections, keys and shapes.
    static std::unique_ptr<Network> from_cfg(const Cfg& cfg, int batch_override = 0);
    static std::unique_ptr<Network> from_cfg_file(const std::string& path, int batch_override = 0);

    /// Runs every layer. x: batch * inputs() values (NCHW). Returns output() of the last layer.
    /// `train`: batch statistics, dropout, and loss layers read `truth` and set their deltas;
    /// every layer's delta is zeroed first.
    const T* forward(const T* x, bool train = false, const T* truth = nullptr);
    /// Back-propagates the deltas set by forward(train) (or by the caller into the last layer's
    /// delta). `input_delta`, if not null, receives (+=) dL/d(network input).
    void backward(T* input_delta = nullptr);
    /// Runs layer i alone on the current state: its inputs are the outputs of the earlier layers (and
    /// the network input) of the last forward(); zeroes its delta in training mode. For checkers.
    void forward_layer(int i);
    /// Runs layer i's backward alone: net.delta is the previous layer's delta (or input_delta).
    void backward_layer(int i, T* input_delta = nullptr);
    /// One optimizer step with the given learning rate over every layer: SGD (grads become
    /// momentum) or, with cfg adam=1, Adam (grads are zeroed).
    void update(float learning_rate);
    /// The step's hyper-parameters from cfg (Darknet's update_args) for update / update_gpu.
    UpdateArgs update_args(float learning_rate) const;
    /// The layers an optimizer step updates (those after frozen_upto at the iteration of the last
    /// backward pass, whose gradients it applies), each with its own hyper-parameters (the rate
    /// times its learning_rate_scale).
    std::vector<std::pair<Layer<T>*, UpdateArgs>> update_plan(float learning_rate) const;
    /// Whether layer l's step at the current iteration (current_batch(), the step's images counted)
    /// is held by its dont_update / burnin_update keys, as in AlexeyAB's update_network_gpu:
    /// iteration <= dont_update, or iteration < burnin_update * burn_in. update / update_gpu
    /// skip such a layer and zero its gradients, so that it resumes from a clean momentum.
    bool update_held(const Layer<T>& l) const;
    /// The last layer that a stopbackward key freezes at `iteration` (a layer with stopbackward=1,
    /// or N > iteration), or -1. backward / backward_gpu stop above it and update skips it and
    /// the layers before it.
    int frozen_upto(int64_t iteration) const;
    /// Zeroes every Param::grad (and momentum).
    void zero_grad();
    /// Drops what a checkpoint carries besides the weights: SGD's momentum (zero_grad), Adam's
    /// moments and step count, and ema_alpha's moving average; `seen` stays (train -clear resets it).
    void clear_training_state();
    /// Allocates every layer's gradient buffers (done by backward/zero_grad/update).
    void ensure_grads();
    /// Learning rate at the current `seen`-derived iteration (Darknet's get_current_rate).
    float current_rate() const;
    /// Iterations done: seen / (batch * subdivisions).
    int64_t current_batch() const;
    /// Sum of the `cost` of loss layers from the last training forward.
    double total_cost() const;

    /// Output of the last layer that is not a [cost] layer.
    const T* output() const;
    Layer<T>& output_layer() const;
    int outputs() const;  ///< per image, of output_layer()
    int inputs() const { return w * h * c; }
    int num_layers() const { return static_cast<int>(layers.size()); }
    Layer<T>& layer(int i) const;

    /// Boxes above `thresh` from all YOLO layers, for an image of im_w x im_h pixels
    /// (Darknet's get_network_boxes).
    std::vector<Detection> get_detections(int im_w, int im_h, float thresh, bool letterbox, int b = 0) const;

    /// Changes the input size (multi-scale training) and reallocates layer buffers.
    void resize(int new_w, int new_h);
    /// Prints Darknet's layer table to stderr.
    void print_summary() const;
    /// Total forward FLOPs per image.
    double flops() const;
    /// Fold batchnorm into convolution weights at inference (set by the detector/predict paths).
    void set_inference_fusion(bool on);
    /// For inference-only use (detector test, benchmark): folds batchnorm and places layer outputs
    /// in one shared arena, each buffer reused once the last layer reading it has run. Afterwards
    /// only the outputs of the last layer and of detection layers stay valid after forward(), and
    /// training forward passes are refused. Returns the arena size in bytes.
    size_t optimize_for_inference();
    bool inference_only() const { return planned_; }

    NetConfig cfg;
    WeightsHeader header;
    int batch = 1;  ///< images per forward pass (rows: times time_steps in recurrent networks)
    int w = 0, h = 0, c = 0;
    std::vector<std::unique_ptr<Layer<T>>> layers;

    // State of the pass in progress, read by layers.
    const T* input = nullptr;  ///< input of the layer being run
    T* delta = nullptr;        ///< dL/d(that input), or null
    const T* truth = nullptr;  ///< labels, batch * truth_size
    bool train = false;
    bool fuse_inference = false;  ///< layers may fold batchnorm (eval forward only)
    bool profile = false;         ///< accumulate per-layer forward milliseconds in layer_ms
    std::vector<double> layer_ms;
    int current = 0;              ///< index of the layer being run

    /// The network input of the last forward().
    const T* last_input() const { return input0_; }

    // ---- GPU (GPU=1 builds; float networks) ------------------------------------------------
    /// Runs on CUDA device `index` from now on (selects it, copies the parameters there); -1 goes
    /// back to the CPU (copying them back). Throws dn::Error without a device or a GPU build.
    void use_gpu(int index);
    int gpu_index = -1;  ///< the device forward/backward/update run on, -1: the CPU
    /// forward() on the device: x and truth are host arrays (copied over); returns output() after
    /// copying the output layer's (and the detection layers') outputs back to the host.
    const T* forward_gpu(const T* x, bool train = false, const T* truth = nullptr);
    /// backward() on the device (dL/d(network input) is not computed).
    void backward_gpu();
    /// update() on the device parameters.
    void update_gpu(float learning_rate);
    /// Parameters device -> host (before saving weights) and host -> device (after loading them).
    void pull_params();
    void push_params();
    /// Every layer's output device -> host (diagnostics, e.g. finding the first non-finite layer).
    void pull_outputs();
    /// Shared device scratch of at least n elements.
    T* workspace_gpu(size_t n);
    const T* input_gpu = nullptr;  ///< device input of the layer being run
    T* delta_gpu = nullptr;        ///< device dL/d(that input), or null
    const T* truth_gpu = nullptr;  ///< device copy of truth
    /// Shared scratch of at least `n` elements.
    T* workspace(size_t n);

private:
    std::vector<T> workspace_;
    Buffer<T> arena_;
    bool planned_ = false;
    const T* input0_ = nullptr;  // network input of the last forward, for backward()
    DeviceBuffer<T> x_gpu_, truth_buf_gpu_, ws_gpu_;
    /// frozen_upto at the last backward pass, which the next update applies (the trainer counts
    /// the step's images in `seen` before it updates); -2 before any backward pass.
    int frozen_ = -2;
};

/// Loads Darknet weights into `net`. The header's version decides the width of `seen`. When
/// `allow_partial` is true a file that ends exactly at a layer boundary loads the layers it holds
/// (pretrained backbones); otherwise a short file is an error. A trailer's optimizer state (our
/// checkpoints) is restored into the momentum buffers (SGD) or Layer::adam (adam=1); the state of
/// the other optimizer is skipped. With LoadFor::Inference (detector test, classifier predict,
/// ...) the trailer's training state (SGD momentum, Adam's moments, ema_alpha's average) is
/// skipped, so that no gradient buffers or moments are allocated for it. Throws dn::Error giving
/// the layer index and type, the byte offset, and the expected and available bytes.
enum class LoadFor { Training, Inference };
template <class T>
void load_weights(Network<T>& net, const std::string& path, bool allow_partial = false,
                  LoadFor use = LoadFor::Training);
/// load_weights from a file's bytes held in memory; `label` names them in messages.
template <class T>
void load_weights_bytes(Network<T>& net, std::vector<char> bytes, const std::string& label = "<memory>",
                        bool allow_partial = false, LoadFor use = LoadFor::Training);
/// Saves in Darknet's format (header as loaded, or 0.2.5), atomically (temporary file + rename).
/// With `optimizer_state` the optimizer's state (SGD's momentum buffers, or Adam's moments and
/// step count) goes into the trailer too, so that training resumes exactly (checkpoints); Darknet
/// ignores it.
template <class T>
void save_weights(const Network<T>& net, const std::string& path, int upto = -1, bool optimizer_state = false);
/// Serializes to bytes (what save_weights writes: no data for dontsave=1 layers).
template <class T>
std::vector<char> weights_bytes(const Network<T>& net, int upto = -1, bool optimizer_state = false);
/// Copies the values of every params() entry of `from` into `to` (a network built from the same
/// cfg, e.g. an evaluation network of another batch size), whatever its dontsave / dontload keys;
/// gradients and optimizer state stay. Throws dn::Error when the layers or their arrays differ.
template <class T>
void copy_weights(Network<T>& from, Network<T>& to);

/// Sets OpenBLAS and OpenMP thread counts (n <= 0: leave the defaults).
void set_num_threads(int n);
int get_num_threads();

}  // namespace dn
