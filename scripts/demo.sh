#!/usr/bin/env bash
# `make demo`, the main job on a fresh Debian machine: installs the Debian packages it needs,
# builds, detects objects in a real photo with a real COCO-pretrained model, then trains
# cfg/fashion_bn.cfg on Fashion-MNIST for a short schedule with visible progress and reports its
# test accuracy and a prediction. About 5 minutes on 2 cores (a fresh clone, packages already installed), plus the package downloads.
#   DEMO_CFG, DEMO_WEIGHTS, DEMO_IMAGE (and DEMO_DATA): your own detector, weights and image
#   DEMO_ITERATIONS: training iterations of 128 images (default 1500, ~3 epochs)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
make -j2 --no-print-directory darknet

SHARED=${DARKNET_SHARED:-../shared}
MODELS=$SHARED/models/yolo-fastest-1.1
CFG=${DEMO_CFG:-$MODELS/yolo-fastest-1.1-xl.cfg}
WEIGHTS=${DEMO_WEIGHTS:-$MODELS/yolo-fastest-1.1-xl.weights}
IMAGE=${DEMO_IMAGE:-$SHARED/images/dog.jpg}
DATA=${DEMO_DATA:-cfg/coco.data}
if [ -f "$CFG" ] && [ -f "$WEIGHTS" ] && [ -f "$IMAGE" ]; then
    echo "== 1. detection: darknet detector test $DATA $CFG $WEIGHTS $IMAGE -ext_output"
    ./darknet detector test "$DATA" "$CFG" "$WEIGHTS" "$IMAGE" -ext_output -dont_show -out predictions.json 2>/dev/null
    echo "   wrote predictions.jpg (boxes drawn) and predictions.json"
else
    echo "== 1. detection skipped: $WEIGHTS not found (put ../shared beside the checkout, or set DEMO_CFG, DEMO_WEIGHTS, DEMO_IMAGE)"
fi

echo "== 2. training: Fashion-MNIST (60,000 + 10,000 images, 10 classes)"
bash scripts/get_fashion_mnist.sh
ITER=${DEMO_ITERATIONS:-1500}
D=data/fashion-mnist
echo "   darknet classifier train $D/fashion.data cfg/fashion_bn.cfg -max_batches $ITER -dont_show"
./darknet classifier train $D/fashion.data cfg/fashion_bn.cfg -max_batches "$ITER" -dont_show -chart chart.png 2>/dev/null
echo "== 3. test accuracy: darknet classifier valid $D/fashion.data cfg/fashion_bn.cfg backup/fashion_bn_final.weights"
./darknet classifier valid $D/fashion.data cfg/fashion_bn.cfg backup/fashion_bn_final.weights | tail -1
IMG=$(sed -n 8p $D/test.list)
echo "== 4. prediction for $IMG (its label is in the file name)"
./darknet classifier predict $D/fashion.data cfg/fashion_bn.cfg backup/fashion_bn_final.weights "$IMG" -top 3
echo "== done: chart.png shows the loss curve; backup/fashion_bn_final.weights is the trained model"
