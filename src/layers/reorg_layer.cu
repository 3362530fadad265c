// [reorg] / [reorg3d] on the GPU (reorg_layer.cpp's permutation, through the same ReorgMap).
#include "reorg_layer.hpp"

#include "layers/layer_gpu.hpp"

namespace dn {

// forward(): y[in] = x[out] ([reorg]) or y[out] = x[in] (reverse=1).
template <class T>
void ReorgLayer<T>::forward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) gpu_needs_float(this->where);
    else reorg_gpu(net.input_gpu, map(), !reverse, false, this->output_gpu.data());
}

// Backward: y = P x for the permutation P, so dL/dx += P^T dL/dy: dx[out] += d[in] ([reorg]) or
// dx[in] += d[out] (reverse=1).
template <class T>
void ReorgLayer<T>::backward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        if (!net.delta_gpu) return;
        reorg_gpu(this->delta_gpu.data(), map(), reverse, true, net.delta_gpu);
    }
}

DN_GPU_LAYER_METHODS(ReorgLayer)

}  // namespace dn
