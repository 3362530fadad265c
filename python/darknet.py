"""Python binding for libdarknet.so (ctypes + numpy; no build step).

The library is found at $DARKNET_LIB, or libdarknet.so at the repository root (one level above
this file). Tensors are float32 NCHW numpy arrays. Gradients are true gradients dL/dx.

    import darknet
    net = darknet.Network("cfg/yolo.cfg", weights="yolo.weights")
    y = net.forward(x)            # x: float32 [batch, c, h, w] of the [net] shape
    dx = net.backward(dy)         # dy = dL/dy for the output layer -> dL/dx
    net.grad(0, "weights")        # dL/dW of layer 0 (accumulated; net.zero_grad() resets)
"""
import ctypes
import os

import numpy as np

__all__ = ["Network", "DarknetError", "load_library"]


class DarknetError(RuntimeError):
    """Raised with the library's message (dn_last_error) when a call fails."""


class _Detection(ctypes.Structure):
    _fields_ = [("x", ctypes.c_float), ("y", ctypes.c_float), ("w", ctypes.c_float), ("h", ctypes.c_float),
                ("class_id", ctypes.c_int), ("prob", ctypes.c_float)]


_lib = None
_F = ctypes.POINTER(ctypes.c_float)
_I4 = ctypes.c_int * 4


def load_library(path=None):
    """Loads libdarknet.so (path, $DARKNET_LIB, or the repository root) once and returns it."""
    global _lib
    if _lib is not None:
        return _lib
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [path, os.environ.get("DARKNET_LIB"), os.path.join(here, "..", "libdarknet.so")]
    for c in candidates:
        if c and os.path.exists(c):
            lib = ctypes.CDLL(os.path.abspath(c))
            break
    else:
        raise DarknetError("libdarknet.so not found: build it with `make` or set DARKNET_LIB")
    vp, ci, cs = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t
    sigs = {
        "dn_last_error": (ctypes.c_char_p, []),
        "dn_network_create": (vp, [ctypes.c_char_p, ctypes.c_char_p, ci]),
        "dn_network_free": (None, [vp]),
        "dn_network_num_layers": (ci, [vp, ctypes.POINTER(ci)]),
        "dn_network_input_shape": (ci, [vp, _I4]),
        "dn_layer_shape": (ci, [vp, ci, _I4]),
        "dn_layer_type": (ci, [vp, ci, ctypes.c_char_p, cs]),
        "dn_network_forward": (ci, [vp, _F, ci, _F, cs]),
        "dn_layer_output": (ci, [vp, ci, _F, cs]),
        "dn_network_backward": (ci, [vp, _F, cs, _F, cs]),
        "dn_network_zero_grad": (ci, [vp]),
        "dn_network_update": (ci, [vp, ctypes.c_float]),
        "dn_param_size": (ci, [vp, ci, ctypes.c_char_p, ctypes.POINTER(cs)]),
        "dn_param_get": (ci, [vp, ci, ctypes.c_char_p, _F, cs]),
        "dn_param_set": (ci, [vp, ci, ctypes.c_char_p, _F, cs]),
        "dn_grad_get": (ci, [vp, ci, ctypes.c_char_p, _F, cs]),
        "dn_network_load_weights": (ci, [vp, ctypes.c_char_p]),
        "dn_network_save_weights": (ci, [vp, ctypes.c_char_p]),
        "dn_load_image_input": (ci, [vp, ctypes.c_char_p, ci, _F, cs]),
        "dn_detect": (ci, [vp, ctypes.c_char_p, ctypes.c_float, ctypes.c_float, ci, ctypes.POINTER(_Detection), ci,
                           ctypes.POINTER(ci)]),
        "dn_set_num_threads": (ci, [ci]),
        "dn_set_quiet": (None, [ci]),
    }
    for name, (res, args) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
    lib.dn_set_quiet(1)
    _lib = lib
    return lib


def _check(rc):
    if rc != 0:
        raise DarknetError(_lib.dn_last_error().decode())


def _ptr(a):
    return a.ctypes.data_as(_F)


def _f32(a, shape=None):
    a = np.ascontiguousarray(a, dtype=np.float32)
    if shape is not None and a.size != int(np.prod(shape)):
        raise ValueError("expected %d values (shape %s), got array of shape %s" % (np.prod(shape), shape, a.shape))
    return a


class Network:
    """A darknet network built from a cfg file (and optionally weights).

    batch: images per forward pass (0 keeps the cfg's batch/subdivisions).
    Raises DarknetError with the library's message (cfg file:line and key, weights offset, ...).
    """

    def __init__(self, cfg_path, weights=None, batch=0, quiet=True):
        lib = load_library()
        lib.dn_set_quiet(1 if quiet else 0)
        self._h = lib.dn_network_create(cfg_path.encode(), weights.encode() if weights else None, batch)
        if not self._h:
            raise DarknetError(lib.dn_last_error().decode())

    def __del__(self):
        if getattr(self, "_h", None) and _lib is not None:
            _lib.dn_network_free(self._h)
            self._h = None

    @property
    def num_layers(self):
        n = ctypes.c_int()
        _check(_lib.dn_network_num_layers(self._h, ctypes.byref(n)))
        return n.value

    @property
    def input_shape(self):
        s = _I4()
        _check(_lib.dn_network_input_shape(self._h, s))
        return tuple(s)

    def layer_shape(self, i=-1):
        """Output shape (n, c, h, w) of layer i (-1: the output layer)."""
        s = _I4()
        _check(_lib.dn_layer_shape(self._h, i, s))
        return tuple(s)

    def layer_type(self, i):
        buf = ctypes.create_string_buffer(64)
        _check(_lib.dn_layer_type(self._h, i, buf, 64))
        return buf.value.decode()

    def forward(self, x, train=False):
        """Runs the network on x (float32 NCHW of the [net] shape); returns the output layer's output."""
        x = _f32(x, self.input_shape)
        out = np.empty(self.layer_shape(-1), dtype=np.float32)
        _check(_lib.dn_network_forward(self._h, _ptr(x), 1 if train else 0, _ptr(out), out.size))
        return out

    def layer_output(self, i):
        out = np.empty(self.layer_shape(i), dtype=np.float32)
        _check(_lib.dn_layer_output(self._h, i, _ptr(out), out.size))
        return out

    def backward(self, dy):
        """Given dL/d(output) after forward(), returns dL/dx and accumulates parameter gradients."""
        dy = _f32(dy, self.layer_shape(-1))
        dx = np.empty(self.input_shape, dtype=np.float32)
        _check(_lib.dn_network_backward(self._h, _ptr(dy), dy.size, _ptr(dx), dx.size))
        return dx

    def zero_grad(self):
        _check(_lib.dn_network_zero_grad(self._h))

    def update(self, learning_rate):
        """One optimizer step (the cfg's SGD, or Adam with adam=1) over the accumulated gradients."""
        _check(_lib.dn_network_update(self._h, ctypes.c_float(learning_rate)))

    def _size(self, i, name):
        n = ctypes.c_size_t()
        _check(_lib.dn_param_size(self._h, i, name.encode(), ctypes.byref(n)))
        return n.value

    def param(self, i, name):
        """Parameter of layer i: 'weights', 'biases' (beta), 'scales' (gamma), 'rolling_mean', 'rolling_variance';
        'name#k' the k-th of that name ([rnn]'s blocks: 'weights#0' input, '#1' self, '#2' output)."""
        out = np.empty(self._size(i, name), dtype=np.float32)
        _check(_lib.dn_param_get(self._h, i, name.encode(), _ptr(out), out.size))
        return out

    def set_param(self, i, name, values):
        v = _f32(values).ravel()
        _check(_lib.dn_param_set(self._h, i, name.encode(), _ptr(v), v.size))

    def grad(self, i, name):
        out = np.empty(self._size(i, name), dtype=np.float32)
        _check(_lib.dn_grad_get(self._h, i, name.encode(), _ptr(out), out.size))
        return out

    def load_weights(self, path):
        _check(_lib.dn_network_load_weights(self._h, path.encode()))

    def save_weights(self, path):
        _check(_lib.dn_network_save_weights(self._h, path.encode()))

    def image_input(self, path, letterbox=False):
        """Darknet's network input for an image file: float32 [1, c, h, w] (stretch resize or letterbox)."""
        n, c, h, w = self.input_shape
        out = np.empty((1, c, h, w), dtype=np.float32)
        _check(_lib.dn_load_image_input(self._h, path.encode(), 1 if letterbox else 0, _ptr(out), out.size))
        return out

    def detect(self, path, thresh=0.25, nms=0.45, letterbox=False, max_dets=4096):
        """Detections on an image file after NMS: list of (class_id, prob, (x, y, w, h)) relative boxes."""
        buf = (_Detection * max_dets)()
        n = ctypes.c_int()
        _check(_lib.dn_detect(self._h, path.encode(), thresh, nms, 1 if letterbox else 0, buf, max_dets,
                              ctypes.byref(n)))
        return [(d.class_id, d.prob, (d.x, d.y, d.w, d.h)) for d in buf[:n.value]]


def set_num_threads(n):
    load_library().dn_set_num_threads(n)
