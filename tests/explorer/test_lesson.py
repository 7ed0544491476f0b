"""The MLP-vs-CNN lesson (explorer/lesson.py): one click trains both recipes through the one training controller,
ticks both runs and opens the Robustness tab on shifted digits, where both runs have a curve."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from core.convnet import ConvNetwork
from core.network import Network
from explorer.lesson import LESSON_EPOCHS, lesson_configs
from tests.explorer.gui_helpers import find, open_window, quick_settings, wait_finished


def test_the_lesson_configs_are_the_two_recipes_with_the_users_data_settings():
    from core import recipes

    base = recipes.config("keras-dense512", dataset="mnist", seed=7, train_limit=3000)
    (mlp_name, mlp), (cnn_name, cnn) = lesson_configs(base)
    assert "MLP" in mlp_name and "CNN" in cnn_name
    assert mlp.hidden == recipes.config("keras-dense512").hidden
    assert cnn.hidden == recipes.config("keras-convnet").hidden and any(isinstance(h, str) for h in cnn.hidden)
    assert (mlp.seed, cnn.seed, mlp.train_limit, cnn.train_limit) == (7, 7, 3000, 3000)
    assert mlp.epochs == cnn.epochs == LESSON_EPOCHS


def test_one_click_trains_an_mlp_and_a_cnn_and_compares_them_on_shifted_digits(qtbot):
    window = open_window(qtbot)
    quick_settings(window, train_limit=600)
    before = len(window.state.runs)
    button = find(window, "lessonButton", QPushButton)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(window.state.runs) == before + 2 and not window.lesson.running, timeout=240_000)
    wait_finished(qtbot, window)
    mlp, cnn = window.state.runs[-2:]
    assert mlp.status == "completed" and cnn.status == "completed", (mlp.status, cnn.status)
    assert isinstance(mlp.snapshots[-1].network, Network)
    assert isinstance(cnn.snapshots[-1].network, ConvNetwork)
    assert len(mlp.history) == len(cnn.history) == LESSON_EPOCHS
    assert mlp.visible and cnn.visible
    panel = find(window, "robustnessPanel")
    assert window.tabs.currentWidget() is panel and panel.perturbation == "shift"
    qtbot.waitUntil(lambda: not panel.busy and len(panel.drawn_curves()) >= 2, timeout=240_000)
    names = " ".join(curve.name() for curve in panel.drawn_curves())
    assert mlp.name in names and cnn.name in names
    assert button.isEnabled()


def test_the_lesson_waits_for_a_run_already_training(qtbot):
    window = open_window(qtbot)
    quick_settings(window, train_limit=20_000, epochs=3)
    qtbot.mouseClick(find(window, "trainButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.state.training, timeout=30_000)
    runs = len(window.state.runs)
    assert window.lesson.start() == "A run is training; stop it or wait for it to end, then start the lesson."
    assert len(window.state.runs) == runs and not window.lesson.running
    window.state.request_stop()
    wait_finished(qtbot, window)
