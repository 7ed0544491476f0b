"""TrainConfig (core/config.py): every bad value, and every inconsistent pair of settings, is refused with one plain
sentence; a configuration round-trips through JSON."""

import json

import pytest

from core.training import ConfigError, TrainConfig

BAD = [
    ("lr", 0, "lr must be greater than 0"),
    ("lr", -0.1, "lr must be greater than 0"),
    ("lr", float("nan"), "lr must be greater than 0"),
    ("activation", "swish", "Unknown activation 'swish'"),
    ("output", "linear", "Unknown output"),
    ("loss", "hinge", "Unknown loss"),
    ("init", "zeros", "Unknown init"),
    ("optimizer", "adagrad", "Unknown optimizer"),
    ("schedule", "cyclic", "Unknown schedule"),
    ("scaling", "minmax", "Unknown scaling"),
    ("targets", "soft", "Unknown targets"),
    ("augment", "flip", "Unknown augment"),
    ("dtype", "float16", "Unknown dtype"),
    ("hidden", (512, 0), "at least 1 unit"),
    ("hidden", (64.5,), "whole numbers"),
    ("batch_size", -1, "batch_size must be a whole number of at least 0"),
    ("batch_size", 2.5, "batch_size must be a whole number"),
    ("epochs", 0, "epochs must be a whole number of at least 1"),
    ("rotate", 200, "rotate must be at least 0 and at most 180"),
    ("rotate", -5, "rotate must be at least 0"),
    ("dropout", 1.0, "dropout must be at least 0 and below 1"),
    ("dropout", -0.1, "dropout must be at least 0"),
    ("l2", -1e-4, "l2 must be at least 0"),
    ("momentum", 1.0, "momentum must be at least 0 and below 1"),
    ("rho", 1.5, "rho must be"),
    ("beta1", -0.1, "beta1 must be"),
    ("beta2", 1.0, "beta2 must be"),
    ("eps", 0, "eps must be greater than 0"),
    ("lr_decay", 0, "lr_decay must be"),
    ("lr_decay_epochs", 0, "lr_decay_epochs must be"),
    ("shift", -1, "shift must be a whole number from 0 to 14"),
    ("shift", 20, "shift must be a whole number from 0 to 14"),
    ("elastic", -1, "elastic must be at least 0"),
    ("elastic_sigma", 0, "elastic_sigma must be greater than 0"),
    ("train_limit", -5, "train_limit must be"),
    ("threads", -1, "threads must be"),
    ("seed", -1, "seed must be"),
    ("use_bias", "yes", "use_bias and shuffle must be true or false"),
]


@pytest.mark.parametrize("field,value,message", BAD)
def test_validate_rejects_each_bad_value_in_one_plain_sentence(field, value, message):
    cfg = TrainConfig(**{field: value})
    with pytest.raises(ConfigError) as caught:
        cfg.validate()
    text = str(caught.value)
    assert message in text
    assert text.endswith(".") and "\n" not in text and text.count(". ") == 0


def test_validate_rejects_inconsistent_settings():
    with pytest.raises(ConfigError, match="augment is 'off'"):
        TrainConfig(rotate=10.0).validate()
    with pytest.raises(ConfigError, match="Rashid's augmentation needs an angle"):
        TrainConfig(augment="rashid").validate()
    with pytest.raises(ConfigError, match="lr_min"):
        TrainConfig(schedule="cosine", lr=0.01, lr_min=0.1).validate()
    TrainConfig().validate()
    TrainConfig(hidden=(), augment="random", rotate=10.0, shift=2, elastic=34.0).validate()


def test_from_dict_round_trips_json_and_rejects_unknown_keys():
    cfg = TrainConfig(hidden=(128, 64), activation="tanh", augment="rashid", rotate=10.0, batch_size=1)
    text = json.dumps(cfg.to_dict())
    back = TrainConfig.from_dict(json.loads(text))
    assert back == cfg and back.hidden == (128, 64)
    with pytest.raises(ConfigError, match="Unknown setting.*learning_rate"):
        TrainConfig.from_dict({"learning_rate": 0.1})
    with pytest.raises(ConfigError, match="lr must be greater than 0"):
        TrainConfig.from_dict({"lr": -1})
