"""The GUI thread stays responsive while training with an insight tab open: the panels' heavy work (templates, the
unit gallery, back queries, whole-split predictions) runs in workers, and only while their tab is visible."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QWidget

from tests.explorer.gui_helpers import StallMeter, find, open_window, quick_settings, wait_finished


@pytest.fixture
def window(qtbot):
    return open_window(qtbot)


# The training tab is measured by test_training and tests/robustness/test_long_run.py.
@pytest.mark.parametrize("panel_name", ["weightsPanel", "backQueryPanel", "errorsPanel", "datasetPanel"])
def test_training_with_an_insight_tab_visible_does_not_block_the_gui(window, qtbot, panel_name):
    panel = find(window, panel_name, QWidget)
    window.tabs.setCurrentWidget(panel)
    qtbot.waitUntil(panel.isVisible)
    window.control_panel.select_recipe("keras-dense512")
    quick_settings(window, train_limit=2000, epochs=2, batch_size=128)
    stalls = StallMeter()
    stalls.start()
    find(window, "trainButton").click()
    wait_finished(qtbot, window)
    # let the panel's last epoch-end job come back and be drawn while the meter still runs
    qtbot.waitUntil(lambda: not getattr(panel, "busy", False), timeout=60_000)
    qtbot.wait(300)
    stalls.stop()
    run = window.state.runs[-1]
    assert run.status == "completed" and len(run.history) == 2
    assert stalls.ticks > 10
    assert stalls.largest < 0.2, f"the GUI thread was blocked for {stalls.largest * 1000:.0f} ms"
