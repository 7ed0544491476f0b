"""Training off the GUI thread: the core's `fit_iter()` runs in a superqt worker and reports through `AppState`.

The core yields after every batch, at full speed. Emitting a Qt signal per batch would flood the GUI thread (a
784-512-10 network does ~200 batches a second on two cores), so the worker thread aggregates batch events into
NumPy chunks and yields at most one chunk every `UPDATE_INTERVAL` seconds; every epoch end is delivered at once.
The GUI thread only appends chunks to the run's curve buffers and emits the state's signals.

Pause and resume use the superqt worker's own pause (it takes effect at the next yield, within ~50 ms). Stop is
our own flag, checked after every batch, so the generator can end cleanly and hand over the weights trained so
far: a stopped run gets a final snapshot of its partial epoch. Quitting the app sets the flag too, skips that
snapshot, and waits for the thread to end.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from functools import partial

import numpy as np
from PySide6.QtCore import QObject, Qt, QThreadPool
from superqt.utils import GeneratorWorker, create_worker

UPDATE_INTERVAL = 0.05  # seconds between GUI updates: at most 20 a second
GUI_SWITCH_INTERVAL = 0.001  # seconds; Python's default is 0.005
SPEED_WINDOW = 3.0  # seconds of recent batches the samples/s figure averages over


@dataclass
class BatchChunk:
    """The batches since the last update, as arrays (x in epochs from the start of this run)."""

    x: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray
    lr: np.ndarray
    loss_smooth: np.ndarray
    accuracy_smooth: np.ndarray
    last: object  # the newest core.training.BatchEvent
    samples_per_second: float
    seconds_left: float | None
    active_seconds: float  # training time so far, pauses excluded


@dataclass
class EpochDone:
    """An epoch ended (or a stopped run's partial epoch): its event and the model built from its weights."""

    event: object  # core.training.EpochEvent
    model: object  # core.model_io.Model
    extra: dict  # added to the history entry, e.g. {"x": 1.4, "partial": 1}
    active_seconds: float


@dataclass
class RunEnded:
    status: str  # "completed" | "stopped" | "diverged" | "error"
    message: str = ""


class _Smoother:
    """A debiased exponential moving average (as TensorBoard's): no warm-up dip towards zero at the start."""

    def __init__(self, span: float):
        self.beta = 1.0 - 2.0 / (span + 1.0)
        self.biased = 0.0
        self.weight = 0.0

    def __call__(self, value: float) -> float:
        self.biased = self.beta * self.biased + (1.0 - self.beta) * value
        self.weight = self.beta * self.weight + (1.0 - self.beta)
        return self.biased / self.weight


def smoothing_span(batches_per_epoch: int) -> float:
    """About a tenth of an epoch, between 5 and 100 batches: smooth enough to read, quick enough to follow."""
    return float(np.clip(batches_per_epoch / 10.0, 5.0, 100.0))


def _model_for(event_network, trainer, config, dataset):
    from core.model_io import Model

    return Model(
        network=event_network,
        config=config,
        dataset=dataset.name,
        classes=[str(c) for c in dataset.class_names],
        preprocessing=dict(trainer.preprocessing),
        history=[dict(h) for h in trainer.history],
    )


def _partial_epoch(trainer, last, losses, accuracies, epoch_seconds, elapsed, samples):
    """An EpochEvent for the batches of an unfinished epoch: the weights so far, evaluated on the test split."""
    from core.training import EpochEvent

    test = trainer.evaluate("test") or {"loss": None, "accuracy": None}  # None: the dataset has no test split
    values = dict(
        epoch=last.epoch,
        epochs=getattr(trainer.config, "epochs", last.epoch),
        train_loss=float(np.mean(losses)),
        train_accuracy=float(np.mean(accuracies)),
        test_loss=test["loss"],
        test_accuracy=test["accuracy"],
        epoch_seconds=float(epoch_seconds),
        elapsed=float(elapsed),
        samples_per_second=float(samples / epoch_seconds) if epoch_seconds > 0 else 0.0,
        network=trainer.network.copy(),
        lr=float(last.lr),
    )
    from dataclasses import fields

    names = {f.name for f in fields(EpochEvent)}
    return EpochEvent(**{k: v for k, v in values.items() if k in names})


def train_chunks(
    config, dataset, network, stop: threading.Event, fast_stop: threading.Event, done: threading.Event
):
    """The generator the worker thread runs: builds the trainer there (scaling 60,000 images takes a while),
    drives `fit_iter()`, and yields `BatchChunk`, `EpochDone` and finally one `RunEnded`."""
    from core.training import BatchEvent, DivergenceError, Trainer

    clock_start = time.perf_counter()
    paused_total = 0.0  # time spent inside `yield` (paused, or handing a chunk over): not training time

    def active() -> float:
        return time.perf_counter() - clock_start - paused_total

    def handover(item):
        nonlocal paused_total
        before = time.perf_counter()
        yield item
        paused_total += time.perf_counter() - before

    try:
        trainer = Trainer(config, dataset, network)  # fit_iter() applies config.threads itself
        rows: list[tuple[float, float, float, float, float, float]] = []
        epoch_losses: list[float] = []
        epoch_accuracies: list[float] = []
        smooth_loss = smooth_acc = None
        speed: deque[tuple[float, int]] = deque()
        last = None
        epoch_started = active()
        epoch_samples = epoch_start_samples = 0
        last_emit = time.perf_counter()

        def chunk() -> BatchChunk:
            arr = np.asarray(rows, dtype=np.float64).reshape(-1, 6)
            rows.clear()
            now = active()
            rate = 0.0
            if len(speed) >= 2 and speed[-1][0] > speed[0][0]:
                rate = (speed[-1][1] - speed[0][1]) / (speed[-1][0] - speed[0][0])
            left = None
            if rate > 0 and last.total_batches:
                batch_samples = last.samples_seen / max(1, (last.epoch - 1) * last.batches + last.batch)
                left = (
                    (last.total_batches - ((last.epoch - 1) * last.batches + last.batch))
                    * batch_samples
                    / rate
                )
            return BatchChunk(
                *arr.T, last=last, samples_per_second=rate, seconds_left=left, active_seconds=now
            )

        iterator = trainer.fit_iter()
        for event in iterator:
            if isinstance(event, BatchEvent):
                last = event
                if smooth_loss is None:
                    span = smoothing_span(event.batches)
                    smooth_loss, smooth_acc = _Smoother(span), _Smoother(span)
                x = event.epoch - 1 + event.batch / event.batches
                rows.append(
                    (
                        x,
                        event.loss,
                        event.accuracy,
                        event.lr,
                        smooth_loss(event.loss),
                        smooth_acc(event.accuracy),
                    )
                )
                epoch_losses.append(event.loss)
                epoch_accuracies.append(event.accuracy)
                epoch_samples = event.samples_seen
                now = active()
                speed.append((now, event.samples_seen))
                while len(speed) > 2 and speed[0][0] < now - SPEED_WINDOW:
                    speed.popleft()
                if time.perf_counter() - last_emit >= UPDATE_INTERVAL:
                    yield from handover(chunk())
                    last_emit = time.perf_counter()
            else:  # EpochEvent: every one is delivered, right away
                if rows:
                    yield from handover(chunk())
                model = _model_for(event.network, trainer, config, dataset)
                yield from handover(EpochDone(event, model, {}, active()))
                epoch_losses.clear()
                epoch_accuracies.clear()
                epoch_started = active()
                epoch_start_samples = epoch_samples
                last_emit = time.perf_counter()
            if stop.is_set():
                break
        else:
            yield RunEnded("completed")
            return
        iterator.close()  # the core's generator may hold resources (thread limits): release them now
        if rows:
            yield from handover(chunk())
        if epoch_losses and not fast_stop.is_set():
            # Stopped mid-epoch: keep the weights trained so far as one more (partial) snapshot.
            seconds = active() - epoch_started
            samples = epoch_samples - epoch_start_samples
            event = _partial_epoch(trainer, last, epoch_losses, epoch_accuracies, seconds, active(), samples)
            model = _model_for(event.network, trainer, config, dataset)
            extra = {"x": last.epoch - 1 + last.batch / last.batches, "partial": 1}
            yield EpochDone(event, model, extra, active())
        yield RunEnded("stopped")
    except DivergenceError as exc:
        yield RunEnded("diverged", str(exc))
    except Exception as exc:  # noqa: BLE001 - one sentence for the user; the app stays up
        # superqt swallows RuntimeErrors raised inside the generator, so every failure is reported as a value.
        yield RunEnded("error", _sentence(exc))
    finally:
        done.set()


def _sentence(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _lift_pause_if_stopping(worker, stop: threading.Event) -> None:
    if stop.is_set():
        worker.resume()


class _DoneFlag(threading.Event):
    """Set by the worker thread when the training generator has returned; remembers when."""

    when = 0.0

    def set(self) -> None:
        self.when = time.perf_counter()
        super().set()


class TrainingController(QObject):
    """Starts, pauses, resumes and stops training runs; turns the worker's chunks into `AppState` updates."""

    def __init__(self, state, parent: QObject | None = None):
        super().__init__(parent)
        self.state = state
        self.worker: GeneratorWorker | None = None
        self.run = None
        self._stop = threading.Event()
        self._fast_stop = threading.Event()
        self._done = _DoneFlag()
        self._done.set()
        self._switch_interval = sys.getswitchinterval()

    @property
    def running(self) -> bool:
        return self.worker is not None

    @property
    def thread_done(self) -> bool:
        """True once the training generator has returned (set in the worker thread itself)."""
        return self._done.is_set()

    @property
    def thread_done_at(self) -> float:
        """`time.perf_counter()` when the training generator returned."""
        return self._done.when

    def start(self, config, dataset, network=None, name: str | None = None, parent_run=None):
        """Start a run (a new entry in the runs list). `network` continues training from those weights."""
        if self.running:
            raise RuntimeError("a run is already training")
        state = self.state
        run = state.new_run(config, name=name)
        run.dataset = dataset.name
        if parent_run is not None:
            last = parent_run.history[-1] if parent_run.history else {}
            run.epoch_offset = parent_run.epoch_offset + float(last.get("x", last.get("epoch", 0)))
            run.parent_name = parent_run.name
        self.run = run
        self._stop, self._fast_stop, self._done = threading.Event(), threading.Event(), _DoneFlag()
        worker = create_worker(
            train_chunks,
            config,
            dataset,
            network,
            self._stop,
            self._fast_stop,
            self._done,
            _start_thread=False,
        )
        worker.yielded.connect(partial(self._on_item, run))
        worker.paused.connect(partial(self._on_paused, run, True))
        # superqt takes a pause at the worker's next yield and its resume() ignores a worker not yet paused, so a
        # Pause followed at once by Stop (or by closing the window) would leave the run paused forever. Checked in
        # the worker thread itself (a direct connection: the GUI thread may be blocked in shutdown()), a pause
        # that arrives once a stop is requested is lifted at once.
        worker.paused.connect(
            partial(_lift_pause_if_stopping, worker, self._stop), Qt.ConnectionType.DirectConnection
        )
        worker.resumed.connect(partial(self._on_paused, run, False))
        worker.finished.connect(partial(self._on_finished, run, worker))
        self.worker = worker
        # The GUI thread gets the GIL back within 1 ms instead of 5 after each Qt call it makes while the
        # trainer runs Python code: painting makes hundreds of such calls a frame.
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch_interval, GUI_SWITCH_INTERVAL))
        state.training, state.paused = True, False
        state.trainingStarted.emit(run)
        state.pausedChanged.emit(False)
        worker.start()
        return run

    def pause(self) -> None:
        if self.worker is not None and not self._stop.is_set():
            self.worker.pause()

    def resume(self) -> None:
        if self.worker is not None:
            self.worker.resume()

    def toggle_pause(self) -> None:
        if self.worker is None:
            return
        if self.worker.is_paused:
            self.resume()
        else:
            self.pause()

    def stop(self) -> None:
        """End the run after the current batch, keeping its weights (the partial epoch as a last snapshot)."""
        if self.worker is not None:
            self._stop.set()
            self.worker.resume()  # a paused worker must run on to see the flag

    def shutdown(self, timeout_ms: int = 1000) -> bool:
        """Stop without the partial snapshot and wait for the thread to end; True if it did in time."""
        worker = self.worker
        if worker is None:
            return True
        self._fast_stop.set()
        self._stop.set()
        worker.resume()
        ended = self._done.wait(timeout_ms / 1000.0)
        # The generator has returned; give the pool thread the moment it needs to emit `finished` and exit.
        pool_done = QThreadPool.globalInstance().waitForDone(max(50, timeout_ms // 4))
        return ended and pool_done

    # --- slots, on the GUI thread -----------------------------------------------------------------------------
    def _on_item(self, run, item) -> None:
        state = self.state
        if isinstance(item, BatchChunk):
            if not len(item.x):
                return
            run.batch_x.extend(item.x + run.epoch_offset)
            run.batch_loss.extend(item.loss)
            run.batch_accuracy.extend(item.accuracy)
            run.batch_lr.extend(item.lr)
            run.batch_loss_smooth.extend(item.loss_smooth)
            run.batch_accuracy_smooth.extend(item.accuracy_smooth)
            run.samples_per_second = item.samples_per_second
            run.seconds_left = item.seconds_left
            run.seconds = item.active_seconds
            state.runUpdated.emit(run)
            state.trainingProgress.emit(item.last)
        elif isinstance(item, EpochDone):
            run.seconds = item.active_seconds
            state.add_epoch(run, item.event, item.model, item.extra)
        elif isinstance(item, RunEnded):
            run.status = item.status
            run.message = item.message
            if item.status in ("diverged", "error"):
                state.trainingFailed.emit(item.message)

    def _on_paused(self, run, paused: bool) -> None:
        if run is not self.run:
            return  # a stale signal from an earlier run
        self.state.paused = paused
        if run.status in ("training", "paused"):
            run.status = "paused" if paused else "training"
        self.state.pausedChanged.emit(paused)
        self.state.runsChanged.emit()

    def _on_finished(self, run, worker) -> None:
        if worker is not self.worker:
            return
        self.worker = None
        sys.setswitchinterval(self._switch_interval)
        if run.status in ("training", "paused"):
            run.status = "stopped"
        run.seconds_left = None
        state = self.state
        state.training, state.paused = False, False
        state.pausedChanged.emit(False)
        state.trainingFinished.emit(run)
        state.runsChanged.emit()
