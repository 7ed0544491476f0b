"""The per-image training record (core/training_record.py) and what is drawn from it (core/cartography.py)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from core import cartography, training_record
from core.run_files import read_run
from core.run_store import RunStore
from core.training import TrainConfig, Trainer
from core.training_record import Dynamics, TrainingRecord


def hand_record() -> TrainingRecord:
    """Three images, three classes, two epochs, batches in a shuffled order with one image seen twice."""
    record = TrainingRecord([0, 1, 2], 3)
    # epoch 1: image 2, then images 0 and 1; image 2 again (as Rashid's copies are)
    record.observe(np.array([2]), np.array([[0.2, 0.2, 0.6]], np.float32))
    record.observe(np.array([1, 0]), np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]], np.float32))
    record.observe(np.array([2]), np.array([[0.1, 0.1, 0.8]], np.float32))
    record.end_epoch(1)
    # epoch 2: sigmoid-like outputs that do not sum to 1 are normalised; image 0 is not seen (a partial epoch)
    record.observe(np.array([1, 2]), np.array([[0.5, 0.5, 1.0], [0.2, 0.1, 0.1]], np.float32))
    return record


def test_the_record_matches_a_hand_computed_case():
    record = hand_record()
    dyn = record.end_epoch(2)
    assert dyn.epochs == (1, 2)
    p = dyn.matrix("probability").astype(np.float64)
    assert p[0, 0] == pytest.approx(0.5, abs=1e-3)  # image 0, label 0
    assert p[1, 0] == pytest.approx(0.7, abs=1e-3)
    assert p[2, 0] == pytest.approx(0.7, abs=1e-3)  # the mean of its two copies' 0.6 and 0.8
    assert np.isnan(p[0, 1])  # not seen in epoch 2
    assert p[1, 1] == pytest.approx(0.25, abs=1e-3)  # 0.5 / (0.5 + 0.5 + 1.0)
    assert p[2, 1] == pytest.approx(0.25, abs=1e-3)  # 0.1 / 0.4
    m = dyn.matrix("margin").astype(np.float64)
    assert m[0, 0] == pytest.approx(np.log(0.5 / 0.3), abs=2e-3)
    assert m[2, 0] == pytest.approx((np.log(0.6 / 0.2) + np.log(0.8 / 0.1)) / 2, abs=2e-3)
    assert m[1, 1] == pytest.approx(np.log(0.25 / 0.5), abs=2e-3)  # its rival (label 2) leads
    rival = dyn.matrix("rival")
    assert rival[:, 0].tolist() == [1, 2, 0] and rival[1, 1] == 2 and rival[0, 1] == training_record.NO_RIVAL
    assert rival[2, 0] == 0  # 0 and 1 tie on the mean of the copies: the first wins


def test_the_record_is_float16_and_its_memory_is_bounded():
    n = 60_000
    record = TrainingRecord(np.zeros(n, np.uint8), 10, max_columns=8)
    for epoch in range(1, 21):
        record.observe(np.arange(n), np.full((n, 10), 0.1, np.float32))
        dyn = record.end_epoch(epoch)
    assert dyn.probability[0].dtype == np.float16 and dyn.margin[0].dtype == np.float16
    assert dyn.rival[0].dtype == np.uint8
    assert len(dyn.epochs) <= 8 and dyn.epochs[-1] == 20 and list(dyn.epochs) == sorted(dyn.epochs)
    assert dyn.nbytes <= 8 * n * 5 + n
    # 15 epochs of 60,000 images: 5 bytes an image an epoch (the README's figure)
    assert 15 * n * 5 == 4_500_000


def test_confidence_and_variability_equal_numpy_on_a_known_array():
    rng = np.random.default_rng(1)
    probs = rng.random((50, 6)).astype(np.float16)
    margins = (rng.random((50, 6)) - 0.4).astype(np.float16)
    dyn = Dynamics(np.zeros(50, np.uint8), 10, tuple(range(1, 7)), tuple(probs.T.copy()), tuple(margins.T.copy()),
                   tuple(np.zeros((6, 50), np.uint8)))  # fmt: skip
    dm = cartography.data_map(dyn)
    p = probs.astype(np.float32)
    np.testing.assert_allclose(dm.confidence, p.mean(axis=1), rtol=1e-5)
    np.testing.assert_allclose(dm.variability, p.std(axis=1), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(dm.correctness, (margins > 0).mean(axis=1), rtol=1e-6)
    upto = cartography.data_map(dyn, upto=3)
    np.testing.assert_allclose(upto.confidence, p[:, :3].mean(axis=1), rtol=1e-5)
    np.testing.assert_allclose(cartography.scores(dyn, "aum"), margins.astype(np.float32).mean(axis=1), rtol=1e-5)


def test_forgetting_counts_right_to_wrong_and_never_learned():
    margins = np.array([[1, -1, 1, -1], [-1, -1, -1, -1], [-1, 1, 1, 1]], np.float16)
    dyn = Dynamics(np.zeros(3, np.uint8), 2, (1, 2, 3, 4), tuple(np.full((4, 3), 0.5, np.float16)),
                   tuple(margins.T.copy()), tuple(np.ones((4, 3), np.uint8)))  # fmt: skip
    assert cartography.forgetting_events(dyn).tolist() == [2, 5, 0]


def test_the_ranking_finds_flipped_labels_in_a_small_real_run_far_better_than_chance():
    from core import datasets

    data = datasets.load("mnist")
    n = 3000
    labels = data.train_labels[:n].copy()
    rng = np.random.default_rng(0)
    flipped = rng.choice(n, 60, replace=False)
    labels[flipped] = (labels[flipped] + rng.integers(1, 10, 60)) % 10
    noisy = replace(data, train_images=data.train_images[:n], train_labels=labels)
    cfg = TrainConfig(hidden=(64,), epochs=6, batch_size=64, seed=0)
    trainer = Trainer(cfg, noisy)
    events = [e for e in trainer.fit_iter() if hasattr(e, "dynamics")]
    dyn = events[-1].dynamics
    assert dyn.epochs == tuple(range(1, 7)) and trainer.record.dynamics is dyn
    found = cartography.suspects(dyn, top=60)
    precision = np.isin(found.indices, flipped).mean()
    assert precision > 0.5  # chance is 60 / 3000 = 0.02
    # the suggested label of a found flip is mostly its true label
    hits = np.isin(found.indices, flipped)
    true = data.train_labels[found.indices[hits]]
    assert (found.suggested[hits] == true).mean() > 0.8
    assert (found.labels == labels[found.indices]).all()
    assert np.all(np.diff(found.scores) >= 0)  # most suspect (lowest) first


def test_the_record_is_saved_with_the_run_and_read_back(tmp_path):
    dyn = hand_record().end_epoch(2)
    store = RunStore(tmp_path)
    record = {"format": "mnist-explorer-run", "version": 1, "run_id": 1, "number": 1, "name": "run 1",
              "status": "completed", "history": [{"epoch": 1}, {"epoch": 2}], "config": TrainConfig().to_dict(),
              "segments": 0, "classes": ["0", "1", "2"]}  # fmt: skip
    store.save(record, dynamics=dyn)
    assert store.flush()
    stored = read_run(tmp_path / "1")
    back = training_record.load(stored.dynamics_file)
    assert back.epochs == dyn.epochs
    for name in ("probability", "margin", "rival"):
        np.testing.assert_array_equal(back.matrix(name), dyn.matrix(name))
    assert back.truncated(1).epochs == (1,)


def test_a_damaged_record_file_is_one_sentence(tmp_path):
    path = tmp_path / "dynamics.npz"
    path.write_bytes(b"not a record")
    with pytest.raises(ValueError, match="could not be read"):
        training_record.load(path)
