"""Training a ConvNetwork with the Trainer on real MNIST subsets: it learns, it is reproducible, the Trainer's
features (big batches in chunks, L2, dropout, augmentation, stop, divergence, continuing) work for it."""

import numpy as np
import pytest

from core import conv_training
from core.convnet import ConvNetwork, forward_loss
from core.datasets import Dataset, load
from core.training import BatchEvent, ConfigError, DivergenceError, EpochEvent, TrainConfig, Trainer


@pytest.fixture(scope="module")
def mnist():
    ds = load("mnist")
    return Dataset(name="mnist-subset", class_names=ds.class_names, train_images=ds.train_images[:1000],
                   train_labels=ds.train_labels[:1000], test_images=ds.test_images[:300],
                   test_labels=ds.test_labels[:300], source=ds.source)  # fmt: skip


def config(**settings):
    settings = {"hidden": ("c4k3", "p2", "c8k3", "p2", "d0.25"), "optimizer": "adam", "batch_size": 32,
                "epochs": 1, "threads": 1, **settings}  # fmt: skip
    return TrainConfig(**settings)


def run(trainer):
    events = list(trainer.fit_iter())
    return [e for e in events if isinstance(e, BatchEvent)], [e for e in events if isinstance(e, EpochEvent)]


def test_a_small_cnn_learns_and_the_same_seed_gives_the_same_weights(mnist):
    trainer = Trainer(config(epochs=2, lr=0.005), mnist)
    assert isinstance(trainer.network, ConvNetwork)
    before = trainer.evaluate()["accuracy"]
    batches, epochs = run(trainer)
    assert len(batches) == 2 * 32 and len(epochs) == 2
    assert epochs[-1].test_accuracy > max(0.7, before + 0.3)
    assert isinstance(epochs[-1].network, ConvNetwork)
    again = Trainer(config(epochs=2, lr=0.005), mnist)
    run(again)
    for a, b in zip(trainer.network.params, again.network.params, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "settings",
    [
        {"l2": 1e-3, "dropout": 0.2, "hidden": ("c4k3s", "p2", 16)},
        {"shift": 2, "augment": "random", "rotate": 10.0, "optimizer": "momentum", "lr": 0.05},
        {"schedule": "cosine", "optimizer": "rmsprop", "activation": "tanh", "output": "sigmoid", "loss": "mse"},
        {"batch_size": 1, "optimizer": "sgd", "lr": 0.01, "train_limit": 50},
    ],
)
def test_every_setting_runs_and_stays_finite(mnist, settings):
    _, epochs = run(Trainer(config(**settings), mnist))
    assert np.isfinite(epochs[-1].train_loss) and 0 <= epochs[-1].test_accuracy <= 1


def test_a_batch_bigger_than_a_chunk_sums_the_chunks_gradients(mnist, monkeypatch):
    cfg = config(hidden=("c3k3", "p2"), batch_size=64, dtype="float64", train_limit=64, shuffle=False)
    whole = Trainer(cfg, mnist)
    step = conv_training.ConvStep(whole.network, 64)
    x, y = whole._x[:64], whole._y[:64]
    t = whole._target_table[y]
    loss, _ = step.gradients(whole.network, x, y, t, None, "cross-entropy", 0.0)
    expect = [g.copy() for g in step.grads]
    monkeypatch.setattr(conv_training, "IM2COL_LIMIT", conv_training.im2col_bytes(whole.network, 1) * 10)
    chunked = conv_training.ConvStep(whole.network, 64)
    assert chunked.batch == 10
    seen = []
    loss2, _ = chunked.gradients(whole.network, x, y, t, None, "cross-entropy", 0.0, lambda o, p=None: seen.append(p))
    assert loss2 == pytest.approx(loss) and len(seen) == 7
    for a, b in zip(expect, chunked.grads, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_stop_mid_epoch_hands_over_a_partial_epoch(mnist):
    trainer = Trainer(config(), mnist)
    events = []
    for event in trainer.fit_iter():
        events.append(event)
        if isinstance(event, BatchEvent) and event.batch == 5:
            trainer.stop()
    last = events[-1]
    assert isinstance(last, EpochEvent) and last.partial and last.x == pytest.approx(5 / 32)


def test_a_diverging_cnn_stops_with_one_sentence(mnist):
    trainer = Trainer(config(optimizer="sgd", lr=1000.0, init="he", scaling="standard", hidden=("c8k3", 64, 64)),
                      mnist)  # fmt: skip
    last_good = None
    with pytest.raises(DivergenceError, match="Training diverged at epoch 1, batch") as caught:
        for _ in trainer.fit_iter():
            last_good = trainer.network.copy()
    assert "\n" not in str(caught.value) and last_good is not None
    for w, good in zip(trainer.network.params, last_good.params, strict=True):
        np.testing.assert_array_equal(w, good)


def test_continuing_needs_the_same_layers(mnist):
    first = Trainer(config(), mnist)
    run(first)
    second = Trainer(config(), mnist, network=first.network)
    assert second.network is not first.network
    loss, _ = forward_loss(second.network, second._x_test, second._target_table[second._y_test])
    assert loss == pytest.approx(first.evaluate()["loss"], rel=1e-5)
    with pytest.raises(ConfigError, match="do not match"):
        Trainer(config(hidden=("c5k3", "p2")), mnist, network=first.network)
    with pytest.raises(ConfigError, match="MLP"):
        Trainer(config(), mnist, network=Trainer(TrainConfig(hidden=(8,)), mnist).network)
