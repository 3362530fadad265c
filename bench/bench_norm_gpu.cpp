// make bench GPU=1: the GPU normalization kernels (kernels/*.cu) on the CPU bench's shapes plus
// two shapes larger than an H100's 50 MB L2, timed with CUDA events; beside them cudaMemcpy
// device-to-device (the copy bandwidth the kernels are held to) and cuDNN's batchnorm forward
// training and backward (CUDNN=1). Two rates per kernel: "GB/s" counts the tensor passes our
// kernels make (batchnorm/groupnorm forward training 3: statistics read x, normalize reads x and
// writes y; their backward 5: the reduction reads x and dy, the elementwise pass reads x and dy
// and writes dx; LRN 2 forward and 3 backward, one pass each; copy 2), the bandwidth achieved and
// what is held to the copy's; "eff GB/s" counts only the tensors any kernel must touch (forward 2,
// backward 3), so that kernels with different schemes (cuDNN's) compare by time.
#ifdef DN_GPU
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "darknet/cuda.hpp"
#include "kernels/batchnorm.hpp"
#include "kernels/gpu.hpp"
#include "kernels/gpu_tuning.hpp"

namespace {

struct Shape {
    int n, c, h, w;
    size_t size() const { return static_cast<size_t>(n) * c * h * w; }
};
const Shape kShapes[] = {{32, 64, 56, 56}, {32, 256, 14, 14}, {64, 32, 28, 28}, {8, 128, 80, 80},
                         {32, 256, 56, 56}, {64, 128, 112, 112}};

struct GpuData {
    dn::DeviceBuffer<float> x, dy, y, gamma, beta, mean, inv, rm, rv, dg, db;
    GpuData(const Shape& s, int groups) {
        std::mt19937 g(1);
        std::normal_distribution<float> d(0.5f, 2.f);
        std::vector<float> h(s.size());
        for (auto& v : h) v = d(g);
        x.push(h.data(), h.size());
        for (auto& v : h) v = d(g);
        dy.push(h.data(), h.size());
        y.resize(s.size());
        std::vector<float> c1(s.c, 1.3f), c0(s.c, 0.2f), one(s.c, 1.f);
        gamma.push(c1.data(), s.c);
        beta.push(c0.data(), s.c);
        rm.resize(s.c);
        rv.push(one.data(), s.c);
        const size_t stats = std::max<size_t>(s.c, static_cast<size_t>(s.n) * groups);
        mean.resize(stats);
        inv.resize(stats);
        dg.resize(s.c);
        db.resize(s.c);
    }
};

// One set of buffers per (shape, groups), made on first use: Google Benchmark calls each function
// several times, and filling 10^8 values on the host each time took minutes.
GpuData& data_for(int shape, int groups) {
    static std::map<std::pair<int, int>, std::unique_ptr<GpuData>> cache;
    auto& d = cache[{shape, groups}];
    if (!d) d = std::make_unique<GpuData>(kShapes[shape], groups);
    return *d;
}

bool have_gpu() {
    static const bool ok = [] {
        if (dn::gpu_count() == 0) return false;
        dn::gpu_set_device(0);
        return true;
    }();
    return ok;
}

// Overwrites twice the L2 (cudaMemset, outside the timed span) so that each timed call starts
// with none of its tensors in the cache: a kernel that re-reads what it read last (our forward's
// second pass) must earn its cache hits within the call, not from the call before.
void flush_l2() {
    static auto* junk = [] {  // kept to the end of the process (no free after the context is gone)
        int l2 = 0;
        cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, 0);
        return new dn::DeviceBuffer<char>(std::max<size_t>(2 * static_cast<size_t>(l2), 64u << 20));
    }();
    cudaMemsetAsync(junk->data(), 0, junk->size());
}

// Runs f under CUDA events per iteration (manual time), the L2 flushed before each, then sets the
// GB/s counters.
template <class F>
void timed(benchmark::State& st, const Shape& s, int min_passes, int passes, F&& f) {
    if (!have_gpu()) {
        st.SkipWithError("no CUDA device");
        return;
    }
    cudaEvent_t a, b;
    cudaEventCreate(&a);
    cudaEventCreate(&b);
    f();  // warm up (and cuDNN/cuBLAS setup)
    for (auto _ : st) {
        flush_l2();
        cudaEventRecord(a);
        f();
        cudaEventRecord(b);
        cudaEventSynchronize(b);
        float ms = 0;
        cudaEventElapsedTime(&ms, a, b);
        st.SetIterationTime(ms / 1e3);
    }
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    st.counters["GB/s"] = benchmark::Counter(static_cast<double>(passes) * s.size() * sizeof(float) / 1e9,
                                             benchmark::Counter::kIsIterationInvariantRate);
    st.counters["eff GB/s"] = benchmark::Counter(static_cast<double>(min_passes) * s.size() * sizeof(float) / 1e9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

void BM_GpuCopy(benchmark::State& st) {
    const Shape s = kShapes[st.range(0)];
    if (!have_gpu()) return st.SkipWithError("no CUDA device");
    GpuData& d = data_for(static_cast<int>(st.range(0)), 1);
    timed(st, s, 2, 2, [&] { dn::gpu_memcpy_d2d(d.y.data(), d.x.data(), s.size() * sizeof(float)); });
}

// A launch-shape alternative of batchnorm/GroupNorm: values per reduction block (`chunk`, 0: the
// rule's 8192) and units of V floats per thread in the elementwise passes (`units`, 0: the rule's 4).
struct NormShape {
    int chunk = 0, units = 0;
};

dn::GpuTuning norm_tuning(benchmark::State& st, NormShape a) {
    st.SetLabel((a.chunk ? "chunk " + std::to_string(a.chunk) : "chunk 8192 (rule)") +
                (a.units ? ", units " + std::to_string(a.units) : ""));
    dn::GpuTuning t;
    t.norm_chunk = a.chunk;
    t.elem_units = a.units;
    return t;
}

// Batchnorm and GroupNorm with the rules' shapes (reduction blocks of 8192 values, 4 units per
// thread in the elementwise passes) and, as alternatives for choosing the rules, blocks of 4096
// and 32768 values (gpu_tuning().norm_chunk) and 1 unit per thread (gpu_tuning().elem_units; the
// shape of the H100 measurements in docs/benchmarks.md).
void bn_forward(benchmark::State& st, NormShape a) {
    const Shape s = kShapes[st.range(0)];
    if (!have_gpu()) return st.SkipWithError("no CUDA device");
    GpuData& d = data_for(static_cast<int>(st.range(0)), 1);
    const dn::ScopedGpuTuning tune(norm_tuning(st, a));
    timed(st, s, 2, 3, [&] {
        dn::batchnorm_forward_train_gpu(d.x.data(), s.n, s.c, s.h * s.w, d.gamma.data(), d.beta.data(), d.y.data(),
                                        d.mean.data(), d.inv.data(), d.rm.data(), d.rv.data(), dn::kBatchnormEps,
                                        dn::kBatchnormMomentum);
    });
}

void bn_backward(benchmark::State& st, NormShape a) {
    const Shape s = kShapes[st.range(0)];
    if (!have_gpu()) return st.SkipWithError("no CUDA device");
    GpuData& d = data_for(static_cast<int>(st.range(0)), 1);
    const dn::ScopedGpuTuning tune(norm_tuning(st, a));
    dn::batchnorm_forward_train_gpu(d.x.data(), s.n, s.c, s.h * s.w, d.gamma.data(), d.beta.data(), d.y.data(),
                                    d.mean.data(), d.inv.data(), d.rm.data(), d.rv.data(), dn::kBatchnormEps,
                                    dn::kBatchnormMomentum);
    timed(st, s, 3, 5, [&] {
        dn::batchnorm_backward_train_gpu(d.x.data(), d.dy.data(), s.n, s.c, s.h * s.w, d.gamma.data(), d.mean.data(),
                                         d.inv.data(), d.y.data(), false, d.dg.data(), d.db.data());
    });
}

void gn_forward(benchmark::State& st, NormShape a) {
    const Shape s = kShapes[st.range(0)];
    if (!have_gpu()) return st.SkipWithError("no CUDA device");
    GpuData& d = data_for(static_cast<int>(st.range(0)), 32);
    const dn::ScopedGpuTuning tune(norm_tuning(st, a));
    timed(st, s, 2, 3, [&] {
        dn::groupnorm_forward_gpu(d.x.data(), s.n, s.c, s.h * s.w, 32, d.gamma.data(), d.beta.data(), 1e-5, d.y.data(),
                                  d.mean.data(), d.inv.data());
    });
}

void gn_backward(benchmark::State& st, NormShape a) {
    const Shape s = kShapes[st.range(0)];
    if (!have_gpu()) return st.SkipWithError("no CUDA device");
    GpuData& d = data_for(static_cast<int>(st.range(0)), 32);
    const dn::ScopedGpuTuning tune(norm_tuning(st, a));
    dn::groupnorm_forward_gpu(d.x.data(), s.n, s.c, s.h * s.w, 32, d.gamma.data(), d.beta.data(), 1e-5, d.y.data(),
                              d.mean.data(), d.inv.data());
    timed(st, s, 3, 5, [&] {
        dn::groupnorm_backward_gpu(d.x.data(), d.dy.data(), s.n, s.c, s.h * s.w, 32, d.gamma.data(), d.mean.data(),
                                   d.inv.data(), d.y.data(), false, d.dg.data(), d.db.data());
    });
}

#define DN_NORM_BENCHES(Name, fn)                                                                \
    void BM_Gpu##Name(benchmark::State& st) { fn(st, {}); }                                      \
    void BM_Gpu##Name##Chunk4k(benchmark::State& st) { fn(st, {4096, 0}); }                      \
    void BM_Gpu##Name##Chunk32k(benchmark::State& st) { fn(st, {32768, 0}); }                    \
    void BM_Gpu##Name##Units1(benchmark::State& st) { fn(st, {0, 1}); }                          \
    BENCHMARK(BM_Gpu##Name)->DenseRange(0, 5)->UseManualTime()->Unit(benchmark::kMillisecond);          \
    BENCHMARK(BM_Gpu##Name##Chunk4k)->DenseRange(0, 5)->UseManualTime()->Unit(benchmark::kMillisecond); \
    BENCHMARK(BM_Gpu##Name##Chunk32k)->DenseRange(0, 5)->UseManualTime()->Unit(benchmark::kMillisecond); \
    BENCHMARK(BM_Gpu##Name##Units1)->DenseRange(0, 5)->UseManualTime()->Unit(benchmark::kMillisecond)

// LRN with its launch rule's shape (labelled "vec V run R"), and with fixed shapes: one position
// and 32 channels per thread (the shape of the H100 measurements in docs/benchmarks.md), ...
void lrn_bench(benchmark::State& st, bool backward, int vec, int run) {
    const Shape s = kShapes[st.range(0)];
    if (!have_gpu()) return st.SkipWithError("no CUDA device");
    GpuData& d = data_for(static_cast<int>(st.range(0)), 1);
    dn::LrnParams p;
    dn::GpuTuning t;
    t.lrn_vec = vec, t.lrn_run = run;
    const dn::ScopedGpuTuning tune(t);
    int v = 0, r = 0;
    dn::lrn_gpu_shape(s.n, s.c, s.h * s.w, d.x.data(), d.y.data(), &v, &r);
    st.SetLabel("vec " + std::to_string(v) + " run " + std::to_string(r));
    if (backward)
        timed(st, s, 3, 3, [&] { dn::lrn_backward_gpu(d.x.data(), d.dy.data(), s.n, s.c, s.h * s.w, p, d.y.data(), false); });
    else
        timed(st, s, 2, 2, [&] { dn::lrn_forward_gpu(d.x.data(), s.n, s.c, s.h * s.w, p, d.y.data()); });
}
void BM_GpuLrnForward(benchmark::State& st) { lrn_bench(st, false, 0, 0); }
void BM_GpuLrnBackward(benchmark::State& st) { lrn_bench(st, true, 0, 0); }
void BM_GpuLrnForwardV1Run32(benchmark::State& st) { lrn_bench(st, false, 1, 32); }
void BM_GpuLrnBackwardV1Run32(benchmark::State& st) { lrn_bench(st, true, 1, 32); }
// The rule's V with runs of 32 channels (the previous rule's choice on the large shapes) and with
// whole channel columns (the fewest threads, no halo).
void BM_GpuLrnForwardRun32(benchmark::State& st) { lrn_bench(st, false, 0, 32); }
void BM_GpuLrnBackwardRun32(benchmark::State& st) { lrn_bench(st, true, 0, 32); }
void BM_GpuLrnForwardRunAll(benchmark::State& st) { lrn_bench(st, false, 0, 1 << 20); }
void BM_GpuLrnBackwardRunAll(benchmark::State& st) { lrn_bench(st, true, 0, 1 << 20); }

#ifdef DN_CUDNN
// cuDNN's spatial batchnorm (CUDNN_BATCHNORM_SPATIAL; epsilon 1e-5, factor 0.01 as ours).
struct CudnnBn {
    cudnnTensorDescriptor_t x = nullptr, p = nullptr;
    explicit CudnnBn(const Shape& s) {
        cudnnCreateTensorDescriptor(&x);
        cudnnCreateTensorDescriptor(&p);
        cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, s.n, s.c, s.h, s.w);
        cudnnSetTensor4dDescriptor(p, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, s.c, 1, 1);
    }
    ~CudnnBn() {
        cudnnDestroyTensorDescriptor(x);
        cudnnDestroyTensorDescriptor(p);
    }
};

void BM_GpuCudnnBatchnormForwardTrain(benchmark::State& st) {
    const Shape s = kShapes[st.range(0)];
    if (!have_gpu()) return st.SkipWithError("no CUDA device");
    GpuData& d = data_for(static_cast<int>(st.range(0)), 1);
    CudnnBn c(s);
    const float one = 1.f, zero = 0.f;
    timed(st, s, 2, 2, [&] {
        DN_CUDNN_CHECK(cudnnBatchNormalizationForwardTraining(dn::cudnn_handle(), CUDNN_BATCHNORM_SPATIAL, &one, &zero, c.x,
                                                              d.x.data(), c.x, d.y.data(), c.p, d.gamma.data(), d.beta.data(),
                                                              0.01, d.rm.data(), d.rv.data(), 1e-5, d.mean.data(),
                                                              d.inv.data()));
    });
}

void BM_GpuCudnnBatchnormBackward(benchmark::State& st) {
    const Shape s = kShapes[st.range(0)];
    if (!have_gpu()) return st.SkipWithError("no CUDA device");
    GpuData& d = data_for(static_cast<int>(st.range(0)), 1);
    CudnnBn c(s);
    const float one = 1.f, zero = 0.f;
    DN_CUDNN_CHECK(cudnnBatchNormalizationForwardTraining(dn::cudnn_handle(), CUDNN_BATCHNORM_SPATIAL, &one, &zero, c.x,
                                                          d.x.data(), c.x, d.y.data(), c.p, d.gamma.data(), d.beta.data(),
                                                          0.01, d.rm.data(), d.rv.data(), 1e-5, d.mean.data(), d.inv.data()));
    timed(st, s, 3, 3, [&] {
        DN_CUDNN_CHECK(cudnnBatchNormalizationBackward(dn::cudnn_handle(), CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one, &one,
                                                       c.x, d.x.data(), c.x, d.dy.data(), c.x, d.y.data(), c.p,
                                                       d.gamma.data(), d.dg.data(), d.db.data(), 1e-5, d.mean.data(),
                                                       d.inv.data()));
    });
}
BENCHMARK(BM_GpuCudnnBatchnormForwardTrain)->DenseRange(0, 5)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GpuCudnnBatchnormBackward)->DenseRange(0, 5)->UseManualTime()->Unit(benchmark::kMillisecond);
#endif

BENCHMARK(BM_GpuCopy)->DenseRange(0, 5)->UseManualTime()->Unit(benchmark::kMillisecond);
DN_NORM_BENCHES(BatchnormForwardTrain, bn_forward);
DN_NORM_BENCHES(BatchnormBackwardTrain, bn_backward);
DN_NORM_BENCHES(GroupnormForward, gn_forward);
DN_NORM_BENCHES(GroupnormBackward, gn_backward);
BENCHMARK(BM_GpuLrnForward)->DenseRange(0, 5)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GpuLrnBackward)->DenseRange(0, 5)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GpuLrnForwardV1Run32)->DenseRange(0, 5)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GpuLrnBackwardV1Run32)->DenseRange(0, 5)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GpuLrnForwardRun32)->DenseRange(0, 5)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GpuLrnBackwardRun32)->DenseRange(0, 5)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GpuLrnForwardRunAll)->DenseRange(0, 5)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GpuLrnBackwardRunAll)->DenseRange(0, 5)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace
#endif  // DN_GPU
