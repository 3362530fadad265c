// Layer defaults (the SGD / Adam update, resize) and the cfg-section registry.
#include "darknet/layer.hpp"

#include <algorithm>
#include <map>
#include <mutex>

#include "darknet/error.hpp"
#include "kernels/optimizer.hpp"

namespace dn {

// Darknet's SGD step with momentum and L2 decay, in true-gradient form. Darknet keeps the negative
// gradient in `*_updates` and does  u += -decay*batch*w;  w += lr/batch * u;  u *= momentum.
// With g = -u (our grads are dL/dw summed over `batch` images) this is exactly:
//     g += decay*batch*w;   w -= lr/batch * g;   g *= momentum          (sgd_step)
// Decay applies to the arrays marked `decay` (convolution/connected weights), as in Darknet.
//
// Adam (a.adam), as Darknet's adam_update_gpu with u = -g: the rate is not divided by the batch,
// decay*batch*w is added to the gradient of every trained array (Darknet passes the decay for
// biases and scales too), and the gradient is zeroed afterwards instead of kept as momentum
// (adam_step). Unlike AlexeyAB's Darknet, whose t is the iteration count, t counts the steps since
// the moments were zero, so the bias correction of Kingma & Ba's Algorithm 1 also holds when
// training starts from pretrained weights.
template <class T>
std::vector<Param<T>> Layer<T>::ensure_adam() {
    std::vector<Param<T>> ps = params();
    if (adam.m.size() != ps.size()) {
        adam.clear();
        for (const auto& p : ps) {
            adam.m.emplace_back(p.grad ? p.size : 0, T(0));
            adam.v.emplace_back(p.grad ? p.size : 0, T(0));
        }
    }
    return ps;
}

template <class T>
void Layer<T>::update(const UpdateArgs& a) {
    if (a.adam) {
        std::vector<Param<T>> ps = ensure_adam();
        const AdamStep<T> s = make_adam_step<T>(a.learning_rate, a.B1, a.B2, a.eps, double(a.decay) * a.batch, ++adam.t);
        for (size_t k = 0; k < ps.size(); ++k)
            if (ps[k].grad) adam_update(ps[k].value, ps[k].grad, adam.m[k].data(), adam.v[k].data(), ps[k].size, s);
        params_changed();
        return;
    }
    const T lr = static_cast<T>(a.learning_rate / a.batch);
    const T decay = static_cast<T>(a.decay * a.batch);
    const T mom = static_cast<T>(a.momentum);
    for (auto& p : params()) {
        if (!p.grad) continue;
        for (size_t i = 0; i < p.size; ++i) sgd_step(p.value[i], p.grad[i], lr, decay, mom, p.decay);
    }
    params_changed();
}

template <class T>
void Layer<T>::resize(Network<T>&, int new_w, int new_h) {
    if (new_w == w && new_h == h) return;
    fail("%s: layer %d [%s] cannot change its input size", where.c_str(), index, type());
}

template <class T>
void Layer<T>::random_truth(std::mt19937_64& rng, T* truth) const {
    std::normal_distribution<double> d(0, 1);
    for (size_t i = 0; i < truth_size(); ++i) truth[i] = static_cast<T>(d(rng));
}

template class Layer<float>;
template class Layer<double>;

namespace {
struct Registry {
    std::map<std::string, std::pair<LayerFactory<float>, LayerFactory<double>>> map;
};
Registry& registry() {
    static Registry r;
    return r;
}
}  // namespace

bool register_layer(const char* names, LayerFactory<float> f, LayerFactory<double> d) {
    for (const auto& n : split(names, ',')) registry().map[n] = {f, d};
    return true;
}

template <>
LayerFactory<float> find_layer_factory<float>(const std::string& name) {
    auto it = registry().map.find(name);
    return it == registry().map.end() ? nullptr : it->second.first;
}

template <>
LayerFactory<double> find_layer_factory<double>(const std::string& name) {
    auto it = registry().map.find(name);
    return it == registry().map.end() ? nullptr : it->second.second;
}

std::vector<std::string> known_layer_names() {
    std::vector<std::string> out;
    for (const auto& kv : registry().map) out.push_back(kv.first);
    return out;
}

}  // namespace dn
