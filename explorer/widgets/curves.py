"""Live training curves: loss, accuracy and learning rate against epochs, for every visible run.

Each run's items live in `run_curves.RunCurves` and are only fed new data; a 100-epoch run of 47,000 batches
redraws as fast as the first epoch. Redraws are coalesced (at most one every REDRAW_INTERVAL_MS, spaced further
where painting is slow) and staged one plot per event-loop turn, so the window keeps answering while they paint.
A crosshair reads the selected run's values under the mouse.
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QSplitter, QVBoxLayout, QWidget

from explorer.widgets.curve_axes import LrAxis, RunLegend, loss_axis_label, lr_decades
from explorer.widgets.curve_readout import Readout
from explorer.widgets.run_curves import PLOTS, RunCurves, curve_data

AXIS_COLOUR = "#444"
REDRAW_INTERVAL_MS = 100  # curves redraw at most 10 times a second; the progress bar follows every update
REDRAW_SHARE = 0.05  # and take at most this share of the GUI thread, which training needs too (its lock)
MAX_REDRAW_INTERVAL_MS = 500  # but at least twice a second
EMPTY_TEXT = "Train a model to see its loss and accuracy here.\nSet the options on the left, then press Train (Ctrl+T)."


def _plot(name: str, ylabel: str, units: str | None = None, axis=None) -> pg.PlotWidget:
    plot = pg.PlotWidget(background="w", axisItems={"left": axis} if axis is not None else None)
    plot.setObjectName(name)
    item = plot.getPlotItem()
    # Room above the top tick label (the loss axis's "1.0" was cut in half) and right of the last epoch label.
    item.layout.setContentsMargins(2, 10, 12, 2)
    item.showGrid(x=False, y=False)
    for side in ("left", "bottom"):
        axis = item.getAxis(side)
        axis.setPen(pg.mkPen(AXIS_COLOUR))
        axis.setTextPen(pg.mkPen(AXIS_COLOUR))
        axis.enableAutoSIPrefix(False)  # "accuracy (x0.001)" helps nobody
    item.setLabel("left", ylabel, units=units, color=AXIS_COLOUR)
    item.getAxis("left").setWidth(64)  # the same width on every plot keeps their epoch axes aligned
    item.setMenuEnabled(True)
    plot.setMouseTracking(True)
    return plot


class TrainingCurves(QWidget):
    """The three linked plots, their legend of line styles, the crosshair readout, and the empty state."""

    hovered = Signal(float)  # epoch under the mouse

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self._build_plots()
        self.run_legend = RunLegend(self._add_legends())
        self._build_labels()
        self._lay_out()
        self.crosshair = Readout(self, self.readout)
        self._curves: dict[int, RunCurves] = {}
        self._init_redraws()
        self._connect_state(state)
        self.sync_runs()

    def _build_plots(self) -> None:
        """The loss, accuracy and lr plots, their epoch axes linked, with the tooltips that explain them."""
        self.loss_plot = _plot("lossPlot", "loss")
        self.accuracy_plot = _plot("accuracyPlot", "accuracy (%)")
        # Accuracy lives in 0..100. Its range is set by hand, once an epoch (not on every update: that would
        # relayout the axis 20 times a second), to where the runs have been since their start, unless the user
        # has zoomed.
        self.accuracy_plot.getPlotItem().enableAutoRange(y=False)
        self.accuracy_plot.setYRange(0, 100, padding=0.02)
        self._accuracy_auto = True
        self._accuracy_low = None  # the accuracy axis's lower end last set by fit_accuracy_range
        self.accuracy_plot.getPlotItem().getViewBox().sigRangeChangedManually.connect(self._accuracy_zoomed)
        self.lr_plot = _plot("lrPlot", "lr", axis=LrAxis("left"))
        self.lr_plot.setMinimumHeight(90)
        self.lr_plot.getPlotItem().setLogMode(y=True)  # schedules span decades; a constant rate is a flat line
        self.lr_plot.getPlotItem().enableAutoRange(y=False)  # whole decades, set with the runs (fit_lr_range)
        self._lr_range = None
        self.accuracy_plot.setXLink(self.loss_plot)
        self.lr_plot.setXLink(self.loss_plot)
        self.lr_plot.getPlotItem().setLabel("bottom", "epoch", color=AXIS_COLOUR)
        self.loss_plot.setToolTip("Loss per batch (faint: raw; solid: smoothed) and per epoch (▽: train, "
                                  "● solid: test). Cross-entropy and squared error are different scales: the "
                                  "legend says which run has which. Drag to pan, wheel to zoom, right-click for "
                                  "options.")  # fmt: skip
        self.accuracy_plot.setToolTip("Accuracy per batch (smoothed) and per epoch (▽: train, ● solid: "
                                      "test). A widening gap between train and test is overfitting.")  # fmt: skip
        self.lr_plot.setToolTip("The learning rate of every batch (changes with a schedule).")

    def _build_labels(self) -> None:
        """The crosshair's readout line and the empty state's text over the loss plot."""
        self.readout = QLabel(objectName="curvesReadout")
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.readout.setMinimumHeight(20)
        # Ignored: however long the values under the mouse are, the label never asks for more width (a longer
        # readout used to widen the whole window, squeezing the controls).
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.readout.setMinimumWidth(0)
        self.empty_label = QLabel(EMPTY_TEXT, self.loss_plot, objectName="curvesEmpty")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setStyleSheet("color: #666; font-size: 15px; background: transparent;")
        self.empty_label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)

    def _lay_out(self) -> None:
        """The readout and the export buttons in a row above the three plots in a splitter."""
        self.splitter = QSplitter(Qt.Orientation.Vertical, objectName="curvesSplitter")
        for plot in (self.loss_plot, self.accuracy_plot, self.lr_plot):
            self.splitter.addWidget(plot)
        self.splitter.setSizes([400, 300, 110])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(self.readout, 1)
        self.export_buttons = self._attach_exports(top)
        layout.addLayout(top)
        layout.addWidget(self.splitter, 1)

    def _init_redraws(self) -> None:
        """The coalesced, staged redraws: at most one every REDRAW_INTERVAL_MS however often data arrives, so a
        slow (software-rendered, busy) machine spends its GUI time on a few good frames, not on a backlog."""
        self._dirty: dict[int, object] = {}
        self._stages: list[str] = []  # the plots still to redraw in the staged redraw under way
        self._stage_runs: dict[int, object] = {}  # the runs that staged redraw is drawing
        self._last_redraw = self._redraw_cpu = 0.0
        self._interval_ms = float(REDRAW_INTERVAL_MS)
        self._redraw_timer = QTimer(self, singleShot=True)
        self._redraw_timer.timeout.connect(self._redraw_next_plot)
        # Framing a new run changes the linked x axis of all three plots, which repaints all three: it waits for
        # the next redraw rather than adding three repaints to the click that started the run.
        self._run_to_frame = None

    def _connect_state(self, state) -> None:
        state.runsChanged.connect(self.sync_runs)
        state.runUpdated.connect(self.update_run)
        state.trainingStarted.connect(self._frame_later)
        # Epoch ends go through the same coalescing as batches: a small subset can end ten epochs a second.
        state.epochEnded.connect(lambda run, _event: (self.update_run(run), self.fit_accuracy_range(),
                                                      self.fit_lr_range()))  # fmt: skip
        state.trainingFinished.connect(lambda run: self.update_run(run, now=True))

    def _attach_exports(self, row) -> list:
        """An export button per plot; each writes the figure and the visible runs' numbers beside it."""
        from explorer.export import attach_export

        buttons = []
        for plot, basename, text in ((self.loss_plot, "curves_loss", "Export loss"),
                                     (self.accuracy_plot, "curves_accuracy", "Export accuracy"),
                                     (self.lr_plot, "curves_lr", "Export lr")):  # fmt: skip
            button = attach_export(plot, basename, self.visible_curve_data)
            button.setText(text)
            row.addWidget(button)
            buttons.append(button)
        return buttons

    def visible_curve_data(self) -> dict[str, list] | None:
        """The numbers behind the visible runs' curves (None when no run is shown: nothing to write)."""
        runs = [run for run in self.state.runs if run.visible]
        return curve_data(runs) if runs else None

    def _add_legends(self) -> pg.LegendItem:
        """The line-style legends; returns the loss plot's, where the runs' names go too (RunLegend)."""
        grey = QColor("#555")
        for plot, entries in (
            # The loss legend names the runs (RunLegend); the line styles are told once, on the accuracy plot.
            (self.loss_plot, [("batch (raw)", pg.mkPen(QColor(85, 85, 85, 70)), None)]),
            (self.accuracy_plot, [("batch (smoothed)", pg.mkPen(grey, width=1.5), None),
                                  ("epoch: train", None, "t"),
                                  ("epoch: test", pg.mkPen(grey, width=2.5), "o")]),
        ):  # fmt: skip
            # Loss falls and accuracy rises: each legend sits in the corner its curves leave free. No fill: a
            # translucent box costs a blend of its whole area on every frame.
            offset = (-10, 10) if plot is self.loss_plot else (-10, -10)
            legend = plot.getPlotItem().addLegend(offset=offset, labelTextColor="#333", brush=None, pen=None)
            for name, pen, symbol in entries:
                sample = pg.PlotDataItem(
                    pen=pen, symbol=symbol, symbolSize=7, symbolBrush="w", symbolPen=grey
                )
                legend.addItem(sample, name)
            if plot is self.loss_plot:
                loss_legend = legend
        return loss_legend

    # --- runs --------------------------------------------------------------------------------------------------
    def sync_runs(self) -> None:
        """Create items for new runs, drop removed ones, apply visibility."""
        runs = {run.run_id: run for run in self.state.runs}
        for run_id in list(self._curves):
            if run_id not in runs:
                self._curves.pop(run_id).remove()
        for run_id, run in runs.items():
            curves = self._curves.get(run_id)
            if curves is None:
                curves = self._curves[run_id] = RunCurves(self, run)
                self._dirty[run_id] = run  # its items are built and filled by the next (staged) redraw
            elif run.visible and not curves.visible:
                self._dirty[run_id] = run  # hidden runs are not redrawn: catch up
            curves.set_visible(run.visible)
        self.empty_label.setVisible(not runs)
        visible = [run for run in self.state.runs if run.visible]
        self.run_legend.update(visible, with_loss=True)
        label = loss_axis_label(visible)
        if label != self.loss_plot.getPlotItem().getAxis("left").labelText:
            self.loss_plot.getPlotItem().setLabel("left", label, color=AXIS_COLOUR)
        self.fit_accuracy_range()
        self.fit_lr_range()
        self._schedule_redraw()

    def update_run(self, run, now: bool = False) -> None:
        self._dirty[run.run_id] = run
        if now and self.isVisible():
            self._redraw()
        else:
            self._schedule_redraw()

    def _schedule_redraw(self) -> None:
        if not self._dirty or not self.isVisible() or self._redraw_timer.isActive() or self._stages:
            return  # a hidden tab is not redrawn 10 times a second while training; showEvent catches up
        wait_ms = self._interval_ms - (time.perf_counter() - self._last_redraw) * 1000
        self._redraw_timer.start(max(0, int(wait_ms) + 1))

    def _redraw_next_plot(self) -> None:
        """One plot per timer turn. Each plot's scene repaints the window synchronously once its items change,
        so redrawing all three in one go kept the GUI thread busy for three repaints without a break. A last
        turn times the whole redraw, repaints included, and spaces the next one to keep within REDRAW_SHARE."""
        if not self._stages:
            self._last_redraw, self._redraw_cpu = time.perf_counter(), time.thread_time()
            self._stage_runs, self._dirty = self._dirty, {}
            self._stages = [*PLOTS, None]
        stage = self._stages.pop(0)
        if stage is not None:
            self._draw(self._stage_runs.values(), (stage,))
            self._redraw_timer.start(1)
            return
        cost_ms = (time.thread_time() - self._redraw_cpu) * 1000
        self._interval_ms = min(MAX_REDRAW_INTERVAL_MS, max(REDRAW_INTERVAL_MS, cost_ms / REDRAW_SHARE))
        self._stage_runs = {}
        self._schedule_redraw()

    def _redraw(self) -> None:
        """Redraw every dirty run on all three plots now."""
        self._redraw_timer.stop()
        self._last_redraw = time.perf_counter()
        runs = {**self._stage_runs, **self._dirty}
        self._stages, self._stage_runs, self._dirty = [], {}, {}
        self._draw(runs.values(), PLOTS)

    def _frame_later(self, run) -> None:
        self._run_to_frame = run
        self.update_run(run)

    def _draw(self, runs, plots) -> None:
        if self._run_to_frame is not None:
            run, self._run_to_frame = self._run_to_frame, None
            self._frame_run(run)
        for run in list(runs):
            curves = self._curves.get(run.run_id)
            if curves is None and run in self.state.runs:
                self.sync_runs()
                curves = self._curves.get(run.run_id)
            if curves is not None and run.visible:
                curves.update(run, plots)

    def _accuracy_zoomed(self, *_):
        self._accuracy_auto = False

    def fit_accuracy_range(self) -> None:
        """Zoom the accuracy axis to where the visible runs have been, their start included (a zoom that hid the
        first epochs showed a run as if it had started at 90%)."""
        if not self._accuracy_auto:
            return
        lows = []
        for run in self.state.runs:
            if not run.visible:
                continue
            if len(run.batch_accuracy_smooth):
                lows.append(float(run.batch_accuracy_smooth.array.min()))
            lows += [float(h["test_accuracy"]) for h in run.history if h.get("test_accuracy") is not None]
        low = 0.0 if not lows else max(0.0, np.floor((100 * min(lows) - 2) / 10) * 10)
        if low != self._accuracy_low:  # a new range relays out the axis: only when it moves
            self._accuracy_low = low
            self.accuracy_plot.setYRange(low, 100, padding=0.02)

    def fit_lr_range(self) -> None:
        """The lr axis spans whole decades around the visible runs' rates (set here, not auto-ranged, so its
        labels sit on round decades and the axis does not relayout on every update)."""
        decades = lr_decades([run for run in self.state.runs if run.visible])
        if decades != self._lr_range:
            self._lr_range = decades
            self.lr_plot.setYRange(*decades, padding=0.0)

    def _frame_run(self, run) -> None:
        """Show the whole planned run on the epoch axis from the start: the axis stays put while the curves
        grow into it (no per-update axis relayout), and the distance to the right edge shows what is left."""
        starts = [0.0] + [r.epoch_offset for r in self.state.runs if r.visible]
        ends = [r.epoch_offset + float(r.config.epochs) for r in self.state.runs if r.visible and r.config]
        ends.append(run.epoch_offset + float(run.config.epochs))
        view = self.loss_plot.getPlotItem().getViewBox()
        view.enableAutoRange(x=False)
        view.setXRange(min(starts), max(ends), padding=0.01)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.empty_label.setGeometry(self.loss_plot.rect())

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.empty_label.setGeometry(self.loss_plot.rect())
        if self._dirty or self._stages:
            self._redraw()
            self.fit_accuracy_range()
