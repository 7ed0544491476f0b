"""Train › Sweep…: build a grid from the current settings (up to four settings, each with its values), see the
run count and an estimate of the time, choose where it trains (this machine's cores or a Dask scheduler).

The grid is checked as the user types, by the command line's own parser (`core.sweep`): a bad key or value is one
sentence under the grid and Start stays disabled. The estimate scales the newest run's measured speed (samples a
second) by each sweep run's work (training images x epochs x the multiply-adds of its layers), spread over the
workers; without a run to go by it is a rough guess and says so.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
)

ROWS = 4
NONE = "\u2014"  # the key box's "no setting"
GUESS_MACS_PER_SECOND = 4e9  # one worker thread's forward multiply-adds a second, when no run says better
START_SECONDS = 5.0  # starting the local cluster's worker processes


def layer_work(config) -> float:
    """Forward multiply-adds of one sample through the dense layers (conv layers counted as their input size)."""
    sizes = [784] + [h for h in config.hidden if isinstance(h, int)] + [10]
    return float(sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=False)))


def run_samples(config, n_train: int) -> int:
    n = min(n_train, config.train_limit or n_train)
    return n * config.epochs * (3 if config.augment == "rashid" else 1)


def estimate_seconds(plan, n_train: int, workers: int, reference=None) -> tuple[float, str]:
    """(seconds, what the figure rests on) for `plan` on `workers` one-thread workers."""
    if reference is not None:
        speed = float(reference.history[-1]["samples_per_second"]) * layer_work(reference.config)
        basis = f"from the speed of \u201c{reference.name}\u201d, {reference.history[-1]['samples_per_second']:,.0f} samples/s"
    else:
        speed, basis = GUESS_MACS_PER_SECOND, "a rough guess: no run yet to measure by"
    work = sum(run_samples(c, n_train) * layer_work(c) / speed for c in plan.configs)
    return START_SECONDS + work / max(1, min(workers, len(plan))), basis


def reference_run(runs):
    """The newest run with a measured speed."""
    for run in reversed(runs):
        if run.history and run.history[-1].get("samples_per_second"):
            return run
    return None


def duration_text(seconds: float) -> str:
    minutes = int(round(seconds / 60))
    if seconds < 90:
        return f"{max(1, int(round(seconds)))} s"
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def default_values(config) -> dict[str, str]:
    """The grid the dialog opens with: the learning rate around the current one, the current width and twice it."""
    lr = config.lr
    widths = [h for h in config.hidden if isinstance(h, int)]
    first = widths[0] if widths else 128
    return {"lr": f"{lr / 10:g},{lr:g},{lr * 10:g}", "hidden": f"{max(1, first // 2)},{first}"}


class SweepDialog(QDialog):
    def __init__(self, state, parent=None):
        from core.sweep import key_names
        from core.sweep_dask import default_workers

        super().__init__(parent)
        self.setObjectName("sweepDialog")
        self.setWindowTitle("Sweep")
        self.state = state
        self.config = state.config
        self.plan = None
        intro = QLabel("Train every combination of these settings' values, starting from the current settings, "
                       "in parallel on Dask. Separate values with commas; a value's layers with / (512/256).")  # fmt: skip
        intro.setWordWrap(True)
        grid_box = self._build_grid(key_names())
        form = QFormLayout()
        self.epochs_spin = QSpinBox(objectName="sweepEpochsSpin", minimum=1, maximum=1000, value=self.config.epochs)
        self.limit_spin = QSpinBox(objectName="sweepLimitSpin", minimum=0, maximum=10_000_000, singleStep=1000,
                                   value=self.config.train_limit, specialValueText="all")  # fmt: skip
        self.workers_spin = QSpinBox(objectName="sweepWorkersSpin", minimum=1, maximum=256, value=default_workers())
        self.scheduler_edit = QLineEdit(objectName="sweepSchedulerEdit",
                                        placeholderText="empty: worker processes on this machine")  # fmt: skip
        self.scheduler_edit.setToolTip("A Dask scheduler's address, tcp://HOST:PORT, started with `dask scheduler` "
                                       "and `dask worker tcp://HOST:PORT` on each machine")  # fmt: skip
        self.folder_edit = QLineEdit(str(default_folder()), objectName="sweepFolderEdit")
        form.addRow("Epochs per run", self.epochs_spin)
        form.addRow("Training images", self.limit_spin)
        form.addRow("Local workers", self.workers_spin)
        form.addRow("Scheduler", self.scheduler_edit)
        form.addRow("Model files in", self.folder_edit)
        self.summary = QLabel(objectName="sweepSummary", wordWrap=True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.start_button = self.buttons.addButton("Start sweep", QDialogButtonBox.ButtonRole.AcceptRole)
        self.start_button.setObjectName("sweepStartButton")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(grid_box)
        layout.addLayout(form)
        layout.addWidget(self.summary)
        layout.addWidget(self.buttons)
        for box, edit in zip(self.key_boxes, self.value_edits, strict=True):
            box.currentIndexChanged.connect(self.update_plan)
            edit.textChanged.connect(self.update_plan)
        for spin in (self.epochs_spin, self.limit_spin, self.workers_spin):
            spin.valueChanged.connect(self.update_plan)
        self.scheduler_edit.textChanged.connect(self.update_plan)
        self.resize(560, self.sizeHint().height())
        self.update_plan()

    def _build_grid(self, keys) -> QGroupBox:
        """The grid's rows: a setting and its values each, the first rows filled from the current settings."""
        grid_box = QGroupBox("Grid")
        grid = QGridLayout(grid_box)
        self.key_boxes, self.value_edits = [], []
        defaults = default_values(self.config)
        for i in range(ROWS):
            box = QComboBox(objectName=f"sweepKey{i}")
            box.addItems([NONE, *keys])
            edit = QLineEdit(objectName=f"sweepValues{i}", placeholderText="V1,V2,...")
            if i < len(defaults):
                key = list(defaults)[i]
                box.setCurrentText(key)
                edit.setText(defaults[key])
            grid.addWidget(box, i, 0)
            grid.addWidget(edit, i, 1)
            self.key_boxes.append(box)
            self.value_edits.append(edit)
        grid.setColumnStretch(1, 1)
        return grid_box

    # --- the grid ----------------------------------------------------------------------------------------------
    def set_row(self, row: int, key: str, values: str) -> None:
        self.key_boxes[row].setCurrentText(key or NONE)
        self.value_edits[row].setText(values)

    def grid_items(self) -> list[str]:
        """The rows as `--grid` items: ["lr=0.1,0.01", ...] (rows without a setting are left out)."""
        items = []
        for box, edit in zip(self.key_boxes, self.value_edits, strict=True):
            if box.currentText() != NONE:
                items.append(f"{box.currentText()}={edit.text()}")
        return items

    def base(self) -> dict:
        """The current settings (all of them), with the dialog's epochs and training images."""
        base = self.config.to_dict()
        base.pop("threads", None)
        base.update(epochs=self.epochs_spin.value(), train_limit=self.limit_spin.value())
        dataset = self.state.dataset
        if dataset is not None:  # the dataset loaded now, by name or (a user's own) by its path
            base["dataset"] = dataset.name if dataset.name in ("mnist", "fashion-mnist") else str(dataset.source)
        return base

    def update_plan(self, *_):
        """Re-check the grid; show the run count and the estimate, or the sentence that says what is wrong."""
        from core import sweep

        try:
            self.plan = sweep.plan(None, self.base(), sweep.parse_grid(self.grid_items()))
        except (sweep.SweepError, ValueError) as exc:
            self.plan = None
            self.summary.setText(f"<span style='color:#b00020'>{str(exc)[:1].upper()}{str(exc)[1:]}</span>")
            self.start_button.setEnabled(False)
            return
        self.summary.setText(self.estimate_text())
        self.start_button.setEnabled(True)

    def estimate_text(self) -> str:
        n = len(self.plan)
        if self.scheduler.strip():
            return f"{n} run{'s' if n != 1 else ''} on the cluster at {self.scheduler.strip()}."
        dataset = self.state.dataset
        n_train = dataset.n_train if dataset is not None else 60_000
        workers = self.workers_spin.value()
        seconds, basis = estimate_seconds(self.plan, n_train, workers, reference_run(self.state.runs))
        return (f"{n} run{'s' if n != 1 else ''}, about {duration_text(seconds)} on {min(workers, n)} "
                f"worker{'s' if min(workers, n) != 1 else ''} ({basis}).")  # fmt: skip

    @property
    def scheduler(self) -> str:
        return self.scheduler_edit.text()

    def folder(self) -> Path:
        return Path(self.folder_edit.text().strip() or default_folder()).expanduser()


def default_folder() -> Path:
    from core.paths import data_dir

    return data_dir() / "sweeps" / time.strftime("sweep-%Y%m%d-%H%M%S")
