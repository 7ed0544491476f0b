"""The main window without long training: what it holds when it opens, the control panel's rules (recipes,
validation, following the state), menus, and settings that survive a restart."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QComboBox, QLineEdit, QProgressBar, QPushButton, QSplitter

from core import recipes
from explorer.panels import panel_classes
from explorer.panels.controls import DEFAULT_RECIPE
from tests.explorer.gui_helpers import find, open_window


@pytest.fixture
def window(qtbot):
    return open_window(qtbot)


CONTROLS = ["datasetCombo", "recipeCombo", "hiddenLayersEdit", "activationCombo", "optimizerCombo",
            "learningRateSpin", "batchSizeSpin", "epochsSpin", "trainLimitSpin", "rotationSpin", "seedSpin"]  # fmt: skip
DESIGN_PANELS = {"trainingPanel", "datasetPanel", "augmentationPanel", "backQueryPanel", "weightsPanel",
                 "errorsPanel", "drawPanel", "dataMapPanel", "robustnessPanel", "projectionPanel"}  # fmt: skip
MENU_ACTIONS = [
    "actionOpenDataset",
    "actionSaveModel",
    "actionLoadModel",
    "actionExportFigures",
    "actionExportReport",
]


def test_opens_ready_with_mnist_and_the_default_recipe(window):
    assert window.objectName() == "mainWindow"
    dataset = window.state.dataset
    assert dataset.name == "mnist" and dataset.n_train == 60_000 and dataset.n_test == 10_000
    recipe = find(window, "recipeCombo", QComboBox)
    assert recipe.currentData() == DEFAULT_RECIPE and recipe.currentText() == DEFAULT_RECIPE
    assert window.state.config == recipes.config(DEFAULT_RECIPE)
    assert window.state.config_error == ""
    assert find(window, "trainButton", QPushButton).isEnabled()
    assert not find(window, "pauseButton", QPushButton).isEnabled()
    assert not find(window, "stopButton", QPushButton).isEnabled()
    assert "60,000" in find(window, "datasetStatus").text()
    assert "BLAS" in find(window, "blasStatus").text()


def test_every_designed_object_name_exists(window):
    for name in [*CONTROLS, "trainButton", "pauseButton", "stopButton", "trainingProgress", "lossPlot",
                 "accuracyPlot", "trainingPanel", "mainToolBar"]:  # fmt: skip
        find(window, name)
    assert isinstance(find(window, "trainingProgress"), QProgressBar)
    for name in MENU_ACTIONS:
        assert window.findChild(QAction, name) is not None, name
    panels = panel_classes()
    assert [p.__name__ for p in panels] == [
        "TrainingPanel",
        "DatasetPanel",
        "AugmentationPanel",
        "BackQueryPanel",
        "WeightsPanel",
        "ErrorsPanel",
        "ProjectionPanel",
        "DataMapPanel",
        "RobustnessPanel",
        "DrawPanel",
    ]
    for panel_class in panels:
        panel = window.findChild(panel_class)
        assert panel is not None, f"{panel_class.__name__} is not in the window"
        assert panel.objectName() in DESIGN_PANELS
    assert window.tabs.count() == len(panels)


def test_every_control_has_a_tooltip(window):
    for name in [*CONTROLS, "trainButton", "pauseButton", "stopButton", "trainingProgress", "lossPlot",
                 "accuracyPlot", "runsList", "continueCheck"]:  # fmt: skip
        assert len(find(window, name).toolTip()) > 20, name


def test_choosing_a_recipe_fills_the_controls_and_a_change_marks_it_modified(window, qtbot):
    recipe = find(window, "recipeCombo", QComboBox)
    window.control_panel.select_recipe("rashid")
    assert find(window, "hiddenLayersEdit", QLineEdit).text() == "200"
    assert find(window, "activationCombo").currentData() == "sigmoid"
    assert find(window, "optimizerCombo").currentData() == "sgd"
    assert find(window, "learningRateSpin").value() == pytest.approx(0.1)
    assert find(window, "batchSizeSpin").value() == 1
    assert recipe.currentText() == "rashid"
    assert window.state.config.loss == "mse" and window.state.config.use_bias is False  # kept from the recipe
    find(window, "epochsSpin").setValue(2)
    assert recipe.currentText() == "rashid (modified)"
    assert window.state.config.epochs == 2 and window.state.config.init == "rashid"
    find(window, "epochsSpin").setValue(5)  # back to the recipe's value: no longer modified
    assert recipe.currentText() == "rashid"


def test_invalid_input_is_marked_and_disables_train(window, qtbot):
    train = find(window, "trainButton", QPushButton)
    message = find(window, "configMessage")
    hidden = find(window, "hiddenLayersEdit", QLineEdit)
    hidden.setText("12,abc")
    assert not train.isEnabled()
    assert not window.findChild(QAction, "actionTrain").isEnabled()
    assert "'abc' is not a whole number" in message.text() and message.isVisible()
    assert hidden.property("invalid") is True
    assert "abc" in window.state.config_error
    hidden.setText("64")
    assert train.isEnabled() and window.state.config.hidden == (64,)
    assert hidden.property("invalid") is False

    lr = find(window, "learningRateSpin")
    lr.setValue(0.0)
    assert not train.isEnabled()
    assert "Learning rate" in message.text() and lr.property("invalid") is True
    lr.setValue(0.01)
    assert train.isEnabled() and window.state.config.lr == pytest.approx(0.01)


def test_controls_follow_a_configuration_set_elsewhere_without_echo(window):
    seen = []
    window.state.configChanged.connect(seen.append)
    loaded = recipes.config("two-hidden-sgd", epochs=3, seed=7)
    window.state.set_config(loaded)
    assert seen == [loaded]  # the panel did not publish a copy back
    assert window.state.config is loaded
    assert find(window, "hiddenLayersEdit").text() == "128,64"
    assert find(window, "epochsSpin").value() == 3 and find(window, "seedSpin").value() == 7
    assert find(window, "recipeCombo").currentText() == "two-hidden-sgd (modified)"
    find(window, "epochsSpin").setValue(10)
    assert find(window, "recipeCombo").currentText() == "two-hidden-sgd"
    assert window.state.config.init == "he" and window.state.config.epochs == 10


def test_rotation_turns_augmentation_on_and_off(window):
    find(window, "rotationSpin").setValue(10)
    assert window.state.config.augment == "random" and window.state.config.rotate == 10
    find(window, "rotationSpin").setValue(0)
    assert window.state.config.augment == "off" and window.state.config.rotate == 0
    assert window.state.config_error == ""


def test_fashion_mnist_entry_matches_its_availability(window):
    from core.datasets import known_datasets

    combo = find(window, "datasetCombo", QComboBox)
    fashion = {d["name"]: d for d in known_datasets()}["fashion-mnist"]
    index = combo.findData("fashion-mnist")
    assert index >= 0
    assert combo.model().item(index).isEnabled() == fashion["available"]
    if not fashion["available"]:
        assert "apt" in combo.itemData(index, Qt.ItemDataRole.ToolTipRole)


def test_switching_dataset_loads_it_in_a_worker(window, qtbot):
    from core.datasets import known_datasets

    if not {d["name"]: d for d in known_datasets()}["fashion-mnist"]["available"]:
        pytest.skip("Fashion-MNIST is not installed (apt install dataset-fashion-mnist)")
    combo = find(window, "datasetCombo", QComboBox)
    with qtbot.waitSignal(window.state.datasetChanged, timeout=60_000):
        combo.setCurrentIndex(combo.findData("fashion-mnist"))
    assert window.state.dataset.name == "fashion-mnist"
    assert window.state.config.dataset == "fashion-mnist"
    assert "fashion-mnist" in find(window, "datasetStatus").text()


def test_a_broken_dataset_file_is_one_sentence_and_keeps_the_loaded_one(window, qtbot, tmp_path):
    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"this is not a zip file")
    window.datasets.open_path(str(bad))
    message = find(window, "configMessage")
    qtbot.waitUntil(lambda: not window.control_panel._loading_key, timeout=30_000)
    assert "broken.npz" in message.text()
    assert window.state.dataset.name == "mnist"  # nothing the user had is lost
    assert find(window, "datasetCombo").currentData() == "mnist"
    assert find(window, "datasetCombo").findData(str(bad)) == -1  # the failed entry is not kept
    assert "\n" not in message.text() and "Traceback" not in message.text()
    assert find(window, "trainButton").isEnabled()


def test_model_and_export_actions_call_explorer_actions(window, monkeypatch):
    from explorer import actions
    from explorer.main_window import DELEGATED

    calls = []
    for name, (_text, _keys, function) in DELEGATED.items():
        monkeypatch.setattr(actions, function, lambda win, f=function: calls.append((f, win)))
        window.findChild(QAction, name).trigger()
    assert calls == [(function, window) for _text, _keys, function in DELEGATED.values()]


def test_settings_survive_a_restart(window, qtbot):
    from explorer.app import build_window

    find(window, "epochsSpin").setValue(7)
    find(window, "hiddenLayersEdit").setText("256,128")
    find(window, "seedSpin").setValue(42)
    splitter = window.findChild(QSplitter, "trainingSplitter")
    splitter.setSizes([400, 300])
    sizes = splitter.sizes()
    window.close()

    again = build_window()
    qtbot.addWidget(again)
    again.show()
    qtbot.waitExposed(again)
    assert find(again, "epochsSpin").value() == 7
    assert find(again, "hiddenLayersEdit").text() == "256,128"
    assert find(again, "seedSpin").value() == 42
    assert find(again, "recipeCombo").currentText() == f"{DEFAULT_RECIPE} (modified)"
    assert again.state.config.hidden == (256, 128) and again.state.config_error == ""
    restored = again.findChild(QSplitter, "trainingSplitter").sizes()
    assert restored[0] / sum(restored) == pytest.approx(sizes[0] / sum(sizes), abs=0.02)  # the same split


def test_an_opened_npz_dataset_becomes_the_current_one(window, qtbot, tmp_path):
    mnist = window.state.dataset
    path = tmp_path / "small.npz"
    np.savez(path, x_train=mnist.train_images[:300], y_train=mnist.train_labels[:300],
             x_test=mnist.test_images[:100], y_test=mnist.test_labels[:100])  # fmt: skip
    with qtbot.waitSignal(window.state.datasetChanged, timeout=30_000):
        window.datasets.open_path(str(path))
    dataset = window.state.dataset
    assert (dataset.n_train, dataset.n_test) == (300, 100)
    np.testing.assert_array_equal(dataset.train_images, mnist.train_images[:300])
    combo = find(window, "datasetCombo", QComboBox)
    assert combo.currentData() == str(path) and combo.currentText() == "small.npz"
    assert window.state.config.dataset == str(path)
    assert "300 train" in find(window, "datasetStatus").text()


def test_a_missing_fashion_mnist_is_greyed_with_how_to_get_it(qtbot, monkeypatch):
    import core.datasets

    real = core.datasets.known_datasets

    def without_fashion():
        entries = real()
        for entry in entries:
            if entry["name"] == "fashion-mnist":
                entry.update(available=False, path=None, how_to_get="Install it with `sudo apt install x`.")
        return entries

    monkeypatch.setattr(core.datasets, "known_datasets", without_fashion)
    win = open_window(qtbot)
    combo = find(win, "datasetCombo", QComboBox)
    index = combo.findData("fashion-mnist")
    assert not combo.model().item(index).isEnabled()
    assert "not installed" in combo.itemText(index)
    tip = combo.itemData(index, Qt.ItemDataRole.ToolTipRole)
    assert "apt install" in tip and "Download Fashion-MNIST" in tip


def test_importing_the_panels_package_imports_no_panel():
    """`python -m explorer.panels.x` must not find x already imported (runpy's RuntimeWarning): the package
    imports its panels only when `panel_classes()` is called."""
    import subprocess
    import sys

    code = (
        "import sys, explorer.panels as p\n"
        "assert not [m for m in sys.modules if m.startswith('explorer.panels.')], sorted(sys.modules)\n"
        "print(len(p.panel_classes()))\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "10"


def test_quitting_while_panels_compute_prints_nothing(tmp_path):
    """Closing the window mid-run while every insight panel has a job in flight stops them all first: no
    "Signal source has been deleted", no warning about the training thread."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "MNIST_EXPLORER_CONFIG_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "tests.explorer.quit_during_jobs"], capture_output=True,
                            text=True, timeout=240, env=env, cwd=Path(__file__).resolve().parents[2])  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "quit cleanly"
    noise = [line for line in result.stderr.splitlines() if "propagateSizeHints" not in line]
    assert noise == []


def test_every_tab_says_what_it_shows_in_its_first_line(window):
    from explorer.widgets.tab_caption import TabCaption

    for index in range(window.tabs.count()):
        panel = window.tabs.widget(index)
        captions = panel.findChildren(TabCaption)
        assert captions and captions[0].text(), window.tabs.tabText(index)
        assert captions[0].text().startswith(window.tabs.tabText(index).replace("&", "").split()[0])
    augmentation = find(window, "augmentationCaption")
    assert "as they are" in augmentation.text()
    find(window, "rotationSpin").setValue(15)  # the control panel's Rotation: random angles within ±15°
    assert "±15°" in augmentation.text()
