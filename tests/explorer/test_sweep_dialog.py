"""Sweeps in the app: the dialog builds the grid and counts the runs, a real sweep on two local worker processes
streams its runs into the runs list and the sweep view, Train is refused while it trains (and it while a run
trains), Cancel stops it, and File › Open sweep… opens a `mnist-explorer sweep` folder."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction

from core import model_io, sweep
from core.sweep_dask import public_result
from explorer.runs import TrainRequest
from tests.explorer.gui_helpers import find, open_window, quick_settings

CLUSTER_MS = 90_000  # generous for a shared machine; the assertions are about results, not speed


@pytest.fixture
def window(qtbot):
    win = open_window(qtbot)
    quick_settings(win, train_limit=1000, epochs=1, batch_size=64, hidden="32")
    yield win
    win.sweeps.controller.shutdown()  # a failing test must not leave a cluster behind


def open_dialog(window):
    window.findChild(QAction, "actionSweep").trigger()
    dialog = window.sweeps.dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def tiny_grid(dialog, tmp_path, lrs="0.01,0.001", widths="16,24"):
    dialog.set_row(0, "lr", lrs)
    dialog.set_row(1, "hidden", widths)
    for row in (2, 3):
        dialog.set_row(row, "", "")
    dialog.workers_spin.setValue(2)
    dialog.folder_edit.setText(str(tmp_path / "sweep"))


def test_the_dialog_builds_the_grid_from_the_current_settings(qtbot, window):
    dialog = open_dialog(window)
    config = window.state.config
    assert dialog.grid_items() == [f"lr={config.lr / 10:g},{config.lr:g},{config.lr * 10:g}", "hidden=16,32"]
    assert len(dialog.plan) == 6 and "6 runs" in dialog.summary.text()
    assert dialog.epochs_spin.value() == 1 and dialog.limit_spin.value() == 1000
    dialog.set_row(0, "optimizer", "sgd,adam")
    dialog.set_row(2, "dropout", "0,0.2")
    assert dialog.grid_items() == ["optimizer=sgd,adam", "hidden=16,32", "dropout=0,0.2"]
    assert len(dialog.plan) == 8 and dialog.summary.text().startswith("8 runs, about ")
    # every run starts from the window's settings: only the grid's keys differ
    for run_config in dialog.plan.configs:
        assert run_config.batch_size == 64 and run_config.train_limit == 1000 and run_config.threads == 1
    assert {(c.optimizer, c.hidden, c.dropout) for c in dialog.plan.configs} == {
        (o, (h,), d) for o in ("sgd", "adam") for h in (16, 32) for d in (0.0, 0.2)}  # fmt: skip
    dialog.set_row(1, "hidden", "16,wide")
    assert dialog.plan is None and not dialog.start_button.isEnabled()
    assert "hidden=wide" in dialog.summary.text()
    dialog.set_row(1, "colour", "")  # not a setting: the box does not offer it
    assert dialog.key_boxes[1].currentText() != "colour"


def test_the_estimate_scales_the_newest_runs_speed():
    from types import SimpleNamespace

    from explorer.sweep_dialog import estimate_seconds

    plan = sweep.plan("keras-dense512", {"epochs": 2}, sweep.parse_grid(["lr=0.1,0.01"]))
    reference = SimpleNamespace(name="run 3", config=plan.configs[0], history=[{"samples_per_second": 20_000.0}])
    seconds, basis = estimate_seconds(plan, 60_000, workers=2, reference=reference)
    assert seconds == pytest.approx(5.0 + 120_000 / 20_000)  # two runs of 6 s, side by side, plus the start
    assert "run 3" in basis and "20,000" in basis
    seconds_one_worker, _ = estimate_seconds(plan, 60_000, workers=1, reference=reference)
    assert seconds_one_worker == pytest.approx(5.0 + 12.0)


def test_a_sweep_streams_its_runs_into_the_runs_list_and_the_sweep_view(qtbot, window, tmp_path):
    state, controller = window.state, window.sweeps.controller
    before = len(state.runs)
    dialog = open_dialog(window)
    tiny_grid(dialog, tmp_path)
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert controller.running
    # one training at a time: Train is refused while the sweep trains
    request = TrainRequest(state.config, "run while sweeping")
    state.request_training(request)
    assert request.run is None and "Sweep 1 is training" in request.refusal
    assert window.sweeps.status.isVisibleTo(window)
    qtbot.waitUntil(lambda: not controller.running, timeout=CLUSTER_MS)
    runs = state.runs[before:]
    assert sorted(r.name for r in runs) == sorted(
        f"sweep 1: lr={lr} hidden={h}" for lr in ("0.01", "0.001") for h in (16, 24))  # fmt: skip
    for run in runs:  # ordinary runs: settings, an epoch with its weights, a test accuracy
        assert str(run.status) == "completed" and len(run.history) == 1 and len(run.snapshots) == 1
        assert run.model.network.layer_sizes == [784, run.config.hidden[0], 10]
        assert 0.2 < run.final_accuracy <= 1.0
    assert window.controller.claimed_by == ""
    runs_list = find(window, "runsList")
    for run in runs:  # in the runs list, with their test accuracy
        item = runs_list.item_for(run)
        assert item is not None and item.text(0) == run.name
        assert f"{100 * run.final_accuracy:.2f}%" in item.text(1)
    assert sweep.read_summary(tmp_path / "sweep")[1]["planned"] == 4
    view = window.sweeps.view
    assert view.objectName() == "sweepPanel" and view.isVisible()
    table = view.table
    assert table.rowCount() == 4
    shown = [float(table.item(i, 3).text().rstrip("%")) for i in range(4)]
    assert shown == sorted(shown, reverse=True)  # best first
    assert [table.horizontalHeaderItem(j).text() for j in range(3)] == ["#", "lr", "hidden"]
    assert len(view.plot.lines) == 4  # one line per run across lr, hidden and test accuracy
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualItemRect(table.item(2, 0)).center())
    assert state.selected_run is view.data.rows[2].run
    # Train works again once the sweep has ended
    request = TrainRequest(state.config, "run after the sweep")
    state.request_training(request)
    assert request.run is not None
    qtbot.waitUntil(lambda: not window.controller.running, timeout=CLUSTER_MS)


def test_a_sweep_does_not_start_while_a_run_trains(qtbot, window, tmp_path):
    quick_settings(window, train_limit=20_000, epochs=20, batch_size=32, hidden="64")
    request = TrainRequest(window.state.config, "long run")
    window.state.request_training(request)
    assert request.run is not None
    dialog = open_dialog(window)
    tiny_grid(dialog, tmp_path)
    refusal = window.sweeps.start_from(dialog)
    assert "A run is training" in refusal and not window.sweeps.controller.running
    window.controller.stop()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=CLUSTER_MS)


def test_cancel_stops_every_task(qtbot, window, tmp_path):
    quick_settings(window, train_limit=5000, epochs=40, batch_size=64, hidden="64")
    state, controller = window.state, window.sweeps.controller
    before = len(state.runs)
    dialog = open_dialog(window)
    tiny_grid(dialog, tmp_path, lrs="0.01,0.001,0.0001", widths="64")
    assert window.sweeps.start_from(dialog) == ""
    runner = controller.runner
    qtbot.waitUntil(lambda: bool(runner.fractions), timeout=CLUSTER_MS)  # the runs are training
    cancel = find(window, "sweepCancelButton")
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not controller.running, timeout=30_000)
    assert runner.cancelled and runner.client is None and runner.cluster is None
    assert len(state.runs) == before  # none of the 40-epoch runs had finished
    assert window.controller.claimed_by == ""


def test_open_sweep_brings_a_command_line_sweep_into_the_runs_list(qtbot, window, tmp_path):
    from core import datasets
    from core.model_io import Model
    from core.training import Trainer

    data = datasets.load("mnist")
    plan = sweep.plan("keras-dense512", {"epochs": 1, "train_limit": 300}, sweep.parse_grid(["hidden=8,12,16"]))
    results = []
    for index, config in enumerate(plan.configs):  # what `mnist-explorer sweep --out DIR` leaves behind
        trainer = Trainer(config, data)
        trainer.fit()
        path = tmp_path / f"run_{index + 1:03d}.npz"
        model_io.save(path, Model.from_trainer(trainer, data))
        results.append({"index": index, "status": "completed", "label": plan.label(index), "worker": "tcp://x:1",
                        "config": config.to_dict(), "history": trainer.history, "model": str(path),
                        "test_accuracy": trainer.history[-1]["test_accuracy"]})  # fmt: skip
    results.append({"index": 3, "status": "failed", "error": "its worker died", "label": "hidden=20",
                    "config": plan.configs[0].to_dict(), "history": [], "model": None})  # fmt: skip
    sweep.write_summary(tmp_path, {"format": sweep.FORMAT, "version": 1, "keys": ["hidden"], "planned": 4,
                                   "runs": [public_result(r, tmp_path) for r in results]})  # fmt: skip
    before = len(window.state.runs)
    runner = window.sweeps.open_sweep(str(tmp_path))
    qtbot.waitUntil(lambda: len(window.state.runs) == before + 3, timeout=30_000)
    names = [r.name for r in window.state.runs[before:]]
    assert names == ["sweep 1: hidden=8", "sweep 1: hidden=12", "sweep 1: hidden=16"]
    assert [r.final_accuracy for r in window.state.runs[before:]] == [r["test_accuracy"] for r in results[:3]]
    view = window.sweeps.view
    assert view.table.rowCount() == 3 and len(view.plot.lines) == 1  # one setting: a scatter of three points
    assert runner is not None


def test_open_sweep_refuses_a_folder_that_is_not_a_sweep(qtbot, window, tmp_path):
    before = len(window.state.runs)
    messages = []
    window.state.statusMessage.connect(messages.append)
    window.sweeps.open_sweep(str(tmp_path))
    qtbot.waitUntil(lambda: any("cannot read" in m.lower() for m in messages), timeout=10_000)
    assert len(window.state.runs) == before
