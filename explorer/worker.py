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
from dataclasses import replace
from functools import partial

from PySide6.QtCore import QObject, Qt
from superqt.utils import GeneratorWorker, create_worker

from explorer.settings import thread_setting
from explorer.training_feed import BatchChunk, EpochDone, RunEnded, train_chunks

GUI_SWITCH_INTERVAL = 0.001  # seconds; Python's default is 0.005


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
        self._thread_ended = threading.Event()  # set in the pool thread by the worker's last signal, `finished`
        self._thread_ended.set()
        self._ended = RunEnded("stopped")  # how the run now training ended, once its feed says (see _on_finished)
        self._switch_interval = sys.getswitchinterval()
        self.claimed_by = ""  # while a sweep trains: the sentence every request to train is refused with
        state.trainRequested.connect(self._on_request)
        state.stopRequested.connect(self.stop)

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

    def _on_request(self, request) -> None:
        """Every entry point that trains asks through `AppState.request_training`: one run at a time."""
        if self.claimed_by:  # one training at a time: a sweep counts as one
            request.refusal = self.claimed_by
            self.state.show_status(request.refusal)
            return
        if self.running:
            request.refusal = f"{self.run.name} is training; stop it first, or wait for it to end."
            self.state.show_status(request.refusal)
            return
        if self.state.dataset is None:
            request.refusal = "Open a dataset first."
            self.state.show_status(request.refusal)
            return
        request.run = self.start(request.config, self.state.dataset, request.network, request.name,
                                 request.parent_run)  # fmt: skip

    def start(self, config, dataset, network=None, name: str | None = None, parent_run=None):
        """Start a run (a new entry in the runs list). `network` continues training from those weights."""
        if self.running:
            raise RuntimeError("a run is already training")
        fixed = thread_setting()  # the status bar's BLAS menu fixes the thread count for new runs
        if fixed:
            config = replace(config, threads=fixed)
        state = self.state
        run = state.new_run(config, name=name)
        run.dataset = dataset.name
        if parent_run is not None:
            last = parent_run.history[-1] if parent_run.history else {}
            run.epoch_offset = parent_run.epoch_offset + float(last.get("x", last.get("epoch", 0)))
            run.parent_name = parent_run.name
        self.run = run
        self._stop, self._fast_stop, self._done = threading.Event(), threading.Event(), _DoneFlag()
        self._thread_ended = ended = threading.Event()
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
        # Also in the worker thread itself: shutdown() waits on this event rather than polling `is_running`
        worker.finished.connect(ended.set, Qt.ConnectionType.DirectConnection)
        self.worker = worker
        # The GUI thread gets the GIL back within 1 ms instead of 5 after each Qt call it makes while the
        # trainer runs Python code: painting makes hundreds of such calls a frame.
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch_interval, GUI_SWITCH_INTERVAL))
        self._ended = RunEnded("stopped")  # until the feed says otherwise (a quit ends it without a word)
        state.begin_training(run)
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

    def request_shutdown(self) -> None:
        """Ask the run to end at once, without the partial snapshot, and return without waiting (the window
        asks first, stops the panels' jobs meanwhile, then waits in `shutdown`)."""
        if self.worker is not None:
            self._fast_stop.set()
            self._stop.set()
            self.worker.resume()

    def shutdown(self, timeout_ms: int = 1000) -> bool:
        """Stop without the partial snapshot and wait for the thread to end; True if it did in time."""
        worker = self.worker
        if worker is None:
            return True
        self.request_shutdown()
        ended = self._done.wait(timeout_ms / 1000.0)
        # The generator has returned; give its pool thread the moment it needs to emit `finished`, its last act
        # (this worker only: other jobs in the same pool are not the training thread's business).
        ended = ended and self._thread_ended.wait(max(50, timeout_ms // 4) / 1000.0)
        return ended and not worker.is_running

    # --- slots, on the GUI thread -----------------------------------------------------------------------------
    def _on_item(self, run, item) -> None:
        state = self.state
        if isinstance(item, BatchChunk):
            if len(item.x):
                state.append_batches(run, item)
        elif isinstance(item, EpochDone):
            state.add_epoch(run, item.event, item.model, seconds=item.active_seconds)
        elif isinstance(item, RunEnded):  # the run ends for the state once its thread has (_on_finished)
            self._ended = item

    def _on_paused(self, run, paused: bool) -> None:
        if run is not self.run:
            return  # a stale signal from an earlier run
        self.state.set_paused(run, paused)

    def _on_finished(self, run, worker) -> None:
        if worker is not self.worker:
            return
        self.worker = None
        sys.setswitchinterval(self._switch_interval)
        self.state.end_run(run, self._ended.status, self._ended.message)
