#!/usr/bin/python3
"""Checks the YOLOv2 layers ([reorg], [region]) against OpenCV's DNN module reading the same cfg
and weights: data/yolov2-style.cfg (passthrough through [reorg], [route], a [region] head with
softmax) with random weights, saved by our library and read by both, on a random input.

  1. the [reorg] output equals OpenCV's (Darknet's index mapping, which OpenCV reproduces);
  2. the [region] head decoded with Darknet's rules (box = (cell + x)/grid, exp(w) anchor/grid;
     objectness; objectness * softmax class) equals OpenCV's detection rows: boxes and objectness
     everywhere, class probabilities wherever OpenCV's in-layer NMS kept them.

Usage: opencv_compare_region.py <dir for the weights file>. Exit 0: pass, 1: fail, 77: no OpenCV/numpy.
"""
import os
import sys

try:
    import numpy as np
    import cv2
except ImportError as e:  # pragma: no cover
    print("SKIP: %s (install python3-numpy python3-opencv)" % e)
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
import darknet  # noqa: E402

CFG = os.path.join(HERE, "..", "data", "yolov2-style.cfg")
# its [region]: the anchors (grid cells), classes, num and the grid of the 64x64 input
ANCHORS = [1.08, 1.19, 3.42, 4.41, 6.63, 11.38, 9.42, 5.11, 16.62, 10.52]
CLASSES, NUM, G = 2, 5, 16


def main():
    cfg, weights = CFG, os.path.join(sys.argv[1], "v2.weights")
    net = darknet.Network(cfg, batch=1)
    rng = np.random.default_rng(3)
    for i in range(net.num_layers):
        if net.layer_type(i) != "convolutional":
            continue
        for name in ("weights", "biases", "scales", "rolling_mean", "rolling_variance"):
            try:
                p = net.param(i, name)
            except darknet.DarknetError:
                continue
            v = rng.uniform(0.5, 1.5, p.size) if name == "rolling_variance" else rng.normal(0, 0.3, p.size)
            net.set_param(i, name, v.astype(np.float32))
    net.save_weights(weights)
    x = rng.uniform(0, 1, (1, 3, 64, 64)).astype(np.float32)
    out = net.forward(x)
    reorg = net.layer_output(6)
    cv = cv2.dnn.readNetFromDarknet(cfg, weights)
    cv.setInput(x)
    cv_reorg, rows = cv.forward(["reorg_6", cv.getLayerNames()[-1]])
    ok = True
    err = float(np.abs(cv_reorg.ravel() - reorg.ravel()).max() / np.abs(reorg).max())
    print("reorg: max |ours - opencv| / max = %.2e" % err)
    ok &= err < 1e-4
    o = out.reshape(NUM, 5 + CLASSES, G, G)
    mine = np.zeros_like(rows)
    for r in range(G):
        for c in range(G):
            for n in range(NUM):
                e = o[n, :, r, c]
                k = (r * G + c) * NUM + n
                mine[k, :4] = [(c + e[0]) / G, (r + e[1]) / G, np.exp(e[2]) * ANCHORS[2 * n] / G,
                               np.exp(e[3]) * ANCHORS[2 * n + 1] / G]
                mine[k, 4] = e[4]
                mine[k, 5:] = e[4] * e[5:]
    box = float(np.abs(mine[:, :5] - rows[:, :5]).max())
    kept = rows[:, 5:] > 0
    cls = float(np.abs(mine[:, 5:] - rows[:, 5:])[kept].max())
    print("region: boxes and objectness max diff %.2e; class probabilities (%d kept by OpenCV's NMS) %.2e"
          % (box, int(kept.sum()), cls))
    ok &= box < 1e-4 and cls < 1e-4 and kept.sum() > 100
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
