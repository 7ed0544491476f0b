"""The layers of a ConvNetwork, each a forward and a backward function from arrays to arrays, in NumPy.

Images flow as (N, H, W, C) arrays ("channels last"), so that a convolution is one matrix product whose result
is already the next layer's input, with no transposes:

    im2col   cols[n, y, x, i, j, c] = x_pad[n, y + i, x + j, c]          (N Ho Wo, k k C), k*k slice copies
    conv     z = cols @ W + b,  W of shape (k, k, C, F) seen as (k k C, F)    (one BLAS sgemm)
    backward dW = cols^T @ dz,  db = sum of dz,  dcols = dz @ W^T,  then col2im: dx_pad[n, y+i, x+j, c] += dcols

The backward pass writes dcols into the cols buffer (cols is not needed once dW is formed), so a conv layer holds
one im2col buffer of N Ho Wo k k C floats. "valid" padding gives Ho = H - k + 1; "same" pads (k - 1) / 2 zeros on
every side and keeps Ho = H. This is cross-correlation, as in every deep-learning library (no kernel flip).

2 x 2 max pooling takes the largest of each window: out = max(x[0::2, 0::2], x[0::2, 1::2], x[1::2, 0::2],
x[1::2, 1::2]) (an odd last row or column is dropped); its gradient goes to the first position holding the max.
Dropout is inverted: kept units (probability 1 - rate) are scaled by 1 / (1 - rate) while training.

Every buffer comes from a `Buffers` object, allocated once for the largest batch and then reused as views.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SMALL_K = 64  # conv layers with fewer than this many inputs per position (k k C) multiply image by image


@dataclass(eq=False)
class Conv:
    weight: np.ndarray  # (k, k, in_channels, filters): Keras' "HWIO" layout
    bias: np.ndarray  # (filters,)
    padding: str = "valid"  # "valid" | "same"
    kind = "conv"

    @property
    def kernel(self) -> int:
        return int(self.weight.shape[0])

    def out_shape(self, shape):
        h, w, _ = shape
        shrink = 0 if self.padding == "same" else self.kernel - 1
        return (h - shrink, w - shrink, int(self.weight.shape[3]))


@dataclass(eq=False)
class MaxPool:
    kind = "pool"

    def out_shape(self, shape):
        return (shape[0] // 2, shape[1] // 2, shape[2])


@dataclass(eq=False)
class Flatten:
    kind = "flatten"

    def out_shape(self, shape):
        return (int(np.prod(shape)),)


@dataclass(eq=False)
class Dropout:
    rate: float
    kind = "dropout"

    def out_shape(self, shape):
        return shape


@dataclass(eq=False)
class Dense:
    weight: np.ndarray  # (inputs, outputs)
    bias: np.ndarray  # (outputs,)
    kind = "dense"

    def out_shape(self, shape):
        return (int(self.weight.shape[1]),)


class Buffers:
    """Named arrays reused from batch to batch: `get(name, shape, dtype)` gives a view of the first shape[0] rows
    of an array allocated (zeroed) the first time, or again when a batch is bigger than any before."""

    def __init__(self):
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, shape, dtype) -> np.ndarray:
        a = self._arrays.get(name)
        if a is None or a.shape[1:] != tuple(shape[1:]) or len(a) < shape[0] or a.dtype != dtype:
            a = self._arrays[name] = np.zeros(shape, dtype)
        return a[: shape[0]]

    def nbytes(self, part: str = "") -> int:
        """Bytes held by the buffers whose name contains `part`."""
        return sum(a.nbytes for k, a in self._arrays.items() if part in k)


def conv_forward(layer: Conv, x: np.ndarray, buf: Buffers, key: str) -> np.ndarray:
    """z = im2col(x) @ W + b, shape (N, Ho, Wo, F), for x (N, H, W, C); no activation."""
    n, h, w, c = x.shape
    k, f = layer.kernel, layer.weight.shape[3]
    if layer.padding == "same":
        p = (k - 1) // 2
        xp = buf.get(key + "pad", (n, h + 2 * p, w + 2 * p, c), x.dtype)  # its border stays zero
        xp[:, p : p + h, p : p + w] = x
    else:
        xp = x
    ho, wo = xp.shape[1] - k + 1, xp.shape[2] - k + 1
    cols = buf.get(key + "cols", (n, ho, wo, k, k, c), x.dtype)
    for i in range(k):
        for j in range(k):
            cols[:, :, :, i, j, :] = xp[:, i : i + ho, j : j + wo, :]
    z = buf.get(key + "z", (n, ho, wo, f), x.dtype)
    if k * k * c < SMALL_K:  # one product per image: OpenBLAS threads a (N Ho Wo, 9) product badly
        np.matmul(cols.reshape(n, -1, k * k * c), layer.weight.reshape(-1, f), out=z.reshape(n, -1, f))
    else:
        np.matmul(cols.reshape(-1, k * k * c), layer.weight.reshape(-1, f), out=z.reshape(-1, f))
    z += layer.bias
    return z


def conv_backward(layer: Conv, x_shape, dz, buf: Buffers, key: str, grad_w, grad_b, need_dx=True):
    """Fill grad_w (k, k, C, F) and grad_b (F,) from dz = dL/dz (N, Ho, Wo, F); return dL/dx (N, H, W, C) or None.
    Reads the cols buffer of the last `conv_forward` with this key, and overwrites it."""
    n, h, w, c = x_shape
    k, f = layer.kernel, layer.weight.shape[3]
    ho, wo = dz.shape[1], dz.shape[2]
    cols = buf.get(key + "cols", (n, ho, wo, k, k, c), dz.dtype)
    cols2, dz2 = cols.reshape(-1, k * k * c), dz.reshape(-1, f)
    if k * k * c < SMALL_K:  # per image, then summed: a (9, N Ho Wo) x (N Ho Wo, F) product threads badly
        per_image = buf.get(key + "dw", (n, k * k * c, f), dz.dtype)
        np.matmul(cols.reshape(n, -1, k * k * c).transpose(0, 2, 1), dz.reshape(n, -1, f), out=per_image)
        np.sum(per_image, axis=0, out=grad_w.reshape(-1, f))
    else:
        np.matmul(cols2.T, dz2, out=grad_w.reshape(-1, f))
    ones = buf.get(key + "ones", (len(dz2),), dz.dtype)  # db = 1^T dz: a BLAS gemv, 6x faster than np.sum here
    if ones[-1] != 1:
        ones.fill(1)
    np.matmul(ones, dz2, out=grad_b)
    if not need_dx:
        return None
    np.matmul(dz2, layer.weight.reshape(-1, f).T, out=cols2)  # dcols, in place of cols
    p = (k - 1) // 2 if layer.padding == "same" else 0
    dxp = buf.get(key + "dxp", (n, h + 2 * p, w + 2 * p, c), dz.dtype)
    dxp[...] = 0
    for i in range(k):
        for j in range(k):
            dxp[:, i : i + ho, j : j + wo, :] += cols[:, :, :, i, j, :]
    return dxp[:, p : p + h, p : p + w] if p else dxp


_CORNERS = ((0, 0), (0, 1), (1, 0), (1, 1))


def pool_forward(x: np.ndarray, buf: Buffers, key: str) -> np.ndarray:
    """2 x 2 max pooling of x (N, H, W, C): (N, H // 2, W // 2, C)."""
    n, h, w, c = x.shape
    ho, wo = h // 2, w // 2
    out = buf.get(key + "out", (n, ho, wo, c), x.dtype)
    views = [x[:, i : 2 * ho : 2, j : 2 * wo : 2] for i, j in _CORNERS]
    np.maximum(views[0], views[1], out=out)
    np.maximum(out, views[2], out=out)
    np.maximum(out, views[3], out=out)
    return out


def pool_backward(x, out, dout, buf: Buffers, key: str, relu_below: bool = False) -> np.ndarray:
    """dL/dx for the pooling of x whose result was `out`: each window's gradient goes to its first maximum.
    relu_below: x is a ReLU's output and the ReLU's derivative [x > 0] is applied here too: at the maximum it is
    [out > 0], so multiplying the small dout by it spares a pass over the large x."""
    n, h, w, c = x.shape
    ho, wo = out.shape[1], out.shape[2]
    dx = buf.get(key + "dx", x.shape, dout.dtype)
    dx[:, 2 * ho :] = 0  # an odd last row or column got nothing
    dx[:, :, 2 * wo :] = 0
    free = buf.get(key + "free", out.shape, np.bool_)  # windows whose gradient has not been placed yet
    free[...] = True
    hit = buf.get(key + "hit", out.shape, np.bool_)
    if relu_below:
        np.greater(out, 0, out=hit)
        dout = np.multiply(dout, hit, out=buf.get(key + "dpos", out.shape, dout.dtype))
    for m, (i, j) in enumerate(_CORNERS):
        np.equal(x[:, i : 2 * ho : 2, j : 2 * wo : 2], out, out=hit)
        hit &= free
        np.multiply(dout, hit, out=dx[:, i : 2 * ho : 2, j : 2 * wo : 2])
        if m < 3:
            free ^= hit
    return dx


def dropout_forward(x: np.ndarray, rate: float, rng, buf: Buffers, key: str) -> np.ndarray:
    """Inverted dropout while training: x * keep / (1 - rate), the mask kept for the backward pass."""
    keep = buf.get(key + "keep", x.shape, x.dtype)
    np.greater_equal(rng.random(x.shape, dtype=x.dtype), rate, out=keep)
    keep *= 1.0 / (1.0 - rate)
    out = buf.get(key + "out", x.shape, x.dtype)
    return np.multiply(x, keep, out=out)


def dropout_backward(dout: np.ndarray, buf: Buffers, key: str) -> np.ndarray:
    keep = buf.get(key + "keep", dout.shape, dout.dtype)
    return np.multiply(dout, keep, out=buf.get(key + "dx", dout.shape, dout.dtype))


def dense_forward(layer: Dense, x: np.ndarray, buf: Buffers, key: str) -> np.ndarray:
    z = buf.get(key + "z", (len(x), layer.weight.shape[1]), x.dtype)
    np.matmul(x, layer.weight, out=z)
    z += layer.bias
    return z


def dense_backward(layer: Dense, x, dz, buf: Buffers, key: str, grad_w, grad_b, need_dx=True):
    np.matmul(x.T, dz, out=grad_w)
    np.sum(dz, axis=0, out=grad_b)
    if not need_dx:
        return None
    return np.matmul(dz, layer.weight.T, out=buf.get(key + "dx", x.shape, dz.dtype))
