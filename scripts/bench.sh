#!/usr/bin/env bash
# `make bench`: every benchmark behind docs/benchmarks.md, each printed with what produced it.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_BIN=${BENCH_BIN:-$(make -s print-bench-bin)}
echo "#### scripts/bench_detect.sh"
bash scripts/bench_detect.sh
echo
echo "#### scripts/bench_norm.py $BENCH_BIN 1 3"
python3 scripts/bench_norm.py "$BENCH_BIN" 1 3
echo
echo "#### scripts/bench_norm.py $BENCH_BIN 2 3"
python3 scripts/bench_norm.py "$BENCH_BIN" 2 3
echo
for t in 1 2; do
    echo "#### OMP_NUM_THREADS=$t $BENCH_BIN --benchmark_filter=InCache (LRN, batchnorm, GroupNorm in cache: ns per value)"
    OMP_NUM_THREADS=$t "$BENCH_BIN" --benchmark_filter=InCache --benchmark_min_time=0.2 2>/dev/null | grep '^BM_'
done
echo
for t in 1 2; do
    echo "#### OMP_NUM_THREADS=$t $BENCH_BIN --benchmark_filter=FitAnchors (calc_anchors' k-means: seconds per fit)"
    OMP_NUM_THREADS=$t "$BENCH_BIN" --benchmark_filter=FitAnchors 2>/dev/null | grep '^BM_'
done
echo
echo "#### scripts/bench_norm_gpu.py $BENCH_BIN"
python3 scripts/bench_norm_gpu.py "$BENCH_BIN"
echo
echo "#### scripts/bench_norm_vs_torch.sh 2; scripts/bench_norm_vs_torch.sh 1"
BENCH_BIN=$BENCH_BIN bash scripts/bench_norm_vs_torch.sh 2
BENCH_BIN=$BENCH_BIN bash scripts/bench_norm_vs_torch.sh 1
