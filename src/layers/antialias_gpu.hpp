// AntiAlias's forward_gpu / backward_gpu (layers/antialias.hpp): the CPU methods on device buffers,
// the blur by kernels/layers_gpu.cu's blur_forward_gpu / blur_backward_gpu.
#pragma once

#ifdef DN_GPU

#include <type_traits>

#include "layers/antialias.hpp"
#include "layers/layer_gpu.hpp"

namespace dn {

template <class T>
template <class Body>
void AntiAlias<T>::forward_gpu(Layer<T>& l, Body&& body) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(l.where);
    } else {
        full_out_gpu_.resize(static_cast<size_t>(l.batch) * l.out_c * g_.w * g_.h);
        {
            Scope<DeviceBuffer<T>> s(*this, l, l.output_gpu, l.delta_gpu, full_out_gpu_, full_delta_gpu_);
            body();
        }
        blur_forward_gpu(full_out_gpu_.data(), g_, l.batch * l.out_c, l.output_gpu.data());
    }
}

template <class T>
template <class Body>
void AntiAlias<T>::backward_gpu(Layer<T>& l, Body&& body) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(l.where);
    } else {
        full_delta_gpu_.resize(static_cast<size_t>(l.batch) * l.out_c * g_.w * g_.h);
        blur_backward_gpu(l.delta_gpu.data(), g_, l.batch * l.out_c, full_delta_gpu_.data());
        Scope<DeviceBuffer<T>> s(*this, l, l.output_gpu, l.delta_gpu, full_out_gpu_, full_delta_gpu_);
        body();
    }
}

}  // namespace dn

#endif  // DN_GPU
