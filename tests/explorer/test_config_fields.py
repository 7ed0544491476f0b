"""The control panel's fields become a TrainConfig on top of the recipe's own settings."""

from core import recipes
from explorer.widgets.config_fields import config_from_fields


def _fields(base, output_loss):
    return config_from_fields(
        base, dataset="mnist", hidden=(200,), activation="sigmoid", output_loss=output_loss, optimizer="sgd",
        lr=0.1, batch_size=1, epochs=1, train_limit=100, rotate=0.0, seed=0,
    )  # fmt: skip


def test_rashid_rule_is_kept_for_sigmoid_mse_and_dropped_for_other_outputs():
    base = recipes.config("rashid")
    assert base.backprop == "rashid"
    assert _fields(base, "sigmoid|mse").backprop == "rashid"
    changed = _fields(base, "softmax|cross-entropy")
    assert changed.backprop == "gradient"
    changed.validate()  # a valid configuration: Train stays enabled
