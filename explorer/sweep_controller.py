"""The app's sweeps: a `core.sweep_dask.SweepRunner` driven from a background thread, its results turned into
ordinary runs of the runs list as they finish ("sweep 2: lr=0.01 hidden=128"), its progress and Cancel on a
small status-bar widget.

One training at a time: a sweep does not start while a run trains, and while it trains it holds the training
controller's claim (`TrainingController.claimed_by`), so Train, Continue and the experiment are refused with one
sentence. Cancel (or closing the window) cancels every task and closes the local cluster.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import fields
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

SWEEP_NAME = re.compile(r"^sweep (\d+): ")
PROGRESS_INTERVAL = 0.5  # seconds between two progress lines (the runner reports five times a second)
BUILT_IN = ("mnist", "fashion-mnist")


def sweep_number(name: str) -> int | None:
    """The K of a run named "sweep K: ...", else None."""
    match = SWEEP_NAME.match(name or "")
    return int(match.group(1)) if match else None


def next_sweep_number(runs) -> int:
    return 1 + max([sweep_number(run.name) or 0 for run in runs] or [0])


def epoch_event(numbers: dict, network):
    """The EpochEvent of a history entry, for `AppState.add_epoch` (as the training controller gives it)."""
    from core.events import EpochEvent

    names = {f.name for f in fields(EpochEvent)} - {"network", "partial", "x", "dynamics"}
    return EpochEvent(network=network, **{k: v for k, v in numbers.items() if k in names})


def add_result_run(state, result: dict, name: str):
    """A sweep's finished run as an ordinary run: a run per result, an epoch (and its weights) per epoch."""
    from core.training import TrainConfig

    models = result.get("epoch_models") or []
    run = state.new_run(TrainConfig.from_dict(result["config"]), name=name)
    if models:
        run.dataset = models[0].dataset
    for model in models:
        numbers = model.history[-1]
        state.add_epoch(run, epoch_event(numbers, model.network), model, seconds=float(numbers.get("elapsed", 0.0)))
    state.end_run(run, result["status"] if result["status"] == "diverged" else "completed", result.get("error", ""))
    return run


class SweepController(QObject):
    """Starts and cancels the app's sweep (one at a time); its runs go into `state` as they finish."""

    progressed = Signal(str)  # "Sweep 1: 3/8 runs done, 2 training, 0:42 left"
    finished = Signal(str)  # how it ended, one sentence
    runAdded = Signal(object)  # the Run made from a finished result
    _result = Signal(object)  # from the runner's thread to the GUI thread
    _line = Signal(str)
    _ended = Signal(str)

    def __init__(self, state, training, parent: QObject | None = None):
        super().__init__(parent)
        self.state, self.training = state, training
        self.runner = None
        self.thread: threading.Thread | None = None
        self.number = 0
        self.failures: list[str] = []
        self._last_line = 0.0
        self._result.connect(self._on_result)
        self._line.connect(self.progressed.emit)
        self._ended.connect(self._on_ended)

    @property
    def running(self) -> bool:
        return self.runner is not None

    def start(self, plan, out_dir: Path | None, scheduler: str | None = None, workers: int | None = None) -> str:
        """Start `plan` in the background; "" when it started, else the sentence why not."""
        from core.sweep_dask import SweepRunner

        state = self.state
        if self.running:
            return "A sweep is already training; cancel it first, or wait for it to end."
        if self.training.running or state.training:
            return "A run is training; stop it first, or wait for it to end, then start the sweep."
        if state.dataset is None:
            return "Open a dataset first."
        dataset = state.dataset
        own = dataset.name not in BUILT_IN
        key = dataset.source if own else dataset.name
        self.number, self.failures = next_sweep_number(state.runs), []
        self.runner = SweepRunner(plan, key, out_dir, workers=workers, scheduler=scheduler, keep_epochs=True,
                                  user_dataset=dataset if own else None, on_result=self._result.emit,
                                  on_progress=self._on_progress)  # fmt: skip
        self.training.claimed_by = (
            f"Sweep {self.number} is training; cancel it (the Cancel button in the status bar) or wait for it to end."
        )
        self.thread = threading.Thread(target=self._work, args=(self.runner,), name="sweep", daemon=True)
        self.thread.start()
        where = scheduler or f"{self.runner.n_workers} local worker processes"
        self.progressed.emit(f"Sweep {self.number}: starting {len(plan)} runs on {where}…")
        return ""

    def cancel(self) -> None:
        if self.runner is not None:
            self.runner.cancel()
            self.progressed.emit(f"Sweep {self.number}: cancelling…")

    def shutdown(self, timeout: float = 15.0) -> bool:
        """Cancel and wait for the runner's thread (it closes the cluster); True when it ended in time."""
        self.cancel()
        thread = self.thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    # --- the runner's thread ---------------------------------------------------------------------------------
    def _work(self, runner) -> None:
        from core.sweep import SweepError
        from explorer.jobs import sentence

        try:
            runner.run()
        except SweepError as exc:
            self._ended.emit(sentence(exc))
            return
        except Exception as exc:  # noqa: BLE001 - whatever Dask raises is one sentence, never a dead app
            self._ended.emit(f"The sweep stopped: {sentence(exc)}")
            return
        done, total = runner.done, len(runner.plan)
        failed = f", {runner.failed} failed or diverged" if runner.failed else ""
        if runner.cancelled:
            self._ended.emit(f"Sweep cancelled: {done} of {total} runs had finished{failed}.")
        else:
            self._ended.emit(f"Sweep finished: {done} runs{failed}.")

    def _on_progress(self, runner) -> None:
        now = time.monotonic()
        if now - self._last_line < PROGRESS_INTERVAL:
            return
        self._last_line = now
        left = runner.seconds_left()
        when = f", {_fmt(left)} left" if left is not None and runner.fractions else ""
        self._line.emit(f"Sweep {self.number}: {runner.done}/{len(runner.plan)} runs done, "
                        f"{len(runner.fractions)} training{when}")  # fmt: skip

    # --- on the GUI thread -----------------------------------------------------------------------------------
    def _on_result(self, result: dict) -> None:
        if result["status"] == "failed":
            self.failures.append(f"{result['label']}: {result['error']}")
            self.state.show_status(f"Sweep {self.number}: the run {result['label']} failed: {result['error']}.")
            return
        run = add_result_run(self.state, result, f"sweep {self.number}: {result['label']}")
        self.runAdded.emit(run)

    def _on_ended(self, message: str) -> None:
        self.runner, self.thread = None, None
        self.training.claimed_by = ""
        self.state.show_status(message)
        self.finished.emit(message)


def _fmt(seconds: float) -> str:
    seconds = int(round(max(seconds, 0.0)))
    minutes, s = divmod(seconds, 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{s:02d}" if minutes >= 60 else f"{minutes}:{s:02d}"


class SweepStatus(QWidget):
    """The status bar's sweep line: progress and Cancel while a sweep trains, hidden otherwise."""

    def __init__(self, controller: SweepController, parent=None):
        super().__init__(parent)
        self.setObjectName("sweepStatus")
        self.controller = controller
        self.label = QLabel(objectName="sweepProgress")
        self.cancel_button = QPushButton("Cancel sweep", objectName="sweepCancelButton")
        self.cancel_button.setToolTip("Stop every run of the sweep; the runs already finished stay in the list")
        self.cancel_button.clicked.connect(controller.cancel)
        self.cancel_button.clicked.connect(lambda: self.cancel_button.setEnabled(False))  # once is enough
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 0, 8, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.cancel_button)
        controller.progressed.connect(self._show)
        controller.finished.connect(lambda _text: self.hide())
        self.hide()

    def _show(self, text: str) -> None:
        self.label.setText(text)
        runner = self.controller.runner
        self.cancel_button.setEnabled(runner is not None and not runner.cancelled)
        self.setVisible(self.controller.running)
