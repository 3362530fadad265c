#!/usr/bin/env bash
# `make bench`: every benchmark, with the commands that produce the figures in docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bench_detect.sh
if [ -n "${BENCH_BIN:-}" ] && [ -x "$BENCH_BIN" ]; then
    for t in 1 2; do
        echo "== normalization kernels, $t thread(s): OMP_NUM_THREADS=$t $BENCH_BIN"
        OMP_NUM_THREADS=$t "$BENCH_BIN" --benchmark_min_time=0.2
    done
fi
