#!/usr/bin/env python3
"""A/B of two builds of the benchmark binary: rounds interleaved (A, B, A, B, ...) so that the
host's slow spells fall on both, best round and spread per row, and best(A) / best(B).
Usage: bench_ab.py <A binary> <B binary> <benchmark filter> [threads 1] [rounds 3] [counter real_time]
`counter` is a column of the JSON output (real_time, or a counter such as ns/value; lower is better).
Example (an older build against this one):
  git worktree add /tmp/old <rev> && make -C /tmp/old -j2 bench-bin
  scripts/bench_ab.py /tmp/old/$(make -s print-bench-bin) $(make -s print-bench-bin) InCache 2 3 ns/value"""
import json
import os
import subprocess
import sys


def run(binary, flt, threads):
    out = subprocess.run([binary, "--benchmark_filter=" + flt, "--benchmark_min_time=0.15", "--benchmark_format=json"],
                         env=dict(os.environ, OMP_NUM_THREADS=str(threads)), capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out)["benchmarks"]


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    a, b, flt = sys.argv[1:4]
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    rounds = int(sys.argv[5]) if len(sys.argv) > 5 else 3
    counter = sys.argv[6] if len(sys.argv) > 6 else "real_time"
    res, names = {}, []
    for _ in range(rounds):
        for side, binary in (("A", a), ("B", b)):
            for row in run(binary, flt, threads):
                name = row["name"].split("/real_time")[0]
                if name not in names:
                    names.append(name)
                res.setdefault((name, side), []).append(row[counter])
    print("== %s, %d thread(s), %d interleaved rounds; best (spread); A: %s, B: %s" % (counter, threads, rounds, a, b))
    for n in names:
        va, vb = res.get((n, "A")), res.get((n, "B"))
        if not va or not vb:
            print("%-36s only in %s" % (n, "A" if va else "B"))
            continue
        print("%-36s A %8.3f (%.3f-%.3f)  B %8.3f (%.3f-%.3f)  A/B %.2fx" % (
            n, min(va), min(va), max(va), min(vb), min(vb), max(vb), min(va) / min(vb)))


if __name__ == "__main__":
    main()
