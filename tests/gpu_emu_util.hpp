// Helpers of the emulated-kernel tests (tests/test_gpu_emu_*.cpp): the kernels under test, random
// tensors and the same agreement measure as tests/test_gpu_agreement.cpp (max |a - b| / max |b|
// <= 1e-5 in float32).
//
// A test file defines DN_EMU_KERNELS_CU as the path of its .cu file (relative to tests/), includes
// this header and puts its tests under `#if DN_EMU_TESTS`. CPU builds compile that .cu file into the
// test itself, on the emulation of tests/cuda_emu.hpp; GPU=emu builds call the library's launchers
// (the same .cu files built as C++); real GPU builds leave these tests out (they pass host memory).
#pragma once

#if !defined(DN_GPU) || defined(DN_GPU_EMU)
#define DN_EMU_TESTS 1
#include "cuda_emu.hpp"
#ifdef DN_GPU
#include "kernels/gpu.hpp"
#else
#include DN_EMU_KERNELS_CU
#endif
#else
#define DN_EMU_TESTS 0
#endif

#include <gtest/gtest.h>

#include "kernels/gpu_tuning.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace emu_test {

/// n values from N(mean, sd), plus `pad` leading values: data() + pad is then 4-byte but not
/// 16-byte aligned when pad is odd, which sends the launchers down their scalar (non-float4) path.
struct Tensor {
    std::vector<float> v;
    size_t pad;
    Tensor(size_t n, std::mt19937& g, float mean = 0.f, float sd = 1.f, size_t pad_ = 0) : v(n + pad_), pad(pad_) {
        std::normal_distribution<float> d(mean, sd);
        for (auto& x : v) x = d(g);
    }
    float* data() { return v.data() + pad; }
    size_t size() const { return v.size() - pad; }
    std::vector<float> values() const { return {v.begin() + pad, v.end()}; }
};

inline double max_norm_err(const std::vector<float>& a, const std::vector<float>& b) {
    double diff = 0, scale = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - b[i]));
        scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
    }
    return diff / std::max(scale, 1e-6);
}

/// EXPECTs got ~= want (normalized error <= 1e-5) and equal sizes.
inline void expect_close(const std::string& what, const std::vector<float>& got, const std::vector<float>& want) {
    ASSERT_EQ(got.size(), want.size()) << what;
    EXPECT_LE(max_norm_err(got, want), 1e-5) << what;
}

/// The checks of the large-mean statistics tests (x ~ N(1000, 1), gamma ~ N(1, .5)): per channel or
/// group, the GPU's mean within 4 ulps of 1000 of the CPU's (double-precision) mean, its inverse
/// standard deviation within 1e-5 relative; y within 5 such ulps times 1.5 (|gamma| bound) absolute.
inline void expect_large_mean_stats(const std::string& what, const std::vector<float>& mean_e,
                                    const std::vector<float>& mean, const std::vector<float>& inv_e,
                                    const std::vector<float>& inv, const std::vector<float>& ye,
                                    const std::vector<float>& y) {
    constexpr double ulp1000 = 6.1035e-5;
    for (size_t q = 0; q < mean.size(); ++q) {
        EXPECT_LE(std::fabs(mean_e[q] - mean[q]), 4 * ulp1000) << what << ": mean " << q;
        EXPECT_LE(std::fabs(inv_e[q] / inv[q] - 1), 1e-5) << what << ": inv_std " << q;
    }
    double y_err = 0;
    for (size_t i = 0; i < y.size(); ++i) y_err = std::max(y_err, std::fabs(static_cast<double>(ye[i]) - y[i]));
    EXPECT_LE(y_err, 5 * ulp1000 * 1.5) << what << ": y";
}

}  // namespace emu_test
