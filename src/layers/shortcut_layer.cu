// [shortcut] on the GPU (shortcut_layer.cpp's math).
#include "shortcut_layer.hpp"

#include "layers/layer_gpu.hpp"
#include "layers/layer_util.hpp"

#include <vector>

namespace dn {

template <class T>
void ShortcutLayer<T>::forward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        const size_t n = this->output_gpu.size();
        float* out = this->output_gpu.data();
        if (weight_groups > 0) {  // u = sum_k w_k(c) x_k (see weighted_sum)
            const int K = sources(), L = weight_groups, C = this->out_c, S = this->out_w * this->out_h;
            wn_gpu_.resize(weights.size());
            shortcut_weights_gpu(this->gpu_value("weights"), K, L, norm, wn_gpu_.data());
            weighted_add_gpu(net.input_gpu, wn_gpu_.data(), n, C, S, L, out, true);
            for (int k = 1; k < K; ++k)
                weighted_add_gpu(net.layers[from[k - 1]]->output_gpu.data(), wn_gpu_.data() + static_cast<size_t>(k) * L,
                                 n, C, S, L, out, false);
        } else {
            copy_gpu(net.input_gpu, out, n);
            for (int idx : from) {
                const Layer<T>& src = *net.layers[idx];
                if (src.out_w == this->out_w && src.out_h == this->out_h && src.out_c == this->out_c)
                    axpy_gpu(n, 1.f, src.output_gpu.data(), out);
                else
                    shortcut_gpu(this->batch, src.out_w, src.out_h, src.out_c, src.output_gpu.data(), this->out_w,
                                 this->out_h, this->out_c, out);
            }
        }
        gpu_keep_act_ = activate_keep_gpu(keep_activation_input(net, activation), out, n, activation, x_act_gpu_);
    }
}

// Backward: dL/du = dy f'(u); dL/dx_prev += dL/du; dL/dx_from += P_from^T dL/du.
template <class T>
void ShortcutLayer<T>::backward_gpu(Network<T>& net) {
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        const size_t n = this->delta_gpu.size();
        float* d = this->delta_gpu.data();
        gradient_gpu(this->output_gpu.data(), gpu_keep_act_ ? x_act_gpu_.data() : nullptr, n, activation, d);
        if (weight_groups > 0) {  // see weighted_backward
            const int K = sources(), L = weight_groups, C = this->out_c, S = this->out_w * this->out_h;
            std::vector<const float*> x(K, net.input_gpu);
            for (int k = 1; k < K; ++k) x[k] = net.layers[from[k - 1]]->output_gpu.data();
            shortcut_weights_backward_gpu(this->gpu_value("weights"), x.data(), d, this->batch, C, S, K, L, norm,
                                          this->gpu_grad("weights"));
            if (net.delta_gpu) weighted_add_gpu(d, wn_gpu_.data(), n, C, S, L, net.delta_gpu, false);
            for (int k = 1; k < K; ++k)
                weighted_add_gpu(d, wn_gpu_.data() + static_cast<size_t>(k) * L, n, C, S, L,
                                 net.layers[from[k - 1]]->delta_gpu.data(), false);
            return;
        }
        if (net.delta_gpu) axpy_gpu(n, 1.f, d, net.delta_gpu);
        for (int idx : from) {
            Layer<T>& src = *net.layers[idx];
            if (src.out_w == this->out_w && src.out_h == this->out_h && src.out_c == this->out_c)
                axpy_gpu(n, 1.f, d, src.delta_gpu.data());
            else
                shortcut_backward_gpu(this->batch, src.out_w, src.out_h, src.out_c, src.delta_gpu.data(), this->out_w,
                                      this->out_h, this->out_c, d);
        }
    }
}

DN_GPU_LAYER_METHODS(ShortcutLayer)

}  // namespace dn
