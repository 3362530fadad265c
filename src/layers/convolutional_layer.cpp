#include "convolutional_layer.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "darknet/network.hpp"
#include "darknet/random.hpp"
#include "darknet/weights.hpp"
#include "kernels/batchnorm.hpp"
#include "kernels/depthwise.hpp"
#include "kernels/reduce.hpp"
#include "layers/layer_util.hpp"

namespace dn {

namespace {
// Threads that take whole images: when a pass holds at least as many images as threads, images
// in parallel (each GEMM single-threaded) beat splitting every small GEMM across threads.
int image_team(int images) {
#ifdef _OPENMP
    const int t = omp_get_max_threads();
    return images >= t && !omp_in_parallel() ? t : 1;
#else
    (void)images;
    return 1;
#endif
}
int thread_id() {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}
}  // namespace

template <class T>
ConvolutionalLayer<T>::ConvolutionalLayer(const BuildContext<T>& b) {
    const CfgSection& s = b.section;
    reject_unsupported(s, {"binary", "xnor", "deform", "share_index", "assisted_excitation", "sway",
                           "rotate", "stretch", "stretch_sway", "flipped"});
    filters = s.get_int_min("filters", 1, 1);
    size = s.get_int_min("size", 1, 1);
    int stride = s.get_int_min("stride", 1, 1);
    stride_x = s.get_int_min("stride_x", stride, 1);
    stride_y = s.get_int_min("stride_y", stride, 1);
    aa.parse(s, stride_x, stride_y);  // antialiasing: the layer at stride 1, the blur at the cfg's strides
    dilation = s.get_int_min("dilation", 1, 1);
    int pad = s.get_int_min("pad", 0, 0);
    padding = s.get_int_min("padding", 0, 0);
    if (pad) padding = size / 2;
    groups = s.get_int_min("groups", 1, 1);
    if (b.c % groups != 0)
        s.error("groups", strfmt("groups=%d does not divide the %d input channels", groups, b.c));
    if (filters % groups != 0)
        s.error("groups", strfmt("groups=%d does not divide filters=%d", groups, filters));
    batch_normalize = s.get_int("batch_normalize", 0) != 0;
    activation = cn.parse(s, "logistic");
    // The geometry in 64 bits first (ConvGeom's int arithmetic would wrap on a cfg's huge size,
    // dilation or padding): the kernel's extent and the padded input must fit in int.
    const long long extent = static_cast<long long>(dilation) * (size - 1) + 1;
    const long long padded_w = b.w + 2LL * padding, padded_h = b.h + 2LL * padding;
    if (extent > INT_MAX || padded_w > INT_MAX || padded_h > INT_MAX)
        s.error_section(strfmt("size=%d, dilation=%d and padding=%d on a %dx%d input overflow (kernel extent %lld, "
                               "padded input %lldx%lld; each must be at most 2^31 - 1)",
                               size, dilation, padding, b.w, b.h, extent, padded_w, padded_h));
    ConvGeom g;
    g.height = b.h;
    g.width = b.w;
    g.ksize_h = g.ksize_w = size;
    g.stride_h = stride_y;
    g.stride_w = stride_x;
    g.pad_h = g.pad_w = padding;
    g.dilation = dilation;
    if (g.out_h() <= 0 || g.out_w() <= 0)
        s.error_section(strfmt("a %dx%d kernel with stride %d and padding %d leaves no output on a %dx%d input", size,
                               size, stride, padding, b.w, b.h));
    aa.set_shape(*this, b, g.out_w(), g.out_h(), filters);
    const double nw_d = static_cast<double>(filters) * (b.c / groups) * size * size;
    if (nw_d > INT_MAX)
        s.error_section(strfmt("filters=%d x %d input channels a group x size %d x %d = %.4g weights; a layer holds "
                               "at most 2^31 - 1",
                               filters, b.c / groups, size, size, nw_d));
    const size_t nw = static_cast<size_t>(filters) * (b.c / groups) * size * size;
    weights.resize(nw);
    const float scale = std::sqrt(2.f / (size * size * (b.c / groups)));
    fill_uniform(weights.data(), weights.size(), -scale, scale);
    biases.assign(filters, T(0));
    bias_grads.assign(filters, T(0));
    if (batch_normalize) bn.init(filters);
    bn.dontloadscales = s.get_int("dontloadscales", 0) != 0;  // read without batch_normalize too, as Darknet
    numload = s.get_int_min("numload", 0, 0);
    if (numload > filters)
        s.error("numload", strfmt("loads the first %d filters of the weights file, but this layer has %d", numload, filters));
}

template <class T>
ConvGeom ConvolutionalLayer<T>::geom() const {
    ConvGeom g;
    g.channels = depthwise() ? this->c : this->c / groups;
    g.height = this->h;
    g.width = this->w;
    g.ksize_h = g.ksize_w = size;
    g.stride_h = stride_y;
    g.stride_w = stride_x;
    g.pad_h = g.pad_w = padding;
    g.dilation = dilation;
    return g;
}

template <class T>
ConvGeom ConvolutionalLayer<T>::group_geom() const {
    ConvGeom g = geom();
    g.channels = this->c / groups;
    return g;
}

template <class T>
bool ConvolutionalLayer<T>::direct_1x1() const {
    return size == 1 && stride_x == 1 && stride_y == 1 && padding == 0 && dilation == 1;
}

template <class T>
size_t ConvolutionalLayer<T>::workspace_size() const {
    if (depthwise() || direct_1x1()) return 0;
    const size_t S = aa.wraps() ? static_cast<size_t>(aa.full_w()) * aa.full_h() : static_cast<size_t>(this->out_h) * this->out_w;
    return static_cast<size_t>(this->c / groups) * size * size * S;
}

template <class T>
void ConvolutionalLayer<T>::resize(Network<T>&, int new_w, int new_h) {
    this->w = new_w;
    this->h = new_h;
    ConvGeom g = geom();
    if (g.out_h() <= 0 || g.out_w() <= 0) fail("%s: convolution leaves no output at %dx%d", this->where.c_str(), new_w, new_h);
    aa.resize(*this, g.out_w(), g.out_h());
}

// The epilogue (bias + activation) runs right after each block is computed, while it is still in
// cache: per row in the depthwise kernel, per column tile of the GEMM (tiles of ~1 MB of output, few enough that call overhead stays small).
template <class T>
void ConvolutionalLayer<T>::convolve(const T* in, const T* w, T* out, T* ws, const T* bias, Activation act) const {
    const ConvGeom g = geom();
    if (depthwise()) {
        depthwise_forward(in, w, g, out, bias, bias ? act : Activation::Linear);
        return;
    }
    const int M = filters / groups, K = g.channels * size * size, S = this->out_h * this->out_w;
    const size_t in_group = static_cast<size_t>(g.channels) * this->h * this->w;
    const int tile = bias ? std::max(1024, std::min(S, static_cast<int>((1 << 20) / sizeof(T)) / std::max(1, M))) : S;
    for (int gi = 0; gi < groups; ++gi) {
        const T* B = in + gi * in_group;
        if (!direct_1x1()) {
            im2col(B, g, ws);
            B = ws;
        }
        const T* A = w + static_cast<size_t>(gi) * M * K;
        T* C = out + static_cast<size_t>(gi) * M * S;
        for (int j0 = 0; j0 < S; j0 += tile) {
            const int n = std::min(tile, S - j0);
            gemm<T>(false, false, M, n, K, T(1), A, K, B + j0, S, T(0), C + j0, S);
            if (!bias) continue;
#pragma omp parallel for schedule(static) if (M * n > 16384)
            for (int f = 0; f < M; ++f)
                scale_bias_activate(C + static_cast<size_t>(f) * S + j0, static_cast<size_t>(n), T(1), bias[gi * M + f], act);
        }
    }
}

// Inference folding (what Darknet's fuse_conv_batchnorm does before `detector test`):
//   gamma*(W*x - mu)/sqrt(var+eps) + beta = (s*W)*x + (beta - s*mu),  s = gamma/sqrt(var+eps).
template <class T>
void ConvolutionalLayer<T>::update_fusion() {
    if (fused_valid_) return;
    const size_t per = weights.size() / filters;
    fused_w_.resize(weights.size());
    fused_b_.resize(filters);
    for (int f = 0; f < filters; ++f) {
        const double s = bn.scales[f] / std::sqrt(static_cast<double>(bn.rolling_variance[f]) + bn.eps);
        for (size_t i = 0; i < per; ++i) fused_w_[f * per + i] = static_cast<T>(weights[f * per + i] * s);
        fused_b_[f] = static_cast<T>(biases[f] - s * bn.rolling_mean[f]);
    }
    fused_valid_ = true;
}

template <class T>
void ConvolutionalLayer<T>::forward(Network<T>& net) {
    if (aa.wraps()) return aa.forward(*this, [&] { forward(net); });  // this body at stride 1, then the blur
    const int N = this->batch, F = filters, S = this->out_h * this->out_w;
    const size_t per_out = static_cast<size_t>(this->outputs()), per_in = static_cast<size_t>(this->inputs());
    const bool fused = batch_normalize && net.fuse_inference && !net.train;
    if (fused) update_fusion();
    T* out = this->output.data();
    T* raw = out;
    if (batch_normalize && !fused) {
        x_pre_.resize(this->output.size());
        raw = x_pre_.data();
    }
    const T* W = fused ? fused_w_.data() : weights.data();
    const bool keep_act_input = keep_activation_input(net, activation);
    if (!keep_act_input) x_act_.clear();
    // bias and activation fused into the convolution when nothing needs the values in between
    const bool fuse_epilogue = !(batch_normalize && !fused) && !keep_act_input;
    const T* epi_bias = fuse_epilogue ? (fused ? fused_b_.data() : biases.data()) : nullptr;
    const int team = image_team(N);
    T* ws = net.workspace(workspace_size() * team);
    if (team > 1) {
        // one image per thread at a time; BLAS runs single-threaded inside the parallel region
#pragma omp parallel for num_threads(team) schedule(static)
        for (int b = 0; b < N; ++b)
            convolve(net.input + b * per_in, W, raw + b * per_out, ws + workspace_size() * thread_id(), epi_bias, activation);
    } else {
        for (int b = 0; b < N; ++b) convolve(net.input + b * per_in, W, raw + b * per_out, ws, epi_bias, activation);
    }
    last_fused_ = fused;
    if (fuse_epilogue) return cn.forward(net, out, N, F, S);

    if (batch_normalize && !fused) {
        bn.forward(raw, out, N, S, biases.data(), net.train);
        if (keep_act_input) x_act_.assign(out, out + this->output.size());
#pragma omp parallel for schedule(static)
        for (int i = 0; i < N * F; ++i) activate_array(out + static_cast<size_t>(i) * S, S, activation);
    } else {
        // keep_act_input: the activation's input is kept for backward
        const T* bias = fused ? fused_b_.data() : biases.data();
        for (int i = 0; i < N * F; ++i) scale_bias_activate(out + static_cast<size_t>(i) * S, S, T(1), bias[i % F], Activation::Linear);
        x_act_.assign(out, out + this->output.size());
        for (int i = 0; i < N * F; ++i) activate_array(out + static_cast<size_t>(i) * S, S, activation);
    }
    cn.forward(net, out, N, F, S);
}

// Backward. With z = W (*) x the convolution, u = BN(z) (or z + b), y = f(u), and dy = dL/dy:
//   dL/du = dy * f'(u)                                         (activation, in place on delta;
//           a channel activation's Jacobian transpose, layers/channel_norm.hpp)
//   dL/dz, dL/dgamma, dL/dbeta from the batchnorm backward (kernels/batchnorm.cpp), or
//   dL/db_f = sum_{n,s} dL/du_{n,f,s} and dL/dz = dL/du without batchnorm
// and, per image and group, with B = im2col(x) [K x S] and G = dL/dz [M x S]:
//   dL/dW += G B^T,    dL/dx += col2im(W^T G)
// (depthwise: the same sums written as direct loops, kernels/depthwise.cpp). With antialiasing,
// dy is first taken through the blur's transpose (layers/antialias.hpp, kernels/blur.hpp).
template <class T>
void ConvolutionalLayer<T>::backward(Network<T>& net) {
    if (aa.wraps()) return aa.backward(*this, [&] { backward(net); });
    if (last_fused_) fail("%s: backward after an inference (batchnorm-folded) forward", this->where.c_str());
    const int N = this->batch, F = filters, S = this->out_h * this->out_w;
    const size_t per_out = static_cast<size_t>(this->outputs()), per_in = static_cast<size_t>(this->inputs());
    T* d = this->delta.data();
    cn.backward(this->output.data(), d, N, F, S, this->where);
    gradient_array(this->output.data(), x_act_.empty() ? nullptr : x_act_.data(), this->output.size(), activation, d);
    if (batch_normalize) {
        bn.backward(x_pre_.data(), d, d, false, N, S, bias_grads.data());
    } else {
        for (int f = 0; f < F; ++f) {
            double s = 0;
            for (int b = 0; b < N; ++b) s += sum_d(d + (static_cast<size_t>(b) * F + f) * S, S);
            bias_grads[f] += static_cast<T>(s);
        }
    }
    const ConvGeom g = geom();
    const int M = F / groups, K = g.channels * size * size;
    const size_t in_group = static_cast<size_t>(g.channels) * this->h * this->w;
    if (depthwise()) {  // the kernel parallelizes over channels; images in turn (dw is shared)
        for (int b = 0; b < N; ++b)
            depthwise_backward(net.input + b * per_in, weights.data(), d + b * per_out, g, weight_grads.data(),
                               net.delta ? net.delta + b * per_in : nullptr);
        return;
    }
    const int team = image_team(N);
    T* ws = net.workspace(workspace_size() * team);
    // per-thread dL/dW, added to weight_grads at the end (images of one thread go in order)
    std::vector<T> dW_local(team > 1 ? weights.size() * (team - 1) : 0, T(0));
    auto image = [&](int b, T* wsp, T* dW) {
        const T* in = net.input + b * per_in;
        const T* db = d + b * per_out;
        T* din = net.delta ? net.delta + b * per_in : nullptr;
        for (int gi = 0; gi < groups; ++gi) {
            const T* G = db + static_cast<size_t>(gi) * M * S;
            const T* A = weights.data() + static_cast<size_t>(gi) * M * K;
            T* dA = dW + static_cast<size_t>(gi) * M * K;
            const T* B = in + gi * in_group;
            if (!direct_1x1()) {
                im2col(B, g, wsp);
                B = wsp;
            }
            gemm<T>(false, true, M, K, S, T(1), G, S, B, S, T(1), dA, K);
            if (!din) continue;
            if (direct_1x1()) {
                gemm<T>(true, false, K, S, M, T(1), A, K, G, S, T(1), din + gi * in_group, S);
            } else {
                gemm<T>(true, false, K, S, M, T(1), A, K, G, S, T(0), wsp, S);
                col2im_add(wsp, g, din + gi * in_group);
            }
        }
    };
    if (team > 1) {
#pragma omp parallel for num_threads(team) schedule(static)
        for (int b = 0; b < N; ++b) {
            const int t = thread_id();
            image(b, ws + workspace_size() * t, t == 0 ? weight_grads.data() : dW_local.data() + weights.size() * (t - 1));
        }
        for (int t = 1; t < team; ++t) {
            const T* p = dW_local.data() + weights.size() * (t - 1);
            for (size_t k = 0; k < weights.size(); ++k) weight_grads[k] += p[k];
        }
    } else {
        for (int b = 0; b < N; ++b) image(b, ws, weight_grads.data());
    }
}

template <class T>
std::vector<Param<T>> ConvolutionalLayer<T>::params() {
    return conv_style_params(biases, bias_grads, batch_normalize ? &bn : nullptr, weights, weight_grads);
}

template <class T>
void ConvolutionalLayer<T>::load_weights(WeightsReader& r) {
    const int n = numload > 0 && r.follows_load_keys() ? numload : filters;  // Darknet's l.n = l.numload
    r.read(biases.data(), static_cast<size_t>(n), "biases");
    if (batch_normalize) bn.load(r, n);
    r.read(weights.data(), weights.size() / filters * n, "weights");
}

template <class T>
size_t ConvolutionalLayer<T>::unloaded_bytes() const {
    size_t floats = 0;
    if (numload > 0)  // filters numload.. are not in the file: their bias, batchnorm arrays and weights
        floats = static_cast<size_t>(filters - numload) *
                 (1 + (batch_normalize && !bn.dontloadscales ? 3 : 0) + weights.size() / filters);
    return floats * sizeof(float) + (batch_normalize ? bn.unloaded_bytes() : 0);
}

template <class T>
void ConvolutionalLayer<T>::save_weights(WeightsWriter& w) const {
    save_conv_style(w, biases, batch_normalize ? &bn : nullptr, weights);
}

template <class T>
double ConvolutionalLayer<T>::flops() const {
    return 2.0 * (this->c / groups) * size * size * aa.full_outputs(*this) + aa.flops(static_cast<double>(this->outputs()));
}

template <class T>
std::string ConvolutionalLayer<T>::describe() const {
    std::string f = groups > 1 ? strfmt("conv  %5d/%4d ", filters, groups) : strfmt("conv  %5d      ", filters);
    std::string k = dilation > 1 ? strfmt("%2d x%2d/%2d(%1d)", size, size, stride_x, dilation)
                                 : strfmt("%2d x%2d/%2d   ", size, size, stride_x);
    return f + k + " " + shape_str(*this) + strfmt(" %5.3f BF", flops() / 1e9) + (aa.on() ? strfmt(" AA%d", aa.kind()) : "");
}

DN_REGISTER_LAYER(ConvolutionalLayer, "convolutional,conv")

}  // namespace dn
