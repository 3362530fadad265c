#!/usr/bin/env python3
"""PyTorch's GPU normalization kernels on the shapes of bench/bench_norm_gpu.cpp, for the table of
scripts/bench_norm_gpu.py: batchnorm forward (training) and backward, GroupNorm(32) forward and
backward, LocalResponseNorm(5) forward and backward, float32 NCHW, with PyTorch's defaults (cuDNN
enabled: PyTorch picks cuDNN's or its own kernels per shape).

Each op is timed alone with CUDA events around it (backward: torch.autograd.grad on a kept graph,
so only the backward kernels run between the events), the L2 flushed before each timed call as in
the C++ bench; the median of `--iters` calls is printed.
Usage: bench_norm_torch.py [--json] [--iters N] [--device cuda]
  --json   print {"<Kernel>/<shape index>": ms, ...} (read by bench_norm_gpu.py) instead of a table.
Exits 3 with a one-line reason when torch or its CUDA device is missing."""
import argparse
import json
import sys

# The same shapes, in the same order, as kShapes in bench/bench_norm_gpu.cpp.
SHAPES = [(32, 64, 56, 56), (32, 256, 14, 14), (64, 32, 28, 28), (8, 128, 80, 80), (32, 256, 56, 56),
          (64, 128, 112, 112)]
# Tensors any kernel must touch (as "eff GB/s" of the C++ bench): forward x, y; backward x, dy, dx.
MIN_PASSES = {"Forward": 2, "Backward": 3}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--shapes", type=int, default=len(SHAPES), help="first N shapes only")
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        print("PyTorch: not installed for %s" % sys.executable)
        sys.exit(3)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("PyTorch %s: no CUDA device" % torch.__version__)
        sys.exit(3)
    res = {}
    for i, shape in enumerate(SHAPES[:args.shapes]):
        for name, ms in bench_shape(torch, shape, args.device, args.iters):
            res["%s/%d" % (name, i)] = ms
    if args.json:
        print(json.dumps({"torch": torch.__version__, "ms": res}))
        return
    print("PyTorch %s on %s" % (torch.__version__, args.device))
    print("%-28s %-17s %9s %8s" % ("kernel", "shape", "ms", "eff GB/s"))
    for key, ms in res.items():
        name, i = key.split("/")
        shape = SHAPES[int(i)]
        n = shape[0] * shape[1] * shape[2] * shape[3]
        passes = MIN_PASSES["Backward" if "Backward" in name else "Forward"]
        print("%-28s %-17s %9.4f %8.1f" % (name, str(shape).replace(" ", ""), ms, passes * n * 4 / ms / 1e6))


def bench_shape(torch, shape, device, iters):
    """Yields (kernel name, median ms) for the six ops on one shape."""
    F = torch.nn.functional
    g = torch.Generator(device="cpu").manual_seed(1)
    x = (torch.randn(shape, generator=g) * 2 + 0.5).to(device)
    dy = torch.randn(shape, generator=g).to(device)
    c = shape[1]
    gamma = torch.full((c,), 1.3, device=device, requires_grad=True)
    beta = torch.full((c,), 0.2, device=device, requires_grad=True)
    rm, rv = torch.zeros(c, device=device), torch.ones(c, device=device)
    timer = Timer(torch, device)

    def bn(xx):
        return F.batch_norm(xx, rm, rv, gamma, beta, training=True, momentum=0.01, eps=1e-5)

    def gn(xx):
        return F.group_norm(xx, 32, gamma, beta, eps=1e-5)

    def lrn(xx):  # Darknet's alpha is not divided by size; torch's is: alpha_torch = alpha * size
        return F.local_response_norm(xx, 5, alpha=1e-4 * 5, beta=0.75, k=1.0)

    for name, op, params in (("Batchnorm", bn, [gamma, beta]), ("Groupnorm", gn, [gamma, beta]), ("Lrn", lrn, [])):
        with torch.no_grad():
            yield ("Torch%sForward%s" % (name, "Train" if name == "Batchnorm" else ""),
                   timer.median(lambda: op(x), iters))
        xg = x.detach().requires_grad_(True)
        y = op(xg)
        yield ("Torch%sBackward%s" % (name, "Train" if name == "Batchnorm" else ""),
               timer.median(lambda: torch.autograd.grad(y, [xg] + params, dy, retain_graph=True), iters))
        del y, xg


class Timer:
    """CUDA-event (or, on the CPU, perf_counter) timing of one call, the L2 flushed before each."""

    def __init__(self, torch, device):
        self.torch, self.device = torch, device
        if device == "cuda":
            l2 = getattr(torch.cuda.get_device_properties(0), "L2_cache_size", 50 << 20)
            self.flush = torch.empty(max(2 * l2, 64 << 20) // 4, device=device)

    def median(self, f, iters):
        torch = self.torch
        f()  # warm up (algorithm choice, allocations)
        ts = []
        for _ in range(iters):
            if self.device == "cuda":
                self.flush.zero_()
                a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                a.record()
                f()
                b.record()
                b.synchronize()
                ts.append(a.elapsed_time(b))
            else:
                import time
                s = time.perf_counter()
                f()
                ts.append((time.perf_counter() - s) * 1e3)
        ts.sort()
        return ts[len(ts) // 2]


if __name__ == "__main__":
    main()
