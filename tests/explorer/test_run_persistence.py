"""Runs survive a restart (issue 13, items 1, 2, 13 and 15): kept in the user's data folder, restored at launch,
removed with their files; quitting while training asks first; new runs and the selected one are ticked by
default; run numbers never skip."""

from __future__ import annotations

import os
import types
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QMessageBox

from core import run_files
from core.training import TrainConfig
from explorer.state import AppState
from tests.explorer.gui_helpers import find, open_window, quick_settings, wait_finished
from tests.explorer.trained_models import trained


def runs_root() -> Path:
    return Path(os.environ["MNIST_EXPLORER_DATA_DIR"]) / "runs"


def epoch_event(epoch: int, accuracy: float = 0.9):
    return types.SimpleNamespace(
        epoch=epoch, epochs=3, test_accuracy=accuracy, train_loss=0.3, epoch_seconds=0.5
    )


def trained_run(state: AppState, name: str | None = None, epochs: int = 2, status: str = "completed"):
    """A run as the controller makes one: batch points, then an epoch (weights and numbers), ..., then its end."""
    model = trained("relu")
    run = state.new_run(model.config, name=name)
    for epoch in range(1, epochs + 1):
        x = np.linspace(epoch - 1, epoch, 11)[1:]
        for curve in ("batch_x", "batch_loss", "batch_accuracy", "batch_lr", "batch_loss_smooth",
                      "batch_accuracy_smooth"):  # fmt: skip
            getattr(run, curve).extend(x if curve == "batch_x" else np.full(10, 0.1 * epoch))
        state.add_epoch(run, epoch_event(epoch, 0.8 + epoch / 100), model)
    if status != "training":
        state.end_run(run, status)
    return run


def reopened() -> AppState:
    state = AppState()
    state.open_run_store()
    return state


def test_tests_keep_their_runs_in_their_own_temp_folder(qtbot):
    window = open_window(qtbot)
    assert window.state.runs == []  # nothing from earlier tests, nor from the real user folder
    assert window.state.run_store.root == runs_root()
    assert "pytest" in str(runs_root())


def test_a_run_comes_back_with_its_settings_history_curves_and_weights(qtbot):
    state = reopened()
    run = trained_run(state, name=f"run {state.next_run_number} · test")
    state.rename_run(run, "my best run")
    assert state.close_run_store()
    back = reopened()
    (again,) = back.runs
    assert (again.run_id, again.number, again.name, again.colour) == (
        run.run_id,
        1,
        "my best run",
        run.colour,
    )
    assert again.status == "completed" and again.history == run.history and again.config == run.config
    for curve in ("batch_x", "batch_loss", "batch_accuracy", "batch_lr", "batch_loss_smooth",
                  "batch_accuracy_smooth"):  # fmt: skip
        np.testing.assert_allclose(getattr(again, curve).array, getattr(run, curve).array, rtol=1e-6)
    assert back.selected_run is again and back.selected_epoch == 2
    # the weights are read when first used: the selected run's newest epoch at once (the panels show it), the
    # others when the epoch slider reaches them
    assert len(again.snapshots) == 2 and again.snapshots.on_disk() == 1
    model = back.model
    for got, want in zip(model.network.weights, run.snapshots[-1].network.weights, strict=True):
        np.testing.assert_array_equal(got, want)
    back.select_epoch(1)
    assert back.model is again.snapshots[0] and again.snapshots.on_disk() == 0


def test_removing_a_run_removes_its_files(qtbot):
    state = reopened()
    first, second = trained_run(state), trained_run(state)
    state.run_store.flush()
    assert sorted(p.name for p in runs_root().iterdir() if p.is_dir()) == ["1", "2"]
    state.remove_run(first)
    state.run_store.flush()
    assert sorted(p.name for p in runs_root().iterdir() if p.is_dir()) == ["2"]
    assert [r.run_id for r in reopened().runs] == [second.run_id]


def test_run_numbers_never_skip_and_carry_on_after_a_restart(qtbot):
    state = reopened()
    names = []
    for _ in range(2):
        names.append(trained_run(state, name=f"run {state.next_run_number} · custom").name)
    # the rotation experiment's two runs do not take numbers
    trained_run(state, name="experiment: without rotation")
    trained_run(state, name="experiment: with rotation ±10°")
    names.append(trained_run(state, name=f"run {state.next_run_number} · custom").name)
    assert names == ["run 1 · custom", "run 2 · custom", "run 3 · custom"]
    assert [r.number for r in state.runs] == [1, 2, 0, 0, 3]
    state.remove_run(state.runs[-1])  # a removed number is not given again, even after a restart
    state.close_run_store()
    back = reopened()
    assert back.next_run_number == 4
    run = back.new_run(TrainConfig(), name=f"run {back.next_run_number} · custom")
    assert run.name == "run 4 · custom" and run.run_id == 6  # ids are unique too: 5 was the removed run's
    assert len({r.run_id for r in back.runs}) == len(back.runs)


def test_the_new_run_and_the_selected_one_are_ticked_not_every_run(qtbot):
    state = reopened()
    runs = [trained_run(state) for _ in range(4)]
    assert [r.visible for r in runs] == [False, False, True, True]  # run 4 is compared with run 3
    state.select_run(runs[0])  # selecting a run shows it
    assert [r.visible for r in runs] == [True, False, True, True]
    state.set_run_visible(runs[1], True)  # the user's own tick stays
    state.set_run_visible(runs[3], False)  # and so does an untick
    fifth = trained_run(state)  # started while run 1 was selected: compared with it
    assert [r.visible for r in state.runs] == [True, True, False, False, True]
    assert fifth.visible and state.selected_run is fifth
    state.select_run(state.runs[2])  # shown for a look, then the app quits
    state.close_run_store()
    back = reopened()  # after a restart: the same ticks
    assert [r.visible for r in back.runs] == [True, True, True, False, True]


def test_a_damaged_run_is_skipped_with_one_sentence_in_the_status_bar(qtbot):
    state = reopened()
    trained_run(state)
    trained_run(state)
    state.close_run_store()
    (runs_root() / "1" / "run.json").write_text("{ not json")
    window = open_window(qtbot)
    assert [r.run_id for r in window.state.runs] == [2]
    message = window.statusBar().currentMessage()
    assert message == (f"Skipped saved run 1: it has a damaged run.json (not valid JSON) (delete {runs_root() / '1'} "
                       "to stop seeing this).")  # fmt: skip
    assert find(window, "runsList").topLevelItemCount() == 1
    label = find(window, "runsDiskLabel")
    assert label.text().endswith(" · 1 damaged run skipped")
    assert f"The saved run in {runs_root() / '1'} has a damaged run.json" in label.toolTip()


def test_a_damaged_snapshot_shows_no_model_and_says_why(qtbot):
    state = reopened()
    trained_run(state)
    state.close_run_store()
    (runs_root() / "1" / run_files.snapshot_name(2)).write_bytes(b"not a zip")
    back = AppState()
    messages = []
    back.statusMessage.connect(messages.append)
    back.open_run_store()
    assert back.model is None
    assert back.runs[0].snapshots[0] is not None  # the other epoch still loads
    assert any("could not be read" in m and run_files.snapshot_name(2) in m for m in messages)


def test_two_runs_trained_in_the_window_are_back_after_a_restart(qtbot):
    window = open_window(qtbot)
    quick_settings(window, train_limit=1000, epochs=2, hidden="32")
    for _ in range(2):
        qtbot.mouseClick(find(window, "trainButton"), Qt.MouseButton.LeftButton)
        wait_finished(qtbot, window)
    before = [(r.name, r.status, len(r.history), len(r.batch_x), r.final_accuracy) for r in window.state.runs]
    window.close()

    again = open_window(qtbot)
    after = [(r.name, r.status, len(r.history), len(r.batch_x), r.final_accuracy) for r in again.state.runs]
    assert after == before and [r[1] for r in after] == ["completed", "completed"]
    assert before[0][0].startswith("run 1 · ") and before[1][0].startswith("run 2 · ")
    runs_list = find(again, "runsList")
    assert [runs_list.topLevelItem(i).text(0) for i in range(2)] == [b[0] for b in before]
    usage = find(again, "runsDiskUsage")
    assert usage.isVisible() and "Saved runs take" in find(usage, "runsDiskLabel").text()
    assert again.state.disk_usage == run_files.folder_bytes(runs_root())
    assert str(runs_root()) in usage.toolTip() and "never thinned" in usage.toolTip()
    assert again.control_panel.train_button.isEnabled()
    qtbot.mouseClick(find(again, "trainButton"), Qt.MouseButton.LeftButton)
    assert again.state.runs[-1].name.startswith("run 3 · ")
    wait_finished(qtbot, again)


def answer(qtbot, window, text: str) -> None:
    box = window.quit_question
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert "still training" in box.text()
    button = next(b for b in box.buttons() if b.text() == text)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


class TitleBarClose(QCloseEvent):
    """The close event a window manager's close button brings (Qt marks it spontaneous; offscreen has none)."""

    def spontaneous(self) -> bool:
        return True


@pytest.mark.parametrize("trigger", ["action", "shortcut", "title bar"])
def test_quitting_while_training_asks_first_and_keeps_the_finished_epochs(qtbot, trigger):
    window = open_window(qtbot)
    quick_settings(window, train_limit=1000, epochs=200, hidden="32")  # far longer than the test
    qtbot.mouseClick(find(window, "trainButton"), Qt.MouseButton.LeftButton)
    run = window.state.runs[-1]
    qtbot.waitUntil(lambda: len(run.history) >= 1, timeout=120_000)

    def quit_now():
        if trigger == "action":
            window.findChild(QAction, "actionQuit").trigger()
        elif trigger == "title bar":
            event = TitleBarClose()
            window.closeEvent(event)
            assert not event.isAccepted()  # the window stays until the answer
        else:
            window.activateWindow()  # the answered question gives the focus back
            qtbot.waitUntil(window.isActiveWindow, timeout=5000)
            qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)

    quit_now()
    answer(qtbot, window, "Keep training")
    assert window.isVisible() and window.state.training
    seen = len(run.batch_x)
    qtbot.waitUntil(lambda: len(run.batch_x) > seen, timeout=60_000)  # it really trains on

    quit_now()
    answer(qtbot, window, "Stop and quit")
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    assert not window.controller.running or window.controller.thread_done
    assert run.status == "stopped"
    finished = len(run.history)
    assert finished >= 1

    again = open_window(qtbot)
    (back,) = again.state.runs
    assert back.status == "stopped" and len(back.history) == finished and len(back.snapshots) == finished
    assert again.state.model is not None


def test_quitting_when_nothing_trains_asks_nothing(qtbot):
    window = open_window(qtbot)
    window.findChild(QAction, "actionQuit").trigger()
    assert window.quit_question is None and not window.isVisible()


def test_the_rotation_experiments_runs_take_no_numbers(qtbot):
    from explorer.panels.augmentation import AugmentationPanel

    window = open_window(qtbot)
    quick_settings(window, train_limit=500, epochs=1, hidden="16")
    qtbot.mouseClick(find(window, "trainButton"), Qt.MouseButton.LeftButton)
    wait_finished(qtbot, window)
    experiment = window.findChild(AugmentationPanel).experiment
    experiment.limit_spin.setValue(500)
    experiment.epochs_spin.setValue(1)
    qtbot.mouseClick(experiment.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not experiment.running, timeout=240_000)
    qtbot.mouseClick(find(window, "trainButton"), Qt.MouseButton.LeftButton)
    wait_finished(qtbot, window)
    names = [run.name.split(" · ")[0] for run in window.state.runs]
    assert names == ["run 1", "experiment: without rotation", "experiment: with rotation ±10°", "run 2"]
    window.close()
    again = open_window(qtbot)  # the experiment's runs are kept like any other
    assert [run.name.split(" · ")[0] for run in again.state.runs] == names
    assert [run.status for run in again.state.runs] == ["completed"] * 4


BAD_VALUES = [None, True, -1, 0, 1e308, float("nan"), "text", [], {}, [1, "a"], {"a": [1]}]


def test_a_run_json_with_any_field_damaged_is_restored_or_skipped_never_a_crash(qtbot):
    """Every field of a real run.json (and of its history entries) replaced in turn by values of the wrong kind:
    the app starts each time, with the run back or skipped with one sentence."""
    import json

    from explorer.widgets.epoch_slider import EpochSlider
    from explorer.widgets.runs_list import RunsDiskUsage, RunsList

    state = reopened()
    trained_run(state)
    state.close_run_store()
    path = runs_root() / "1" / "run.json"
    good = json.loads(path.read_text())
    cases = [(key, None, value) for key in good for value in BAD_VALUES]
    cases += [("history", key, value) for key in good["history"][0] for value in BAD_VALUES]
    outcomes = {"restored": 0, "skipped": 0}
    for key, inner, value in cases:
        damaged = json.loads(json.dumps(good))
        if inner is None:
            damaged[key] = value
        else:
            damaged["history"][-1][inner] = value
        path.write_text(json.dumps(damaged))
        back = AppState()
        messages = []
        back.statusMessage.connect(messages.append)
        widgets = [RunsList(back), EpochSlider(back), RunsDiskUsage(back)]
        back.open_run_store()
        for widget in widgets:
            qtbot.addWidget(widget)
        if back.runs:
            outcomes["restored"] += 1
            assert widgets[0].topLevelItem(0).text(0) == str(back.runs[0].name)
        else:
            outcomes["skipped"] += 1
            assert len(messages) == 1 and messages[0].startswith("Skipped saved run 1: it ")
        back.close_run_store()
    assert outcomes["skipped"] > 50 and outcomes["restored"] > 10, outcomes


def test_the_app_s_run_statuses_are_the_ones_run_json_may_hold():
    from core import run_files
    from explorer.runs import RunStatus

    assert {s.value for s in RunStatus} == set(run_files.STATUSES)
    assert {s.value for s in RunStatus if s.unfinished} == set(run_files.UNFINISHED)
    assert RunStatus("stopped") == "stopped" and f"{RunStatus.STOPPED}" == "stopped" == str(RunStatus.STOPPED)
