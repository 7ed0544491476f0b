"""One or two steps of each optimizer, and each schedule's learning rate, against numbers worked out by hand from the
textbook (Keras) formulas. Example: w = (1, -2), first gradient g = (0.5, -0.1), second g = (0.2, 0.3), lr = 0.1."""

import numpy as np
import pytest

from core.optimizers import (
    SGD,
    Adam,
    Momentum,
    RMSprop,
    Schedule,
    make_optimizer,
    sgd_rank_one_update,
)

G1, G2 = [0.5, -0.1], [0.2, 0.3]


def steps(optimizer, dtype=np.float64, n=1, bias=False):
    w = np.array([1.0, -2.0], dtype)
    params, grads = [w], [np.array(G1, dtype)]
    if bias:  # a second parameter array is updated independently
        params.append(np.array([3.0], dtype))
        grads.append(np.array([1.0], dtype))
    optimizer.step(params, grads, 0.1)
    if n == 2:
        grads[0][:] = G2
        optimizer.step(params, grads, 0.1)
    return params


def test_sgd():
    # w - lr g = (1 - 0.05, -2 + 0.01)
    np.testing.assert_allclose(steps(SGD())[0], [0.95, -1.99], rtol=1e-12)
    w, b = steps(SGD(), bias=True)
    np.testing.assert_allclose(b, [2.9], rtol=1e-12)


def test_momentum():
    # v1 = -lr g1 = (-0.05, 0.01); w1 = (0.95, -1.99)
    np.testing.assert_allclose(steps(Momentum(0.9))[0], [0.95, -1.99], rtol=1e-12)
    # v2 = 0.9 v1 - lr g2 = (-0.045 - 0.02, 0.009 - 0.03) = (-0.065, -0.021); w2 = w1 + v2 = (0.885, -2.011)
    np.testing.assert_allclose(steps(Momentum(0.9), n=2)[0], [0.885, -2.011], rtol=1e-12)


def test_nesterov():
    # v1 = (-0.05, 0.01); w1 = w + 0.9 v1 - lr g1 = (1 - 0.045 - 0.05, -2 + 0.009 + 0.01) = (0.905, -1.981)
    np.testing.assert_allclose(steps(Momentum(0.9, nesterov=True))[0], [0.905, -1.981], rtol=1e-12)
    # v2 = (-0.065, -0.021); w2 = w1 + 0.9 v2 - lr g2 = (0.905 - 0.0585 - 0.02, -1.981 - 0.0189 - 0.03)
    np.testing.assert_allclose(steps(Momentum(0.9, nesterov=True), n=2)[0], [0.8265, -2.0299], rtol=1e-12)


def test_rmsprop_keras_rule():
    # v1 = 0.1 g1^2 = (0.025, 0.001); sqrt(v1) = (0.158113883, 0.0316227766)
    # w1 = (1 - 0.05 / 0.158113983, -2 + 0.01 / 0.0316228766) = (0.6837724340, -1.6837732340)
    np.testing.assert_allclose(steps(RMSprop(rho=0.9, eps=1e-7))[0], [0.6837724340, -1.6837732340], rtol=1e-9)
    # v2 = 0.9 v1 + 0.1 g2^2 = (0.0265, 0.0099); w2 = w1 - (0.02 / (0.1627882 + 1e-7), 0.03 / (0.0994987 + 1e-7))
    np.testing.assert_allclose(steps(RMSprop(), n=2)[0], [0.5609134861, -1.9852842755], rtol=1e-9)


def test_adam_with_bias_correction():
    # m1 = 0.1 g1 = (0.05, -0.01); v1 = 0.001 g1^2 = (0.00025, 0.00001)
    # step size lr sqrt(1 - 0.999) / (1 - 0.9) = 0.0316227766; sqrt(v1) = (0.0158113883, 0.0031622777)
    # w1 = (1 - 0.0316227766 * 0.05 / 0.0158114883, -2 + 0.0316227766 * 0.01 / 0.0031623777): about w - lr sign(g)
    np.testing.assert_allclose(steps(Adam(0.9, 0.999, 1e-7))[0], [0.9000006325, -1.9000031622], rtol=1e-9)


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "rmsprop", "adam"])
def test_float32_steps_agree_with_float64(name):
    w32 = steps(make_optimizer(name), np.float32, n=2, bias=True)
    w64 = steps(make_optimizer(name), np.float64, n=2, bias=True)
    assert w32[0].dtype == np.float32
    for a, b in zip(w32, w64, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5)


def test_make_optimizer_passes_its_settings_and_refuses_unknown_names():
    assert make_optimizer("nesterov", momentum=0.5) == Momentum(0.5, nesterov=True)
    assert make_optimizer("rmsprop", rho=0.8, eps=1e-6) == RMSprop(0.8, 1e-6)
    assert make_optimizer("adam", beta1=0.8, beta2=0.99) == Adam(0.8, 0.99, 1e-7)
    with pytest.raises(ValueError, match="Unknown optimizer 'adagrad'"):
        make_optimizer("adagrad")


def test_constant_schedule():
    s = Schedule("constant", lr=0.1, steps_per_epoch=10, total_steps=100)
    assert [s(k) for k in (0, 50, 99)] == [0.1, 0.1, 0.1]


def test_step_schedule_halves_every_two_epochs():
    s = Schedule("step", lr=0.1, steps_per_epoch=10, total_steps=100, decay=0.5, decay_epochs=2)
    # epochs 1-2 (steps 0..19): 0.1; epochs 3-4: 0.05; epochs 5-6: 0.025
    assert [s(k) for k in (0, 19, 20, 39, 45)] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025], rel=1e-12)


def test_exponential_schedule_decays_smoothly():
    s = Schedule("exponential", lr=0.1, steps_per_epoch=10, total_steps=100, decay=0.5)
    # 0.1 * 0.5 ** (step / 10): step 5 -> 0.1 / sqrt(2); 10 -> 0.05; 25 -> 0.1 / (4 sqrt(2))
    assert [s(k) for k in (0, 5, 10, 25)] == pytest.approx([0.1, 0.0707106781, 0.05, 0.0176776695], rel=1e-8)


def test_cosine_schedule():
    s = Schedule("cosine", lr=0.1, steps_per_epoch=10, total_steps=100, min_lr=0.0)
    # 0.05 (1 + cos(pi k / 100)): k = 25 -> 0.05 (1 + 0.7071067812)
    assert [s(k) for k in (0, 25, 50, 100)] == pytest.approx(
        [0.1, 0.0853553391, 0.05, 0.0], rel=1e-9, abs=1e-15
    )
    s = Schedule("cosine", lr=0.1, steps_per_epoch=10, total_steps=100, min_lr=0.01)
    assert [s(0), s(50), s(100)] == pytest.approx([0.1, 0.055, 0.01], rel=1e-12)


def test_unknown_schedule_is_refused():
    with pytest.raises(ValueError, match="Unknown schedule 'cyclic'"):
        Schedule("cyclic")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rank_one_sgd_update_equals_sgd_on_the_outer_product(dtype):
    rng = np.random.default_rng(0)
    w = rng.normal(size=(5, 3)).astype(dtype)
    b = rng.normal(size=3).astype(dtype)
    a, d = rng.normal(size=(1, 5)).astype(dtype), rng.normal(size=(1, 3)).astype(dtype)
    expected_w = w - 0.1 * (a.T @ d + 0.01 * w)  # the gradient a^T d plus L2, one SGD step
    expected_b = b - 0.1 * d[0]
    sgd_rank_one_update([w], [b], [a], [d], 0.1, l2=0.01)
    np.testing.assert_allclose(w, expected_w, rtol=1e-5 if dtype == np.float32 else 1e-12)
    np.testing.assert_allclose(b, expected_b, rtol=1e-6 if dtype == np.float32 else 1e-12)
    assert w.flags["C_CONTIGUOUS"]
    v = w.copy()
    sgd_rank_one_update([v], [None], [a], [d], 0.0)  # lr 0: unchanged, and no bias is fine
    np.testing.assert_array_equal(v, w)
