#!/usr/bin/python3
"""Checks darknet's transposed convolution, antialiasing and unit-normalization against PyTorch.

Runs /usr/bin/python3 with Debian's python3-torch and python3-numpy:
    /usr/bin/python3 python/check_layers_vs_torch.py

With the same input, parameters and upstream gradient, it compares the forward output, dL/dx and
the parameter gradients of:
  - [deconvolutional] with torch.nn.functional.conv_transpose2d (the same [C][filters][k][k] weights);
  - [convolutional] antialiasing=1|2 with conv2d at stride 1, the activation, then a depthwise
    conv2d holding AlexeyAB's blur (the 3x3 binomial / 16 with padding 1, or the 2x2 box / 4) at
    the stride; [maxpool] antialiasing=1 likewise after max_pool2d;
  - [l2norm] with torch.nn.functional.normalize over the channels; [logistic] with torch.sigmoid;
  - [convolutional] activation=normalize_channels|normalize_channels_softmax|
    normalize_channels_softmax_maxval (AlexeyAB's, eps 1e-4) with their formulas in torch;
  - [rnn], [lstm] and [gru] with their recurrences unrolled in torch over the time steps (autograd
    through time; with batch_normalize=1, F.batch_norm on each step's batch statistics).
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
    import torch.nn.functional as F
except ImportError:
    print("SKIP: PyTorch not installed (apt-get install python3-torch)")
    sys.exit(77)

N, C, H, W = 2, 3, 5, 6
rng = np.random.default_rng(1)


def make_net(section):
    return torch_check.make_net(section, N, C, H, W)


def check(name, section, torch_fn, params):
    """params: darknet name -> shape; torch_fn(x, **tensors) -> y."""
    net = make_net(section)
    values = {p: rng.uniform(-1, 1, shape).astype(np.float32) for p, shape in params.items()}
    for p, v in values.items():
        net.set_param(0, p, v)
    x = rng.standard_normal((N, C, H, W)).astype(np.float32)
    net.zero_grad()
    y = net.forward(x, train=True)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx = net.backward(dy)
    xt = torch.tensor(x, requires_grad=True)
    pt = {p: torch.tensor(v, requires_grad=True) for p, v in values.items()}
    yt = torch_fn(xt, **pt)
    yt.backward(torch.tensor(dy))
    errs = {"y": rel(y, yt.detach().numpy()), "dx": rel(dx, xt.grad.numpy())}
    for p in values:
        errs["d" + p] = rel(net.grad(0, p), pt[p].grad.numpy())
    worst = max(errs.values())
    print("%-28s %s  %s" % (name, "  ".join("%s %.1e" % kv for kv in errs.items()), "ok" if worst < 1e-4 else "FAIL"))
    return worst < 1e-4


def blur(z, kind, stride):
    k = torch.tensor([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]) / 16 if kind == 1 else torch.full((2, 2), 0.25)
    c = z.shape[1]
    return F.conv2d(z, k.expand(c, 1, *k.shape).contiguous(), stride=stride, padding=1 if kind == 1 else 0, groups=c)


def leaky(z):
    return F.leaky_relu(z, 0.1)


ok = True
Fo = 4
for k, s, p, keys in ((4, 2, 1, "size=4\nstride=2\npadding=1\n"), (3, 3, 0, "size=3\nstride=3\n"),
                      (3, 1, 1, "size=3\nstride=1\npad=1\n")):
    ok &= check("deconv k%d s%d p%d" % (k, s, p), "[deconvolutional]\nfilters=%d\nactivation=leaky\n%s" % (Fo, keys),
                lambda x, weights, biases, k=k, s=s, p=p: leaky(
                    F.conv_transpose2d(x, weights.view(C, Fo, k, k), biases, stride=s, padding=p)),
                {"weights": (C * Fo * k * k,), "biases": (Fo,)})
for kind in (1, 2):
    ok &= check("conv antialiasing=%d" % kind,
                "[convolutional]\nfilters=%d\nsize=3\nstride=2\npad=1\nantialiasing=%d\nactivation=leaky\n" % (Fo, kind),
                lambda x, weights, biases, kind=kind: blur(
                    leaky(F.conv2d(x, weights.view(Fo, C, 3, 3), biases, stride=1, padding=1)), kind, 2),
                {"weights": (Fo * C * 9,), "biases": (Fo,)})
# [maxpool] size=2 stride=2 antialiasing=1: the max at stride 1 over windows starting at 0 (padding
# 1 on the right and bottom, Darknet's default size - 1 split as -padding/2), then the blur.
ok &= check("maxpool antialiasing=1", "[maxpool]\nsize=2\nstride=2\nantialiasing=1\n",
            lambda x: blur(F.max_pool2d(F.pad(x, (0, 1, 0, 1), value=-float("inf")), 2, stride=1), 1, 2), {})
ok &= check("l2norm", "[l2norm]\n", lambda x: F.normalize(x, dim=1), {})


def normalize_channels(kind, z, eps=1e-4):
    """AlexeyAB's channel activations over dim 1 (autograd through the max of the maxval kind)."""
    if kind == "normalize_channels":
        r = F.relu(z)
        return r / (eps + r.sum(1, keepdim=True))
    e = torch.exp(z - z.max(1, keepdim=True).values) if kind.endswith("maxval") else torch.exp(z)
    return e / (eps + e.sum(1, keepdim=True))


for kind in ("normalize_channels", "normalize_channels_softmax", "normalize_channels_softmax_maxval"):
    ok &= check("conv 1x1 " + kind, "[convolutional]\nfilters=%d\nsize=1\nactivation=%s\n" % (Fo, kind),
                lambda x, weights, biases, kind=kind: normalize_channels(
                    kind, F.conv2d(x, weights.view(Fo, C, 1, 1), biases)),
                {"weights": (Fo * C,), "biases": (Fo,)})
ok &= check("logistic (not the loss)", "[logistic]\n", lambda x: torch.sigmoid(x), {})


def run_steps(net, values, T, N, I):
    """Sets darknet's parameters, runs a training pass of T steps of N streams and its backward:
    returns y, dy, dx and torch's leaf tensors for x [T][N][I] and the parameters."""
    for p, v in values.items():
        net.set_param(0, p, v)
    x = rng.standard_normal((T * N, C, H, W)).astype(np.float32)
    net.zero_grad()
    y = net.forward(x, train=True)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx = net.backward(dy)
    xt = torch.tensor(x.reshape(T, N, I), requires_grad=True)
    return y, dy, dx, xt, {p: torch.tensor(v, requires_grad=True) for p, v in values.items()}


def report_steps(name, net, y, dy, dx, yt, xt, values, pt):
    """Back-propagates dy through torch's unrolled yt and prints (and returns) whether darknet's y,
    dx and parameter gradients agree to 1e-4."""
    yt.backward(torch.tensor(dy.reshape(yt.shape)))
    errs = {"y": rel(y, yt.detach().numpy()), "dx": rel(dx, xt.grad.numpy())}
    for p in values:
        errs["d" + p] = rel(net.grad(0, p), pt[p].grad.numpy())
    worst = max(errs.values())
    print("%-28s y %.1e  dx %.1e  worst parameter gradient %.1e  %s" % (
        name, errs["y"], errs["dx"], max(v for k, v in errs.items() if k.startswith("d") and k != "dx"),
        "ok" if worst < 1e-4 else "FAIL"))
    return worst < 1e-4


def check_rnn(name, keys, T, act, self_act, shortcut, bn, N=N):
    """[rnn] over T steps of N streams against the same recurrence unrolled in torch (autograd
    through time; batchnorm with each step's batch statistics, F.batch_norm)."""
    Hd, O, I = 5, 4, C * H * W
    net = torch_check.make_net("time_steps=%d\n[rnn]\noutput=%d\nhidden=%d\n%s" % (T, O, Hd, keys), N, C, H, W)
    shapes = {"#0": (Hd, I), "#1": (Hd, Hd), "#2": (O, Hd)}
    values = {}
    for k, (rows, cols) in shapes.items():
        values["biases" + k] = rng.uniform(-1, 1, rows).astype(np.float32)
        values["weights" + k] = rng.uniform(-1, 1, rows * cols).astype(np.float32)
        if bn:
            values["scales" + k] = rng.uniform(0.5, 1.5, rows).astype(np.float32)
    y, dy, dx, xt, pt = run_steps(net, values, T, N, I)

    def block(k, f, v):
        z = v @ pt["weights" + k].view(shapes[k]).T
        if bn:
            z = F.batch_norm(z, None, None, pt["scales" + k], pt["biases" + k], training=True, eps=1e-5)
        else:
            z = z + pt["biases" + k]
        return f(z)

    S, ys = torch.zeros(N, Hd), []
    for t in range(T):
        S = (S if shortcut else 0) + block("#0", act, xt[t]) + block("#1", self_act, S)
        ys.append(block("#2", act, S))
    return report_steps(name, net, y, dy, dx, torch.stack(ys).reshape(T * N, O), xt, values, pt)


ok &= check_rnn("rnn tanh", "activation=tanh\n", 3, torch.tanh, torch.tanh, False, False)
ok &= check_rnn("rnn leaky shortcut logistic", "activation=leaky\nshortcut=1\nlogistic=1\n", 4, leaky,
                torch.sigmoid, True, False)


def gated_values(K, O, I, bn):
    """Random parameters of K blocks of O units (pjreddie's order: the K/2 state blocks, O -> O,
    then the K/2 input blocks, I -> O)."""
    values = {}
    for k in range(K):
        values["biases#%d" % k] = rng.uniform(-1, 1, O).astype(np.float32)
        values["weights#%d" % k] = rng.uniform(-1, 1, O * (O if k < K // 2 else I)).astype(np.float32)
        if bn:
            values["scales#%d" % k] = rng.uniform(0.5, 1.5, O).astype(np.float32)
    return values


def gated_block(pt, O, bn):
    """Block k of v in torch: W_k v + b_k, or F.batch_norm of W_k v on the step's statistics."""
    def block(k, v):
        z = v @ pt["weights#%d" % k].view(O, -1).T
        if bn:
            return F.batch_norm(z, None, None, pt["scales#%d" % k], pt["biases#%d" % k], training=True, eps=1e-5)
        return z + pt["biases#%d" % k]
    return block


def check_lstm(name, keys, T, bn, N=N):
    """[lstm] over T steps against the cell unrolled in torch (gates i, f, o, g from the state
    blocks W_q h and the input blocks U_q x, pjreddie's block order)."""
    O, I = 4, C * H * W
    net = torch_check.make_net("time_steps=%d\n[lstm]\noutput=%d\n%s" % (T, O, keys), N, C, H, W)
    values = gated_values(8, O, I, bn)
    y, dy, dx, xt, pt = run_steps(net, values, T, N, I)
    block = gated_block(pt, O, bn)
    h, c, ys = torch.zeros(N, O), torch.zeros(N, O), []
    for t in range(T):
        z = [block(q, h) + block(q + 4, xt[t]) for q in range(4)]
        i, f, o, g = torch.sigmoid(z[0]), torch.sigmoid(z[1]), torch.sigmoid(z[2]), torch.tanh(z[3])
        c = f * c + i * g
        h = o * torch.tanh(c)
        ys.append(h)
    return report_steps(name, net, y, dy, dx, torch.stack(ys).reshape(T * N, O), xt, values, pt)


def check_gru(name, keys, T, bn, squash, N=N):
    """[gru] over T steps against Cho et al.'s cell unrolled in torch, in pjreddie's form (blocks
    W_z, W_r, W_h, U_z, U_r, U_h; h = z h + (1 - z) hc; W_h reads r h)."""
    O, I = 4, C * H * W
    net = torch_check.make_net("time_steps=%d\n[gru]\noutput=%d\n%s" % (T, O, keys), N, C, H, W)
    values = gated_values(6, O, I, bn)
    y, dy, dx, xt, pt = run_steps(net, values, T, N, I)
    block = gated_block(pt, O, bn)
    h, ys = torch.zeros(N, O), []
    for t in range(T):
        z = torch.sigmoid(block(0, h) + block(3, xt[t]))
        r = torch.sigmoid(block(1, h) + block(4, xt[t]))
        hc = squash(block(2, r * h) + block(5, xt[t]))
        h = z * h + (1 - z) * hc
        ys.append(h)
    return report_steps(name, net, y, dy, dx, torch.stack(ys).reshape(T * N, O), xt, values, pt)


ok &= check_lstm("lstm", "", 3, False)
# the state blocks see h_0 = 0 at the first step: a batchnorm of identical rows (6 streams)
ok &= check_lstm("lstm batchnorm", "batch_normalize=1\n", 3, True, N=6)
# batchnorm over 2 rows has no gradient (the normalized pair is always -1, +1): 6 streams here
ok &= check_rnn("rnn batchnorm shortcut", "activation=logistic\nbatch_normalize=1\nshortcut=1\n", 3, torch.sigmoid,
                torch.sigmoid, True, True, N=6)
ok &= check_gru("gru (logistic candidate)", "", 4, False, torch.sigmoid)
ok &= check_gru("gru tanh batchnorm", "tanh=1\nbatch_normalize=1\n", 3, True, torch.tanh, N=6)
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
