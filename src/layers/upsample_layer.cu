// [upsample] on the GPU (upsample_layer.cpp's math).
#include "upsample_layer.hpp"

#include "layers/layer_gpu.hpp"

namespace dn {

template <class T>
void UpsampleLayer<T>::forward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) gpu_needs_float(this->where);
    else upsample_forward_gpu(net.input_gpu, this->batch * this->c, this->w, this->h, stride, scale, this->output_gpu.data());
}

// Backward: dL/dx[c][i][j] += scale * sum over its stride x stride outputs.
template <class T>
void UpsampleLayer<T>::backward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        if (!net.delta_gpu) return;
        upsample_backward_gpu(this->delta_gpu.data(), this->batch * this->c, this->w, this->h, stride, scale, net.delta_gpu);
    }
}

DN_GPU_LAYER_METHODS(UpsampleLayer)

}  // namespace dn
