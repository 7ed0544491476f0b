"""Writing the runs folder (core/run_files.py says what its files hold), on a background thread (no Qt here).

Each run is saved as each epoch ends (`RunStore.save`): its weights, its new curve points, then `run.json`, the
commit. Writes run on one background thread, in the order asked (`RunStore.submit`), while there is something to
write. A new run's folder is made at once (`reserve_id`): two copies of the app never share one.

Disk limit: after each epoch saved, past the limit (`DEFAULT_LIMIT_MB` unless the user set another, kept in
`store.json`) the oldest runs lose their in-between epoch snapshots, keeping their final weights, curves and
history; the newest run and any run still training are never thinned. A thinned run's epoch slider has one stop
after the next start.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core import model_io, training_record
from core.atomic import write_atomic
from core.run_files import (
    DYNAMICS,
    RECORD,
    SNAPSHOT_PATTERN,
    folder_bytes,
    run_folders,
    segment_name,
    snapshot_name,
)

STORE_FILE = "store.json"
DEFAULT_LIMIT_MB = 1024


def _write_json(path: Path, data: dict) -> None:
    text = json.dumps(data, allow_nan=True, default=str).encode("utf-8")  # str: never fail a save over a type
    write_atomic(path, lambda f: f.write(text))


@dataclass
class RunStore:
    """The runs folder: reads `store.json`, writes runs on a background thread, keeps the disk limit.

    `on_usage(bytes)` and `on_note(sentence)` are called from the writer thread.
    """

    root: Path
    on_usage: Callable[[int], None] | None = None
    on_note: Callable[[str], None] | None = None
    next_run_id: int = 1
    next_number: int = 1
    limit_mb: int = DEFAULT_LIMIT_MB
    _queue: queue.Queue = field(default_factory=queue.Queue, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _failed: set = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        with contextlib.suppress(OSError, ValueError, RecursionError):
            data = json.loads((self.root / STORE_FILE).read_text(encoding="utf-8"))
            for key in ("next_run_id", "next_number", "limit_mb"):
                value = data.get(key) if isinstance(data, dict) else None
                if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
                    setattr(self, key, value)

    # --- requests (any thread; run in order on the writer thread) -----------------------------------------------
    def save_counters(self, next_run_id: int, next_number: int) -> None:
        self.next_run_id, self.next_number = next_run_id, next_number
        data = {"next_run_id": next_run_id, "next_number": next_number, "limit_mb": self.limit_mb}
        self.submit(lambda: self._write_store(data), "save the run counters")

    def set_limit(self, limit_mb: int, keep: set[int]) -> None:
        self.limit_mb = max(1, int(limit_mb))
        self.save_counters(self.next_run_id, self.next_number)
        self.submit(lambda: self._enforce_limit(keep), "keep the disk limit")

    def save(
        self, record: dict, curves: np.ndarray | None = None, snapshot=None, keep: set[int] = frozenset(),
        dynamics=None,
    ):
        """Write one run: its epoch's weights (`snapshot`, a Model, for epoch len(history)), the curve points
        since the last save (`curves`, segment `record["segments"]`), its per-image record (`dynamics`, a
        core.training_record.Dynamics, rewritten whole), then run.json. Then keep the limit."""
        run_id = int(record["run_id"])
        folder = self.root / str(run_id)
        epoch, segment = len(record["history"]), int(record["segments"])

        def write() -> None:
            folder.mkdir(parents=True, exist_ok=True)
            if snapshot is not None:
                model_io.save(folder / snapshot_name(epoch), snapshot)
            if curves is not None and len(curves):
                write_atomic(folder / segment_name(segment), lambda f: np.save(f, curves, allow_pickle=False))
            if dynamics is not None:
                data = training_record.to_bytes(dynamics)
                write_atomic(folder / DYNAMICS, lambda f: f.write(data))
            _write_json(folder / RECORD, record)
            if snapshot is not None:
                self._enforce_limit(set(keep) | {run_id})

        self.submit(write, f"save {record.get('name', 'a run')}")

    def reserve_id(self, at_least: int) -> int:
        """The first run id from `at_least` whose folder this call could create: two copies of the app open at
        once never write into the same run's folder. Falls back to `at_least` when the folder cannot be made
        (the writes will then say why)."""
        run_id = max(1, int(at_least))
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            while True:
                try:
                    (self.root / str(run_id)).mkdir()
                    return run_id
                except FileExistsError:
                    run_id += 1
        except OSError:
            return run_id

    def remove(self, run_id: int, name: str = "a run") -> None:
        folder = self.root / str(run_id)  # a run never saved has no folder: nothing to do
        self.submit(lambda: folder.exists() and shutil.rmtree(folder), f"remove the files of {name}")

    def submit(self, action: Callable[[], None], what: str) -> None:
        """Run `action` on the writer thread after everything asked before; `what` ("save run 3") names it in
        the sentence shown if it fails."""
        with self._lock:
            self._queue.put((action, what))
            if self._thread is None:
                self._thread = threading.Thread(target=self._drain, name="run-store writer", daemon=True)
                self._thread.start()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait for every write asked for so far; True when they are all done within `timeout` seconds."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def usage(self) -> int:
        return folder_bytes(self.root)

    # --- the writer thread -------------------------------------------------------------------------------------
    def _drain(self) -> None:
        with contextlib.suppress(AttributeError, OSError):  # Linux sets nice per thread: below the GUI's
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + 5)
        while True:
            with self._lock:
                try:
                    action, what = self._queue.get_nowait()
                except queue.Empty:
                    self._thread = None
                    break
            try:
                action()
            except Exception as exc:  # noqa: BLE001 - disk full, a read-only folder...: one sentence, carry on
                reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
                if (what, reason) not in self._failed:
                    self._failed.add((what, reason))
                    _tell(self.on_note, f"Could not {what} in {self.root} ({reason}).")
            if self._queue.empty():
                _tell(self.on_usage, folder_bytes(self.root))

    def _write_store(self, data: dict) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        _write_json(self.root / STORE_FILE, data)

    def _enforce_limit(self, keep: set[int]) -> None:
        """Past the limit, thin the oldest runs (never those in `keep`) to their final weights."""
        limit = self.limit_mb * 2**20
        used = folder_bytes(self.root)
        thinned = []
        for folder in run_folders(self.root):
            if used <= limit:
                break
            if int(folder.name) in keep:
                continue
            snapshots = [p for p in folder.iterdir() if SNAPSHOT_PATTERN.match(p.name)]
            snapshots.sort(key=lambda p: (len(p.name), p.name))  # epoch order
            freed = 0
            for path in snapshots[:-1]:
                with contextlib.suppress(OSError):
                    size = path.stat().st_size
                    path.unlink()
                    freed += size
            if freed:
                used -= freed
                thinned.append(_name_of(folder))
        if thinned and self.on_note is not None:
            self.on_note(f"The saved runs passed the {self.limit_mb:,} MB limit: {', '.join(thinned)} now keep "
                         "only their final weights on disk.")  # fmt: skip


def _tell(callback, value) -> None:
    """Call a listener from the writer thread; one that has gone away (a closed window) is ignored."""
    if callback is not None:
        with contextlib.suppress(RuntimeError):
            callback(value)


def _name_of(folder: Path) -> str:
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError, RecursionError):
        return str(json.loads((folder / RECORD).read_text(encoding="utf-8"))["name"])
    return f"the run in {folder.name}"
