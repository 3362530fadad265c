#!/usr/bin/env python3
"""Converts the Fashion-MNIST IDX files (Debian dataset-fashion-mnist) into Darknet's classification
layout: one PNG per image whose file name contains its label (Darknet finds a label by substring),
train.list, test.list, labels.txt and fashion.data. Standard library only.

Usage: fashion_mnist_to_darknet.py <idx dir> <output dir> [--limit N]   (N: first N of each split)
Labels (no label is a substring of another, or of the paths): tee trouser pullover dress coat
sandal shirt sneaker bag boot, in the dataset's class order (0 = T-shirt/top ... 9 = ankle boot).
"""
import gzip
import os
import struct
import sys
import zlib

LABELS = ["tee", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"]


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return shape, data[4 + 4 * dims:]


def png(w, h, gray):
    """8-bit grayscale PNG."""
    raw = b"".join(b"\x00" + gray[y * w:(y + 1) * w] for y in range(h))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def convert(idx_dir, out, split, prefix, limit):
    (n, h, w), pixels = read_idx(os.path.join(idx_dir, "%s-images-idx3-ubyte.gz" % prefix))
    (n2,), labels = read_idx(os.path.join(idx_dir, "%s-labels-idx1-ubyte.gz" % prefix))
    assert n == n2, "image and label counts differ"
    n = min(n, limit)
    d = os.path.join(out, split)
    os.makedirs(d, exist_ok=True)
    paths = []
    for i in range(n):
        p = os.path.join(d, "%05d_%s.png" % (i, LABELS[labels[i]]))
        if not os.path.exists(p):
            tmp = p + ".tmp"
            with open(tmp, "wb") as f:
                f.write(png(w, h, pixels[i * w * h:(i + 1) * w * h]))
            os.replace(tmp, p)
        paths.append(os.path.abspath(p))
    with open(os.path.join(out, split + ".list.tmp"), "w") as f:
        f.write("\n".join(paths) + "\n")
    os.replace(os.path.join(out, split + ".list.tmp"), os.path.join(out, split + ".list"))
    return n


def main():
    idx_dir, out = sys.argv[1], sys.argv[2]
    limit = int(sys.argv[sys.argv.index("--limit") + 1]) if "--limit" in sys.argv else 1 << 30
    os.makedirs(out, exist_ok=True)
    n_train = convert(idx_dir, out, "train", "train", limit)
    n_test = convert(idx_dir, out, "test", "t10k", limit)
    with open(os.path.join(out, "labels.txt"), "w") as f:
        f.write("\n".join(LABELS) + "\n")
    with open(os.path.join(out, "fashion.data"), "w") as f:
        f.write("classes=10\ntrain=%s\nvalid=%s\nlabels=%s\nbackup=backup/\ntop=2\n" % (
            os.path.abspath(os.path.join(out, "train.list")), os.path.abspath(os.path.join(out, "test.list")),
            os.path.abspath(os.path.join(out, "labels.txt"))))
    print("fashion-mnist: %d train and %d test images in %s" % (n_train, n_test, out))


if __name__ == "__main__":
    main()
