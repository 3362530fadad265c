// [connected] on the GPU: Dense::forward_gpu / backward_gpu (dense.cu).
#include "connected_layer.hpp"

#include "layers/layer_gpu.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
void ConnectedLayer<T>::forward_gpu(Network<T>& net) {
    const size_t n = this->output_gpu.size();
    if (fc.batch_normalize) x_pre_gpu_.resize(n);
    gpu_keep_act_ = keep_activation_input(net, fc.activation);
    if (gpu_keep_act_) x_act_gpu_.resize(n);
    fc.forward_gpu(*this, 0, net.input_gpu, this->batch, this->output_gpu.data(), x_pre_gpu_.data(),
                   gpu_keep_act_ ? x_act_gpu_.data() : nullptr, net.train);
}

template <class T>
void ConnectedLayer<T>::backward_gpu(Network<T>& net) {
    fc.backward_gpu(*this, 0, net.input_gpu, this->batch, this->output_gpu.data(), this->delta_gpu.data(),
                    x_pre_gpu_.data(), gpu_keep_act_ ? x_act_gpu_.data() : nullptr, net.delta_gpu);
}

DN_GPU_LAYER_METHODS(ConnectedLayer)

}  // namespace dn
