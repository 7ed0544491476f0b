"""The app's one state object.

Every panel gets the same `AppState`, reads its attributes and subscribes to its signals; panels never call each
other. Whoever changes the state (the control panel, the worker, a menu action) does it through the methods here,
which emit the matching signal, so every view follows.

The "current model" is what the insight panels draw: the selected run's network at the selected epoch. While a run
trains, the selection follows the newest epoch unless the user has moved the epoch slider.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

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


@dataclass
class Run:
    """One training run: its settings, its curves, and its per-epoch weights."""

    run_id: int
    name: str
    config: Any  # core.training.TrainConfig
    colour: str
    dataset: str = ""
    visible: bool = True
    status: str = (
        "training"  # "training" | "paused" | "completed" | "stopped" | "diverged" | "error" | "loaded"
    )
    # Per-batch curves, appended by the worker's throttled deliveries (x in epochs, fractional).
    # GrowingArray, not list: a 100-epoch run has ~47,000 points per curve, and the plots read them as NumPy views
    # at up to 20 updates a second without converting a Python list each time.
    batch_x: GrowingArray = field(default_factory=lambda: GrowingArray())
    batch_loss: GrowingArray = field(default_factory=lambda: GrowingArray())
    batch_accuracy: GrowingArray = field(default_factory=lambda: GrowingArray())
    batch_lr: GrowingArray = field(default_factory=lambda: GrowingArray())
    history: list[dict] = field(default_factory=list)  # one dict per epoch, as core's Trainer.history
    snapshots: list[Any] = field(default_factory=list)  # core.model_io.Model per epoch (index 0 = epoch 1)
    seconds: float = 0.0
    # Smoothed (debiased EMA) per-batch curves, computed by the worker alongside the raw ones.
    batch_loss_smooth: GrowingArray = field(default_factory=lambda: GrowingArray())
    batch_accuracy_smooth: GrowingArray = field(default_factory=lambda: GrowingArray())
    epoch_offset: float = 0.0  # a run continued from another starts where that one ended on the epoch axis
    parent_name: str = ""  # the run whose weights it continued from, if any
    samples_per_second: float = 0.0  # recent training speed, while it trains
    seconds_left: float | None = None  # estimated time to the end of the run, while it trains
    message: str = ""  # why it ended, when it failed (one sentence)

    @property
    def final_accuracy(self) -> float | None:
        return self.history[-1].get("test_accuracy") if self.history else None

    @property
    def model(self):
        """The newest epoch's model, or None before the first epoch ends."""
        return self.snapshots[-1] if self.snapshots else None


class AppState(QObject):
    """Holds the dataset, the configuration, the runs and the selection; emits a signal for every change."""

    datasetChanged = Signal(object)  # core.datasets.Dataset
    configChanged = Signal(object)  # core.training.TrainConfig (valid or not; see configError)
    configError = Signal(str)  # "" when the configuration is valid
    runsChanged = Signal()  # a run was added, removed, renamed, shown or hidden
    runUpdated = Signal(object)  # Run: new batch points or a new epoch (throttled by the worker)
    trainingStarted = Signal(object)  # Run
    trainingProgress = Signal(object)  # core.training.BatchEvent (throttled)
    epochEnded = Signal(object, object)  # Run, core.training.EpochEvent
    trainingFinished = Signal(object)  # Run (its status says why: completed, stopped, diverged, error)
    trainingFailed = Signal(str)  # one plain sentence for the user
    pausedChanged = Signal(bool)
    modelChanged = Signal(object)  # core.model_io.Model or None: what the insight panels draw
    epochSelected = Signal(int)  # 1-based epoch of the selected run now shown
    imageSelected = Signal(str, int)  # split ("train" | "test"), index
    statusMessage = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.dataset = None
        self.config = None
        self.config_error = ""
        self.runs: list[Run] = []
        self.selected_run: Run | None = None
        self.selected_epoch = 0  # 1-based; 0 = none
        self.follow_latest = True  # the epoch slider tracks new epochs until the user moves it
        self.training = False
        self.paused = False
        self.selected_image: tuple[str, int] = ("train", 0)
        self._next_run_id = 1

    # --- dataset and configuration -------------------------------------------------------------------------
    def set_dataset(self, dataset) -> None:
        self.dataset = dataset
        self.datasetChanged.emit(dataset)

    def set_config(self, config, error: str = "") -> None:
        self.config, self.config_error = config, error
        self.configChanged.emit(config)
        self.configError.emit(error)

    # --- runs ------------------------------------------------------------------------------------------------
    def new_run(self, config, name: str | None = None) -> Run:
        run_id = self._next_run_id
        self._next_run_id += 1
        run = Run(
            run_id=run_id,
            name=name or f"run {run_id}",
            config=config,
            colour=RUN_COLOURS[(run_id - 1) % len(RUN_COLOURS)],
            dataset=getattr(self.dataset, "name", ""),
        )
        self.runs.append(run)
        self.selected_run = run
        self.follow_latest = True
        self.selected_epoch = 0  # the new run has no epochs yet; its first one will be selected when it ends
        self.runsChanged.emit()
        return run

    def add_loaded_run(self, model, name: str) -> Run:
        """A run for a model read from a file: its history becomes the curves, its weights the newest epoch."""
        run = self.new_run(model.config, name=name)
        run.status = "loaded"
        run.dataset = model.dataset
        run.history = [dict(h) for h in model.history]
        run.snapshots = [model]  # a model file keeps only its final weights, so the slider has one stop
        run.seconds = float(sum(h.get("epoch_seconds", 0.0) for h in run.history))
        self.selected_epoch = len(run.snapshots)
        self.runsChanged.emit()
        self.runUpdated.emit(run)
        self._emit_model()
        return run

    @property
    def next_run_id(self) -> int:
        """The number the next run will get (runs are numbered from 1 and never reuse a number)."""
        return self._next_run_id

    def remove_run(self, run: Run) -> None:
        if run in self.runs and not (self.training and run is self.runs[-1] and run.status == "training"):
            self.runs.remove(run)
            if self.selected_run is run:
                self.selected_run = self.runs[-1] if self.runs else None
                self.follow_latest = True
                self.selected_epoch = len(self.selected_run.snapshots) if self.selected_run else 0
                self._emit_model()
            self.runsChanged.emit()

    def rename_run(self, run: Run, name: str) -> None:
        run.name = name.strip() or run.name
        self.runsChanged.emit()

    def set_run_visible(self, run: Run, visible: bool) -> None:
        run.visible = visible
        self.runsChanged.emit()

    def select_run(self, run: Run | None) -> None:
        self.selected_run = run
        self.follow_latest = True
        # show the run's newest epoch, not the epoch number the previous run happened to be at
        self.selected_epoch = len(run.snapshots) if run is not None else 0
        self._emit_model()

    # --- epochs and the current model ------------------------------------------------------------------------
    def add_epoch(self, run: Run, event, model, extra: dict | None = None) -> None:
        """Record an epoch's numbers and weights; move the selection along unless the user pinned an epoch.

        `extra` adds numbers to the history entry (e.g. a partial epoch's position on the epoch axis).
        """
        run.snapshots.append(model)
        run.history.append({**_event_numbers(event), **(extra or {})})
        self.epochEnded.emit(run, event)
        self.runUpdated.emit(run)
        if run is self.selected_run and self.follow_latest:
            self.selected_epoch = len(run.snapshots)
            self._emit_model()

    def select_epoch(self, epoch: int, by_user: bool = True) -> None:
        run = self.selected_run
        if run is None or not run.snapshots:
            return
        epoch = int(np.clip(epoch, 1, len(run.snapshots)))
        if by_user:
            self.follow_latest = epoch == len(run.snapshots)
        if epoch != self.selected_epoch:
            self.selected_epoch = epoch
            self._emit_model()

    @property
    def model(self):
        """The model the insight panels draw: the selected run at the selected epoch (or None)."""
        run = self.selected_run
        if run is None or not run.snapshots:
            return None
        epoch = self.selected_epoch or len(run.snapshots)
        return run.snapshots[min(epoch, len(run.snapshots)) - 1]

    def _emit_model(self) -> None:
        run = self.selected_run
        if run is not None and run.snapshots and not 1 <= self.selected_epoch <= len(run.snapshots):
            self.selected_epoch = len(run.snapshots)
        self.epochSelected.emit(self.selected_epoch)
        self.modelChanged.emit(self.model)

    # --- images ----------------------------------------------------------------------------------------------
    def select_image(self, split: str, index: int) -> None:
        self.selected_image = (split, int(index))
        self.imageSelected.emit(split, int(index))


def _event_numbers(event) -> dict:
    """The JSON-able numbers of an EpochEvent (everything but the weights)."""
    skip = {"network", "model"}
    return {k: v for k, v in vars(event).items() if k not in skip and isinstance(v, (int, float, str))}
