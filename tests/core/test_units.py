"""core.units against hand-computed numbers and an independent per-image loop forward with units removed."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from core import units
from core.network import init_network


def _toy():
    """A 2-2-2 ReLU/softmax network small enough to compute by hand."""
    w0 = np.array([[1.0, -1.0], [0.5, 2.0]])  # (inputs, hidden)
    b0 = np.array([0.0, -0.5])
    w1 = np.array([[2.0, -1.0], [-1.0, 1.0]])  # (hidden, outputs)
    b1 = np.array([0.1, 0.0])
    return SimpleNamespace(weights=[w0, w1], biases=[b0, b1], activation="relu", output="softmax")


def _loop_forward(net, x, silent=()):
    """The network image by image, unit by unit, in plain Python: each silenced (layer, unit) outputs 0."""
    act = {
        "relu": lambda z: max(z, 0.0),
        "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
        "tanh": np.tanh,
    }[net.activation]
    out = []
    for row in np.asarray(x, dtype=np.float64):
        a = list(row)
        for i, (w, b) in enumerate(zip(net.weights, net.biases, strict=True)):
            z = [sum(a[j] * float(w[j, k]) for j in range(len(a))) + (float(b[k]) if b is not None else 0.0)
                 for k in range(w.shape[1])]  # fmt: skip
            if i == len(net.weights) - 1:
                e = np.exp(np.array(z) - max(z))
                out.append(e / e.sum())
                break
            a = [0.0 if (i, k) in silent else act(zk) for k, zk in enumerate(z)]
    return np.array(out)


def test_toy_network_by_hand():
    net = _toy()
    x = np.array([[1.0, 1.0], [0.0, 1.0], [2.0, -1.0]])
    # hidden pre-activations: x @ W0 + b0 -> [1.5, 0.5], [0.5, 1.5], [1.5, -4.5]; ReLU -> [1.5, .5], [.5, 1.5], [1.5, 0]
    hidden = units.hidden_activations(net, x, 0)
    np.testing.assert_allclose(hidden, [[1.5, 0.5], [0.5, 1.5], [1.5, 0.0]])
    # logits h @ W1 + b1: [3 - .5 + .1, -1.5 + .5] = [2.6, -1.0]; [1 - 1.5 + .1, -.5 + 1.5] = [-0.4, 1.0];
    # [3.1, -1.5]. Answers 0, 1, 0.
    # Unit 0 silenced: h = [0, .5], [0, 1.5], [0, 0] -> logits [-.4, .5], [-1.4, 1.5], [.1, 0] -> answers 1, 1, 0
    effect = units.silence_effect(net, x, labels=[0, 1, 1], units=[(0, 0)])
    assert effect.predicted_before.tolist() == [0, 1, 0]
    assert effect.predicted_after.tolist() == [1, 1, 0]
    assert effect.changed.tolist() == [0]
    assert effect.broken.tolist() == [0] and effect.fixed.tolist() == []
    np.testing.assert_allclose(
        effect.class_accuracy_before, [1.0, 0.5]
    )  # class 1: image 1 right, image 2 not
    np.testing.assert_allclose(effect.class_accuracy_after, [0.0, 0.5])
    assert effect.accuracy_before == pytest.approx(2 / 3) and effect.accuracy_after == pytest.approx(1 / 3)
    # silenced logits of image 0 exactly as computed by hand
    probs = units.forward(units.silenced(net, [(0, 0)]), x[:1])[0]
    expected = np.exp([-0.4, 0.5]) / np.exp([-0.4, 0.5]).sum()
    np.testing.assert_allclose(probs, expected, rtol=1e-12)
    # unit 1 excites image 1 most (1.5), then image 0 (0.5), then image 2 (0)
    order, values = units.top_images(net, x, 0, 1, k=3)
    assert order.tolist() == [1, 0, 2] and values.tolist() == [1.5, 0.5, 0.0]


def test_ties_break_by_lower_index():
    net = _toy()
    x = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0], [1.0, 1.0]])
    order, _ = units.top_images(net, x, 0, 0, k=4)
    assert order.tolist() == [1, 3, 0, 2]


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_silencing_matches_a_loop_forward_with_the_units_removed(activation):
    rng = np.random.default_rng(3)
    net = init_network([6, 5, 4, 3], activation=activation, rng=1, dtype=np.float64)
    net.biases = [rng.normal(0, 0.3, b.shape) for b in net.biases]
    x = rng.normal(0, 1, (40, 6))
    silent = {(0, 1), (0, 3), (1, 2)}
    before = net.weights[1].copy(), net.weights[2].copy()
    np.testing.assert_allclose(
        units.forward(units.silenced(net, silent), x), _loop_forward(net, x, silent), atol=1e-12
    )
    np.testing.assert_allclose(units.forward(net, x), _loop_forward(net, x), atol=1e-12)
    # the network itself is untouched
    np.testing.assert_array_equal(net.weights[1], before[0])
    np.testing.assert_array_equal(net.weights[2], before[1])


def test_top_images_and_effect_against_independent_loops():
    rng = np.random.default_rng(5)
    net = init_network([8, 7, 5, 4], rng=2, dtype=np.float64)
    net.biases = [rng.normal(0, 0.2, b.shape) for b in net.biases]
    net.weights = [2 * w for w in net.weights]  # varied answers, so that silencing changes some
    x = rng.normal(0, 1, (300, 8))
    labels = rng.integers(0, 4, 300)
    # the second hidden layer's unit 4, by hand: relu(relu(x W0 + b0) W1 + b1)[:, 4]
    h2 = [max(0.0, float(np.maximum(row @ net.weights[0] + net.biases[0], 0) @ net.weights[1][:, 4] + net.biases[1][4]))
          for row in x]  # fmt: skip
    expected = sorted(range(len(x)), key=lambda i: (-h2[i], i))[:16]
    order, values = units.top_images(net, x, 1, 4)
    assert order.tolist() == expected
    np.testing.assert_allclose(values, [h2[i] for i in expected], rtol=1e-12)
    silent = [(0, 2), (1, 4), (1, 0)]
    effect = units.silence_effect(net, x, labels, silent)
    after = _loop_forward(net, x, set(silent)).argmax(axis=1)
    before = _loop_forward(net, x).argmax(axis=1)
    assert effect.predicted_after.tolist() == after.tolist()
    assert effect.changed.tolist() == [i for i in range(len(x)) if after[i] != before[i]]
    assert effect.n_changed > 0  # the check above compares something
    for k in range(4):
        members = [i for i in range(len(x)) if labels[i] == k]
        assert effect.class_accuracy_after[k] == pytest.approx(np.mean([after[i] == k for i in members]))
        assert effect.class_accuracy_before[k] == pytest.approx(np.mean([before[i] == k for i in members]))


def test_silencing_nothing_changes_nothing_and_a_class_without_images_is_nan():
    net = _toy()
    x = np.array([[1.0, 1.0], [0.0, 1.0]])
    effect = units.silence_effect(net, x, [0, 0], [], n_classes=2)
    assert effect.n_changed == 0 and effect.units == []
    assert np.isnan(effect.class_accuracy_before[1])


def test_bad_units_are_one_sentence():
    net = _toy()
    with pytest.raises(ValueError, match="units 0 to 1"):
        units.parse_units("0, 5", 2)
    with pytest.raises(ValueError, match="not a unit number"):
        units.parse_units("a", 2)
    with pytest.raises(ValueError, match="no unit 7"):
        units.silenced(net, [(0, 7)])
    with pytest.raises(ValueError, match="does not exist"):
        units.hidden_activations(net, np.zeros((1, 2)), 1)
    assert units.parse_units(" 3, 17 ;40 - 42 5", 50) == [3, 5, 17, 40, 41, 42]
    assert units.parse_units("", 50) == []


def test_applies():
    assert units.applies(_toy()) == ""
    assert "no hidden layer" in units.applies(init_network([4, 3]))
    assert "multilayer perceptron" in units.applies(SimpleNamespace(layers=[]))


@pytest.mark.parametrize("layer", [0, 1])
def test_accuracy_without_each_unit_equals_silencing_each_alone(layer):
    rng = np.random.default_rng(8)
    net = init_network([8, 7, 5, 4], activation="tanh", rng=4, dtype=np.float64)
    net.biases = [rng.normal(0, 0.3, b.shape) for b in net.biases]
    net.weights = [2 * w for w in net.weights]
    x = rng.normal(0, 1, (500, 8))
    labels = units.forward(net, x).argmax(axis=1)
    labels[::3] = rng.integers(0, 4, len(labels[::3]))  # not all right, so that silencing can help or hurt
    each = units.accuracy_without_each(net, x, labels, layer)
    expected = [
        units.silence_effect(net, x, labels, [(layer, j)]).accuracy_after
        for j in range(net.weights[layer].shape[1])
    ]
    np.testing.assert_allclose(each, expected)
    assert len(set(np.round(expected, 6))) > 1  # the units differ: the comparison means something
    assert units.accuracy_without_each(net, x, labels, layer, budget=10) is None
