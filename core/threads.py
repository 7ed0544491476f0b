"""BLAS threads that keep their pace on a busy machine.

OpenBLAS cuts each big matrix product into one piece per thread and waits for every piece. On a quiet two-core
machine two threads nearly halve the time of the products. But when another program holds one of the cores, one
of our threads waits for the CPU, the product waits for it, and the other thread spins meanwhile: measured on two
cores with one busy process beside it, keras-dense512 trains at 13,500 samples/s with two threads and at 34,000
with one. So the number of threads follows what the machine has free, and is checked again while a run trains:

    others  = (machine's busy CPU time - this process's CPU time) / wall time   over the last interval, in cores
    free    = usable cores - others - reserve        (reserve: the app's GUI thread's share; 0 on the command line)
    threads = clamp(floor(free + 0.25), 1, the BLAS library's own maximum)

that is, one thread per free core, where a core counts as free when at least three quarters of it is (an X
server's or a GUI thread's tenth of a core does not cost a thread; a program that holds half a core does)
and 1 whatever is free when a batch's largest product is under `SMALL_WORK` multiply-adds, where the threads'
hand-offs cost more than they save. "Usable cores" are the CPUs this process may run on (its affinity set) and a
cgroup quota if one is set; "busy" is read from those CPUs' lines of /proc/stat. Where /proc/stat cannot be read
(not Linux) the load is taken as zero, i.e. the library's default, as before.

`BlasThreads` applies this: a context manager that sets the threads at entry, re-checks at most once per
`interval` seconds when `update()` is called (cheap: one clock read; a check reads /proc/stat, about 20 us) and
restores the library's setting at exit. `--threads N` (and the app's setting) fix the count instead.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass

SMALL_WORK = 2_000_000  # multiply-adds in a batch's largest product below which one thread is faster
CHECK_INTERVAL = 1.0  # seconds between re-checks of the load while training
FIRST_CHECK = 0.25  # the first re-check comes sooner: the start-up guess is an instantaneous count
GUI_RESERVE = 0.1  # cores the app leaves to its GUI thread (curves and progress take about a tenth of one)


def choose_threads(work: int, free: float, maximum: int) -> int:
    """Threads for a batch whose largest product is `work` multiply-adds, with `free` cores, at most `maximum`."""
    if work < SMALL_WORK:
        return 1
    return max(1, min(int(maximum), math.floor(free + 0.25)))


def free_cores(usable: float, others: float, reserve: float = 0.0) -> float:
    """Cores left for our BLAS threads: usable cores less other programs' load and the reserve."""
    return usable - max(others, 0.0) - reserve


def usable_cores() -> float:
    """The CPUs this process may run on, capped by a cgroup (v2) CPU quota if there is one."""
    try:
        cores = float(len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        cores = float(os.cpu_count() or 1)
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:
            quota, period = f.read().split()[:2]
        if quota != "max":
            cores = min(cores, max(float(quota) / float(period), 1.0))
    except (OSError, ValueError):
        pass
    return cores


@dataclass
class CpuSample:
    """What the load estimate needs at one moment: wall clock, our CPUs' busy time, this process's CPU time."""

    wall: float
    busy: float | None  # seconds of non-idle time summed over our CPUs; None where /proc/stat is not readable
    own: float  # seconds of CPU time used by this process (all its threads)


def _cpu_ids() -> set[str] | None:
    try:
        return {f"cpu{i}" for i in os.sched_getaffinity(0)}
    except (AttributeError, OSError):
        return None


_TICK = 1.0 / (os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100)


def sample(cpus: set[str] | None = None) -> CpuSample:
    """Read the clocks now. `cpus`: the /proc/stat lines to sum ("cpu0", ...); None means the machine's total."""
    times = os.times()
    own = times.user + times.system
    busy = None
    try:
        with open("/proc/stat") as f:
            busy = 0.0
            for line in f:
                if not line.startswith("cpu"):
                    break
                name, *ticks = line.split()
                if (cpus is None and name == "cpu") or (cpus is not None and name in cpus):
                    values = [int(t) for t in ticks[:8]]
                    busy += sum(values) - values[3] - values[4]  # all but idle and iowait
            busy *= _TICK
    except (OSError, ValueError, IndexError):
        busy = None
    return CpuSample(time.perf_counter(), busy, own)


def others_load(before: CpuSample, after: CpuSample) -> float | None:
    """Cores kept busy by other processes between two samples (None when it cannot be told)."""
    wall = after.wall - before.wall
    if before.busy is None or after.busy is None or wall <= 0:
        return None
    return max(0.0, (after.busy - before.busy) - (after.own - before.own)) / wall


def runnable_others() -> float:
    """A start-up guess, before any interval has passed: runnable tasks on the machine now, less this process's
    own (the app's GUI thread may be painting as a run starts: it is not another program)."""
    try:
        with open("/proc/loadavg") as f:
            running = int(f.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    return max(0, running - _own_running_threads())


def _own_running_threads() -> int:
    """This process's threads that are running or runnable now (state R in /proc/self/task/*/stat); at least 1."""
    own = 0
    try:
        for task in os.scandir("/proc/self/task"):
            try:
                with open(f"{task.path}/stat") as f:
                    own += f.read().rpartition(")")[2].split()[0] == "R"
            except (OSError, IndexError):
                continue
    except OSError:
        pass
    return max(own, 1)


class BlasThreads:
    """Sets the BLAS libraries' thread count for a training run and keeps it fitted to the load.

    `fixed` > 0 sets that count and never changes it (`--threads N`). Otherwise the count follows
    `choose_threads` for `work` multiply-adds per batch, leaving `reserve` cores free. Use as a context manager;
    call `update()` once per batch; `threads` is the count in force (0 where no BLAS library is loaded).
    """

    def __init__(self, work: int, fixed: int = 0, reserve: float = 0.0, interval: float = CHECK_INTERVAL):
        self.work, self.fixed, self.reserve, self.interval = int(work), int(fixed), float(reserve), interval
        self.threads = 0
        self.others = 0.0  # the last estimate of other programs' load, in cores
        self._libs: list = []
        self._saved: list[int] = []
        self._cpus = _cpu_ids()
        self._usable = usable_cores()
        self._last: CpuSample | None = None
        self._next_check = math.inf

    def __enter__(self) -> BlasThreads:
        from threadpoolctl import ThreadpoolController

        self._libs = ThreadpoolController().select(user_api="blas").lib_controllers
        self._saved = [lib.get_num_threads() for lib in self._libs]
        self._maximum = max(self._saved, default=1)
        if self.fixed:
            self._set(self.fixed)
            return self
        self.others = runnable_others()
        self._set(self._choice())
        if self.work >= SMALL_WORK and self._maximum > 1:  # a small product stays at one thread: nothing to check
            self._last = sample(self._cpus)
            self._next_check = self._last.wall + FIRST_CHECK
        return self

    def __exit__(self, *exc) -> None:
        for lib, n in zip(self._libs, self._saved, strict=True):
            lib.set_num_threads(n)
        self._next_check = math.inf

    def update(self, now: float | None = None) -> int:
        """Re-check the load if an interval has passed since the last check; return the threads in force."""
        now = time.perf_counter() if now is None else now
        if now < self._next_check:
            return self.threads
        current = sample(self._cpus)
        load = others_load(self._last, current)
        if load is not None:
            self.others = load
            self._set(self._choice())
        self._last = current
        self._next_check = current.wall + self.interval
        return self.threads

    def _choice(self) -> int:
        return choose_threads(self.work, free_cores(self._usable, self.others, self.reserve), self._maximum)

    def _set(self, n: int) -> None:
        n = max(1, min(int(n), self._maximum)) if not self.fixed else max(1, int(n))
        if n != self.threads:
            for lib in self._libs:
                lib.set_num_threads(n)
        self.threads = n if self._libs else 0
