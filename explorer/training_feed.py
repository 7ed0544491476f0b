"""The training generator the worker thread runs (no Qt): it drives the core's `fit_iter()`, aggregates batch
events into NumPy chunks (at most one every `UPDATE_INTERVAL` seconds), hands over every epoch end at once with a
model snapshot, and ends with a `RunEnded`. Split out of explorer/worker.py, which runs it off the GUI thread."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from explorer.eta import TimeLeft

UPDATE_INTERVAL = 0.1  # seconds between GUI updates: at most 10 a second (each costs the GUI thread, and so training, ~1 ms)


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
    active_seconds: float


@dataclass
class RunEnded:
    status: str  # "completed" | "stopped" | "diverged" | "error"
    message: str = ""


class Smoother:
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


def model_for_epoch(event_network, trainer, config, dataset):
    from core.model_io import Model

    return Model(
        network=event_network,
        config=config,
        dataset=dataset.name,
        classes=[str(c) for c in dataset.class_names],
        preprocessing=dict(trainer.preprocessing),
        history=[dict(h) for h in trainer.history],
    )


def train_chunks(
    config, dataset, network, stop: threading.Event, fast_stop: threading.Event, done: threading.Event
):
    """The generator the worker thread runs: builds the trainer there (scaling 60,000 images takes a while),
    drives `fit_iter()`, and yields `BatchChunk`, `EpochDone` and finally one `RunEnded`."""
    # The thread keeps its normal priority: lowered below other programs' it crawled on a busy machine (a nice
    # +5 thread gets a quarter of a core against one busy process). The window stays responsive because the GUI
    # draws little (the curves keep within a twentieth of the GUI thread) and the BLAS threads leave it room.
    clock_start = time.perf_counter()
    yield from _train_chunks(config, dataset, network, stop, fast_stop, done, clock_start)


class _BatchRows:
    """The batches since the last hand-over, with the smoothed values the curves draw, and the clock that gives
    the speed and the time left (on the training clock)."""

    def __init__(self, n_test: int):
        self.rows: list[tuple[float, float, float, float, float, float]] = []
        self.clock = TimeLeft(n_test)
        self.last = None  # the newest BatchEvent
        self._smooth_loss = self._smooth_accuracy = None

    def add(self, event, now: float) -> None:
        self.last = event
        if self._smooth_loss is None:
            span = smoothing_span(event.batches)
            self._smooth_loss, self._smooth_accuracy = Smoother(span), Smoother(span)
        x = event.epoch - 1 + event.batch / event.batches
        self.rows.append((x, event.loss, event.accuracy, event.lr, self._smooth_loss(event.loss),
                          self._smooth_accuracy(event.accuracy)))  # fmt: skip
        self.clock.batch(now, event.samples_seen)

    def chunk(self, now: float) -> BatchChunk:
        arr = np.asarray(self.rows, dtype=np.float64).reshape(-1, 6)
        self.rows.clear()
        last = self.last
        done_batches = (last.epoch - 1) * last.batches + last.batch
        epochs = -(-last.total_batches // max(1, last.batches))
        left = self.clock.seconds_left(last.total_batches - done_batches, last.samples_seen / max(1, done_batches),
                                       epochs - done_batches // max(1, last.batches))  # fmt: skip
        return BatchChunk(*arr.T, last=last, samples_per_second=self.clock.samples_per_second, seconds_left=left,
                          active_seconds=now)  # fmt: skip


def _train_chunks(config, dataset, network, stop, fast_stop, done, clock_start):
    from core.threads import GUI_RESERVE
    from core.training import BatchEvent, DivergenceError, Trainer

    paused_total = 0.0  # time spent inside `yield` (paused, or handing a chunk over): not training time

    def active() -> float:
        return time.perf_counter() - clock_start - paused_total

    def handover(item):
        nonlocal paused_total
        before = time.perf_counter()
        yield item
        paused_total += time.perf_counter() - before

    try:
        # fit_iter() sets the BLAS threads (config.threads, or the free cores less the GUI thread's share)
        trainer = Trainer(config, dataset, network, reserve_cores=GUI_RESERVE)
        batches = _BatchRows(getattr(dataset, "n_test", 0))
        finished = None
        last_emit = 0.0  # the first batch is handed over at once: the window shows the run moving as soon as it does
        iterator = trainer.fit_iter()
        for event in iterator:
            if isinstance(event, BatchEvent):
                batches.add(event, active())
                if time.perf_counter() - last_emit >= UPDATE_INTERVAL:
                    yield from handover(batches.chunk(active()))
                    last_emit = time.perf_counter()
            else:  # EpochEvent, delivered right away; a stopped run's last one is its partial epoch
                batches.clock.epoch_end()
                if batches.rows:
                    yield from handover(batches.chunk(active()))
                model = model_for_epoch(event.network, trainer, config, dataset)
                yield from handover(EpochDone(event, model, active()))
                finished, last_emit = event, time.perf_counter()
            if stop.is_set():
                if fast_stop.is_set():  # quitting: no partial epoch, end now
                    break
                trainer.stop()  # the core ends after this batch and hands over the partial epoch
        iterator.close()  # the core's generator may hold resources (thread limits): release them now
        if batches.rows:
            yield from handover(batches.chunk(active()))
        whole = finished is not None and not finished.partial and finished.epoch == finished.epochs
        yield RunEnded("completed" if whole else "stopped")
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
