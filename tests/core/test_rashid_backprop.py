"""backprop="rashid": Rashid's own update rule (Make Your Own Neural Network), against his train() written out
with plain NumPy, on every path of the trainer; and the true gradient differs from it where it should."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.datasets import Dataset
from core.network import init_network, loss_and_deltas, loss_and_grads
from core.optimizers import sgd_rank_one_update
from core.training import ConfigError, TrainConfig, Trainer


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def rashid_step(wih, who, inputs, targets, lr):
    """Rashid's train(), his four lines, in his (outputs, inputs) layout with column vectors; returns new copies."""
    wih, who = wih.copy(), who.copy()
    hidden_outputs = sigmoid(wih @ inputs)
    final_outputs = sigmoid(who @ hidden_outputs)
    output_errors = targets - final_outputs
    hidden_errors = np.dot(who.T, output_errors)
    who += lr * np.dot((output_errors * final_outputs * (1.0 - final_outputs)), np.transpose(hidden_outputs))
    wih += lr * np.dot((hidden_errors * hidden_outputs * (1.0 - hidden_outputs)), np.transpose(inputs))
    return wih, who


def tiny():
    """A 3-2-2 sigmoid network without biases (float64), one input and Rashid-style targets."""
    net = init_network([3, 2, 2], "sigmoid", "sigmoid", "rashid", use_bias=False, rng=3, dtype=np.float64)
    net.weights[0][:] = [[0.9, -0.4], [0.3, 0.8], [-0.5, 0.2]]  # wih.T
    net.weights[1][:] = [[1.2, -0.7], [-0.6, 0.9]]  # who.T
    x = np.array([[0.9, 0.1, 0.8]])
    t = np.array([[0.01, 0.99]])
    return net, x, t


def test_one_rashid_step_on_a_3_2_2_network_is_rashids_update_and_the_gradient_differs():
    net, x, t = tiny()
    lr = 0.3
    wih, who = rashid_step(net.weights[0].T, net.weights[1].T, x.T, t.T, lr)

    _, gw, _, _ = loss_and_grads(net, x, t, "mse", backprop="rashid")
    np.testing.assert_allclose(net.weights[0] - lr * gw[0], wih.T, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(net.weights[1] - lr * gw[1], who.T, rtol=1e-12, atol=1e-15)

    # the batch-1 rank-one path (ger) of the trainer's online SGD
    online = net.copy()
    _, inputs, deltas, _ = loss_and_deltas(online, x, t, "mse", backprop="rashid")
    sgd_rank_one_update(online.weights, online.biases, inputs, deltas, lr)
    np.testing.assert_allclose(online.weights[0], wih.T, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(online.weights[1], who.T, rtol=1e-12, atol=1e-15)

    # the true gradient: the same output update, a different hidden one (by more than rounding)
    _, gw_true, _, _ = loss_and_grads(net, x, t, "mse", backprop="gradient")
    np.testing.assert_allclose(net.weights[1] - lr * gw_true[1], who.T, rtol=1e-12)
    hidden_true = net.weights[0] - lr * gw_true[0]
    assert np.abs(hidden_true - wih.T).max() > 1e-3
    # ... the hidden update Rashid would get with the output's o (1 - o) included
    o = sigmoid(sigmoid(x @ net.weights[0]) @ net.weights[1])
    h = sigmoid(x @ net.weights[0])
    d_out = (o - t) * o * (1 - o)
    np.testing.assert_allclose(gw_true[0], x.T @ ((d_out @ net.weights[1].T) * h * (1 - h)), rtol=1e-12)


def test_rashid_backprop_through_two_hidden_layers_sends_raw_errors_and_averages_over_the_batch():
    rng = np.random.default_rng(5)
    sizes = [6, 5, 4, 3]
    net = init_network(sizes, "sigmoid", "sigmoid", "rashid", use_bias=True, rng=rng, dtype=np.float64)
    for b in net.biases:
        b[:] = rng.normal(0, 0.5, b.shape)
    x = rng.random((4, 6))
    t = np.full((4, 3), 0.01)
    t[np.arange(4), [0, 2, 1, 2]] = 0.99
    # Rashid's scheme, one sample at a time, layer by layer: errors go back through W without any derivative
    expected_w = [np.zeros_like(w) for w in net.weights]
    expected_b = [np.zeros_like(b) for b in net.biases]
    for xs, ts in zip(x, t, strict=True):
        acts = [xs]
        for w, b in zip(net.weights, net.biases, strict=True):
            acts.append(sigmoid(acts[-1] @ w + b))
        error = acts[-1] - ts  # -(t - o)
        for i in range(len(net.weights) - 1, -1, -1):
            delta = error * acts[i + 1] * (1 - acts[i + 1])
            expected_w[i] += np.outer(acts[i], delta) / len(x)
            expected_b[i] += delta / len(x)
            error = net.weights[i] @ error
    _, gw, gb, _ = loss_and_grads(net, x, t, "mse", backprop="rashid")
    for got, want in zip(gw + gb, expected_w + expected_b, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    _, gw_true, _, _ = loss_and_grads(net, x, t, "mse")
    np.testing.assert_allclose(gw_true[-1], gw[-1], rtol=1e-12)
    assert np.abs(gw_true[0] - gw[0]).max() > 1e-6 and np.abs(gw_true[1] - gw[1]).max() > 1e-6


def three_pixel_data(n=4200, seed=0):
    """Images of 1 x 3 pixels and 2 classes: a 3-h-2 network, like the tiny one above, trained by the Trainer."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 1, 3), dtype=np.uint8)
    labels = (images[:, 0, 0] > images[:, 0, 2]).astype(np.int64)
    return Dataset(
        name="three-pixels",
        class_names=["left", "right"],
        train_images=images,
        train_labels=labels,
        test_images=images[:10],
        test_labels=labels[:10],
        source="test",
    )


RASHID = dict(
    hidden=(2,),
    activation="sigmoid",
    output="sigmoid",
    loss="mse",
    backprop="rashid",
    use_bias=False,
    init="rashid",
    optimizer="sgd",
    lr=0.3,
    epochs=1,
    scaling="rashid",
    targets="rashid",
    shuffle=False,
    dtype="float64",
    threads=1,
)


def reference_inputs(data):
    inputs = data.train_images.reshape(len(data.train_images), -1) / 255.0 * 0.99 + 0.01
    targets = np.full((len(inputs), 2), 0.01)
    targets[np.arange(len(inputs)), data.train_labels] = 0.99
    return inputs, targets


@pytest.mark.parametrize(
    "settings",
    [
        dict(batch_size=1),  # online SGD: the rank-one (ger) path
        dict(batch_size=1, optimizer="momentum", momentum=0.0),  # the same steps through gradient arrays
    ],
)
def test_the_trainer_makes_rashids_online_updates_on_every_batch_1_path(settings):
    data = three_pixel_data(n=300)
    trainer = Trainer(TrainConfig(**{**RASHID, **settings}), data)
    wih, who = (w.T.copy() for w in trainer.network.weights)
    trainer.fit()
    inputs, targets = reference_inputs(data)
    for xs, ts in zip(inputs, targets, strict=True):
        wih, who = rashid_step(wih, who, xs.reshape(-1, 1), ts.reshape(-1, 1), 0.3)
    np.testing.assert_allclose(trainer.network.weights[0].T, wih, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(trainer.network.weights[1].T, who, rtol=1e-10, atol=1e-12)


def test_a_whole_set_batch_bigger_than_a_chunk_averages_rashids_updates():
    data = three_pixel_data(n=4200)  # over the trainer's 4,096-sample chunk
    trainer = Trainer(TrainConfig(**{**RASHID, "batch_size": 0}), data)
    wih, who = (w.T.copy() for w in trainer.network.weights)
    trainer.fit()
    inputs, targets = reference_inputs(data)
    step_ih, step_ho = np.zeros_like(wih), np.zeros_like(who)
    for xs, ts in zip(inputs, targets, strict=True):  # each sample's update from the same starting weights
        new_ih, new_ho = rashid_step(wih, who, xs.reshape(-1, 1), ts.reshape(-1, 1), 0.3)
        step_ih += (new_ih - wih) / len(inputs)
        step_ho += (new_ho - who) / len(inputs)
    np.testing.assert_allclose(trainer.network.weights[0].T, wih + step_ih, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(trainer.network.weights[1].T, who + step_ho, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "settings", [dict(output="softmax"), dict(loss="cross-entropy"), dict(output="softmax", loss="mse")]
)
def test_rashid_backprop_is_refused_without_a_sigmoid_output_and_mse_in_one_sentence(settings):
    cfg = TrainConfig(**{**RASHID, **settings})
    with pytest.raises(ConfigError) as caught:
        cfg.validate()
    text = str(caught.value)
    assert "Rashid's backprop" in text and "sigmoid" in text and "mse" in text
    assert text.endswith(".") and "\n" not in text and text.count(". ") == 0
    with pytest.raises(ConfigError, match="choose one of gradient, rashid"):
        TrainConfig(backprop="book").validate()
    net, x, t = tiny()
    with pytest.raises(ValueError, match="Rashid's backprop"):
        loss_and_grads(net, x, t, "cross-entropy", backprop="rashid")


def test_configs_saved_before_backprop_existed_load_with_the_true_gradient():
    cfg = TrainConfig(**RASHID)
    back = TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert back == cfg and back.backprop == "rashid"
    old = cfg.to_dict()
    del old["backprop"]
    assert TrainConfig.from_dict(old).backprop == "gradient"


def test_model_files_round_trip_backprop_and_older_files_without_it_still_load(tmp_path):
    from core import model_io
    from core.model_io import Model

    cfg = TrainConfig(**{**RASHID, "hidden": (20,), "batch_size": 1, "dtype": "float32"})
    net = init_network([784, 20, 10], "sigmoid", "sigmoid", "rashid", use_bias=False, rng=1)
    model = Model(net, cfg, "mnist", [str(i) for i in range(10)], {"scaling": "rashid"}, [])
    path = tmp_path / "rashid.npz"
    model_io.save(path, model)
    loaded = model_io.load(path)
    assert loaded.config == cfg and loaded.config.backprop == "rashid"
    np.testing.assert_array_equal(loaded.network.weights[0], net.weights[0])
    # the same file as written before the field existed: its config has no "backprop"
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(str(arrays["meta"]))
    del meta["config"]["backprop"]
    arrays["meta"] = np.array(json.dumps(meta))
    old = tmp_path / "old.npz"
    with open(old, "wb") as f:
        np.savez(f, **arrays)
    assert model_io.load(old).config.backprop == "gradient"
