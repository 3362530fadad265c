#include "dense.hpp"

#include <cmath>

#include "darknet/random.hpp"
#include "darknet/weights.hpp"
#include "kernels/blas.hpp"

namespace dn {

template <class T>
void Dense<T>::init(int in, int out, Activation a, bool batchnorm) {
    inputs = in, outputs = out, activation = a, batch_normalize = batchnorm;
    weights.resize(static_cast<size_t>(out) * in);
    const float scale = std::sqrt(2.f / in);
    fill_uniform(weights.data(), weights.size(), -scale, scale);
    biases.assign(out, T(0));
    bias_grads.assign(out, T(0));
    if (batchnorm) bn.init(out);
}

template <class T>
void Dense<T>::append_params(std::vector<Param<T>>& p) {
    p.push_back({"biases", biases.data(), bias_grads.data(), biases.size(), false});
    p.push_back({"weights", weights.data(), weight_grads.empty() ? nullptr : weight_grads.data(), weights.size(), true});
    if (batch_normalize) bn.append_params(p);
}

namespace {
template <class T>
void transpose(std::vector<T>& m, int rows, int cols) {
    std::vector<T> t(m.size());
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c) t[static_cast<size_t>(c) * rows + r] = m[static_cast<size_t>(r) * cols + c];
    m.swap(t);
}
}  // namespace

template <class T>
void Dense<T>::load(WeightsReader& r) {
    r.read(biases.data(), biases.size(), "biases");
    r.read(weights.data(), weights.size(), "weights");
    transposed_file = r.major > 1000 || r.minor > 1000;
    if (transposed_file) transpose(weights, inputs, outputs);
    if (batch_normalize) bn.load(r);
}

template <class T>
void Dense<T>::save(WeightsWriter& w) const {
    w.write(biases.data(), biases.size());
    if (transposed_file) {  // keep the layout the header announces
        std::vector<T> t = weights;
        transpose(t, outputs, inputs);
        w.write(t.data(), t.size());
    } else {
        w.write(weights.data(), weights.size());
    }
    if (batch_normalize) bn.save(w);
}

template <class T>
void Dense<T>::forward(const T* x, int N, T* y, T* pre, T* act, bool train) {
    const int I = inputs, O = outputs;
    const size_t n = static_cast<size_t>(N) * O;
    T* raw = batch_normalize ? pre : y;
    gemm<T>(false, true, N, O, I, T(1), x, I, weights.data(), I, T(0), raw, O);
    if (batch_normalize) {
        bn.forward(raw, y, N, 1, biases.data(), train);
    } else {
        for (int b = 0; b < N; ++b)
            for (int o = 0; o < O; ++o) y[static_cast<size_t>(b) * O + o] += biases[o];
    }
    if (act) std::copy(y, y + n, act);
    activate_array(y, n, activation);
}

// Backward, z = W x (+ b, or BN(.; beta = b)), y = f(z): G = dL/dz = dy * f'(z) (then through BN's
// backward), and
//   dL/db = sum_n G,  dL/dW += G^T X  [O x I],  dL/dX += G W  [N x I].
template <class T>
void Dense<T>::backward(const T* x, int N, const T* y, T* dy, const T* pre, const T* act, T* dx) {
    const int I = inputs, O = outputs;
    gradient_array(y, act, static_cast<size_t>(N) * O, activation, dy);
    if (batch_normalize) {
        bn.backward(pre, dy, dy, false, N, 1, bias_grads.data());
    } else {
        for (int b = 0; b < N; ++b)
            for (int o = 0; o < O; ++o) bias_grads[o] += dy[static_cast<size_t>(b) * O + o];
    }
    gemm<T>(true, false, O, I, N, T(1), dy, O, x, I, T(1), weight_grads.data(), I);
    if (dx) gemm<T>(false, false, N, I, O, T(1), dy, O, weights.data(), I, T(1), dx, I);
}

template struct Dense<float>;
template struct Dense<double>;

}  // namespace dn
