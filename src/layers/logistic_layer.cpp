#include "logistic_layer.hpp"

#include "darknet/network.hpp"
#include "kernels/activations.hpp"
#include "kernels/cost.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
LogisticLayer<T>::LogisticLayer(const BuildContext<T>& b) {
    set_shape(*this, b, b.w, b.h, b.c);
    this->has_loss = true;
}

template <class T>
void LogisticLayer<T>::resize(Network<T>&, int new_w, int new_h) {
    this->w = this->out_w = new_w;
    this->h = this->out_h = new_h;
}

template <class T>
void LogisticLayer<T>::forward(Network<T>& net) {
    const size_t n = this->output.size();
    for (size_t i = 0; i < n; ++i) this->output[i] = act::logistic(net.input[i]);
    loss_mode_ = net.train && net.truth && net.current == net.num_layers() - 1;
    this->cost = 0;
    if (!loss_mode_) return;
    double cost = 0;
    for (size_t i = 0; i < n; ++i) this->delta[i] = cost_element(CostType::Logistic, net.input[i], net.truth[i], &cost);
    this->cost = cost;
}

// Backward. Loss mode: delta holds dL/dx = y - t (logistic + cross-entropy: dL/dy = (y - t) /
// (y (1 - y)) times dy/dx = y (1 - y)). Otherwise dL/dx = dL/dy y (1 - y).
template <class T>
void LogisticLayer<T>::backward(Network<T>& net) {
    if (!net.delta) return;
    const size_t n = this->delta.size();
    if (loss_mode_) {
        for (size_t i = 0; i < n; ++i) net.delta[i] += this->delta[i];
        return;
    }
    for (size_t i = 0; i < n; ++i) {
        const T y = this->output[i];
        net.delta[i] += this->delta[i] * y * (T(1) - y);
    }
}

// Labels in (0, 1): the loss is defined for soft targets too.
template <class T>
void LogisticLayer<T>::random_truth(std::mt19937_64& rng, T* truth) const {
    std::uniform_real_distribution<double> u(0.05, 0.95);
    for (size_t i = 0; i < this->truth_size(); ++i) truth[i] = static_cast<T>(u(rng));
}

template <class T>
std::string LogisticLayer<T>::describe() const {
    return strfmt("logistic                                       %4d", this->outputs());
}

DN_REGISTER_LAYER(LogisticLayer, "logistic")

}  // namespace dn
