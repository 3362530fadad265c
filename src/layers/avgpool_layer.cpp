#include "avgpool_layer.hpp"

#include "darknet/network.hpp"
#include "kernels/reduce.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
AvgpoolLayer<T>::AvgpoolLayer(const BuildContext<T>& b) {
    set_shape(*this, b, 1, 1, b.c);
}

template <class T>
void AvgpoolLayer<T>::forward(Network<T>& net) {
    const int S = this->w * this->h;
    for (int p = 0; p < this->batch * this->c; ++p)
        this->output[p] = static_cast<T>(sum_d(net.input + static_cast<size_t>(p) * S, S) / S);
}

// Backward: y_{n,c} = (1/S) sum_s x_{n,c,s}  =>  dL/dx_{n,c,s} += dL/dy_{n,c} / S.
template <class T>
void AvgpoolLayer<T>::backward(Network<T>& net) {
    if (!net.delta) return;
    const int S = this->w * this->h;
    for (int p = 0; p < this->batch * this->c; ++p) {
        const T g = this->delta[p] / S;
        T* d = net.delta + static_cast<size_t>(p) * S;
        for (int s = 0; s < S; ++s) d[s] += g;
    }
}

template <class T>
std::string AvgpoolLayer<T>::describe() const {
    return "avg                      " + shape_str(*this);
}

DN_REGISTER_LAYER(AvgpoolLayer, "avgpool,avg")

}  // namespace dn
