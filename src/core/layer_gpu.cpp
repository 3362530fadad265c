// Layer defaults for GPU runs: parameter mirroring, the SGD / Adam step on the device, and the host
// round trip for layers without kernels of their own ([region]).
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "darknet/error.hpp"
#include "darknet/layer.hpp"
#include "darknet/network.hpp"

#ifdef DN_GPU
#include "kernels/gpu.hpp"
#include "kernels/optimizer.hpp"
#endif

namespace dn {

template <class T>
void Layer<T>::push_params() {
    std::vector<Param<T>> ps = params();
    gpu_names_.clear();
    gpu_values_.resize(ps.size());
    gpu_grads_.resize(ps.size());
    for (size_t i = 0; i < ps.size(); ++i) {
        gpu_names_.push_back(ps[i].name);
        gpu_values_[i].push(ps[i].value, ps[i].size);
        if (ps[i].grad) gpu_grads_[i].push(ps[i].grad, ps[i].size);
        else gpu_grads_[i].resize(0);
    }
    // Adam's moments go with the parameters (a checkpoint's, when one was loaded)
    const bool moments = adam.m.size() == ps.size();
    gpu_adam_m_.resize(moments ? ps.size() : 0);
    gpu_adam_v_.resize(moments ? ps.size() : 0);
    for (size_t i = 0; moments && i < ps.size(); ++i) {
        gpu_adam_m_[i].push(adam.m[i].data(), adam.m[i].size());
        gpu_adam_v_[i].push(adam.v[i].data(), adam.v[i].size());
    }
    // ema_alpha's average (a checkpoint's, or the host's after its apply step)
    gpu_ema_.resize(ema.size() == ps.size() ? ps.size() : 0);
    for (size_t i = 0; i < gpu_ema_.size(); ++i) gpu_ema_[i].push(ema[i].data(), ema[i].size());
}

template <class T>
void Layer<T>::pull_params() {
    std::vector<Param<T>> ps = params();
    if (ps.size() != gpu_values_.size()) fail("%s: pull_params before push_params", where.c_str());
    for (size_t i = 0; i < ps.size(); ++i) {
        gpu_values_[i].pull(ps[i].value, ps[i].size);
        if (ps[i].grad && gpu_grads_[i].size() == ps[i].size) gpu_grads_[i].pull(ps[i].grad, ps[i].size);
    }
    for (size_t i = 0; i < gpu_adam_m_.size() && i < adam.m.size(); ++i) {
        gpu_adam_m_[i].pull(adam.m[i].data(), adam.m[i].size());
        gpu_adam_v_[i].pull(adam.v[i].data(), adam.v[i].size());
    }
    for (size_t i = 0; i < gpu_ema_.size() && i < ema.size(); ++i)
        if (gpu_ema_[i].size() == ema[i].size()) gpu_ema_[i].pull(ema[i].data(), ema[i].size());
    params_changed();
}

template <class T>
void Layer<T>::ema_follow_gpu(float alpha, bool start) {
#ifdef DN_GPU
    if constexpr (std::is_same<T, float>::value) {
        std::vector<Param<T>> ps = params();
        if (ps.size() != gpu_values_.size()) fail("%s: ema_follow_gpu before push_params", where.c_str());
        if (start) {
            ema.assign(ps.size(), std::vector<T>());
            gpu_ema_.resize(ps.size());
            for (size_t i = 0; i < ps.size(); ++i) {
                const size_t n = ps[i].grad ? ps[i].size : 0;
                ema[i].resize(n);
                gpu_ema_[i].resize(n);
                if (n) copy_gpu(gpu_values_[i].data(), gpu_ema_[i].data(), n);
            }
            return;
        }
        if (gpu_ema_.size() != ps.size())
            fail("%s: the moving average of layer %d has %zu device arrays, the layer %zu", where.c_str(), index,
                 gpu_ema_.size(), ps.size());
        for (size_t i = 0; i < ps.size(); ++i)
            if (gpu_ema_[i].size()) ema_update_gpu(gpu_ema_[i].data(), gpu_values_[i].data(), gpu_ema_[i].size(), alpha);
        return;
    }
#endif
    (void)alpha, (void)start;
    fail("%s: GPU runs need a float network built with GPU=1", where.c_str());
}

template <class T>
T* Layer<T>::gpu_value(const char* name, size_t from) {
    for (size_t i = from; i < gpu_names_.size(); ++i)
        if (gpu_names_[i] == name) return gpu_values_[i].data();
    fail("%s: no device copy of '%s' (push_params first)", where.c_str(), name);
}

template <class T>
T* Layer<T>::gpu_grad(const char* name, size_t from) {
    for (size_t i = from; i < gpu_names_.size(); ++i)
        if (gpu_names_[i] == name) {
            if (gpu_grads_[i].empty()) {  // gradients allocated after the push (first training pass)
                std::vector<Param<T>> ps = params();
                if (!ps[i].grad) fail("%s: '%s' has no gradient", where.c_str(), name);
                gpu_grads_[i].push(ps[i].grad, ps[i].size);
            }
            return gpu_grads_[i].data();
        }
    fail("%s: no device copy of '%s' (push_params first)", where.c_str(), name);
}

// Layer::update on the device buffers: the same per-element steps (kernels/optimizer.hpp).
template <class T>
void Layer<T>::update_gpu(const UpdateArgs& a) {
#ifdef DN_GPU
    if constexpr (std::is_same<T, float>::value) {
        std::vector<Param<T>> ps = params();
        if (a.adam && gpu_adam_m_.size() != ps.size()) {  // the first Adam step: zero moments on both sides
            ps = ensure_adam();
            gpu_adam_m_.resize(ps.size());
            gpu_adam_v_.resize(ps.size());
            for (size_t i = 0; i < ps.size(); ++i) {
                gpu_adam_m_[i].resize(adam.m[i].size());
                gpu_adam_v_[i].resize(adam.v[i].size());
            }
        }
        const AdamStep<float> s =
            make_adam_step<float>(a.learning_rate, a.B1, a.B2, a.eps, double(a.decay) * a.batch, a.adam ? ++adam.t : 1);
        for (size_t i = 0; i < ps.size() && i < gpu_values_.size(); ++i) {
            if (!ps[i].grad) continue;
            float* g = gpu_grad(ps[i].name.c_str(), i);  // entry i itself (names repeat in [rnn])
            if (a.adam)
                adam_update_gpu(gpu_values_[i].data(), g, gpu_adam_m_[i].data(), gpu_adam_v_[i].data(), ps[i].size, s);
            else
                sgd_update_gpu(gpu_values_[i].data(), g, ps[i].size, a.learning_rate / a.batch, a.decay * a.batch,
                               a.momentum, ps[i].decay);
        }
        return;
    }
#endif
    (void)a;
    fail("%s: GPU runs need a float network built with GPU=1", where.c_str());
}

template <class T>
void Layer<T>::zero_grads_gpu() {
#ifdef DN_GPU
    if constexpr (std::is_same<T, float>::value) {
        for (auto& g : gpu_grads_)
            if (g.size()) fill_gpu(g.data(), g.size(), 0.f);
        return;
    }
#endif
    fail("%s: GPU runs need a float network built with GPU=1", where.c_str());
}

// Host round trip: pull what forward() reads, run it, push the output (and a loss layer's delta).
template <class T>
void Layer<T>::forward_gpu(Network<T>& net) {
    for (int r : reads()) {
        if (r < 0) continue;  // the network input: its host copy is net.last_input()
        Layer<T>& src = *net.layers[r];
        src.output.resize(src.output_gpu.size());
        src.output_gpu.pull(src.output.data(), src.output_gpu.size());
    }
    net.input = index == 0 ? net.last_input() : net.layers[index - 1]->output.data();
    output.resize(static_cast<size_t>(batch) * outputs());
    if (net.train) {
        ensure_delta();
        std::fill(delta.begin(), delta.end(), T(0));
    }
    forward(net);
    output_gpu.push(output.data(), output.size());
    if (net.train) delta_gpu.push(delta.data(), delta.size());
}

// Host round trip: pull delta and, of every layer backward() reads (the previous one, and the
// from= layers of [scale_channels] / [sam]), the output and delta; run backward(); push the deltas
// back.
template <class T>
void Layer<T>::backward_gpu(Network<T>& net) {
    delta.resize(delta_gpu.size());
    delta_gpu.pull(delta.data(), delta.size());
    net.input = index == 0 ? net.last_input() : net.layers[index - 1]->output.data();
    // the device grads are the current ones: bring them over, add, send back
    std::vector<Param<T>> ps = params();
    for (size_t i = 0; i < ps.size() && i < gpu_grads_.size(); ++i)
        if (ps[i].grad && gpu_grads_[i].size() == ps[i].size) gpu_grads_[i].pull(ps[i].grad, ps[i].size);
    std::vector<int> srcs, deltas;  // layers whose outputs backward() reads / whose deltas it adds to
    for (int r : reads())
        if (r >= 0 && std::find(srcs.begin(), srcs.end(), r) == srcs.end()) {
            srcs.push_back(r);
            if (r != index - 1 || net.delta_gpu) deltas.push_back(r);
        }
    for (int r : srcs) {
        Layer<T>& src = *net.layers[r];
        src.output.resize(src.output_gpu.size());
        src.output_gpu.pull(src.output.data(), src.output.size());
    }
    for (int r : deltas) {
        Layer<T>& src = *net.layers[r];
        src.delta.resize(src.delta_gpu.size());
        src.delta_gpu.pull(src.delta.data(), src.delta.size());
    }
    net.delta = index > 0 && net.delta_gpu ? net.layers[index - 1]->delta.data() : nullptr;
    backward(net);
    for (int r : deltas) net.layers[r]->delta_gpu.push(net.layers[r]->delta.data(), net.layers[r]->delta.size());
    for (size_t i = 0; i < ps.size() && i < gpu_grads_.size(); ++i)
        if (ps[i].grad && gpu_grads_[i].size() == ps[i].size) gpu_grads_[i].push(ps[i].grad, ps[i].size);
}

#define DN_LAYER_GPU_MEMBERS(T)                                   \
    template void Layer<T>::push_params();                        \
    template void Layer<T>::pull_params();                        \
    template void Layer<T>::ema_follow_gpu(float, bool);          \
    template T* Layer<T>::gpu_value(const char*, size_t);         \
    template T* Layer<T>::gpu_grad(const char*, size_t);          \
    template void Layer<T>::update_gpu(const UpdateArgs&);        \
    template void Layer<T>::zero_grads_gpu();                     \
    template void Layer<T>::forward_gpu(Network<T>&);             \
    template void Layer<T>::backward_gpu(Network<T>&);
DN_LAYER_GPU_MEMBERS(float)
DN_LAYER_GPU_MEMBERS(double)

}  // namespace dn
