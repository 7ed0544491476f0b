"""Shared pieces of the main-window tests: a window fixture, quick settings, a GUI-stall meter, waiting helpers."""

from __future__ import annotations

import gc
import time

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget

RUN_TIMEOUT_MS = (
    240_000  # generous: the test machine may be shared; the assertions are about results, not speed
)


def open_window(qtbot):
    """The app's main window as `mnist-explorer` opens it, shown offscreen; closed at the test's end."""
    from explorer.app import build_window

    win = build_window()
    qtbot.addWidget(win)  # closed (closeEvent: the worker stops) at teardown
    win.show()
    qtbot.waitExposed(win)
    return win


def find(win, name: str, kind=QWidget):
    widget = win.findChild(kind, name)
    assert widget is not None, f"no {kind.__name__} named {name!r}"
    return widget


def quick_settings(win, train_limit=2000, epochs=1, batch_size=32, **fields) -> None:
    """A run of seconds: the first `train_limit` images; batch 32 so one epoch still makes ~60 updates."""
    find(win, "trainLimitSpin").setValue(train_limit)
    find(win, "epochsSpin").setValue(epochs)
    find(win, "batchSizeSpin").setValue(batch_size)
    if "hidden" in fields:
        find(win, "hiddenLayersEdit").setText(fields["hidden"])
    if "lr" in fields:
        find(win, "learningRateSpin").setValue(fields["lr"])
    if "optimizer" in fields:
        combo = find(win, "optimizerCombo")
        combo.setCurrentIndex(combo.findData(fields["optimizer"]))


def wait_finished(qtbot, win, timeout=RUN_TIMEOUT_MS) -> None:
    qtbot.waitUntil(lambda: not win.state.training and not win.controller.running, timeout=timeout)


def wait_batches(qtbot, run, at_least: int, timeout=RUN_TIMEOUT_MS) -> None:
    qtbot.waitUntil(lambda: len(run.batch_x) >= at_least, timeout=timeout)


class StallMeter:
    """A 10 ms QTimer on the GUI thread; the largest gap between its ticks is the longest the GUI was blocked."""

    def __init__(self):
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.largest = 0.0
        self.ticks = 0
        self._last = None

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.largest = max(self.largest, now - self._last)
        self._last = now
        self.ticks += 1

    def start(self) -> None:
        # Collect the earlier tests' garbage (whole windows of Qt and pyqtgraph objects) now: a full collection
        # landing mid-measurement is the test session's pause, not the app's.
        # Then freeze what survives, so a collection during the measurement scans only the objects made since.
        # Likewise destroy the closed windows of earlier tests that still wait for their deferred deletion: the
        # event loop would otherwise delete them (hundreds of widgets and plot items) during the measurement.
        from PySide6.QtCore import QCoreApplication, QEvent

        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        gc.collect()
        gc.freeze()
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        gc.unfreeze()


def plot_data(plot) -> list[tuple[np.ndarray, np.ndarray]]:
    """(x, y) of every curve in a pyqtgraph PlotWidget that holds data."""
    out = []
    for item in plot.getPlotItem().listDataItems():
        x, y = item.getOriginalDataset()
        if x is not None and len(x):
            out.append((np.asarray(x), np.asarray(y)))
    return out
