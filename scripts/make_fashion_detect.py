#!/usr/bin/python3
"""Composes a detection set from Fashion-MNIST items (Debian dataset-fashion-mnist) in Darknet's
detection layout: each canvas holds 1-5 items at varied scale and tint over a smooth, noisy
background; the label of an item is its tight bounding box (pixels brighter than 24/255 after
scaling), one `class cx cy w h` line per item in relative coordinates.

  images/{train,valid}/NNNNNN.png, labels/{train,valid}/NNNNNN.txt  (Darknet's images->labels rule)
  train.txt, valid.txt, fashion.names, fashion-detect.data

Train canvases use the dataset's training items, valid canvases its test items. Deterministic for a
given --seed (numpy's PCG64). Usage:
  make_fashion_detect.py <idx dir> <out dir> [--size 128] [--train 6000] [--valid 600] [--seed 1]
"""
import argparse
import gzip
import os
import struct
import zlib

import numpy as np

NAMES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"]
MIN_ITEM, MAX_ITEM = 22, 64  # item side in pixels on a 128 canvas (scaled with --size)
MAX_OVERLAP = 0.15           # largest share of an item's box that another item's box may cover


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = struct.unpack(">I", data[:4])[0] & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data[4 + 4 * dims:], dtype=np.uint8).reshape(shape)


def png_rgb(img):
    """8-bit RGB PNG from an (h, w, 3) uint8 array."""
    h, w, _ = img.shape
    raw = b"".join(b"\x00" + img[y].tobytes() for y in range(h))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def resize_bilinear(a, size):
    """(h, w) float array resampled to (size, size), pixel centers aligned."""
    h, w = a.shape
    ys = (np.arange(size) + 0.5) * h / size - 0.5
    xs = (np.arange(size) + 0.5) * w / size - 0.5
    y0 = np.clip(np.floor(ys).astype(int), 0, h - 1)
    x0 = np.clip(np.floor(xs).astype(int), 0, w - 1)
    y1, x1 = np.clip(y0 + 1, 0, h - 1), np.clip(x0 + 1, 0, w - 1)
    fy = np.clip(ys - y0, 0, 1)[:, None]
    fx = np.clip(xs - x0, 0, 1)[None, :]
    top = a[y0][:, x0] * (1 - fx) + a[y0][:, x1] * fx
    bot = a[y1][:, x0] * (1 - fx) + a[y1][:, x1] * fx
    return top * (1 - fy) + bot * fy


def overlap(a, b):
    """Intersection of boxes (x0, y0, x1, y1) over the smaller one's area."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    return iw * ih / min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))


def background(rng, size):
    """A smooth random color gradient plus pixel noise, values in [0, 0.45]."""
    c0, c1 = rng.uniform(0, 0.35, 3), rng.uniform(0, 0.35, 3)
    t = np.linspace(0, 1, size)
    ang = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(ang) * t[None, :] + np.sin(ang) * t[:, None])
    ramp = (ramp - ramp.min()) / max(ramp.max() - ramp.min(), 1e-6)
    bg = c0[None, None, :] * (1 - ramp[..., None]) + c1[None, None, :] * ramp[..., None]
    bg += rng.normal(0, 0.03, (size, size, 3))
    return np.clip(bg, 0, 0.45)


def canvas(rng, items, labels, size):
    img = background(rng, size)
    boxes = []
    lo, hi = MIN_ITEM * size // 128, MAX_ITEM * size // 128
    for _ in range(int(rng.integers(1, 6))):
        for _attempt in range(50):
            k = int(rng.integers(len(items)))
            s = int(rng.integers(lo, hi + 1))
            alpha = resize_bilinear(items[k].astype(np.float32) / 255.0, s)
            ys, xs = np.nonzero(alpha > 24 / 255.0)
            if len(xs) == 0:
                continue
            ox, oy = int(rng.integers(0, size - s + 1)), int(rng.integers(0, size - s + 1))
            box = (ox + xs.min(), oy + ys.min(), ox + xs.max() + 1, oy + ys.max() + 1)
            if any(overlap(box, b[1:]) > MAX_OVERLAP for b in boxes):
                continue
            tint = rng.uniform(0.55, 1.0, 3)
            region = img[oy:oy + s, ox:ox + s]
            a = alpha[..., None]
            region[:] = region * (1 - a) + a * tint[None, None, :]
            boxes.append((int(labels[k]),) + box)
            break
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8), boxes


def write_split(out, split, n, items, labels, size, rng):
    img_dir, lab_dir = os.path.join(out, "images", split), os.path.join(out, "labels", split)
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(lab_dir, exist_ok=True)
    paths = []
    for i in range(n):
        img, boxes = canvas(rng, items, labels, size)  # always drawn, so the stream stays the same
        p = os.path.join(img_dir, "%06d.png" % i)
        with open(p + ".tmp", "wb") as f:
            f.write(png_rgb(img))
        os.replace(p + ".tmp", p)
        lines = ["%d %.6f %.6f %.6f %.6f" % (c, (x0 + x1) / 2 / size, (y0 + y1) / 2 / size, (x1 - x0) / size,
                                             (y1 - y0) / size) for c, x0, y0, x1, y1 in boxes]
        lp = os.path.join(lab_dir, "%06d.txt" % i)
        with open(lp + ".tmp", "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(lp + ".tmp", lp)
        paths.append(os.path.abspath(p))
    with open(os.path.join(out, split + ".txt.tmp"), "w") as f:
        f.write("\n".join(paths) + "\n")
    os.replace(os.path.join(out, split + ".txt.tmp"), os.path.join(out, split + ".txt"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("idx_dir")
    ap.add_argument("out")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--train", type=int, default=6000)
    ap.add_argument("--valid", type=int, default=600)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.size < 64:
        ap.error("--size must be at least 64")
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.Generator(np.random.PCG64(a.seed))
    for split, prefix, n in (("train", "train", a.train), ("valid", "t10k", a.valid)):
        items = read_idx(os.path.join(a.idx_dir, "%s-images-idx3-ubyte.gz" % prefix))
        labels = read_idx(os.path.join(a.idx_dir, "%s-labels-idx1-ubyte.gz" % prefix))
        write_split(a.out, split, n, items, labels, a.size, rng)
    with open(os.path.join(a.out, "fashion.names"), "w") as f:
        f.write("\n".join(NAMES) + "\n")
    out = os.path.abspath(a.out)
    with open(os.path.join(a.out, "fashion-detect.data"), "w") as f:
        f.write("classes=10\ntrain=%s/train.txt\nvalid=%s/valid.txt\nnames=%s/fashion.names\nbackup=backup/\n" %
                (out, out, out))
    print("fashion-detect: %d train and %d valid %dx%d canvases in %s" % (a.train, a.valid, a.size, a.size, a.out))


if __name__ == "__main__":
    main()
