"""The runs folder (core/run_files.py, core/run_store.py): what is written comes back, a damaged run is skipped with one sentence, a
run cut short comes back interrupted, and the disk limit thins the oldest runs but never the newest."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from core import model_io, run_files, run_store
from core.model_io import Model
from core.network import init_network
from core.run_files import CURVE_COLUMNS, load_runs, segment_name, snapshot_name
from core.run_store import RunStore
from core.training import TrainConfig


def model(hidden=8, seed=0) -> Model:
    config = TrainConfig(hidden=(hidden,), epochs=3)
    net = init_network(
        [784, hidden, 10], "relu", "softmax", "glorot", True, np.random.default_rng(seed), np.float32
    )
    return Model(net, config, "mnist", [str(i) for i in range(10)], {"scaling": "unit"}, [])


def record(run_id, epochs=1, status="completed", segments=0, **extra) -> dict:
    return {
        "format": run_files.FORMAT, "version": run_files.VERSION, "run_id": run_id, "number": run_id,
        "name": f"run {run_id}", "colour": "#1f77b4", "dataset": "mnist", "classes": [str(i) for i in range(10)],
        "config": TrainConfig(hidden=(8,), epochs=3).to_dict(), "status": status, "message": "",
        "history": [{"epoch": e + 1, "test_accuracy": 0.5 + e / 10} for e in range(epochs)], "seconds": 1.5,
        "epoch_offset": 0.0, "parent_name": "", "visible_choice": None, "segments": segments, **extra,
    }  # fmt: skip


def curves(n, start=0.0) -> np.ndarray:
    return (start + np.arange(n * len(CURVE_COLUMNS), dtype=np.float32)).reshape(n, len(CURVE_COLUMNS))


def save_run(store, run_id, epochs, status="completed", hidden=8, points=5):
    """Save a run epoch by epoch, as the app does: weights, the new curve points, then run.json."""
    for epoch in range(1, epochs + 1):
        store.save(record(run_id, epoch, "training" if epoch < epochs else status, segments=epoch),
                   curves(points, 100 * epoch), model(hidden, epoch))  # fmt: skip
    assert store.flush()


def test_a_saved_run_comes_back_with_its_record_curves_and_weights(tmp_path):
    store = RunStore(tmp_path / "runs")
    save_run(store, 1, 3)
    (stored,), problems = load_runs(tmp_path / "runs")
    assert problems == []
    assert stored.record == record(1, 3, segments=3)
    assert not stored.interrupted and stored.config.hidden == (8,)
    np.testing.assert_array_equal(stored.curves, np.concatenate([curves(5, 100 * e) for e in (1, 2, 3)]))
    assert [p.name for p in stored.snapshot_files] == [snapshot_name(e) for e in (1, 2, 3)]
    loaded = model_io.load(stored.snapshot_files[1])  # each snapshot is an ordinary model file
    np.testing.assert_array_equal(loaded.network.weights[0], model(8, 2).network.weights[0])


def test_a_run_cut_short_comes_back_interrupted_with_its_finished_epochs(tmp_path):
    root = tmp_path / "runs"
    store = RunStore(root)
    save_run(store, 1, 2, status="training")
    folder = root / "1"
    # what a kill between the writes of epoch 3 leaves: its weights and curves, but not its run.json
    model_io.save(folder / snapshot_name(3), model(8, 3))
    np.save(folder / segment_name(3), curves(5))
    stray = folder / f".run.json.{dead_pid()}_abc.tmp"
    stray.write_bytes(b"half a file")
    (stored,), problems = load_runs(root)
    assert problems == [] and stored.interrupted
    assert len(stored.record["history"]) == 2 and len(stored.snapshot_files) == 2 and len(stored.curves) == 10
    assert not (folder / snapshot_name(3)).exists() and not (folder / segment_name(3)).exists()
    assert not stray.exists()


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.parametrize(
    "damage, words",
    [
        (b"\x00\xffnot json", "damaged run.json (not valid JSON)"),
        (b'{"format": "something else"}', "not written by this app"),
        (b"[" * 200_000 + b"]" * 200_000, "damaged run.json (not valid JSON)"),
        (json.dumps({**record(2), "history": "lots"}).encode(), "'history'"),
        (json.dumps({**record(2), "history": [{"test_accuracy": "high"}]}).encode(), "epochs of numbers"),
        (json.dumps({**record(2), "visible": [1]}).encode(), "'visible'"),
        (json.dumps({**record(2), "classes": [0, 1]}).encode(), "class names are not all text"),
        (
            json.dumps({**record(2), "config": {"hidden": "wide"}}).encode(),
            "settings this version cannot use",
        ),
        (json.dumps({**record(2), "version": 99}).encode(), "another version"),
        (json.dumps({**record(2), "status": "winning"}).encode(), "unknown status 'winning'"),
    ],
)
def test_a_damaged_run_is_skipped_with_one_sentence_and_the_others_load(tmp_path, damage, words):
    root = tmp_path / "runs"
    store = RunStore(root)
    save_run(store, 1, 1)
    save_run(store, 2, 1)
    save_run(store, 3, 1)
    (root / "2" / "run.json").write_bytes(damage)
    stored, problems = load_runs(root)
    problems = [str(p) for p in problems]
    assert [s.record["run_id"] for s in stored] == [1, 3]
    assert len(problems) == 1 and words in problems[0] and str(root / "2") in problems[0]
    assert problems[0].count(". ") == 0 and problems[0].endswith((".", ")"))  # one sentence
    assert (root / "2").exists()  # nothing the user had is deleted


def test_a_run_folder_without_its_record_is_skipped(tmp_path):
    (tmp_path / "runs" / "7").mkdir(parents=True)
    (tmp_path / "runs" / "7" / snapshot_name(1)).write_bytes(b"something")
    stored, problems = load_runs(tmp_path / "runs")
    assert stored == [] and [str(p) for p in problems] == [
        f"The saved run in {tmp_path / 'runs' / '7'} has no run.json."
    ]


def test_an_empty_run_folder_is_a_reserved_id_not_a_damaged_run(tmp_path):
    store = RunStore(tmp_path / "runs")
    assert store.reserve_id(1) == 1
    assert store.reserve_id(1) == 2  # taken: by this app or by another copy of it running now
    assert load_runs(tmp_path / "runs") == ([], [])


def test_a_damaged_curve_segment_ends_the_curves_there_but_keeps_the_run(tmp_path):
    root = tmp_path / "runs"
    save_run(RunStore(root), 1, 3)
    (root / "1" / segment_name(2)).write_bytes(b"garbage")
    (stored,), problems = load_runs(root)
    assert problems == [] and len(stored.curves) == 5 and len(stored.snapshot_files) == 3


def test_past_the_limit_the_oldest_runs_keep_only_their_final_weights(tmp_path):
    root = tmp_path / "runs"
    notes = []
    store = RunStore(root, on_note=notes.append)
    for run_id in (1, 2, 3):  # each snapshot of a 784-300-10 network is about 0.9 MB: 5.4 MB in all
        save_run(store, run_id, 2, hidden=300)
    assert notes == []  # under the default limit
    store.set_limit(3, keep={3})
    assert store.flush()
    assert store.usage() > 3 * 2**20  # the newest run alone cannot be thinned: still over, and said so
    stored, _ = load_runs(root)
    assert [[p.name for p in s.snapshot_files] for s in stored] == [
        [snapshot_name(2)], [snapshot_name(2)], [snapshot_name(1), snapshot_name(2)]]  # fmt: skip
    assert [len(s.record["history"]) for s in stored] == [2, 2, 2] and all(
        len(s.curves) == 10 for s in stored
    )
    assert notes == [
        "The saved runs passed the 3 MB limit: run 1, run 2 now keep only their final weights on disk."
    ]
    assert json.loads((root / "store.json").read_text())["limit_mb"] == 3
    assert RunStore(root).limit_mb == 3  # the limit is kept for the next start


def test_the_limit_is_kept_after_each_epoch_and_never_touches_the_run_being_saved(tmp_path):
    root = tmp_path / "runs"
    store = RunStore(root, limit_mb=2)
    save_run(store, 1, 3, hidden=300)  # 2.7 MB alone: over, but it is the run being saved
    assert len(list((root / "1").glob("epoch_*.npz"))) == 3
    save_run(store, 2, 1, hidden=300)
    assert sorted(p.name for p in (root / "1").glob("epoch_*.npz")) == [snapshot_name(3)]


def test_remove_deletes_the_runs_files(tmp_path):
    root = tmp_path / "runs"
    store = RunStore(root)
    save_run(store, 1, 2)
    save_run(store, 2, 1)
    store.remove(1, "run 1")
    store.remove(5, "a run never saved")  # nothing to remove: not an error
    assert store.flush()
    assert sorted(p.name for p in root.iterdir()) == ["2"]


def test_counters_are_kept_and_a_damaged_store_file_falls_back_to_defaults(tmp_path):
    root = tmp_path / "runs"
    store = RunStore(root)
    store.save_counters(9, 4)
    assert store.flush()
    again = RunStore(root)
    assert (again.next_run_id, again.next_number, again.limit_mb) == (9, 4, run_store.DEFAULT_LIMIT_MB)
    (root / "store.json").write_text('{"next_run_id": "many", "next_number": -3')
    assert (RunStore(root).next_run_id, RunStore(root).next_number) == (1, 1)


def test_a_folder_that_cannot_be_written_gives_one_sentence_not_an_exception(tmp_path):
    blocker = tmp_path / "runs"
    blocker.write_text("a file where the runs folder should be")
    notes = []
    store = RunStore(blocker, on_note=notes.append)
    store.save(record(1), curves(3), model())
    store.save(record(1, 1), curves(3), model())  # the same failure is said once
    assert store.flush()
    assert len(notes) == 1 and notes[0].startswith(f"Could not save run 1 in {blocker} (")


def test_the_writer_thread_ends_when_there_is_nothing_to_write(tmp_path):
    store = RunStore(tmp_path / "runs")
    save_run(store, 1, 1)
    assert store.flush() and store._thread is None


def test_usage_counts_every_file(tmp_path):
    root = tmp_path / "runs"
    save_run(RunStore(root), 1, 1)
    total = sum(os.path.getsize(p) for p in root.rglob("*") if p.is_file())
    assert RunStore(root).usage() == total > 0

