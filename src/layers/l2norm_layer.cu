// [l2norm] on the GPU: a thread per position running kernels/l2norm.hpp's math.
#include "l2norm_layer.hpp"

#include "layers/layer_gpu.hpp"

namespace dn {

template <class T>
void L2normLayer<T>::forward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value)
        gpu_needs_float(this->where);
    else
        l2norm_forward_gpu(net.input_gpu, this->batch, this->c, this->w * this->h, this->output_gpu.data());
}

// Backward: l2norm_backward_at per position (kernels/l2norm.hpp), added into net.delta_gpu.
template <class T>
void L2normLayer<T>::backward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        if (net.delta_gpu)
            l2norm_backward_gpu(net.input_gpu, this->delta_gpu.data(), this->batch, this->c, this->w * this->h,
                                net.delta_gpu);
    }
}

DN_GPU_LAYER_METHODS(L2normLayer)

}  // namespace dn
