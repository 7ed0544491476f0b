"""What each hidden unit answers to, and what the network loses without it.

Arrays in, arrays out, NumPy only. A network here is a multilayer perceptron (`core.network.Network` or anything
with ``weights``, ``biases``, ``activation`` and ``output``): layer ``i`` computes ``a(i+1) = f(a(i) @ W_i + b_i)``.
Hidden layers are numbered from 0: hidden layer ``h`` is ``a(h+1)``, the output of ``W_h``, with
``W_h.shape[1]`` units; a network of ``L`` weight matrices has ``L - 1`` hidden layers.

**The images that excite a unit most** are the test images with the highest activation ``a(h+1)[:, unit]``
(ties broken by the lower index, so the answer does not depend on the sort's whims).

**Silencing a unit** forces its activation to 0 in the forward pass. A unit reaches the rest of the network only
through its row of the next weight matrix, ``W_(h+1)[unit, :]``, so zeroing that row in a *copy* of the network is
exactly the same as the forced 0 (a ReLU unit that never fires is already silent; a sigmoid unit's 0 is not its
resting value 0.5, and that is the point: the unit's message is cut, not averaged). The saved weights never change.
What the network loses is measured on the test set: the accuracy of each class before and after, and every image
whose answer changes.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from core.network import _activate, forward_layers, output_function

TOP_IMAGES = 16  # the images shown per unit: a 4 x 4 grid
SILENCE_EACH_BUDGET = 4e9  # multiply-adds accuracy_without_each may spend: about 12 s on two cores at worst
_CHUNK = 4096  # rows per forward pass: bounded memory (4096 x 512 float32 = 8 MB per layer)


def applies(net) -> str:
    """Empty when units can be inspected in ``net``; otherwise one sentence saying why not."""
    weights = getattr(net, "weights", None)
    if not isinstance(weights, list) or not all(isinstance(w, np.ndarray) and w.ndim == 2 for w in weights):
        return (
            "The unit inspector covers the dense hidden layers of a multilayer perceptron; "
            "this network has other layers."
        )
    if len(weights) < 2:
        return "This network has no hidden layer, so it has no hidden units to inspect."
    return ""


def hidden_sizes(net) -> list[int]:
    """The number of units of each hidden layer, e.g. [512, 256]; [] without hidden layers."""
    return [int(w.shape[1]) for w in net.weights[:-1]]


def _check_layer(net, layer: int) -> None:
    sizes = hidden_sizes(net)
    if not 0 <= int(layer) < len(sizes):
        raise ValueError(f"Hidden layer {layer} does not exist; this network has {len(sizes)} hidden layers.")


def hidden_activations(net, x: np.ndarray, layer: int) -> np.ndarray:
    """(N, units): the activations of hidden layer ``layer`` (0 = the first) for scaled inputs ``x`` (N, 784)."""
    _check_layer(net, layer)
    x = np.atleast_2d(np.asarray(x))
    # Only the layers up to the one asked for are needed: a network cut after W_layer (its last "logits" are
    # then that layer's pre-activations, so the activation is applied here as forward_layers applies it).
    head = _Head(net, layer + 2)
    parts = [forward_layers(head, x[s : s + _CHUNK])[0][layer + 1] for s in range(0, len(x), _CHUNK)]
    if not parts:
        return np.zeros((0, hidden_sizes(net)[layer]), dtype=net.weights[0].dtype)
    return np.concatenate(parts)


class _Head:
    """Layers ``start`` to ``n - 1`` of a network (the first ``n`` by default; no copies), for forward_layers."""

    def __init__(self, net, n: int, start: int = 0):
        self.weights = list(net.weights[start:n])
        self.biases = list(net.biases[start:n])
        self.activation = net.activation
        self.output = net.output


def top_images(
    net, x: np.ndarray, layer: int, unit: int, k: int = TOP_IMAGES
) -> tuple[np.ndarray, np.ndarray]:
    """The indices of the ``k`` rows of ``x`` that excite ``unit`` of hidden layer ``layer`` most, highest first,
    and their activations."""
    _check_layer(net, layer)
    if not 0 <= int(unit) < hidden_sizes(net)[layer]:
        raise ValueError(
            f"Hidden layer {layer} has {hidden_sizes(net)[layer]} units; there is no unit {unit}."
        )
    values = hidden_activations(net, x, layer)[:, int(unit)].astype(np.float64)
    order = np.argsort(-values, kind="stable")[: int(k)]
    return order, values[order]


def normalise_units(net, units: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """``(layer, unit)`` pairs sorted and without repeats; ValueError naming the first that does not exist."""
    sizes = hidden_sizes(net)
    chosen = sorted({(int(layer), int(unit)) for layer, unit in units})
    for layer, unit in chosen:
        if not 0 <= layer < len(sizes):
            raise ValueError(
                f"Hidden layer {layer} does not exist; this network has {len(sizes)} hidden layers."
            )
        if not 0 <= unit < sizes[layer]:
            raise ValueError(f"Hidden layer {layer} has {sizes[layer]} units (0 to {sizes[layer] - 1}); "
                             f"there is no unit {unit}.")  # fmt: skip
    return chosen


def silenced(net, units: Iterable[tuple[int, int]]):
    """A copy of ``net`` in which every ``(layer, unit)`` sends nothing on: its outgoing weights are zeroed, which
    is the same as forcing its activation to 0. ``net`` itself is never changed."""
    clone = copy.copy(net)  # the same kind of network; only the weight matrices it changes are new arrays
    clone.weights = list(net.weights)
    clone.biases = list(net.biases)
    changed: set[int] = set()
    for layer, unit in normalise_units(net, units):
        if layer + 1 not in changed:
            clone.weights[layer + 1] = net.weights[layer + 1].copy()
            changed.add(layer + 1)
        clone.weights[layer + 1][unit, :] = 0
    return clone


def forward(net, x: np.ndarray) -> np.ndarray:
    """The network's outputs for scaled inputs, in chunks (bounded memory for 10,000 images)."""
    x = np.atleast_2d(np.asarray(x))
    parts = [
        output_function(forward_layers(net, x[s : s + _CHUNK])[1], net.output)
        for s in range(0, len(x), _CHUNK)
    ]
    return (
        np.concatenate(parts)
        if parts
        else np.zeros((0, net.weights[-1].shape[1]), dtype=net.weights[0].dtype)
    )


@dataclass
class SilenceEffect:
    """What the network loses when ``units`` are silenced, on the images it was measured on."""

    units: list[tuple[int, int]]  # (hidden layer, unit), sorted
    predicted_before: np.ndarray  # (N,) int
    predicted_after: np.ndarray  # (N,) int
    class_accuracy_before: np.ndarray  # (classes,) float; NaN for a class without images
    class_accuracy_after: np.ndarray
    accuracy_before: float
    accuracy_after: float
    changed: np.ndarray  # indices of the images whose answer changes, in index order
    labels: np.ndarray  # (N,) the true labels

    @property
    def n_changed(self) -> int:
        return int(self.changed.size)

    @property
    def fixed(self) -> np.ndarray:
        """Changed images that were wrong and are now right (silencing can help, too)."""
        return self.changed[self.predicted_after[self.changed] == self.labels[self.changed]]

    @property
    def broken(self) -> np.ndarray:
        """Changed images that were right and are now wrong."""
        return self.changed[self.predicted_before[self.changed] == self.labels[self.changed]]


def class_accuracy(labels: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """(classes,): the share of each class's images predicted right; NaN for a class without images."""
    labels = np.asarray(labels, dtype=np.int64)
    right = np.bincount(labels, weights=(labels == predicted).astype(np.float64), minlength=n_classes)
    total = np.bincount(labels, minlength=n_classes).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, right / np.maximum(total, 1), np.nan)[:n_classes]


def silence_effect(net, x: np.ndarray, labels: np.ndarray, units, n_classes: int | None = None,
                   predicted_before: np.ndarray | None = None) -> SilenceEffect:  # fmt: skip
    """Silence ``units`` ((layer, unit) pairs) and compare with the whole network on ``x`` and ``labels``.

    ``predicted_before`` may pass the whole network's answers when they are known (they are computed otherwise)."""
    labels = np.asarray(labels, dtype=np.int64)
    n_classes = int(n_classes or net.weights[-1].shape[1])
    chosen = normalise_units(net, units)
    before = forward(net, x).argmax(axis=1) if predicted_before is None else np.asarray(predicted_before)
    after = forward(silenced(net, chosen), x).argmax(axis=1) if chosen else before.copy()
    n = max(len(labels), 1)
    return SilenceEffect(
        units=chosen,
        predicted_before=before,
        predicted_after=after,
        class_accuracy_before=class_accuracy(labels, before, n_classes),
        class_accuracy_after=class_accuracy(labels, after, n_classes),
        accuracy_before=float(np.sum(before == labels) / n),
        accuracy_after=float(np.sum(after == labels) / n),
        changed=np.flatnonzero(before != after),
        labels=labels,
    )


def parse_units(text: str, n_units: int) -> list[int]:
    """Unit numbers typed by a person: "3, 17, 40-45" -> [3, 17, 40, 41, ..., 45]; ValueError with one sentence
    for anything else or a unit outside 0..n_units-1."""
    chosen: set[int] = set()
    for part in re.split(r"[,;\s]+", re.sub(r"\s*-\s*", "-", text.strip())):
        if not part:
            continue
        low, dash, high = part.partition("-")
        try:
            first, last = int(low), int(high) if dash else int(low)
        except ValueError:
            raise ValueError(
                f"{part!r} is not a unit number; write numbers and ranges such as 3, 17, 40-45."
            ) from None
        if first > last:
            first, last = last, first
        if first < 0 or last >= n_units:
            raise ValueError(f"The layer has units 0 to {n_units - 1}; {part} is outside that.")
        chosen.update(range(first, last + 1))
    return sorted(chosen)


def accuracy_without_each(
    net, x: np.ndarray, labels: np.ndarray, layer: int = 0, budget: float = SILENCE_EACH_BUDGET
) -> np.ndarray | None:
    """(units,): the accuracy on ``x`` with each unit of hidden layer ``layer`` silenced alone; None when that
    would cost more than ``budget`` multiply-adds.

    Silencing unit j changes the next layer's pre-activations by ``-a[:, j] * W[j, :]`` (W the next weight
    matrix), so each unit costs that update and the layers after it, not a whole forward pass."""
    _check_layer(net, layer)
    labels = np.asarray(labels, dtype=np.int64)
    x = np.atleast_2d(np.asarray(x))
    n_units, w_next = hidden_sizes(net)[layer], net.weights[layer + 1]
    tail = _Head(net, len(net.weights), start=layer + 2)  # the layers after the next one (maybe none)
    cost = n_units * len(x) * (w_next.shape[1] + sum(w.size for w in tail.weights))
    if cost > budget:
        return None
    right = np.zeros(n_units, dtype=np.int64)
    for s in range(0, len(x), _CHUNK):
        inputs, z_next = forward_layers(_Head(net, layer + 2), x[s : s + _CHUNK])
        a, y = inputs[layer + 1], labels[s : s + _CHUNK]
        for j in range(n_units):
            z = z_next - np.outer(a[:, j], w_next[j])
            if tail.weights:  # the next layer is hidden: its activation, then the rest of the network
                z = forward_layers(tail, _activate(z, net.activation))[1]
            right[j] += int(np.sum(z.argmax(axis=1) == y))
    return right / max(len(x), 1)
