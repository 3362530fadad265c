// [region] on the GPU: the output transform (kernels/yolo_transform.hpp, shared with
// region_layer.cpp), the class softmax and their backward on the device; the loss of a training
// pass on the host, as in Darknet's forward_region_layer_gpu.
#include "region_layer.hpp"

#include "layers/layer_gpu.hpp"

namespace dn {

template <class T>
void RegionLayer<T>::forward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        const int S = this->w * this->h;
        float* y = this->output_gpu.data();
        yolo_forward_gpu(net.input_gpu, this->output_gpu.size(), transform(), y);
        const size_t cls = static_cast<size_t>(coords + 1) * S;
        // the class scores of every (image, anchor): one softmax group per cell, `classes` values
        // at stride S, in place
        if (softmax) softmax_forward_gpu(y + cls, this->batch * num, (coords + 1 + classes) * S, S, classes, S, 1, 1.f, y + cls);
        loss_mode_ = net.train && net.truth;
        this->cost = 0;
        if (!loss_mode_) return;
        pull_for_host_loss(net, *this);  // the loss reads the logits and y
        loss(net);
        loss_grad_gpu_.push(loss_grad_.data(), loss_grad_.size());
    }
}

// Backward (see backward()): dL/dx += the loss's gradient (w.r.t. the input already), then the
// elementwise transform's term, then with softmax the classes' Jacobian term.
template <class T>
void RegionLayer<T>::backward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        if (!net.delta_gpu) return;
        const int S = this->w * this->h;
        const float* y = this->output_gpu.data();
        const float* d = this->delta_gpu.data();
        yolo_backward_gpu(y, d, loss_mode_ ? loss_grad_gpu_.data() : nullptr, this->output_gpu.size(), transform(),
                          net.delta_gpu);
        const size_t cls = static_cast<size_t>(coords + 1) * S;
        if (softmax)
            softmax_backward_gpu(y + cls, d + cls, this->batch * num, (coords + 1 + classes) * S, S, classes, S, 1, 1.f,
                                 net.delta_gpu + cls);
    }
}

DN_GPU_LAYER_METHODS(RegionLayer)

}  // namespace dn
