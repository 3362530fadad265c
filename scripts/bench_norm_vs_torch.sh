#!/usr/bin/env bash
# One training step (forward + backward) of batchnorm, GroupNorm(32) and LRN(5) on float32
# (32,64,56,56), ours and PyTorch's (Debian python3-torch, CPU), side by side, with the same
# number of threads (default 2; the first argument overrides). Each figure is the best of 5 rounds
# of medians; the spread of the rounds is printed too (the host steals cycles from 2 threads).
set -euo pipefail
cd "$(dirname "$0")/.."
T=${1:-2}
[ -x "${BENCH_BIN:-}" ] || { make -j2 --no-print-directory bench-bin >/dev/null; BENCH_BIN=$(make -s print-bench-bin); }

ours() {  # benchmark name -> "best worst" ms over 5 rounds
    for r in 1 2 3 4 5; do
        OMP_NUM_THREADS=$T "$BENCH_BIN" --benchmark_filter="^$1/shape:0/" --benchmark_min_time=0.2 2>/dev/null |
            awk '/^BM_/ {print $2}'
    done | sort -g | awk 'NR==1 {b=$1} {w=$1} END {printf "%s %s", b, w}'
}

torch_times=$(/usr/bin/python3 - "$T" <<'PY'
import sys, time
try:
    import torch
except ImportError:
    print("n/a n/a n/a n/a n/a n/a"); sys.exit(0)
torch.set_num_threads(int(sys.argv[1]))
x0 = torch.randn(32, 64, 56, 56) * 2 + 0.5
dy = torch.randn(32, 64, 56, 56)
mods = [torch.nn.BatchNorm2d(64).train(), torch.nn.GroupNorm(32, 64),
        # Darknet's alpha is not divided by size; torch's is: alpha_torch = alpha * size
        torch.nn.LocalResponseNorm(5, alpha=1e-4 * 5, beta=0.75, k=1.0)]
out = []
for m in mods:
    rounds = []
    for r in range(5):
        ts = []
        for i in range(8):
            x = x0.clone().requires_grad_(True)
            s = time.perf_counter()
            y = m(x)
            y.backward(dy)
            ts.append((time.perf_counter() - s) * 1e3)
        rounds.append(sorted(ts)[len(ts) // 2])
    out += ["%.2f" % min(rounds), "%.2f" % max(rounds)]
print(" ".join(out))
PY
)
read -r tb_b tb_w tg_b tg_w tl_b tl_w <<<"$torch_times"
read -r ob_b ob_w <<<"$(ours BM_BatchnormTrainStep)"
read -r og_b og_w <<<"$(ours BM_GroupnormTrainStep)"
read -r ol_b ol_w <<<"$(ours BM_LrnTrainStep)"

echo "== training step (forward + backward), float32 (32,64,56,56), $T thread(s); ms, best of 5 rounds (worst)"
printf "%-16s %18s %20s %9s %8s\n" layer darknet pytorch-1.13 speedup target
row() {
    local sp
    sp=$(awk -v a="$2" -v b="$4" 'BEGIN { if (b == "n/a") print "n/a"; else printf "%.1fx", b / a }')
    printf "%-16s %8s (%7s) %9s (%7s) %9s %8s\n" "$1" "$2" "$3" "$4" "$5" "$sp" "$6"
}
row "batchnorm" "$ob_b" "$ob_w" "$tb_b" "$tb_w" ">= 3x"
row "groupnorm(32)" "$og_b" "$og_w" "$tg_b" "$tg_w" ">= 1.3x"
row "lrn(5)" "$ol_b" "$ol_w" "$tl_b" "$tl_w" ">= 20x"
