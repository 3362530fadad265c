#include "activations.hpp"

#include "darknet/error.hpp"

namespace dn {

namespace {
struct NameEntry {
    const char* name;
    Activation a;
};
const NameEntry kNames[] = {
    {"linear", Activation::Linear}, {"logistic", Activation::Logistic}, {"loggy", Activation::Loggy},
    {"relu", Activation::Relu},     {"elu", Activation::Elu},           {"selu", Activation::Selu},
    {"relie", Activation::Relie},   {"ramp", Activation::Ramp},         {"leaky", Activation::Leaky},
    {"tanh", Activation::Tanh},     {"plse", Activation::Plse},         {"hardtan", Activation::Hardtan},
    {"lhtan", Activation::Lhtan},   {"relu6", Activation::Relu6},       {"mish", Activation::Mish},
    {"hard_mish", Activation::HardMish}, {"swish", Activation::Swish},  {"gelu", Activation::Gelu},
    {"stair", Activation::Stair},
    {"revleaky", Activation::Leaky},  // AlexeyAB's: leaky's forward under another name
};
}  // namespace

Activation parse_activation(const std::string& name) {
    for (const auto& e : kNames)
        if (name == e.name) return e.a;
    std::string known;
    for (const auto& e : kNames) known += (known.empty() ? "" : ", ") + std::string(e.name);
    fail("unknown activation '%s' (known: %s)", name.c_str(), known.c_str());
}

const char* activation_name(Activation a) {
    for (const auto& e : kNames)
        if (e.a == a) return e.name;
    return "?";
}

bool activation_needs_input(Activation a) {
    return a == Activation::Mish || a == Activation::Swish || a == Activation::Gelu || a == Activation::HardMish;
}

template <class T>
void activate_array(T* y, size_t n, Activation a) {
    if (a == Activation::Linear) return;
    dispatch_activation(a, [&](auto tag) {
        constexpr Activation A = decltype(tag)::value;
        for (size_t i = 0; i < n; ++i) y[i] = act::f<A>(y[i]);
    });
}

template <class T>
void scale_bias_activate(T* y, size_t n, T scale, T bias, Activation a) {
    dispatch_activation(a, [&](auto tag) {
        constexpr Activation A = decltype(tag)::value;
        for (size_t i = 0; i < n; ++i) y[i] = act::f<A>(y[i] * scale + bias);
    });
}

template <class T>
void gradient_array(const T* y, const T* x, size_t n, Activation a, T* delta) {
    if (a == Activation::Linear) return;
    dispatch_activation(a, [&](auto tag) {
        constexpr Activation A = decltype(tag)::value;
        if (activation_needs_input(A)) {
            for (size_t i = 0; i < n; ++i) delta[i] *= act::df<A>(y[i], x[i]);
        } else {
            for (size_t i = 0; i < n; ++i) delta[i] *= act::df<A>(y[i], T(0));
        }
    });
}

template void activate_array<float>(float*, size_t, Activation);
template void activate_array<double>(double*, size_t, Activation);
template void scale_bias_activate<float>(float*, size_t, float, float, Activation);
template void scale_bias_activate<double>(double*, size_t, double, double, Activation);
template void gradient_array<float>(const float*, const float*, size_t, Activation, float*);
template void gradient_array<double>(const double*, const double*, size_t, Activation, double*);

}  // namespace dn
