"""Divergence and extremes: every setting at the edge either trains or stops with a clear message.

Learning rates from 1e-6 to 1000 (with SGD, Adam and Rashid's sigmoid/MSE network), batch sizes 1 and 60,000,
one hidden unit and 4,096: each run either finishes with finite weights and accuracies in 0..1, or raises
DivergenceError (naming the epoch and batch, suggesting a smaller learning rate, and leaving the last good, finite
weights in `trainer.network`). Values outside the allowed ranges raise ConfigError with one plain sentence.
Runs are kept cheap: a few thousand images and one epoch.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from core import datasets
from core.datasets import Dataset
from core.training import ConfigError, DivergenceError, EpochEvent, TrainConfig, Trainer

LEARNING_RATES = (1e-6, 1e-4, 1e-2, 1.0, 10.0, 100.0, 1000.0)
NETWORKS = {
    # leaky ReLU cannot die, so huge steps blow its activations up to infinity: the divergence path
    "sgd leaky-relu/softmax": dict(optimizer="sgd", activation="leaky-relu", output="softmax", loss="cross-entropy"),
    "adam relu/softmax": dict(optimizer="adam", activation="relu", output="softmax", loss="cross-entropy"),
    "rashid sigmoid/mse": dict(
        optimizer="sgd", activation="sigmoid", output="sigmoid", loss="mse", use_bias=False, init="rashid",
        scaling="rashid", targets="rashid",
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def mnist():
    return datasets.load("mnist")


def run(config: TrainConfig, dataset) -> tuple[str, Trainer, str]:
    """Train to the end; returns ("trained" | "diverged", trainer, message)."""
    trainer = Trainer(config, dataset)
    try:
        events = list(trainer.fit_iter())
    except DivergenceError as e:
        message = str(e)
        assert "epoch" in message and "batch" in message and "learning rate" in message, message
        assert all(np.isfinite(w).all() for w in trainer.network.weights), "diverged weights were kept"
        assert all(b is None or np.isfinite(b).all() for b in trainer.network.biases)
        return "diverged", trainer, message
    epochs = [e for e in events if isinstance(e, EpochEvent)]
    assert len(epochs) == config.epochs
    for e in epochs:
        assert math.isfinite(e.train_loss) and 0 <= e.train_accuracy <= 1
        assert e.test_accuracy is None or 0 <= e.test_accuracy <= 1
    assert all(np.isfinite(w).all() for w in trainer.network.weights)
    return "trained", trainer, f"test accuracy {epochs[-1].test_accuracy:.3f}"


def test_learning_rates_from_1e_minus_6_to_1000(mnist, figures):
    outcomes, accuracy = {}, {}
    for net_name, settings in NETWORKS.items():
        for lr in LEARNING_RATES:
            config = TrainConfig(hidden=(64,), epochs=1, train_limit=2000, batch_size=100, lr=lr, **settings)
            outcome, trainer, message = run(config, mnist)
            outcomes[net_name, lr] = outcome
            if outcome == "trained":
                accuracy[net_name, lr] = trainer.history[-1]["test_accuracy"]
            figures(f"{net_name:20s} lr={lr:<7g}: {outcome}: {message}")
    # small learning rates must train, and each network learns at its best rate (chance is 0.1)
    for net_name in NETWORKS:
        assert outcomes[net_name, 1e-6] == "trained" and outcomes[net_name, 1e-4] == "trained"
        assert max(a for (n, _), a in accuracy.items() if n == net_name) > 0.3, net_name
    assert outcomes["sgd leaky-relu/softmax", 1000.0] == "diverged"


def test_batch_size_one_and_the_whole_training_set(mnist, figures):
    outcome, trainer, message = run(
        TrainConfig(hidden=(32,), epochs=1, train_limit=300, batch_size=1, lr=0.001), mnist
    )
    assert outcome == "trained" and len(trainer.history) == 1
    figures(f"batch size 1 (300 steps): {outcome}: {message}")
    config = TrainConfig(hidden=(32,), epochs=1, batch_size=60_000, lr=0.001)  # the whole set: one step
    trainer = Trainer(config, mnist)
    events = list(trainer.fit_iter())
    batches = [e for e in events if not isinstance(e, EpochEvent)]
    assert len(batches) == 1 and batches[0].samples_seen == 60_000
    assert np.isfinite(trainer.history[-1]["test_loss"])
    figures(
        f"batch size 60,000 on the full set: 1 step, test accuracy {trainer.history[-1]['test_accuracy']:.3f}"
    )
    outcome, _, message = run(TrainConfig(hidden=(32,), epochs=1, train_limit=500, batch_size=0), mnist)
    assert outcome == "trained"
    figures(f"batch size 0 (the whole set, 500 images): {outcome}: {message}")


@pytest.mark.parametrize("hidden", [(1,), (4096,), (1, 1, 1), (4096, 10)])
def test_one_hidden_unit_and_4096(mnist, hidden, figures):
    config = TrainConfig(hidden=hidden, epochs=1, train_limit=1000, batch_size=100, lr=0.001)
    outcome, trainer, message = run(config, mnist)
    assert outcome == "trained"  # RMSprop at its default rate trains every width
    assert trainer.network.layer_sizes == [784, *hidden, 10]
    figures(f"hidden {hidden}: {outcome}: {message}")


BAD_VALUES = [
    dict(lr=0), dict(lr=-1), dict(lr=float("nan")), dict(lr=float("inf")), dict(lr="fast"),
    dict(batch_size=-1), dict(batch_size=1.5), dict(epochs=0), dict(hidden=(0,)), dict(hidden=(-3,)),
    dict(hidden=("a",)), dict(train_limit=-1), dict(rotate=200, augment="random"), dict(dtype="float16"),
    dict(optimizer="magic"), dict(dropout=1.0), dict(momentum=1.5), dict(shift=40), dict(seed=-1),
]  # fmt: skip


def test_bad_values_raise_one_plain_sentence(mnist, figures):
    for values in BAD_VALUES:
        with pytest.raises(ConfigError) as info:
            Trainer(TrainConfig(**values), mnist)
        message = str(info.value)
        assert message and "\n" not in message and message.endswith("."), (values, message)
    empty = Dataset(
        "test-only", mnist.class_names, mnist.train_images[:0], mnist.train_labels[:0],
        mnist.test_images[:10], mnist.test_labels[:10], "test",
    )  # fmt: skip
    with pytest.raises(ConfigError, match="no training images"):
        Trainer(TrainConfig(hidden=(8,)), empty)
    figures(f"{len(BAD_VALUES) + 1} bad settings refused with ConfigError in one sentence, e.g.:")
    with pytest.raises(ConfigError) as info:
        Trainer(TrainConfig(lr=float("nan")), mnist)
    figures(f"  {info.value}")
