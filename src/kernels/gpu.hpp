// GPU kernels (float, default stream) and CUDA/cuBLAS/cuDNN helpers; GPU=1 builds only.
// Each launcher mirrors the CPU function of the same name without `_gpu` (the specification it is
// tested against in tests/test_gpu_agreement.cpp); pointers are device pointers.
#pragma once

#ifdef DN_GPU

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "darknet/error.hpp"

#include "kernels/activations.hpp"
#include "kernels/blas.hpp"
#include "kernels/channel_norm.hpp"
#include "kernels/blur.hpp"
#include "kernels/gpu_index.hpp"
#include "kernels/cost.hpp"
#include "kernels/crop.hpp"
#include "kernels/local.hpp"
#include "kernels/index_maps.hpp"
#include "kernels/l2norm.hpp"
#include "kernels/lrn.hpp"
#include "kernels/optimizer.hpp"
#include "kernels/shortcut_weights.hpp"
#include "kernels/yolo_transform.hpp"

#ifdef DN_CUDNN
#include <cudnn.h>
#endif

namespace dn {

void cuda_check(cudaError_t e, const char* what, const char* file, int line);
void cublas_check(int status, const char* what, const char* file, int line);
#define DN_CUDA_CHECK(x) ::dn::cuda_check((x), #x, __FILE__, __LINE__)
#define DN_CUBLAS_CHECK(x) ::dn::cublas_check(static_cast<int>(x), #x, __FILE__, __LINE__)
/// Checks the last kernel launch.
#define DN_KERNEL_CHECK() ::dn::cuda_check(cudaGetLastError(), "kernel launch", __FILE__, __LINE__)
cublasHandle_t blas_handle();
#ifdef DN_CUDNN
void cudnn_check(int status, const char* what, const char* file, int line);
#define DN_CUDNN_CHECK(x) ::dn::cudnn_check(static_cast<int>(x), #x, __FILE__, __LINE__)
cudnnHandle_t cudnn_handle();
#endif

/// A grow-only device scratch area of at least n floats for a launcher's partial results, valid
/// until the next call (every kernel runs on the default stream, in order).
float* gpu_scratch(size_t n);

// ---- elementwise and data movement (blas.cu) ------------------------------------------------
void fill_gpu(float* x, size_t n, float v);
void copy_gpu(const float* x, float* y, size_t n);
/// y += a * x
void axpy_gpu(size_t n, float a, const float* x, float* y);
/// Row-major C = alpha op(A) op(B) + beta C through cublasSgemm (mirrors dn::gemm).
void gemm_gpu(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
              int ldb, float beta, float* C, int ldc);
void im2col_gpu(const float* im, const ConvGeom& g, float* col);
/// ADDS the adjoint of im2col into im.
void col2im_add_gpu(const float* col, const ConvGeom& g, float* im);
/// y[n][c][s] += bias[c]
void add_bias_gpu(float* y, const float* bias, int N, int C, int S);
/// dbias[c] += sum_{n,s} delta[n][c][s]
void bias_grad_gpu(const float* delta, int N, int C, int S, float* dbias);
/// Darknet's SGD step in true-gradient form (Layer::update): g += decay*v (when apply_decay);
/// v -= lr*g; g *= momentum.
void sgd_update_gpu(float* v, float* g, size_t n, float lr, float decay, float momentum, bool apply_decay);
/// Adam over n elements (adam_step in kernels/optimizer.hpp): updates w, m, v; zeroes g.
void adam_update_gpu(float* w, float* g, float* m, float* v, size_t n, const AdamStep<float>& s);
/// [net] ema_alpha: e = alpha e + (1 - alpha) w elementwise (ema_follow).
void ema_update_gpu(float* e, const float* w, size_t n, float alpha);
/// rows x len block copy between strided rows; accumulate adds instead of writing.
void copy_rows_gpu(const float* src, size_t src_stride, float* dst, size_t dst_stride, size_t rows, size_t len,
                   bool accumulate);

// ---- activations (activations.cu; the formulas are act::f / act::df, shared with the CPU) ---
void activate_gpu(float* y, size_t n, Activation a);
/// x_keep (if not null) = y + bias; y = f(y + bias) per channel of [N, C, S].
void bias_activate_gpu(float* y, const float* bias, int N, int C, int S, Activation a, float* x_keep);
/// delta *= f'(.) given outputs y and (activation_needs_input) inputs x.
void gradient_gpu(const float* y, const float* x, size_t n, Activation a, float* delta);

// ---- layers' small kernels (layers_gpu.cu) --------------------------------------------------
void maxpool_forward_gpu(const float* in, int planes, int w, int h, int size, int sx, int sy, int off, int ow, int oh,
                         float* out, int* idx);
/// din [planes][h][w] += dL/dx from d [planes][oh][ow] through the argmax indexes idx of the forward
/// (window geometry as forward); a gather per input pixel, bit-identical to the CPU.
void maxpool_backward_gpu(const float* d, const int* idx, int planes, int w, int h, int size, int sx, int sy, int off,
                          int ow, int oh, float* din);
/// maxpool_depth: out [batch][K][S] = max over the channels k, k + K, ... of in [batch][C][S] (the
/// first maximum), idx its input index; backward: din[i] += d[o] for the output o whose argmax is
/// i (a gather per input value: its one candidate output).
void maxpool_depth_forward_gpu(const float* in, int batch, int C, int S, int K, float* out, int* idx);
void maxpool_depth_backward_gpu(const float* d, const int* idx, int batch, int C, int S, int K, float* din);
void avgpool_forward_gpu(const float* in, int planes, int S, float* out);
void avgpool_backward_gpu(const float* d, int planes, int S, float* din);
void upsample_forward_gpu(const float* in, int planes, int w, int h, int stride, float scale, float* out);
void upsample_backward_gpu(const float* d, int planes, int w, int h, int stride, float scale, float* din);
/// out (this layer, [batch][c2][h2][w2]) += P add (source [batch][c1][h1][w1]) with pjreddie's
/// shortcut index map; backward (to_source): add_delta += P^T d.
void shortcut_gpu(int batch, int w1, int h1, int c1, const float* add, int w2, int h2, int c2, float* out);
void shortcut_backward_gpu(int batch, int w1, int h1, int c1, float* add_delta, int w2, int h2, int c2, const float* d);
/// Weighted [shortcut] (kernels/shortcut_weights.hpp): wn[k * L + l] = the normalized weights of
/// the K sources and L groups from the raw ones.
void shortcut_weights_gpu(const float* raw, int K, int L, ShortcutNorm norm, float* wn);
/// out[i] = (init ? 0 : out[i]) + w[l(i)] x[i] over [N][C][S] (n elements), l(i) = 0 (L = 1) or the
/// channel (L = C).
void weighted_add_gpu(const float* x, const float* w, size_t n, int C, int S, int L, float* out, bool init);
/// grad[k * L + l] += dL/draw of the weights, given g = dL/du [N][C][S] and the K sources x[k]
/// (host array of device pointers): the per-plane sums of g x_k, then each group's backward.
void shortcut_weights_backward_gpu(const float* raw, const float* const* x, const float* g, int N, int C, int S, int K,
                                   int L, ShortcutNorm norm, float* grad);
/// [local_avgpool]: out [planes][oh][ow] = the mean of each window's pixels inside in
/// [planes][h][w] (0 for a window wholly in the padding); windows start at off + o * stride.
void local_avgpool_forward_gpu(const float* in, int planes, int w, int h, int size, int sx, int sy, int off, int ow,
                               int oh, float* out);
/// din += dL/dx of that mean from d [planes][oh][ow]: a gather per input pixel over its windows in
/// increasing output order, bit-identical to the CPU.
void local_avgpool_backward_gpu(const float* d, int planes, int w, int h, int size, int sx, int sy, int off, int ow,
                                int oh, float* din);
/// [reorg]'s permutation (kernels/index_maps.hpp): for every flat index i < m.size(), with
/// o = m.out_of(i), dst[i] = src[o] (to_in) or dst[o] = src[i] (otherwise); `accumulate` adds
/// instead of assigning (backward). A permutation: no two threads write one element.
void reorg_gpu(const float* src, const ReorgMap& m, bool to_in, bool accumulate, float* dst);
/// [scale_channels] / [sam]: y[i] = a[i] * p[k(i)] over a's n = N*C*S elements, k = ScaleMap.
void scale_channels_forward_gpu(const float* a, const float* p, size_t n, const ScaleMap& k, float* y);
/// The backward of that product given d = dL/du: da[i] += d[i] * p[k(i)] and, when dp is not
/// null, dp[k] += sum over the i with k(i) = k of d[i] * a[i].
void scale_channels_backward_gpu(const float* a, const float* p, const float* d, size_t n, const ScaleMap& k, float* da,
                                 float* dp);
void dropout_forward_gpu(const float* x, const uint8_t* keep, size_t n, float scale, float* y);
void dropout_backward_gpu(const float* d, const uint8_t* keep, size_t n, float scale, float* dx);
/// [local] (kernels/local.hpp): y [batch][n][L] = local_value (before the activation); backward,
/// given G = dL/dz: dW += local_weight_grad, and dx (when not null) += local_input_grad.
void local_forward_gpu(const float* x, const float* W, const float* bias, const LocalGeom& g, int batch, float* y);
void local_backward_gpu(const float* x, const float* G, const float* W, const LocalGeom& g, int batch, float* dW,
                        float* dx);
/// [crop] (kernels/crop.hpp): out [batch][c][oh][ow] = crop_value of in [batch][c][h][w] with
/// image b's draws[b] (device memory); backward adds dL/dx into din, a gather per input pixel.
void crop_forward_gpu(const float* in, const CropDraw* draws, const CropGeom& g, int batch, float* out);
void crop_backward_gpu(const float* in, const float* d, const CropDraw* draws, const CropGeom& g, int batch,
                       float* din);
/// antialiasing's blur (kernels/blur.hpp) over `planes` planes: out [planes][oh][ow] = blur_value of
/// in [planes][h][w]; backward WRITES din [planes][h][w] = blur_input_grad of d (the layer's
/// full-resolution delta, which nothing else adds into).
void blur_forward_gpu(const float* in, const BlurGeom& g, int planes, float* out);
void blur_backward_gpu(const float* d, const BlurGeom& g, int planes, float* din);
/// [l2norm] (kernels/l2norm.hpp): y [batch][C][S] = x / max(||x||, eps) over the channels at each
/// position; backward adds dL/dx into dx.
void l2norm_forward_gpu(const float* x, int batch, int C, int S, float* y);
void l2norm_backward_gpu(const float* x, const float* g, int batch, int C, int S, float* dx);
/// [lstm]'s cell over n values (kernels/lstm.hpp, a thread per value): z[0..3] the state blocks'
/// outputs of the gates i, f, o, g, z[4..7] the input blocks'.
void lstm_forward_gpu(size_t n, const float* const z[8], const float* c_prev, float* i, float* f, float* o, float* g,
                      float* c, float* h);
void lstm_backward_gpu(size_t n, const float* dh, const float* dc_next, const float* i, const float* f, const float* o,
                       const float* g, const float* c, const float* c_prev, float* dzi, float* dzf, float* dzo,
                       float* dzg, float* dc_prev);
/// AlexeyAB's channel-normalizing activations (kernels/channel_norm.hpp), a thread per position of
/// x [N][C][S]: forward into y (may be x); backward from the kept input x, the output y and
/// g = dL/dy into dx = dL/dx (may be g).
void channel_norm_forward_gpu(ChannelNormKind kind, const float* x, int N, int C, int S, float* y);
void channel_norm_backward_gpu(ChannelNormKind kind, const float* x, const float* y, const float* g, int N, int C, int S,
                               float* dx);
/// [gru]'s cell over n values (kernels/gru.hpp, a thread per value): the gates z, r and the reset
/// state r h_prev; the candidate and new state; their backward passes (dh_prev: written by
/// gru_state_backward_gpu, added to by gru_reset_backward_gpu).
void gru_gates_gpu(size_t n, const float* wz, const float* uz, const float* wr, const float* ur, const float* h_prev,
                   float* z, float* r, float* s);
void gru_state_gpu(size_t n, const float* wh, const float* uh, const float* z, const float* h_prev, bool use_tanh,
                   float* hc, float* h);
void gru_state_backward_gpu(size_t n, const float* dh, const float* z, const float* hc, const float* h_prev,
                            bool use_tanh, float* dzz, float* dzh, float* dh_prev);
void gru_reset_backward_gpu(size_t n, const float* ds, const float* r, const float* h_prev, float* dzr,
                            float* dh_prev);
/// Softmax over `groups` groups per image of n elements at `stride` (spatial: one group per
/// position over the channels), temperature 1/inv_t.
void softmax_forward_gpu(const float* x, int batch, int per_image, int groups, int n, int stride, int group_stride,
                         float inv_t, float* y);
void softmax_backward_gpu(const float* y, const float* d, int batch, int per_image, int groups, int n, int stride,
                          int group_stride, float inv_t, float* dx);
/// [yolo]'s and [region]'s output transform over n values: y[i] = tf.forward(tf.entry(i), x[i]).
void yolo_forward_gpu(const float* x, size_t n, const YoloTransform& tf, float* y);
/// Its backward: dx[i] += loss_grad[i] (when not null), then dx[i] += d[i] * tf.grad(entry, y[i])
/// where tf.elementwise(entry) (softmax class scores: the caller adds their Jacobian term), in the
/// CPU's order.
void yolo_backward_gpu(const float* y, const float* d, const float* loss_grad, size_t n, const YoloTransform& tf,
                       float* dx);
/// [cost]: delta[i] = scale * dL/dy of cost_element(type, y[i], t[i]) (kernels/cost.hpp); returns
/// scale * the sum of the terms (block sums in double, added on the host in order: the same loss
/// every run).
double cost_gpu(const float* y, const float* t, size_t n, CostType type, float scale, float* delta);
/// Loss mode: delta = (y - t) * inv_t; returns -sum t log y (the same value every run: block sums
/// added on the host in order).
double softmax_ce_gpu(const float* y, const float* t, size_t n, float inv_t, float* delta);

// ---- normalization (batchnorm.cu, groupnorm.cu, lrn.cu) -------------------------------------
// Same math and conventions as kernels/batchnorm.hpp, groupnorm.hpp, lrn.hpp; statistics by
// Welford/Chan merges in float (no E[x^2] - E[x]^2).
void batchnorm_forward_train_gpu(const float* x, int N, int C, int S, const float* gamma, const float* beta, float* y,
                                 float* mean, float* inv_std, float* rolling_mean, float* rolling_var, double eps,
                                 double momentum);
void batchnorm_forward_eval_gpu(const float* x, int N, int C, int S, const float* gamma, const float* beta,
                                const float* rolling_mean, const float* rolling_var, float* y, double eps);
void batchnorm_backward_train_gpu(const float* x, const float* dy, int N, int C, int S, const float* gamma,
                                  const float* mean, const float* inv_std, float* dx, bool accumulate, float* dgamma,
                                  float* dbeta);
void batchnorm_backward_eval_gpu(const float* x, const float* dy, int N, int C, int S, const float* gamma,
                                 const float* rolling_mean, const float* rolling_var, float* dx, bool accumulate,
                                 float* dgamma, float* dbeta, double eps);
void groupnorm_forward_gpu(const float* x, int N, int C, int S, int G, const float* gamma, const float* beta, double eps,
                           float* y, float* mean, float* inv_std);
void groupnorm_backward_gpu(const float* x, const float* dy, int N, int C, int S, int G, const float* gamma,
                            const float* mean, const float* inv_std, float* dx, bool accumulate, float* dgamma,
                            float* dbeta);
void lrn_forward_gpu(const float* x, int N, int C, int S, const LrnParams& p, float* y);
/// The launch shape lrn_forward_gpu takes for these buffers (window sizes 1-7): positions and
/// channels per thread (lrn.cu's rule, or kernels/gpu_tuning.hpp's overrides).
void lrn_gpu_shape(int N, int C, int S, const float* x, const float* y, int* vec, int* run);
void lrn_backward_gpu(const float* x, const float* dy, int N, int C, int S, const LrnParams& p, float* dx,
                      bool accumulate);

}  // namespace dn

#endif  // DN_GPU
