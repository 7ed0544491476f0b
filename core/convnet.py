"""Convolutional networks: a list of layers (conv, max pool, flatten, dropout, dense) trained from scratch.

A `ConvNetwork` takes the same scaled (N, 784) inputs as the MLP `core.network.Network`, sees them as 28 x 28
images with one channel, and runs its layers in order (`core.conv_layers` has the math of each):

    x (N, 28, 28, 1) -> conv + f -> pool -> conv + f -> pool -> flatten -> dropout -> dense + f -> dense -> output

Conv and hidden dense layers use the network's activation f (`core.network`'s four, with their derivatives in
terms of the activation a); the last dense layer's logits go through the output function and the loss exactly as
in the MLP (`core.network._output_loss_delta`: softmax or sigmoid, cross-entropy or mse). Backpropagation runs
the layers in reverse, each turning dL/d(output) into dL/d(input) and filling its parameters' gradients.

The layers come from `TrainConfig.hidden` (`core.layer_spec`): e.g. ("c32k3", "p2", "c64k3", "p2", "d0.5") is
the Keras convnet; a flatten is inserted before the first dense layer, the output layer appended, and the config's
`dropout` (if any) adds a dropout layer after every hidden dense layer. Initialisers are the MLP's, with
fan_in = k k C and fan_out = k k F for a conv layer (Keras' Glorot uniform).

Memory: every buffer is allocated once for the largest batch (`Buffers`); passes over many images go
`CHUNK` images at a time, so the im2col buffers stay bounded (see `im2col_bytes`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.conv_layers import (
    Buffers,
    Conv,
    Dense,
    Dropout,
    Flatten,
    MaxPool,
    conv_backward,
    conv_forward,
    dense_backward,
    dense_forward,
    dropout_backward,
    dropout_forward,
    pool_backward,
    pool_forward,
)  # fmt: skip
from core.layer_spec import conv_args
from core.network import (
    _activate,
    _activation_backward,
    _output_loss_delta,
    check_architecture,
    forward_layers,
    output_function,
)  # fmt: skip

IMAGE = (28, 28, 1)  # (H, W, C) of the input
CHUNK = 256  # images per piece in passes over many images (forward_loss, feature maps, gradients)


@dataclass(eq=False)  # compared by identity, as arrays have no single truth value
class ConvNetwork:
    layers: list  # Conv | MaxPool | Flatten | Dropout | Dense, the last a Dense output layer
    activation: str = "relu"  # conv and hidden dense layers: "sigmoid" | "tanh" | "relu" | "leaky-relu"
    output: str = "softmax"  # "softmax" | "sigmoid"
    input_shape: tuple = IMAGE  # (H, W, C)

    @property
    def dtype(self) -> np.dtype:
        return self.params[0].dtype

    @property
    def params(self) -> list[np.ndarray]:
        """Every trainable array in order: weight, bias of each conv and dense layer."""
        return [a for layer in self.layers if layer.kind in ("conv", "dense") for a in (layer.weight, layer.bias)]

    @property
    def use_bias(self) -> bool:
        return True

    @property
    def n_inputs(self) -> int:
        return int(np.prod(self.input_shape))

    @property
    def n_classes(self) -> int:
        return int(self.layers[-1].weight.shape[1])

    def shapes(self) -> list[tuple]:
        """The shape (H, W, C) or (units,) after each layer."""
        shape, out = self.input_shape, []
        for layer in self.layers:
            shape = layer.out_shape(shape)
            out.append(shape)
        return out

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Output probabilities (softmax) or sigmoid outputs, (N, classes), for scaled inputs (N, 784)."""
        x = np.atleast_2d(np.asarray(x, self.dtype))
        buf = Buffers()  # its own: two threads may ask the same network at once
        parts = [output_function(run_layers(self, x[s : s + CHUNK], buf)[-1].copy(), self.output)
                 for s in range(0, len(x), CHUNK)]  # fmt: skip
        return np.concatenate(parts) if parts else np.zeros((0, self.n_classes), self.dtype)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.argmax(self.forward(x), axis=1)

    def copy(self) -> ConvNetwork:
        return self.astype(self.dtype)

    def astype(self, dtype) -> ConvNetwork:
        """A copy in another float type."""
        layers = []
        for layer in self.layers:
            if layer.kind == "conv":
                layer = Conv(layer.weight.astype(dtype), layer.bias.astype(dtype), layer.padding)
            elif layer.kind == "dense":
                layer = Dense(layer.weight.astype(dtype), layer.bias.astype(dtype))
            layers.append(layer)
        return ConvNetwork(layers, self.activation, self.output, self.input_shape)

    def forward_loss(self, x, targets, loss="cross-entropy"):
        """(mean data loss, outputs): see `forward_loss`."""
        return forward_loss(self, x, targets, loss)

    def log_prob_gradient(self, x, labels) -> np.ndarray:
        """d log p(labels[n] | x[n]) / d x[n], (N, 784): see `core.network.log_prob_gradient`."""
        return log_prob_gradient(self, x, labels)


def is_convolutional(net) -> bool:
    """True for a ConvNetwork (a list of layers), False for the MLP Network."""
    return isinstance(net, ConvNetwork)


# --- building ---


def init_convnet(hidden, n_classes=10, activation="relu", output="softmax", init="glorot", dropout=0.0,
                 rng=None, dtype=np.float32, input_shape=IMAGE) -> ConvNetwork:  # fmt: skip
    """A new ConvNetwork for `TrainConfig.hidden` tokens, with random weights and zero biases."""
    check_architecture(activation, output)
    rng = np.random.default_rng(rng)
    layers, shape = [], tuple(input_shape)
    tokens = [*hidden, n_classes]
    for idx, token in enumerate(tokens):
        if isinstance(token, str) and token.startswith("c"):
            filters, k, padding = conv_args(token)
            w = _init_weights(rng, init, (k, k, shape[2], filters), k * k * shape[2], k * k * filters)
            layer = Conv(w.astype(dtype), np.zeros(filters, dtype), padding)
        elif token == "p2":
            layer = MaxPool()
        elif isinstance(token, str):
            layer = Dropout(float(token[1:]))
        else:
            if len(shape) == 3:
                layers.append(Flatten())
                shape = Flatten().out_shape(shape)
            w = _init_weights(rng, init, (shape[0], int(token)), shape[0], int(token))
            layer = Dense(w.astype(dtype), np.zeros(int(token), dtype))
        layers.append(layer)
        shape = layer.out_shape(shape)
        if layer.kind == "dense" and dropout > 0 and idx < len(tokens) - 1:  # the config's dropout (as the MLP's)
            layers.append(Dropout(float(dropout)))
    return ConvNetwork(layers, activation, output, tuple(input_shape))


def _init_weights(rng, init, shape, fan_in, fan_out):
    if init == "he":
        return rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)
    if init == "glorot":
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, shape)
    if init == "rashid":
        return rng.normal(0.0, fan_in**-0.5, shape)
    raise ValueError(f"Unknown initialiser {init!r}.")


# --- forward and backward ---


def run_layers(net: ConvNetwork, x, buf: Buffers, rng=None, train=False) -> list[np.ndarray]:
    """Each layer's output (after its activation, the last one's logits) for scaled inputs x (N, 784); views into
    `buf`. Dropout acts only with train=True."""
    a = np.asarray(x, net.dtype).reshape(len(x), *net.input_shape)
    outs, last = [], len(net.layers) - 1
    for i, layer in enumerate(net.layers):
        key = str(i)
        if layer.kind == "conv":
            a = _activate(conv_forward(layer, a, buf, key), net.activation)
        elif layer.kind == "pool":
            a = pool_forward(a, buf, key)
        elif layer.kind == "flatten":
            a = a.reshape(len(a), -1)
        elif layer.kind == "dropout":
            a = dropout_forward(a, layer.rate, rng, buf, key) if train and layer.rate > 0 else a
        else:
            a = dense_forward(layer, a, buf, key)
            if i < last:
                a = _activate(a, net.activation)
        outs.append(a)
    return outs


def backward(net: ConvNetwork, x, outs, delta, buf: Buffers, grads, need_dx=False, train=True):
    """Backpropagate dL/dz of the logits (`delta`, N x classes) through the layers whose outputs `run_layers`
    gave (`outs`); fill `grads` (arrays shaped like net.params) and return dL/dx (N, 784) if need_dx."""
    x = np.asarray(x, net.dtype).reshape(len(x), *net.input_shape)
    d, g, fused = delta, len(grads), False
    for i in range(len(net.layers) - 1, -1, -1):
        layer, key = net.layers[i], str(i)
        below = outs[i - 1] if i > 0 else x
        keep_going = need_dx or i > 0
        if layer.kind in ("conv", "dense"):
            g -= 2
            if i < len(net.layers) - 1 and not fused:  # f'(z) from the activation a = outs[i]
                _activation_backward(d, outs[i], net.activation, buf.get(key + "tmp", d.shape, d.dtype))
            fused = False
            fn = conv_backward if layer.kind == "conv" else dense_backward
            arg = below.shape if layer.kind == "conv" else below
            d = fn(layer, arg, d, buf, key, grads[g], grads[g + 1], keep_going)
        elif layer.kind == "pool":  # a ReLU conv below: its derivative is applied by the pooling's backward pass
            fused = net.activation == "relu" and i > 0 and net.layers[i - 1].kind == "conv"
            d = pool_backward(below, outs[i], d, buf, key, relu_below=fused)
        elif layer.kind == "flatten":
            d = d.reshape(below.shape)
        elif layer.kind == "dropout" and train and layer.rate > 0:
            d = dropout_backward(d, buf, key)
    return d.reshape(len(x), -1) if need_dx else None


def loss_and_grads(net: ConvNetwork, x, targets, loss="cross-entropy", rng=None, buf=None, grads=None):
    """Mean data loss (no L2) over the batch, and its outputs (N, classes); `grads` (arrays shaped like
    net.params, made if None) filled with the gradients. Dropout acts (a training step)."""
    buf = buf if buf is not None else Buffers()
    grads = grads if grads is not None else [np.empty_like(p) for p in net.params]
    rng = rng if rng is not None else np.random.default_rng()
    outs = run_layers(net, x, buf, rng, train=True)
    n, k = outs[-1].shape
    out, delta = buf.get("probs", (n, k), net.dtype), buf.get("delta", (n, k), net.dtype)
    value = _output_loss_delta(outs[-1], np.asarray(targets, net.dtype), net.output, loss, out, delta)
    backward(net, x, outs, delta, buf, grads)
    return value, out, grads


def forward_loss(net: ConvNetwork, x, targets, loss="cross-entropy"):
    """The mean data loss (no L2) and the outputs for inputs x, CHUNK images at a time."""
    outputs = np.empty((len(x), net.n_classes), net.dtype)
    total, buf = 0.0, Buffers()
    for s in range(0, len(x), CHUNK):
        z = run_layers(net, x[s : s + CHUNK], buf)[-1]
        t = np.asarray(targets[s : s + CHUNK], net.dtype)
        total += len(z) * _output_loss_delta(z, t, net.output, loss, outputs[s : s + CHUNK], np.empty_like(z))
    return total / max(1, len(x)), outputs


def log_prob_gradient(net: ConvNetwork, x, labels) -> np.ndarray:
    """d log p(labels[n] | x[n]) / d x[n] (N, 784), as `core.network.log_prob_gradient` for the MLP."""
    x = np.atleast_2d(np.asarray(x, net.dtype))
    labels = np.broadcast_to(np.asarray(labels, dtype=np.intp), (len(x),))
    result, buf = np.empty(x.shape, net.dtype), Buffers()
    grads = [np.empty_like(p) for p in net.params]
    for s in range(0, len(x), CHUNK):
        xs, ys = x[s : s + CHUNK], labels[s : s + CHUNK]
        outs = run_layers(net, xs, buf)
        out = output_function(outs[-1].copy(), net.output)
        rows = np.arange(len(out))
        if net.output == "softmax":
            delta = -out
            delta[rows, ys] += 1
        else:
            delta = -out * (1 - out) / out.sum(axis=1, keepdims=True)
            delta[rows, ys] += 1 - out[rows, ys]
        result[s : s + CHUNK] = backward(net, xs, outs, delta, buf, grads, need_dx=True, train=False)
    return result


# --- looking inside ---


def conv_filters(net) -> list[np.ndarray]:
    """Each conv layer's filters as (filters, in_channels, k, k); [] for an MLP."""
    if not is_convolutional(net):
        return []
    return [layer.weight.transpose(3, 2, 0, 1).copy() for layer in net.layers if layer.kind == "conv"]


def _layer_names(net: ConvNetwork) -> list[str | None]:
    """A name for each layer's output worth showing ("conv 1 (32 x 26 x 26)"), None for flatten and dropout."""
    names, count = [], {}
    last = len(net.layers) - 1
    for i, (layer, shape) in enumerate(zip(net.layers, net.shapes(), strict=True)):
        if layer.kind in ("flatten", "dropout") or i == last:
            names.append(None)
            continue
        count[layer.kind] = count.get(layer.kind, 0) + 1
        size = f"{shape[2]} x {shape[0]} x {shape[1]}" if len(shape) == 3 else f"{shape[0]}"
        names.append(f"{layer.kind} {count[layer.kind]} ({size})")
    return names


def feature_maps(net, x) -> list[tuple[str, np.ndarray]]:
    """(name, maps (N, C, H, W)) after each conv layer's activation and each pool, for scaled inputs x (N, 784);
    [] for an MLP."""
    if not is_convolutional(net):
        return []
    return [(name, a.transpose(0, 3, 1, 2)) for name, a in _hidden_outputs(net, x) if a.ndim == 4]


def hidden_activations(net, x) -> list[tuple[str, np.ndarray]]:
    """(name, activations (N, d)) of each hidden layer for scaled inputs x (N, 784), flattened (a conv layer's
    as H, W, C); for the MLP Network too ("hidden 1 (512)", ...)."""
    if not is_convolutional(net):
        inputs = forward_layers(net, x)[0][1:]
        return [(f"hidden {i + 1} ({a.shape[1]})", a) for i, a in enumerate(inputs)]
    return [(name, a.reshape(len(a), -1)) for name, a in _hidden_outputs(net, x)]


def _hidden_outputs(net: ConvNetwork, x):
    x = np.atleast_2d(np.asarray(x, net.dtype))
    names = _layer_names(net)
    parts = [[] for _ in names]
    buf = Buffers()
    for s in range(0, len(x), CHUNK):
        for i, a in enumerate(run_layers(net, x[s : s + CHUNK], buf)):
            if names[i] is not None:
                parts[i].append(a.copy())
    return [(name, np.concatenate(p)) for name, p in zip(names, parts, strict=True) if name is not None]


def im2col_bytes(net: ConvNetwork, batch: int) -> int:
    """Bytes of the im2col buffers (one per conv layer) for a batch: N Ho Wo k k C floats each."""
    total, shape = 0, net.input_shape
    for layer in net.layers:
        if layer.kind == "conv":
            h, w, _ = layer.out_shape(shape)
            total += batch * h * w * layer.kernel**2 * shape[2] * net.dtype.itemsize
        shape = layer.out_shape(shape)
    return total
