// [convolutional] on the GPU: cuDNN (CUDNN=1: algorithms found once per shape, one shared
// workspace) or im2col + cuBLAS; then batchnorm (kernels/batchnorm.cu) or bias, and the
// activation. Same math as the CPU forward/backward in convolutional_layer.cpp.
#include "convolutional_layer.hpp"

#include <algorithm>
#include <memory>

#include "layers/antialias_gpu.hpp"
#include "layers/layer_gpu.hpp"
#include "layers/layer_util.hpp"

namespace dn {

#ifdef DN_CUDNN
// Descriptors and algorithms for one input shape (N, C, H, W); rebuilt when it changes.
struct ConvCudnn {
    int n = -1, c = -1, h = -1, w = -1;
    cudnnTensorDescriptor_t x = nullptr, y = nullptr;
    cudnnFilterDescriptor_t f = nullptr;
    cudnnConvolutionDescriptor_t conv = nullptr;
    cudnnConvolutionFwdAlgo_t fwd{};
    cudnnConvolutionBwdDataAlgo_t bwd_data{};
    cudnnConvolutionBwdFilterAlgo_t bwd_filter{};
    size_t ws_bytes = 0;
    ~ConvCudnn() {
        if (x) cudnnDestroyTensorDescriptor(x);
        if (y) cudnnDestroyTensorDescriptor(y);
        if (f) cudnnDestroyFilterDescriptor(f);
        if (conv) cudnnDestroyConvolutionDescriptor(conv);
    }
};

namespace {
// The fastest algorithm cuDNN measures (cudnnFind*, once per shape; results come sorted by time)
// whose workspace fits, preferring deterministic ones in full float32 math: a run then repeats
// bit for bit (an interrupted and resumed training equals an uninterrupted one, as on the CPU),
// and no tensor-core or down-converting algorithm moves the answer away from the CPU's. Falls
// back to the fastest that fits when none qualifies.
constexpr size_t kMaxWorkspace = size_t(1) << 30;

template <class Perf>
int pick(const Perf* p, int n, const char* what) {
    auto fits = [&](int i) { return p[i].status == CUDNN_STATUS_SUCCESS && p[i].memory <= kMaxWorkspace; };
    for (int i = 0; i < n; ++i)
        if (fits(i) && p[i].determinism == CUDNN_DETERMINISTIC && p[i].mathType != CUDNN_TENSOR_OP_MATH &&
            p[i].mathType != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION)
            return i;
    for (int i = 0; i < n; ++i)
        if (fits(i)) return i;
    fail("cuDNN found no %s algorithm for this convolution within %zu MiB of workspace", what, kMaxWorkspace >> 20);
}
}  // namespace

// measure: cudnnFind* runs every algorithm once (worth it for training, ~0.1 s per layer and
// shape); otherwise cuDNN's heuristics (cudnnGet*_v7, as Darknet), so that a one-image `detector
// test` does not spend seconds benchmarking.
static void setup_cudnn(ConvCudnn& s, int N, int C, int H, int W, int F, int size, int sy, int sx, int pad, int dil,
                        int groups, int oh, int ow, bool measure) {
    if (s.n == N && s.c == C && s.h == H && s.w == W) return;
    cudnnHandle_t h = cudnn_handle();
    if (!s.x) {
        DN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&s.x));
        DN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&s.y));
        DN_CUDNN_CHECK(cudnnCreateFilterDescriptor(&s.f));
        DN_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&s.conv));
    }
    DN_CUDNN_CHECK(cudnnSetTensor4dDescriptor(s.x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, N, C, H, W));
    DN_CUDNN_CHECK(cudnnSetTensor4dDescriptor(s.y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, N, F, oh, ow));
    DN_CUDNN_CHECK(cudnnSetFilter4dDescriptor(s.f, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, F, C / groups, size, size));
    DN_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(s.conv, pad, pad, sy, sx, dil, dil, CUDNN_CROSS_CORRELATION,
                                                   CUDNN_DATA_FLOAT));
    DN_CUDNN_CHECK(cudnnSetConvolutionGroupCount(s.conv, groups));
    // full float32 arithmetic (no TF32 tensor cores), so that the GPU gives the CPU's answer
    DN_CUDNN_CHECK(cudnnSetConvolutionMathType(s.conv, CUDNN_FMA_MATH));
    int got = 0;
    cudnnConvolutionFwdAlgoPerf_t fp[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    if (measure)
        DN_CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithm(h, s.x, s.f, s.conv, s.y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &got, fp));
    else
        DN_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, s.x, s.f, s.conv, s.y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &got, fp));
    const int a = pick(fp, got, "forward");
    cudnnConvolutionBwdDataAlgoPerf_t dp[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    if (measure)
        DN_CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithm(h, s.f, s.y, s.conv, s.x,
                                                                 CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &got, dp));
    else
        DN_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, s.f, s.y, s.conv, s.x,
                                                                   CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &got, dp));
    const int b = pick(dp, got, "backward-data");
    cudnnConvolutionBwdFilterAlgoPerf_t wp[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    if (measure)
        DN_CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithm(h, s.x, s.y, s.conv, s.f,
                                                                   CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &got, wp));
    else
        DN_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, s.x, s.y, s.conv, s.f,
                                                                     CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &got, wp));
    const int c = pick(wp, got, "backward-filter");
    s.fwd = fp[a].algo;
    s.bwd_data = dp[b].algo;
    s.bwd_filter = wp[c].algo;
    s.ws_bytes = std::max({fp[a].memory, dp[b].memory, wp[c].memory});
    s.n = N, s.c = C, s.h = H, s.w = W;
}
#endif

template <class T>
void ConvolutionalLayer<T>::forward_gpu(Network<T>& net) {
    if (aa.wraps()) return aa.forward_gpu(*this, [&] { forward_gpu(net); });
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        const int N = this->batch, F = filters, S = this->out_h * this->out_w;
        const size_t n_out = static_cast<size_t>(N) * F * S;
        float* out = this->output_gpu.data();
        float* raw = out;
        if (batch_normalize) {
            x_pre_gpu_.resize(n_out);
            raw = x_pre_gpu_.data();
        }
        const float* W = this->gpu_value("weights");
#ifdef DN_CUDNN
        if (!cudnn_) cudnn_ = std::shared_ptr<void>(new ConvCudnn, [](void* p) { delete static_cast<ConvCudnn*>(p); });
        ConvCudnn& s = *static_cast<ConvCudnn*>(cudnn_.get());
        setup_cudnn(s, N, this->c, this->h, this->w, F, size, stride_y, stride_x, padding, dilation, groups, this->out_h,
                    this->out_w, net.train);
        const float one = 1.f, zero = 0.f;
        float* ws = net.workspace_gpu(s.ws_bytes / sizeof(float) + 1);
        DN_CUDNN_CHECK(cudnnConvolutionForward(cudnn_handle(), &one, s.x, net.input_gpu, s.f, W, s.conv, s.fwd, ws,
                                               s.ws_bytes, &zero, s.y, raw));
#else
        const ConvGeom g = group_geom();  // per group, depthwise included
        const int M = F / groups, K = g.channels * size * size;
        const size_t in_group = static_cast<size_t>(g.channels) * this->h * this->w, per_in = this->inputs();
        const bool direct = direct_1x1();
        float* col = direct ? nullptr : net.workspace_gpu(static_cast<size_t>(K) * S);
        for (int b = 0; b < N; ++b)
            for (int gi = 0; gi < groups; ++gi) {
                const float* B = net.input_gpu + b * per_in + gi * in_group;
                if (!direct) {
                    im2col_gpu(B, g, col);
                    B = col;
                }
                gemm_gpu(false, false, M, S, K, 1.f, W + static_cast<size_t>(gi) * M * K, K, B, S, 0.f,
                         raw + (static_cast<size_t>(b) * F + static_cast<size_t>(gi) * M) * S, S);
            }
#endif
        const bool keep = keep_activation_input(net, activation);
        if (batch_normalize) {
            bn.forward_gpu(raw, out, N, S, this->gpu_value("biases"), net.train, this->gpu_value("scales"),
                           this->gpu_value("rolling_mean"), this->gpu_value("rolling_variance"));
            gpu_keep_act_ = activate_keep_gpu(keep, out, n_out, activation, x_act_gpu_);
        } else {
            if (keep) x_act_gpu_.resize(n_out);
            bias_activate_gpu(out, this->gpu_value("biases"), N, F, S, activation, keep ? x_act_gpu_.data() : nullptr);
            gpu_keep_act_ = keep;
        }
        cn.forward_gpu(net, out, N, F, S);
    }
}

// Backward: the CPU derivation (convolutional_layer.cpp) on device buffers; cuDNN's backward
// calls run with beta = 1, so they add into dL/dW and net.delta_gpu as the contract requires.
template <class T>
void ConvolutionalLayer<T>::backward_gpu(Network<T>& net) {
    if (aa.wraps()) return aa.backward_gpu(*this, [&] { backward_gpu(net); });
    if constexpr (!std::is_same<T, float>::value) {
        gpu_needs_float(this->where);
    } else {
        const int N = this->batch, F = filters, S = this->out_h * this->out_w;
        const size_t n_out = static_cast<size_t>(N) * F * S;
        float* d = this->delta_gpu.data();
        cn.backward_gpu(this->output_gpu.data(), d, N, F, S, this->where);
        gradient_gpu(this->output_gpu.data(), gpu_keep_act_ ? x_act_gpu_.data() : nullptr, n_out, activation, d);
        if (batch_normalize) {
            bn.backward_gpu(x_pre_gpu_.data(), d, d, false, N, S, this->gpu_value("scales"), this->gpu_value("rolling_mean"),
                            this->gpu_value("rolling_variance"), this->gpu_grad("scales"), this->gpu_grad("biases"));
        } else {
            bias_grad_gpu(d, N, F, S, this->gpu_grad("biases"));
        }
        const float* W = this->gpu_value("weights");
        float* dW = this->gpu_grad("weights");
#ifdef DN_CUDNN
        ConvCudnn& s = *static_cast<ConvCudnn*>(cudnn_.get());
        const float one = 1.f;
        float* ws = net.workspace_gpu(s.ws_bytes / sizeof(float) + 1);
        DN_CUDNN_CHECK(cudnnConvolutionBackwardFilter(cudnn_handle(), &one, s.x, net.input_gpu, s.y, d, s.conv,
                                                      s.bwd_filter, ws, s.ws_bytes, &one, s.f, dW));
        if (net.delta_gpu)
            DN_CUDNN_CHECK(cudnnConvolutionBackwardData(cudnn_handle(), &one, s.f, W, s.y, d, s.conv, s.bwd_data, ws,
                                                        s.ws_bytes, &one, s.x, net.delta_gpu));
#else
        const ConvGeom g = group_geom();  // per group, depthwise included
        const int M = F / groups, K = g.channels * size * size;
        const size_t in_group = static_cast<size_t>(g.channels) * this->h * this->w, per_in = this->inputs();
        const bool direct = direct_1x1();
        float* col = direct ? nullptr : net.workspace_gpu(static_cast<size_t>(K) * S);
        for (int b = 0; b < N; ++b)
            for (int gi = 0; gi < groups; ++gi) {
                const float* G = d + (static_cast<size_t>(b) * F + static_cast<size_t>(gi) * M) * S;
                const float* B = net.input_gpu + b * per_in + gi * in_group;
                if (!direct) {
                    im2col_gpu(B, g, col);
                    B = col;
                }
                gemm_gpu(false, true, M, K, S, 1.f, G, S, B, S, 1.f, dW + static_cast<size_t>(gi) * M * K, K);
                if (!net.delta_gpu) continue;
                float* din = net.delta_gpu + b * per_in + gi * in_group;
                if (direct) {
                    gemm_gpu(true, false, K, S, M, 1.f, W + static_cast<size_t>(gi) * M * K, K, G, S, 1.f, din, S);
                } else {
                    gemm_gpu(true, false, K, S, M, 1.f, W + static_cast<size_t>(gi) * M * K, K, G, S, 0.f, col, S);
                    col2im_add_gpu(col, g, din);
                }
            }
#endif
    }
}

DN_GPU_LAYER_METHODS(ConvolutionalLayer)

}  // namespace dn
