// [rnn] on the GPU: RnnSteps (rnn_steps.hpp) over device buffers, Dense's GPU blocks and the
// BLAS-1 kernels.
#include "rnn_layer.hpp"

#include <utility>

#include "layers/layer_gpu.hpp"
#include "layers/layer_util.hpp"
#include "rnn_steps.hpp"

namespace dn {

namespace {

template <class TT>
struct DeviceOps {
    using T = TT;
    using Buf = DeviceBuffer<T>;
    RnnLayer<T>& l;
    size_t first[3];
    static void resize(Buf& b, size_t n) { b.resize(n); }
    static void fill0(T* p, size_t n) { fill_gpu(p, n, 0.f); }
    static void copy(const T* from, T* to, size_t n) { copy_gpu(from, to, n); }
    static void add(const T* x, T* y, size_t n) { axpy_gpu(n, 1.f, x, y); }
    static void swap_stats(Dense<T>& d, Buf& mean, Buf& inv_std) {
        std::swap(d.bn.mean_gpu, mean);
        std::swap(d.bn.inv_std_gpu, inv_std);
    }
    void gate_forward(int g, const T* x, int N, T* y, T* pre, T* act, bool train) {
        l.gates[g].forward_gpu(l, first[g], x, N, y, pre, act, train);
    }
    void gate_backward(int g, const T* x, int N, const T* y, T* dy, const T* pre, const T* act, T* dx) {
        l.gates[g].backward_gpu(l, first[g], x, N, y, dy, pre, act, dx);
    }
};

}  // namespace

template <class T>
void RnnLayer<T>::forward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        DeviceOps<T> ops{*this, {first_param(0), first_param(1), first_param(2)}};
        RnnSteps<DeviceOps<T>> run{*this, ops, dev_};
        bool keep[3];
        for (int g = 0; g < 3; ++g) keep[g] = keep_activation_input(net, gates[g].activation);
        run.size(keep);
        run.forward(net.input_gpu, this->output_gpu.data(), net.train, !frozen_);
    }
}

// Backward: RnnSteps::backward (rnn_steps.hpp) has the derivation.
template <class T>
void RnnLayer<T>::backward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        DeviceOps<T> ops{*this, {first_param(0), first_param(1), first_param(2)}};
        RnnSteps<DeviceOps<T>> run{*this, ops, dev_};
        run.backward(net.input_gpu, this->output_gpu.data(), this->delta_gpu.data(), net.delta_gpu);
    }
}

DN_GPU_LAYER_METHODS(RnnLayer)

}  // namespace dn
