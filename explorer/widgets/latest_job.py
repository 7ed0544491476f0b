"""Run slow computations off the GUI thread and keep only the newest answer.

A panel that redraws on every epoch (or every slider move) asks for a new result before the last one is ready;
`LatestJob.submit` numbers each request, runs it in a superqt worker, and delivers a result only if no newer
request was made meanwhile, so a stale picture never overwrites a fresh one. One job runs at a time: requests made
while it runs wait, and only the newest of them is started when it ends. Without that, a 100-epoch run of small
epochs queued a job per epoch per panel faster than the pool could run them: a backlog that kept the cores busy
with stale work long after the run, and still ran when the window closed.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QThread, Signal
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
        self._running = False  # a job is in the pool
        self._pending: tuple | None = (
            None  # the newest request made while it runs: (token, func, args, kwargs)
        )

    @property
    def busy(self) -> bool:
        return self._busy

    def cancel(self) -> None:
        """Forget any request in flight or waiting: its result will be dropped."""
        self._token += 1
        self._pending = None
        self._set_busy(False)

    def shutdown(self, timeout_ms: int = 3000) -> bool:
        """Drop every pending answer and wait (up to ``timeout_ms``) for the running jobs to end, so none reports
        to a window that is going away. True if they all ended."""
        self.cancel()
        for worker in list(self._workers):
            worker.quit()  # an aborted worker emits no `returned`
        deadline = time.monotonic() + timeout_ms / 1000
        while any(worker.is_running for worker in self._workers) and time.monotonic() < deadline:
            QThread.msleep(5)
        return not any(worker.is_running for worker in self._workers)

    def submit(self, func, *args, **kwargs) -> None:
        self._token += 1
        self._set_busy(True)
        request = (self._token, func, args, kwargs)
        if self._running:
            self._pending = request  # replaces any older waiting request, which is never run
        else:
            self._start(request)

    def _start(self, request: tuple) -> None:
        token, func, args, kwargs = request

        def run():
            try:
                return token, func(*args, **kwargs), None
            except Exception as exc:  # reported to the GUI as a sentence, never raised in the pool thread
                return token, None, exc

        worker = create_worker(run, _start_thread=False)
        worker.returned.connect(self._on_returned)
        worker.finished.connect(lambda w=worker: self._on_finished(w))
        self._workers.add(worker)  # keep it alive until it ends
        self._running = True
        worker.start()

    def _on_finished(self, worker) -> None:
        self._workers.discard(worker)
        self._running = False
        request, self._pending = self._pending, None
        if request is not None and request[0] == self._token:  # still wanted (not cancelled meanwhile)
            self._start(request)

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
