#!/usr/bin/env python3
"""Makes 3-channel 32x32 images from Fashion-MNIST (padded by 2 pixels, gray replicated to RGB), the
input Darknet's CIFAR tutorial network (cifar_small.cfg) expects. Standard library only.
Usage: fashion_rgb32.py <idx dir> <output dir> [count]"""
import os
import struct
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fashion_mnist_to_darknet import LABELS, read_idx  # noqa: E402


def png_rgb(w, h, rgb):
    raw = b"".join(b"\x00" + rgb[y * w * 3:(y + 1) * w * 3] for y in range(h))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def main():
    idx, out = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
    (n, h, w), pixels = read_idx(os.path.join(idx, "train-images-idx3-ubyte.gz"))
    _, labels = read_idx(os.path.join(idx, "train-labels-idx1-ubyte.gz"))
    os.makedirs(out, exist_ok=True)
    paths = []
    for i in range(min(n, count)):
        img = bytearray(32 * 32 * 3)
        for y in range(h):
            for x in range(w):
                v = pixels[i * w * h + y * w + x]
                o = ((y + 2) * 32 + x + 2) * 3
                img[o:o + 3] = bytes((v, v, v))
        p = os.path.abspath(os.path.join(out, "%05d_%s.png" % (i, LABELS[labels[i]])))
        if not os.path.exists(p):
            with open(p, "wb") as f:
                f.write(png_rgb(32, 32, bytes(img)))
        paths.append(p)
    with open(os.path.join(out, "train.list"), "w") as f:
        f.write("\n".join(paths) + "\n")
    with open(os.path.join(out, "labels.txt"), "w") as f:
        f.write("\n".join(LABELS) + "\n")
    with open(os.path.join(out, "rgb32.data"), "w") as f:
        f.write("classes=10\ntrain=%s/train.list\nlabels=%s/labels.txt\nbackup=%s/backup/\n" % (
            os.path.abspath(out), os.path.abspath(out), os.path.abspath(out)))


if __name__ == "__main__":
    main()
