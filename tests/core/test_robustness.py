"""Robustness curves (core/robustness.py) and `mnist-explorer evaluate MODEL --robustness`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core import datasets, robustness
from core.cli import evaluate_model
from core.model_io import Model
from core.training import TrainConfig, Trainer

ROOT = Path(__file__).resolve().parents[2]
LO, HI = 0.0, 1.0


@pytest.fixture(scope="module")
def mnist():
    return datasets.load("mnist")


@pytest.fixture(scope="module")
def small_model(mnist):
    """A real network trained for one epoch on 2,000 digits (a second), with its trainer's history."""
    trainer = Trainer(TrainConfig(hidden=(32,), epochs=1, train_limit=2000, batch_size=64, seed=0), mnist)
    trainer.fit()
    return Model.from_trainer(trainer, mnist)


@pytest.fixture(scope="module")
def found(small_model, mnist):
    return robustness.curves(small_model, mnist.test_images, mnist.test_labels)


def blank(n=1):
    return np.zeros((n, 28, 28), np.float32)


def test_amount_zero_is_the_test_accuracy_exactly(found, small_model, mnist):
    reported = small_model.history[-1]["test_accuracy"]
    evaluated = evaluate_model(small_model, mnist)["test_accuracy"]
    assert reported == evaluated
    for name, curve in found.items():
        assert curve.amounts[0] == 0
        assert curve.accuracy[0] == reported, name
    assert set(found) == set(robustness.PERTURBATIONS)


def test_curves_cover_the_asked_ranges_and_fall(found):
    rotation, shift = found["rotation"], found["shift"]
    assert rotation.amounts.tolist() == [0, 5, 10, 15, 20, 25, 30, 35, 40, 45]
    assert shift.amounts.tolist() == [0, 1, 2, 3, 4]
    thickness = found["thickness"].amounts.tolist()
    assert thickness[0] == 0 and min(thickness) < 0 < max(thickness)
    # a plain network loses most of its accuracy at 45 degrees or 4 pixels
    assert rotation.accuracy[-1] < rotation.accuracy[0] - 0.2
    assert shift.accuracy[-1] < shift.accuracy[0] - 0.2
    assert found["noise"].accuracy[-1] < found["noise"].accuracy[0]


def test_flips_are_right_at_zero_and_wrong_at_the_amount(found, mnist):
    curve = found["rotation"]
    flips = curve.flips(30)
    labels = mnist.test_labels.astype(np.int64)
    k = curve.index(30)
    assert flips.size > 0
    assert np.all(curve.predicted[0, flips] == labels[flips])
    assert np.all(curve.predicted[k, flips] != labels[flips])
    expected = np.flatnonzero((curve.predicted[0] == labels) & (curve.predicted[k] != labels))
    np.testing.assert_array_equal(flips, expected)
    # the curve's accuracy is what its predictions say
    assert curve.accuracy[k] == np.mean(curve.predicted[k] == labels)
    with pytest.raises(ValueError, match="not one of"):
        curve.flips(7)


def test_rotation_by_zero_is_the_identity(mnist, small_model):
    x = small_model.scale(mnist.test_images[:50]).reshape(-1, 28, 28)
    index = np.arange(50)
    np.testing.assert_array_equal(robustness.perturb(x, "rotation", 0, index, LO, HI), x)
    matrix, outside = robustness.resampling_matrix(0.0)
    np.testing.assert_array_equal(matrix.toarray(), np.eye(784, dtype=np.float32))
    assert not outside.any()


def test_rotation_turns_even_images_one_way_and_odd_ones_the_other():
    image = np.zeros((28, 28), np.float32)
    image[3:9, 20] = 1.0  # a bar up and to the right of the centre
    x = np.stack([image, image])
    turned = robustness.perturb(x, "rotation", 90, np.array([0, 1]), LO, HI)
    np.testing.assert_allclose(turned[0], np.rot90(image, 1), atol=1e-5)  # counter-clockwise
    np.testing.assert_allclose(turned[1], np.rot90(image, -1), atol=1e-5)  # clockwise


def test_shift_moves_each_image_its_way_by_whole_pixels():
    x = blank(5)
    x[:, 10, 10] = 1.0
    x[4, 27, 5] = 1.0  # on the bottom edge: image 4 (4 % 4 = 0) moves right and keeps it
    moved = robustness.perturb(x, "shift", 2, np.arange(5), LO, HI)
    # right, down, left, up, right
    for k, (r, c) in enumerate([(10, 12), (12, 10), (10, 8), (8, 10), (10, 12)]):
        assert moved[k, r, c] == 1.0, k
    assert moved[:4].sum(axis=(1, 2)).tolist() == [1.0, 1.0, 1.0, 1.0]
    assert moved[4, 27, 7] == 1.0 and moved[4].sum() == 2.0


def test_shift_fills_with_the_background_value():
    x = np.full((4, 28, 28), 0.5, np.float32)
    moved = robustness.perturb(x, "shift", 3, np.arange(4), -1.0, 1.0)
    # moved right: the left columns are empty
    assert np.all(moved[0, :, :3] == -1.0) and np.all(moved[0, :, 3:] == 0.5)
    assert np.all(moved[3, -3:, :] == -1.0)  # moved up: bottom rows empty


def test_thickness_dilates_and_erodes_with_a_disk():
    dot = blank()
    dot[0, 14, 14] = 1.0
    thicker = robustness.perturb(dot, "thickness", 1, [0], LO, HI)[0]
    cross = np.zeros((28, 28))
    cross[13:16, 14] = cross[14, 13:16] = 1.0
    np.testing.assert_array_equal(thicker, cross)
    assert robustness.perturb(dot, "thickness", 2, [0], LO, HI)[0].sum() == 13  # the disk of radius 2
    square = blank()
    square[0, 10:13, 10:13] = 1.0
    thinner = robustness.perturb(square, "thickness", -1, [0], LO, HI)[0]
    assert thinner.sum() == 1.0 and thinner[11, 11] == 1.0  # only the centre has all four neighbours inked
    grey = blank()
    grey[0, 5, 5:8] = [0.2, 0.9, 0.4]
    row = robustness.perturb(grey, "thickness", 1, [0], LO, HI)[0, 5, 5:8]
    assert row.tolist() == pytest.approx([0.9] * 3)  # the brightest neighbour


def test_noise_is_seeded_clipped_and_independent_of_chunks(small_model, mnist):
    x = small_model.scale(mnist.test_images[:1200]).reshape(-1, 28, 28)
    index = np.arange(1200)
    a = robustness.perturb(x, "noise", 0.2, index, LO, HI)
    b = robustness.perturb(x, "noise", 0.2, index, LO, HI)
    np.testing.assert_array_equal(a, b)
    assert a.min() >= LO and a.max() <= HI and not np.array_equal(a, x)
    parts = np.concatenate([robustness.perturb(x[i : i + 700], "noise", 0.2, index[i : i + 700], LO, HI)
                            for i in (0, 700)])  # fmt: skip
    np.testing.assert_array_equal(parts, a)
    other_seed = robustness.perturb(x, "noise", 0.2, index, LO, HI, seed=1)
    assert not np.array_equal(other_seed, a)
    field = robustness.noise_field(np.arange(1000))
    assert abs(field.std() - 1.0) < 0.01 and abs(field.mean()) < 0.01


def test_chunk_size_does_not_change_the_curve(small_model, mnist):
    images, labels = mnist.test_images[:900], mnist.test_labels[:900]
    whole = robustness.curve(small_model, images, labels, "noise", [0, 0.3], chunk=900)
    chunked = robustness.curve(small_model, images, labels, "noise", [0, 0.3], chunk=256)
    np.testing.assert_array_equal(whole.predicted, chunked.predicted)


def test_perturbed_images_are_what_the_network_saw(small_model, mnist):
    indices = np.array([5, 2, 9])
    shown = robustness.perturbed_images(small_model, mnist.test_images, indices, "shift", 4)
    assert shown.dtype == np.uint8 and shown.shape == (3, 28, 28)
    # index 5 moves down (5 % 4 = 1); the model's "unit" scaling maps grey levels back exactly
    np.testing.assert_array_equal(shown[0, 4:], mnist.test_images[5, :-4])
    np.testing.assert_array_equal(shown[0, :4], 0)


def test_bad_amounts_are_refused_in_one_sentence():
    with pytest.raises(ValueError, match="Unknown perturbation"):
        robustness.check_amounts("blur")
    with pytest.raises(ValueError, match="whole number"):
        robustness.check_amounts("shift", [0.5])
    with pytest.raises(ValueError, match="within"):
        robustness.check_amounts("rotation", [float("nan")])
    with pytest.raises(ValueError, match="never negative"):
        robustness.check_amounts("noise", [-0.1])
    assert robustness.check_amounts("shift", [3, 1]).tolist() == [0, 1, 3]  # 0 added first, the rest in order


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "core.cli", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("robustness") / "tiny.npz"
    proc = run_cli("train", "--hidden", "16", "--train-limit", 1000, "--epochs", 1, "--quiet", "--save", path)
    assert proc.returncode == 0, proc.stderr
    return path


def test_evaluate_robustness_json_shape(saved_model):
    proc = run_cli("evaluate", saved_model, "--robustness", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    curves = result["robustness"]
    assert set(curves) == {"rotation", "shift", "noise", "thickness"}
    for name, points in curves.items():
        assert points[0]["amount"] == 0, name
        assert points[0]["accuracy"] == result["test_accuracy"], name
        assert all(set(p) == {"amount", "accuracy"} and 0 <= p["accuracy"] <= 1 for p in points)
    assert [p["amount"] for p in curves["rotation"]][-1] == 45
    assert max(p["amount"] for p in curves["shift"]) == 4
    assert result["robustness_units"]["rotation"] == "degrees"


def test_evaluate_robustness_table(saved_model):
    proc = run_cli("evaluate", saved_model, "--robustness")
    assert proc.returncode == 0, proc.stderr
    assert "rotation (degrees):" in proc.stdout and "thickness (" in proc.stdout
    assert "(the plain test set)" in proc.stdout


@pytest.mark.parametrize("content", [None, b"not a zip file"])
def test_evaluate_robustness_bad_model_is_one_line_and_exit_2(tmp_path, content):
    path = tmp_path / "model.npz"
    if content is not None:
        path.write_bytes(content)
    proc = run_cli("evaluate", path, "--robustness", "--json")
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert proc.stdout == ""
