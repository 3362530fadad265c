#!/usr/bin/env bash
# `make demo`: installs what it needs, builds, and runs `darknet detector test` on a real
# COCO-pretrained model. Override the model and image with DEMO_CFG, DEMO_WEIGHTS, DEMO_IMAGE
# (and DEMO_DATA for the class names; default cfg/coco.data).
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
for f in "$CFG" "$WEIGHTS" "$IMAGE" "$DATA"; do
    if [ ! -f "$f" ]; then
        echo "demo: $f not found. Put the shared models beside the checkout (../shared) or set" >&2
        echo "      DEMO_CFG, DEMO_WEIGHTS and DEMO_IMAGE to your own Darknet cfg, weights and image." >&2
        exit 1
    fi
done

echo "== detection: darknet detector test $DATA $CFG $WEIGHTS $IMAGE"
./darknet detector test "$DATA" "$CFG" "$WEIGHTS" "$IMAGE" -ext_output -dont_show -out predictions.json 2>/dev/null
echo "== wrote predictions.jpg (boxes drawn) and predictions.json"
