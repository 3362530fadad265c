// [crop] on the GPU: the draws come from the host generator the CPU forward uses (same images,
// same draws) and the kernels run kernels/crop.hpp's per-element math.
#include "crop_layer.hpp"

#include "layers/layer_gpu.hpp"

namespace dn {

template <class T>
void CropLayer<T>::forward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        draw(net);
        draws_gpu_.push(draws_.data(), draws_.size());
        crop_forward_gpu(net.input_gpu, draws_gpu_.data(), geom(), this->batch, this->output_gpu.data());
    }
}

// Backward: crop_backward_pixel's gather per input pixel (kernels/crop.hpp has the derivation).
template <class T>
void CropLayer<T>::backward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        if (!net.delta_gpu) return;
        crop_backward_gpu(net.input_gpu, this->delta_gpu.data(), draws_gpu_.data(), geom(), this->batch,
                          net.delta_gpu);
    }
}

DN_GPU_LAYER_METHODS(CropLayer)

}  // namespace dn
