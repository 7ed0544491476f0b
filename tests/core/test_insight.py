"""core.insight against hand-computed numbers, finite differences, and real networks trained on MNIST."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

from core import insight
from core.network import log_prob_gradient

L99 = math.log(99.0)  # logit(0.99); logit(0.01) = -L99


def _net(weights, activation="sigmoid", output="sigmoid", biases=None):
    weights = [np.asarray(w, dtype=np.float64) for w in weights]
    return SimpleNamespace(
        weights=weights, biases=biases or [None] * len(weights), activation=activation, output=output
    )


# A 3-2-2 sigmoid network with chosen weights; W has shape (inputs, outputs) as in the design.
W0 = [[0.2, -0.4], [1.0, 0.3], [-0.5, 0.5]]
W1 = [[1.0, -1.0], [0.5, 2.0]]


def test_back_query_matches_hand_computation():
    net = _net([W0, W1])
    # Label 0, by hand: z = logit([0.99, 0.01]) = [L, -L].
    #   hidden output = W1 @ z = [L + L, 0.5L - 2L] = [2L, -1.5L]; minus min -> [3.5L, 0]; / max -> [1, 0];
    #   * 0.98 + 0.01 -> [0.99, 0.01]; logit -> [L, -L].
    #   inputs = W0 @ [L, -L] = [0.6L, 0.7L, -1.0L]; minus min -> [1.6L, 1.7L, 0]; / 1.7L -> [16/17, 1, 0].
    expected0 = np.array([0.01 + 0.98 * 16 / 17, 0.99, 0.01])
    # Label 1: z = [-L, L]; W1 @ z = [-2L, 1.5L] -> [0.01, 0.99] -> [-L, L];
    #   W0 @ [-L, L] = [-0.6L, -0.7L, 1.0L]; minus min -> [0.1L, 0, 1.7L]; / 1.7L -> [1/17, 0, 1].
    expected1 = np.array([0.01 + 0.98 / 17, 0.01, 0.99])
    np.testing.assert_allclose(insight.back_query(net, 0, 2), expected0, rtol=1e-12)
    np.testing.assert_allclose(insight.back_query(net, 1, 2), expected1, rtol=1e-12)
    np.testing.assert_allclose(insight.back_queries(net), [expected0, expected1], rtol=1e-12)


def test_back_query_follows_rashid_steps_on_random_weights():
    """Rashid's backquery() written out with his who/wih (outputs x inputs) matrices and numpy.dot."""
    rng = np.random.default_rng(3)
    wih = rng.normal(0, 784**-0.5, (20, 784))  # his layout: (hidden, inputs)
    who = rng.normal(0, 20**-0.5, (10, 20))
    net = _net([wih.T, who.T])
    for label in (0, 7):
        targets = np.zeros(10) + 0.01
        targets[label] = 0.99
        final_inputs = np.log(targets / (1 - targets))
        hidden_outputs = np.dot(who.T, final_inputs)
        hidden_outputs -= np.min(hidden_outputs)
        hidden_outputs /= np.max(hidden_outputs)
        hidden_outputs = hidden_outputs * 0.98 + 0.01
        hidden_inputs = np.log(hidden_outputs / (1 - hidden_outputs))
        inputs = np.dot(wih.T, hidden_inputs)
        inputs -= np.min(inputs)
        inputs /= np.max(inputs)
        inputs = inputs * 0.98 + 0.01
        np.testing.assert_allclose(insight.back_query(net, label, 10), inputs, rtol=1e-10)


def test_back_query_refuses_non_sigmoid_networks():
    assert insight.back_query_applies(_net([W0, W1])) == ""
    relu = _net([W0, W1], activation="relu", output="softmax")
    assert "optimised input" in insight.back_query_applies(relu)
    with pytest.raises(ValueError, match="sigmoid"):
        insight.back_query(relu, 0)
    # Without hidden layers only the output counts.
    assert insight.back_query_applies(_net([W0], activation="relu", output="sigmoid")) == ""
    with pytest.raises(ValueError):
        insight.back_query(_net([W0, W1]), 2)


def test_linear_template_of_a_network_without_hidden_layers_is_its_weight_columns():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(784, 10)).astype(np.float32)
    template = insight.linear_template(_net([w], output="softmax"))
    assert template.shape == (10, 784)
    for label in range(10):
        np.testing.assert_allclose(template[label], w[:, label], rtol=1e-6)
    deeper = _net([W0, W1])
    np.testing.assert_allclose(insight.linear_template(deeper), (np.array(W0) @ np.array(W1)).T)
    np.testing.assert_allclose(insight.unit_label_strength(deeper), W1)
    assert insight.unit_label_strength(_net([w])).shape == (0, 10)


@pytest.mark.parametrize(
    "activation,output",
    [("sigmoid", "sigmoid"), ("relu", "softmax"), ("tanh", "softmax"), ("leaky-relu", "sigmoid")],
)
def test_input_gradient_matches_finite_differences(activation, output):
    rng = np.random.default_rng(1)
    sizes = [12, 7, 5, 4]
    weights = [rng.normal(0, 0.8, (a, b)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    biases = [rng.normal(0, 0.3, b) for b in sizes[1:]]
    net = _net(weights, activation, output, biases)
    x = rng.uniform(0, 1, sizes[0])

    def log_p(v, k):
        out = insight.forward(net, v)[0]
        return math.log(out[k] / out.sum())  # softmax sums to 1; sigmoid outputs are normalised

    for label in range(4):
        grad = insight.saliency(net, x, label)
        numeric = np.zeros_like(x)
        for j in range(x.size):
            e = np.zeros_like(x)
            e[j] = 1e-6
            numeric[j] = (log_p(x + e, label) - log_p(x - e, label)) / 2e-6
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)
    batch = rng.uniform(0, 1, (5, sizes[0]))
    labels = np.array([0, 1, 1, 3, 1])
    expected = np.mean([insight.saliency(net, batch[i], 1) for i in (1, 2, 4)], axis=0)
    np.testing.assert_allclose(insight.mean_input_gradient(net, batch, labels, 1), expected, rtol=1e-12)
    assert not insight.mean_input_gradient(net, batch, labels, 2).any()
    every = insight.mean_input_gradients(net, batch, labels, 4)
    for label in range(4):
        np.testing.assert_allclose(
            every[label], insight.mean_input_gradient(net, batch, labels, label), rtol=1e-12
        )


def test_confusion_matrix_metrics_and_misclassified_order():
    y_true = np.array([0, 0, 1, 1, 2, 2, 2])
    y_pred = np.array([0, 1, 1, 1, 2, 0, 2])
    cm = insight.confusion_matrix(y_true, y_pred, 3)
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 2, 0], [1, 0, 2]])
    metrics = insight.class_metrics(cm)
    np.testing.assert_allclose(metrics["recall"], [0.5, 1.0, 2 / 3])
    np.testing.assert_allclose(metrics["precision"], [0.5, 2 / 3, 1.0])
    assert insight.scorecard(y_true, y_pred) == (5, 7)
    probs = np.array([[0.6, 0.4], [0.2, 0.8], [0.9, 0.1], [0.45, 0.55], [0.3, 0.7]])
    order = insight.misclassified(probs, np.array([1, 0, 1, 0, 1]))
    np.testing.assert_array_equal(order, [2, 1, 0, 3])  # wrong at 0 (0.6), 1 (0.8), 2 (0.9), 3 (0.55)
    with pytest.raises(ValueError):
        insight.confusion_matrix(np.array([0, 3]), np.array([0, 1]), 3)


# --- real networks trained on MNIST ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mnist():
    from core.datasets import load

    return load("mnist")


def _train(mnist, recipe, **overrides):
    from core.model_io import Model
    from core.recipes import config
    from core.training import Trainer

    trainer = Trainer(config(recipe, **overrides), mnist)
    for _ in trainer.fit_iter():
        pass
    return Model.from_trainer(trainer, mnist)


@pytest.fixture(scope="module")
def rashid_model(mnist):
    return _train(mnist, "rashid", epochs=1, train_limit=20_000)


@pytest.fixture(scope="module")
def dense_model(mnist):
    return _train(mnist, "keras-dense512", epochs=1, train_limit=10_000)


@pytest.mark.slow
def test_rashid_network_recognises_its_own_back_queries(rashid_model):
    """Rashid's back query on his 784-200-10 network, trained one epoch on 20,000 images.

    Investigated: fed forward exactly as the back query returns it, the picture is not recognised for every label.
    Rashid's own code (his numpy.dot loop, checked separately) gives the same: after one epoch on all 60,000
    images the back queries of 1, 4, 6 and 7 are read as 8. The cause is the final rescale: it maps the minimum
    to 0.01, but the background of the picture sits at 0.3-0.6, and a network that only ever saw black
    backgrounds reads a grey frame as ink. The digit's shape itself is what the network looks for: every picture
    is recognised once its background (its median pixel) is put back to the 0.01 of the training images.
    (One layer down, the hidden layer's back query fed through the output layer, every label was recognised
    while the recipe trained on the true gradient; with Rashid's own rule (backprop="rashid") only 4-8 of the
    10 are, depending on the seed, so that is no longer asserted.)
    """
    net = rashid_model.network
    images = insight.back_queries(net, 10)
    assert images.shape == (10, 784)
    assert images.min() >= 0.01 - 1e-9 and images.max() <= 0.99 + 1e-9
    np.testing.assert_allclose(images.min(axis=1), 0.01)
    np.testing.assert_allclose(images.max(axis=1), 0.99)
    # core's own forward pass and insight's agree on them
    outputs = net.forward(images.astype(np.float32))
    np.testing.assert_allclose(insight.forward(net, images), outputs, atol=1e-5)
    assert (
        np.count_nonzero(outputs.argmax(axis=1) == np.arange(10)) >= 5
    )  # most are read as their label already

    for label in range(10):
        # the picture with its background put back to black
        picture = images[label]
        background = np.median(picture)
        on_black = np.clip((picture - background) / (picture.max() - background), 0, 1) * 0.98 + 0.01
        assert net.predict(on_black[None, :].astype(np.float32))[0] == label


@pytest.mark.slow
def test_optimised_input_is_recognised_with_high_probability(dense_model):
    net = dense_model.network
    rng = np.random.default_rng(0)
    for label in range(10):
        x = insight.optimised_input(net, label, steps=150, l2=0.01, lo=0.0, hi=1.0, rng=rng)
        assert x.shape == (784,) and x.min() >= 0.0 and x.max() <= 1.0
        probs = net.forward(x[None, :].astype(np.float32))[0]
        assert probs[label] > 0.9, (label, probs)


@pytest.mark.slow
def test_confusion_matrix_matches_the_evaluate_command(dense_model, mnist, tmp_path, capsys):
    from core import cli, model_io

    probs = dense_model.predict_proba(mnist.test_images)
    cm = insight.confusion_matrix(mnist.test_labels, probs.argmax(axis=1), 10)
    assert cm.sum() == len(mnist.test_labels) == 10_000
    np.testing.assert_array_equal(cm.sum(axis=1), np.bincount(mnist.test_labels, minlength=10))
    path = tmp_path / "dense.npz"
    model_io.save(path, dense_model)
    capsys.readouterr()
    assert cli.main(["evaluate", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    np.testing.assert_array_equal(cm, np.array(report["confusion_matrix"]))
    right, total = insight.scorecard(mnist.test_labels, probs.argmax(axis=1))
    assert right / total == pytest.approx(report["test_accuracy"], abs=1e-9)
    order = insight.misclassified(probs, mnist.test_labels)
    assert order.size == total - right
    confidence = probs[order].max(axis=1)
    assert np.all(np.diff(confidence) <= 0)


def _optimise_alone(net, label, steps, l2, lo, hi, start):
    """A second implementation: one image, plain NumPy Adam on log p(label) - l2 |x|^2, projected to [lo, hi]."""
    x, m, v = start.copy(), np.zeros_like(start), np.zeros_like(start)
    for t in range(1, steps + 1):
        grad = log_prob_gradient(net, x[None, :], np.array([label]))[0].astype(np.float64) - 2 * l2 * x
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        x = np.clip(x + 0.02 * (hi - lo) * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8), lo, hi)
    return x


def test_optimised_inputs_in_one_batch_equal_each_label_optimised_alone(dense_model):
    """The rows never mix: each row of the batch is the single-image optimisation from the same start."""
    net = dense_model.network
    batch = insight.optimised_inputs(net, [3, 7, 1], steps=40, l2=0.01, lo=0.0, hi=1.0,
                                     rng=np.random.default_rng(5))  # fmt: skip
    starts = np.clip(0.5 + 0.01 * np.random.default_rng(5).standard_normal((3, 784)), 0.0, 1.0)
    alone = [_optimise_alone(net, k, 40, 0.01, 0.0, 1.0, start) for k, start in zip((3, 7, 1), starts, strict=True)]
    np.testing.assert_allclose(batch, np.stack(alone), atol=1e-4)
    same = insight.optimised_inputs(net, [3, 7], steps=0, rng=np.random.default_rng(5), same_start=True)
    np.testing.assert_array_equal(same[0], same[1])  # one start for every row
    assert not np.array_equal(batch[0], batch[1])
