"""The network's gradients against central finite differences (float64), its losses against direct formulas, and
its initialisers' statistics."""

import itertools

import numpy as np
import pytest
from scipy.special import expit, log_softmax

from core.network import (
    ACTIVATIONS,
    Network,
    Workspace,
    forward_loss,
    init_network,
    log_prob_gradient,
    loss_and_grads,
)

SIZES = [6, 5, 4, 3]  # two hidden layers


def _problem(activation, output, use_bias, targets_kind, seed=0):
    rng = np.random.default_rng(seed)
    net = init_network(SIZES, activation, output, "he", use_bias, rng, np.float64)
    if use_bias:  # nonzero biases, so their gradients matter
        for b in net.biases:
            b[:] = rng.normal(0, 0.5, b.shape)
    x = rng.normal(0, 1, (4, SIZES[0]))
    labels = np.array([0, 2, 1, 2])
    off, on = (0.0, 1.0) if targets_kind == "onehot" else (0.01, 0.99)
    t = np.full((4, 3), off)
    t[np.arange(4), labels] = on
    return net, x, t


def _numeric_grads(net, x, t, loss, l2, dropout=0.0, seed=None, h=1e-6):
    def f():
        rng = None if seed is None else np.random.default_rng(seed)
        return loss_and_grads(net, x, t, loss, l2, dropout, rng)[0]

    grads = []
    for p in [*net.weights, *[b for b in net.biases if b is not None]]:
        g = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            keep = p[i]
            p[i] = keep + h
            up = f()
            p[i] = keep - h
            down = f()
            p[i] = keep
            g[i] = (up - down) / (2 * h)
        grads.append(g)
    return grads


def _rel_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a), np.linalg.norm(b), 1e-12)


@pytest.mark.parametrize(
    "activation,output,loss,use_bias,l2,targets",
    list(
        itertools.product(
            ACTIVATIONS,
            ("softmax", "sigmoid"),
            ("cross-entropy", "mse"),
            (True, False),
            (0.0, 0.1),
            ("onehot", "rashid"),
        )
    ),
)
def test_gradients_match_finite_differences(activation, output, loss, use_bias, l2, targets):
    net, x, t = _problem(activation, output, use_bias, targets)
    _, gw, gb, _ = loss_and_grads(net, x, t, loss, l2)
    analytic = [*[g.copy() for g in gw], *[g.copy() for g in gb if g is not None]]
    numeric = _numeric_grads(net, x, t, loss, l2)
    assert len(analytic) == len(numeric) == (6 if use_bias else 3)
    for a, n in zip(analytic, numeric, strict=True):
        assert _rel_error(a, n) < 1e-6


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradients_with_a_fixed_dropout_mask_match_finite_differences(activation):
    # the same rng seed gives the same mask every call, so the loss is a fixed function of the weights
    net, x, t = _problem(activation, "softmax", True, "onehot")
    _, gw, gb, _ = loss_and_grads(net, x, t, "cross-entropy", 0.01, 0.5, np.random.default_rng(7))
    analytic = [*[g.copy() for g in gw], *[g.copy() for g in gb]]
    numeric = _numeric_grads(net, x, t, "cross-entropy", 0.01, 0.5, seed=7)
    for a, n in zip(analytic, numeric, strict=True):
        assert _rel_error(a, n) < 1e-6


def _reference_forward(net, x):
    a = x
    for i, (w, b) in enumerate(zip(net.weights, net.biases, strict=True)):
        z = a @ w + (0 if b is None else b)
        if i == len(net.weights) - 1:
            return z
        a = {
            "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
            "tanh": np.tanh,
            "relu": lambda z: np.where(z > 0, z, 0.0),
            "leaky-relu": lambda z: np.where(z > 0, z, 0.01 * z),
        }[net.activation](z)


@pytest.mark.parametrize(
    "output,loss", list(itertools.product(("softmax", "sigmoid"), ("cross-entropy", "mse")))
)
def test_loss_values_match_direct_formulas(output, loss):
    net, x, t = _problem("tanh", output, True, "rashid")
    z = _reference_forward(net, x)
    if output == "softmax":
        p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        expected = -np.sum(t * np.log(p)) / 4 if loss == "cross-entropy" else 0.5 * np.sum((p - t) ** 2) / 4
    else:
        o = 1 / (1 + np.exp(-z))
        ce = -np.sum(t * np.log(o) + (1 - t) * np.log(1 - o)) / 4
        p = o
        expected = ce if loss == "cross-entropy" else 0.5 * np.sum((o - t) ** 2) / 4
    value, _, _, outputs = loss_and_grads(net, x, t, loss)
    assert value == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(outputs, p, rtol=1e-12)
    np.testing.assert_allclose(net.forward(x), p, rtol=1e-12)
    assert forward_loss(net, x, t, loss)[0] == pytest.approx(expected, rel=1e-12)
    l2_value = loss_and_grads(net, x, t, loss, l2=0.3)[0]
    assert l2_value == pytest.approx(expected + 0.15 * sum(np.sum(w**2) for w in net.weights), rel=1e-12)


def test_huge_logits_stay_finite_and_correct():
    w = np.array([[1.0, -1.0, 0.0]])
    x = np.array([[1e4], [-1e4]])
    t = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    for output, loss in itertools.product(("softmax", "sigmoid"), ("cross-entropy", "mse")):
        net = Network([w.copy()], [None], "relu", output)
        value, gw, _, out = loss_and_grads(net, x, t, loss)
        assert np.isfinite(value) and np.all(np.isfinite(gw[0])) and np.all(np.isfinite(out))
    net = Network([w.copy()], [None], "relu", "softmax")
    expected = -(log_softmax([1e4, -1e4, 0])[1] + log_softmax([-1e4, 1e4, 0])[0]) / 2
    assert loss_and_grads(net, x, t, "cross-entropy")[0] == pytest.approx(expected, rel=1e-12)  # 2e4
    net = Network([w.copy()], [None], "relu", "sigmoid")
    # per sample: -log(1 - sigmoid(1e4)) - log(sigmoid(-1e4)) - log(1 - sigmoid(0)) = 2e4 + log 2; naively inf
    assert loss_and_grads(net, x, t, "cross-entropy")[0] == pytest.approx(2e4 + np.log(2), rel=1e-12)


def test_workspace_gives_the_same_numbers_for_a_short_last_batch():
    net, x, t = _problem("relu", "softmax", True, "onehot")
    fresh = loss_and_grads(net, x[:3], t[:3])
    ws = Workspace(net.layer_sizes, 4, np.float64, True)
    loss_and_grads(net, x, t, workspace=ws)
    reused = loss_and_grads(net, x[:3], t[:3], workspace=ws)
    assert reused[0] == fresh[0]
    for a, b in zip(reused[1] + reused[2], fresh[1] + fresh[2], strict=True):
        np.testing.assert_array_equal(a, b)


def test_inverted_dropout_keeps_the_expected_activation():
    # hidden = relu(x @ I) = 1 for every unit; the output's logit is the mean of the (dropped, scaled) hidden units
    net = Network([np.eye(1000), np.full((1000, 1), 1e-3)], [None, None], "relu", "sigmoid")
    x, t = np.ones((50, 1000)), np.ones((50, 1))
    _, _, _, plain = loss_and_grads(net, x, t, "mse")
    np.testing.assert_allclose(plain, expit(1.0), rtol=1e-12)
    _, _, _, out = loss_and_grads(net, x, t, "mse", dropout=0.25, rng=np.random.default_rng(0))
    z = np.log(out / (1 - out))[:, 0]
    assert np.all(np.abs(z - 1) < 0.1) and np.std(z) > 0.005  # units were dropped, the rest scaled by 4/3
    assert abs(z.mean() - 1) < 0.01
    kept = z * 1000 / (4 / 3)  # number of kept units per sample: a whole number near 750
    np.testing.assert_allclose(kept, np.round(kept), atol=1e-6)
    assert abs(kept.mean() - 750) < 10


def test_log_prob_gradient_matches_finite_differences():
    for output in ("softmax", "sigmoid"):
        net, x, _ = _problem("sigmoid", output, True, "onehot")
        x1 = x[0]
        grad = log_prob_gradient(net, x1[None], 2)[0]

        def logp(v, net=net, output=output):  # sigmoid outputs normalised to probabilities: log(s_2 / sum s)
            z = _reference_forward(net, v[None])[0]
            return log_softmax(z)[2] if output == "softmax" else np.log(expit(z[2]) / expit(z).sum())

        h = 1e-6
        numeric = np.array([(logp(x1 + h * e) - logp(x1 - h * e)) / (2 * h) for e in np.eye(len(x1))])
        assert _rel_error(grad, numeric) < 1e-6


@pytest.mark.parametrize("init", ["he", "glorot", "rashid"])
def test_initialisers_have_the_textbook_spread(init):
    net = init_network([784, 512, 10], "relu", "softmax", init, True, np.random.default_rng(1), np.float32)
    w = net.weights[0].astype(np.float64)
    assert w.dtype == np.float64 and net.weights[0].dtype == np.float32
    assert abs(w.mean()) < 1e-3
    if init == "he":
        assert w.std() == pytest.approx(np.sqrt(2 / 784), rel=0.01)
    elif init == "glorot":
        limit = np.sqrt(6 / (784 + 512))
        assert w.max() <= limit and w.min() >= -limit
        assert w.std() == pytest.approx(limit / np.sqrt(3), rel=0.01)  # uniform(-a, a) has std a / sqrt(3)
    else:
        assert w.std() == pytest.approx(784**-0.5, rel=0.01)
    assert all(np.all(b == 0) for b in net.biases)
    assert init_network([4, 3], init=init, use_bias=False, rng=0).biases == [None]


def test_same_seed_same_weights_and_copy_is_independent():
    a = init_network([784, 30, 10], rng=5)
    b = init_network([784, 30, 10], rng=5)
    c = init_network([784, 30, 10], rng=6)
    assert all(np.array_equal(u, v) for u, v in zip(a.weights, b.weights, strict=True))
    assert not np.array_equal(a.weights[0], c.weights[0])
    d = a.copy()
    d.weights[0][0, 0] += 1
    assert a.weights[0][0, 0] != d.weights[0][0, 0]
    assert a.layer_sizes == [784, 30, 10]
    assert a.predict(np.zeros((3, 784))).shape == (3,)


def test_unknown_names_are_refused_clearly():
    with pytest.raises(ValueError, match="Unknown activation 'swish'"):
        init_network([4, 3, 2], activation="swish")
    with pytest.raises(ValueError, match="Unknown initialiser"):
        init_network([4, 3, 2], init="zeros")
    net = init_network([4, 3, 2], rng=0)
    with pytest.raises(ValueError, match="Unknown loss"):
        loss_and_grads(net, np.zeros((1, 4)), np.zeros((1, 2)), "hinge")
