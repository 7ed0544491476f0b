"""What the progress bar and the epoch slider say: time left that is true (and still while paused), a text that
fits the bar, and the epochs a stopped run really trained."""

from __future__ import annotations

import math

import pytest
from PySide6.QtCore import Qt

from explorer.eta import TimeLeft
from explorer.widgets.epoch_slider import epoch_number, epochs_trained
from explorer.widgets.training_status import time_left_text
from tests.explorer.gui_helpers import find, open_window, quick_settings, wait_batches, wait_finished

LONG = 20_000  # 625 batches of 32 per epoch: a run the tests stop long before it ends


@pytest.fixture
def window(qtbot):
    return open_window(qtbot)


def click(qtbot, win, name):
    qtbot.mouseClick(find(win, name), Qt.MouseButton.LeftButton)


# --- time left --------------------------------------------------------------------------------------------------
def test_time_left_counts_batches_and_epoch_ends_on_the_training_clock():
    eta = TimeLeft(n_test=10_000)
    for i in range(101):  # 100 samples a second on the training clock
        eta.batch(i * 0.1, i * 10)
    assert eta.samples_per_second == pytest.approx(100.0)
    # 50 batches of 10 at 100/s, plus two epoch ends guessed from the rate (10,000 test samples at a third)
    assert eta.seconds_left(50, 10, 2) == pytest.approx(5.0 + 2 * 10_000 / 3 / 100.0)
    eta.epoch_end()
    eta.batch(10.0 + 4.0, 1010)  # the epoch end took 4 s (the test pass), then one more batch
    assert eta.samples_per_second == pytest.approx(100.0, rel=0.05)  # the test pass is not batch time
    assert eta.seconds_left(49, 10, 1) == pytest.approx(4.9 + 4.0, rel=0.05)


def test_time_left_does_not_move_while_the_clock_stands_still():
    eta = TimeLeft()
    for i in range(30):
        eta.batch(i * 0.1, i * 32)
    before = eta.seconds_left(1382, 32, 1)
    # Paused: no batches arrive and the training clock stops, however long the pause is on the wall clock.
    assert eta.seconds_left(1382, 32, 1) == before
    eta.batch(3.0, 30 * 32)  # resumed: the clock goes on from where it stopped
    assert eta.seconds_left(1381, 32, 1) == pytest.approx(before * 1381 / 1382, rel=0.05)


def test_time_left_is_never_zero_while_batches_remain():
    assert time_left_text(0.2) == "0:01 left"
    assert time_left_text(61.2) == "1:02 left"
    assert time_left_text(None) == "– left"


def test_time_left_holds_while_paused_and_the_text_fits(window, qtbot):
    quick_settings(window, train_limit=LONG)
    state = window.state
    bar = find(window, "trainingProgress")
    click(qtbot, window, "trainButton")
    run = state.runs[-1]
    wait_batches(qtbot, run, 5)
    qtbot.waitUntil(lambda: "left" in bar.full_text and "–" not in bar.full_text, timeout=60_000)
    assert bar.text_fits(), bar.text()
    click(qtbot, window, "pauseButton")
    qtbot.waitUntil(lambda: state.paused, timeout=10_000)
    qtbot.wait(200)  # a chunk already on its way arrives
    paused_text = bar.text()
    qtbot.wait(1200)
    assert bar.text() == paused_text and paused_text.startswith("Paused")
    assert bar.full_text.endswith(" left") and bar.text_fits()
    click(qtbot, window, "stopButton")
    wait_finished(qtbot, window)


@pytest.mark.parametrize("width", [200, 260, 320, 500])
def test_progress_text_fits_any_width(window, qtbot, width):
    bar = find(window, "trainingProgress")
    bar.setFixedWidth(width)

    class Event:  # the numbers of a long run's BatchEvent
        epoch, batch, batches, total_batches = 3, 12_345, 60_000, 300_000

    window.controller.run = type("R", (), {"samples_per_second": 123_456.0, "seconds_left": 3725.0})()
    run = window.state.new_run(window.state.config)  # a run in the list, training: the bar shows its progress
    assert window.state.training
    bar._on_progress(Event())
    assert bar.full_text == "Epoch 3/5 · batch 12345/60000 · 123,456 samples/s · 1:02:05 left"
    assert bar.text_fits(), bar.text()
    assert bar.text().startswith("Epoch 3/5") or width < 260
    window.state.end_run(run, "stopped")
    window.controller.run = None


# --- epochs of a stopped run ------------------------------------------------------------------------------------
def test_epoch_numbers():
    assert epoch_number({"epoch": 2}, 2) == "2"
    assert epoch_number({"epoch": 2, "partial": 1, "x": 1.3349}, 2) == "1.33"
    assert epoch_number({"epoch": 2, "partial": 1, "x": 1.999}, 2) == "1.99"  # never more than was trained
    assert epoch_number({"epoch": 1, "partial": 1, "x": 0.5}, 1) == "0.5"


def test_a_stopped_run_states_the_epochs_it_trained(window, qtbot):
    quick_settings(window, train_limit=LONG, epochs=2)
    click(qtbot, window, "trainButton")
    run = window.state.runs[-1]
    qtbot.waitUntil(lambda: len(run.history) == 1 and len(run.batch_x) > 625 + 60, timeout=240_000)
    click(qtbot, window, "stopButton")
    wait_finished(qtbot, window)
    assert run.status == "stopped" and len(run.history) == 2 and run.history[-1]["partial"] == 1
    x = run.history[-1]["x"]
    assert 1 < x < 2
    number = f"{math.floor(x * 100) / 100:.2f}".rstrip("0").rstrip(".")
    assert epochs_trained(run) == f"{number} epochs"
    runs_list = find(window, "trainingPanel").runs_list
    status = runs_list.topLevelItem(runs_list.topLevelItemCount() - 1).text(3)
    assert status == f"stopped · {number} epochs", status
    assert not status.endswith("· 2 epochs")
    label = find(window, "epochSliderLabel").text()
    assert label.startswith(f"{number} of {number}"), label
    find(window, "epochSlider").setValue(1)
    assert find(window, "epochSliderLabel").text() == f"1 of {number}"


def _luminance(colour) -> float:
    """WCAG's relative luminance of a QColor."""
    def channel(c):
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(colour.red()) + 0.7152 * channel(colour.green()) + 0.0722 * channel(colour.blue())


def test_the_progress_text_reads_over_the_fill_and_the_rest(window, qtbot):
    """One dark text colour on a light fill: a digit on the boundary reads as well as any other (Fusion drew it
    white over the fill and dark over the rest)."""
    from collections import Counter

    bar = find(window, "trainingProgress")
    bar.setRange(0, 100)
    bar.setValue(50)
    bar.setFormat("8888888888888888888888888888888888888888888888888888888888")
    qtbot.wait(20)
    image = bar.grab().toImage()
    inner = bar.contentsRect().adjusted(3, 3, -3, -3)
    for x0, x1 in ((inner.left(), inner.center().x() - 4), (inner.center().x() + 4, inner.right())):
        pixels = [image.pixelColor(x, y) for x in range(x0, x1) for y in range(inner.top(), inner.bottom())]
        ground = Counter(p.rgb() for p in pixels).most_common(1)[0][0]
        ground_l = _luminance(image.pixelColor(0, 0).fromRgb(ground))
        text_l = min(_luminance(p) for p in pixels)  # the darkest pixel is the text's
        assert (ground_l + 0.05) / (text_l + 0.05) >= 4.5, (x0, ground_l, text_l)  # WCAG AA contrast
