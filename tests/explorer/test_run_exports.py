"""Exports from the training panel after a real short run: each curve plot's figure with the numbers behind it,
and a run's metrics as CSV from the runs list's context menu."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PySide6.QtCore import QPoint

from explorer import export, export_files
from explorer.panels.training import TrainingPanel
from explorer.state import AppState
from tests.explorer.trained_models import mnist


@pytest.fixture
def panel(qtbot):
    """A training panel after one completed run: 1,000 MNIST images, batch 100, 2 epochs, via the app's worker."""
    from core.recipes import config
    from explorer.worker import TrainingController

    state = AppState()
    dataset = mnist()
    state.set_dataset(dataset)
    panel = TrainingPanel(state)
    qtbot.addWidget(panel)
    panel.resize(900, 700)
    panel.show()
    controller = TrainingController(state)
    with qtbot.waitSignal(state.trainingFinished, timeout=300_000):
        controller.start(config("keras-dense512", epochs=2, train_limit=1000, batch_size=100), dataset)
    qtbot.waitUntil(lambda: not controller.running, timeout=30_000)
    return panel


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_each_curve_plot_exports_its_figure_and_the_runs_numbers(panel, tmp_path, monkeypatch):
    run = panel.state.runs[0]
    assert run.status == "completed" and len(run.batch_x) == 20 and len(run.history) == 2
    buttons = {b.objectName(): b for b in panel.curves.export_buttons}
    assert set(buttons) == {"export_curves_loss", "export_curves_accuracy", "export_curves_lr"}
    for name, plot in (
        ("loss", panel.loss_plot),
        ("accuracy", panel.accuracy_plot),
        ("lr", panel.curves.lr_plot),
    ):
        assert plot.scene().contextMenu[0].text() == "Export figure…"  # also on the plot's right-click menu
        target = tmp_path / f"curves_{name}.png"
        monkeypatch.setattr(
            export, "ask_save_path", lambda *a, t=target: (str(t), "PNG image, 1x size (*.png)")
        )
        buttons[f"export_curves_{name}"].defaultAction().trigger()
        assert target.stat().st_size > 1000
        rows = read_csv(tmp_path / f"curves_{name}.csv")
        batches = [r for r in rows if r["kind"] == "batch"]
        epochs = [r for r in rows if r["kind"] == "epoch"]
        assert len(batches) == 20 and len(epochs) == 2 and {r["run"] for r in rows} == {run.name}
        np.testing.assert_allclose([float(r["loss"]) for r in batches], run.batch_loss.array)
        np.testing.assert_allclose([float(r["epoch"]) for r in batches], run.batch_x.array)
        np.testing.assert_allclose([float(r["test_accuracy"]) for r in epochs],
                                   [h["test_accuracy"] for h in run.history])  # fmt: skip
    # a hidden run's numbers are left out; with no visible run there is no data file
    panel.state.set_run_visible(run, False)
    assert panel.curves.visible_curve_data() is None


def test_runs_list_context_menu_exports_the_runs_metrics(panel, tmp_path, monkeypatch):
    run = panel.state.runs[0]
    runs_list = panel.runs_list
    monkeypatch.setattr(export, "ask_folder", lambda *a: str(tmp_path / "metrics"))
    rect = runs_list.visualItemRect(runs_list.item_for(run))
    runs_list.customContextMenuRequested.emit(QPoint(rect.center()))
    menu = runs_list.last_menu
    action = next(a for a in menu.actions() if a.text() == "Export metrics (CSV)…")
    menu.close()
    messages = []
    panel.state.statusMessage.connect(messages.append)
    action.trigger()
    written = sorted((tmp_path / "metrics").iterdir())
    assert [p.name for p in written] == [
        f"{export_files._slug(run.name)}_batches.csv",
        f"{export_files._slug(run.name)}_epochs.csv",
    ]
    batches, epochs = read_csv(written[0]), read_csv(written[1])
    assert len(batches) == len(run.batch_x) == 20
    assert len(epochs) == len(run.history) == 2
    np.testing.assert_allclose([float(r["accuracy"]) for r in batches], run.batch_accuracy.array)
    np.testing.assert_allclose([float(r["test_loss"]) for r in epochs], [h["test_loss"] for h in run.history])
    assert messages and "Exported the metrics" in messages[-1]
