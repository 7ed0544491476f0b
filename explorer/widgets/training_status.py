"""The progress bar of the running training: "Epoch 2/5 · batch 120/469 · 48,000 samples/s · 0:12 left".

It follows the state's throttled `trainingProgress` (BatchEvents), and says how the last run ended afterwards.
The text always fits on one line: where the bar is too narrow for the whole of it, the least needed parts go
first (the speed, then the batch), and the tooltip keeps the whole text. While paused, the time left stays
where it was (the estimate is made on the training clock, which stops while paused).
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QProgressBar

from explorer.widgets.config_fields import format_duration

TEXT_MARGIN = 16  # pixels the style keeps free around the text inside the bar
# One text colour readable over the whole bar. Fusion writes the text white over the filled part and dark over
# the rest, so a digit on the boundary was half white on light grey; dark text on a light fill reads everywhere.
READABLE_STYLE = (
    "QProgressBar { border: 1px solid #7a8ea6; border-radius: 3px; background: #f2f2f2; color: #111111;"
    " text-align: center; }"
    " QProgressBar::chunk { background: #9fc8f0; border-radius: 2px; }"
)


def make_readable(bar: QProgressBar) -> None:
    """Give `bar` the style whose text reads the same over its filled and its empty part."""
    bar.setStyleSheet(READABLE_STYLE)


def time_left_text(seconds_left: float | None) -> str:
    """Rounded up: "0:00 left" would be a lie while batches remain."""
    if seconds_left is None or not math.isfinite(seconds_left):
        return "– left"
    return f"{format_duration(max(1, math.ceil(seconds_left)))} left"


def progress_parts(event, samples_per_second: float, seconds_left: float | None) -> list[str]:
    return [
        f"Epoch {event.epoch}/{_epochs(event)}",
        f"batch {event.batch}/{event.batches}",
        f"{samples_per_second:,.0f} samples/s",
        time_left_text(seconds_left),
    ]


def progress_text(event, samples_per_second: float, seconds_left: float | None) -> str:
    return " · ".join(progress_parts(event, samples_per_second, seconds_left))


def _epochs(event) -> int:
    return max(1, round(event.total_batches / event.batches)) if event.batches else 1


def shortened(parts: list[str], keep: list[list[int]]) -> list[str]:
    """The candidate texts, longest first: all parts, then each subset of part indices in `keep`."""
    return [" · ".join(parts)] + [" · ".join(parts[i] for i in subset) for subset in keep]


class TrainingStatus(QProgressBar):
    def __init__(self, state, controller, parent=None):
        super().__init__(parent)
        self.setObjectName("trainingProgress")
        self.state = state
        self.controller = controller
        self.setRange(0, 1)
        self.setValue(0)
        self.setTextVisible(True)
        make_readable(self)
        self.setMinimumWidth(200)
        self.full_text = ""  # the whole text, whether or not the bar shows all of it
        self._candidates: list[str] = []
        self._set_texts(["Ready: press Train (Ctrl+T)", "Ready"])
        state.trainingStarted.connect(self._on_started)
        state.trainingProgress.connect(self._on_progress)
        state.pausedChanged.connect(self._on_paused)
        state.trainingFinished.connect(self._on_finished)
        self._paused = False
        self._parts: list[str] = []

    # --- fitting the text --------------------------------------------------------------------------------------
    def _set_texts(self, candidates: list[str]) -> None:
        """Show the longest candidate that fits the bar on one line; the tooltip holds the whole text."""
        self._candidates = candidates
        self.full_text = candidates[0]
        self.setToolTip(
            f"{self.full_text}\nProgress of the current run: epoch, batch, training speed and the estimated time "
            "left (from the recent speed; time paused does not count)."
        )
        self._fit()

    def _fit(self) -> None:
        room = self.contentsRect().width() - TEXT_MARGIN
        metrics = self.fontMetrics()
        for text in self._candidates:
            if metrics.horizontalAdvance(text) <= room:
                break
        else:
            text = metrics.elidedText(self._candidates[-1], Qt.TextElideMode.ElideRight, max(0, room))
        if text != self.format():
            self.setFormat(text)

    def text_fits(self) -> bool:
        """True when the shown text fits the bar on one line (for tests)."""
        shown = self.text()
        return self.fontMetrics().horizontalAdvance(shown) <= self.contentsRect().width() - TEXT_MARGIN

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    # --- training events ---------------------------------------------------------------------------------------
    def _on_started(self, run) -> None:
        self._paused = False
        self._parts = []
        self.setRange(0, 0)  # busy until the first batch: the trainer scales the images first
        self._set_texts([f"{run.name.split(' · ')[0]}: preparing…", "preparing…"])

    def _on_progress(self, event) -> None:
        run = self.controller.run
        done = (event.epoch - 1) * event.batches + event.batch
        # QProgressBar repaints synchronously inside setValue; with updates off it only schedules one paint.
        self.setUpdatesEnabled(False)
        if self.maximum() != event.total_batches:
            self.setRange(0, max(1, event.total_batches))
        self.setValue(done)
        parts = progress_parts(
            event, getattr(run, "samples_per_second", 0.0), getattr(run, "seconds_left", None)
        )
        if self._paused and self._parts:
            parts[3] = self._parts[3]  # a chunk still on its way when the pause began: the clock has stopped
        self._parts = parts
        self._show_progress()
        self.setUpdatesEnabled(True)

    def _show_progress(self) -> None:
        parts = (["Paused"] if self._paused else []) + self._parts
        first = 1 if self._paused else 0
        epoch, batch, speed, left = (first + i for i in range(4))
        keep = [[*range(first), epoch, batch, left], [*range(first), epoch, left], [*range(first), left]]
        self._set_texts(shortened(parts, keep))

    def _on_paused(self, paused: bool) -> None:
        self._paused = paused
        if self.state.training:
            if self._parts:
                self._show_progress()
            else:
                self._set_texts(["Paused · preparing…" if paused else "preparing…"])

    def _on_finished(self, run) -> None:
        if self.maximum() == 0:
            self.setRange(0, 1)
        accuracy = run.final_accuracy
        result = f"test {accuracy:.2%}" if accuracy is not None else ""
        words = {"completed": "done", "stopped": "stopped", "diverged": "diverged", "error": "failed"}
        short = run.name.split(" · ")[0]  # the bar is narrow; the runs list has the full name
        head = f"{short} {words.get(run.status, run.status)}"
        parts = [head] + ([result] if result else []) + [format_duration(run.seconds)]
        self._set_texts(shortened(parts, [[0, 1]] if result else [[0]]) + [head])
        self.setToolTip(f"{run.name}: {run.status}{' · ' + result if result else ''}. {run.message}".strip())
        if run.status == "completed":
            self.setValue(self.maximum())
