// Darknet's activation functions and their exact derivatives, templated on the scalar type.
//
// Derivatives are computed from the output y where that is exact (leaky, relu, logistic, tanh,
// elu, ...) and from the input x where it is not (mish, swish, gelu, hard_mish); layers keep x for
// those when training (activation_needs_input()).
#pragma once

#include <cmath>
#include <cstddef>
#include <string>
#include <type_traits>

// The formulas below are compiled for the GPU too (src/kernels/activations.cu).
#ifdef __CUDACC__
#define DN_HOSTDEV __host__ __device__
#else
#define DN_HOSTDEV
#endif

namespace dn {

enum class Activation {
    Linear, Logistic, Loggy, Relu, Elu, Selu, Relie, Ramp, Leaky, Tanh, Plse, Hardtan, Lhtan,
    Relu6, Mish, HardMish, Swish, Gelu, Stair
};

/// Parses a cfg activation name; throws dn::Error listing the known names.
Activation parse_activation(const std::string& name);
const char* activation_name(Activation a);
/// True when the derivative needs the pre-activation input x rather than the output y.
bool activation_needs_input(Activation a);

namespace act {

template <class T> DN_HOSTDEV inline T logistic(T x) { return T(1) / (T(1) + std::exp(-x)); }
// softplus with AlexeyAB's threshold of 20 (used by mish)
template <class T> DN_HOSTDEV inline T softplus(T x) {
    const T t = T(20);
    if (x > t) return x;
    if (x < -t) return std::exp(x);
    return std::log1p(std::exp(x));
}

template <Activation A, class T>
DN_HOSTDEV inline T f(T x) {
    switch (A) {
        case Activation::Linear: return x;
        case Activation::Logistic: return logistic(x);
        case Activation::Loggy: return T(2) / (T(1) + std::exp(-x)) - T(1);
        case Activation::Relu: return x > T(0) ? x : T(0);
        case Activation::Elu: return x >= T(0) ? x : std::expm1(x);
        case Activation::Selu: return x >= T(0) ? T(1.0507) * x : T(1.0507) * T(1.6732) * std::expm1(x);
        case Activation::Relie: return x > T(0) ? x : T(0.01) * x;
        case Activation::Ramp: return (x > T(0) ? x : T(0)) + T(0.1) * x;
        case Activation::Leaky: return x > T(0) ? x : T(0.1) * x;
        case Activation::Tanh: return std::tanh(x);
        case Activation::Plse:
            if (x < T(-4)) return T(0.01) * (x + T(4));
            if (x > T(4)) return T(0.01) * (x - T(4)) + T(1);
            return T(0.125) * x + T(0.5);
        case Activation::Hardtan: return x < T(-1) ? T(-1) : (x > T(1) ? T(1) : x);
        case Activation::Lhtan:
            if (x < T(0)) return T(0.001) * x;
            if (x > T(1)) return T(0.001) * (x - T(1)) + T(1);
            return x;
        case Activation::Relu6: return x < T(0) ? T(0) : (x > T(6) ? T(6) : x);
        case Activation::Mish: return x * std::tanh(softplus(x));
        case Activation::HardMish:
            if (x > T(0)) return x;
            if (x > T(-2)) return x * x / T(2) + x;
            return T(0);
        case Activation::Swish: return x * logistic(x);
        case Activation::Gelu: {
            const T k0 = T(0.7978845608028654), k1 = T(0.044715);
            return T(0.5) * x * (T(1) + std::tanh(k0 * (x + k1 * x * x * x)));
        }
        case Activation::Stair: {  // Darknet's: floor(x/2) on [n, n+1) for even n, floor(x/2) + x - n for odd n
            const T n = std::floor(x);
            const T half = std::floor(x / T(2));
            return std::fmod(n, T(2)) == T(0) ? half : (x - n) + half;
        }
    }
    return x;
}

/// dy/dx given the output y and (for the activations that need it) the input x.
template <Activation A, class T>
DN_HOSTDEV inline T df(T y, T x) {
    switch (A) {
        case Activation::Linear: return T(1);
        case Activation::Logistic: return y * (T(1) - y);
        case Activation::Loggy: {
            T s = (y + T(1)) / T(2);
            return T(2) * (T(1) - s) * s;
        }
        case Activation::Relu: return y > T(0) ? T(1) : T(0);
        case Activation::Elu: return y >= T(0) ? T(1) : y + T(1);
        case Activation::Selu: return y >= T(0) ? T(1.0507) : y + T(1.0507) * T(1.6732);
        case Activation::Relie: return y > T(0) ? T(1) : T(0.01);
        case Activation::Ramp: return y > T(0) ? T(1.1) : T(0.1);  // y>0 <=> x>0
        case Activation::Leaky: return y > T(0) ? T(1) : T(0.1);
        case Activation::Tanh: return T(1) - y * y;
        case Activation::Plse: return (y < T(0) || y > T(1)) ? T(0.01) : T(0.125);
        case Activation::Hardtan: return (y > T(-1) && y < T(1)) ? T(1) : T(0);
        case Activation::Lhtan: return (y > T(0) && y < T(1)) ? T(1) : T(0.001);
        case Activation::Relu6: return (y > T(0) && y < T(6)) ? T(1) : T(0);
        case Activation::Mish: {
            // d/dx x*tanh(sp(x)) = tanh(sp) + x * (1 - tanh(sp)^2) * sp'(x), sp'(x) = sigmoid(x)
            // (beyond the softplus threshold sp'(x) is 1 for x > 20 and exp(x) for x < -20).
            T sp = softplus(x);
            T dsp = x > T(20) ? T(1) : (x < T(-20) ? std::exp(x) : logistic(x));
            T t = std::tanh(sp);
            return t + x * (T(1) - t * t) * dsp;
        }
        case Activation::HardMish:
            if (x > T(0)) return T(1);
            if (x > T(-2)) return x + T(1);
            return T(0);
        case Activation::Swish: {
            T s = logistic(x);
            return s + x * s * (T(1) - s);
        }
        case Activation::Gelu: {
            const T k0 = T(0.7978845608028654), k1 = T(0.044715);
            T u = k0 * (x + k1 * x * x * x);
            T t = std::tanh(u);
            return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * k0 * (T(1) + T(3) * k1 * x * x);
        }
        // flat (0) where floor(x) is even, slope 1 where it is odd; from y as Darknet's stair_gradient:
        // y is an integer exactly on the flat pieces (n/2), and has a fraction on the sloped ones
        case Activation::Stair: return std::floor(y) == y ? T(0) : T(1);
    }
    return T(1);
}

}  // namespace act

/// Calls fn(std::integral_constant<Activation, A>{}) with A the value of `a`: one switch outside
/// the loop, so each loop body is compiled for one activation. In fn: `constexpr auto A = decltype(tag)::value;`
template <class Fn>
inline void dispatch_activation(Activation a, Fn&& fn) {
    switch (a) {
#define DN_ACT_CASE(NAME) \
    case Activation::NAME: fn(std::integral_constant<Activation, Activation::NAME>{}); break;
        DN_ACT_CASE(Linear) DN_ACT_CASE(Logistic) DN_ACT_CASE(Loggy) DN_ACT_CASE(Relu) DN_ACT_CASE(Elu)
        DN_ACT_CASE(Selu) DN_ACT_CASE(Relie) DN_ACT_CASE(Ramp) DN_ACT_CASE(Leaky) DN_ACT_CASE(Tanh)
        DN_ACT_CASE(Plse) DN_ACT_CASE(Hardtan) DN_ACT_CASE(Lhtan) DN_ACT_CASE(Relu6) DN_ACT_CASE(Mish)
        DN_ACT_CASE(HardMish) DN_ACT_CASE(Swish) DN_ACT_CASE(Gelu) DN_ACT_CASE(Stair)
#undef DN_ACT_CASE
    }
}

/// y[i] = f(y[i]) in place.
template <class T>
void activate_array(T* y, size_t n, Activation a);
/// y[i] = f(y[i] * scale + bias) in place (the fused epilogue of convolution/connected layers).
template <class T>
void scale_bias_activate(T* y, size_t n, T scale, T bias, Activation a);
/// delta[i] *= f'(x[i]) given outputs y (and inputs x when activation_needs_input(a)).
template <class T>
void gradient_array(const T* y, const T* x, size_t n, Activation a, T* delta);

}  // namespace dn
