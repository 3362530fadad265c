// [lrn] / [normalization] on the GPU: kernels/lrn.cu (normalization_layer.cpp's math).
#include "normalization_layer.hpp"

#include "layers/layer_gpu.hpp"

namespace dn {

template <class T>
void NormalizationLayer<T>::forward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) gpu_needs_float(this->where);
    else lrn_forward_gpu(net.input_gpu, this->batch, this->c, this->w * this->h, p, this->output_gpu.data());
}

// Backward: the derivation above lrn_bwd_k (kernels/lrn.cu); adds into net.delta_gpu.
template <class T>
void NormalizationLayer<T>::backward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        if (!net.delta_gpu) return;
        lrn_backward_gpu(net.input_gpu, this->delta_gpu.data(), this->batch, this->c, this->w * this->h, p, net.delta_gpu,
                         true);
    }
}

DN_GPU_LAYER_METHODS(NormalizationLayer)

}  // namespace dn
