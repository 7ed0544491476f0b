"""A ConvNetwork in a model file: its layers described in the meta, its arrays as the MLP's W0, b0, W1, b1, ...

`core.model_io` writes and reads the file; this module turns a ConvNetwork into (layer descriptions, arrays) and
back, checking everything an untrusted file could get wrong. The parameterised layers (conv and dense) hold the
arrays in order: W_i and b_i belong to the i-th of them.

    {"type": "conv", "filters": 32, "kernel": 3, "padding": "valid"}   W: (k, k, in_channels, filters), b: (filters,)
    {"type": "pool", "size": 2}                                         2 x 2 max pooling, no arrays
    {"type": "flatten"}                                                 (H, W, C) -> H*W*C in that order, no arrays
    {"type": "dropout", "rate": 0.5}                                    no arrays (acts only while training)
    {"type": "dense", "units": 10}                                      W: (inputs, units), b: (units,)
"""

from __future__ import annotations

import numpy as np

from core.conv_layers import Conv, Dense
from core.convnet import ConvNetwork, init_convnet
from core.layer_spec import is_layered

LAYER_TYPES = ("conv", "pool", "flatten", "dropout", "dense")


def describe(net: ConvNetwork) -> list[dict]:
    """The meta's "layers": one JSON object a layer."""
    out = []
    for layer in net.layers:
        if layer.kind == "conv":
            out.append({"type": "conv", "filters": int(layer.weight.shape[3]), "kernel": layer.kernel,
                        "padding": layer.padding})  # fmt: skip
        elif layer.kind == "pool":
            out.append({"type": "pool", "size": 2})
        elif layer.kind == "dropout":
            out.append({"type": "dropout", "rate": float(layer.rate)})
        elif layer.kind == "dense":
            out.append({"type": "dense", "units": int(layer.weight.shape[1])})
        else:
            out.append({"type": "flatten"})
    return out


def arrays(net: ConvNetwork) -> dict[str, np.ndarray]:
    """W0, b0, W1, b1, ... of the conv and dense layers, float32."""
    out = {}
    for i, layer in enumerate(layer for layer in net.layers if layer.kind in ("conv", "dense")):
        out[f"W{i}"] = np.ascontiguousarray(layer.weight, dtype=np.float32)
        out[f"b{i}"] = np.ascontiguousarray(layer.bias, dtype=np.float32)
    return out


def network_from_file(fail, layers, config, weights: list, biases: list, n_classes: int) -> ConvNetwork:
    """The ConvNetwork a file holds, once its layer list, its config and its arrays agree; `fail(problem)` raises
    with one sentence otherwise."""
    if not isinstance(layers, list) or not all(isinstance(d, dict) for d in layers):
        fail("has 'layers' that are not a list of JSON objects")
    for d in layers:
        if d.get("type") not in LAYER_TYPES:
            fail(f"has a layer of unknown type {str(d.get('type'))[:40]!r}; this app knows {', '.join(LAYER_TYPES)}")
    if not is_layered(config.hidden):
        fail("describes conv layers but its config's hidden layers are those of an MLP")
    if any(b is None for b in biases):
        fail("lacks the biases a convolutional network needs")
    expect = init_convnet(config.hidden, n_classes, config.activation, config.output, "glorot", config.dropout,
                          0, np.float32)  # fmt: skip
    if describe(expect) != layers:
        fail(f"has layers {_short(layers)} that do not match its config's hidden layers {list(config.hidden)}")
    n_params = sum(1 for layer in expect.layers if layer.kind in ("conv", "dense"))
    if len(weights) != n_params:
        fail(f"holds {len(weights)} weight arrays for {n_params} conv and dense layers")
    built, i = [], 0
    for layer in expect.layers:
        if layer.kind in ("conv", "dense"):
            w, b = weights[i], biases[i]
            if w.shape != layer.weight.shape or b.shape != layer.bias.shape:
                fail(f"has W{i} {w.shape} and b{i} {b.shape}; its layer {i + 1} needs {layer.weight.shape} and {layer.bias.shape}")
            if not (np.isfinite(w).all() and np.isfinite(b).all()):
                fail(f"has non-finite values (NaN or infinity) in W{i} or b{i}: the run that wrote it had diverged")
            layer = Conv(w, b, layer.padding) if layer.kind == "conv" else Dense(w, b)
            i += 1
        built.append(layer)
    return ConvNetwork(built, config.activation, config.output, expect.input_shape)


def _short(layers) -> str:
    text = ",".join(str(d.get("type")) for d in layers)
    return text if len(text) < 120 else text[:119] + "…"
