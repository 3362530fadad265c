#!/usr/bin/env python3
"""Runs the GPU normalization-kernel benchmark (bench/bench_norm_gpu.cpp, built by make bench GPU=1)
and prints ms, GB/s and % of the device's copy bandwidth (cudaMemcpy device-to-device on the same
shape) per kernel and shape, with cuDNN's batchnorm beside ours (CUDNN=1) and, where a python3 on
PATH has PyTorch with CUDA, PyTorch's kernels (scripts/bench_norm_torch.py).
Usage: bench_norm_gpu.py <bench binary> [results.json [torch.json]]: saved outputs (--benchmark_out of
the BM_Gpu benchmarks; bench_norm_torch.py --json) printed instead of running them. DN_BENCH_MIN_TIME:
Google Benchmark's --benchmark_min_time per row (default 0.2 s). Prints one line
and exits 0 when the binary has no GPU benchmarks (a CPU build) or no device is present."""
import json
import os
import subprocess
import sys

SHAPES = ["(32,64,56,56)", "(32,256,14,14)", "(64,32,28,28)", "(8,128,80,80)", "(32,256,56,56)",
          "(64,128,112,112)"]
SHORT = {"BatchnormForwardTrain": "BN forward", "BatchnormBackwardTrain": "BN backward",
         "GroupnormForward": "GN forward", "GroupnormBackward": "GN backward", "LrnForward": "LRN forward",
         "LrnBackward": "LRN backward"}
LARGE = (4, 5)  # larger than an H100's 50 MB L2
# batchnorm/GroupNorm alternatives: reduction blocks of 4096 and 32768 values (rule: 8192), one unit of
# V floats per thread in the elementwise passes (rule: 4)
NORM_ALTS = ["Chunk4k", "Chunk32k", "Units1"]
KERNELS = (["BatchnormForwardTrain"] + ["BatchnormForwardTrain" + c for c in NORM_ALTS] + ["CudnnBatchnormForwardTrain"] +
           ["BatchnormBackwardTrain"] + ["BatchnormBackwardTrain" + c for c in NORM_ALTS] + ["CudnnBatchnormBackward"] +
           ["GroupnormForward"] + ["GroupnormForward" + c for c in NORM_ALTS] +
           ["GroupnormBackward"] + ["GroupnormBackward" + c for c in NORM_ALTS] +
           ["LrnForward", "LrnForwardV1Run32", "LrnForwardRun32", "LrnForwardRunAll",
            "LrnBackward", "LrnBackwardV1Run32", "LrnBackwardRun32", "LrnBackwardRunAll"])
# Other launch shapes of our kernels, for choosing the rule (not what the layers run: left out of
# the acceptance lines).
ALTERNATIVES = ({k for k in KERNELS if k.startswith("Lrn") and k not in ("LrnForward", "LrnBackward")} |
                {k for k in KERNELS if k.endswith(tuple(NORM_ALTS))})


def main():
    binary = sys.argv[1]
    if len(sys.argv) > 2:
        with open(sys.argv[2]) as f:
            saved = f.read()
        torch = {}
        if len(sys.argv) > 3:
            with open(sys.argv[3]) as f:
                torch = json.load(f)
        return report(saved, torch)
    listed = subprocess.run([binary, "--benchmark_list_tests"], capture_output=True, text=True).stdout
    if "BM_Gpu" not in listed:
        print("== GPU kernels: not in this build (make bench GPU=1 CUDNN=1)")
        return
    min_time = os.environ.get("DN_BENCH_MIN_TIME", "0.2")  # seconds of GPU time per row
    out = subprocess.run([binary, "--benchmark_format=json", "--benchmark_min_time=" + min_time,
                          "--benchmark_filter=^BM_Gpu"], capture_output=True, text=True).stdout
    report(out, torch_results())


def torch_results():
    """PyTorch's times from scripts/bench_norm_torch.py run by the first python3 on PATH (the
    interpreter that has torch may not be this one): {"torch": version, "ms": {name/i: ms}} or {}."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_norm_torch.py")
    r = subprocess.run(["python3", script, "--json"], capture_output=True, text=True)
    if r.returncode != 0:
        print("== PyTorch: %s" % (r.stdout.strip() or r.stderr.strip().splitlines()[-1:] or "failed"))
        return {}
    return json.loads(r.stdout)


def report(out, torch):
    res = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("error_occurred"):
            print("== GPU kernels: %s" % b.get("error_message", "error"))
            return
        name = b["name"].split("/manual_time")[0]
        res[name] = (b["real_time"], gbs(b["GB/s"]), gbs(b["eff GB/s"]), b.get("label", ""))
    print("== GPU normalization kernels, float32 NCHW (CUDA events). GB/s: the tensor passes our kernels")
    print("   make (BN/GN forward 3, backward 5; LRN 2 and 3; copy 2), % copy: that against cudaMemcpy")
    print("   device-to-device on the same shape; eff GB/s: only the tensors any kernel must touch")
    print("   (forward 2, backward 3), the rate to compare with cuDNN's (whose passes are unknown)")
    if torch:
        print("   Torch rows: PyTorch %s's kernels, default settings (scripts/bench_norm_torch.py)" % torch["torch"])
    print("%-31s %-17s %9s %8s %7s %8s" % ("kernel", "shape", "ms", "GB/s", "% copy", "eff GB/s"))
    worst_large, worst_vs_cudnn = 1e9, 1e9
    for i, shape in enumerate(SHAPES):
        copy = res.get("BM_GpuCopy/%d" % i)
        if not copy:
            continue
        print("%-31s %-17s %9.4f %8.1f %6.0f%% %8.1f" % ("Copy", shape, copy[0], copy[1], 100, copy[2]))
        for k in KERNELS:
            v = res.get("BM_Gpu%s/%d" % (k, i))
            if not v:
                continue
            if k.startswith("Cudnn"):
                print("%-31s %-17s %9.4f %8s %7s %8.1f" % (k, shape, v[0], "-", "-", v[2]))
                continue
            pct = 100 * v[1] / copy[1]
            if i in LARGE and k not in ALTERNATIVES:
                worst_large = min(worst_large, pct)
            print(("%-31s %-17s %9.4f %8.1f %6.0f%% %8.1f  %s" % (k, shape, v[0], v[1], pct, v[2], v[3])).rstrip())
            t = torch.get("ms", {}).get("Torch%s/%d" % (k, i))
            if t:
                n = [int(v) for v in shape.strip("()").split(",")]
                eff = (3 if "Backward" in k else 2) * n[0] * n[1] * n[2] * n[3] * 4 / t / 1e6
                print("%-31s %-17s %9.4f %8s %7s %8.1f" % ("Torch" + k, shape, t, "-", "-", eff))
        for ours_k, cudnn_k, what in (("BatchnormForwardTrain", "CudnnBatchnormForwardTrain", "BN forward"),
                                      ("BatchnormBackwardTrain", "CudnnBatchnormBackward", "BN backward")):
            ours, cudnn = res.get("BM_Gpu%s/%d" % (ours_k, i)), res.get("BM_Gpu%s/%d" % (cudnn_k, i))
            if ours and cudnn:
                print("%-31s %-17s %9.2fx" % (what + " speed vs cuDNN", shape, cudnn[0] / ours[0]))
                if what == "BN backward":
                    worst_vs_cudnn = min(worst_vs_cudnn, cudnn[0] / ours[0])
        for k in KERNELS:
            if k in ALTERNATIVES:
                continue
            ours, t = res.get("BM_Gpu%s/%d" % (k, i)), torch.get("ms", {}).get("Torch%s/%d" % (k, i))
            if ours and t:
                print("%-31s %-17s %9.2fx" % (SHORT[k] + " speed vs PyTorch", shape, t / ours[0]))
    # the fastest of each kernel's launch shapes (the rule and its alternatives), per shape
    groups = [(base, [""] + NORM_ALTS) for base in ("BatchnormForwardTrain", "BatchnormBackwardTrain",
                                                 "GroupnormForward", "GroupnormBackward")]
    groups += [(base, ["", "V1Run32", "Run32", "RunAll"]) for base in ("LrnForward", "LrnBackward")]
    lines = []
    for base, alts in groups:
        cells = []
        for i, shape in enumerate(SHAPES):
            t = {a: res.get("BM_Gpu%s%s/%d" % (base, a, i)) for a in alts}
            if all(t.values()):
                best = min(t, key=lambda a: t[a][0])
                cells.append("%s %s%s" % (shape, best or "rule",
                                          " (%.2fx the rule)" % (t[""][0] / t[best][0]) if best else ""))
        if cells:
            lines.append("   %-23s %s" % (base, "; ".join(cells)))
    if lines:
        print("== fastest launch shape per kernel and shape (Chunk4k/32k: reduction blocks of 4096/32768 values,")
        print("   rule 8192; Units1: 1 unit per thread in the elementwise passes, rule 4; LRN: V1Run32 =")
        print("   1 position x 32 channels, Run32 / RunAll = the rule's V x 32 / all)")
        print("\n".join(lines))
    if worst_large < 1e9:
        print("== acceptance: lowest %% of copy bandwidth on the large shapes (%s): %.0f%% (target >= 80%%)"
              % (", ".join(SHAPES[i] for i in LARGE), worst_large))
    if worst_vs_cudnn < 1e9:
        print("== acceptance: BN backward vs cuDNN, slowest shape: %.2fx (target >= 1.00x)" % worst_vs_cudnn)


def gbs(v):
    """Google Benchmark reports a rate counter in bytes/s or, with --benchmark_counters_tabular, GB/s."""
    return v / 1e9 if v > 1e6 else v


if __name__ == "__main__":
    main()
