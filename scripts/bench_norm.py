#!/usr/bin/env python3
"""Runs the normalization-kernel benchmark (make bench) and prints ms, GB/s and % of the STREAM
triad per kernel and shape. Usage: bench_norm.py <bench binary> <threads> [rounds]
Several rounds (for 2 threads, whose timings the host disturbs) report the best round and the
spread of the rounds."""
import json
import os
import subprocess
import sys

SHAPES = ["(32,64,56,56)", "(32,256,14,14)", "(64,32,28,28)", "(8,128,80,80)"]
KERNELS = ["BatchnormForwardTrain", "BatchnormBackwardTrain", "BatchnormForwardEval", "GroupnormForward",
           "GroupnormBackward", "LrnForward", "LrnBackward"]


def run(binary, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run([binary, "--benchmark_format=json", "--benchmark_min_time=0.2",
                          "--benchmark_filter=^BM_(StreamTriad|(Batchnorm(Forward|Backward)(Train|Eval)|Groupnorm(Forward|Backward)|Lrn(Forward|Backward))/shape)"], env=env, capture_output=True, text=True,
                         check=True).stdout
    res = {}
    for b in json.loads(out)["benchmarks"]:
        name = b["name"].split("/real_time")[0]
        res[name] = (b["real_time"], b["GB/s"] / 1e9 if b["GB/s"] > 1e6 else b["GB/s"])
    return res


def main():
    binary, threads = sys.argv[1], int(sys.argv[2])
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    runs = [run(binary, threads) for _ in range(rounds)]
    triads = sorted(r["BM_StreamTriad"][1] for r in runs)
    triad = triads[-1]
    print("== normalization kernels, float32 NCHW, %d thread(s), %d round(s); STREAM triad %.1f GB/s%s" % (
        threads, rounds, triad, " (rounds %s)" % " ".join("%.1f" % t for t in triads) if rounds > 1 else ""))
    print("   forward counts 2 tensor passes, backward 3; % is of the best triad")
    print("%-24s %-15s %9s %8s %6s %s" % ("kernel", "shape", "ms", "GB/s", "%", "(spread of rounds, GB/s)" if rounds > 1 else ""))
    for k in KERNELS:
        for i, shape in enumerate(SHAPES):
            name = "BM_%s/shape:%d" % (k, i)
            vals = sorted((r[name] for r in runs), key=lambda v: v[0])
            ms, gbs = vals[0]
            spread = " (%.1f-%.1f)" % (min(v[1] for v in vals), max(v[1] for v in vals)) if rounds > 1 else ""
            print("%-24s %-15s %9.3f %8.1f %5.0f%%%s" % (k, shape, ms, gbs, 100 * gbs / triad, spread))


if __name__ == "__main__":
    main()
