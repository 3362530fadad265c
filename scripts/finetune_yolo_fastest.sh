#!/usr/bin/env bash
# Fine-tunes the COCO-pretrained yolo-fastest-1.1 (../shared/models, or YOLO_FASTEST_DIR) on the
# Fashion-MNIST detection set (scripts/make_fashion_detect.sh):
#  1. derives data/yolo-fastest-fashion.cfg from the user's yolo-fastest-1.1.cfg: classes=10, the
#     two head convolutions 255 -> 45 filters, 160x160 input, anchors from the training boxes
#     (scaled to 160), a short schedule (ITERATIONS, default 400; batch 32);
#  2. `darknet partial` keeps the first 120 layers (everything before the first 80-class head);
#  3. `darknet detector train ... -clear`, then `detector map` and one `detector test`.
# The pretrained files are read, never copied into the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
M=${YOLO_FASTEST_DIR:-${DARKNET_SHARED:-../shared}/models/yolo-fastest-1.1}
ITER=${ITERATIONS:-400}
[ -f "$M/yolo-fastest-1.1.weights" ] || { echo "finetune: $M/yolo-fastest-1.1.weights not found"; exit 1; }
[ -x ./darknet ] || make -j2 --no-print-directory darknet
bash scripts/make_fashion_detect.sh
D=data/fashion-detect/fashion-detect.data
CFG=data/yolo-fastest-fashion.cfg

# the [net] block gets our schedule; heads get 10 classes, 45 filters and anchors for 160x160
awk -v iter="$ITER" '
    BEGIN { net = 0 }
    /^\[net\]/ { net = 1; print; print "batch=32\nsubdivisions=1\nwidth=160\nheight=160\nchannels=3";
                 print "momentum=0.9\ndecay=0.0005\nsaturation=1.5\nexposure=1.5\nhue=.1";
                 print "learning_rate=0.002\nburn_in=50\npolicy=steps";
                 printf "max_batches=%d\nsteps=%d,%d\nscales=.1,.1\n", iter, iter * 0.75, iter * 0.9; next }
    /^\[/ { net = 0 }
    net { next }
    /^filters=255/ { print "filters=45"; next }
    /^classes=80/ { print "classes=10"; next }
    /^anchors/ { print "anchors = 19,35, 38,19, 30,40, 59,34, 38,59, 60,66"; next }
    { print }' "$M/yolo-fastest-1.1.cfg" > "$CFG"
./darknet partial "$M/yolo-fastest-1.1.cfg" "$M/yolo-fastest-1.1.weights" backup/yolo-fastest.conv.120 120
echo "== darknet detector train $D $CFG backup/yolo-fastest.conv.120 -clear -dont_show"
./darknet detector train "$D" "$CFG" backup/yolo-fastest.conv.120 -clear -dont_show -chart chart-finetune.png
echo "== darknet detector map $D $CFG backup/yolo-fastest-fashion_final.weights"
./darknet detector map "$D" "$CFG" backup/yolo-fastest-fashion_final.weights
IMG=$(sed -n 1p data/fashion-detect/valid.txt)
echo "== darknet detector test $D $CFG backup/yolo-fastest-fashion_final.weights $IMG"
./darknet detector test "$D" "$CFG" backup/yolo-fastest-fashion_final.weights "$IMG" -dont_show -ext_output
LAB=$(echo "$IMG" | sed 's#/images/#/labels/#; s#\.png$#.txt#')
echo "   its labels (class cx cy w h): $(tr '\n' ';' < "$LAB")"
