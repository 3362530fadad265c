// Network runner on a CUDA device: the same sequence as Network::forward/backward/update, with
// every layer's forward_gpu/backward_gpu/update_gpu on device buffers.
#include <type_traits>

#include "darknet/error.hpp"
#include "darknet/network.hpp"

namespace dn {

template <class T>
void Network<T>::use_gpu(int index) {
    if (index < 0) {
        if (gpu_index >= 0) pull_params();
        gpu_index = -1;
        return;
    }
    if (!std::is_same<T, float>::value) fail("GPU runs need a float network");
    if (planned_) fail("this network was optimized for inference on the CPU; build a new one for the GPU");
    gpu_set_device(index);
    gpu_index = index;
    push_params();
}

template <class T>
void Network<T>::push_params() {
    for (auto& l : layers) l->push_params();
}

template <class T>
void Network<T>::pull_params() {
    for (auto& l : layers) l->pull_params();
}

template <class T>
void Network<T>::pull_outputs() {
    for (auto& l : layers) {
        l->output.resize(l->output_gpu.size());
        l->output_gpu.pull(l->output.data(), l->output.size());
    }
}

template <class T>
T* Network<T>::workspace_gpu(size_t n) {
    ws_gpu_.reserve(n);
    return ws_gpu_.data();
}

template <class T>
const T* Network<T>::forward_gpu(const T* x, bool train_, const T* truth_) {
    if (gpu_index < 0) fail("forward_gpu: call use_gpu(index) first");
    train = train_;
    truth = truth_;
    input0_ = x;
    x_gpu_.push(x, static_cast<size_t>(batch) * inputs());
    truth_gpu = nullptr;
    if (truth_) {
        truth_buf_gpu_.push(truth_, static_cast<size_t>(batch) * layers.back()->truth_size());
        truth_gpu = truth_buf_gpu_.data();
    }
    for (int i = 0; i < num_layers(); ++i) {
        current = i;
        Layer<T>& l = *layers[i];
        const size_t n = static_cast<size_t>(l.batch) * l.outputs();
        l.output_gpu.resize(n);
        if (train) {
            l.delta_gpu.resize(n);
            l.delta_gpu.zero();
        }
        input_gpu = i == 0 ? x_gpu_.data() : layers[i - 1]->output_gpu.data();
        delta_gpu = nullptr;
        l.forward_gpu(*this);
    }
    // the host needs the network output and the detection heads' outputs (get_detections)
    for (auto& l : layers) {
        int c;
        NmsKind k;
        float b;
        if (l.get() == &output_layer() || l->detection_head(&c, &k, &b)) {
            l->output.resize(l->output_gpu.size());
            l->output_gpu.pull(l->output.data(), l->output.size());
        }
    }
    return output();
}

template <class T>
void Network<T>::backward_gpu() {
    if (gpu_index < 0) fail("backward_gpu: call use_gpu(index) first");
    ensure_grads();  // host gradient buffers; their device twins are made on first use
    for (auto& l : layers) {  // after an eval-mode forward the deltas do not exist yet (zeroed when made)
        const size_t n = static_cast<size_t>(l->batch) * l->outputs();
        if (l->delta_gpu.size() != n) l->delta_gpu.resize(n);
    }
    frozen_ = frozen_upto(current_batch());
    for (int i = num_layers() - 1; i > frozen_; --i) {
        current = i;
        Layer<T>& l = *layers[i];
        if (i == 0) {
            input_gpu = x_gpu_.data();
            delta_gpu = nullptr;
        } else {
            Layer<T>& prev = *layers[i - 1];
            input_gpu = prev.output_gpu.data();
            delta_gpu = prev.delta_gpu.data();
        }
        l.backward_gpu(*this);
    }
}

template <class T>
void Network<T>::update_gpu(float learning_rate) {
    for (auto& l : layers)
        if (update_held(*l)) l->zero_grads_gpu();
    for (auto& [l, a] : update_plan(learning_rate)) l->update_gpu(a);
}

#define DN_NETWORK_GPU_MEMBERS(T)                                         \
    template void Network<T>::use_gpu(int);                               \
    template void Network<T>::push_params();                              \
    template void Network<T>::pull_params();                              \
    template void Network<T>::pull_outputs();                             \
    template T* Network<T>::workspace_gpu(size_t);                        \
    template const T* Network<T>::forward_gpu(const T*, bool, const T*);  \
    template void Network<T>::backward_gpu();                             \
    template void Network<T>::update_gpu(float);
DN_NETWORK_GPU_MEMBERS(float)
DN_NETWORK_GPU_MEMBERS(double)

}  // namespace dn
