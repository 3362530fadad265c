// Shared pieces of the layers' .cu files: the float-only guard and the explicit instantiation of
// forward_gpu/backward_gpu for both scalar types (double networks are for gradient checks on the
// CPU and refuse GPU runs).
#pragma once

#ifdef DN_GPU

#include <string>
#include <type_traits>

#include "darknet/cuda.hpp"
#include "darknet/error.hpp"
#include "darknet/network.hpp"
#include "kernels/gpu.hpp"

namespace dn {

[[noreturn]] inline void gpu_needs_float(const std::string& where) {
    fail("%s: GPU runs need a float network", where.c_str());
}

/// The activation that ends a layer's forward_gpu: applies `a` to out[0, n) in place, first
/// copying the pre-activation values into `x` when `keep` (f'(x) cannot be computed from f(x),
/// see keep_activation_input). Returns `keep`, for backward_gpu's gradient_gpu(out, keep ? x : null).
inline bool activate_keep_gpu(bool keep, float* out, size_t n, Activation a, DeviceBuffer<float>& x) {
    if (keep) {
        x.resize(n);
        copy_gpu(out, x.data(), n);
    }
    activate_gpu(out, n, a);
    return keep;
}

/// For a loss computed on the host from a head's input and output (the [yolo] and [region] losses,
/// as Darknet computes them): pulls the input (the previous layer's output; the network input is
/// on the host already) and l's output, and points net.input at the input's host copy.
template <class T>
void pull_for_host_loss(Network<T>& net, Layer<T>& l) {
    const T* x = net.last_input();
    if (l.index > 0) {
        Layer<T>& prev = *net.layers[l.index - 1];
        prev.output.resize(prev.output_gpu.size());
        prev.output_gpu.pull(prev.output.data(), prev.output.size());
        x = prev.output.data();
    }
    l.output.resize(l.output_gpu.size());
    l.output_gpu.pull(l.output.data(), l.output.size());
    net.input = x;
}

}  // namespace dn

#define DN_GPU_LAYER_METHODS(CLASS)                                    \
    template void CLASS<float>::forward_gpu(Network<float>&);          \
    template void CLASS<float>::backward_gpu(Network<float>&);         \
    template void CLASS<double>::forward_gpu(Network<double>&);        \
    template void CLASS<double>::backward_gpu(Network<double>&);

#endif
