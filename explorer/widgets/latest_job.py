"""Run slow computations off the GUI thread and keep only the newest answer.

A panel that redraws on every epoch (or every slider move) asks for a new result before the last one is ready;
`LatestJob.submit` numbers each request, runs it in a superqt worker, and delivers a result only if no newer
request was made meanwhile, so a stale picture never overwrites a fresh one.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from superqt.utils import create_worker


class LatestJob(QObject):
    """`submit(func, *args)`; `done(object)` carries func's result, `failed(str)` one sentence if it raised."""

    done = Signal(object)
    failed = Signal(str)
    busyChanged = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._token = 0
        self._workers: set = set()
        self._busy = False

    @property
    def busy(self) -> bool:
        return self._busy

    def cancel(self) -> None:
        """Forget any request in flight: its result will be dropped."""
        self._token += 1
        self._set_busy(False)

    def submit(self, func, *args, **kwargs) -> None:
        self._token += 1
        token = self._token

        def run():
            try:
                return token, func(*args, **kwargs), None
            except Exception as exc:  # reported to the GUI as a sentence, never raised in the pool thread
                return token, None, exc

        worker = create_worker(run, _start_thread=False)
        worker.returned.connect(self._on_returned)
        worker.finished.connect(lambda w=worker: self._workers.discard(w))
        self._workers.add(worker)  # keep it alive until it ends
        self._set_busy(True)
        worker.start()

    def _on_returned(self, payload) -> None:
        token, result, error = payload
        if token != self._token:
            return  # a newer request is in flight or done: this answer is stale
        self._set_busy(False)
        if error is not None:
            text = str(error) or type(error).__name__
            self.failed.emit(text[0].upper() + text[1:])
        else:
            self.done.emit(result)

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busyChanged.emit(busy)
