"""The window fits the screen it opens on, every tab stays usable down to 1280x720, and nothing jumps."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtWidgets import QWidget

from explorer.main_window import FRAME_ALLOWANCE, PREFERRED_SIZE, initial_geometry
from tests.explorer.gui_helpers import find, open_window, quick_settings, wait_finished

SMALL = QSize(1280, 720)  # a 1920x1080 laptop at 150% scaling, as Qt sees it


class Screen:
    def __init__(self, rect: QRect):
        self.rect = rect

    def availableGeometry(self) -> QRect:  # noqa: N802 - QScreen's name
        return self.rect


@pytest.mark.parametrize(
    "available",
    [QRect(0, 0, 1280, 720), QRect(0, 0, 1280, 680), QRect(1920, 0, 1366, 728), QRect(0, 0, 2560, 1440)],
)
def test_the_first_window_fits_the_available_screen(available):
    rect = initial_geometry(Screen(available))
    framed = rect.adjusted(-FRAME_ALLOWANCE.width() // 2, -FRAME_ALLOWANCE.height() + 8,
                           FRAME_ALLOWANCE.width() // 2, 8)  # fmt: skip
    assert available.contains(framed), (available, rect)
    assert rect.width() == min(PREFERRED_SIZE.width(), available.width() - FRAME_ALLOWANCE.width())
    assert rect.height() == min(PREFERRED_SIZE.height(), available.height() - FRAME_ALLOWANCE.height())


def test_every_tab_is_usable_at_1280x720(qtbot):
    window = open_window(qtbot)
    target = SMALL - FRAME_ALLOWANCE
    hint = window.minimumSizeHint()
    assert hint.width() <= target.width() and hint.height() <= target.height(), hint
    window.resize(target)
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        qtbot.wait(50)
        panel = window.tabs.widget(index)
        assert window.size() == target, window.tabs.tabText(index)
        # the tab is shown whole: no part of it is pushed out of the window
        assert window.rect().contains(QRect(panel.mapTo(window, panel.rect().topLeft()), panel.size()))
    train = find(window, "trainButton")
    assert train.isVisible() and window.rect().contains(QRect(train.mapTo(window, train.rect().topLeft()),
                                                              train.size()))  # fmt: skip


def test_the_train_button_stays_put_when_the_hint_comes_and_goes(qtbot):
    window = open_window(qtbot)
    controls = window.control_panel
    train = find(window, "trainButton", QWidget)
    controls.show_message("")
    qtbot.wait(20)
    before = train.mapTo(window, train.rect().topLeft())
    controls.show_message("keras-dense512: its source reports 97.8% test accuracy on mnist.", "note")
    qtbot.wait(20)
    assert train.mapTo(window, train.rect().topLeft()) == before
    controls.show_message("The learning rate must be a number above 0; type one such as 0.01, or pick a recipe "
                          "to start from its settings.", "error")  # fmt: skip
    qtbot.wait(20)
    assert train.mapTo(window, train.rect().topLeft()) == before


def test_every_readme_screenshot_comes_from_a_walkthrough_step():
    import re
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root / "scripts"))
    from walkthrough import README_SHOTS

    shown = set(re.findall(r"docs/screenshots/(\w+)\.png", (root / "README.md").read_text(encoding="utf-8")))
    assert shown and shown <= set(README_SHOTS.values())
    steps = (root / "scripts" / "walkthrough_steps.py").read_text(encoding="utf-8")
    for step in README_SHOTS:  # each is a step the walkthrough takes a screenshot of: literally, or as an
        tab, _, kind = step.rpartition("-")  # insight tab on the sigmoid or the ReLU run
        assert f'd.shot("{step}")' in steps or (f'"{tab}")' in steps and f'"{kind}")' in steps), step


# --- text that must fit where it stands ------------------------------------------------------------------------
FASHION_DIR = "/usr/share/datasets/fashion-mnist"


def _show_tab(qtbot, window, name: str):
    panel = find(window, name)
    window.tabs.setCurrentWidget(panel)
    qtbot.wait(50)
    return panel


def _header_fits(table, column: int) -> bool:
    """The column is at least as wide as every line of its header text."""
    header = table.horizontalHeader()
    text = table.horizontalHeaderItem(column).text()
    widest = max(header.fontMetrics().horizontalAdvance(line) for line in text.split("\n"))
    return header.sectionSize(column) >= widest


@pytest.mark.skipif(not __import__("os").path.isdir(FASHION_DIR), reason="Fashion-MNIST is not installed")
@pytest.mark.parametrize("size", [PREFERRED_SIZE, SMALL - FRAME_ALLOWANCE])
def test_the_dataset_count_wraps_rather_than_widening_the_window(qtbot, size):
    """A model of another dataset adds "(the model was trained on mnist)": the window keeps its width."""
    from core.datasets import load
    from tests.explorer.trained_models import trained

    window = open_window(qtbot)
    window.resize(size)
    _show_tab(qtbot, window, "datasetPanel")
    window.state.set_dataset(load("fashion-mnist"))
    window.state.add_loaded_run(trained("relu"), "an MNIST model")
    label = find(window, "datasetCountLabel")
    qtbot.waitUntil(lambda: "trained on mnist" in label.text(), timeout=60000)
    qtbot.wait(50)
    assert window.size() == size
    assert label.heightForWidth(label.width()) <= label.height()  # all of it shown, on as many lines as it needs
    assert window.rect().contains(QRect(label.mapTo(window, label.rect().topLeft()), label.size()))


def test_the_metrics_columns_are_whole_at_1280x720(qtbot):
    from tests.explorer.trained_models import trained

    window = open_window(qtbot)
    window.resize(SMALL - FRAME_ALLOWANCE)
    panel = _show_tab(qtbot, window, "errorsPanel")
    table = panel.metrics_table
    # empty, before any model: its headers are whole
    assert all(_header_fits(table, column) for column in range(table.columnCount()))
    assert table.viewport().width() >= table.horizontalHeader().length()
    window.state.add_loaded_run(trained("relu"), "an MNIST model")
    qtbot.waitUntil(lambda: table.rowCount() == 10, timeout=60000)
    qtbot.wait(50)
    header = table.horizontalHeader()
    assert all(_header_fits(table, column) for column in range(table.columnCount()))
    # nothing to scroll sideways: the last column ("Wrong") is not cut by the vertical scroll bar
    assert table.viewport().width() >= header.length()
    assert not table.horizontalScrollBar().isVisible()


def test_the_experiment_table_hint_and_status_fit_at_1280x720(qtbot):
    window = open_window(qtbot)
    window.resize(SMALL - FRAME_ALLOWANCE)
    experiment = _show_tab(qtbot, window, "augmentationPanel").experiment
    table = experiment.table
    assert all(_header_fits(table, column) for column in range(2))
    assert table.viewport().width() >= table.horizontalHeader().length()
    # the empty plot's hint lies inside the plot (TextItem ignores the view's scale: its size is in pixels)
    view = experiment.plot.getPlotItem().getViewBox()
    hint = experiment.empty_text.mapRectToScene(experiment.empty_text.boundingRect())
    assert view.sceneBoundingRect().contains(hint)
    # the busy line wraps in the narrow column; its two lines stay above the plot
    experiment.status_label.setText("Testing both runs on the test set rotated by up to ±10°…")
    qtbot.wait(20)
    label = experiment.status_label
    assert label.heightForWidth(label.width()) <= label.height()
    assert label.geometry().bottom() < experiment.plot.geometry().top()


def test_no_tab_widens_the_window_while_it_computes_for_a_trained_run(qtbot):
    """Every tab's jobs (back queries, maps, curves) report progress in text; none may push the window wider than
    a 1280x720 screen while they run (the back query's progress line once did, and every tab after it was cut)."""
    window = open_window(qtbot)
    target = SMALL - FRAME_ALLOWANCE
    window.resize(target)
    quick_settings(window, train_limit=1000, epochs=2)
    qtbot.mouseClick(find(window, "trainButton"), Qt.MouseButton.LeftButton)
    wait_finished(qtbot, window)
    widest = {}
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        panel = window.tabs.widget(index)
        for _ in range(30):  # three seconds of the tab computing, as a person watches it
            qtbot.wait(100)
            widest[window.tabs.tabText(index)] = max(widest.get(window.tabs.tabText(index), 0), window.width())
    assert set(widest.values()) == {target.width()}, widest
    assert panel.isVisible()
