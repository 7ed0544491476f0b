"""Does rotation help? Train the current configuration twice, without and with rotation, and compare.

Both runs train on the same subset with the same seed, one after the other, as any run does: the experiment asks
the state for each (`AppState.request_training`) and the one training controller starts it, so the Train button
and the main progress bar follow the experiment as they follow any run, and nothing else trains meanwhile. The
comparison: each run's test accuracy per epoch, and a 2x2 table of final accuracy on the plain test set and on a
rotated copy of it (each test image turned by a random angle within the range, fixed seed, so both runs face the
same test), computed off the GUI thread when the runs have ended.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from core import augment as core_augment
from explorer.export import attach_export
from explorer.jobs import JobRunner
from explorer.runs import TrainRequest
from explorer.widgets.training_status import make_readable

ROTATED_TEST_SEED = 20240  # the rotated test set is the same every time, for every run
IDLE_TEXT = (
    "Both runs use the settings on the left (the same network, optimiser and seed); only rotation differs"
)
STATUS_LINES = 2  # the status line's room
EMPTY_HTML = (
    '<div style="color: #777777; text-align: center">Run the experiment to see<br>both runs\' test accuracy '
    "here</div>"
)
PROGRESS_STEPS = 20  # the experiment's progress bar moves in twentieths of an epoch
COLOURS = ("#7f7f7f", "#d62728")  # without, with rotation, until the runs exist and bring their own colours


def rotated_test_images(images: np.ndarray, degrees: float, seed: int = ROTATED_TEST_SEED) -> np.ndarray:
    """Each test image turned by its own random angle in -degrees..+degrees (bilinear, black corners), uint8."""
    angles = np.random.default_rng(seed).uniform(-degrees, degrees, len(images))
    turned = core_augment.rotate(images.astype(np.float32), angles, order=1, cval=0.0)
    return np.clip(np.rint(turned), 0, 255).astype(np.uint8)


def experiment_degrees(config) -> float:
    """The rotation range the experiment tests: the configuration's own, or 10 degrees when it has none."""
    if config is not None and config.augment != "off" and config.rotate > 0:
        return float(config.rotate)
    return 10.0


def experiment_configs(base, degrees: float, scheme: str, train_limit: int, epochs: int):
    """The two configurations: the base one without augmentation, and with rotation (random unless Rashid's)."""
    common = dict(train_limit=train_limit, epochs=epochs, shift=0, elastic=0.0)
    without = dataclasses.replace(base, augment="off", rotate=0.0, **common)
    with_rotation = dataclasses.replace(
        base, augment=scheme if scheme != "off" else "random", rotate=degrees, **common
    )
    return [("without rotation", without), (f"with rotation ±{degrees:g}°", with_rotation)]


def evaluate_runs(models, images, labels, degrees: float) -> list[tuple[float, float]]:
    """Each model's accuracy on the plain test set and on its rotated copy (a background job)."""
    rotated = rotated_test_images(images, degrees)
    return [
        (float(np.mean(m.predict(images) == labels)), float(np.mean(m.predict(rotated) == labels)))
        for m in models
    ]


class RotationExperiment(QGroupBox):
    """The controls, progress, curves and table of the with/without-rotation experiment."""

    def __init__(self, state, parent=None):
        super().__init__("Experiment: does rotation help?", parent)
        self.setObjectName("rotationExperiment")
        self.state = state
        self.runs: list = [None, None]
        self.results = np.full((2, 2), np.nan)  # rows: without, with; columns: plain, rotated test set
        self._queue: list = []  # (which, name, config) of the runs still to train
        self._active = False  # from Run until both runs ended and their results are in
        self._stopping = False
        self._degrees = 10.0
        self._showing_reason = False
        self._evaluation = JobRunner(self)
        self._evaluation.done.connect(self._on_results)
        self._evaluation.failed.connect(self._on_error)

        self._build_controls()
        self._build_plot()
        self._build_table()
        self._show_table()
        self._lay_out()

        self.run_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        state.trainingStarted.connect(lambda _run: self._update_enabled())
        state.trainingFinished.connect(self._on_run_finished)
        state.trainingProgress.connect(self._on_progress)
        state.epochEnded.connect(self._on_epoch)
        state.datasetChanged.connect(lambda _dataset: self._update_enabled())
        state.configChanged.connect(self._on_config_changed)
        self._update_enabled()

    # --- building ----------------------------------------------------------------------------------------------
    def _build_controls(self) -> None:
        """The images and epochs of each run, Run and Stop, the progress bar and the status line."""
        self.limit_spin = QSpinBox(
            objectName="experimentLimitSpin", minimum=500, maximum=60000, singleStep=1000
        )
        self.limit_spin.setValue(10000)
        self.limit_spin.setGroupSeparatorShown(True)
        self.limit_spin.setToolTip(
            "Train on the first N training images: 10,000 gives a clear answer in about a minute; 60,000 takes longer"
        )
        self.epochs_spin = QSpinBox(objectName="experimentEpochsSpin", minimum=1, maximum=30, value=3)
        self.epochs_spin.setToolTip(
            "Epochs per run; 3 is enough to see the difference, more makes it clearer"
        )
        self.run_button = QPushButton("Run e&xperiment", objectName="experimentRunButton")
        self.run_button.setToolTip(
            "Train the current configuration twice, without and with rotation, and compare them on the plain and "
            "a rotated test set (Alt+X)"
        )
        self.stop_button = QPushButton("Sto&p", objectName="experimentStopButton", enabled=False)
        self.stop_button.setToolTip(
            "Stop the experiment after the current batch (the epochs so far are kept)"
        )
        self.progress = QProgressBar(objectName="experimentProgress")
        self.progress.setTextVisible(True)
        make_readable(self.progress)
        self.status_label = QLabel(IDLE_TEXT, wordWrap=True)
        self.status_label.setObjectName("experimentStatus")
        # Two lines of room, held whatever it says: the busy line ("Testing both runs on the test set rotated by
        # up to ±10°…") wraps in the narrow column, and a second line laid out in one line's room ran over the
        # top of the plot. The plot does not jump as the text changes, either.
        self.status_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.status_label.setFixedHeight(STATUS_LINES * self.status_label.fontMetrics().lineSpacing() + 4)
        self.status_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def _build_plot(self) -> None:
        """Each run's test accuracy per epoch, with a hint until the experiment has run."""
        self.plot = pg.PlotWidget(objectName="experimentPlot")
        self.plot.setBackground("w")
        self.plot.setMenuEnabled(False)
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.plot.setLabel("bottom", "epoch")
        self.plot.setLabel("left", "test accuracy (%)")
        self.plot.setXRange(1, 3)
        self.plot.setYRange(80, 100)
        self.plot.addLegend(offset=(-10, 10))
        self.plot.setToolTip(
            "Test accuracy after each epoch, each run in its colour in the training panel's runs list"
        )
        self.curves = [
            self.plot.plot([], [], pen=pg.mkPen(c, width=2), symbol="o", symbolSize=6, symbolBrush=c, name=n)
            for c, n in zip(COLOURS, ("without rotation", "with rotation"), strict=True)
        ]
        # Two centred lines: as one line it was wider than the plot in the narrow column, cut at both ends.
        self.empty_text = pg.TextItem(html=EMPTY_HTML, anchor=(0.5, 0.5))
        text = self.empty_text.textItem
        text.setTextWidth(text.document().idealWidth())  # a width to centre the lines in
        self.plot.addItem(self.empty_text, ignoreBounds=True)
        self.empty_text.setPos(2, 90)

    def _build_table(self) -> None:
        """The 2x2 table of final accuracy: without and with rotation, on the plain and the rotated test set."""
        self.table = QTableWidget(2, 2, objectName="experimentTable")
        self.table.setToolTip(
            "Final test accuracy. Rotation usually costs little on the plain test set and helps a lot on the "
            "rotated one"
        )
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        # The rotated column is as wide as its header, the plain one takes the rest; the headers are two lines
        # so both fit the narrow column (in one line, "Rotated test set (±10°)" was cut). _fit_table sets the
        # height and the least width they need.
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        # Two rows in a fixed height need no scroll bars; with them as needed, a narrow panel made the horizontal
        # one call for the vertical one and back, forever, and the GUI thread never came back (seen at 1280x720).
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def _lay_out(self) -> None:
        knobs = QHBoxLayout()
        for widget in (QLabel("Images"), self.limit_spin, QLabel("Epochs"), self.epochs_spin):
            knobs.addWidget(widget)
        knobs.addStretch(1)
        knobs.addWidget(attach_export(self.plot, "rotation_experiment", self._curves_table))
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.progress, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(knobs)
        layout.addLayout(buttons)
        layout.addWidget(self.status_label)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.table)

    def shutdown(self, timeout_ms: int = 3000) -> None:
        """Forget a running experiment (the window stops its run) and wait for its evaluation job."""
        self._queue.clear()
        self._evaluation.shutdown(timeout_ms)

    def _on_config_changed(self, config) -> None:
        if not self.running:
            self._degrees = experiment_degrees(config)
            self._show_table()
        self._update_enabled()

    # --- running -----------------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._active

    def _update_enabled(self) -> None:
        dataset, config = self.state.dataset, self.state.config
        reason = ""
        if dataset is None or config is None:
            reason = "Open a dataset to run the experiment."
        elif not len(dataset.train_labels) or not len(dataset.test_labels):
            reason = "The experiment needs a dataset with both a training and a test split."
        elif self.state.config_error:
            reason = f"Fix the settings first: {self.state.config_error}"
        elif self.state.training and not self.running:
            reason = "Wait for the current training to finish (or stop it) to run the experiment."
        self.run_button.setEnabled(not reason and not self.running)
        if not self.running and (reason or self._showing_reason):
            self.status_label.setText(reason or IDLE_TEXT)
        self._showing_reason = bool(reason)

    def start(self) -> None:
        if self.running or not self.run_button.isEnabled():
            return
        config = self.state.config
        self._degrees = experiment_degrees(config)
        limit = min(self.limit_spin.value(), len(self.state.dataset.train_labels))
        epochs = self.epochs_spin.value()
        configs = experiment_configs(config, self._degrees, config.augment, limit, epochs)
        self._queue = [(which, name, cfg) for which, (name, cfg) in enumerate(configs)]
        self.runs = [None, None]
        self.results[:] = np.nan
        self._show_table()
        for curve in self.curves:
            curve.setData([], [])
        self.empty_text.setVisible(False)
        self.plot.enableAutoRange()
        self.progress.setRange(0, 2 * epochs * PROGRESS_STEPS)
        self.progress.setValue(0)
        self._active, self._stopping = True, False
        self.run_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self._start_next()

    def _start_next(self) -> None:
        which, name, config = self._queue.pop(0)
        request = TrainRequest(config, name=f"experiment: {name}")
        self.state.request_training(request)  # the training controller starts it, or says why not
        run = request.run
        if run is None:
            self._queue.clear()
            self._end(request.refusal or "The experiment could not start a run.")
            return
        self.runs[which] = run
        # Draw each run in its own colour, the one the training panel gives it.
        self.curves[which].setPen(pg.mkPen(run.colour, width=2))
        self.curves[which].setSymbolBrush(run.colour)
        self.curves[which].setSymbolPen(run.colour)
        self.status_label.setText(f"Training {name}…")

    def stop(self) -> None:
        """Stop after the current batch (the run keeps its epochs so far); the second run never starts."""
        if not self.running:
            return
        self._stopping = True
        self._queue.clear()
        self.stop_button.setEnabled(False)
        self.status_label.setText("Stopping after the current batch…")
        if any(run is training for run in self.runs for training in self.state.training_runs):
            self.state.request_stop()

    # --- the runs, as the controller reports them ---------------------------------------------------------------
    def _which(self, run) -> int | None:
        return next((i for i, mine in enumerate(self.runs) if mine is run), None) if self.running else None

    def _on_progress(self, event) -> None:
        which = self._which(self.state.training_runs[0] if self.state.training_runs else None)
        if which is not None and event.batches:
            epochs = self.progress.maximum() // (2 * PROGRESS_STEPS)
            done = which * epochs + event.epoch - 1 + event.batch / event.batches
            self.progress.setValue(int(done * PROGRESS_STEPS))

    def _on_epoch(self, run, event) -> None:
        which = self._which(run)
        if which is None:
            return
        epochs = [h.get("x", h["epoch"]) for h in run.history]
        self.curves[which].setData(epochs, [100 * (h.get("test_accuracy") or 0.0) for h in run.history])

    def _on_run_finished(self, run) -> None:
        which = self._which(run)
        if which is None:
            self._update_enabled()
            return
        if run.status != "completed":
            self._stopping = True
            self._queue.clear()
        if self._queue and not self._stopping:
            self._start_next()
            return
        self.stop_button.setEnabled(False)
        done = [r for r in self.runs if r is not None and r.status == "completed" and r.model is not None]
        if self._stopping or len(done) < 2:
            self._end("Stopped. The epochs trained so far are in the runs list.")
            return
        self.status_label.setText(f"Testing both runs on the test set rotated by up to ±{self._degrees:g}°…")
        dataset = self.state.dataset
        self._evaluation.submit(evaluate_runs, [r.model for r in done], dataset.test_images,
                                dataset.test_labels, self._degrees)  # fmt: skip

    def _on_results(self, results) -> None:
        self.results[:] = np.asarray(results, dtype=np.float64)
        self._show_table()
        gain = 100 * (self.results[1, 1] - self.results[0, 1])
        self._end(f"Done. On the rotated test set, rotation changed accuracy by {gain:+.2f} percentage points.")

    def _on_error(self, message: str) -> None:
        self._end(f"The experiment failed: {message}")
        self.state.show_status(f"The experiment failed: {message}")

    def _end(self, text: str) -> None:
        self._active = False
        self.stop_button.setEnabled(False)
        self.status_label.setText(text)
        self._update_enabled()

    def _curves_table(self) -> dict:
        """Each run's test accuracy per epoch, for the export's .csv (empty cells where a run has no epoch)."""
        histories = [run.history if run is not None else [] for run in self.runs]
        epochs = max((len(h) for h in histories), default=0)

        def column(history):
            return [history[e]["test_accuracy"] if e < len(history) else "" for e in range(epochs)]

        return {
            "epoch": list(range(1, epochs + 1)),
            "test_accuracy_without_rotation": column(histories[0]),
            "test_accuracy_with_rotation": column(histories[1]),
        }

    def _show_table(self) -> None:
        self.table.setHorizontalHeaderLabels(["Plain\ntest set", f"Rotated test set\n(±{self._degrees:g}°)"])
        self.table.setVerticalHeaderLabels(["Without rotation", f"With rotation ±{self._degrees:g}°"])
        self._fit_table()
        for row in range(2):
            for column in range(2):
                value = self.results[row, column]
                item = QTableWidgetItem("–" if np.isnan(value) else f"{100 * value:.2f}%")
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.table.setItem(row, column, item)

    def _fit_table(self) -> None:
        """Two rows without scrolling, and never narrower than its headers: the row labels and each column's
        header text (a section's size hint is its text and the style's margins)."""
        header, rows = self.table.horizontalHeader(), self.table.verticalHeader()
        height = header.sizeHint().height() + sum(rows.sectionSize(r) for r in range(2))
        self.table.setFixedHeight(height + 2 * self.table.frameWidth())
        columns = sum(header.sectionSizeHint(c) for c in range(2))
        self.table.setMinimumWidth(rows.sizeHint().width() + columns + 2 * self.table.frameWidth())
