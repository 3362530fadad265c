#!/usr/bin/env bash
# Builds the Fashion-MNIST detection set under data/fashion-detect/ (see
# scripts/make_fashion_detect.py): 128x128 canvases with 1-5 items each and YOLO labels,
# 6000 train + 600 valid, deterministic (seed 1). Installs the dataset package if absent.
# Options pass through, e.g. --size 160 --train 2000 --seed 7 (an existing set with the same
# options is kept).
set -euo pipefail
cd "$(dirname "$0")/.."
IDX=/usr/share/datasets/fashion-mnist
OUT=${OUT:-data/fashion-detect}
if [ ! -f "$IDX/train-images-idx3-ubyte.gz" ] || ! /usr/bin/python3 -c "import numpy" 2>/dev/null; then
    bash scripts/setup.sh --train
fi
STAMP="$OUT/.options"
if [ -f "$OUT/fashion-detect.data" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$*" ]; then
    echo "fashion-detect: already in $OUT"
    exit 0
fi
rm -rf "$OUT"
/usr/bin/python3 scripts/make_fashion_detect.py "$IDX" "$OUT" "$@"
echo "$*" > "$STAMP"
