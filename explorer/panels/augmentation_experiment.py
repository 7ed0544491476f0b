"""Does rotation help? Train the current configuration twice, without and with rotation, and compare.

Both runs train on the same subset with the same seed, in a superqt worker that drives `Trainer.fit_iter()`
directly; each is added to the state's runs (so the training panel lists and plots it). The comparison: each run's
test accuracy per epoch, and a 2x2 table of final accuracy on the plain test set and on a rotated copy of it
(each test image turned by a random angle within the range, fixed seed, so both runs face the same test).
"""

from __future__ import annotations

import dataclasses
import threading
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QThreadPool
from PySide6.QtWidgets import (
    QApplication,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)
from superqt.utils import create_worker

from core import augment as core_augment
from explorer.export import attach_export
from explorer.training_feed import Smoother, model_for_epoch, smoothing_span
from explorer.widgets.class_stats import while_alive

ROTATED_TEST_SEED = 20240  # the rotated test set is the same every time, for every run
UPDATE_INTERVAL = 0.1  # seconds between batch updates sent to the GUI
IDLE_TEXT = (
    "Both runs use the settings on the left (the same network, optimiser and seed); only rotation differs"
)
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


def run_experiment(base, dataset, degrees, scheme, train_limit, epochs, stop: threading.Event):
    """The worker's generator: yields ("start"|"batch"|"epoch"|"result"|"stopped", ...) tuples."""
    from core.training import BatchEvent, EpochEvent, Trainer

    rotated = rotated_test_images(dataset.test_images, degrees)
    for which, (name, config) in enumerate(experiment_configs(base, degrees, scheme, train_limit, epochs)):
        trainer = Trainer(config, dataset)
        yield ("start", which, name, config)
        pending: list[tuple[float, ...]] = []
        last_send = time.perf_counter()
        model = smooth_loss = smooth_accuracy = None
        for event in trainer.fit_iter():
            if stop.is_set():
                yield ("stopped", which)
                return
            if isinstance(event, BatchEvent):
                if smooth_loss is None:  # the training panel's smoothing, so these curves read like any run's
                    span = smoothing_span(event.batches)
                    smooth_loss, smooth_accuracy = Smoother(span), Smoother(span)
                x = event.epoch - 1 + event.batch / event.batches
                pending.append(
                    (
                        x,
                        event.loss,
                        event.accuracy,
                        event.lr,
                        smooth_loss(event.loss),
                        smooth_accuracy(event.accuracy),
                    )
                )
                if time.perf_counter() - last_send >= UPDATE_INTERVAL:
                    yield ("batch", which, pending, event)
                    pending, last_send = [], time.perf_counter()
            elif isinstance(event, EpochEvent):
                if pending:
                    yield ("batch", which, pending, None)
                    pending = []
                model = model_for_epoch(event.network, trainer, config, dataset)
                yield ("epoch", which, event, model)
        if model is not None and len(dataset.test_labels):
            plain = float(np.mean(model.predict(dataset.test_images) == dataset.test_labels))
            turned = float(np.mean(model.predict(rotated) == dataset.test_labels))
            yield ("result", which, plain, turned)


class RotationExperiment(QGroupBox):
    """The controls, progress, curves and table of the with/without-rotation experiment."""

    def __init__(self, state, parent=None):
        super().__init__("Experiment: does rotation help?", parent)
        self.setObjectName("rotationExperiment")
        self.state = state
        self.worker = None
        self.runs: list = [None, None]
        self.results = np.full((2, 2), np.nan)  # rows: without, with; columns: plain, rotated test set
        self._stop = threading.Event()
        self._degrees = 10.0

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
        self._showing_reason = False
        self.status_label = QLabel(IDLE_TEXT, wordWrap=True)
        self.status_label.setObjectName("experimentStatus")

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
        self.empty_text = pg.TextItem(
            "Run the experiment to see both runs' test accuracy here", color="#777777", anchor=(0.5, 0.5)
        )
        self.plot.addItem(self.empty_text, ignoreBounds=True)
        self.empty_text.setPos(2, 90)
        self.table = QTableWidget(2, 2, objectName="experimentTable")
        self.table.setToolTip(
            "Final test accuracy. Rotation usually costs little on the plain test set and helps a lot on the "
            "rotated one"
        )
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(
            0, self.table.horizontalHeader().ResizeMode.Stretch
        )
        self.table.setFixedHeight(self.table.horizontalHeader().height() + 2 * 30 + 4)
        self._show_table()

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

        self.run_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        state.trainingStarted.connect(lambda _run: self._update_enabled())
        state.trainingFinished.connect(lambda _run: self._update_enabled())
        state.datasetChanged.connect(lambda _dataset: self._update_enabled())
        state.configChanged.connect(self._on_config_changed)
        self._update_enabled()
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        self.destroyed.connect(self._stop.set)  # a closed panel must not leave its experiment training

    def shutdown(self, timeout_ms: int = 3000) -> None:
        """Stop a running experiment and wait for its thread (quitting must not leave it training)."""
        if self.running:
            self._stop.set()
            self.worker.quit()
            QThreadPool.globalInstance().waitForDone(timeout_ms)

    def _on_config_changed(self, config) -> None:
        if not self.running:
            self._degrees = experiment_degrees(config)
            self._show_table()
        self._update_enabled()

    # --- running -----------------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.worker is not None

    def _update_enabled(self) -> None:
        dataset, config = self.state.dataset, self.state.config
        reason = ""
        if dataset is None or config is None:
            reason = "Open a dataset to run the experiment."
        elif not len(dataset.train_labels) or not len(dataset.test_labels):
            reason = "The experiment needs a dataset with both a training and a test split."
        elif self.state.config_error:
            reason = f"Fix the settings first: {self.state.config_error}"
        elif self.state.training:
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
        self.runs = [None, None]
        self.results[:] = np.nan
        self._show_table()
        for curve in self.curves:
            curve.setData([], [])
        self.empty_text.setVisible(False)
        self.plot.enableAutoRange()
        self.progress.setRange(0, 2 * epochs)
        self.progress.setValue(0)
        self.status_label.setText(f"Rotating the test set by up to ±{self._degrees:g}°…")
        self._stop.clear()
        self.worker = create_worker(
            run_experiment,
            config,
            self.state.dataset,
            self._degrees,
            config.augment,
            limit,
            epochs,
            self._stop,
            _start_thread=False,
            _connect={
                "yielded": while_alive(self, self._on_message),
                "errored": while_alive(self, self._on_error),
                "finished": while_alive(self, self._on_finished),
            },
        )
        self.run_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.worker.start()

    def stop(self) -> None:
        self._stop.set()
        self.stop_button.setEnabled(False)
        self.status_label.setText("Stopping after the current batch…")

    # --- messages from the worker ------------------------------------------------------------------------------
    def _on_message(self, message) -> None:
        kind, which = message[0], message[1]
        if kind == "start":
            _, _, name, config = message
            self.runs[which] = run = self.state.new_run(config, name=f"experiment: {name}")
            # Draw each run in its own colour, the one the training panel gives it.
            self.curves[which].setPen(pg.mkPen(run.colour, width=2))
            self.curves[which].setSymbolBrush(run.colour)
            self.curves[which].setSymbolPen(run.colour)
            self.status_label.setText(f"Training {name}…")
        elif kind == "batch":
            _, _, rows, event = message
            run = self.runs[which]
            columns = np.asarray(rows, dtype=np.float64).T
            for curve, values in zip(
                (
                    "batch_x",
                    "batch_loss",
                    "batch_accuracy",
                    "batch_lr",
                    "batch_loss_smooth",
                    "batch_accuracy_smooth",
                ),
                columns,
                strict=True,
            ):
                getattr(run, curve).extend(values)
            self.state.runUpdated.emit(run)
            if event is not None:
                run.seconds = float(event.elapsed)
                done = which * (self.progress.maximum() // 2) + event.epoch - 1 + event.batch / event.batches
                self.progress.setValue(int(done))
        elif kind == "epoch":
            _, _, event, model = message
            run = self.runs[which]
            run.seconds = float(event.elapsed)
            self.state.add_epoch(run, event, model)
            epochs = [h["epoch"] for h in run.history]
            accuracy = [100 * (h.get("test_accuracy") or 0.0) for h in run.history]
            self.curves[which].setData(epochs, accuracy)
            self.progress.setValue(which * (self.progress.maximum() // 2) + event.epoch)
        elif kind == "result":
            _, _, plain, turned = message
            self.results[which] = (plain, turned)
            self._finish_run(which, "completed")
            self._show_table()
        elif kind == "stopped":
            self._finish_run(which, "stopped")

    def _finish_run(self, which: int, status: str) -> None:
        run = self.runs[which]
        if run is not None:
            self.state.end_run(run, status)

    def _on_error(self, error: Exception) -> None:
        for which, run in enumerate(self.runs):
            if run is not None and run.status == "training":
                self._finish_run(which, "error")
        message = f"The experiment failed: {error}"
        self.status_label.setText(message)
        self.state.statusMessage.emit(message)

    def _on_finished(self) -> None:
        self.worker = None
        self.stop_button.setEnabled(False)
        if self._stop.is_set():
            self.status_label.setText("Stopped. The epochs trained so far are in the runs list.")
        elif not np.isnan(self.results).any():
            gain = 100 * (self.results[1, 1] - self.results[0, 1])
            self.status_label.setText(
                f"Done. On the rotated test set, rotation changed accuracy by {gain:+.2f} percentage points."
            )
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
        self.table.setHorizontalHeaderLabels(["Plain test set", f"Rotated test set (±{self._degrees:g}°)"])
        self.table.setVerticalHeaderLabels(["Without rotation", f"With rotation ±{self._degrees:g}°"])
        for row in range(2):
            for column in range(2):
                value = self.results[row, column]
                item = QTableWidgetItem("–" if np.isnan(value) else f"{100 * value:.2f}%")
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.table.setItem(row, column, item)
