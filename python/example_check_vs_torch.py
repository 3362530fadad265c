#!/usr/bin/python3
"""Checks darknet's normalization layers against PyTorch, the way a user would.

Runs /usr/bin/python3 with Debian's python3-torch and python3-numpy:
    /usr/bin/python3 python/example_check_vs_torch.py

For [batchnorm] (training mode), [groupnorm] and [lrn], with the same input, gamma/beta and
upstream gradient, it compares the forward output, dL/dx, dL/dgamma and dL/dbeta, and prints the
largest difference relative to the largest value. Differences:
  - Darknet's LRN alpha is not divided by size; torch.nn.LocalResponseNorm divides it, so torch
    gets alpha * size.
  - torch's LRN pads the window symmetrically for odd sizes (the same window as Darknet's);
    even sizes differ, so only odd sizes are compared.
Exit status 0 when everything agrees to 1e-4, 1 otherwise, 77 when torch is not installed.
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import torch_check  # noqa: E402
from torch_check import rel  # noqa: E402

try:
    import torch
except ImportError:
    print("SKIP: PyTorch not installed (apt-get install python3-torch)")
    sys.exit(77)

N, C, H, W = 4, 8, 5, 6
rng = np.random.default_rng(0)


def make_net(section):
    return torch_check.make_net(section, N, C, H, W)


def check(name, net, module, params, train=True):
    x = (rng.standard_normal((N, C, H, W)) * 2 + 0.5).astype(np.float32)
    dy = rng.standard_normal((N, C, H, W)).astype(np.float32)
    for pname, value in params.items():
        net.set_param(0, pname, value)
    net.zero_grad()
    y = net.forward(x, train=train)
    dx = net.backward(dy)

    xt = torch.tensor(x, requires_grad=True)
    yt = module(xt)
    yt.backward(torch.tensor(dy))
    errs = {"y": rel(y, yt.detach().numpy()), "dx": rel(dx, xt.grad.numpy())}
    if hasattr(module, "weight") and module.weight is not None:
        errs["dgamma"] = rel(net.grad(0, "scales"), module.weight.grad.numpy())
        errs["dbeta"] = rel(net.grad(0, "biases"), module.bias.grad.numpy())
    worst = max(errs.values())
    print("%-22s %s  %s" % (name, "  ".join("%s %.1e" % kv for kv in errs.items()), "ok" if worst < 1e-4 else "FAIL"))
    return worst < 1e-4


gamma = rng.uniform(0.5, 1.5, C).astype(np.float32) * np.where(rng.random(C) < 0.5, -1, 1).astype(np.float32)
beta = rng.uniform(-1, 1, C).astype(np.float32)


def affine(m):
    with torch.no_grad():
        m.weight.copy_(torch.tensor(gamma))
        m.bias.copy_(torch.tensor(beta))
    return m


ok = True
ok &= check("batchnorm (train)", make_net("[batchnorm]\n"), affine(torch.nn.BatchNorm2d(C, eps=1e-5).train()),
            {"scales": gamma, "biases": beta})
for groups in (1, 2, C):
    ok &= check("groupnorm (groups=%d)" % groups, make_net("[groupnorm]\ngroups=%d\n" % groups),
                affine(torch.nn.GroupNorm(groups, C, eps=1e-5)), {"scales": gamma, "biases": beta})
for size in (1, 3, 5):
    ok &= check("lrn (size=%d)" % size, make_net("[lrn]\nsize=%d\nalpha=0.2\nbeta=0.75\nkappa=1.5\n" % size),
                torch.nn.LocalResponseNorm(size, alpha=0.2 * size, beta=0.75, k=1.5), {})
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
