// Layer defaults (SGD update, resize) and the cfg-section registry.
#include "darknet/layer.hpp"

#include <algorithm>
#include <map>
#include <mutex>

#include "darknet/error.hpp"

namespace dn {

// Darknet's SGD step with momentum and L2 decay, in true-gradient form. Darknet keeps the negative
// gradient in `*_updates` and does  u += -decay*batch*w;  w += lr/batch * u;  u *= momentum.
// With g = -u (our grads are dL/dw summed over `batch` images) this is exactly:
//     g += decay*batch*w;   w -= lr/batch * g;   g *= momentum.
template <class T>
void Layer<T>::update(const UpdateArgs& a) {
    const T lr = static_cast<T>(a.learning_rate / a.batch);
    const T decay = static_cast<T>(a.decay * a.batch);
    const T mom = static_cast<T>(a.momentum);
    for (auto& p : params()) {
        if (!p.grad) continue;
        T* v = p.value;
        T* g = p.grad;
        const size_t n = p.size;
        if (p.decay) {
            for (size_t i = 0; i < n; ++i) g[i] += decay * v[i];
        }
        for (size_t i = 0; i < n; ++i) {
            v[i] -= lr * g[i];
            g[i] *= mom;
        }
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
