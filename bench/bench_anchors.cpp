// make bench: `detector calc_anchors`' k-means (fit_anchors: 9 anchors, 10 runs) on box sizes drawn
// log-normally, at 100,000 boxes and at 860,000 (about COCO train2017's boxes). Seconds per fit.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "darknet/anchors.hpp"

namespace {

void BM_FitAnchors(benchmark::State& st) {
    std::mt19937_64 g(1);
    std::normal_distribution<double> d(3.5, 1.0);
    std::vector<dn::BoxSize> boxes(static_cast<size_t>(st.range(0)));
    for (auto& b : boxes) b = {std::exp(d(g)), std::exp(d(g))};
    for (auto _ : st) benchmark::DoNotOptimize(dn::fit_anchors(boxes, 9, 10, 0).avg_iou);
}
BENCHMARK(BM_FitAnchors)->ArgName("boxes")->Arg(100000)->Arg(860000)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

}  // namespace
