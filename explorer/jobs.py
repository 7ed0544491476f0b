"""Every background job of the app goes through a `JobRunner`: off the GUI thread, stale answers dropped, an
exception turned into one sentence, progress reported, and a shutdown that waits for the job rather than polling.

A panel that redraws on every epoch (or every slider move) asks for a new result before the last one is ready.
`JobRunner.submit` numbers each request and delivers an answer only while no newer request was made, so a stale
picture never overwrites a fresh one. One job per runner runs at a time: requests made while it runs wait, and only
the newest of them starts when it ends. Without that, a 100-epoch run of small epochs queued a job per epoch per
panel faster than the pool could run them: a backlog that kept the cores busy with stale work long after the run,
and still ran when the window closed. A runner made with ``keep="all"`` (saves and exports: each request is something
the user asked for) runs every request in turn and delivers every answer.

A job started with `submit_with_progress` gets a `Progress` as its ``progress`` keyword: calling it reports
(done, total, what) to the GUI, at most every `PROGRESS_INTERVAL` seconds, and raises `Cancelled` once the job's
answer is no longer wanted, so a long job abandons stale work at its next report instead of running to the end.

Jobs run in the global QThreadPool (tests and the window drain it). Each job's end is a `threading.Event`:
`shutdown` waits on it with a timeout, the way `QThreadPool.waitForDone` waits, but only for this runner's job.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import ClassVar

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

PROGRESS_INTERVAL = 0.1  # seconds between two progress reports of one job (the last one always goes)
_INT_MAX = 2**31 - 1  # Qt's int: larger counts (bytes of a big download) are scaled down


class Cancelled(Exception):  # noqa: N818 - the job's own word for what happened, as in concurrent.futures
    """Raised inside a job by its `Progress` once the answer is no longer wanted; the runner ends it silently."""


def sentence(error: BaseException) -> str:
    """An exception as one sentence for the user: its first line, ending in a full stop, capitalised unless it
    starts with a name that must keep its case (a file, `x_train.npy`)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return f"The computation failed ({type(error).__name__})."
    text = lines[0]
    if text.split()[0].isalpha():
        text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


class Progress:
    """What a job gets as ``progress``: ``progress(done, total, what="")`` reports how far it got, and raises
    `Cancelled` once a newer request, `cancel()` or `shutdown()` made the job stale; `cancelled` says so."""

    def __init__(self, task: _Task):
        self._task = task
        self._last = 0.0

    @property
    def cancelled(self) -> bool:
        return self._task.stale.is_set()

    def __call__(self, done: int, total: int, what: str = "") -> None:
        if self._task.stale.is_set():
            raise Cancelled()
        now = time.monotonic()
        if done < total and now - self._last < PROGRESS_INTERVAL:
            return  # a job may report after every chunk; the GUI needs ten updates a second at most
        self._last = now
        done, total = int(done), int(total)
        if total > _INT_MAX:
            scale = total / _INT_MAX
            done, total = int(done / scale), _INT_MAX
        self._task.signals.progressed.emit(self._task, max(0, done), max(0, total), str(what))


class _TaskSignals(QObject):
    # Emitted from the pool thread; the receivers live on the GUI thread, so Qt queues the calls.
    finished = Signal(object)  # the task, with .result and .error set
    progressed = Signal(object, int, int, str)  # the task, done, total, what


class _Task:
    """One request: `run` calls `func` (in a pool thread) and reports its end through `signals`. A plain object,
    not the QRunnable: the pool deletes that when it has run, while the GUI thread still reads the task."""

    # Every task started and not yet delivered, so the Python objects (and the signals QObject, which must be
    # deleted on the GUI thread) outlive the pool thread's use of them even when their runner is gone.
    alive: ClassVar[set] = set()

    def __init__(self, generation: int, func, args: tuple, kwargs: dict, with_progress: bool):
        self.generation = generation
        self.signals = _TaskSignals()
        self.stale = threading.Event()  # set on the GUI thread: the answer is no longer wanted
        self.ended = threading.Event()  # set on the pool thread when the function has returned or raised
        self.result = None
        self.error: BaseException | None = None
        self._call = (func, args, kwargs, with_progress)

    def run(self) -> None:
        func, args, kwargs, with_progress = self._call
        self._call = None  # the arguments (models, datasets) are not kept past the job
        try:
            if not self.stale.is_set():  # dropped while it waited in the pool's queue: nothing to do
                if with_progress:
                    kwargs = {**kwargs, "progress": Progress(self)}
                self.result = func(*args, **kwargs)
        except Cancelled:
            self.stale.set()
        except Exception as exc:  # noqa: BLE001 - reported to the GUI as a sentence, never raised in the pool thread
            self.error = exc
        finally:
            self.ended.set()
        self.signals.finished.emit(self)


class _Runnable(QRunnable):
    def __init__(self, task: _Task):
        super().__init__()
        self.task = task

    def run(self) -> None:
        self.task.run()


def _take_from_queue(runnable: _Runnable | None) -> bool:
    """Take a job that waits for a pool thread out of the queue: True if it will never run."""
    if runnable is None:
        return False
    try:
        taken = QThreadPool.globalInstance().tryTake(runnable)
    except RuntimeError:  # the pool has run and deleted it: it is not in the queue
        return False
    if taken:
        shiboken6.delete(runnable)  # taken back, it is ours to delete (PySide still counts it as the pool's)
    return taken


class _Keeper(QObject):
    """Lives on the GUI thread and lets a task go once its end has been delivered there."""

    def release(self, task: _Task) -> None:
        _Task.alive.discard(task)


_keeper: list[_Keeper] = []


def _the_keeper() -> _Keeper:
    if not _keeper or not shiboken6.isValid(_keeper[0]):
        _keeper[:] = [_Keeper()]
    return _keeper[0]


class JobRunner(QObject):
    """Runs `func(*args)` off the GUI thread. ``done(object)`` carries its result, ``failed(str)`` one sentence
    if it raised, ``progress(int, int, str)`` (done, total, what) what a `submit_with_progress` job reports;
    ``busyChanged(bool)``. Only the newest request's answer is delivered (``keep="newest"``), or every request's
    in turn (``keep="all"``). A runner is a child of the widget it serves: it goes away with it."""

    done = Signal(object)
    failed = Signal(str)
    progress = Signal(int, int, str)
    busyChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None, keep: str = "newest", name: str = ""):
        super().__init__(parent)
        if keep not in ("newest", "all"):
            raise ValueError(f"keep must be 'newest' or 'all', not {keep!r}")
        if name:
            self.setObjectName(name)
        self.keep = keep
        self._generation = 0  # requests of an older generation are stale
        self._waiting: deque = deque()  # requests not started yet: (generation, func, args, kwargs, progress)
        self._task: _Task | None = None  # the one running (or queued in the pool)
        self._runnable: _Runnable | None = None  # its QRunnable, to take it out of the pool's queue
        self._busy = False
        _the_keeper()

    @property
    def busy(self) -> bool:
        """True from a request until its answer is delivered (or it is cancelled)."""
        return self._busy

    def submit(self, func, *args, **kwargs) -> None:
        """Run ``func(*args, **kwargs)``; with ``keep="newest"`` every earlier request becomes stale."""
        self._request(func, args, kwargs, False)

    def submit_with_progress(self, func, *args, **kwargs) -> None:
        """As `submit`, calling ``func(*args, progress=Progress, **kwargs)``."""
        self._request(func, args, kwargs, True)

    def cancel(self) -> None:
        """Forget every request in flight or waiting: their answers will be dropped, a reporting job stopped."""
        self._drop()
        self._set_busy(False)

    def shutdown(self, timeout_ms: int = 3000) -> bool:
        """Cancel, then wait (up to ``timeout_ms``) for the running job to end, so none reports to a window that
        is going away. True if nothing is left running."""
        self.cancel()
        return self._wait(time.monotonic() + timeout_ms / 1000)

    # --- internals ---------------------------------------------------------------------------------------------
    def _drop(self) -> None:
        self._generation += 1
        self._waiting.clear()
        task = self._task
        if task is not None:
            task.stale.set()
            if _take_from_queue(self._runnable):  # still queued behind other jobs: it never runs
                _Task.alive.discard(task)
                self._task = self._runnable = None

    def _request(self, func, args: tuple, kwargs: dict, with_progress: bool) -> None:
        if self.keep == "newest":
            self._drop()  # every earlier request is stale now
        self._waiting.append((self._generation, func, args, kwargs, with_progress))
        self._set_busy(True)
        if self._task is None:
            self._start_next()

    def _start_next(self) -> None:
        if not self._waiting:
            return
        generation, func, args, kwargs, with_progress = self._waiting.popleft()
        task = _Task(generation, func, args, kwargs, with_progress)
        task.signals.finished.connect(self._on_finished)
        task.signals.progressed.connect(self._on_progress)
        task.signals.finished.connect(_the_keeper().release)
        _Task.alive.add(task)
        self._task, self._runnable = task, _Runnable(task)
        QThreadPool.globalInstance().start(self._runnable)

    def _wait(self, deadline: float) -> bool:
        task = self._task
        if task is None:
            return True
        return task.ended.wait(max(0.0, deadline - time.monotonic()))

    def _on_progress(self, task: _Task, done: int, total: int, what: str) -> None:
        if task is self._task and task.generation == self._generation:
            self.progress.emit(done, total, what)

    def _on_finished(self, task: _Task) -> None:
        if task is not self._task:
            return  # taken out of the pool's queue by shutdown: already forgotten
        self._task = self._runnable = None
        current = task.generation == self._generation and not task.stale.is_set()
        self._start_next()
        if not current:
            return  # a newer request is waiting or done, or it was cancelled: this answer is stale
        if not self._waiting and self._task is None:
            self._set_busy(False)
        if task.error is not None:
            self.failed.emit(sentence(task.error))
        else:
            self.done.emit(task.result)

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busyChanged.emit(busy)


def shutdown_all(root: QObject, timeout_ms: int = 3000) -> bool:
    """Cancel every runner under ``root`` at once, then wait for their running jobs, all within ``timeout_ms``
    (the window calls this when it closes). True if every job ended in time."""
    runners = root.findChildren(JobRunner)
    for runner in runners:
        runner.cancel()
    deadline = time.monotonic() + timeout_ms / 1000
    return all([runner._wait(deadline) for runner in runners])
