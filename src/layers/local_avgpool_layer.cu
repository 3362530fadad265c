// [local_avgpool] on the GPU (local_avgpool_layer.cpp's math, the same sums in the same order).
#include "local_avgpool_layer.hpp"

#include "layers/antialias_gpu.hpp"
#include "layers/layer_gpu.hpp"

namespace dn {

template <class T>
void LocalAvgpoolLayer<T>::forward_gpu(Network<T>& net) {
    if (aa.wraps()) return aa.forward_gpu(*this, [&] { forward_gpu(net); });
    if constexpr (!std::is_same<T, float>::value) gpu_needs_float(this->where);
    else
        local_avgpool_forward_gpu(net.input_gpu, this->batch * this->c, this->w, this->h, win.size, win.stride_x,
                                  win.stride_y, win.offset(), this->out_w, this->out_h, this->output_gpu.data());
}

// Backward: dL/dx_i += sum over the windows o containing i of dL/dy_o / n_o (see backward()), as a
// gather per input pixel.
template <class T>
void LocalAvgpoolLayer<T>::backward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        if (!net.delta_gpu) return;
        if (aa.wraps()) return aa.backward_gpu(*this, [&] { backward_gpu(net); });
        local_avgpool_backward_gpu(this->delta_gpu.data(), this->batch * this->c, this->w, this->h, win.size,
                                   win.stride_x, win.stride_y, win.offset(), this->out_w, this->out_h, net.delta_gpu);
    }
}

DN_GPU_LAYER_METHODS(LocalAvgpoolLayer)

}  // namespace dn
