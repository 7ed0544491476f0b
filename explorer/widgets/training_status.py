"""The progress bar of the running training: "Epoch 2/5 · batch 120/469 · 48,000 samples/s · 0:12 left".

It follows the state's throttled `trainingProgress` (BatchEvents), and says how the last run ended afterwards.
"""

from __future__ import annotations

from PySide6.QtWidgets import QProgressBar

from explorer.widgets.config_fields import format_duration


def progress_text(event, samples_per_second: float, seconds_left: float | None) -> str:
    return (
        f"Epoch {event.epoch}/{_epochs(event)} · batch {event.batch}/{event.batches} · "
        f"{samples_per_second:,.0f} samples/s · {format_duration(seconds_left)} left"
    )


def _epochs(event) -> int:
    return max(1, round(event.total_batches / event.batches)) if event.batches else 1


class TrainingStatus(QProgressBar):
    def __init__(self, state, controller, parent=None):
        super().__init__(parent)
        self.setObjectName("trainingProgress")
        self.state = state
        self.controller = controller
        self.setToolTip(
            "Progress of the current run: epoch, batch, training speed and the estimated time left."
        )
        self.setRange(0, 1)
        self.setValue(0)
        self.setTextVisible(True)
        self.setFormat("Ready: press Train (Ctrl+T)")
        self.setMinimumWidth(260)
        state.trainingStarted.connect(self._on_started)
        state.trainingProgress.connect(self._on_progress)
        state.pausedChanged.connect(self._on_paused)
        state.trainingFinished.connect(self._on_finished)
        self._paused = False
        self._last_text = ""

    def _on_started(self, run) -> None:
        self._paused = False
        self.setRange(0, 0)  # busy until the first batch: the trainer scales the images first
        self.setFormat(f"{run.name.split(' · ')[0]}: preparing…")

    def _on_progress(self, event) -> None:
        run = self.controller.run
        done = (event.epoch - 1) * event.batches + event.batch
        # QProgressBar repaints synchronously inside setValue; with updates off it only schedules one paint.
        self.setUpdatesEnabled(False)
        if self.maximum() != event.total_batches:
            self.setRange(0, max(1, event.total_batches))
        self.setValue(done)
        self._last_text = progress_text(
            event, getattr(run, "samples_per_second", 0.0), getattr(run, "seconds_left", None)
        )
        self.setFormat(("Paused · " if self._paused else "") + self._last_text)
        self.setUpdatesEnabled(True)

    def _on_paused(self, paused: bool) -> None:
        self._paused = paused
        if self.state.training:
            self.setFormat(("Paused · " if paused else "") + (self._last_text or "preparing…"))

    def _on_finished(self, run) -> None:
        if self.maximum() == 0:
            self.setRange(0, 1)
        accuracy = run.final_accuracy
        result = f" · test {accuracy:.2%}" if accuracy is not None else ""
        words = {"completed": "done", "stopped": "stopped", "diverged": "diverged", "error": "failed"}
        short = run.name.split(" · ")[0]  # the bar is narrow; the runs list has the full name
        self.setFormat(
            f"{short} {words.get(run.status, run.status)}{result} · {format_duration(run.seconds)}"
        )
        self.setToolTip(f"{run.name}: {run.status}{result}. {run.message}".strip())
        if run.status == "completed":
            self.setValue(self.maximum())
