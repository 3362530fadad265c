#!/usr/bin/env python3
"""Runs the GPU normalization-kernel benchmark (bench/bench_norm_gpu.cpp, built by make bench GPU=1)
and prints ms, GB/s and % of the device's copy bandwidth (cudaMemcpy device-to-device on the same
shape) per kernel and shape, with cuDNN's batchnorm beside ours (CUDNN=1).
Usage: bench_norm_gpu.py <bench binary>. Prints one line and exits 0 when the binary has no GPU
benchmarks (a CPU build) or no device is present."""
import json
import subprocess
import sys

SHAPES = ["(32,64,56,56)", "(32,256,14,14)", "(64,32,28,28)", "(8,128,80,80)", "(32,256,56,56)",
          "(64,128,112,112)"]
KERNELS = ["BatchnormForwardTrain", "CudnnBatchnormForwardTrain", "BatchnormBackwardTrain",
           "CudnnBatchnormBackward", "GroupnormForward", "GroupnormBackward", "LrnForward", "LrnBackward"]


def main():
    binary = sys.argv[1]
    listed = subprocess.run([binary, "--benchmark_list_tests"], capture_output=True, text=True).stdout
    if "BM_Gpu" not in listed:
        print("== GPU kernels: not in this build (make bench GPU=1 CUDNN=1)")
        return
    out = subprocess.run([binary, "--benchmark_format=json", "--benchmark_min_time=0.2",
                          "--benchmark_filter=^BM_Gpu"], capture_output=True, text=True).stdout
    res = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("error_occurred"):
            print("== GPU kernels: %s" % b.get("error_message", "error"))
            return
        name = b["name"].split("/manual_time")[0]
        res[name] = (b["real_time"], b["GB/s"] / 1e9 if b["GB/s"] > 1e6 else b["GB/s"])
    print("== GPU normalization kernels, float32 NCHW (CUDA events); forward counts 2 tensor passes,")
    print("   backward 3; % is of cudaMemcpy device-to-device on the same shape")
    print("%-28s %-17s %9s %8s %6s" % ("kernel", "shape", "ms", "GB/s", "%"))
    for i, shape in enumerate(SHAPES):
        copy = res.get("BM_GpuCopy/%d" % i)
        if copy:
            print("%-28s %-17s %9.4f %8.1f %5.0f%%" % ("Copy", shape, copy[0], copy[1], 100))
        for k in KERNELS:
            v = res.get("BM_Gpu%s/%d" % (k, i))
            if v and copy:
                print("%-28s %-17s %9.4f %8.1f %5.0f%%" % (k, shape, v[0], v[1], 100 * v[1] / copy[1]))
        ours, cudnn = res.get("BM_GpuBatchnormBackwardTrain/%d" % i), res.get("BM_GpuCudnnBatchnormBackward/%d" % i)
        if ours and cudnn:
            print("%-28s %-17s %9.2fx" % ("BN backward speed vs cuDNN", shape, cudnn[0] / ours[0]))


if __name__ == "__main__":
    main()
