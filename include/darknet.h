/* darknet C API: plain C over libdarknet.so, for bindings (python/darknet.py) and C programs.
 *
 * Every function returns DN_OK (0) on success or a negative dn_status; the message of the last
 * failure on the calling thread is dn_last_error(). Tensors are float32 NCHW, row-major.
 * Gradients are true gradients dL/dx (not Darknet's negative "delta").
 */
#ifndef DARKNET_H
#define DARKNET_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    DN_OK = 0,
    DN_ERR_INVALID = -1, /* bad input: cfg, weights, image, argument */
    DN_ERR_RANGE = -2,   /* layer index, parameter name or buffer size out of range */
    DN_ERR_STATE = -3,   /* e.g. backward without a forward */
    DN_ERR_NOMEM = -4
} dn_status;

typedef struct dn_network dn_network; /* opaque */

/* One detection: box relative to the image (center x, y, width, height), class and probability. */
typedef struct {
    float x, y, w, h;
    int class_id;
    float prob;
} dn_detection;

/* Message of the last failed call on this thread ("" if none). */
const char* dn_last_error(void);

/* Builds a network from a cfg file, optionally loading weights (NULL: initial values).
 * batch > 0 overrides the cfg's batch/subdivisions. On failure returns NULL (see dn_last_error). */
dn_network* dn_network_create(const char* cfg_path, const char* weights_path, int batch);
void dn_network_free(dn_network* net);

int dn_network_num_layers(const dn_network* net, int* n);
/* Input shape [n, c, h, w] of the network and output shape of layer i (i = -1: output layer). */
int dn_network_input_shape(const dn_network* net, int shape[4]);
int dn_layer_shape(const dn_network* net, int i, int shape[4]);
/* Writes the cfg section name of layer i into buf. */
int dn_layer_type(const dn_network* net, int i, char* buf, size_t size);

/* Forward pass. x: n*c*h*w floats. train != 0: batch statistics, dropout. The output layer's
 * values are copied to out (may be NULL) when out_size equals its element count. */
int dn_network_forward(dn_network* net, const float* x, int train, float* out, size_t out_size);
/* Output of layer i after the last forward (size must equal its element count). */
int dn_layer_output(const dn_network* net, int i, float* out, size_t size);
/* Backward pass after a forward: dy = dL/d(output layer), dx receives dL/d(network input) (may be
 * NULL). Parameter gradients ADD into the gradient buffers (see dn_network_zero_grad). */
int dn_network_backward(dn_network* net, const float* dy, size_t dy_size, float* dx, size_t dx_size);
int dn_network_zero_grad(dn_network* net);
/* One optimizer step over the accumulated gradients with the given learning rate and the cfg's
 * [net] rule: SGD with momentum and decay (gradients become momentum), or Adam with adam=1
 * (gradients are zeroed). Gradients count as summed over batch*subdivisions images. */
int dn_network_update(dn_network* net, float learning_rate);

/* Parameters of layer i by Darknet name: "weights", "biases" (beta), "scales" (gamma),
 * "rolling_mean", "rolling_variance"; "name#k" is the k-th of that name (from 0), e.g. [rnn]'s
 * blocks "weights#0" (input), "weights#1" (self), "weights#2" (output). */
int dn_param_size(const dn_network* net, int i, const char* name, size_t* size);
int dn_param_get(const dn_network* net, int i, const char* name, float* out, size_t size);
int dn_param_set(dn_network* net, int i, const char* name, const float* values, size_t size);
int dn_grad_get(const dn_network* net, int i, const char* name, float* out, size_t size);

int dn_network_load_weights(dn_network* net, const char* path);
int dn_network_save_weights(const dn_network* net, const char* path);

/* Loads an image and writes Darknet's network input for it (stretch resize, or letterbox) into
 * out (c*h*w floats of the network's input size). */
int dn_load_image_input(const dn_network* net, const char* image_path, int letterbox, float* out, size_t size);
/* Runs detection on an image: up to max results (one per box and class above thresh, after NMS
 * with the cfg's nms_kind); *count receives how many were written. */
int dn_detect(dn_network* net, const char* image_path, float thresh, float nms, int letterbox, dn_detection* out,
              int max, int* count);

/* CPU threads for OpenBLAS and OpenMP. */
int dn_set_num_threads(int n);
/* Silences warnings and informational messages of the library (the Python binding turns it on). */
void dn_set_quiet(int quiet);

#ifdef __cplusplus
}
#endif

#endif /* DARKNET_H */
