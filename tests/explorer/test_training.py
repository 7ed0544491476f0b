"""Live training from the main window: real runs on the bundled MNIST, driven by clicks, off the GUI thread."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction

from core.model_io import Model
from explorer.panels.training import TrainingPanel
from tests.explorer.gui_helpers import (
    StallMeter,
    find,
    open_window,
    plot_data,
    quick_settings,
    wait_batches,
    wait_finished,
)


@pytest.fixture
def window(qtbot):
    return open_window(qtbot)


LONG = 20_000  # images in a run the test pauses and stops before it ends


def click(qtbot, win, name):
    qtbot.mouseClick(find(win, name), Qt.MouseButton.LeftButton)


def test_one_epoch_from_the_train_button(window, qtbot):
    # 1024 units: the epoch's 63 batches take long enough (a few tenths of a second) for the stall meter to watch it
    quick_settings(window, hidden="1024")
    progress = find(window, "trainingProgress")
    values = []
    progress.valueChanged.connect(values.append)
    stalls = StallMeter()
    stalls.start()
    click(qtbot, window, "trainButton")
    assert window.state.training
    assert not find(window, "trainButton").isEnabled() and find(window, "stopButton").isEnabled()
    wait_finished(qtbot, window)
    stalls.stop()

    run = window.state.runs[-1]
    assert run.status == "completed" and len(run.history) == 1
    assert len(values) >= 2 and values == sorted(values) and values[-1] == progress.maximum() == 63  # 2000/32
    assert run.final_accuracy > 0.8
    assert isinstance(run.model, Model) and run.model.dataset == "mnist"
    np.testing.assert_allclose(
        run.model.predict_proba(window.state.dataset.test_images[:5]).sum(axis=1), 1, atol=1e-4
    )
    # Every batch reached the curves, at x = epoch fractions, through the throttled chunks.
    assert len(run.batch_x) == 63
    np.testing.assert_allclose(run.batch_x.array, np.arange(1, 64) / 63)
    loss_curves = plot_data(find(window, "lossPlot"))
    accuracy_curves = plot_data(find(window, "accuracyPlot"))
    assert any(len(x) == 63 for x, _ in loss_curves)  # raw and smoothed batch loss
    assert any(len(x) == 1 and y[0] == pytest.approx(100 * run.final_accuracy) for x, y in accuracy_curves)
    runs_list = find(window, "runsList")
    assert runs_list.topLevelItemCount() == 1
    assert float(runs_list.topLevelItem(0).text(1).rstrip("%")) / 100 == pytest.approx(
        run.final_accuracy, abs=1e-4
    )
    assert "Epoch" not in progress.text() and "done" in progress.text()
    assert window.state.selected_run is run and window.state.model is run.model
    assert stalls.ticks > 10, stalls.ticks
    assert stalls.largest < 0.2, f"the GUI thread was blocked for {stalls.largest * 1000:.0f} ms"


def test_progress_text_format(window, qtbot):
    quick_settings(window, train_limit=LONG)
    texts, shown = [], []
    bar = find(window, "trainingProgress")
    # the whole text (the bar shows as much of it as fits on one line, the tooltip all of it)
    window.state.trainingProgress.connect(lambda _event: (texts.append(bar.full_text), shown.append(bar.text())))
    click(qtbot, window, "trainButton")
    qtbot.waitUntil(lambda: len(texts) >= 3, timeout=120_000)
    click(qtbot, window, "stopButton")
    wait_finished(qtbot, window)
    pattern = r"Epoch 1/1 · batch \d+/625 · [\d,]+ samples/s · \d+:\d\d left"
    assert any(re.fullmatch(pattern, t) for t in texts), texts[-3:]
    short = r"Epoch 1/1 · (batch \d+/625 · )?\d+:\d\d left"
    assert all(t == s or re.fullmatch(short, s) for t, s in zip(texts, shown, strict=True)), shown[-3:]


def test_pause_resume_and_stop_keep_the_curves(window, qtbot):
    quick_settings(window, train_limit=LONG)
    state = window.state
    click(qtbot, window, "trainButton")
    run = state.runs[-1]
    wait_batches(qtbot, run, 5)

    click(qtbot, window, "pauseButton")
    qtbot.waitUntil(lambda: state.paused, timeout=10_000)
    assert find(window, "pauseButton").text() == "Resume" and run.status == "paused"
    qtbot.wait(200)  # chunks already on their way arrive; after that nothing moves
    frozen = len(run.batch_x)
    qtbot.wait(700)
    assert len(run.batch_x) == frozen, "training went on while paused"

    click(qtbot, window, "pauseButton")  # Resume
    qtbot.waitUntil(lambda: not state.paused, timeout=10_000)
    assert find(window, "pauseButton").text() == "Pause"
    wait_batches(qtbot, run, frozen + 5)

    click(qtbot, window, "stopButton")
    wait_finished(qtbot, window)
    assert run.status == "stopped"
    assert 0 < len(run.batch_x) < 625
    assert len(run.history) == 1 and run.history[0]["partial"] == 1  # the partial epoch's weights are kept
    assert run.history[0]["x"] == pytest.approx(run.batch_x[-1])
    assert run.model is not None and 0.5 < run.final_accuracy <= 1
    assert any(len(x) == len(run.batch_x) for x, _ in plot_data(find(window, "lossPlot")))
    assert find(window, "trainButton").isEnabled()


def test_keyboard_shortcuts_drive_training(window, qtbot):
    quick_settings(window, train_limit=LONG)
    qtbot.keyClick(window, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    assert window.state.training
    run = window.state.runs[-1]
    wait_batches(qtbot, run, 3)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: window.state.paused, timeout=10_000)
    assert window.findChild(QAction, "actionPause").text() == "&Resume"
    qtbot.keyClick(window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not window.state.paused, timeout=10_000)
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    wait_finished(qtbot, window)
    assert run.status == "stopped"


def test_closing_mid_run_ends_the_worker_within_a_second(window, qtbot):
    quick_settings(window, train_limit=0, epochs=5, batch_size=128)  # minutes of work: far from done
    click(qtbot, window, "trainButton")
    run = window.state.runs[-1]
    wait_batches(qtbot, run, 3)
    controller = window.controller
    started = time.perf_counter()
    window.close()
    took = time.perf_counter() - started
    assert controller.thread_done, "the training generator is still running"
    assert controller.thread_done_at - started < 1.0
    assert took < 2.0  # the whole close: the worker's stop, a short wait for other panels' jobs, settings
    qtbot.waitUntil(lambda: not controller.running, timeout=1000)  # the pool thread said `finished`


def test_two_runs_with_different_settings_are_compared(window, qtbot):
    quick_settings(window)
    click(qtbot, window, "trainButton")
    wait_finished(qtbot, window)
    quick_settings(window, hidden="64", lr=0.003)
    click(qtbot, window, "trainButton")
    wait_finished(qtbot, window)

    first, second = window.state.runs
    assert first.config.hidden == (512,) and second.config.hidden == (64,)
    assert first.colour != second.colour
    assert first.status == second.status == "completed"
    runs_list = find(window, "runsList")
    assert runs_list.topLevelItemCount() == 2
    assert "784-64-10" in runs_list.topLevelItem(1).text(4)
    curves = [c for c in plot_data(find(window, "lossPlot")) if len(c[0]) == 63]
    assert len(curves) >= 4  # raw and smoothed batch loss of each run, on the same axes
    # Hiding the first run hides its curves; selecting a row selects the run.
    runs_list.topLevelItem(0).setCheckState(0, Qt.CheckState.Unchecked)
    assert first.visible is False
    assert not window.findChild(TrainingPanel).curves._curves[first.run_id].loss_raw.isVisible()
    runs_list.setCurrentItem(runs_list.topLevelItem(0))
    assert window.state.selected_run is first and window.state.model is first.model


def test_continue_from_the_selected_run(window, qtbot):
    quick_settings(window)
    click(qtbot, window, "trainButton")
    wait_finished(qtbot, window)
    first = window.state.runs[-1]
    check = find(window, "continueCheck")
    assert check.isEnabled()
    check.setChecked(True)
    click(qtbot, window, "trainButton")
    wait_finished(qtbot, window)
    second = window.state.runs[-1]
    assert second is not first and second.epoch_offset == 1.0
    assert second.batch_x[0] > 1.0  # its curves continue where the first ended
    assert second.final_accuracy > first.final_accuracy - 0.02


def test_divergence_is_reported_and_the_next_run_trains(window, qtbot):
    quick_settings(window, hidden="512,512", optimizer="sgd", lr=1000.0, batch_size=128)
    failures = []
    window.state.trainingFailed.connect(failures.append)
    click(qtbot, window, "trainButton")
    wait_finished(qtbot, window)
    run = window.state.runs[-1]
    assert run.status == "diverged"
    assert len(failures) == 1 and "diverged" in failures[0] and "learning rate" in failures[0]
    assert failures[0] in find(window, "configMessage").text()
    assert "diverged" in find(window, "trainingProgress").text()
    assert find(window, "trainButton").isEnabled()

    quick_settings(window, hidden="512", optimizer="rmsprop", lr=0.001)
    click(qtbot, window, "trainButton")
    wait_finished(qtbot, window)
    assert window.state.runs[-1].status == "completed"
    assert window.state.runs[-1].final_accuracy > 0.8
    assert find(window, "configMessage").text() != failures[0]
