"""The app's one state object.

Every panel gets the same `AppState`, reads its attributes and subscribes to its signals; panels never call each
other. Whoever changes the state (the control panel, the training controller, a menu action) does it through the
methods here, which emit the matching signal, so every view follows: nothing else assigns the state's attributes
or a run's status, or emits the state's signals. `training` and `paused` are derived from the runs' statuses.

The "current model" is what the insight panels draw: the selected run's network at the selected epoch. While a run
trains, the selection follows the newest epoch unless the user has moved the epoch slider.

Runs are kept (`open_run_store`, called when the main window restores the session): every change to a run made
here (a new epoch, its end, a rename, a tick, its removal) is written to the runs folder by `core.run_store` on a
background thread, and the runs come back at the next launch.

Which runs' curves are shown (`Run.visible`): the user's own tick when they gave one; otherwise a new run and the
run that was selected when it started, so two runs are compared by default, not every run ever trained; selecting
a run shows it too. The ticks are saved with the runs: the next launch shows the same ones.
"""

from __future__ import annotations

import re

import numpy as np
from PySide6.QtCore import QObject, Signal

from core import run_files, run_store
from explorer.runs import (
    RUN_COLOURS,
    GrowingArray,
    Run,
    RunStatus,
    TrainRequest,
    event_numbers,
    new_curve_points,
    numbered_folders,
    restored_run,
    run_colour,
    run_record,
)
from explorer.settings import abstain_setting, save_abstain_setting

__all__ = ["RUN_COLOURS", "AppState", "GrowingArray", "Run", "RunStatus"]


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
    abstainChanged = Signal(float)  # the confidence under which the network says "not sure" (Errors, Draw)
    diskUsageChanged = Signal(object)  # bytes the saved runs take on disk (int)
    trainRequested = Signal(object)  # TrainRequest: the training controller starts it (one run at a time)
    stopRequested = Signal()  # the training controller stops the run training (after its current batch)
    # from the run store's writer thread; connected to this object's slots, so they arrive on the GUI thread
    _storeUsage = Signal(object)
    _storeNote = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.dataset = None
        self.config = None
        self.config_error = ""
        self.runs: list[Run] = []
        self.selected_run: Run | None = None
        self.selected_epoch = 0  # 1-based; 0 = none
        self.follow_latest = True  # the epoch slider tracks new epochs until the user moves it
        self.selected_image: tuple[str, int] = ("train", 0)
        self._next_run_id = 1  # internal ids (folder names, colours): unique, never reused
        self._next_number = 1  # the N of "run N" (see new_run)
        self.run_store: run_store.RunStore | None = None  # set by open_run_store
        self.disk_usage: int | None = None  # bytes, while runs are kept
        self.skipped_runs: list[str] = []  # why each saved run that could not be read was skipped
        self.abstain_threshold = abstain_setting()  # 0..1, kept between launches (explorer/settings.py)
        self._storeUsage.connect(self._on_store_usage)
        self._storeNote.connect(self._on_store_note)

    # --- dataset and configuration -------------------------------------------------------------------------
    def set_dataset(self, dataset) -> None:
        self.dataset = dataset
        self.datasetChanged.emit(dataset)

    def set_config(self, config, error: str = "") -> None:
        self.config, self.config_error = config, error
        self.configChanged.emit(config)
        self.configError.emit(error)

    # --- training requests ----------------------------------------------------------------------------------
    def request_training(self, request: TrainRequest) -> None:
        """Ask for a run (Train, Continue, the rotation experiment): the one training controller starts it and sets
        `request.run`, or leaves it None and sets `request.refusal` (one sentence) when a run is training."""
        self.trainRequested.emit(request)

    def request_stop(self) -> None:
        """Ask the run that trains to stop after its current batch (it keeps its epochs and partial epoch)."""
        self.stopRequested.emit()

    def show_status(self, text: str) -> None:
        """One sentence for the status bar (what happened, what to do)."""
        self.statusMessage.emit(text)

    # --- a run's training, as the training controller reports it -------------------------------------------
    @property
    def training(self) -> bool:
        """A run is training (or paused) right now."""
        return any(run.status.unfinished for run in self.runs)

    @property
    def paused(self) -> bool:
        return any(run.status is RunStatus.PAUSED for run in self.runs)

    def begin_training(self, run: Run) -> None:
        run.status = RunStatus.TRAINING
        self.trainingStarted.emit(run)
        self.pausedChanged.emit(False)
        self.runsChanged.emit()

    def set_paused(self, run: Run, paused: bool) -> None:
        if run.status.unfinished:
            run.status = RunStatus.PAUSED if paused else RunStatus.TRAINING
            self.pausedChanged.emit(paused)
            self.runsChanged.emit()

    def append_batches(self, run: Run, chunk) -> None:
        """A throttled delivery of batches (explorer.training_feed.BatchChunk): the curves grow, the speed and
        time left follow."""
        run.batch_x.extend(chunk.x + run.epoch_offset)
        run.batch_loss.extend(chunk.loss)
        run.batch_accuracy.extend(chunk.accuracy)
        run.batch_lr.extend(chunk.lr)
        run.batch_loss_smooth.extend(chunk.loss_smooth)
        run.batch_accuracy_smooth.extend(chunk.accuracy_smooth)
        run.samples_per_second = chunk.samples_per_second
        run.seconds_left = chunk.seconds_left
        run.seconds = chunk.active_seconds
        self.runUpdated.emit(run)
        self.trainingProgress.emit(chunk.last)

    # --- runs ------------------------------------------------------------------------------------------------
    def new_run(self, config, name: str | None = None, kept: bool = True, status=RunStatus.TRAINING) -> Run:
        """Add a run and select it. It takes the next number ("run N") when it has no name or its name starts
        with that number; runs named otherwise (the experiment's, a loaded model) leave the numbers alone, so
        the numbers the user sees never skip. `kept`: saved to the runs folder (while one is open)."""
        run_id, number = self._next_run_id, 0
        if kept and self.run_store is not None:
            run_id = self.run_store.reserve_id(run_id)
        self._next_run_id = run_id + 1
        if name is None or re.match(rf"run {self._next_number}\b", name):
            number = self._next_number
            self._next_number += 1
        run = Run(run_id=run_id, name=name or f"run {number}", config=config, colour=run_colour(run_id),
                  dataset=getattr(self.dataset, "name", ""), number=number, kept=kept, status=status)  # fmt: skip
        partner = self.selected_run
        self.runs.append(run)
        self.selected_run = run
        self.follow_latest = True
        self.selected_epoch = 0  # the new run has no epochs yet; its first one will be selected when it ends
        self._default_ticks(partner)
        if self.run_store is not None:
            self.run_store.save_counters(self._next_run_id, self._next_number)
        self.runsChanged.emit()
        return run

    def add_loaded_run(self, model, name: str) -> Run:
        """A run for a model read from a file: its history becomes the curves, its weights the newest epoch.
        It is not copied into the runs folder: the file it came from keeps it."""
        run = self.new_run(model.config, name=name, kept=False, status=RunStatus.LOADED)
        run.dataset = model.dataset
        run.classes = [str(c) for c in model.classes]
        run.history = [dict(h) for h in model.history]
        run.snapshots.append(model)  # a model file keeps only its final weights, so the slider has one stop
        run.seconds = float(sum(h.get("epoch_seconds", 0.0) for h in run.history))
        self.selected_epoch = len(run.snapshots)
        self.runsChanged.emit()
        self.runUpdated.emit(run)
        self._emit_model()
        return run

    @property
    def next_run_number(self) -> int:
        """The N the next numbered run ("run N") will get: numbers start at 1, are never reused, and carry on
        after a restart."""
        return self._next_number

    @property
    def training_runs(self) -> list[Run]:
        """The runs training (or paused) right now: the Train button's, or the rotation experiment's."""
        return [run for run in self.runs if run.status in run_files.UNFINISHED]

    def end_run(self, run: Run, status: str, message: str = "") -> None:
        """A run ended ("completed", "stopped", "diverged", "error"; its thread has ended): record why, save it,
        and tell every view (a diverged or failed run's sentence goes to `trainingFailed` too)."""
        run.status, run.message, run.seconds_left = RunStatus(status), message, None
        self._save(run)
        if run.status in (RunStatus.DIVERGED, RunStatus.ERROR):
            self.trainingFailed.emit(message)
        self.pausedChanged.emit(False)
        self.trainingFinished.emit(run)
        self.runsChanged.emit()

    def remove_run(self, run: Run) -> None:
        """Remove a run from the list and its files from the runs folder (not the one training)."""
        if run in self.runs and not run.status.unfinished:
            self.runs.remove(run)
            if self.run_store is not None and run.on_disk:
                self.run_store.remove(run.run_id, run.name)
            if self.selected_run is run:
                self.selected_run = self.runs[-1] if self.runs else None
                self.follow_latest = True
                self.selected_epoch = len(self.selected_run.snapshots) if self.selected_run else 0
                self._emit_model()
            self.runsChanged.emit()

    def rename_run(self, run: Run, name: str) -> None:
        run.name = name.strip() or run.name
        self._save(run, only_if_on_disk=True)
        self.runsChanged.emit()

    def set_run_visible(self, run: Run, visible: bool) -> None:
        """The user ticks (or unticks) a run: their choice stays, whatever runs come after."""
        run.visible = run.visible_choice = bool(visible)
        self._save(run, only_if_on_disk=True)
        self.runsChanged.emit()

    def select_run(self, run: Run | None) -> None:
        self.selected_run = run
        self.follow_latest = True
        if run is not None and run.visible_choice is None and not run.visible:
            run.visible = True  # the selected run's curves are shown unless the user unticked it
            self._save(run, only_if_on_disk=True)
            self.runsChanged.emit()
        # show the run's newest epoch, not the epoch number the previous run happened to be at
        self.selected_epoch = len(run.snapshots) if run is not None else 0
        self._emit_model()

    def _default_ticks(self, partner: Run | None) -> None:
        """Untick every run the user did not tick, except the newest and `partner` (the one it is compared to)."""
        newest = self.runs[-1] if self.runs else None
        for run in self.runs:
            chosen = run.visible_choice
            visible = chosen if chosen is not None else run is newest or run is partner
            if visible != run.visible:
                run.visible = visible
                self._save(run, only_if_on_disk=True)  # the next launch shows the same ticks

    # --- the runs folder ---------------------------------------------------------------------------------------
    def open_run_store(self, root=None) -> None:
        """Bring back the runs kept in `root` (default: the user's data folder / "runs") and keep every run from
        now on. A run folder that cannot be read is skipped, with one sentence in the status bar."""
        store = run_store.RunStore(root or run_files.runs_root(), on_usage=self._storeUsage.emit,
                                   on_note=self._storeNote.emit)  # fmt: skip
        stored, problems = run_files.load_runs(store.root)
        restored = [restored_run(s) for s in stored]
        self.runs = restored + [r for r in self.runs if r.run_id not in {s.run_id for s in restored}]
        ids = [r.run_id for r in self.runs] + [int(p.name) for p in numbered_folders(store.root)]
        self._next_run_id = max([store.next_run_id, self._next_run_id, *(i + 1 for i in ids)])
        self._next_number = max([store.next_number, self._next_number, *(r.number + 1 for r in self.runs)])
        self.run_store = store
        self.disk_usage = store.usage()
        self.skipped_runs = [str(p) for p in problems]  # the line under the runs list shows these
        if restored:
            self.selected_run = self.runs[-1]
            self.selected_epoch, self.follow_latest = len(self.selected_run.snapshots), True
        self.runsChanged.emit()
        self.diskUsageChanged.emit(self.disk_usage)
        if restored:
            self._emit_model()
        if problems:
            first = problems[0]
            others = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
            self.statusMessage.emit(f"Skipped saved run {first.folder.name}{others}: it {first.problem.rstrip('.')} "
                                    f"(delete {first.folder} to stop seeing this).")  # fmt: skip

    def close_run_store(self, timeout: float = 5.0) -> bool:
        """Quitting: a run still training is saved as stopped (with the epochs it finished); wait for the writes.
        True when everything was written in time."""
        store = self.run_store
        if store is None:
            return True
        for run in self.training_runs:
            self.end_run(run, "stopped")
        done = store.flush(timeout)
        store.on_usage = store.on_note = None  # this object may be deleted before a late write ends
        self.run_store = None
        return done

    def set_disk_limit(self, limit_mb: int) -> None:
        """The most the runs folder may hold; past it the oldest runs are thinned (core/run_store.py)."""
        if self.run_store is not None and int(limit_mb) != self.run_store.limit_mb:
            self.run_store.set_limit(int(limit_mb), keep=self._protected_ids())

    @property
    def disk_limit_mb(self) -> int | None:
        return self.run_store.limit_mb if self.run_store is not None else None

    def _protected_ids(self) -> set[int]:
        """Runs the disk limit never thins: the newest and any still training."""
        newest = {self.runs[-1].run_id} if self.runs else set()
        return newest | {run.run_id for run in self.training_runs}

    def _save(self, run: Run, snapshot=None, only_if_on_disk: bool = False) -> None:
        if self.run_store is None or not run.kept or run not in self.runs:
            return
        if only_if_on_disk and not run.on_disk:
            return  # a rename before the first epoch: the first save will carry it
        run.on_disk = True
        curves = new_curve_points(run)
        dynamics = run.dynamics if snapshot is not None and hasattr(run.dynamics, "epochs") else None
        self.run_store.save(run_record(run), curves, snapshot, keep=self._protected_ids(), dynamics=dynamics)

    def _on_store_note(self, text: str) -> None:
        self.show_status(text)

    def _on_store_usage(self, used) -> None:
        self.disk_usage = used
        self.diskUsageChanged.emit(used)

    # --- epochs and the current model ------------------------------------------------------------------------
    def add_epoch(self, run: Run, event, model, seconds: float | None = None) -> None:
        """Record an epoch's numbers and weights; move the selection along unless the user pinned an epoch.

        A stopped run's partial epoch carries its position on the epoch axis ("x") in its numbers.
        """
        if seconds is not None:  # the run's training time so far
            run.seconds = seconds
        run.snapshots.append(model)
        run.history.append(event_numbers(event))
        run.dynamics = getattr(event, "dynamics", None) or run.dynamics  # the per-image record so far
        if not run.classes and model is not None:
            run.classes = [str(c) for c in model.classes]
        self._save(run, snapshot=model)
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
        model = self.model
        if model is None and run is not None and run.snapshots and run.snapshots.problem:
            self.statusMessage.emit(f"The saved weights of {run.name} could not be read, but its curves and history "
                                    f"are still here ({run.snapshots.problem.rstrip('.')}).")  # fmt: skip
        self.modelChanged.emit(model)

    def set_abstain_threshold(self, value: float) -> None:
        """The confidence under which the network abstains ("not sure"); saved for the next launch."""
        value = save_abstain_setting(value)
        if value != self.abstain_threshold:
            self.abstain_threshold = value
            self.abstainChanged.emit(value)

    # --- images ----------------------------------------------------------------------------------------------
    def select_image(self, split: str, index: int) -> None:
        self.selected_image = (split, int(index))
        self.imageSelected.emit(split, int(index))

