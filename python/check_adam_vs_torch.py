#!/usr/bin/python3
"""Checks darknet's optimizer steps against torch.optim, the way a user would.

Runs /usr/bin/python3 with Debian's python3-torch and python3-numpy:
    /usr/bin/python3 python/check_adam_vs_torch.py

A two-layer [connected] network (weights and biases) and its PyTorch twin (two nn.Linear) start
from the same parameters and take the same steps: forward on a random batch, backward from a
random upstream gradient dy (the loss is sum(dy * y)), one optimizer step. Darknet's rules map to
torch's as follows (docs/math.md, "Optimizers"):
  - adam=1: torch.optim.Adam(lr, betas=(B1, B2), eps, weight_decay=decay*batch); darknet decays
    biases too, like torch.
  - SGD: torch.optim.SGD(lr/batch, momentum) with weight_decay=decay*batch on the weights and
    none on the biases; torch's momentum buffer follows the same recurrence as darknet's
    gradient-plus-momentum buffer.
It prints the largest parameter difference relative to the largest parameter after each run.
Exit status 0 when everything agrees to 1e-5, 1 otherwise, 77 when torch is not installed.
"""
import os
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import darknet  # noqa: E402

try:
    import torch
except ImportError:
    print("SKIP: PyTorch not installed (apt-get install python3-torch)")
    sys.exit(77)

BATCH, IN, HID, OUT, STEPS = 4, 6, 5, 3, 8
LR, MOMENTUM, DECAY, B1, B2, EPS = 0.01, 0.8, 0.02, 0.8, 0.99, 1e-6


def run(adam, steps=STEPS, seed=1):
    net_keys = f"adam=1\nB1={B1}\nB2={B2}\neps={EPS}\n" if adam else ""
    cfg = (f"[net]\nbatch={BATCH}\ninputs={IN}\nmomentum={MOMENTUM}\ndecay={DECAY}\n{net_keys}"
           f"[connected]\noutput={HID}\nactivation=linear\n[connected]\noutput={OUT}\nactivation=linear\n")
    with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as f:
        f.write(cfg)
    try:
        net = darknet.Network(f.name, batch=BATCH)
    finally:
        os.unlink(f.name)
    rng = np.random.default_rng(seed)
    lin = [torch.nn.Linear(IN, HID).double(), torch.nn.Linear(HID, OUT).double()]
    for i, l in enumerate(lin):
        w = rng.standard_normal(l.weight.shape).astype(np.float32)
        b = rng.standard_normal(l.bias.shape).astype(np.float32)
        net.set_param(i, "weights", w)
        net.set_param(i, "biases", b)
        with torch.no_grad():
            l.weight.copy_(torch.from_numpy(w.astype(np.float64)))
            l.bias.copy_(torch.from_numpy(b.astype(np.float64)))
    weights = [p for l in lin for p in (l.weight,)]
    biases = [p for l in lin for p in (l.bias,)]
    if adam:
        opt = torch.optim.Adam(weights + biases, lr=LR, betas=(B1, B2), eps=EPS, weight_decay=DECAY * BATCH)
    else:
        opt = torch.optim.SGD([{"params": weights, "weight_decay": DECAY * BATCH},
                               {"params": biases, "weight_decay": 0.0}], lr=LR / BATCH, momentum=MOMENTUM)
    net.zero_grad()
    for _ in range(steps):
        x = rng.standard_normal((BATCH, IN)).astype(np.float32)
        dy = rng.standard_normal((BATCH, OUT)).astype(np.float32)
        net.forward(x.reshape(net.input_shape), train=True)
        net.backward(dy.reshape(net.layer_shape(-1)))
        net.update(LR)
        opt.zero_grad()
        y = lin[1](lin[0](torch.from_numpy(x.astype(np.float64))))
        y.backward(torch.from_numpy(dy.astype(np.float64)))
        opt.step()
    err = 0.0
    for i, l in enumerate(lin):
        for name, p in (("weights", l.weight), ("biases", l.bias)):
            ref = p.detach().numpy().ravel()
            got = net.param(i, name).astype(np.float64)
            err = max(err, float(np.max(np.abs(got - ref)) / max(1e-12, np.max(np.abs(ref)))))
    return err


def main():
    ok = True
    for adam in (True, False):
        err = run(adam)
        good = err <= 1e-5
        ok = ok and good
        print(f"{'Adam' if adam else 'SGD '}: {STEPS} steps, max |darknet - torch| / max |torch| = {err:.2e}"
              f" {'ok' if good else 'FAIL'}")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
