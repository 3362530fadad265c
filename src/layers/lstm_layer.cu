// [lstm] on the GPU: LstmSteps (lstm_steps.hpp) over device buffers, Dense's GPU blocks and the
// cell's kernels (layers_gpu.cu).
#include "lstm_layer.hpp"

#include "layers/layer_gpu.hpp"
#include "lstm_steps.hpp"
#include "recurrent_ops.hpp"

namespace dn {

template <class T>
void LstmLayer<T>::forward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        DeviceOps<LstmLayer<T>, T> ops{*this, this->first_params()};
        LstmSteps<DeviceOps<LstmLayer<T>, T>> run{*this, ops, dev_};
        run.size();
        run.forward(net.input_gpu, this->output_gpu.data(), net.train, !this->frozen_);
    }
}

// Backward: LstmSteps::backward (lstm_steps.hpp) and kernels/lstm.hpp have the derivation.
template <class T>
void LstmLayer<T>::backward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        DeviceOps<LstmLayer<T>, T> ops{*this, this->first_params()};
        LstmSteps<DeviceOps<LstmLayer<T>, T>> run{*this, ops, dev_};
        run.backward(net.input_gpu, this->delta_gpu.data(), net.delta_gpu);
    }
}

DN_GPU_LAYER_METHODS(LstmLayer)

}  // namespace dn
