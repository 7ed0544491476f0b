"""The one job runner (explorer/jobs.py): stale answers dropped, an exception as one sentence, progress reported,
cancellation reaching a reporting job, and a shutdown that waits for the running job and drops its answer."""

from __future__ import annotations

import threading

import pytest
import shiboken6
from PySide6.QtCore import QObject, QThreadPool

from explorer.jobs import JobRunner, sentence, shutdown_all

WAIT_MS = 20_000  # generous: the machine is shared; nothing here is about speed


class Recorder:
    """Everything a runner emits, in order."""

    def __init__(self, runner: JobRunner):
        self.done: list = []
        self.failed: list[str] = []
        self.progress: list[tuple] = []
        self.busy: list[bool] = []
        runner.done.connect(self.done.append)
        runner.failed.connect(self.failed.append)
        runner.progress.connect(lambda *args: self.progress.append(args))
        runner.busyChanged.connect(self.busy.append)


@pytest.fixture
def runner(qtbot):
    owner = QObject()
    runner = JobRunner(owner)
    yield runner
    runner.shutdown(WAIT_MS)
    owner.deleteLater()


def blocker():
    """A job that says when it started and waits until released; it records that it ran to the end."""
    started, release, ended = threading.Event(), threading.Event(), threading.Event()

    def job(value):
        started.set()
        assert release.wait(WAIT_MS / 1000)
        ended.set()
        return value

    return job, started, release, ended


def test_only_the_newest_answer_is_delivered_and_waiting_stale_requests_never_run(qtbot, runner):
    seen = Recorder(runner)
    job, started, release, _ended = blocker()
    ran = []
    runner.submit(job, "first")
    assert started.wait(WAIT_MS / 1000)
    runner.submit(lambda: ran.append("second") or "second")  # waits behind the first; replaced by the third
    runner.submit(lambda: ran.append("third") or "third")
    assert runner.busy
    release.set()
    qtbot.waitUntil(lambda: not runner.busy, timeout=WAIT_MS)
    assert seen.done == ["third"]  # the first one's answer was stale when it came
    assert ran == ["third"]
    assert seen.busy == [True, False] and seen.failed == []


def test_keep_all_delivers_every_answer_in_order(qtbot):
    owner = QObject()
    runner = JobRunner(owner, keep="all")
    seen = Recorder(runner)
    for value in range(4):
        runner.submit(lambda v=value: v * v)
    qtbot.waitUntil(lambda: not runner.busy, timeout=WAIT_MS)
    assert seen.done == [0, 1, 4, 9]


def test_an_exception_becomes_one_sentence(qtbot, runner):
    seen = Recorder(runner)

    def broken():
        raise ValueError("shapes (3,) and (4,) do not match\n  in layer 2")

    runner.submit(broken)
    qtbot.waitUntil(lambda: len(seen.failed) == 1, timeout=WAIT_MS)
    assert seen.failed == ["Shapes (3,) and (4,) do not match."]
    assert seen.done == [] and not runner.busy
    assert sentence(RuntimeError()) == "The computation failed (RuntimeError)."
    assert sentence(OSError("Disk full!")) == "Disk full!"
    assert sentence(ValueError("digits.npz holds no images")) == "digits.npz holds no images."  # a name keeps its case


def test_progress_is_reported_with_the_last_step(qtbot, runner):
    seen = Recorder(runner)

    def counting(n, progress):
        for i in range(n + 1):
            progress(i, n, f"step {i}")
        return n

    runner.submit_with_progress(counting, 50)
    qtbot.waitUntil(lambda: seen.done == [50], timeout=WAIT_MS)
    assert seen.progress[0] == (0, 50, "step 0")
    assert seen.progress[-1] == (50, 50, "step 50")  # the end always arrives, however fast the steps
    dones = [done for done, _total, _what in seen.progress]
    assert dones == sorted(dones)


def test_cancel_stops_a_reporting_job_and_drops_its_answer(qtbot, runner):
    seen = Recorder(runner)
    started, stopped = threading.Event(), threading.Event()

    def endless(progress):
        started.set()
        try:
            while True:
                progress(0, 1)
        finally:
            stopped.set()

    runner.submit_with_progress(endless)
    assert started.wait(WAIT_MS / 1000)
    runner.cancel()
    assert not runner.busy
    assert stopped.wait(WAIT_MS / 1000)  # it ended at its next report instead of running on
    qtbot.waitUntil(lambda: runner._task is None, timeout=WAIT_MS)
    assert seen.done == [] and seen.failed == []  # Cancelled is not an error to report


def test_shutdown_waits_for_the_running_job_and_drops_its_answer(qtbot, runner):
    seen = Recorder(runner)
    job, started, release, ended = blocker()
    runner.submit(job, "late")
    assert started.wait(WAIT_MS / 1000)
    threading.Timer(0.2, release.set).start()  # the job ends while shutdown waits
    assert runner.shutdown(timeout_ms=WAIT_MS)
    assert ended.is_set()  # shutdown returned only once the job had ended
    qtbot.wait(50)  # let the (queued) end arrive
    assert seen.done == [] and not runner.busy


def test_shutdown_gives_up_after_its_timeout(qtbot, runner):
    job, started, release, _ended = blocker()
    runner.submit(job, "stuck")
    assert started.wait(WAIT_MS / 1000)
    assert not runner.shutdown(timeout_ms=50)  # the job is still running: it says so rather than hang
    release.set()


def test_shutdown_takes_a_job_still_queued_in_the_pool(qtbot):
    """A job waiting for a pool thread never starts once its runner shuts down."""
    owner = QObject()
    busy_runners = [JobRunner(owner) for _ in range(QThreadPool.globalInstance().maxThreadCount())]
    releases = []
    for busy in busy_runners:
        job, started, release, _ended = blocker()
        busy.submit(job, None)
        assert started.wait(WAIT_MS / 1000)
        releases.append(release)
    queued = JobRunner(owner)
    ran = []
    queued.submit(lambda: ran.append(1))
    assert queued.shutdown(timeout_ms=0)  # taken out of the queue: nothing to wait for
    for release in releases:
        release.set()
    assert shutdown_all(owner, WAIT_MS)
    QThreadPool.globalInstance().waitForDone(WAIT_MS)
    assert ran == []


def test_a_runner_deleted_mid_job_does_not_crash(qtbot):
    owner = QObject()
    runner = JobRunner(owner)
    job, started, release, ended = blocker()
    runner.submit(job, "nobody listens")
    assert started.wait(WAIT_MS / 1000)
    owner.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(runner), timeout=WAIT_MS)
    release.set()
    assert ended.wait(WAIT_MS / 1000)
    QThreadPool.globalInstance().waitForDone(WAIT_MS)
    qtbot.wait(50)  # the end is delivered to no one
