"""A long run from the window: 100 epochs on 500 MNIST images, batch 50 (1,000 batches), with the plots showing.

Memory: the process's resident size (/proc/self/statm) may grow by no more than the epoch snapshots the app keeps
(one copy of the weights per epoch: the network's parameter count x 4 bytes x 100 epochs), plus a fixed allowance
for the curves and the interpreter's own slack; anything that grows per batch or keeps per-epoch caches shows up as
growth far beyond that. Responsiveness: a 10 ms QTimer on the GUI thread records the largest gap between its ticks;
the GUI thread must never be blocked for more than 200 ms.
"""

from __future__ import annotations

import gc
import os
import time

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLineEdit, QPushButton, QSpinBox, QTabWidget

EPOCHS, TRAIN_LIMIT, BATCH = 100, 500, 50
HIDDEN = 64
ALLOWANCE = 48 << 20  # bytes: curves (1,000 points x 6 series), Qt/pyqtgraph caches, malloc slack
MAX_GAP = 0.200  # seconds the GUI thread may be blocked


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class StallMeter:
    def __init__(self):
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.largest, self.ticks, self._last = 0.0, 0, None

    def _tick(self):
        now = time.perf_counter()
        if self._last is not None:
            self.largest = max(self.largest, now - self._last)
        self._last = now
        self.ticks += 1

    def start(self):
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self):
        self.timer.stop()


def settings(window, epochs: int) -> None:
    window.findChild(QLineEdit, "hiddenLayersEdit").setText(str(HIDDEN))
    window.findChild(QSpinBox, "trainLimitSpin").setValue(TRAIN_LIMIT)
    window.findChild(QSpinBox, "batchSizeSpin").setValue(BATCH)
    window.findChild(QSpinBox, "epochsSpin").setValue(epochs)


def train(qtbot, window):
    button = window.findChild(QPushButton, "trainButton")
    qtbot.waitUntil(button.isEnabled, timeout=30_000)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    run = window.state.selected_run
    qtbot.waitUntil(lambda: not window.state.training and not window.controller.running, timeout=600_000)
    return run


@pytest.mark.slow
def test_a_100_epoch_run_keeps_memory_bounded_and_the_gui_responsive(qtbot, figures):
    from explorer.app import build_window

    window = build_window()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    tabs = window.findChild(QTabWidget, "panelTabs")
    tabs.setCurrentWidget(window.findChild(type(tabs.widget(0)), "trainingPanel") or tabs.widget(0))

    settings(window, epochs=3)  # a warm-up run: lazy imports, BLAS buffers, plot items, first caches
    train(qtbot, window)
    gc.collect()
    qtbot.wait(200)
    before = rss_bytes()

    settings(window, epochs=EPOCHS)
    meter = StallMeter()
    meter.start()
    started = time.perf_counter()
    run = train(qtbot, window)
    seconds = time.perf_counter() - started
    meter.stop()
    gc.collect()
    qtbot.wait(200)
    after = rss_bytes()

    assert run.status == "completed" and len(run.history) == EPOCHS
    assert (
        len(run.batch_x) == EPOCHS * TRAIN_LIMIT // BATCH
    )  # every one of the 1,000 batches is on the curves
    net = run.model.network
    params = sum(w.size for w in net.weights) + sum(b.size for b in net.biases if b is not None)
    snapshots = params * net.weights[0].itemsize * EPOCHS
    growth = after - before
    figures(
        f"{EPOCHS} epochs x {TRAIN_LIMIT // BATCH} batches = {len(run.batch_x)} batches in {seconds:.0f} s; "
        f"final test accuracy {run.history[-1]['test_accuracy']:.1%}"
    )
    figures(
        f"memory: RSS grew {growth / 2**20:.1f} MB; the epoch snapshots kept are {params:,} parameters x 4 bytes x "
        f"{EPOCHS} = {snapshots / 2**20:.1f} MB; allowed snapshots + {ALLOWANCE >> 20} MB"
    )
    figures(
        f"GUI thread: largest gap between 10 ms timer ticks {meter.largest * 1000:.0f} ms ({meter.ticks} ticks)"
    )
    assert growth <= snapshots + ALLOWANCE, f"RSS grew {growth / 2**20:.1f} MB"
    assert meter.ticks > 10 * seconds  # the timer really ran throughout (at least 10 ticks a second)
    assert meter.largest < MAX_GAP, f"the GUI thread was blocked for {meter.largest * 1000:.0f} ms"
