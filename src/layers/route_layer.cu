// [route] on the GPU: slice copies (route_layer.cpp's math).
#include "route_layer.hpp"

#include "layers/layer_gpu.hpp"

namespace dn {

template <class T>
void RouteLayer<T>::forward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        const size_t out_per = this->outputs();
        size_t offset = 0;
        for (int idx : inputs_idx) {
            const Layer<T>& src = *net.layers[idx];
            const size_t src_per = src.outputs(), part = src_per / groups;
            copy_rows_gpu(src.output_gpu.data() + part * group_id, src_per, this->output_gpu.data() + offset, out_per,
                          this->batch, part, false);
            offset += part;
        }
    }
}

// Backward: each slice's gradient adds into the delta of the layer it came from.
template <class T>
void RouteLayer<T>::backward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        const size_t out_per = this->outputs();
        size_t offset = 0;
        for (int idx : inputs_idx) {
            Layer<T>& src = *net.layers[idx];
            const size_t src_per = src.outputs(), part = src_per / groups;
            copy_rows_gpu(this->delta_gpu.data() + offset, out_per, src.delta_gpu.data() + part * group_id, src_per,
                          this->batch, part, true);
            offset += part;
        }
    }
}

DN_GPU_LAYER_METHODS(RouteLayer)

}  // namespace dn
