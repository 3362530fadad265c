// RecurrentLayer: the parts [rnn] and [lstm] share: K Dense blocks (params(), gradients, the
// Darknet weights file with the blocks as [connected] layers in order, FLOPs), [net] time_steps
// and the streams of a pass, and the carried state's freeze for gradient checks.
#pragma once

#include <array>
#include <vector>

#include "dense.hpp"
#include "darknet/error.hpp"
#include "darknet/layer.hpp"
#include "darknet/network.hpp"

namespace dn {

template <class T, int K>
class RecurrentLayer : public Layer<T> {
public:
    std::array<Dense<T>, K> gates;  ///< the blocks, in params() and weights file order
    int steps = 1;                  ///< [net] time_steps

    /// While on (gradient checks), passes leave the carried state alone, so that repeated
    /// non-training passes compute the same function.
    void freeze_randomness(bool on) override { frozen_ = on; }

    /// The blocks' arrays in order (names repeat: Dense::append_params).
    std::vector<Param<T>> params() override {
        std::vector<Param<T>> p;
        for (auto& g : gates) g.append_params(p);
        return p;
    }
    void alloc_grads() override {
        for (auto& g : gates) g.alloc_grads();
    }
    void load_weights(WeightsReader& r) override {
        for (auto& g : gates) g.load(r);
    }
    void save_weights(WeightsWriter& w) const override {
        for (const auto& g : gates) g.save(w);
    }
    size_t unloaded_bytes() const override {
        size_t n = 0;
        for (const auto& g : gates) n += g.unloaded_bytes();
        return n;
    }
    /// Per row (one step of one stream): 2 FLOPs a multiply-add of each block.
    double flops() const override {
        double f = 0;
        for (const auto& g : gates) f += 2.0 * g.inputs * g.outputs;
        return f;
    }

    /// Streams of a pass: its rows / time_steps.
    int streams() const { return this->batch / steps; }

protected:
    /// steps = [net] time_steps; throws dn::Error naming the section when the pass's rows are not
    /// a multiple of it.
    void set_steps(const BuildContext<T>& b) {
        steps = b.net.time_steps;
        if (b.batch % steps != 0)
            b.section.error_section(strfmt("the pass holds %d rows, not a multiple of [net] time_steps=%d", b.batch, steps));
    }
    /// Index of block g's biases in params() (its device arrays: Layer::gpu_value(name, first)).
    size_t first_param(int g) const {
        size_t k = 0;
        for (int i = 0; i < g; ++i) k += gates[i].param_count();
        return k;
    }
    std::vector<size_t> first_params() const {
        std::vector<size_t> f;
        for (int g = 0; g < K; ++g) f.push_back(first_param(g));
        return f;
    }
    bool frozen_ = false;
};

}  // namespace dn
