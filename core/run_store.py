"""Training runs kept on disk, so that they come back when the app starts again (no Qt here).

Layout, under `core.paths.data_dir() / "runs"`::

    store.json                  the next run id and run number, and the disk limit in MB
    <run id>/run.json           settings, name, number, status, history (one entry per epoch), curve segment count
    <run id>/epoch_0001.npz     the weights at the end of each epoch: a model file (core/model_io.py)
    <run id>/curves_0001.npy    per-batch curves, one (points, 6) float32 segment per save, in CURVE_COLUMNS order

Every file goes through `core.atomic.write_atomic`. An epoch is saved in this order: its weights, its new curve
points, then `run.json`, which is the commit: a process killed at any moment leaves the previous `run.json`, and
files beyond what it counts are ignored (and deleted at the next start). A run whose `run.json` still says
"training" or "paused" when it is read was cut short (a crash, a kill, a power cut): it comes back "interrupted",
with the epochs it had finished.

Disk limit: after each epoch saved, past the limit (`DEFAULT_LIMIT_MB` unless the user set another) the oldest runs
lose their in-between epoch snapshots, keeping their final weights, curves and history; the newest run and any run
still training are never thinned. A thinned run's epoch slider has one stop after the next start.

Writes run on one background thread, in the order asked (`RunStore.submit`), while there is something to write.
A new run's folder is made at once (`reserve_id`): two copies of the app never share one. `load_runs` validates
every file and skips a damaged run with one sentence; weights stay in their files until first used.
"""

from __future__ import annotations

import contextlib
import json
import queue
import re
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core import model_io, paths
from core.atomic import remove_leftovers, write_atomic
from core.training import TrainConfig

FORMAT = "mnist-explorer-run"
VERSION = 1
RECORD = "run.json"
STORE_FILE = "store.json"
DEFAULT_LIMIT_MB = 1024
CURVE_COLUMNS = ("x", "loss", "accuracy", "lr", "loss_smooth", "accuracy_smooth")
UNFINISHED = ("training", "paused")  # statuses a run only has while its process is alive
_SNAPSHOT = re.compile(r"^epoch_(\d{4,})\.npz$")
_SEGMENT = re.compile(r"^curves_(\d{4,})\.npy$")
_MAX_RECORD_BYTES = 64 * 2**20


class RunStoreError(ValueError):
    """A run folder that cannot be read; the message is one sentence naming the folder and the problem."""

    def __init__(self, folder: Path, problem: str):
        super().__init__(f"The saved run in {folder} {problem}")
        self.folder, self.problem = folder, problem  # problem: "has no run.json."


def runs_root() -> Path:
    """Where the runs are kept: the user's data folder / "runs"."""
    return paths.data_dir() / "runs"


def snapshot_name(epoch: int) -> str:
    return f"epoch_{epoch:04d}.npz"


def segment_name(index: int) -> str:
    return f"curves_{index:04d}.npy"


# --- reading -------------------------------------------------------------------------------------------------------
@dataclass
class StoredRun:
    """One run read back from disk: its validated record, its curves, and the files holding its weights."""

    folder: Path
    record: dict
    config: TrainConfig
    curves: np.ndarray  # (points, len(CURVE_COLUMNS)) float32
    snapshot_files: list[Path]  # epoch 1, 2, ... in order; or only the final epoch's when the run was thinned

    @property
    def interrupted(self) -> bool:
        return self.record["status"] in UNFINISHED


def _fail(folder: Path, problem: str):
    raise RunStoreError(folder, problem)


def _check_record(folder: Path, data) -> dict:
    """The fields of run.json, with their types checked; raises RunStoreError."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        _fail(folder, f"has a {RECORD} that was not written by this app.")
    if data.get("version") != VERSION:
        _fail(folder, f"was written by another version of the app (format {data.get('version')!r}).")
    kinds = {"run_id": int, "number": int, "name": str, "status": str, "history": list, "config": dict,
             "segments": int, "classes": list}  # fmt: skip
    for key, kind in kinds.items():
        if not isinstance(data.get(key), kind) or isinstance(data.get(key), bool):
            _fail(folder, f"has a {RECORD} whose '{key}' is missing or not a {kind.__name__}.")
    if data["run_id"] < 1 or data["segments"] < 0:
        _fail(folder, f"has a {RECORD} with an impossible run id or segment count.")
    if not all(isinstance(h, dict) for h in data["history"]):
        _fail(folder, f"has a {RECORD} whose history is not a list of epochs.")
    for key, kind in (("seconds", (int, float)), ("epoch_offset", (int, float)), ("message", str),
                      ("dataset", str), ("parent_name", str), ("colour", str)):  # fmt: skip
        if key in data and not isinstance(data[key], kind):
            _fail(folder, f"has a {RECORD} whose '{key}' has the wrong type.")
    if data.get("visible_choice") not in (None, True, False) or data.get("visible") not in (
        None,
        True,
        False,
    ):
        _fail(folder, f"has a {RECORD} whose 'visible' or 'visible_choice' has the wrong type.")
    return data


def _read_curves(folder: Path, segments: int) -> np.ndarray:
    """The committed curve segments, joined; a missing or damaged segment ends the curves there."""
    parts = []
    for index in range(1, segments + 1):
        try:
            part = np.load(folder / segment_name(index), allow_pickle=False)
        except (OSError, ValueError, EOFError):
            break
        if part.ndim != 2 or part.shape[1] != len(CURVE_COLUMNS) or part.dtype.kind != "f":
            break
        parts.append(part.astype(np.float32, copy=False))
    if not parts:
        return np.empty((0, len(CURVE_COLUMNS)), dtype=np.float32)
    return np.concatenate(parts)


def _snapshot_files(folder: Path, epochs: int) -> tuple[list[Path], list[Path]]:
    """(the snapshots to offer, the uncommitted ones beyond `epochs`). All of 1..epochs when they are there;
    otherwise the final epoch's alone (a thinned run); otherwise the epochs from 1 that are there."""
    found: dict[int, Path] = {}
    extra: list[Path] = []
    for path in folder.iterdir():
        match = _SNAPSHOT.match(path.name)
        if match:
            epoch = int(match[1])
            (found.__setitem__(epoch, path) if 1 <= epoch <= epochs else extra.append(path))
    prefix = []
    while len(prefix) + 1 in found:
        prefix.append(found[len(prefix) + 1])
    if len(prefix) == epochs or epochs not in found:
        return prefix, extra
    return [found[epochs]], extra


def read_run(folder: Path) -> StoredRun:
    """Read and check one run folder; raises RunStoreError with one sentence when it cannot be used."""
    path = folder / RECORD
    try:
        text = path.read_bytes() if path.stat().st_size <= _MAX_RECORD_BYTES else None
        data = json.loads(text.decode("utf-8")) if text is not None else None
    except FileNotFoundError:
        _fail(folder, f"has no {RECORD}.")
    except OSError as exc:
        _fail(folder, f"could not be read ({exc.strerror or exc}).")
    except (UnicodeDecodeError, ValueError, RecursionError):
        _fail(folder, f"has a damaged {RECORD} (not valid JSON).")
    if text is None:
        _fail(folder, f"has a {RECORD} too large to be one of this app's.")
    record = _check_record(folder, data)
    try:
        config = TrainConfig.from_dict(record["config"])
    except (ValueError, TypeError) as exc:
        _fail(folder, f"has settings this version cannot use ({exc}).")
    snapshots, _extra = _snapshot_files(folder, len(record["history"]))
    return StoredRun(folder, record, config, _read_curves(folder, record["segments"]), snapshots)


def _tidy(stored: StoredRun) -> None:
    """Delete what a killed writer left: temp files, and snapshots and segments its run.json never counted."""
    folder = stored.folder
    remove_leftovers(folder)
    _keep, extra = _snapshot_files(folder, len(stored.record["history"]))
    for path in folder.iterdir():
        match = _SEGMENT.match(path.name)
        if match and int(match[1]) > stored.record["segments"]:
            extra.append(path)
    for path in extra:
        with contextlib.suppress(OSError):
            path.unlink()


def load_runs(root: Path) -> tuple[list[StoredRun], list[RunStoreError]]:
    """Every readable run under `root`, oldest first, and why each other run folder could not be read."""
    runs: list[StoredRun] = []
    problems: list[RunStoreError] = []
    for folder in _run_folders(root):
        if not any(folder.iterdir()):
            continue  # an id reserved by a run that never got to save anything (or by a copy of the app running now)
        try:
            stored = read_run(folder)
            if stored.interrupted:
                _tidy(stored)
        except RunStoreError as exc:
            problems.append(exc)
            continue
        except OSError as exc:
            problems.append(RunStoreError(folder, f"could not be read ({exc.strerror or exc})."))
            continue
        runs.append(stored)
    return runs, problems


# --- writing ------------------------------------------------------------------------------------------------------------
def folder_bytes(root: Path) -> int:
    """The bytes the files under `root` take (0 when it does not exist)."""
    total = 0
    for path in root.rglob("*") if root.is_dir() else ():
        with contextlib.suppress(OSError):
            if path.is_file():
                total += path.stat().st_size
    return total


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
        self, record: dict, curves: np.ndarray | None = None, snapshot=None, keep: set[int] = frozenset()
    ):
        """Write one run: its epoch's weights (`snapshot`, a Model, for epoch len(history)), the curve points
        since the last save (`curves`, segment `record["segments"]`), then run.json. Then keep the limit."""
        run_id = int(record["run_id"])
        folder = self.root / str(run_id)
        epoch, segment = len(record["history"]), int(record["segments"])

        def write() -> None:
            folder.mkdir(parents=True, exist_ok=True)
            if snapshot is not None:
                model_io.save(folder / snapshot_name(epoch), snapshot)
            if curves is not None and len(curves):
                write_atomic(folder / segment_name(segment), lambda f: np.save(f, curves, allow_pickle=False))
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
                _tell(self.on_usage, self.usage())

    def _write_store(self, data: dict) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        _write_json(self.root / STORE_FILE, data)

    def _enforce_limit(self, keep: set[int]) -> None:
        """Past the limit, thin the oldest runs (never those in `keep`) to their final weights."""
        limit = self.limit_mb * 2**20
        used = self.usage()
        thinned = []
        for folder in _run_folders(self.root):
            if used <= limit:
                break
            if int(folder.name) in keep:
                continue
            snapshots = [p for p in folder.iterdir() if _SNAPSHOT.match(p.name)]
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


def _run_folders(root: Path) -> list[Path]:
    """The run folders under `root`, oldest (lowest id) first."""
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name))


def _name_of(folder: Path) -> str:
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError, RecursionError):
        return str(json.loads((folder / RECORD).read_text(encoding="utf-8"))["name"])
    return f"the run in {folder.name}"
