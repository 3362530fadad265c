#!/usr/bin/env bash
# Training throughput on this machine (default 2 threads; the first argument overrides):
#  1. cfg/fashion_bn.cfg (batch 128, 28x28x1) with `darknet classifier train` on Fashion-MNIST
#     (PNG loading and augmentation included), beside PyTorch training the same architecture with
#     the same batch size, loss and SGD settings on tensors already in memory (no loading, no
#     augmentation: PyTorch's side does less work).
#  2. Darknet's CIFAR tutorial net (../shared/cfg/cifar_small.cfg, batch 128, 28x28 crops of
#     3-channel 32x32 images: Fashion-MNIST padded and replicated), seconds per iteration, for
#     comparison with other Darknet builds.
# Figures: median seconds per iteration after 10 warm-up iterations, best of 3 rounds, with the spread.
set -euo pipefail
cd "$(dirname "$0")/.."
T=${1:-2}
[ -x ./darknet ] || make -j2 --no-print-directory darknet
bash scripts/get_fashion_mnist.sh >/dev/null
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

median_iter() {  # darknet training log -> median seconds per iteration after 10 warm-up iterations
    sed -n 's/^\([0-9]*\), [0-9.]*: .* rate, \([0-9.]*\) seconds,.*/\1 \2/p' | awk '$1 > 10 {print $2}' | sort -g |
        awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
rounds() {  # command -> "best worst" over 3 rounds
    for r in 1 2 3; do eval "$1"; done | sort -g | awk 'NR==1 {b=$1} {w=$1} END {printf "%s %s", b, w}'
}

cp cfg/fashion_bn.cfg "$W/"
read -r ours ours_w <<<"$(rounds "(cd $W && OMP_NUM_THREADS=$T $PWD/darknet classifier train $PWD/data/fashion-mnist/fashion.data fashion_bn.cfg -max_batches 60 -dont_show -chart '' 2>/dev/null | median_iter)")"

read -r torch torch_w <<<"$(/usr/bin/python3 - "$T" <<'PY'
import gzip, struct, sys, time
try:
    import numpy as np, torch, torch.nn as nn
except ImportError:
    print("n/a n/a"); sys.exit(0)
torch.set_num_threads(int(sys.argv[1]))
def idx(p):
    d = gzip.open(p).read(); dims = d[3]
    shape = struct.unpack(">" + "I" * dims, d[4:4 + 4 * dims])
    return np.frombuffer(d[4 + 4 * dims:], dtype=np.uint8).reshape(shape)
X = torch.tensor(idx("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")[:, None].astype(np.float32) / 255)
Y = torch.tensor(idx("/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz").astype(np.int64))
def block(i, o):
    return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.LeakyReLU(0.1)]
net = nn.Sequential(*block(1, 32), *block(32, 32), nn.MaxPool2d(2, 2), *block(32, 64), *block(64, 64),
                    nn.MaxPool2d(2, 2), *block(64, 128), nn.Dropout(0.3), nn.Conv2d(128, 10, 1),
                    nn.AdaptiveAvgPool2d(1), nn.Flatten())
opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
loss_fn = nn.CrossEntropyLoss()
best = []
for r in range(3):
    ts = []
    for it in range(60):
        idx_ = torch.randint(0, X.shape[0], (128,))
        s = time.perf_counter()
        opt.zero_grad(); loss = loss_fn(net(X[idx_]), Y[idx_]); loss.backward(); opt.step()
        ts.append(time.perf_counter() - s)
    best.append(sorted(ts[10:])[len(ts[10:]) // 2])
print("%.4f %.4f" % (min(best), max(best)))
PY
)"

echo "== training throughput, $T thread(s): median seconds per iteration of 128 images (best of 3 rounds; worst)"
printf "%-44s %10s %10s %12s\n" "" "s/iter" "(worst)" "images/s"
printf "%-44s %10s %10s %12.0f\n" "darknet  cfg/fashion_bn.cfg (with data loading)" "$ours" "$ours_w" "$(awk -v s="$ours" 'BEGIN {print 128 / s}')"
if [ "$torch" != "n/a" ]; then
    printf "%-44s %10s %10s %12.0f\n" "pytorch 1.13, same network (data in memory)" "$torch" "$torch_w" "$(awk -v s="$torch" 'BEGIN {print 128 / s}')"
    awk -v a="$ours" -v b="$torch" 'BEGIN {printf "darknet / pytorch speed: %.2fx\n", b / a}'
fi

CIFAR=${DARKNET_SHARED:-../shared}/cfg/cifar_small.cfg
if [ -f "$CIFAR" ]; then
    python3 scripts/fashion_rgb32.py /usr/share/datasets/fashion-mnist "$W/rgb32" 3000
    cp "$CIFAR" "$W/cifar_small.cfg"
    read -r cs cs_w <<<"$(rounds "(cd $W && OMP_NUM_THREADS=$T $PWD/darknet classifier train $W/rgb32/rgb32.data cifar_small.cfg -dont_show -chart '' 2>/dev/null | median_iter)")"
    echo "== cifar_small.cfg (batch 128, 28x28 crops of 32x32x3, $T threads): $cs s/iteration (worst round $cs_w)"
    echo "   for orientation (measured by the project on this machine type, 2 threads): AlexeyAB's Darknet 0.24 s, pjreddie's 0.32 s"
fi
