"""Recipes: each builds a valid config that says what its source says, and each one learns on real MNIST."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pytest
from scipy.special import expit

from core import datasets, recipes
from core.training import ConfigError, EpochEvent, TrainConfig, Trainer


@pytest.fixture(scope="module")
def mnist():
    return datasets.load("mnist")


def test_every_recipe_builds_a_valid_config_with_its_source_figure():
    assert recipes.names() == [
        "rashid",
        "rashid-rotations",
        "keras-dense512",
        "two-hidden-sgd",
        "tiny-gd",
        "best",
        "lenet5",
        "keras-convnet",
        "best-cnn",
    ]
    for name in recipes.names():
        cfg = recipes.config(name)
        assert isinstance(cfg, TrainConfig)
        recipe = recipes.get(name)
        for key, value in recipe.settings.items():
            assert getattr(cfg, key) == value, (name, key)
        assert recipe.source and recipe.reported_text
        json.dumps(recipes.describe(name))  # JSON-able for `recipes --json`


def test_recipes_say_what_their_sources_say():
    rashid = recipes.config("rashid")
    assert (rashid.hidden, rashid.activation, rashid.output, rashid.loss) == (
        (200,),
        "sigmoid",
        "sigmoid",
        "mse",
    )
    assert (rashid.use_bias, rashid.init, rashid.scaling, rashid.targets) == (
        False,
        "rashid",
        "rashid",
        "rashid",
    )
    assert (rashid.optimizer, rashid.lr, rashid.batch_size, rashid.epochs) == ("sgd", 0.1, 1, 5)
    rot = recipes.config("rashid-rotations")
    assert (rot.lr, rot.epochs, rot.augment, rot.rotate) == (0.01, 10, "rashid", 10.0)
    keras = recipes.config("keras-dense512")
    assert (keras.hidden, keras.optimizer, keras.lr, keras.rho, keras.eps) == (
        (512,),
        "rmsprop",
        0.001,
        0.9,
        1e-7,
    )
    assert (keras.batch_size, keras.epochs, keras.init, keras.scaling) == (128, 5, "glorot", "unit")
    assert recipes.config("two-hidden-sgd").hidden == (128, 64)
    tiny = recipes.config("tiny-gd")
    assert tiny.hidden == (10,) and tiny.batch_size == 0  # 0: the whole training set in one batch
    assert recipes.get("rashid").reported == 0.9742 and recipes.get("rashid-rotations").reported == 0.9781
    assert recipes.get("keras-dense512").target("fashion-mnist") == 0.87
    assert (
        recipes.get("best").target("mnist") >= 0.985 and recipes.get("best").target("fashion-mnist") >= 0.895
    )
    lenet = recipes.config("lenet5")
    assert (lenet.hidden, lenet.activation, lenet.epochs) == (("c6k5s", "p2", "c16k5", "p2", 120, 84), "tanh", 20)
    assert recipes.get("lenet5").reported == 0.9905  # 0.95% test error
    convnet = recipes.config("keras-convnet")
    assert convnet.hidden == ("c32k3", "p2", "c64k3", "p2", "d0.5") and convnet.dropout == 0
    assert (convnet.optimizer, convnet.lr, convnet.batch_size, convnet.epochs) == ("adam", 0.001, 128, 15)
    assert recipes.get("best-cnn").target("mnist") >= 0.994 and recipes.get("best-cnn").target("fashion-mnist") >= 0.92


def test_overrides_win_and_bad_ones_are_refused():
    cfg = recipes.config("keras-dense512", epochs=1, lr=0.01, train_limit=500)
    assert (cfg.epochs, cfg.lr, cfg.train_limit, cfg.optimizer) == (1, 0.01, 500, "rmsprop")
    assert asdict(recipes.config(None)) == asdict(TrainConfig())
    with pytest.raises(recipes.RecipeError, match="rashid"):
        recipes.config("no-such")
    with pytest.raises(ConfigError):
        recipes.config("rashid", activation="banana")
    with pytest.raises(ConfigError, match="nonsense"):
        recipes.config("rashid", nonsense=1)


# Short runs: a few hundred to a few thousand steps on the first images of the training set.
SHORT = {
    "rashid": dict(train_limit=2000, epochs=1),  # 2,000 steps of batch 1
    "rashid-rotations": dict(train_limit=1000, epochs=1, lr=0.1),  # 3,000 steps: each record thrice
    "keras-dense512": dict(train_limit=2000, epochs=3),  # 48 steps of 128
    "two-hidden-sgd": dict(train_limit=2000, epochs=3),  # 96 steps of 64
    "tiny-gd": dict(train_limit=2000, epochs=150),  # 150 full-batch steps
    "best": dict(train_limit=2000, epochs=3, hidden=(256, 256)),  # its recipe, narrower: 48 steps
    "lenet5": dict(train_limit=1000, epochs=2),  # 63 steps of 32
    "keras-convnet": dict(train_limit=2000, epochs=3),  # 48 steps of 128
    "best-cnn": dict(train_limit=1000, epochs=3, hidden=("c8k3s", "p2", "c16k3s", "p2", 64)),  # narrower
}


@pytest.mark.parametrize("name", list(SHORT))
def test_every_recipe_learns_on_a_small_mnist_subset(name, mnist):
    cfg = recipes.config(name, **SHORT[name])
    trainer = Trainer(cfg, mnist)
    before = trainer.evaluate("test")
    epochs = [e for e in trainer.fit_iter() if isinstance(e, EpochEvent)]
    after = trainer.evaluate("test")
    assert len(epochs) == cfg.epochs
    assert after["loss"] < before["loss"]
    assert after["accuracy"] > before["accuracy"] + 0.3, (before, after)
    assert after["accuracy"] > 0.6


def rashid_reference(wih, who, images, labels, lr):
    """Rashid's own `train()` loop (Make Your Own Neural Network, part 2), sample by sample, in float64.

    Note his hidden errors: the output errors (t - o) sent back through who, without the output sigmoid's
    derivative, and through the weights as they were before this sample's update.
    """
    for img, label in zip(images, labels, strict=True):
        inputs = img.reshape(784, 1) / 255.0 * 0.99 + 0.01
        targets = np.full((10, 1), 0.01)
        targets[label] = 0.99
        hidden = expit(wih @ inputs)
        final = expit(who @ hidden)
        output_errors = targets - final
        hidden_errors = who.T @ output_errors
        who += lr * (output_errors * final * (1.0 - final)) @ hidden.T
        wih += lr * (hidden_errors * hidden * (1.0 - hidden)) @ inputs.T
    return wih, who


def test_rashid_recipe_makes_rashids_own_updates(mnist):
    cfg = recipes.config("rashid", train_limit=200, epochs=1, shuffle=False)
    trainer = Trainer(cfg, mnist)
    wih = trainer.network.weights[0].T.astype(np.float64)
    who = trainer.network.weights[1].T.astype(np.float64)
    trainer.fit()
    wih, who = rashid_reference(wih, who, mnist.train_images[:200], mnist.train_labels[:200], cfg.lr)
    np.testing.assert_allclose(trainer.network.weights[1].T, who, atol=1e-4)
    np.testing.assert_allclose(trainer.network.weights[0].T, wih, atol=1e-4)


def test_measure_script_rewrites_only_the_readme_section_between_its_markers(tmp_path, monkeypatch):
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "scripts" / "measure_recipes.py"
    spec = importlib.util.spec_from_file_location("measure_recipes", script)
    measure = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(measure)
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n\nintro\n\n## Install\n\nsteps\n")
    monkeypatch.setattr(measure, "README", readme)
    row = {"recipe": "keras-dense512", "dataset": "mnist", "summary": "784-512-10", "reported_text": "0.978",
           "target": 0.978, "test_accuracy": 0.97881, "train_seconds": 61.0, "samples_per_second": 4918.0}  # fmt: skip
    data = {"runs": [row], "measured": "2026-01-01",
            "machine": {"cpus": 2, "python": "3.11", "numpy": "2", "blas": ["openblas"], "environment": {}}}  # fmt: skip
    measure.rewrite_readme(data)
    first = readme.read_text()
    assert first.startswith("# Title\n\nintro\n\n## Install\n\nsteps\n")
    assert "## Recipes" in first and "97.88%" in first and "1 min 01 s" in first
    row["test_accuracy"] = 0.9811
    measure.rewrite_readme(data)  # again: the section is replaced, not appended
    second = readme.read_text()
    assert second.count("## Recipes") == 1 and "98.11%" in second and "97.88%" not in second
