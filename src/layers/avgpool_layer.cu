// [avgpool] on the GPU (avgpool_layer.cpp's math).
#include "avgpool_layer.hpp"

#include "layers/layer_gpu.hpp"

namespace dn {

template <class T>
void AvgpoolLayer<T>::forward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) gpu_needs_float(this->where);
    else avgpool_forward_gpu(net.input_gpu, this->batch * this->c, this->w * this->h, this->output_gpu.data());
}

// Backward: dL/dx_{n,c,s} += dL/dy_{n,c} / S.
template <class T>
void AvgpoolLayer<T>::backward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        if (!net.delta_gpu) return;
        avgpool_backward_gpu(this->delta_gpu.data(), this->batch * this->c, this->w * this->h, net.delta_gpu);
    }
}

DN_GPU_LAYER_METHODS(AvgpoolLayer)

}  // namespace dn
