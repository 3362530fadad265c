// Launch shapes of the GPU normalization kernels that only a device can settle. Each launcher
// picks its shape by a rule (its .cu file says which); a field set here (non-zero) overrides the
// rule, so that `make bench GPU=1` can time the alternatives side by side and the GPU emulation
// tests (tests/test_gpu_emu_*.cpp) can drive every path. Host code; no CUDA needed.
#pragma once

namespace dn {

struct GpuTuning {
    int lrn_vec = 0;  ///< LRN: positions per thread, 1, 2 or 4 (0: the rule; 2 and 4 need H*W % v == 0)
    int lrn_run = 0;  ///< LRN: channels per thread, >= 1 (0: the rule)
    int norm_chunk = 0;  ///< batchnorm/GroupNorm reductions: values per block, >= 32 (0: the rule, 8192)
    int elem_units = 0;  ///< batchnorm/GroupNorm elementwise passes: units of V floats per thread, 1 or 4 (0: the rule, 4)
};

/// Overrides from a spec "key=value,key=value" ("lrn_vec=4,lrn_run=32,norm_chunk=16384,elem_units=1"; null or ""
/// gives none).
/// Throws dn::Error naming an unknown key or a bad value.
GpuTuning parse_gpu_tuning(const char* spec);
/// The process-wide overrides: parse_gpu_tuning($DN_GPU_TUNING) at first use.
GpuTuning& gpu_tuning();

/// Sets gpu_tuning() for its lifetime, then clears it: for benchmarks and tests that time or drive
/// launch shapes the rules would not pick.
struct ScopedGpuTuning {
    explicit ScopedGpuTuning(const GpuTuning& t) { gpu_tuning() = t; }
    ~ScopedGpuTuning() { gpu_tuning() = GpuTuning{}; }
    ScopedGpuTuning(const ScopedGpuTuning&) = delete;
    ScopedGpuTuning& operator=(const ScopedGpuTuning&) = delete;
};

}  // namespace dn
