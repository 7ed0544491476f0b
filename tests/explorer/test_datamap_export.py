"""The data map and the suspects in `mnist-explorer export` (an epoch file of a run folder has its run's record
beside it; a model file alone has none, and the export says so) and in report.html."""

from __future__ import annotations

import csv

import numpy as np

from core import datasets, model_io, training_record
from core.training import TrainConfig, Trainer
from explorer.export_files import export_command


def tiny_run_folder(folder):
    """What a run folder holds for the export: its epoch file and dynamics.npz (one epoch ahead, as a run killed
    between the two writes leaves it)."""
    data = datasets.load("mnist")
    cfg = TrainConfig(hidden=(16,), epochs=3, batch_size=64, train_limit=1200, seed=3)
    trainer = Trainer(cfg, data)
    events = [e for e in trainer.fit_iter() if hasattr(e, "dynamics")]
    folder.mkdir(parents=True)
    model = model_io.Model.from_trainer(trainer, data)
    model.history = model.history[:2]  # the epoch-2 file
    model_io.save(folder / "epoch_0002.npz", model)
    (folder / "dynamics.npz").write_bytes(training_record.to_bytes(events[-1].dynamics))
    return folder / "epoch_0002.npz", events[-1].dynamics


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_an_epoch_file_of_a_run_exports_its_data_map_and_suspects(tmp_path, capsys):
    model_path, dynamics = tiny_run_folder(tmp_path / "runs" / "7")
    out = tmp_path / "out"
    assert export_command([str(model_path), str(out)]) == 0
    assert "note:" not in capsys.readouterr().err
    rows = read_csv(out / "datamap.csv")
    assert rows[0] == ["index", "label", "confidence", "variability", "correct"]
    assert len(rows) == 1 + 1200
    p = dynamics.matrix("probability")[:, :2].astype(np.float32)  # up to the file's epoch 2, not 3
    assert float(rows[6][2]) == np.round(p[5].mean(), 5)
    assert int(rows[6][1]) == int(datasets.load("mnist").train_labels[5])
    suspects = read_csv(out / "suspects.csv")
    assert suspects[0] == ["rank", "index", "label", "suggested", "score"]
    scores = [float(r[4]) for r in suspects[1:]]
    assert len(scores) == 1200 and scores == sorted(scores)
    assert (out / "datamap.png").stat().st_size > 5000
    report = (out / "report.html").read_text()
    assert "Data map and suspects" in report and "over 2 epochs" in report


def test_a_model_file_alone_has_no_record_and_the_export_says_so(tmp_path):
    from explorer.datamap_figures import compute_datamap, record_beside, render_datamap_files

    model_path, dynamics = tiny_run_folder(tmp_path / "run")
    model = model_io.load(model_path)
    found, note = record_beside(model_path, model)
    assert note == "" and found.epochs == (1, 2)  # truncated to the file's epoch
    (tmp_path / "run" / "dynamics.npz").write_bytes(b"damaged")
    assert record_beside(model_path, model)[0] is None and "could not be read" in record_beside(model_path, model)[1]
    (tmp_path / "run" / "dynamics.npz").unlink()
    found, note = record_beside(model_path, model)
    assert found is None and "no per-image training record" in note
    assert render_datamap_files(compute_datamap(None, model.classes)) == {}
    files = render_datamap_files(compute_datamap(dynamics, model.classes))
    assert sorted(files) == ["datamap.csv", "datamap.png", "suspects.csv"]


def test_the_apps_export_writes_the_selected_runs_data_map_up_to_the_shown_epoch(qtbot, tmp_path):
    from explorer import actions
    from tests.explorer.gui_helpers import open_window
    from tests.explorer.test_datamap_panel import train_into

    win = open_window(qtbot)
    qtbot.waitUntil(lambda: win.state.dataset is not None, timeout=60_000)
    train_into(win.state, epochs=3)
    win.state.select_epoch(2)
    runner = actions.export_figures(win, str(tmp_path / "figures"))
    qtbot.waitUntil(lambda: (tmp_path / "figures" / "report.html").exists(), timeout=60_000)
    qtbot.waitUntil(lambda: not runner.busy, timeout=60_000)
    rows = read_csv(tmp_path / "figures" / "datamap.csv")
    assert len(rows) == 1 + 1500
    assert "over 2 epochs" in (tmp_path / "figures" / "report.html").read_text()
    assert len(read_csv(tmp_path / "figures" / "suspects.csv")) == 1 + 1500
