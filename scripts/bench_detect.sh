#!/usr/bin/env bash
# Detection latency of yolo-fastest-1.1-xl (320x320) on this machine, 1 and 2 threads:
#  - warm: median forward time of a network loaded once (darknet benchmark, 200 runs)
#  - cold: median wall time of a whole `darknet detector test` process on one image (11 runs)
#  - OpenCV's DNN module on the same cfg/weights/input, warm median, for comparison
# Usage: scripts/bench_detect.sh [cfg weights image]
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${DARKNET_SHARED:-../shared}
M=$SHARED/models/yolo-fastest-1.1
CFG=${1:-$M/yolo-fastest-1.1-xl.cfg}
WEIGHTS=${2:-$M/yolo-fastest-1.1-xl.weights}
IMAGE=${3:-$SHARED/images/dog.jpg}
[ -f "$WEIGHTS" ] || { echo "bench_detect: $WEIGHTS not found (../shared missing?)"; exit 0; }
[ -x ./darknet ] || make -j2 --no-print-directory darknet libdarknet.so

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "== $(basename "$CFG"), $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for t in 1 2; do
    warm=$(./darknet benchmark "$CFG" "$WEIGHTS" -image "$IMAGE" -runs 200 -warmup 10 -threads $t | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p')
    cold=$(for i in $(seq 11); do
        s=$(date +%s%N)
        OMP_NUM_THREADS=$t ./darknet detector test cfg/coco.data "$CFG" "$WEIGHTS" "$IMAGE" -dont_show >/dev/null 2>&1
        e=$(date +%s%N)
        echo "scale=2; ($e - $s) / 1000000" | bc
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
for _ in range(10):
    net.setInput(x); net.forward(names)
ms = []
for _ in range(100):
    s = time.perf_counter(); net.setInput(x); net.forward(names); ms.append((time.perf_counter() - s) * 1e3)
print("%.2f" % sorted(ms)[len(ms) // 2])
PY
)
    printf "threads=%d  darknet warm median %6.2f ms   whole process %7.2f ms   | OpenCV DNN warm median %s ms\n" $t "$warm" "$cold" "$cv"
done
