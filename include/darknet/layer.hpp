// Layer base class, parameter views, and the cfg-section -> layer registry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "darknet/buffer.hpp"
#include "darknet/cfg.hpp"
#include "darknet/cuda.hpp"
#include "darknet/detection.hpp"

namespace dn {

template <class T> class Network;
template <class T> class Layer;
class WeightsReader;
class WeightsWriter;
struct NetConfig;

/// A named parameter or state buffer of a layer. `grad` is dL/d(value) accumulated over the
/// mini-batches since the last update (it doubles as Darknet's momentum buffer, `*_updates`);
/// null for buffers that are not trained (rolling statistics).
template <class T>
struct Param {
    std::string name;  ///< Darknet's name: "weights", "biases", "scales", "rolling_mean", ...
    T* value = nullptr;
    T* grad = nullptr;
    size_t size = 0;
    bool decay = false;  ///< weight decay applies (convolution/connected weights, as in Darknet)
};

/// A detection head's data-augmentation keys, which the detector loader takes from the heads:
/// jitter (the last head's), resize (AlexeyAB's zoom; the last head's) and random (any head's).
struct HeadAugment {
    float jitter = 0, resize = 1;
    int random = 0;
};

/// Hyper-parameters of one optimizer step (Darknet's update_args).
struct UpdateArgs {
    float learning_rate = 0.001f;
    float momentum = 0.9f;
    float decay = 0.0005f;
    int batch = 1;  ///< images whose gradients were summed into the grads (batch * subdivisions)
    bool adam = false;  ///< Adam (cfg adam=1) instead of SGD with momentum
    float B1 = 0.9f, B2 = 0.999f, eps = 1e-6f;  ///< Adam's beta1, beta2, epsilon (cfg B1, B2, eps)
};

/// Adam's state for one layer (Kingma & Ba 2015, Algorithm 1): the first and second moment
/// estimates m and v of each params() entry, in params() order (empty for entries without a
/// gradient, and all empty before the first Adam step), and t, the steps taken since they were
/// zero. Checkpoints (`_last.weights`) carry it.
template <class T>
struct AdamMoments {
    int64_t t = 0;
    std::vector<std::vector<T>> m, v;
    bool empty() const { return m.empty(); }
    void clear() { t = 0, m.clear(), v.clear(); }
};

/// What a layer is built from: its cfg section, the shape of its input (the previous layer's
/// output, or the network input), and the layers built before it (for route/shortcut).
template <class T>
struct BuildContext {
    const CfgSection& section;
    const NetConfig& net;
    int index;  ///< index this layer will have
    int batch;  ///< images per forward pass
    int w, h, c;  ///< input shape per image (NCHW without N)
    const std::vector<std::unique_ptr<Layer<T>>>& built;
};

/// Base of every layer. Tensors are NCHW float/double arrays of `batch * outputs()` elements.
///
/// Contract (see docs/design.md):
///  - forward(net) reads net.input (batch * inputs()) and writes `output`.
///  - backward(net) reads `delta` = dL/d(output) and ADDS dL/d(input) into net.delta when it is
///    not null, and dL/d(parameter) into each Param::grad. It never overwrites.
///  - Loss layers (cost, softmax with labels, yolo) set their own `delta` in a training forward.
template <class T>
class Layer {
public:
    virtual ~Layer() = default;

    /// cfg section name ("convolutional", "maxpool", ...).
    virtual const char* type() const = 0;
    virtual void forward(Network<T>& net) = 0;
    virtual void backward(Network<T>& net) = 0;
    /// One optimizer step over params(): SGD with momentum and decay (Darknet's rule), or Adam when
    /// a.adam (moments in `adam`); layers rarely override it.
    virtual void update(const UpdateArgs& a);
    /// Allocates (zeroed) gradient buffers that inference does not need; idempotent. Called by the
    /// network before the first backward pass.
    virtual void alloc_grads() {}
    /// Trainable parameters and persistent state, in a stable order.
    virtual std::vector<Param<T>> params() { return {}; }
    virtual void load_weights(WeightsReader&) {}
    virtual void save_weights(WeightsWriter&) const {}
    /// Bytes of what save_weights writes that load_weights does not read when the file follows
    /// the cfg's load keys (dontloadscales: the batchnorm arrays).
    virtual size_t unloaded_bytes() const { return 0; }
    /// Data Darknet's layout has no room for (standalone [batchnorm] beta), stored in a tagged
    /// trailer after the last layer that older Darknets ignore (docs/cfg.md, "Weights layouts").
    virtual bool has_trailer() const { return false; }
    virtual void save_trailer(WeightsWriter&) const {}
    virtual void load_trailer(WeightsReader&) {}
    /// Scratch elements needed from the network's shared workspace.
    virtual size_t workspace_size() const { return 0; }
    /// Called after parameters change outside update() (weights loaded, set through the API).
    virtual void params_changed() {}
    /// Appends the detections of image `b` of the batch (YOLO-type layers); image size im_w x im_h,
    /// network size net_w x net_h.
    virtual void get_detections(int im_w, int im_h, int net_w, int net_h, float thresh,
                                bool letterbox, std::vector<Detection>& out, int b = 0) const {
        (void)im_w, (void)im_h, (void)net_w, (void)net_h, (void)thresh, (void)letterbox, (void)out, (void)b;
    }
    /// Detection heads: class count and the NMS rule their cfg section asks for.
    virtual bool detection_head(int* classes, NmsKind* kind, float* beta) const {
        (void)classes, (void)kind, (void)beta;
        return false;
    }
    /// Detection heads: their augmentation keys (HeadAugment); false for other layers.
    virtual bool head_augment(HeadAugment* a) const {
        (void)a;
        return false;
    }
    /// Multiply-adds of one forward pass for one image, in FLOPs (2 per multiply-add).
    virtual double flops() const { return 0.0; }
    /// Extra text for the summary table (filters, size/stride, ...).
    virtual std::string describe() const { return ""; }
    /// Labels per image this layer's loss reads from net.truth (loss layers).
    virtual size_t truth_size() const { return static_cast<size_t>(outputs()); }
    /// Plausible random labels for one image (gradient checks): default standard normal values.
    virtual void random_truth(std::mt19937_64& rng, T* truth) const;
    /// While on, forward passes reuse their random draws (dropout masks), so that repeated forward
    /// passes of a gradient check see the same function.
    virtual void freeze_randomness(bool on) { (void)on; }
    /// Layers whose outputs forward() reads: index - 1 (the previous layer, -1 = network input) by
    /// default; route and shortcut add theirs. Used by the inference memory planner.
    virtual std::vector<int> reads() const { return {index - 1}; }
    /// True when the output equals the input at inference (dropout, cost): the planner lets the
    /// output alias the input buffer.
    virtual bool identity_at_inference() const { return false; }
    /// Changes the input size to new_w x new_h (multi-scale training) and recomputes the output
    /// size; layers reading other layers (route, shortcut) look them up in `net`. The network
    /// reallocates `output`/`delta` afterwards.
    virtual void resize(Network<T>& net, int new_w, int new_h);

    // ---- GPU (float networks on a CUDA device; see Network::forward_gpu) ------------------------
    /// forward/backward on device memory: read net.input_gpu, write output_gpu; ADD dL/d(input)
    /// into net.delta_gpu (when not null) and dL/d(param) into the device grads, as on the CPU.
    /// The default runs the CPU code on copies pulled from the device and pushes the results back
    /// ([region]); layers with GPU kernels override both.
    virtual void forward_gpu(Network<T>& net);
    virtual void backward_gpu(Network<T>& net);
    /// update() on the device copies of params().
    virtual void update_gpu(const UpdateArgs& a);
    /// Zeroes the device gradients of params() (a step held by dont_update / burnin_update).
    void zero_grads_gpu();
    /// Copies every params() buffer (and grad, Adam's moments and the ema_alpha average) to the
    /// device / back to the host.
    void push_params();
    void pull_params();
    /// [net] ema_alpha on the device (src/train/ema.cpp): `start` makes the device average a copy of
    /// the device weights of every params() entry that has a gradient (and sizes Layer::ema, whose
    /// values pull_params then brings over); otherwise the device average follows the device
    /// weights, e = alpha e + (1 - alpha) w (kernels/optimizer.hpp ema_follow).
    void ema_follow_gpu(float alpha, bool start);
    /// Device copy of the params() entry `name` (value or grad): the first one at or after
    /// params() index `from` (layers with repeated names, [rnn]'s three blocks); throws when absent.
    T* gpu_value(const char* name, size_t from = 0);
    T* gpu_grad(const char* name, size_t from = 0);

    int inputs() const { return w * h * c; }
    int outputs() const { return out_w * out_h * out_c; }
    /// Allocates `delta` (training) when it is not yet allocated.
    void ensure_delta() {
        const size_t n = static_cast<size_t>(batch) * outputs();
        if (delta.size() != n) delta.assign(n, T(0));
    }

    int index = 0;
    int batch = 1;
    int w = 0, h = 0, c = 0;              ///< input shape per image
    int out_w = 0, out_h = 0, out_c = 0;  ///< output shape per image
    Buffer<T> output;                     ///< batch * outputs() (a view into the arena after Network::optimize_for_inference)
    Buffer<T> delta;                      ///< dL/d(output), same size, training only
    double cost = 0;                      ///< loss of the last training forward (loss layers)
    bool has_loss = false;                ///< the layer computes a loss from net.truth
    std::string where;                    ///< "file:line" of its cfg section
    /// AlexeyAB's per-layer training keys, read for every section by Network::from_cfg.
    /// stopbackward: 1 = back-propagation stops here, so this layer and every earlier one are
    /// frozen (no backward pass, no optimizer step; their forward is unchanged, batchnorm included);
    /// N > 1 = the same until iteration N (Network::frozen_upto).
    int stopbackward = 0;
    /// cfg learning_rate: this layer's optimizer steps use the rate times this (AlexeyAB's
    /// learning_rate_scale), SGD and Adam alike.
    float learning_rate_scale = 1;
    /// AlexeyAB's dont_update=N and burnin_update=K: this layer's optimizer steps are held (no step,
    /// its gradients dropped; back-propagation through it goes on) for the first N iterations, and
    /// while the iteration is below K * [net] burn_in (Network::update_held).
    int dont_update = 0, burnin_update = 0;
    /// Darknet's dontload=1: the weights file holds nothing for this layer (one inserted into a
    /// pretrained network); load_weights reads no bytes for it and it keeps its initial values.
    bool dontload = false;
    /// Darknet's dontsave=1: weights files written from this network hold nothing for this layer
    /// (save_weights skips it, as Darknet's save_weights_upto); load it back with dontload=1, or
    /// let the loader recognise the file's layout (docs/cfg.md, "Weights layouts").
    bool dontsave = false;
    DeviceBuffer<T> output_gpu, delta_gpu;  ///< device twins of output/delta (GPU runs)
    AdamMoments<T> adam;                  ///< Adam's moments (adam=1 training); on the device in GPU runs
    /// [net] ema_alpha: the moving average of each params() entry that has a gradient, in params()
    /// order (empty vectors for the others; all empty before it starts). Checkpoints carry it; in
    /// GPU runs it lives on the device and pull_params brings it over.
    std::vector<std::vector<T>> ema;

private:
    /// Sizes `adam` for params() (zeroed) when it is empty; returns the params().
    std::vector<Param<T>> ensure_adam();
    std::vector<std::string> gpu_names_;  ///< params() names, in order, at the last push
    std::vector<DeviceBuffer<T>> gpu_values_, gpu_grads_;
    std::vector<DeviceBuffer<T>> gpu_adam_m_, gpu_adam_v_;  ///< device twins of adam.m / adam.v
    std::vector<DeviceBuffer<T>> gpu_ema_;                  ///< device twins of ema
};

template <class T>
using LayerFactory = std::unique_ptr<Layer<T>> (*)(const BuildContext<T>&);

/// Registers a layer under one or more comma-separated cfg section names. Returns true so that it
/// can initialize a static. Used through DN_REGISTER_LAYER.
bool register_layer(const char* names, LayerFactory<float> f, LayerFactory<double> d);
/// Factory for a section name, or null.
template <class T>
LayerFactory<T> find_layer_factory(const std::string& name);
/// All registered section names, sorted (for the "unknown section" error).
std::vector<std::string> known_layer_names();

}  // namespace dn

/// Put at the bottom of a layer's .cpp: instantiates CLASS<float> and CLASS<double> and registers
/// them under the cfg section NAMES ("normalization,lrn").
#define DN_REGISTER_LAYER(CLASS, NAMES)                                                          \
    template class CLASS<float>;                                                                 \
    template class CLASS<double>;                                                                \
    namespace {                                                                                  \
    const bool dn_registered_##CLASS = ::dn::register_layer(                                     \
        NAMES,                                                                                   \
        [](const ::dn::BuildContext<float>& b) -> std::unique_ptr<::dn::Layer<float>> {          \
            return std::make_unique<CLASS<float>>(b);                                            \
        },                                                                                       \
        [](const ::dn::BuildContext<double>& b) -> std::unique_ptr<::dn::Layer<double>> {        \
            return std::make_unique<CLASS<double>>(b);                                           \
        });                                                                                      \
    }
