"""Small real models for the export, model-action and draw tests: trained for a second or two on real MNIST."""

from __future__ import annotations

import functools

from core import datasets
from core.model_io import Model
from core.training import TrainConfig, Trainer

RELU = TrainConfig(hidden=(32,), epochs=2, train_limit=3000, batch_size=64, seed=0)
# Rashid's network: sigmoid layers, no biases, MSE on 0.01/0.99 targets, inputs scaled to 0.01..1.00 (mini-batches
# of 10 with a 10x larger rate than his online 0.15, to train in a second)
SIGMOID = TrainConfig(
    hidden=(50,),
    activation="sigmoid",
    output="sigmoid",
    loss="mse",
    use_bias=False,
    init="rashid",
    optimizer="sgd",
    lr=1.5,
    batch_size=10,
    epochs=2,
    train_limit=2000,
    scaling="rashid",
    targets="rashid",
    seed=1,
)


@functools.cache
def mnist():
    return datasets.load("mnist")


@functools.cache
def trained(kind: str) -> Model:
    """A model trained on the first few thousand MNIST digits ("relu" or "sigmoid"), cached per test session."""
    dataset = mnist()
    trainer = Trainer(RELU if kind == "relu" else SIGMOID, dataset)
    trainer.fit()
    return Model.from_trainer(trainer, dataset)
