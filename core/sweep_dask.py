"""A sweep's runs trained on a Dask cluster (`dask.distributed`): a local cluster of worker processes by default,
or an existing one (`dask scheduler` / `dask worker`) at a scheduler address.

One task per run (`train_task`): the worker loads a built-in dataset itself, by name (workers have the package
and its data), or gets a user's own dataset, sent once with `client.scatter`; it trains with one BLAS thread, sends
its progress to the client as Dask events (`Worker.log_event` on the sweep's own topic, throttled), and returns
the settings, history, test accuracy, its worker's address and the trained model. The client (`SweepRunner`)
writes each model file and the summary (`sweep.json`, atomically) as each result arrives, so a crash or a
Ctrl+C keeps everything trained so far.

Faults: on the local cluster the scheduler gives up on a task at the first death of its worker
(allowed-failures 0); the runner then resubmits it once, restricted to the other workers, and reports it failed
with the reason if that attempt dies too. On an existing cluster the scheduler's own allowed-failures (Dask's
default: 3) comes first. Distributed is imported only when a sweep starts, never by the app or other commands.
"""

from __future__ import annotations

import logging
import os
import queue
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import CancelledError
from pathlib import Path

from core.sweep import FORMAT, SUMMARY_NAME, VERSION, SweepError, SweepPlan, write_summary

CONNECT_TIMEOUT = 3.0  # seconds to reach a scheduler before saying it cannot be reached
PROGRESS_INTERVAL = 0.5  # seconds between two progress events of one run (every epoch end is sent at once)
POLL = 0.2  # seconds the client waits for a result before it looks at progress events and a cancel again
_DATASETS: dict = {}  # per worker process: the built-in datasets it has loaded (a process trains many runs)


def default_workers() -> int:
    from core.threads import usable_cores

    return max(1, int(usable_cores()))


# --- on the worker ----------------------------------------------------------------------------------------------
def _dataset(dataset):
    from core import datasets

    if not isinstance(dataset, str):
        return dataset  # a user's own dataset, scattered once by the client
    if dataset not in _DATASETS:
        _DATASETS[dataset] = datasets.load(dataset)
    return _DATASETS[dataset]


def train_task(index: int, attempt: int, config: dict, dataset, topic: str, keep_epochs: bool = False) -> dict:
    """Train run `index` on this worker; its result (a model per epoch with `keep_epochs`, else the last)."""
    from distributed import get_worker

    from core.model_io import Model
    from core.training import BatchEvent, DivergenceError, EpochEvent, TrainConfig, Trainer

    worker = get_worker()
    where = {"index": index, "attempt": attempt, "worker": worker.address, "pid": os.getpid()}
    cfg = TrainConfig.from_dict(config)
    data = _dataset(dataset)
    trainer = Trainer(cfg, data)
    worker.log_event(topic, {**where, "kind": "start", "fraction": 0.0})
    epoch_models, last = [], 0.0
    status, error = "completed", ""
    try:
        for event in trainer.fit_iter():
            if isinstance(event, BatchEvent):
                now = time.monotonic()
                if now - last >= PROGRESS_INTERVAL:
                    last = now
                    fraction = ((event.epoch - 1) * event.batches + event.batch) / event.total_batches
                    worker.log_event(topic, {**where, "kind": "batch", "fraction": fraction, "epoch": event.epoch,
                                             "loss": float(event.running_loss), "elapsed": float(event.elapsed)})  # fmt: skip
            elif isinstance(event, EpochEvent):
                if keep_epochs:
                    history = [dict(h) for h in trainer.history]
                    epoch_models.append(Model(event.network, cfg, data.name, [str(c) for c in data.class_names],
                                              dict(trainer.preprocessing), history))  # fmt: skip
                worker.log_event(topic, {**where, "kind": "epoch", "fraction": event.epoch / event.epochs,
                                         "epoch": event.epoch, "test_accuracy": event.test_accuracy})  # fmt: skip
    except DivergenceError as exc:  # a setting that diverges is a result of the sweep, not a fault to retry
        status, error = "diverged", str(exc)
    history = [dict(h) for h in trainer.history]
    last_epoch = history[-1] if history else {}
    return {
        **where,
        "status": status,
        "error": error,
        "config": cfg.to_dict(),
        "history": history,
        "test_accuracy": last_epoch.get("test_accuracy"),
        "test_loss": last_epoch.get("test_loss"),
        "seconds": float(last_epoch.get("elapsed", 0.0)),
        "samples_per_second": last_epoch.get("samples_per_second"),
        "model_object": Model.from_trainer(trainer, data) if status == "completed" else None,
        "epoch_models": epoch_models,
    }


# --- on the client ----------------------------------------------------------------------------------------------
class SweepRunner:
    """Trains a `SweepPlan` on Dask. `run()` blocks until every run has a result (or `cancel()`, thread-safe);
    `on_progress(runner)` and `on_result(result)` are called on the thread that runs it."""

    def __init__(self, plan: SweepPlan, dataset: str, out_dir: Path | None, *, workers: int | None = None,
                 scheduler: str | None = None, on_progress: Callable | None = None,
                 on_result: Callable | None = None, on_event: Callable | None = None, keep_epochs: bool = False,
                 user_dataset=None, task: Callable = train_task):  # fmt: skip
        self.plan, self.dataset, self.out_dir = plan, dataset, Path(out_dir) if out_dir else None
        self.n_workers = workers or default_workers()
        self.scheduler = scheduler
        self.on_progress, self.on_result, self.on_event = on_progress, on_result, on_event
        self.keep_epochs, self.user_dataset, self.task = keep_epochs, user_dataset, task
        self.topic = f"mnist-explorer-sweep-{uuid.uuid4().hex}"
        self.results: list[dict] = []  # in the order they finished
        self.fractions: dict[int, float] = {}  # how far each run in training has got (0..1)
        self._events: queue.Queue = queue.Queue()
        self._cancel = threading.Event()
        self.client = self.cluster = None
        self._futures: dict = {}  # future -> (index, attempt)
        self._running_on: dict[int, str] = {}  # index -> the worker that last said it trains it
        self._began: dict[int, tuple[int, float]] = {}  # index -> (attempt, when its first event came)
        self._durations: list[float] = []  # seconds from a run's first event to its result, for finished runs

    # --- public --------------------------------------------------------------------------------------------
    @property
    def done(self) -> int:
        return len(self.results)

    @property
    def failed(self) -> int:
        return sum(r["status"] != "completed" for r in self.results)

    def seconds_left(self) -> float | None:
        """The time to the end: a run's typical duration (the median of those finished, else projected from
        those training) times the work left, over the runs training side by side; None until it is known.
        The cluster's start is left out: it would make the first estimates many times too long."""
        now = time.monotonic()
        durations = list(self._durations) or [
            (now - self._began[i][1]) / f for i, f in self.fractions.items() if f >= 0.05 and i in self._began
        ]
        if not durations:
            return None
        typical = statistics.median(durations)
        queued = max(0, len(self.plan) - self.done - len(self.fractions))
        work = sum(typical * (1.0 - f) for f in self.fractions.values()) + queued * typical
        return work / max(1, len(self.fractions))

    def cancel(self) -> None:
        """Stop every task (from any thread); `run()` returns soon after with the results it had."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> list[dict]:
        """Connect (or start the local cluster), train every run, close; the results, in finishing order."""
        try:
            if self.client is None:
                self.connect()
            if not self._cancel.is_set():
                try:
                    self._submit_all()
                    self._wait()
                except (OSError, CancelledError):  # the scheduler went away: its futures are cancelled
                    where = f" in {self.out_dir / SUMMARY_NAME}" if self.out_dir is not None else ""
                    at = f" at {self.scheduler}" if self.scheduler else ""
                    raise SweepError(f"lost the connection to the Dask scheduler{at}; the {self.done} runs that "
                                     f"finished are kept{where}.") from None  # fmt: skip
        finally:
            self.close()
        return self.results

    # --- the cluster ---------------------------------------------------------------------------------------
    def connect(self) -> None:
        """The client: to `scheduler`, within CONNECT_TIMEOUT seconds, or to a new local cluster."""
        import dask
        from distributed import Client, LocalCluster

        # Dask logs a lost or refused connection on stderr; the sweep says it once, in its own sentence
        logging.getLogger("distributed").setLevel(logging.CRITICAL)

        if self.scheduler:
            try:
                self.client = Client(self.scheduler, timeout=f"{CONNECT_TIMEOUT}s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise SweepError(
                    f"cannot reach the Dask scheduler at {self.scheduler} ({' '.join(str(exc).split())}); start "
                    "one with `dask scheduler` and workers with `dask worker ADDRESS`, or leave out --scheduler "
                    "to use this machine's cores."
                ) from None
        else:
            # the scheduler runs in this process: give up on a task at its worker's first death, so the
            # runner (not the scheduler) decides where the one retry goes
            with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
                self.cluster = LocalCluster(n_workers=self.n_workers, threads_per_worker=1, processes=True,
                                            host="127.0.0.1", dashboard_address=None,
                                            silence_logs=logging.CRITICAL)  # fmt: skip
            self.client = Client(self.cluster)
        self.client.subscribe_topic(self.topic, self._events.put)

    def close(self) -> None:
        """Cancel what is left and close the client and the local cluster (idempotent)."""
        client, cluster, self.client, self.cluster = self.client, self.cluster, None, None
        if client is not None:
            try:
                if self._futures:
                    client.cancel(list(self._futures), force=True)
                client.unsubscribe_topic(self.topic)
            except Exception:  # noqa: BLE001 - closing must go on whatever the connection's state
                pass
            client.close(timeout=5)
        if cluster is not None:
            cluster.close(timeout=10)

    def workers(self) -> list[str]:
        return sorted(self.client.scheduler_info().get("workers", {})) if self.client else []

    # --- submitting and collecting -------------------------------------------------------------------------
    def _submit_all(self) -> None:
        data = self.dataset
        if self.user_dataset is not None:  # sent once; every task gets the same future
            data = self.client.scatter(self.user_dataset, broadcast=False)
        self._data = data
        for index in range(len(self.plan)):
            self._submit(index, 0)

    def _submit(self, index: int, attempt: int, workers: list[str] | None = None) -> None:
        config = self.plan.configs[index].to_dict()
        future = self.client.submit(self.task, index, attempt, config, self._data, self.topic, self.keep_epochs,
                                    key=f"sweep-run-{index}-{attempt}-{self.topic[-8:]}", pure=False,
                                    workers=workers, allow_other_workers=False)  # fmt: skip
        self._futures[future] = (index, attempt)

    def _wait(self) -> None:
        from distributed import wait

        while self._futures:
            if self._cancel.is_set():
                self.client.cancel(list(self._futures), force=True)
                self._futures.clear()
                break
            try:
                finished = wait(list(self._futures), timeout=POLL, return_when="FIRST_COMPLETED").done
            except TimeoutError:  # nothing finished within POLL seconds
                finished = set()
            self._drain_events()
            for future in finished:
                self._collect(future, *self._futures.pop(future))
            if self.on_progress is not None:
                self.on_progress(self)
        self._drain_events()

    def _drain_events(self) -> None:
        while True:
            try:
                _stamp, message = self._events.get_nowait()
            except queue.Empty:
                return
            index = message.get("index")
            if index is None or any(r["index"] == index for r in self.results):
                continue  # a late event of a run already reported
            self.fractions[index] = float(message.get("fraction", 0.0))
            attempt = int(message.get("attempt", 0))
            if self._began.get(index, (-1, 0.0))[0] != attempt:
                self._began[index] = (attempt, time.monotonic())
            self._running_on[index] = message.get("worker", "")
            if self.on_event is not None:
                self.on_event(message)

    def _collect(self, future, index: int, attempt: int) -> None:
        if future.status == "finished":
            self._record(future.result())
            return
        if future.status == "cancelled":
            return
        exc = future.exception()
        dead = getattr(getattr(exc, "last_worker", None), "address", None) or self._running_on.get(index, "")
        if _worker_died(exc) and attempt == 0:
            others = [w for w in self.workers() if w != dead]
            self._submit(index, 1, others or None)  # the restarted worker has a new address: "another" too
            self.fractions[index] = 0.0
            return
        reason = _reason(exc, dead, attempt)
        self._record({"index": index, "attempt": attempt, "worker": dead, "status": "failed", "error": reason,
                      "config": self.plan.configs[index].to_dict(), "history": [], "test_accuracy": None})  # fmt: skip

    def _record(self, result: dict) -> None:
        """A run's result: its model file and the summary written now, then `on_result`."""
        index = result["index"]
        self.fractions.pop(index, None)
        if index in self._began and result["status"] == "completed":
            self._durations.append(time.monotonic() - self._began[index][1])
        result["label"] = self.plan.label(index)
        result["model"] = None
        model = result.get("model_object")
        if model is not None and self.out_dir is not None:
            from core.model_io import save

            path = self.out_dir / f"run_{index + 1:03d}.npz"
            save(path, model)  # atomic, as every model file
            result["model"] = str(path.resolve())
        self.results.append(result)
        if self.out_dir is not None:
            write_summary(self.out_dir, self.summary())
        if self.on_result is not None:
            self.on_result(result)

    def summary(self) -> dict:
        """What sweep.json holds: the plan and every result so far (JSON-able; model paths relative)."""
        runs = [public_result(r, self.out_dir) for r in sorted(self.results, key=lambda r: r["index"])]
        return {"format": FORMAT, "version": VERSION, "recipe": self.plan.recipe, "dataset": self.dataset,
                "keys": list(self.plan.keys), "planned": len(self.plan), "runs": runs}  # fmt: skip


def public_result(result: dict, folder: Path | None = None) -> dict:
    """A result as `--json` and sweep.json show it (no model objects; in sweep.json the model file is relative
    to the sweep's folder, so the folder can be moved)."""
    out = {k: v for k, v in result.items() if k not in ("model_object", "epoch_models", "pid")}
    if folder is not None and out.get("model"):
        out["model"] = os.path.relpath(out["model"], Path(folder).resolve())
    if out.get("status") == "completed":
        out.pop("error", None)
    return out


def _worker_died(exc) -> bool:
    from distributed import KilledWorker
    from distributed.comm.core import CommClosedError

    return isinstance(exc, KilledWorker | CommClosedError)


def _reason(exc, worker: str, attempt: int) -> str:
    if _worker_died(exc):
        tries = "twice, the second time on another worker" if attempt else "while training it"
        return f"its worker died {tries} (last {worker or 'unknown'}); see that worker's log"
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"
