"""One training at a time: Train, Ctrl+T, Continue and the rotation experiment all go through the one training
controller, in whatever order the user presses them. Real runs on the bundled MNIST, in the main window."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from explorer.runs import TrainRequest
from tests.explorer.gui_helpers import find, open_window, quick_settings, wait_batches, wait_finished

LONG = 20_000  # images in a run (of LONG_EPOCHS) that is still training when the test presses the next thing
LONG_EPOCHS = 10


@pytest.fixture
def window(qtbot):
    win = open_window(qtbot)
    win.most_training = 0  # the most runs ever training at once, seen at every change of the runs list
    win.state.runsChanged.connect(
        lambda: setattr(win, "most_training", max(win.most_training, len(win.state.training_runs)))
    )
    return win


def experiment(window):
    return find(window, "augmentationPanel").experiment


def start_experiment(qtbot, window, images=1000, epochs=1):
    window.tabs.setCurrentWidget(find(window, "augmentationPanel"))
    exp = experiment(window)
    exp.limit_spin.setValue(images)
    exp.epochs_spin.setValue(epochs)
    qtbot.mouseClick(exp.run_button, Qt.MouseButton.LeftButton)
    assert exp.running
    return exp


def press_train_every_way(qtbot, window):
    """The Train button, Ctrl+T and the menu action: each refused while a run trains."""
    before = len(window.state.runs)
    qtbot.mouseClick(find(window, "trainButton"), Qt.MouseButton.LeftButton)
    QTest.keyClick(window, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    window.action_train.trigger()
    assert len(window.state.runs) == before


def test_train_is_refused_while_the_experiment_trains_and_back_after_it(qtbot, window):
    quick_settings(window)
    exp = start_experiment(qtbot, window, images=LONG, epochs=LONG_EPOCHS)
    run = window.state.runs[-1]
    assert run.name == "experiment: without rotation" and window.state.training
    assert not find(window, "trainButton").isEnabled() and not window.action_train.isEnabled()
    assert find(window, "stopButton").isEnabled()  # the main Stop stops the experiment's run too
    wait_batches(qtbot, run, 3)
    press_train_every_way(qtbot, window)
    progress = find(window, "trainingProgress")
    qtbot.waitUntil(lambda: progress.value() > 0, timeout=30_000)  # the main progress bar follows it
    exp.stop()
    qtbot.waitUntil(lambda: not exp.running, timeout=60_000)
    wait_finished(qtbot, window)
    assert [r.status for r in window.state.runs] == ["stopped"]  # the second run never started
    assert find(window, "trainButton").isEnabled() and exp.run_button.isEnabled()
    assert window.most_training == 1


def test_the_experiment_is_refused_while_train_runs(qtbot, window):
    quick_settings(window, train_limit=LONG, epochs=LONG_EPOCHS)
    qtbot.mouseClick(find(window, "trainButton"), Qt.MouseButton.LeftButton)
    run = window.state.runs[-1]
    wait_batches(qtbot, run, 3)
    exp = experiment(window)
    assert not exp.run_button.isEnabled()
    exp.start()  # a direct call is refused too
    assert not exp.running and len(window.state.runs) == 1
    request = TrainRequest(window.state.config, name="a second run")
    window.state.request_training(request)  # and so is any other entry point
    assert request.run is None and "training" in request.refusal
    QTest.keyClick(window, Qt.Key.Key_Escape)
    wait_finished(qtbot, window)
    assert window.most_training == 1 and len(window.state.runs) == 1


def test_continue_is_refused_while_the_experiment_trains(qtbot, window):
    quick_settings(window)
    qtbot.mouseClick(find(window, "trainButton"), Qt.MouseButton.LeftButton)
    wait_finished(qtbot, window)
    first = window.state.runs[-1]
    window.state.select_run(first)
    continue_check = find(window, "continueCheck")
    continue_check.setChecked(True)
    exp = start_experiment(qtbot, window, images=LONG, epochs=LONG_EPOCHS)
    press_train_every_way(qtbot, window)  # Continue is a Train with the box ticked: refused the same way
    exp.stop()
    qtbot.waitUntil(lambda: not exp.running, timeout=60_000)
    wait_finished(qtbot, window)
    assert window.most_training == 1
    assert [r.name for r in window.state.runs][1:] == ["experiment: without rotation"]


def test_the_experiment_trains_its_two_runs_one_after_the_other(qtbot, window):
    quick_settings(window)
    exp = start_experiment(qtbot, window, images=1000, epochs=1)
    qtbot.waitUntil(lambda: not exp.running, timeout=180_000)
    runs = window.state.runs
    assert [r.status for r in runs] == ["completed", "completed"]
    assert window.most_training == 1  # never two at once, not even as the first hands over to the second
    assert find(window, "trainButton").isEnabled()
    assert "Done" in exp.status_label.text()
