"""A training run as the app holds it (`Run`), its growing curve buffers, and its record on disk.

No Qt here: `AppState` (explorer/state.py) owns the runs and decides when one is saved; this module turns a `Run`
into what `core.run_store` writes (`core.run_files` says what the files hold) (`run_record`, `new_curve_points`) and a `StoredRun` read back into a `Run`
(`restored_run`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from core import model_io, run_files
from core.run_files import CURVE_COLUMNS

RUN_COLOURS = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
]


class SnapshotList(Sequence):
    """A run's per-epoch models (index 0 = epoch 1): `Model`s in memory, or files read on first access.

    A file that cannot be read gives None (and `problem` says why), so a damaged snapshot never stops the app.
    """

    def __init__(self, items: Sequence = ()):
        self._items: list = list(items)
        self.problem = ""

    def append(self, model) -> None:
        self._items.append(model)

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        item = self._items[index]
        if isinstance(item, Path):
            try:
                item = model_io.load(item)
            except model_io.ModelError as exc:
                self.problem = str(exc)
                return None
            self._items[index] = item
        return item

    def __iter__(self) -> Iterator:
        return (self[i] for i in range(len(self)))

    def on_disk(self) -> int:
        """How many snapshots are still files, not yet read (for tests and the curious)."""
        return sum(isinstance(item, Path) for item in self._items)


class GrowingArray:
    """A 1-D float64 array that grows by doubling its capacity; `.array` is a view of the filled part.

    It reads like a list (len, indexing, iteration, np.asarray) so code that treated the curves as lists still works.
    """

    __slots__ = ("_data", "_size")

    def __init__(self, capacity: int = 1024):
        self._data = np.empty(max(int(capacity), 1), dtype=np.float64)
        self._size = 0

    def extend(self, values) -> None:
        values = np.asarray(values, dtype=np.float64).ravel()
        end = self._size + values.size
        if end > self._data.size:
            grown = np.empty(max(end, 2 * self._data.size), dtype=np.float64)
            grown[: self._size] = self._data[: self._size]
            self._data = grown
        self._data[self._size : end] = values
        self._size = end

    def append(self, value: float) -> None:
        self.extend((value,))

    def clear(self) -> None:
        self._size = 0

    @property
    def array(self) -> np.ndarray:
        return self._data[: self._size]

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, index):
        return self.array[index]

    def __iter__(self):
        return iter(self.array)

    def __array__(self, dtype=None, copy=None):
        view = self.array
        if dtype is not None and np.dtype(dtype) != view.dtype:
            return view.astype(dtype)
        return view.copy() if copy else view

    def __repr__(self) -> str:
        return f"GrowingArray({self.array!r})"


class RunStatus(str, Enum):
    """Where a run stands; compares equal to its text ("training", ...), which run.json stores."""

    TRAINING = "training"
    PAUSED = "paused"
    COMPLETED = "completed"
    STOPPED = "stopped"
    DIVERGED = "diverged"
    ERROR = "error"
    INTERRUPTED = "interrupted"  # the app ended while it trained: back from disk with the epochs it had finished
    LOADED = "loaded"  # read from a model file

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @property
    def unfinished(self) -> bool:
        return self in (RunStatus.TRAINING, RunStatus.PAUSED)


@dataclass
class TrainRequest:
    """A run someone wants trained; `run` (or `refusal`) is filled in by the training controller."""

    config: Any  # core.training.TrainConfig
    name: str | None = None  # None: the next "run N"
    network: Any = None  # continue from these weights
    parent_run: Any = None  # the run it continues, if any
    run: Any = None  # the Run started for it
    refusal: str = ""  # why it was not started


@dataclass
class Run:
    """One training run: its settings, its curves, and its per-epoch weights."""

    run_id: int
    name: str
    config: Any  # core.training.TrainConfig
    colour: str
    dataset: str = ""
    visible: bool = True
    status: RunStatus = RunStatus.TRAINING  # AppState sets it (begin_training, set_paused, end_run, ...)
    # Per-batch curves, appended by the worker's throttled deliveries (x in epochs, fractional).
    # GrowingArray, not list: a 100-epoch run has ~47,000 points per curve, and the plots read them as NumPy views
    # at up to 20 updates a second without converting a Python list each time.
    batch_x: GrowingArray = field(default_factory=lambda: GrowingArray())
    batch_loss: GrowingArray = field(default_factory=lambda: GrowingArray())
    batch_accuracy: GrowingArray = field(default_factory=lambda: GrowingArray())
    batch_lr: GrowingArray = field(default_factory=lambda: GrowingArray())
    history: list[dict] = field(default_factory=list)  # one dict per epoch, as core's Trainer.history
    # core.model_io.Model per epoch (index 0 = epoch 1); a restored run's are files, read when first used
    snapshots: SnapshotList = field(default_factory=SnapshotList)
    seconds: float = 0.0
    # Smoothed (debiased EMA) per-batch curves, computed by the worker alongside the raw ones.
    batch_loss_smooth: GrowingArray = field(default_factory=lambda: GrowingArray())
    batch_accuracy_smooth: GrowingArray = field(default_factory=lambda: GrowingArray())
    epoch_offset: float = 0.0  # a run continued from another starts where that one ended on the epoch axis
    parent_name: str = ""  # the run whose weights it continued from, if any
    samples_per_second: float = 0.0  # recent training speed, while it trains
    seconds_left: float | None = None  # estimated time to the end of the run, while it trains
    message: str = ""  # why it ended, when it failed (one sentence)
    # the N of "run N" when its name carries one; 0 for the experiment's, loaded and continued runs
    number: int = 0
    classes: list[str] = field(default_factory=list)  # the dataset's class names (from its first model)
    visible_choice: bool | None = None  # the user's own tick (None: the default, see AppState)
    kept: bool = True  # saved to the runs folder (a model loaded from a file is not: it has its file)
    on_disk: bool = False  # something of it has been written
    saved_points: int = 0  # batch points already written, and in how many curve segments
    saved_segments: int = 0
    # the per-image training record (core.training_record.Dynamics), or its file for a restored run (read by
    # `run_dynamics` when first used); None for a loaded model or a run from before the record existed
    dynamics: Any = None

    @property
    def final_accuracy(self) -> float | None:
        return self.history[-1].get("test_accuracy") if self.history else None

    @property
    def model(self):
        """The newest epoch's model, or None before the first epoch ends."""
        return self.snapshots[-1] if self.snapshots else None


def run_colour(run_id: int) -> str:
    return RUN_COLOURS[(run_id - 1) % len(RUN_COLOURS)]


def run_record(run: Run) -> dict:
    """What run.json holds for `run` (everything but the curves and the weights), as JSON-able values."""
    return {
        "format": run_files.FORMAT,
        "version": run_files.VERSION,
        "run_id": run.run_id,
        "number": run.number,
        "name": run.name,
        "colour": run.colour,
        "dataset": run.dataset,
        "classes": list(run.classes),
        "config": run.config.to_dict(),
        "status": run.status,
        "message": run.message,
        "history": [dict(h) for h in run.history],
        "seconds": float(run.seconds),
        "epoch_offset": float(run.epoch_offset),
        "parent_name": run.parent_name,
        "visible_choice": run.visible_choice,
        "visible": run.visible,
        "segments": run.saved_segments,
    }


def new_curve_points(run: Run) -> np.ndarray | None:
    """The batch points not yet written, as one (points, 6) float32 segment, and counts them as written."""
    end = min(len(getattr(run, f"batch_{name}")) for name in CURVE_COLUMNS)
    if end <= run.saved_points:
        return None
    span = slice(run.saved_points, end)
    segment = np.column_stack([getattr(run, f"batch_{name}").array[span] for name in CURVE_COLUMNS])
    run.saved_points = end
    run.saved_segments += 1
    return segment.astype(np.float32)


def run_dynamics(run: Run):
    """The run's per-image training record (core.training_record.Dynamics) up to its last epoch, read from its
    file for a restored run (call it off the GUI thread); None when it has none. ValueError: a damaged file."""
    from core import training_record

    dynamics = run.dynamics
    if isinstance(dynamics, Path):
        dynamics = training_record.load(dynamics)
    if dynamics is not None and run.history and dynamics.epochs and dynamics.epochs[-1] > len(run.history):
        dynamics = dynamics.truncated(len(run.history))  # written just before a run.json that never came
    return dynamics


INTERRUPTED = "The app ended while this run trained; it kept the epochs it had finished."


def restored_run(stored: run_files.StoredRun) -> Run:
    """The `Run` for a run read back from disk; one cut short by a crash or a kill comes back "interrupted"."""
    record = stored.record
    run = Run(
        run_id=record["run_id"],
        name=record["name"],
        config=stored.config,
        colour=record.get("colour") or run_colour(record["run_id"]),
        dataset=record.get("dataset", ""),
        status=RunStatus.INTERRUPTED if stored.interrupted else RunStatus(record["status"]),
        history=[dict(h) for h in record["history"]],
        snapshots=SnapshotList(stored.snapshot_files),
        seconds=float(record.get("seconds", 0.0)),
        epoch_offset=float(record.get("epoch_offset", 0.0)),
        parent_name=record.get("parent_name", ""),
        message=INTERRUPTED if stored.interrupted else record.get("message", ""),
        number=record["number"],
        classes=[str(c) for c in record["classes"]],
        visible_choice=record.get("visible_choice"),
        visible=record.get("visible", True),
        on_disk=True,
        saved_points=len(stored.curves),
        saved_segments=record["segments"],
        dynamics=stored.dynamics_file,
    )
    for column, name in enumerate(CURVE_COLUMNS):
        getattr(run, f"batch_{name}").extend(stored.curves[:, column])
    return run


def numbered_folders(root) -> list:
    """The run folders (named by number) under the runs folder `root`."""
    return [p for p in root.iterdir() if p.is_dir() and p.name.isdigit()] if root.is_dir() else []


def event_numbers(event) -> dict:
    """The JSON-able numbers of an EpochEvent (everything but the weights)."""
    numbers = event.as_dict() if hasattr(event, "as_dict") else vars(event)  # a partial epoch adds x, partial
    skip = {"network", "model"}
    return {k: v for k, v in numbers.items() if k not in skip and isinstance(v, (int, float, str))}
