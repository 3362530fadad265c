#!/usr/bin/env bash
# Fetches Fashion-MNIST (Debian package dataset-fashion-mnist: 60,000 train + 10,000 test 28x28
# grayscale images, 10 classes) and converts it into Darknet's classification layout under
# data/fashion-mnist/: PNGs named after their label, train.list, test.list, labels.txt and
# fashion.data. Idempotent: existing files are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
IDX=/usr/share/datasets/fashion-mnist
OUT=data/fashion-mnist
if [ ! -f "$IDX/train-images-idx3-ubyte.gz" ]; then
    bash scripts/setup.sh --train
fi
if [ -f "$OUT/fashion.data" ] && [ "$(wc -l < "$OUT/train.list")" -eq 60000 ] && [ "$(wc -l < "$OUT/test.list")" -eq 10000 ]; then
    echo "fashion-mnist: already in $OUT"
    exit 0
fi
python3 scripts/fashion_mnist_to_darknet.py "$IDX" "$OUT"
