#!/usr/bin/env python3
"""Mutation fuzzing of what users hand to darknet: cfgs, .weights files and images.

Usage: fuzz_inputs.py <darknet binary> [--cfg N] [--weights N] [--images N] [--seed S]
                      [--keep DIR] [--timeout SECONDS]

- cfg: each case takes one of the cfgs in cfg/ (and ../shared's yolo-fastest-1.1.cfg at 96x96)
  and applies 1-3 mutations: a value replaced by an edge value (0, -1, 2^31 - 1, 1e9, 'abc', '',
  'nan', ...), a line or a section deleted or duplicated, the file cut short, a junk line added.
  Run: `darknet benchmark <cfg> -runs 1 -threads 1 -nogpu` (parse, build, one forward pass).
- weights: ../shared's yolo-fastest-1.1.weights cut short, header bytes changed, bytes appended,
  or words set to NaN, infinity or random bits. Run: `darknet benchmark <cfg> <weights> ...`.
- images: ../shared/images/* cut short, bytes changed, or random bytes.
  Run: `darknet detector test cfg/coco.data <cfg> <weights> <image> -dont_show`.
The weights and image cases need ../shared and are skipped (with a message) without it.

A case passes when darknet exits 0, or exits 1 with a `darknet: error:` line. It fails on a
signal, any other exit status, an exit 1 without that line, or a sanitizer report (run it on the
ASan + UBSan binary, as `make test-sanitize` does). ASan's operator new aborts instead of throwing
std::bad_alloc on an allocation it cannot make; such runs count as `out of memory (ASan)`, not as
failures (the release binary turns them into an error naming the cfg section; tests/test_cfg.cpp).
A case that runs past --timeout is counted and shown, not failed (a slow forward pass is not a
bug; a hang shows up there). Every case is generated from --seed, so a run is repeatable.

Prints one line per failure (kept in --keep with darknet's output), then
`fuzz: N cases: N passed, N failed (...)`; exits 1 if any failed.
"""
import argparse
import os
import random
import re
import struct
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(REPO), "shared")
YOLO = os.path.join(SHARED, "models", "yolo-fastest-1.1")
EDGE_VALUES = ["0", "-1", "-5", "1", "2", "7", "3.5", "-0.5", "1000000000", "2147483647", "-2147483648",
               "99999999999999", "1073741824", "65536", "46341", "4096", "1e40", "nan", "inf", "abc", "",
               "0x10", "1 2", "1,2,", ",", "=", "3,-7"]
JUNK_LINES = ["[unknown]", "[", "]", "key", "=5", "[net]", "[yolo]", "[route]\nlayers=-100",
              "[shortcut]\nfrom=5", "[upsample]\nstride=0", "[maxpool]\nsize=0"]


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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("darknet")
    ap.add_argument("--cfg", type=int, default=400)
    ap.add_argument("--weights", type=int, default=60)
    ap.add_argument("--images", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", default=os.path.join(tempfile.gettempdir(), "darknet-fuzz"))
    ap.add_argument("--timeout", type=float, default=60)
    a = ap.parse_args()
    darknet = os.path.abspath(a.darknet)
    rng = random.Random(a.seed)
    work = tempfile.mkdtemp(prefix="darknet-fuzz-")
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1",
               UBSAN_OPTIONS="print_stacktrace=1")
    cases = []  # (kind, file name, bytes, argv with {} for the file)
    bases = base_cfgs()
    for _ in range(a.cfg):
        name, lines = rng.choice(bases)
        cases.append(("cfg " + name, "case.cfg", mutate_cfg(rng, lines), ["benchmark", "{}"]))
    have_shared = os.path.isdir(YOLO) and os.path.isdir(os.path.join(SHARED, "images"))
    if have_shared:
        cfg96 = os.path.join(work, "yolo96.cfg")
        open(cfg96, "w").write(small_yolo_cfg())
        weights = os.path.join(YOLO, "yolo-fastest-1.1.weights")
        wdata = open(weights, "rb").read()
        for _ in range(a.weights):
            cases.append(("weights", "case.weights", mutate_weights(rng, wdata), ["benchmark", cfg96, "{}"]))
        images = sorted(os.listdir(os.path.join(SHARED, "images")))
        for _ in range(a.images):
            img = rng.choice(images)
            data = open(os.path.join(SHARED, "images", img), "rb").read()
            cases.append(("image " + img, "case" + os.path.splitext(img)[1], mutate_image(rng, data),
                          ["detector", "test", os.path.join(REPO, "cfg", "coco.data"), cfg96, weights, "{}",
                           "-dont_show"]))
    else:
        print("fuzz: SKIP the weights and image cases: %s not found" % YOLO)
    counts, failed, slow = {}, 0, []
    for n, (kind, fname, data, argv) in enumerate(cases):
        path = os.path.join(work, fname)
        with open(path, "wb") as f:
            f.write(data)
        cmd = ([darknet] + [path if x == "{}" else x for x in argv] + (["-runs", "1"] if argv[0] == "benchmark" else [])
               + ["-threads", "1", "-nogpu"])
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=a.timeout, env=env,
                               cwd=work)
            verdict = classify(r.returncode, r.stderr)
        except subprocess.TimeoutExpired:
            verdict = "slower than %gs" % a.timeout
            slow.append("%d (%s)" % (n, kind))
        counts[verdict] = counts.get(verdict, 0) + 1
        if verdict.startswith("FAIL"):
            failed += 1
            os.makedirs(a.keep, exist_ok=True)
            keep = os.path.join(a.keep, "case%d_%s" % (n, fname))
            with open(keep, "wb") as f:
                f.write(data)
            with open(keep + ".log", "w") as f:
                f.write("%s\n%s\n--- stdout\n%s\n--- stderr\n%s" % (verdict, " ".join(cmd), r.stdout[-4000:],
                                                                   r.stderr[-8000:]))
            print("fuzz: case %d (%s): %s; input and output in %s(.log)" % (n, kind, verdict, keep))
    if slow:
        print("fuzz: slower than %gs (not failed): %s" % (a.timeout, ", ".join(slow)))
    detail = ", ".join("%d %s" % (v, k) for k, v in sorted(counts.items()) if not k.startswith("FAIL"))
    print("fuzz: %d cases (seed %d): %d passed, %d failed (%s)" % (len(cases), a.seed, len(cases) - failed, failed,
                                                                  detail))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
