// make bench: the normalization kernels on float32 NCHW shapes, and a STREAM triad for reference.
// Effective bandwidth counts the tensors a kernel must touch: forward 2 passes (read x, write y),
// backward 3 (read x and dy, write dx). Threads: OMP_NUM_THREADS (scripts/bench.sh runs 1 and 2).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>
#include <vector>

#include "kernels/batchnorm.hpp"
#include "kernels/groupnorm.hpp"
#include "kernels/lrn.hpp"

namespace {

struct Shape {
    int n, c, h, w;
    size_t size() const { return static_cast<size_t>(n) * c * h * w; }
};
const Shape kShapes[] = {{32, 64, 56, 56}, {32, 256, 14, 14}, {64, 32, 28, 28}, {8, 128, 80, 80}};

struct Data {
    std::vector<float> x, dy, y, gamma, beta, mean, inv, rm, rv;
    explicit Data(const Shape& s, int groups = 1) {
        std::mt19937 g(1);
        std::normal_distribution<float> d(0.5f, 2.f);
        x.resize(s.size());
        dy.resize(s.size());
        for (auto& v : x) v = d(g);
        for (auto& v : dy) v = d(g);
        y.resize(s.size());
        gamma.assign(s.c, 1.3f);
        beta.assign(s.c, 0.2f);
        mean.resize(std::max(s.c, s.n * groups));
        inv.resize(mean.size());
        rm.assign(s.c, 0.f);
        rv.assign(s.c, 1.f);
    }
};

void finish(benchmark::State& st, const Shape& s, int passes) {
    st.counters["GB/s"] = benchmark::Counter(static_cast<double>(passes) * s.size() * sizeof(float) / 1e9,
                                             benchmark::Counter::kIsIterationInvariantRate);
}

void BM_BatchnormForwardTrain(benchmark::State& st) {
    const Shape s = kShapes[st.range(0)];
    Data d(s);
    for (auto _ : st)
        dn::batchnorm_forward_train(d.x.data(), s.n, s.c, s.h * s.w, d.gamma.data(), d.beta.data(), d.y.data(),
                                    d.mean.data(), d.inv.data(), d.rm.data(), d.rv.data());
    finish(st, s, 2);
}

void BM_BatchnormBackwardTrain(benchmark::State& st) {
    const Shape s = kShapes[st.range(0)];
    Data d(s);
    std::vector<float> dg(s.c), db(s.c);
    dn::batchnorm_forward_train(d.x.data(), s.n, s.c, s.h * s.w, d.gamma.data(), d.beta.data(), d.y.data(),
                                d.mean.data(), d.inv.data(), d.rm.data(), d.rv.data());
    for (auto _ : st)
        dn::batchnorm_backward_train(d.x.data(), d.dy.data(), s.n, s.c, s.h * s.w, d.gamma.data(), d.mean.data(),
                                     d.inv.data(), d.y.data(), false, dg.data(), db.data());
    finish(st, s, 3);
}

void BM_BatchnormForwardEval(benchmark::State& st) {
    const Shape s = kShapes[st.range(0)];
    Data d(s);
    for (auto _ : st)
        dn::batchnorm_forward_eval(d.x.data(), s.n, s.c, s.h * s.w, d.gamma.data(), d.beta.data(), d.rm.data(),
                                   d.rv.data(), d.y.data());
    finish(st, s, 2);
}

void BM_GroupnormForward(benchmark::State& st) {
    const Shape s = kShapes[st.range(0)];
    const int G = 32;
    Data d(s, G);
    for (auto _ : st)
        dn::groupnorm_forward(d.x.data(), s.n, s.c, s.h * s.w, G, d.gamma.data(), d.beta.data(), 1e-5, d.y.data(),
                              d.mean.data(), d.inv.data());
    finish(st, s, 2);
}

void BM_GroupnormBackward(benchmark::State& st) {
    const Shape s = kShapes[st.range(0)];
    const int G = 32;
    Data d(s, G);
    std::vector<float> dg(s.c), db(s.c);
    dn::groupnorm_forward(d.x.data(), s.n, s.c, s.h * s.w, G, d.gamma.data(), d.beta.data(), 1e-5, d.y.data(),
                          d.mean.data(), d.inv.data());
    for (auto _ : st)
        dn::groupnorm_backward(d.x.data(), d.dy.data(), s.n, s.c, s.h * s.w, G, d.gamma.data(), d.mean.data(),
                               d.inv.data(), d.y.data(), false, dg.data(), db.data());
    finish(st, s, 3);
}

void BM_LrnForward(benchmark::State& st) {
    const Shape s = kShapes[st.range(0)];
    Data d(s);
    dn::LrnParams p;  // size 5, alpha 1e-4, beta .75, kappa 1
    for (auto _ : st) dn::lrn_forward(d.x.data(), s.n, s.c, s.h * s.w, p, d.y.data());
    finish(st, s, 2);
}

void BM_LrnBackward(benchmark::State& st) {
    const Shape s = kShapes[st.range(0)];
    Data d(s);
    dn::LrnParams p;
    for (auto _ : st) dn::lrn_backward(d.x.data(), d.dy.data(), s.n, s.c, s.h * s.w, p, d.y.data(), false);
    finish(st, s, 3);
}

// LRN on one image of 256 channels of S positions (x, dy and the output: 0.6 MB for S = 196, in
// L2), so the time is the kernel's compute: a plane whose S is not a multiple of 16 ends in a
// masked block (S = 192: none; 196 = 14x14, 169 = 13x13 and 729 = 27x27: a partial one; 13: only
// that). Reported as ns per value. With 2 threads, one image's planes are cut into tiles for both
// (S = 729: 8 tiles of 96; 169: 2 of 96).
void lrn_in_cache(benchmark::State& st, bool backward) {
    const Shape s{1, 256, 1, static_cast<int>(st.range(0))};
    Data d(s);
    std::vector<float> dx(s.size());
    dn::LrnParams p;
    for (auto _ : st) {
        if (backward) dn::lrn_backward(d.x.data(), d.dy.data(), s.n, s.c, s.w, p, dx.data(), false);
        else dn::lrn_forward(d.x.data(), s.n, s.c, s.w, p, d.y.data());
    }
    st.counters["ns/value"] = benchmark::Counter(static_cast<double>(s.size()) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate |
                                                     benchmark::Counter::kInvert);
}
void BM_LrnForwardInCache(benchmark::State& st) { lrn_in_cache(st, false); }
void BM_LrnBackwardInCache(benchmark::State& st) { lrn_in_cache(st, true); }

// Batchnorm and GroupNorm on 4 images of 64 channels of S positions (x, dy and the output: 0.6 MB
// for S = 196, in L2), so the time is the kernels' compute: the statistics (or backward sums) and
// the elementwise pass, in ns per value. S = 192 is a multiple of the reductions' 32 lanes, 196 and
// 729 leave a tail of 4 and 25, 13 is only a tail. GroupNorm: 32 groups of 2 channels.
enum class NormKind { BnForward, BnBackward, GnForward, GnBackward };
void norm_in_cache(benchmark::State& st, NormKind kind) {
    const Shape s{4, 64, 1, static_cast<int>(st.range(0))};
    const int G = 32;
    Data d(s, G);
    std::vector<float> dx(s.size()), dg(s.c), db(s.c);
    const int S = s.w;
    const bool bn = kind == NormKind::BnForward || kind == NormKind::BnBackward;
    if (bn)
        dn::batchnorm_forward_train(d.x.data(), s.n, s.c, S, d.gamma.data(), d.beta.data(), d.y.data(),
                                    d.mean.data(), d.inv.data(), d.rm.data(), d.rv.data());
    else
        dn::groupnorm_forward(d.x.data(), s.n, s.c, S, G, d.gamma.data(), d.beta.data(), 1e-5, d.y.data(),
                              d.mean.data(), d.inv.data());
    for (auto _ : st) {
        switch (kind) {
            case NormKind::BnForward:
                dn::batchnorm_forward_train(d.x.data(), s.n, s.c, S, d.gamma.data(), d.beta.data(), d.y.data(),
                                            d.mean.data(), d.inv.data(), d.rm.data(), d.rv.data());
                break;
            case NormKind::BnBackward:
                dn::batchnorm_backward_train(d.x.data(), d.dy.data(), s.n, s.c, S, d.gamma.data(), d.mean.data(),
                                             d.inv.data(), dx.data(), false, dg.data(), db.data());
                break;
            case NormKind::GnForward:
                dn::groupnorm_forward(d.x.data(), s.n, s.c, S, G, d.gamma.data(), d.beta.data(), 1e-5, d.y.data(),
                                      d.mean.data(), d.inv.data());
                break;
            case NormKind::GnBackward:
                dn::groupnorm_backward(d.x.data(), d.dy.data(), s.n, s.c, S, G, d.gamma.data(), d.mean.data(),
                                       d.inv.data(), dx.data(), false, dg.data(), db.data());
                break;
        }
        benchmark::ClobberMemory();
    }
    st.counters["ns/value"] = benchmark::Counter(static_cast<double>(s.size()) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate |
                                                     benchmark::Counter::kInvert);
}
void BM_BatchnormForwardTrainInCache(benchmark::State& st) { norm_in_cache(st, NormKind::BnForward); }
void BM_BatchnormBackwardTrainInCache(benchmark::State& st) { norm_in_cache(st, NormKind::BnBackward); }
void BM_GroupnormForwardInCache(benchmark::State& st) { norm_in_cache(st, NormKind::GnForward); }
void BM_GroupnormBackwardInCache(benchmark::State& st) { norm_in_cache(st, NormKind::GnBackward); }

// Batchnorm of fully connected rows (S = 1: [connected] batch_normalize=1 and the recurrent
// layers' blocks, normalized over each step's rows): a training step (forward, then backward) of
// N rows of C values, in ns per value. 16 x 256: one step of cfg/rnn.cfg's or cfg/gru.cfg's
// blocks; 128 x 1024: a classifier's [connected] head.
void BM_BatchnormRowsTrainStep(benchmark::State& st) {
    const Shape s{static_cast<int>(st.range(0)), static_cast<int>(st.range(1)), 1, 1};
    Data d(s);
    std::vector<float> dx(s.size()), dg(s.c), db(s.c);
    for (auto _ : st) {
        dn::batchnorm_forward_train(d.x.data(), s.n, s.c, 1, d.gamma.data(), d.beta.data(), d.y.data(), d.mean.data(),
                                    d.inv.data(), d.rm.data(), d.rv.data());
        dn::batchnorm_backward_train(d.x.data(), d.dy.data(), s.n, s.c, 1, d.gamma.data(), d.mean.data(),
                                     d.inv.data(), dx.data(), false, dg.data(), db.data());
        benchmark::ClobberMemory();
    }
    st.counters["ns/value"] = benchmark::Counter(static_cast<double>(s.size()) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate |
                                                     benchmark::Counter::kInvert);
}

// One training step of each layer (forward then backward), the unit PyTorch is compared in
// (scripts/bench_norm_vs_torch.sh); 5 tensor passes.
void BM_BatchnormTrainStep(benchmark::State& st) {
    const Shape s = kShapes[st.range(0)];
    Data d(s);
    std::vector<float> dx(s.size()), dg(s.c), db(s.c);
    for (auto _ : st) {
        dn::batchnorm_forward_train(d.x.data(), s.n, s.c, s.h * s.w, d.gamma.data(), d.beta.data(), d.y.data(),
                                    d.mean.data(), d.inv.data(), d.rm.data(), d.rv.data());
        dn::batchnorm_backward_train(d.x.data(), d.dy.data(), s.n, s.c, s.h * s.w, d.gamma.data(), d.mean.data(),
                                     d.inv.data(), dx.data(), false, dg.data(), db.data());
    }
    finish(st, s, 5);
}

void BM_GroupnormTrainStep(benchmark::State& st) {
    const Shape s = kShapes[st.range(0)];
    const int G = 32;
    Data d(s, G);
    std::vector<float> dx(s.size()), dg(s.c), db(s.c);
    for (auto _ : st) {
        dn::groupnorm_forward(d.x.data(), s.n, s.c, s.h * s.w, G, d.gamma.data(), d.beta.data(), 1e-5, d.y.data(),
                              d.mean.data(), d.inv.data());
        dn::groupnorm_backward(d.x.data(), d.dy.data(), s.n, s.c, s.h * s.w, G, d.gamma.data(), d.mean.data(),
                               d.inv.data(), dx.data(), false, dg.data(), db.data());
    }
    finish(st, s, 5);
}

void BM_LrnTrainStep(benchmark::State& st) {
    const Shape s = kShapes[st.range(0)];
    Data d(s);
    std::vector<float> dx(s.size());
    dn::LrnParams p;
    for (auto _ : st) {
        dn::lrn_forward(d.x.data(), s.n, s.c, s.h * s.w, p, d.y.data());
        dn::lrn_backward(d.x.data(), d.dy.data(), s.n, s.c, s.h * s.w, p, dx.data(), false);
    }
    finish(st, s, 5);
}

// STREAM triad a = b + s*c over 3 x 128 MB, the machine's attainable memory bandwidth.
void BM_StreamTriad(benchmark::State& st) {
    const size_t n = size_t(32) << 20;
    std::vector<float> a(n), b(n, 1.f), c(n, 2.f);
    const float s = 3.f;
    for (auto _ : st) {
#pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
        benchmark::DoNotOptimize(a.data());
    }
    st.counters["GB/s"] = benchmark::Counter(3.0 * n * sizeof(float) / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

void shapes(benchmark::internal::Benchmark* b) {
    for (int i = 0; i < 4; ++i) b->Arg(i);
    b->ArgName("shape")->Unit(benchmark::kMillisecond)->UseRealTime();
}

}  // namespace

BENCHMARK(BM_StreamTriad)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_BatchnormForwardTrain)->Apply(shapes);
BENCHMARK(BM_BatchnormBackwardTrain)->Apply(shapes);
BENCHMARK(BM_BatchnormForwardEval)->Apply(shapes);
BENCHMARK(BM_GroupnormForward)->Apply(shapes);
BENCHMARK(BM_GroupnormBackward)->Apply(shapes);
BENCHMARK(BM_LrnForward)->Apply(shapes);
BENCHMARK(BM_LrnBackward)->Apply(shapes);
BENCHMARK(BM_LrnForwardInCache)->ArgName("S")->Arg(192)->Arg(196)->Arg(169)->Arg(729)->Arg(13)->UseRealTime();
BENCHMARK(BM_LrnBackwardInCache)->ArgName("S")->Arg(192)->Arg(196)->Arg(169)->Arg(729)->Arg(13)->UseRealTime();
#define DN_IN_CACHE_SIZES ArgName("S")->Arg(192)->Arg(196)->Arg(729)->Arg(13)->UseRealTime()
BENCHMARK(BM_BatchnormForwardTrainInCache)->DN_IN_CACHE_SIZES;
BENCHMARK(BM_BatchnormBackwardTrainInCache)->DN_IN_CACHE_SIZES;
BENCHMARK(BM_GroupnormForwardInCache)->DN_IN_CACHE_SIZES;
BENCHMARK(BM_GroupnormBackwardInCache)->DN_IN_CACHE_SIZES;
BENCHMARK(BM_BatchnormTrainStep)->Apply(shapes);
BENCHMARK(BM_BatchnormRowsTrainStep)->ArgNames({"N", "C"})->Args({16, 256})->Args({128, 1024})->UseRealTime();
BENCHMARK(BM_GroupnormTrainStep)->Apply(shapes);
BENCHMARK(BM_LrnTrainStep)->Apply(shapes);
BENCHMARK_MAIN();
