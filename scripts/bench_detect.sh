#!/usr/bin/env bash
# Detection latency of yolo-fastest-1.1-xl (320x320) on this machine, 1 and 2 threads:
#  - warm: median forward time of a network loaded once (`darknet benchmark`, 200 runs), in 3
#    rounds: the best round and the spread of the rounds (the host steals cycles from 2 threads)
#  - cold: median wall time of a whole `darknet detector test` process on one image (11 runs)
#  - OpenCV's DNN module on the same cfg/weights/input size, warm median, for comparison
# Usage: scripts/bench_detect.sh [cfg weights image]
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${DARKNET_SHARED:-../shared}
M=$SHARED/models/yolo-fastest-1.1
CFG=${1:-$M/yolo-fastest-1.1-xl.cfg}
WEIGHTS=${2:-$M/yolo-fastest-1.1-xl.weights}
IMAGE=${3:-$SHARED/images/dog.jpg}
[ -f "$WEIGHTS" ] || { echo "bench_detect: $WEIGHTS not found (../shared missing?)"; exit 0; }
[ -x ./darknet ] || make -j2 --no-print-directory darknet

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# bash's own clock: no `date` process inside the timed span
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)).$((t % 1000 / 100)); }

echo "== $(basename "$CFG") on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
for t in 1 2; do
    rounds=$(for r in 1 2 3; do
        ./darknet benchmark "$CFG" "$WEIGHTS" -image "$IMAGE" -runs 200 -warmup 10 -threads $t |
            sed -n 's/.*median \([0-9.]*\) ms.*/\1/p'
    done | sort -g | tr '\n' ' ')
    best=$(echo $rounds | awk '{print $1}')
    worst=$(echo $rounds | awk '{print $NF}')
    cold=$(for i in $(seq 11); do
        s=$(now_ms)
        OMP_NUM_THREADS=$t ./darknet detector test cfg/coco.data "$CFG" "$WEIGHTS" "$IMAGE" -dont_show >/dev/null 2>&1
        e=$(now_ms)
        awk -v s="$s" -v e="$e" 'BEGIN {printf "%.1f\n", e - s}'
    done | median)
    rm -f predictions.jpg
    cv=$(/usr/bin/python3 - "$CFG" "$WEIGHTS" $t <<'PY' 2>/dev/null || echo n/a
import sys, time
import numpy as np, cv2
cfg, weights, t = sys.argv[1], sys.argv[2], int(sys.argv[3])
cv2.setNumThreads(t)
net = cv2.dnn.readNetFromDarknet(cfg, weights)
x = np.random.rand(1, 3, 320, 320).astype(np.float32)
names = net.getUnconnectedOutLayersNames()
best = []
for r in range(3):
    for _ in range(10):
        net.setInput(x); net.forward(names)
    ms = []
    for _ in range(100):
        s = time.perf_counter(); net.setInput(x); net.forward(names); ms.append((time.perf_counter() - s) * 1e3)
    best.append(sorted(ms)[len(ms) // 2])
print("%.2f (rounds %s)" % (min(best), " ".join("%.2f" % b for b in sorted(best))))
PY
)
    printf "threads=%d  darknet warm median %6.2f ms (rounds %s)  whole process %6.1f ms  | OpenCV DNN warm median %s ms\n" \
        $t "$best" "$rounds" "$cold" "$cv"
done
