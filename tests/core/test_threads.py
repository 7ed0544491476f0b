"""The BLAS thread policy (core/threads.py): given free cores, load and work per batch, the threads it picks; the
load estimate from /proc/stat; and the re-check while a run trains, with the clocks faked so nothing is timed."""

import subprocess
import sys
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_info

import core.threads as threads
from core.threads import SMALL_WORK, BlasThreads, CpuSample, choose_threads, free_cores, others_load

BIG = 128 * 784 * 512  # keras-dense512's first layer at batch 128
ONLINE = 1 * 784 * 200  # Rashid's network at batch 1


def blas_counts() -> set[int]:
    return {lim["num_threads"] for lim in threadpool_info() if lim["user_api"] == "blas"}


@pytest.mark.parametrize(
    ("work", "usable", "others", "reserve", "maximum", "expected"),
    [
        (BIG, 2, 0.0, 0.0, 2, 2),  # quiet two-core machine: both cores
        (BIG, 2, 0.1, 0.1, 2, 2),  # quiet, an X server's share and the app's GUI reserve: still both
        (BIG, 2, 1.0, 0.0, 2, 1),  # one busy process beside it: one thread
        (BIG, 2, 0.6, 0.0, 2, 1),  # a process that takes most of a core: one thread
        (BIG, 2, 2.0, 0.2, 2, 1),  # two busy processes: never fewer than one
        (BIG, 8, 3.0, 0.2, 8, 5),  # eight cores, three busy, the reserve: 4.8 free, five at least 3/4 free
        (BIG, 8, 3.5, 0.0, 8, 4),  # 4.5 free: the half-free core does not count
        (BIG, 8, 0.0, 0.0, 4, 4),  # never more than the library's own maximum
        (ONLINE, 2, 0.0, 0.0, 2, 1),  # batch 1: one thread whatever is free
        (SMALL_WORK - 1, 16, 0.0, 0.0, 16, 1),
        (SMALL_WORK, 16, 0.0, 0.0, 16, 16),
    ],
)
def test_the_policy_picks_threads_from_the_free_cores_and_the_work(work, usable, others, reserve, maximum, expected):
    assert choose_threads(work, free_cores(usable, others, reserve), maximum) == expected


def test_the_load_of_other_processes_is_the_busy_time_that_is_not_ours():
    before = CpuSample(wall=10.0, busy=100.0, own=5.0)
    after = CpuSample(wall=12.0, busy=103.0, own=6.0)  # 3 busy core-seconds in 2 s, 1 of them ours
    assert others_load(before, after) == pytest.approx(1.0)
    assert others_load(before, CpuSample(12.0, 101.0, 7.0)) == 0.0  # clock ticks can disagree: never negative
    assert others_load(before, CpuSample(12.0, None, 6.0)) is None  # no /proc/stat: unknown
    assert others_load(before, CpuSample(10.0, 103.0, 6.0)) is None  # no time passed


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/stat")
def test_a_busy_process_beside_us_is_seen_as_load():
    cpus = threads._cpu_ids()
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)  # let it start
        before = threads.sample(cpus)
        time.sleep(0.6)
        load = others_load(before, threads.sample(cpus))
    finally:
        busy.kill()
        busy.wait()
    assert load is not None and load >= 0.7  # one whole core, less what the scheduler gave others meanwhile


class FakeClock:
    """Stands in for /proc/stat and the clocks: `others` cores of load from other programs, none from us."""

    def __init__(self):
        self.wall, self.busy, self.others = 0.0, 0.0, 0.0

    def advance(self, seconds: float) -> float:
        self.wall += seconds
        self.busy += self.others * seconds
        return self.wall

    def sample(self, cpus=None) -> CpuSample:
        return CpuSample(self.wall, self.busy, 0.0)


@pytest.fixture
def two_blas_threads():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=2, user_api="blas"):
        yield


def test_the_count_follows_a_load_that_comes_and_goes(monkeypatch, two_blas_threads):
    clock = FakeClock()
    monkeypatch.setattr(threads, "sample", clock.sample)
    monkeypatch.setattr(threads, "runnable_others", lambda: 0.0)
    monkeypatch.setattr(threads, "usable_cores", lambda: 2.0)
    with BlasThreads(BIG, interval=1.0) as blas:
        assert blas.threads == 2 and blas_counts() == {2}
        clock.others = 1.0  # a busy program starts
        assert blas.update(clock.advance(0.1)) == 2  # before the first check: unchanged
        assert blas.update(clock.advance(0.2)) == 1  # the first check, 0.25 s in
        assert blas_counts() == {1}
        assert blas.others == pytest.approx(1.0)
        clock.others = 0.0  # and ends
        assert blas.update(clock.advance(0.5)) == 1  # within the interval: not checked yet
        assert blas.update(clock.advance(0.6)) == 2
        assert blas_counts() == {2}
    assert blas_counts() == {2}  # restored


def test_a_fixed_count_and_small_work_are_never_rechecked(monkeypatch, two_blas_threads):
    clock = FakeClock()
    clock.others = 2.0
    monkeypatch.setattr(threads, "sample", clock.sample)
    monkeypatch.setattr(threads, "runnable_others", lambda: 0.0)
    with BlasThreads(BIG, fixed=2) as blas:
        assert blas.update(clock.advance(5.0)) == 2
    with BlasThreads(ONLINE) as blas:
        assert blas.threads == 1
        assert blas.update(clock.advance(5.0)) == 1
    assert blas_counts() == {2}


def test_the_app_reserve_leaves_a_core_to_the_gui_on_a_loaded_machine(monkeypatch, two_blas_threads):
    monkeypatch.setattr(threads, "runnable_others", lambda: 1.0)
    monkeypatch.setattr(threads, "usable_cores", lambda: 2.0)
    with BlasThreads(BIG, reserve=threads.GUI_RESERVE) as blas:
        assert blas.threads == 1
    monkeypatch.setattr(threads, "runnable_others", lambda: 0.0)
    with BlasThreads(BIG, reserve=threads.GUI_RESERVE) as blas:
        assert blas.threads == 2


def test_batch_events_report_the_threads_in_force(monkeypatch, two_blas_threads):
    from core.datasets import Dataset
    from core.training import BatchEvent, TrainConfig, Trainer

    monkeypatch.setattr(threads, "runnable_others", lambda: 1.0)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (256, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 256).astype(np.uint8)
    data = Dataset("random", tuple("0123456789"), images, labels, images[:0], labels[:0], "memory")
    events = Trainer(TrainConfig(hidden=(512,), batch_size=128, epochs=1), data).fit_iter()
    first = next(events)
    assert isinstance(first, BatchEvent) and first.threads == 1
    events.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_start_up_guess_does_not_count_this_process_s_own_busy_threads():
    import threading

    stop = threading.Event()
    a = np.ones((400, 400), np.float32)

    def work():  # a busy thread of our own, as the app's GUI thread painting while a run starts
        while not stop.is_set():
            a @ a

    worker = threading.Thread(target=work)
    worker.start()
    try:
        seen = [threads._own_running_threads() for _ in range(200)]
    finally:
        stop.set()
        worker.join()
    assert max(seen) >= 2  # both threads were seen running, and both are ours
    assert all(n >= 1 for n in seen)
