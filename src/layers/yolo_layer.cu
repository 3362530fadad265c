// [yolo] on the GPU: the output transform and its backward on the device (yolo_layer.cpp's
// YoloTransform); the loss of a training pass on the host, as in Darknet's forward_yolo_layer_gpu.
#include "yolo_layer.hpp"

#include "layers/layer_gpu.hpp"

namespace dn {

template <class T>
void YoloLayer<T>::forward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        const size_t n = this->output_gpu.size();
        yolo_forward_gpu(net.input_gpu, n, transform(), this->output_gpu.data());
        loss_mode_ = net.train && net.truth;
        this->cost = 0;
        if (!loss_mode_) return;
        pull_for_host_loss(net, *this);  // the loss reads the logits and y
        loss(net);
        loss_grad_gpu_.push(loss_grad_.data(), loss_grad_.size());
    }
}

// Backward: dL/dx += the loss's gradient (w.r.t. the input already), then dL/dy dy/dt through the
// transform (YoloTransform::grad; see backward()).
template <class T>
void YoloLayer<T>::backward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        if (!net.delta_gpu) return;
        yolo_backward_gpu(this->output_gpu.data(), this->delta_gpu.data(), loss_mode_ ? loss_grad_gpu_.data() : nullptr,
                          this->output_gpu.size(), transform(), net.delta_gpu);
    }
}

DN_GPU_LAYER_METHODS(YoloLayer)

}  // namespace dn
