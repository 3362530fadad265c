// [batchnorm] layer, and the BatchNorm component that [convolutional] and [connected] use for
// batch_normalize=1. Math in src/kernels/batchnorm.hpp (Ioffe & Szegedy 2015).
#pragma once

#include <vector>

#include "darknet/layer.hpp"
#include "layers/gpu_decls.hpp"

namespace dn {

/// Per-channel batch-normalization state: gamma (Darknet `scales`), rolling statistics, the batch
/// statistics saved by a training forward, and gradients. beta lives with the owner (Darknet's
/// `biases`), so that conv/connected keep their Darknet weights layout.
template <class T>
struct BatchNorm {
    int channels = 0;
    std::vector<T> scales, scale_grads;         ///< gamma [C] and dL/dgamma
    std::vector<T> rolling_mean, rolling_variance;
    std::vector<T> mean, inv_std;               ///< saved by the last training forward
    bool last_train = false;                    ///< mode of the last forward (backward follows it)
    double eps = 1e-5;                          ///< kBatchnormEps unless the cfg sets eps=

    void init(int c);
    /// y[N,C,S] = BN(x) with beta[C]; train: batch statistics (and rolling update), else rolling.
    /// y may alias x in eval mode only (training keeps x for backward).
    void forward(const T* x, T* y, int N, int S, const T* beta, bool train);
    /// dy[N,C,S] (dL/dy) -> dx: written (accumulate=false, dx may alias dy) or added. Adds into
    /// scale_grads and beta_grads. x is the forward input.
    void backward(const T* x, const T* dy, T* dx, bool accumulate, int N, int S, T* beta_grads);
    /// Darknet's dontloadscales=1 ([convolutional], [connected]): the weights file holds no
    /// batchnorm arrays for the layer (a file saved before batch_normalize=1 was added); load()
    /// then reads nothing when the file follows the cfg's load keys, and the arrays keep 1, 0, 1.
    bool dontloadscales = false;
    /// Darknet order: scales, rolling_mean, rolling_variance; the first `count` channels of each
    /// (all when negative; [convolutional] numload).
    void load(WeightsReader& r, int count = -1);
    /// Bytes of save() that load() skips for dontloadscales (Layer::unloaded_bytes).
    size_t unloaded_bytes() const { return dontloadscales ? 3 * static_cast<size_t>(channels) * sizeof(float) : 0; }
    void save(WeightsWriter& w) const;
    void append_params(std::vector<Param<T>>& p);
#ifdef DN_GPU
    DeviceBuffer<T> mean_gpu, inv_std_gpu;  ///< batch statistics of the last GPU training forward
    /// forward/backward on device pointers; gamma and the rolling statistics are the owner's
    /// device copies (Layer::gpu_value).
    void forward_gpu(const T* x, T* y, int N, int S, const T* beta, bool train, const T* gamma, T* rolling_mean,
                     T* rolling_var);
    void backward_gpu(const T* x, const T* dy, T* dx, bool accumulate, int N, int S, const T* gamma,
                      const T* rolling_mean, const T* rolling_var, T* dgamma, T* dbeta);
#endif
};

/// Darknet's convolution layout ([convolutional], [deconvolutional]): biases, then bn's scales,
/// rolling_mean and rolling_variance when bn is not null, then weights; the order of params() and
/// of the weights file alike.
template <class T>
std::vector<Param<T>> conv_style_params(std::vector<T>& biases, std::vector<T>& bias_grads, BatchNorm<T>* bn,
                                        std::vector<T>& weights, std::vector<T>& weight_grads);
template <class T>
void save_conv_style(WeightsWriter& w, const std::vector<T>& biases, const BatchNorm<T>* bn, const std::vector<T>& weights);

/// [batchnorm]: y = gamma * normalize(x) + beta over the previous layer's output (NCHW); key
/// eps (default 1e-5). Weights layout: see docs/cfg.md (Darknet's three arrays; beta in a trailer).
template <class T>
class BatchnormLayer : public Layer<T> {
public:
    explicit BatchnormLayer(const BuildContext<T>& b);
    const char* type() const override { return "batchnorm"; }
    void forward(Network<T>& net) override;
    void backward(Network<T>& net) override;
    std::vector<Param<T>> params() override;
    void load_weights(WeightsReader& r) override;
    void save_weights(WeightsWriter& w) const override;
    bool has_trailer() const override { return true; }
    void save_trailer(WeightsWriter& w) const override;
    void load_trailer(WeightsReader& r) override;
    std::string describe() const override;
    double flops() const override { return 2.0 * this->outputs(); }
    void resize(Network<T>& net, int new_w, int new_h) override;
    DN_GPU_LAYER_DECLS

    BatchNorm<T> bn;
    std::vector<T> biases, bias_grads;  ///< beta
    std::vector<T> x;                   ///< input kept for backward
#ifdef DN_GPU
    DeviceBuffer<T> x_gpu;  ///< device twin of x
#endif
};

}  // namespace dn
