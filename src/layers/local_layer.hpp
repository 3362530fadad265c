// [local]: pjreddie's locally connected layer (YOLOv1's yolov1.cfg): a convolution with its own
// filters at every output position. Math in kernels/local.hpp.
#pragma once

#include <string>
#include <vector>

#include "darknet/layer.hpp"
#include "kernels/activations.hpp"
#include "kernels/local.hpp"
#include "layers/gpu_decls.hpp"

namespace dn {

/// Keys (Darknet's): filters (1), size (1), stride (1), pad (0; 1 = size/2), activation (logistic).
/// Input [N][c][h][w], output [N][filters][oh][ow] with oh = (h + 2 pad - size)/stride + 1 (for
/// size 3, pad=1, Darknet's (h - 1)/stride + 1). y = f(z), z[f][loc] = bias[f][loc] +
/// sum W[loc][f][c][ky][kx] x[c][oy stride - pad + ky][ox stride - pad + kx]. Weights file: biases
/// [filters * oh * ow], then weights [oh * ow][filters][c][size][size] (Darknet's load_weights).
/// Darknet initializes only the first location's filters (the rest stay 0); here all of them, and
/// its `pad=1` with a size other than 3 reads outside its im2col buffer; here it pads size/2.
/// The layer cannot be resized (its weights are tied to the output positions).
template <class T>
class LocalLayer : public Layer<T> {
public:
    explicit LocalLayer(const BuildContext<T>& b);
    const char* type() const override { return "local"; }
    void forward(Network<T>& net) override;
    void backward(Network<T>& net) override;
    DN_GPU_LAYER_DECLS
    std::vector<Param<T>> params() override;
    void alloc_grads() override {
        if (weight_grads.size() != weights.size()) weight_grads.assign(weights.size(), T(0));
    }
    void load_weights(WeightsReader& r) override;
    void save_weights(WeightsWriter& w) const override;
    double flops() const override { return 2.0 * geom_.K() * this->outputs(); }
    std::string describe() const override;
    void resize(Network<T>& net, int new_w, int new_h) override;
    const LocalGeom& geom() const { return geom_; }

    Activation activation = Activation::Logistic;
    std::vector<T> weights, weight_grads;  ///< [L][filters][c][size][size]
    std::vector<T> biases, bias_grads;     ///< [filters][L]

private:
    LocalGeom geom_;
    std::vector<T> x_act_;
#ifdef DN_GPU
    DeviceBuffer<T> x_act_gpu_;
    bool gpu_keep_act_ = false;
#endif
};

}  // namespace dn
