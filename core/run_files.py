"""The runs folder's files, and reading them back (no Qt here); core/run_store.py writes them.

Layout, under `core.paths.data_dir() / "runs"`::

    store.json                  the next run id and run number, and the disk limit in MB
    <run id>/run.json           settings, name, number, status, history (one entry per epoch), curve segment count
    <run id>/epoch_0001.npz     the weights at the end of each epoch: a model file (core/model_io.py)
    <run id>/curves_0001.npy    per-batch curves, one (points, 6) float32 segment per save, in CURVE_COLUMNS order
    <run id>/dynamics.npz       the per-image training record (core/training_record.py), rewritten each epoch

Every file is written with `core.atomic.write_atomic`. An epoch is saved in this order: its weights, its new curve
points, then `run.json`, which is the commit: a process killed at any moment leaves the previous `run.json`, and
files beyond what it counts are ignored (and deleted at the next start). A run whose `run.json` still says
"training" or "paused" when it is read was cut short (a crash, a kill, a power cut): it comes back "interrupted",
with the epochs it had finished. `load_runs` validates every file and skips a damaged run with one sentence; the
weights stay in their files until the app first uses them.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core import paths
from core.atomic import remove_leftovers
from core.training import TrainConfig

FORMAT = "mnist-explorer-run"
VERSION = 1
RECORD = "run.json"
DYNAMICS = "dynamics.npz"  # may be one epoch ahead of run.json (killed before the commit): truncated when read
CURVE_COLUMNS = ("x", "loss", "accuracy", "lr", "loss_smooth", "accuracy_smooth")
STATUSES = ("training", "paused", "completed", "stopped", "diverged", "error", "interrupted", "loaded")
UNFINISHED = ("training", "paused")  # statuses a run only has while its process is alive
SNAPSHOT_PATTERN = re.compile(r"^epoch_(\d{4,})\.npz$")
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
    dynamics_file: Path | None = None  # the per-image training record, when the run has one

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
    if data["status"] not in STATUSES:
        _fail(folder, f"has a {RECORD} with an unknown status {data['status'][:40]!r}.")
    if data["run_id"] < 1 or data["segments"] < 0 or data["number"] < 0:
        _fail(folder, f"has a {RECORD} with an impossible run id, number or segment count.")
    if not all(
        isinstance(h, dict) and all(_is_number(v) or v is None for v in h.values()) for h in data["history"]
    ):
        _fail(folder, f"has a {RECORD} whose history is not a list of epochs of numbers.")
    counts = [h[key] for h in data["history"] for key in ("epoch", "x", "partial") if key in h]
    counts += [data[key] for key in ("seconds", "epoch_offset") if key in data]
    if not all(_is_number(v) and 0 <= v < 1e9 for v in counts):
        _fail(folder, f"has a {RECORD} whose epoch numbers or times are impossible.")
    if not all(isinstance(c, str) for c in data["classes"]):
        _fail(folder, f"has a {RECORD} whose class names are not all text.")
    for key, kind in (("seconds", (int, float)), ("epoch_offset", (int, float)), ("message", str),
                      ("dataset", str), ("parent_name", str), ("colour", str)):  # fmt: skip
        if key in data and not isinstance(data[key], kind):
            _fail(folder, f"has a {RECORD} whose '{key}' has the wrong type.")
    if any(data.get(key) not in (None, True, False) for key in ("visible", "visible_choice")):
        _fail(folder, f"has a {RECORD} whose 'visible' or 'visible_choice' has the wrong type.")
    return data


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


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
        match = SNAPSHOT_PATTERN.match(path.name)
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
    dynamics = folder / DYNAMICS if (folder / DYNAMICS).is_file() else None
    return StoredRun(folder, record, config, _read_curves(folder, record["segments"]), snapshots, dynamics)


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
    for folder in run_folders(root):
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


def folder_bytes(root: Path) -> int:
    """The bytes the files under `root` take (0 when it does not exist)."""
    total = 0
    for path in root.rglob("*") if root.is_dir() else ():
        with contextlib.suppress(OSError):
            if path.is_file():
                total += path.stat().st_size
    return total


def run_folders(root: Path) -> list[Path]:
    """The run folders under `root`, oldest (lowest id) first."""
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name))
