"""The status bar's BLAS button: it shows the threads a run uses now, and its menu fixes them for new runs."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from explorer.settings import thread_setting
from tests.explorer.gui_helpers import find, open_window, quick_settings, wait_finished


@pytest.fixture
def window(qtbot):
    return open_window(qtbot)


def test_the_menu_offers_automatic_and_each_count_and_remembers_the_choice(window):
    button = find(window, "blasStatus")
    actions = button.menu().actions()
    assert actions[0].data() == 0 and actions[0].isChecked() and "Automatic" in actions[0].text()
    assert [a.data() for a in actions[1:]] == list(range(1, len(actions)))
    assert "automatic" in button.text() and button.toolTip()
    actions[1].trigger()  # "1 thread"
    assert thread_setting() == 1
    assert actions[1].isChecked() and not actions[0].isChecked()
    assert "1 thread, fixed" in button.text()
    actions[0].trigger()
    assert thread_setting() == 0 and "automatic" in button.text()


def test_a_fixed_count_goes_into_the_run_and_the_status_shows_the_threads_in_use(window, qtbot):
    button = find(window, "blasStatus")
    shown: list[str] = []  # connected after the button, so it sees the text each batch update left
    window.state.trainingProgress.connect(lambda _event: shown.append(button.text()))
    button.choose(1)
    quick_settings(window, hidden="512")
    qtbot.mouseClick(find(window, "trainButton"), Qt.MouseButton.LeftButton)
    run = window.state.runs[-1]
    assert run.config.threads == 1
    wait_finished(qtbot, window)
    assert shown and all("1 of" in text and "fixed by you" in text for text in shown)
    assert "1 thread, fixed" in button.text()  # back to the setting once the run has ended

    button.choose(0)
    shown.clear()
    quick_settings(window, hidden="512")
    qtbot.mouseClick(find(window, "trainButton"), Qt.MouseButton.LeftButton)
    assert window.state.runs[-1].config.threads == 0  # automatic: the core chooses as it goes
    wait_finished(qtbot, window)
    assert shown and all("(automatic)" in text and " of " in text for text in shown)
