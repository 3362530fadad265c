"""Helpers shared by the PyTorch comparisons (example_check_vs_torch.py, check_layers_vs_torch.py):
a one-layer network from a cfg section, and the relative difference they report."""
import os
import tempfile

import numpy as np

import darknet


def make_net(section, n, c, h, w):
    """A darknet.Network of batch n on c x h x w inputs whose layers are the cfg text `section`."""
    cfg = "[net]\nbatch=%d\nwidth=%d\nheight=%d\nchannels=%d\n%s" % (n, w, h, c, section)
    path = os.path.join(tempfile.mkdtemp(), "layer.cfg")
    with open(path, "w") as f:
        f.write(cfg)
    return darknet.Network(path, batch=n)


def rel(a, b):
    """max |a - b| / max |b| over two arrays of the same number of values."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.size == b.size, (a.shape, b.shape)
    return float(np.abs(a.ravel() - b.ravel()).max() / max(1e-12, np.abs(b).max()))
