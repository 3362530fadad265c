#!/usr/bin/env python3
"""Mutation fuzzing of what users hand to darknet: cfgs, .weights files and images.

Usage: fuzz_inputs.py <darknet binary> [--cfg N] [--weights N] [--images N] [--train N] [--seed S]
                      [--keep DIR] [--timeout SECONDS]

- cfg: each case takes one of the cfgs in cfg/ (and ../shared's yolo-fastest-1.1.cfg at 96x96, and
  data/yolov2-style.cfg, data/crop-gaussian-style.cfg, data/yolov1-style.cfg,
  data/deconv-style.cfg, data/rnn-style.cfg and data/asff-style.cfg) and applies 1-3 mutations: a value replaced by an edge value (0, -1, 2^31 - 1, 1e9, 'abc', '',
  'nan', ...), a line or a section deleted or duplicated, the file cut short, a junk line added.
  Run: `darknet benchmark <cfg> -runs 1 -warmup 0 -threads 1 -nogpu` (parse, build, one forward pass).
- weights: ../shared's yolo-fastest-1.1.weights cut short, header bytes changed, bytes appended,
  or words set to NaN, infinity or random bits. Run: `darknet benchmark <cfg> <weights> ...`.
- images: ../shared/images/* cut short, bytes changed, or random bytes.
  Run: `darknet detector test cfg/coco.data <cfg> <weights> <image> -dont_show`.
- training data (needs nothing from ../shared): a small detection set (6 PNGs drawn here, YOLO
  label files, train/valid lists, names, .data, a 3-layer [yolo] cfg), a small classification
  set (labels from the paths) and a character model (a text and an [rnn] cfg); each case changes
  one of their text files (a value replaced by an edge value, a missing path or a directory; a
  line deleted or repeated 300 times; CRLF; cut short; emptied; random bytes; a junk line) and runs
  `detector train|map|valid|test|calc_anchors`, `classifier train|valid|predict` or
  `rnn train|generate|valid` (2 iterations; -map / -eval_every sometimes).
The weights and image cases need ../shared and are skipped (with a message) without it.

A case passes when darknet exits 0, or exits 1 with a `darknet: error:` line. It fails on a
signal, any other exit status, an exit 1 without that line, or a sanitizer report (run it on the
ASan + UBSan binary, as `make test-sanitize` does). ASan's operator new aborts instead of throwing
std::bad_alloc on an allocation it cannot make; such runs count as `out of memory (ASan)`, not as
failures (the release binary turns them into an error naming the cfg section; tests/test_cfg.cpp).
A case that runs past --timeout is counted and shown, not failed (a slow forward pass is not a
bug; a hang shows up there), and kept like a failure. --only N reruns case N of a run alone. Every case is generated from --seed, so a run is repeatable.

Prints one line per failure (kept in --keep with darknet's output), then
`fuzz: N cases: N passed, N failed (...)`; exits 1 if any failed.
"""
import argparse
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(REPO), "shared")
YOLO = os.path.join(SHARED, "models", "yolo-fastest-1.1")
EDGE_VALUES = ["0", "-1", "-5", "1", "2", "7", "3.5", "-0.5", "1000000000", "2147483647", "-2147483648",
               "99999999999999", "1073741824", "65536", "46341", "4096", "1e40", "nan", "inf", "abc", "",
               "0x10", "1 2", "1,2,", ",", "=", "3,-7"]
JUNK_LINES = ["[unknown]", "[", "]", "key", "=5", "[net]", "[yolo]", "[route]\nlayers=-100",
              "[shortcut]\nfrom=5", "[upsample]\nstride=0", "[maxpool]\nsize=0", "adam=1\nB1=1", "adam=1\neps=0"]


def small_yolo_cfg():
    text = open(os.path.join(YOLO, "yolo-fastest-1.1.cfg")).read()
    text = re.sub(r"^width=\d+", "width=96", text, flags=re.M)
    return re.sub(r"^height=\d+", "height=96", text, flags=re.M)


def base_cfgs():
    out = []
    for name in sorted(os.listdir(os.path.join(REPO, "cfg"))):
        if name.endswith(".cfg"):
            out.append((name, open(os.path.join(REPO, "cfg", name)).read().splitlines()))
    if os.path.isdir(YOLO):
        out.append(("yolo-fastest-1.1.cfg@96", small_yolo_cfg().splitlines()))
    for name in ("yolov2-style.cfg", "crop-gaussian-style.cfg", "yolov1-style.cfg", "deconv-style.cfg", "rnn-style.cfg",
                 "asff-style.cfg"):
        out.append(("data/" + name, open(os.path.join(REPO, "data", name)).read().splitlines()))
    return out


def mutate_cfg(rng, lines):
    lines = list(lines)
    for _ in range(rng.randint(1, 3)):
        k = rng.random()
        keyed = [i for i, l in enumerate(lines) if "=" in l and not l.lstrip().startswith("#")]
        heads = [i for i, l in enumerate(lines) if l.startswith("[")]
        if k < 0.6 and keyed:
            i = rng.choice(keyed)
            lines[i] = lines[i].split("=")[0] + "=" + rng.choice(EDGE_VALUES)
        elif k < 0.7 and lines:
            del lines[rng.randrange(len(lines))]
        elif k < 0.8 and heads:
            i = rng.choice(heads)
            j = i + 1
            while j < len(lines) and not lines[j].startswith("["):
                j += 1
            block = lines[i:j]
            if rng.random() < 0.5:
                del lines[i:j]
            else:
                at = rng.choice(heads)
                lines[at:at] = block
        elif k < 0.9:
            lines = lines[:rng.randrange(len(lines) + 1)]
        else:
            lines.insert(rng.randrange(len(lines) + 1), rng.choice(JUNK_LINES))
    return ("\n".join(lines) + "\n").encode()


def mutate_weights(rng, data):
    w = bytearray(data)
    k = rng.random()
    if k < 0.4:
        return bytes(w[:rng.randrange(len(w))])
    if k < 0.6:
        w[rng.randrange(20)] = rng.randrange(256)
    elif k < 0.7:
        w += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
    elif k < 0.8:
        struct.pack_into("<iii", w, 0, rng.choice([0, 1, 2, -1, 1000]), rng.choice([0, 1, 2, 99, -1]),
                         rng.choice([0, 5, -7]))
    else:
        for _ in range(5):
            i = 20 + 4 * rng.randrange((len(w) - 24) // 4)
            w[i:i + 4] = rng.choice([b"\x00\x00\xc0\x7f", b"\x00\x00\x80\x7f", b"\x00\x00\x80\xff",
                                     bytes(rng.randrange(256) for _ in range(4))])
    return bytes(w)


def mutate_image(rng, data):
    b = bytearray(data)
    k = rng.random()
    if k < 0.4:
        return bytes(b[:rng.randrange(1, len(b))])
    if k < 0.8:
        for _ in range(rng.randint(1, 20)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        return bytes(b)
    return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 2000)))


def png(w, h, rgb):
    """A w x h 8-bit RGB PNG of the bytes rgb (row-major), with the standard library only."""
    raw = b"".join(b"\x00" + bytes(rgb[y * w * 3:(y + 1) * w * 3]) for y in range(h))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def detection_set(d):
    """6 images of 1-3 colored boxes with their labels; train (4) and valid (2) lists; d.data; t.cfg
    (with mosaic=1)."""
    os.makedirs(d + "/images")
    os.makedirs(d + "/labels")
    r = random.Random(7)
    paths = []
    for i in range(6):
        pix, lab = bytearray(64 * 64 * 3), []
        for _ in range(r.randint(1, 3)):
            x0, y0, bw, bh, c = r.randrange(40), r.randrange(40), r.randint(8, 24), r.randint(8, 24), r.randrange(3)
            for y in range(y0, y0 + bh):
                for x in range(x0, x0 + bw):
                    pix[(y * 64 + x) * 3 + c] = 255
            lab.append("%d %.4f %.4f %.4f %.4f" % (c, (x0 + bw / 2) / 64, (y0 + bh / 2) / 64, bw / 64, bh / 64))
        open(d + "/images/im%d.png" % i, "wb").write(png(64, 64, pix))
        open(d + "/labels/im%d.txt" % i, "w").write("\n".join(lab) + "\n")
        paths.append(d + "/images/im%d.png" % i)
    open(d + "/train.txt", "w").write("\n".join(paths[:4]) + "\n")
    open(d + "/valid.txt", "w").write("\n".join(paths[4:]) + "\n")
    open(d + "/d.names", "w").write("red\ngreen\nblue\n")
    open(d + "/d.data", "w").write("classes=3\ntrain=%s/train.txt\nvalid=%s/valid.txt\nnames=%s/d.names\nbackup=%s/backup\n"
                                   % (d, d, d, d))
    open(d + "/t.cfg", "w").write(
        "[net]\nbatch=4\nsubdivisions=1\nwidth=64\nheight=64\nchannels=3\nmomentum=0.9\ndecay=0.0005\n"
        "learning_rate=0.001\nburn_in=1\nmax_batches=2\npolicy=constant\nmosaic=1\nblur=1\nema_alpha=0.9998\n"
        "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=2\npad=1\nactivation=leaky\n"
        "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=2\npad=1\nactivation=leaky\nstopbackward=1\n"
        "[convolutional]\nfilters=24\nsize=1\nactivation=linear\nlearning_rate=0.5\ndont_update=1\n"
        "[yolo]\nmask=0,1,2\nanchors=8,14,16,16,24,30\nclasses=3\nnum=3\njitter=.1\nrandom=0\n"
        "iou_loss=ciou\nobjectness_smooth=1\nmax_delta=5\nresize=1.5\n")
    return ["d.data", "train.txt", "valid.txt", "d.names", "labels/im0.txt", "labels/im1.txt", "labels/im4.txt"]


def classification_set(d):
    """6 noise images named <i>_<label>.png; train (4) and valid (2) lists; labels.txt; c.data; c.cfg
    (trained with Adam, so that its checkpoints carry Adam's state)."""
    os.makedirs(d + "/img")
    r = random.Random(8)
    names, paths = ["cat", "dog", "cow"], []
    for i in range(6):
        p = d + "/img/%d_%s.png" % (i, names[i % 3])
        open(p, "wb").write(png(16, 16, bytearray(r.randrange(256) for _ in range(16 * 16 * 3))))
        paths.append(p)
    open(d + "/train.list", "w").write("\n".join(paths[:4]) + "\n")
    open(d + "/valid.list", "w").write("\n".join(paths[4:]) + "\n")
    open(d + "/labels.txt", "w").write("\n".join(names) + "\n")
    open(d + "/c.data", "w").write("classes=3\ntrain=%s/train.list\nvalid=%s/valid.list\nlabels=%s/labels.txt\n"
                                   "backup=%s/backup\ntop=2\n" % (d, d, d, d))
    open(d + "/c.cfg", "w").write(
        "[net]\nbatch=4\nsubdivisions=1\nwidth=16\nheight=16\nchannels=3\nadam=1\nB1=0.9\nB2=0.999\ndecay=0.0005\n"
        "learning_rate=0.01\nmax_batches=2\npolicy=constant\n"
        "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=2\npad=1\nactivation=leaky\n"
        "[convolutional]\nfilters=3\nsize=1\nactivation=linear\n[avgpool]\n[softmax]\n")
    return ["c.data", "train.list", "valid.list", "labels.txt"]


def text_set(d):
    """A character model: t.txt (a small vocabulary's text) and r.cfg ([rnn] with batchnorm and the
    shortcut, [connected], [softmax]; time_steps=4)."""
    os.makedirs(d)
    r = random.Random(9)
    words = ["the", "cat", "sat", "on", "a", "mat"]
    open(d + "/t.txt", "w").write(" ".join(r.choice(words) for _ in range(300)) + "\n")
    open(d + "/r.cfg", "w").write(
        "[net]\ninputs=128\nbatch=2\nsubdivisions=1\ntime_steps=4\nmomentum=0.9\ndecay=0.0005\n"
        "learning_rate=0.05\nmax_batches=2\npolicy=constant\n"
        "[rnn]\nbatch_normalize=1\noutput=16\nhidden=12\nshortcut=1\nactivation=leaky\n"
        "[connected]\noutput=128\nactivation=linear\n[softmax]\n")
    return ["r.cfg", "t.txt"]


def mutate_text(rng, text, d):
    """One change to a data, list, names or label file of the set in d."""
    lines = text.split("\n")
    k = rng.random()
    values = EDGE_VALUES + [d + "/nonexistent", d, d + "/images", d + "/t.cfg", " ", "1e-40", "+1", "."]
    if k < 0.45 and any(l.strip() for l in lines):
        i = rng.choice([j for j, l in enumerate(lines) if l.strip()])
        if "=" in lines[i]:
            lines[i] = lines[i].split("=")[0] + "=" + rng.choice(values)
        else:
            f = lines[i].split(" ")
            f[rng.randrange(len(f))] = rng.choice(values)
            lines[i] = " ".join(f)
    elif k < 0.55:
        if lines:
            del lines[rng.randrange(len(lines))]
    elif k < 0.65:
        if lines:
            i = rng.randrange(len(lines))
            lines[i:i] = [lines[i]] * rng.choice([1, 2, 300])
    elif k < 0.72:
        return "\r\n".join(lines)
    elif k < 0.78:
        return text[:rng.randrange(len(text) + 1)]
    elif k < 0.84:
        return ""
    elif k < 0.90:
        return "".join(chr(rng.randrange(1, 256)) for _ in range(rng.randrange(1, 200)))
    else:
        lines.insert(rng.randrange(len(lines) + 1), rng.choice(["", " ", "\t", "#c", "x=1", "=", "a b c d e f",
                                                                "1 2 3 4 5 6", "\x00"]))
    return "\n".join(lines)


def train_case(rng, sets):
    """(kind, set name, {relative path: new text}, argv with {} for the case folder)."""
    k = rng.random()
    det = k < 0.5
    name = "detect" if det else "classify" if k < 0.8 else "text"
    fname = rng.choice(sets[name][1])
    text = sets[name][2][fname]
    for _ in range(rng.randint(1, 2)):
        text = mutate_text(rng, text, "{}")
    if det:
        verb = rng.choice(["train", "train", "map", "valid", "test", "calc_anchors"])
        argv = ["detector", verb, "{}/d.data", "{}/t.cfg"]
        if verb == "calc_anchors":
            argv += ["-num_of_clusters", str(rng.choice([1, 2, 6, 9, 0, -3, 100000]))] if rng.random() < 0.5 else []
            argv += ["-width", str(rng.choice([416, 1, 0, -5, 2147483647]))] if rng.random() < 0.2 else []
            return ("train detector calc_anchors (%s)" % fname, name, {fname: text}, argv)
        argv += [] if verb == "train" else ["{}/backup/t_final.weights"]
        argv += ["{}/images/im5.png"] if verb == "test" else []
        argv += ["-dont_show"] + (["-map"] if verb == "train" and rng.random() < 0.3 else [])
    elif name == "text":
        verb = rng.choice(["train", "train", "generate", "valid"])
        argv = ["rnn", verb, "{}/r.cfg"]
        argv += ["-file", "{}/t.txt", "-backup", "{}/backup"] if verb == "train" else ["{}/backup/r_final.weights"]
        argv += ["-len", "40", "-srand", "1", "-seed", rng.choice(["the ", "", "\xe2\x82\xac", "a"])] if verb == "generate" \
            else []
    else:
        verb = rng.choice(["train", "train", "valid", "predict"])
        argv = ["classifier", verb, "{}/c.data", "{}/c.cfg"]
        argv += [] if verb == "train" else ["{}/backup/c_final.weights"]
        argv += ["{}/img/5_cow.png"] if verb == "predict" else []
        argv += ["-eval_every", "1"] if verb == "train" and rng.random() < 0.3 else []
    return ("train %s %s (%s)" % (argv[0], verb, fname), name, {fname: text}, argv)


def classify(rc, err):
    if "AddressSanitizer" in err and ("out of memory" in err or "out-of-memory" in err or
                                      "requested allocation size" in err or "allocation-size-too-big" in err):
        return "out of memory (ASan)"
    if "Sanitizer" in err or "runtime error:" in err:
        return "FAIL: sanitizer report"
    if rc == 0:
        return "ok"
    if rc == 1:
        return "error" if "darknet: error:" in err else "FAIL: exit 1 without a 'darknet: error:' line"
    return "FAIL: exit status %d" % rc if rc > 0 else "FAIL: signal %d" % -rc


def prepare_set(darknet, work, name, build, env):
    """Builds a training set in work/case (where every case runs), trains its model for the
    map/valid/test/predict cases, and keeps it as work/set-<name>: (folder, files, their texts)."""
    case = os.path.join(work, "case")
    shutil.rmtree(case, ignore_errors=True)
    files = build(case)
    texts = {f: open(os.path.join(case, f)).read().replace(case, "{}") for f in files}
    verb = ["detector", "train", case + "/d.data", case + "/t.cfg", "-dont_show"] if name == "detect" else \
        ["rnn", "train", case + "/r.cfg", "-file", case + "/t.txt", "-backup", case + "/backup"] if name == "text" else \
        ["classifier", "train", case + "/c.data", case + "/c.cfg"]
    r = subprocess.run([darknet] + verb + ["-threads", "1", "-nogpu"], cwd=case, capture_output=True, text=True,
                       errors="replace", env=env)
    if r.returncode != 0:
        sys.exit("fuzz: training the unmutated %s set failed:\n%s" % (name, r.stderr[-4000:]))
    kept = os.path.join(work, "set-" + name)
    shutil.move(case, kept)
    return kept, files, texts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("darknet")
    ap.add_argument("--cfg", type=int, default=400)
    ap.add_argument("--weights", type=int, default=60)
    ap.add_argument("--images", type=int, default=40)
    ap.add_argument("--train", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", default=os.path.join(tempfile.gettempdir(), "darknet-fuzz"))
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--only", type=int, default=-1, help="run only case N of the run (to reproduce it)")
    a = ap.parse_args()
    darknet = os.path.abspath(a.darknet)
    rng = random.Random(a.seed)
    work = tempfile.mkdtemp(prefix="darknet-fuzz-")
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1",
               UBSAN_OPTIONS="print_stacktrace=1")
    # (kind, training set or None, {file in the case folder: bytes or text with {} for the folder}, argv)
    cases = []
    bases = base_cfgs()
    for _ in range(a.cfg):
        name, lines = rng.choice(bases)
        cases.append(("cfg " + name, None, {"case.cfg": mutate_cfg(rng, lines)}, ["benchmark", "{}/case.cfg"]))
    have_shared = os.path.isdir(YOLO) and os.path.isdir(os.path.join(SHARED, "images"))
    if have_shared:
        cfg96 = os.path.join(work, "yolo96.cfg")
        open(cfg96, "w").write(small_yolo_cfg())
        weights = os.path.join(YOLO, "yolo-fastest-1.1.weights")
        wdata = open(weights, "rb").read()
        for _ in range(a.weights):
            cases.append(("weights", None, {"case.weights": mutate_weights(rng, wdata)},
                          ["benchmark", cfg96, "{}/case.weights"]))
        images = sorted(os.listdir(os.path.join(SHARED, "images")))
        for _ in range(a.images):
            img = rng.choice(images)
            data = open(os.path.join(SHARED, "images", img), "rb").read()
            fname = "case" + os.path.splitext(img)[1]
            cases.append(("image " + img, None, {fname: mutate_image(rng, data)},
                          ["detector", "test", os.path.join(REPO, "cfg", "coco.data"), cfg96, weights, "{}/" + fname,
                           "-dont_show"] + (["-save_labels"] if rng.random() < 0.3 else [])))
    else:
        print("fuzz: SKIP the weights and image cases: %s not found" % YOLO)
    sets = {}
    if a.train:
        sets = {name: prepare_set(darknet, work, name, build, env)
                for name, build in (("detect", detection_set), ("classify", classification_set), ("text", text_set))}
        for _ in range(a.train):
            cases.append(train_case(rng, sets))
    counts, failed, slow = {}, 0, []
    case = os.path.join(work, "case")
    for n, (kind, base, files, argv) in enumerate(cases):
        if a.only >= 0 and n != a.only:
            continue
        shutil.rmtree(case, ignore_errors=True)
        if base:
            shutil.copytree(sets[base][0], case)
        else:
            os.makedirs(case)
        for fname, data in files.items():
            if isinstance(data, str):
                with open(os.path.join(case, fname), "w", errors="replace") as f:
                    f.write(data.replace("{}", case))
            else:
                with open(os.path.join(case, fname), "wb") as f:
                    f.write(data)
        one_pass = ["-runs", "1", "-warmup", "0"] if argv[0] == "benchmark" else []
        cmd = [darknet] + [x.replace("{}", case) for x in argv] + one_pass + ["-threads", "1", "-nogpu"]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=a.timeout, env=env,
                               cwd=case, stdin=subprocess.DEVNULL)
            verdict = classify(r.returncode, r.stderr)
        except subprocess.TimeoutExpired as e:
            verdict = "slower than %gs" % a.timeout
            slow.append("%d (%s)" % (n, kind))
            r = subprocess.CompletedProcess(cmd, -1, e.stdout or "", e.stderr or "")
            if isinstance(r.stdout, bytes):
                r.stdout, r.stderr = r.stdout.decode(errors="replace"), (r.stderr or b"").decode(errors="replace")
        counts[verdict] = counts.get(verdict, 0) + 1
        if verdict.startswith("FAIL") or verdict.startswith("slower"):
            failed += verdict.startswith("FAIL")
            keep = os.path.join(a.keep, "case%d" % n)
            shutil.rmtree(keep, ignore_errors=True)
            shutil.copytree(case, keep)
            with open(keep + ".log", "w") as f:
                f.write("%s\n%s\n--- stdout\n%s\n--- stderr\n%s" % (verdict, " ".join(cmd), r.stdout[-4000:],
                                                                   r.stderr[-8000:]))
            if verdict.startswith("FAIL"):
                print("fuzz: case %d (%s): %s; its folder and output in %s(.log)" % (n, kind, verdict, keep))
    if slow:
        print("fuzz: slower than %gs (not failed): %s" % (a.timeout, ", ".join(slow)))
    detail = ", ".join("%d %s" % (v, k) for k, v in sorted(counts.items()) if not k.startswith("FAIL"))
    ran = sum(counts.values())
    print("fuzz: %d cases (seed %d): %d passed, %d failed (%s)" % (ran, a.seed, ran - failed, failed, detail))
    shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
