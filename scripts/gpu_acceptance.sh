#!/usr/bin/env bash
# Issue 5's acceptance on a machine with an NVIDIA GPU, in one command (from the repository root,
# with ../shared beside it and data/fashion-mnist from scripts/get_fashion_mnist.sh, which may be
# copied from another machine: its lists are rewritten to this checkout's path):
#
#   bash scripts/gpu_acceptance.sh [iterations=300] [jobs=$(nproc)]
#
# 1. builds GPU=1 CUDNN=1 and runs every GPU test: each layer type against the CPU (forward,
#    input and parameter gradients, ADD into net.delta_gpu), the SGD update, and `detector test`
#    on ../shared with -i 0 against -nogpu;
# 2. trains cfg/fashion_bn.cfg for `iterations` on the GPU and on the CPU from the same seed (the
#    same images, augmentations and dropout masks) and prints both loss curves in windows of 25;
# 3. runs the GPU normalization benchmark (ms, GB/s, % of the copy bandwidth, against cuDNN).
# Exits non-zero when the build or a GPU test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
ITER=${1:-300}
JOBS=${2:-$(nproc)}
CONFIG=build/gpu1-cudnn1-cv0-omp1-dbg0-san

echo "== device"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

echo "== build (make -j$JOBS GPU=1 CUDNN=1)"
make -s -j"$JOBS" GPU=1 CUDNN=1 darknet libdarknet.so "$CONFIG/test_darknet" "$CONFIG/bench_darknet"

echo "== GPU tests"
DARKNET_BIN=$PWD/darknet DARKNET_LIB=$PWD/libdarknet.so "$CONFIG/test_darknet" \
    --gtest_filter='*Gpu*:FastDivmod*:NchwIndex*:ChannelWalk*'

echo "== detector test, GPU (-i 0) and CPU (-nogpu)"
M=../shared/models/yolo-fastest-1.1
for dev in "-i 0" "-nogpu"; do
    echo "-- $dev"
    # shellcheck disable=SC2086
    ./darknet detector test cfg/coco.data $M/yolo-fastest-1.1-xl.cfg $M/yolo-fastest-1.1-xl.weights \
        ../shared/images/dog.jpg -ext_output -dont_show $dev 2>&1 | grep -E "%|Predicted"
done

echo "== fashion_bn: $ITER iterations on the GPU and on the CPU, same seed"
if [ ! -f data/fashion-mnist/train.list ]; then
    echo "data/fashion-mnist is missing (bash scripts/get_fashion_mnist.sh); skipping the training comparison"
else
    T=$(mktemp -d)
    sed "s|^.*/data/fashion-mnist/|$PWD/data/fashion-mnist/|" data/fashion-mnist/train.list > "$T/train.list"
    sed "s|^.*/data/fashion-mnist/|$PWD/data/fashion-mnist/|" data/fashion-mnist/test.list > "$T/test.list"
    printf 'classes=10\ntrain=%s\nvalid=%s\nlabels=%s\nbackup=%s\ntop=2\n' "$T/train.list" "$T/test.list" \
        "$PWD/data/fashion-mnist/labels.txt" "$T/backup" > "$T/fashion.data"
    for dev in gpu cpu; do
        flag=$([ $dev = gpu ] && echo "-i 0" || echo "-nogpu")
        start=$EPOCHREALTIME
        # shellcheck disable=SC2086
        ./darknet classifier train "$T/fashion.data" cfg/fashion_bn.cfg -dont_show -chart "$T/$dev.png" \
            -max_batches "$ITER" -seed 1 $flag > "$T/$dev.log" 2>&1 || { tail -20 "$T/$dev.log"; exit 1; }
        echo "$dev ($flag): $(awk "BEGIN { printf \"%.1f\", $EPOCHREALTIME - $start }") s for $ITER iterations"
        grep -oE '^[0-9]+, [0-9.]+: [0-9.eE+-]+' "$T/$dev.log" | awk '{print $3}' > "$T/$dev.loss"
    done
    paste "$T/gpu.loss" "$T/cpu.loss" | awk '
        { g += $1; c += $2; n++; d = $1 - $2; if (d < 0) d = -d; if (d > md) md = d }
        n == 25 { printf "iterations %4d-%4d   GPU loss %.4f   CPU loss %.4f\n", NR - 24, NR, g / n, c / n; g = c = n = 0 }
        END { printf "largest per-iteration difference %.4f\n", md }'
fi

echo "== GPU normalization benchmark"
/usr/bin/python3 scripts/bench_norm_gpu.py "$CONFIG/bench_darknet"
