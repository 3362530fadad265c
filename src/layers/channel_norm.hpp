// AlexeyAB's channel-normalizing activations on a layer's NCHW output ([convolutional] and
// [activation] take them): activation=normalize_channels|normalize_channels_softmax|
// normalize_channels_softmax_maxval. The layer's own elementwise activation is then linear, and
// ChannelNorm runs after the rest of its forward (kernels/channel_norm.hpp has the math and the
// derivation of the backward), and first in its backward, turning dL/dy into dL/d(its input).
#pragma once

#include <string>
#include <vector>

#include "darknet/cfg.hpp"
#include "darknet/layer.hpp"
#include "darknet/network.hpp"
#include "kernels/activations.hpp"
#include "kernels/channel_norm.hpp"
#include "layers/layer_util.hpp"
#ifdef DN_GPU
#include "kernels/gpu.hpp"
#endif

namespace dn {

template <class T>
class ChannelNorm {
public:
    /// Reads the section's `activation` (default `def`): a channel activation turns this on and
    /// returns linear for the layer's elementwise one; otherwise the elementwise activation.
    /// Errors name the key (an unknown name lists the known ones).
    Activation parse(const CfgSection& s, const char* def) {
        kind_ = channel_norm_kind(s.get_str("activation", def));
        return on() ? Activation::Linear : activation_key(s, def);
    }
    bool on() const { return kind_ != ChannelNormKind::None; }
    const char* name() const {
        return kind_ == ChannelNormKind::Relu      ? "normalize_channels"
               : kind_ == ChannelNormKind::Softmax ? "normalize_channels_softmax"
                                                   : "normalize_channels_softmax_maxval";
    }

    /// In place on y [N][C][S] (the layer's output before it), keeping the input for backward
    /// when a backward may follow (as keep_activation_input).
    void forward(const Network<T>& net, T* y, int N, int C, int S) {
        if (!on()) return;
        const size_t n = static_cast<size_t>(N) * C * S;
        if (net.train || !net.fuse_inference) x_.assign(y, y + n);
        else x_.clear();
#pragma omp parallel for schedule(static)
        for (long long p = 0; p < static_cast<long long>(N) * S; ++p) {
            const size_t off = static_cast<size_t>(p / S) * C * S + p % S;
            channel_norm_forward_at(kind_, y + off, C, S, y + off);
        }
    }
    /// dy [N][C][S] = dL/dy in place -> dL/d(input); y is the forward's output.
    void backward(const T* y, T* dy, int N, int C, int S, const std::string& where) const {
        if (!on()) return;
        if (x_.empty()) fail("%s: %s backward without a training forward", where.c_str(), name());
#pragma omp parallel for schedule(static)
        for (long long p = 0; p < static_cast<long long>(N) * S; ++p) {
            const size_t off = static_cast<size_t>(p / S) * C * S + p % S;
            channel_norm_backward_at(kind_, x_.data() + off, y + off, dy + off, C, S, dy + off, false);
        }
    }

#ifdef DN_GPU
    void forward_gpu(const Network<T>& net, float* y, int N, int C, int S) {
        if (!on()) return;
        const size_t n = static_cast<size_t>(N) * C * S;
        if (net.train || !net.fuse_inference) {
            x_gpu_.resize(n);
            copy_gpu(y, x_gpu_.data(), n);
        } else {
            x_gpu_.resize(0);
        }
        channel_norm_forward_gpu(kind_, y, N, C, S, y);
    }
    void backward_gpu(const float* y, float* dy, int N, int C, int S, const std::string& where) {
        if (!on()) return;
        if (x_gpu_.size() == 0) fail("%s: %s backward without a training forward", where.c_str(), name());
        channel_norm_backward_gpu(kind_, x_gpu_.data(), y, dy, N, C, S, dy);
    }
#endif

private:
    ChannelNormKind kind_ = ChannelNormKind::None;
    std::vector<T> x_;  ///< the input of the last forward that may be followed by a backward
#ifdef DN_GPU
    DeviceBuffer<float> x_gpu_;
#endif
};

}  // namespace dn
