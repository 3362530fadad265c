// DN_GPU_LAYER_DECLS: declares a layer's forward_gpu/backward_gpu overrides in GPU builds
// (defined in the layer's .cu file); nothing in CPU builds, where the Layer defaults apply.
#pragma once

#ifdef DN_GPU
#define DN_GPU_LAYER_DECLS                      \
    void forward_gpu(Network<T>& net) override; \
    void backward_gpu(Network<T>& net) override;
#else
#define DN_GPU_LAYER_DECLS
#endif
