"""The training curves tell the truth and stay readable: a batch-1 run is drawn as bin means, the legend names
the runs and their losses, the lr axis's labels never overlap, the accuracy axis shows the start of training,
and hovering never resizes the window while the readout follows the run under the mouse."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint

from core import recipes
from explorer.runs import RunStatus
from explorer.state import AppState
from explorer.widgets.curve_axes import LrAxis, loss_axis_label, lr_decades
from explorer.widgets.curve_readout import nearest_run
from explorer.widgets.curves import TrainingCurves
from explorer.widgets.run_curves import ONLINE_BIN, Binned, bin_size
from tests.explorer.gui_helpers import find, open_window, quick_settings, wait_finished


def fake_run(state, recipe: str, batches_per_epoch: int, epochs: int, seed: int = 0, **overrides):
    """A run with `epochs` epochs of batch curves, as the worker would have delivered them."""
    config = recipes.config(recipe, epochs=epochs, **overrides)
    run = state.new_run(config, name=f"run {len(state.runs) + 1} · {recipe}")
    rng = np.random.default_rng(seed)
    n = batches_per_epoch * epochs
    x = np.arange(1, n + 1) / batches_per_epoch
    loss = rng.random(n)  # a batch-1 loss: one sample's, anywhere in 0..1
    run.batch_x.extend(x)
    run.batch_loss.extend(loss)
    run.batch_accuracy.extend(rng.random(n) > 0.5)
    run.batch_lr.extend(np.full(n, config.lr))
    run.batch_loss_smooth.extend(np.linspace(1.0, 0.1, n))
    run.batch_accuracy_smooth.extend(np.linspace(0.1, 0.95, n))
    run.status = RunStatus.COMPLETED
    state.runsChanged.emit()
    return run


@pytest.fixture
def curves(qtbot):
    state = AppState()
    widget = TrainingCurves(state)
    qtbot.addWidget(widget)
    widget.resize(900, 700)
    widget.show()
    qtbot.waitExposed(widget)
    return state, widget


def test_a_batch1_run_is_drawn_as_bin_means_not_one_point_per_sample(curves, qtbot):
    state, widget = curves
    run = fake_run(state, "rashid", 60_000, 5)  # Rashid's online learning on all of MNIST: 300,000 batches
    widget.update_run(run, now=True)
    k = bin_size(run)
    assert k >= ONLINE_BIN and 300_000 / k <= 10_000
    drawn = widget._curves[run.run_id]
    x, y = drawn.loss_raw.getOriginalDataset()
    assert len(x) == 300_000 // k  # one point per bin of k batches
    np.testing.assert_allclose(y[:3], run.batch_loss.array[: 3 * k].reshape(3, k).mean(axis=1))
    assert x[0] == pytest.approx(run.batch_x[k - 1])  # each bin sits at its last batch
    sx, sy = drawn.acc_smooth.getOriginalDataset()
    assert len(sx) == len(x) and sy[-1] == pytest.approx(95.0)


def test_a_short_run_keeps_every_batch(curves):
    state, widget = curves
    run = fake_run(state, "keras-dense512", 469, 5)
    widget.update_run(run, now=True)
    assert bin_size(run) == 1
    assert len(widget._curves[run.run_id].loss_raw.getOriginalDataset()[0]) == 469 * 5


def test_binned_grows_with_the_run_and_draws_the_bin_still_filling():
    state = AppState()
    run = fake_run(state, "rashid", 100, 1)
    binned = Binned(20)
    out = binned.arrays(run)
    assert len(out["x"]) == 5 and binned.done == 100
    run.batch_x.extend([1.01, 1.02, 1.03])
    for name in ("batch_loss", "batch_lr", "batch_loss_smooth", "batch_accuracy_smooth"):
        getattr(run, name).extend([0.5, 0.5, 0.5])
    out = binned.arrays(run)
    assert len(out["x"]) == 6 and out["x"][-1] == pytest.approx(1.03) and out["loss"][-1] == pytest.approx(0.5)


def test_the_legend_names_runs_and_marks_losses_of_two_kinds(curves):
    state, widget = curves
    fake_run(state, "keras-dense512", 50, 2)
    legend_names = [label.text for _sample, label in widget.run_legend.legend.items]
    assert legend_names == ["run 1 · cross-entropy", "batch (raw)"]
    assert widget.loss_plot.getPlotItem().getAxis("left").labelText == "loss"
    fake_run(state, "rashid", 50, 2)
    legend_names = [label.text for _sample, label in widget.run_legend.legend.items]
    assert legend_names == ["run 1 · cross-entropy", "run 2 · squared error", "batch (raw)"]
    assert widget.loss_plot.getPlotItem().getAxis("left").labelText == "loss (2 kinds)"
    assert loss_axis_label([state.runs[1]]) == "loss"
    state.set_run_visible(state.runs[0], False)
    assert [label.text for _sample, label in widget.run_legend.legend.items][0] == "run 2 · squared error"


def test_lr_axis_labels_whole_decades_spaced_apart():
    axis = LrAxis("left")
    axis.setLogMode(y=True)
    # a constant rate of 0.001: two decades around it, on a short plot
    state = AppState()
    run = state.new_run(recipes.config("keras-dense512"))
    run.batch_lr.extend(np.full(3, 0.001))
    low, high = lr_decades([run])
    assert low < -3 < high and high - low >= 2
    for size in (40, 60, 120, 400):
        levels = axis.tickValues(low, high, size)
        values = [v for _spacing, vs in levels for v in vs]
        assert all(v == int(v) for v in values)  # decades only: no 2..9 labels between them
        if len(values) > 1:
            gap = size * abs(values[1] - values[0]) / (high - low)
            assert gap >= 20, (size, values)
    assert axis.tickStrings([-3.0, -2.0], 1, 1) == ["0.001", "0.01"]
    # two rates two decades apart on a 40 px plot: both ends labelled, the highest first
    assert axis.tickValues(-3.15, -0.85, 40) == [(2.0, [-1.0, -3.0])]
    # the empty plot: a range, and labels that do not overlap
    assert lr_decades([]) == pytest.approx((-4.15, -0.85))


def test_the_accuracy_axis_shows_the_start_of_training(curves):
    state, widget = curves
    fake_run(state, "keras-dense512", 200, 3)  # smoothed accuracy from 10% to 95%
    widget.fit_accuracy_range()
    low, _high = widget.accuracy_plot.getPlotItem().getViewBox().viewRange()[1]
    assert low <= 10.0


def test_the_readout_follows_the_run_under_the_mouse(curves):
    state, widget = curves
    low = fake_run(state, "keras-dense512", 100, 2)
    high = fake_run(state, "keras-dense512", 100, 2)
    high.batch_loss_smooth.clear()
    high.batch_loss_smooth.extend(np.linspace(3.0, 2.0, 200))
    state.select_run(low)
    assert nearest_run(state.runs, "loss", 1.0, 2.4) is high
    assert nearest_run(state.runs, "loss", 1.0, 0.5) is low
    widget.crosshair.show("loss", 1.0, 2.4)
    assert widget.crosshair.run is high and widget.readout.text().count("run 2") == 1


def test_hovering_the_plots_never_resizes_the_window(qtbot):
    window = open_window(qtbot)
    quick_settings(window)
    find(window, "trainButton").click()
    wait_finished(qtbot, window)
    window.resize(1280, 700)
    qtbot.wait(100)
    width = window.width()
    readout = find(window, "curvesReadout")
    for name in ("lossPlot", "accuracyPlot", "lrPlot"):
        plot = find(window, name)
        for fx in (0.2, 0.5, 0.9):
            qtbot.mouseMove(plot, QPoint(int(plot.width() * fx), plot.height() // 2))
            qtbot.wait(20)
            assert window.width() == width
    assert "run 1" in readout.text()
    assert window.width() == width and window.minimumSizeHint().width() <= 1280
