// [logistic] on the GPU (logistic_layer.cpp's math; the loss by cost_gpu with kernels/cost.hpp's
// logistic term).
#include "logistic_layer.hpp"

#include "layers/layer_gpu.hpp"

namespace dn {

template <class T>
void LogisticLayer<T>::forward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        const size_t n = this->output_gpu.size();
        copy_gpu(net.input_gpu, this->output_gpu.data(), n);
        activate_gpu(this->output_gpu.data(), n, Activation::Logistic);
        loss_mode_ = net.train && net.truth_gpu && net.current == net.num_layers() - 1;
        this->cost = 0;
        if (loss_mode_) this->cost = cost_gpu(net.input_gpu, net.truth_gpu, n, CostType::Logistic, 1.f, this->delta_gpu.data());
    }
}

// Backward: loss mode adds the delta set by forward; otherwise dL/dx += dL/dy y (1 - y) (the
// derivative applied to delta in place, then added).
template <class T>
void LogisticLayer<T>::backward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        if (!net.delta_gpu) return;
        const size_t n = this->delta_gpu.size();
        if (!loss_mode_) gradient_gpu(this->output_gpu.data(), nullptr, n, Activation::Logistic, this->delta_gpu.data());
        axpy_gpu(n, 1.f, this->delta_gpu.data(), net.delta_gpu);
    }
}

DN_GPU_LAYER_METHODS(LogisticLayer)

}  // namespace dn
