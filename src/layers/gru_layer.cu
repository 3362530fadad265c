// [gru] on the GPU: GruSteps (gru_steps.hpp) over device buffers, Dense's GPU blocks and the
// cell's kernels (layers_gpu.cu).
#include "gru_layer.hpp"

#include "layers/layer_gpu.hpp"
#include "gru_steps.hpp"
#include "recurrent_ops.hpp"

namespace dn {

template <class T>
void GruLayer<T>::forward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        DeviceOps<GruLayer<T>, T> ops{*this, this->first_params()};
        GruSteps<DeviceOps<GruLayer<T>, T>> run{*this, ops, dev_};
        run.size();
        run.forward(net.input_gpu, this->output_gpu.data(), net.train, !this->frozen_);
    }
}

// Backward: GruSteps::backward (gru_steps.hpp) and kernels/gru.hpp have the derivation.
template <class T>
void GruLayer<T>::backward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        DeviceOps<GruLayer<T>, T> ops{*this, this->first_params()};
        GruSteps<DeviceOps<GruLayer<T>, T>> run{*this, ops, dev_};
        run.backward(net.input_gpu, this->delta_gpu.data(), net.delta_gpu);
    }
}

DN_GPU_LAYER_METHODS(GruLayer)

}  // namespace dn
