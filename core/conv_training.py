"""Training a ConvNetwork inside `core.training.Trainer`: the network, its buffers and one batch's gradients.

The Trainer keeps its loop (shuffling, augmentation, schedules, optimizers, stop and pause, partial epochs,
DivergenceError, BLAS threads) and asks this module only for what differs from the MLP: a new or checked network,
the reused buffers (`ConvStep`, the Trainer's "workspace" for a CNN) and the gradients of a batch. A batch whose
im2col buffers would pass `IM2COL_LIMIT` bytes is computed in chunks and their gradients summed, weighted by their
share of the batch, so memory stays bounded whatever the batch size.
"""

from __future__ import annotations

import numpy as np

from core.conv_layers import Buffers
from core.convnet import ConvNetwork, im2col_bytes, init_convnet, loss_and_grads
from core.layer_spec import ConfigError

IM2COL_LIMIT = 64 * 2**20  # bytes of im2col buffers in one piece (keras-convnet: 21 MB at batch 128)


def new_network(config, n_classes: int, image_shape, rng, dtype) -> ConvNetwork:
    """A ConvNetwork with random weights for `config.hidden`."""
    return init_convnet(config.hidden, n_classes, config.activation, config.output, config.init, config.dropout,
                        rng, dtype, (*image_shape, 1))  # fmt: skip


def check_network(network, config, n_classes: int, image_shape) -> ConvNetwork:
    """`network` in the config's dtype, once its layers are those the config describes; ConfigError otherwise."""
    if not isinstance(network, ConvNetwork):
        raise ConfigError("The given network is an MLP but the config has conv layers; train a new network.")
    expect = new_network(config, n_classes, image_shape, 0, network.dtype)
    if [(layer.kind, _shape(layer)) for layer in network.layers] != [(layer.kind, _shape(layer)) for layer in expect.layers]:
        raise ConfigError(
            "The given network's layers do not match the config's hidden layers; train a new network or change hidden."
        )
    if network.activation != config.activation or network.output != config.output:
        raise ConfigError(
            f"The given network uses {network.activation}/{network.output} but the config says "
            f"{config.activation}/{config.output}; make them agree."
        )
    return network.astype(np.dtype(config.dtype))


def _shape(layer):
    return (layer.weight.shape, getattr(layer, "padding", "")) if hasattr(layer, "weight") else getattr(layer, "rate", None)


def chunk_rows(net: ConvNetwork, batch_size: int) -> int:
    """How many images go through in one piece: the whole batch unless its im2col buffers pass the limit."""
    return max(1, min(batch_size, IM2COL_LIMIT // max(1, im2col_bytes(net, 1))))


def largest_product(net: ConvNetwork, batch_size: int) -> int:
    """Multiply-adds in a batch's largest matrix product (for the BLAS thread choice)."""
    rows = chunk_rows(net, batch_size)
    biggest, shape = 0, net.input_shape
    for layer in net.layers:
        out = layer.out_shape(shape)
        if layer.kind in ("conv", "dense"):
            per_row = int(np.prod(out[:-1])) if len(out) == 3 else 1
            biggest = max(biggest, rows * per_row * layer.weight.size)
        shape = out
    return biggest


class ConvStep:
    """The buffers a CNN's training reuses from batch to batch, and its gradients (`grads`, shaped like
    net.params: weight, bias of each conv and dense layer)."""

    def __init__(self, net: ConvNetwork, batch_size: int):
        self.batch = chunk_rows(net, batch_size)
        self.buffers = Buffers()
        self.grads = [np.empty_like(p) for p in net.params]
        self._chunk_grads = [np.empty_like(p) for p in net.params] if batch_size > self.batch else None

    def gradients(self, net: ConvNetwork, x, y, t, rng, loss: str, l2: float, observe=None) -> tuple[float, int]:
        """Fill `grads` with the batch's gradients (L2 on the weights included); return the mean data loss and how
        many it got right. `observe(outputs, part)` sees the outputs of each piece (part: a slice of the batch)."""
        observe = observe or (lambda out, part=None: None)
        n = len(y)
        if n <= self.batch:
            value, out, _ = loss_and_grads(net, x, t, loss, rng, self.buffers, self.grads)
            observe(out)
            correct = int(np.count_nonzero(out.argmax(1) == y))
        else:
            value, correct = 0.0, 0
            for start in range(0, n, self.batch):
                part = slice(start, start + self.batch)
                v, out, _ = loss_and_grads(net, x[part], t[part], loss, rng, self.buffers, self._chunk_grads)
                observe(out, part)
                share = len(out) / n
                for g, c in zip(self.grads, self._chunk_grads, strict=True):
                    if start == 0:
                        np.multiply(c, share, out=g)
                    else:
                        c *= share
                        g += c
                value += v * share
                correct += int(np.count_nonzero(out.argmax(1) == y[part]))
        if l2 > 0:
            for g, w in zip(self.grads[::2], net.params[::2], strict=True):  # the weights, not the biases
                g += l2 * w
        return value, correct
