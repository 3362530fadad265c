// [implicit] on the GPU: the weights copied to every image; their gradient the batch's sum.
#include "implicit_layer.hpp"

#include "layers/layer_gpu.hpp"

namespace dn {

template <class T>
void ImplicitLayer<T>::forward_gpu(Network<T>&) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        const size_t n = weights.size();
        copy_rows_gpu(this->gpu_value("weights"), 0, this->output_gpu.data(), n, this->batch, n, false);
    }
}

// Backward: dL/dw[i] += sum_b dL/dy[b][i] (bias_grad_gpu over [batch][n][1]); no input gradient.
template <class T>
void ImplicitLayer<T>::backward_gpu(Network<T>&) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        bias_grad_gpu(this->delta_gpu.data(), this->batch, static_cast<int>(weights.size()), 1, this->gpu_grad("weights"));
    }
}

DN_GPU_LAYER_METHODS(ImplicitLayer)

}  // namespace dn
