// Shared pieces of the layers' .cu files: the float-only guard and the explicit instantiation of
// forward_gpu/backward_gpu for both scalar types (double networks are for gradient checks on the
// CPU and refuse GPU runs).
#pragma once

#ifdef DN_GPU

#include <string>
#include <type_traits>

#include "darknet/error.hpp"
#include "darknet/network.hpp"
#include "kernels/gpu.hpp"

namespace dn {

[[noreturn]] inline void gpu_needs_float(const std::string& where) {
    fail("%s: GPU runs need a float network", where.c_str());
}

}  // namespace dn

#define DN_GPU_LAYER_METHODS(CLASS)                                    \
    template void CLASS<float>::forward_gpu(Network<float>&);          \
    template void CLASS<float>::backward_gpu(Network<float>&);         \
    template void CLASS<double>::forward_gpu(Network<double>&);        \
    template void CLASS<double>::backward_gpu(Network<double>&);

#endif
