// [cost] on the GPU (cost_layer.cpp's math: the same cost_element per value).
#include "cost_layer.hpp"

#include "layers/layer_gpu.hpp"

namespace dn {

template <class T>
void CostLayer<T>::forward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        const size_t n = this->output_gpu.size();
        copy_gpu(net.input_gpu, this->output_gpu.data(), n);
        this->cost = 0;
        if (!net.train || !net.truth_gpu) return;
        this->cost = cost_gpu(net.input_gpu, net.truth_gpu, n, cost_type, scale, this->delta_gpu.data());
    }
}

// Backward: the identity on values, so dL/dx += delta (see backward()).
template <class T>
void CostLayer<T>::backward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        if (net.delta_gpu) axpy_gpu(this->delta_gpu.size(), 1.f, this->delta_gpu.data(), net.delta_gpu);
    }
}

DN_GPU_LAYER_METHODS(CostLayer)

}  // namespace dn
