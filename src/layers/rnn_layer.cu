// [rnn] on the GPU: RnnSteps (rnn_steps.hpp) over device buffers, Dense's GPU blocks and the
// BLAS-1 kernels.
#include "rnn_layer.hpp"

#include "layers/layer_gpu.hpp"
#include "layers/layer_util.hpp"
#include "recurrent_ops.hpp"
#include "rnn_steps.hpp"

namespace dn {


template <class T>
void RnnLayer<T>::forward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        DeviceOps<RnnLayer<T>, T> ops{*this, this->first_params()};
        RnnSteps<DeviceOps<RnnLayer<T>, T>> run{*this, ops, dev_};
        bool keep[3];
        for (int g = 0; g < 3; ++g) keep[g] = keep_activation_input(net, gates[g].activation);
        run.size(keep);
        run.forward(net.input_gpu, this->output_gpu.data(), net.train, !this->frozen_);
    }
}

// Backward: RnnSteps::backward (rnn_steps.hpp) has the derivation.
template <class T>
void RnnLayer<T>::backward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        DeviceOps<RnnLayer<T>, T> ops{*this, this->first_params()};
        RnnSteps<DeviceOps<RnnLayer<T>, T>> run{*this, ops, dev_};
        run.backward(net.input_gpu, this->output_gpu.data(), this->delta_gpu.data(), net.delta_gpu);
    }
}

DN_GPU_LAYER_METHODS(RnnLayer)

}  // namespace dn
