"""Robustness: how the test accuracy of the ticked runs falls as the digits are turned, moved, made noisy, or their
strokes thinned or thickened (core/robustness.py), and the selected run's digits whose answer flips.

Every curve is one (run, epoch, perturbation) computed once in a worker (`JobRunner`, newest request only) and
kept in a cache, so moving the epoch slider back to an epoch already seen, or switching perturbations, draws at
once. The selected run's curve follows the epoch slider; the other ticked runs show their last epoch. A run that
ends an epoch is measured again at most every `EPOCH_THROTTLE_MS`, and only while the tab is shown: a hidden tab
computes nothing, so it never takes the cores from a training run.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from core.readers import IMAGE_SHAPE
from core.robustness import check_amounts
from explorer.export import attach_export
from explorer.jobs import JobRunner
from explorer.panels.robustness_data import (
    AXIS_TITLES,
    CACHE_SIZE,
    EMPTY_TEXT,
    FLIP_CACHE_SIZE,
    GRID_EMPTY,
    TITLES,
    LruCache,
    amount_text,
    compute_curve,
    csv_columns,
    describe,
    entries,
    flip_images,
)
from explorer.panels.robustness_layout import build_controls, build_flips, build_plot
from explorer.widgets.tab_caption import TabCaption

EPOCH_THROTTLE_MS = 1500  # a run's new epoch is measured at most this often


class RobustnessPanel(QWidget):
    title = "Robustness"  # the tab's name

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.setObjectName("robustnessPanel")
        self.state = state
        self.cache = LruCache(CACHE_SIZE)  # Entry.key -> core.robustness.Curve
        self.failed: dict[tuple, str] = {}  # keys whose computation failed, and why (not retried)
        self.flip_cache = LruCache(FLIP_CACHE_SIZE)  # (key, amount) -> uint8 images
        self.shown: list = []  # the Entries drawn (or waiting for their curve)
        self.chosen = None  # the selected run's Entry (the flips)
        self.amounts: dict[str, float] = {}  # the flips' amount per perturbation, as the user chose it
        self._pending = None  # the key being computed
        self._measuring = ""  # what the status line says while it is
        self._flip_pending = None  # the (key, amount) whose pictures are being drawn
        self._flips_shown = None  # the (key, amount) whose pictures the grid shows
        self._deferred = False  # something changed while the tab was hidden
        self.job = JobRunner(self, name="robustnessJob")
        self.job.done.connect(self._on_curve)
        self.job.failed.connect(self._on_failed)
        self.job.progress.connect(self._on_progress)
        self.flip_job = JobRunner(self, name="robustnessFlipsJob")
        self.flip_job.done.connect(self._on_flip_images)
        self.flip_job.failed.connect(
            lambda text: self.flips_label.setText(f"Could not draw the digits: {text}")
        )
        self.epoch_timer = QTimer(self, singleShot=True, interval=EPOCH_THROTTLE_MS)
        self.epoch_timer.timeout.connect(self.refresh)

        self.notice = TabCaption(self, "robustnessCaption", EMPTY_TEXT)
        self.controls = controls = build_controls(self)  # the lesson's button joins this row (explorer/lesson.py)
        plot = build_plot(self)
        flips = build_flips(self)
        self.export_button = attach_export(self.plot, "robustness", self._plot_data)
        self.export_button.setText("Export plot")
        controls.addWidget(self.export_button)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(plot)
        split.addWidget(flips)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        split.setSizes([500, 500])  # half each: the grid's own size hint would leave the plot a strip
        layout = QVBoxLayout(self)
        layout.addWidget(self.notice)
        layout.addLayout(controls)
        layout.addWidget(split, 1)

        self.perturbation_combo.currentIndexChanged.connect(lambda _i: self.refresh())
        self.amount_combo.activated.connect(self._on_amount_chosen)
        self.plot.scene().sigMouseClicked.connect(self._on_plot_clicked)
        state.runsChanged.connect(self.refresh)
        state.modelChanged.connect(lambda _model: self._model_changed())
        state.datasetChanged.connect(lambda _dataset: self.refresh())
        state.epochEnded.connect(lambda _run, _event: self._epoch_ended())
        self.refresh()

    # --- the interface -------------------------------------------------------------------------------------
    @property
    def perturbation(self) -> str:
        return self.perturbation_combo.currentData()

    @property
    def busy(self) -> bool:
        return self.job.busy or self.flip_job.busy

    def set_perturbation(self, name: str) -> None:
        self.perturbation_combo.setCurrentIndex(self.perturbation_combo.findData(name))

    def set_flip_amount(self, amount: float) -> None:
        self.amounts[self.perturbation] = float(amount)
        self._show_flips()

    def refresh(self) -> None:
        """Draw every curve already known, and ask the worker for the first one missing."""
        self.shown, self.chosen = entries(self.state, self.perturbation)
        self.notice.setText(describe(self.perturbation, self.shown))
        self._draw()
        self._fill_amounts()
        self._show_flips()
        if not self.isVisible():
            self._deferred = True  # showEvent catches up: a hidden tab computes nothing
            return
        self._deferred = False
        self._compute_next()

    def shutdown(self) -> None:
        self.job.shutdown()
        self.flip_job.shutdown()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._deferred:
            self.refresh()

    # --- computing ------------------------------------------------------------------------------------------
    def _wanted(self) -> list:
        wanted = list(self.shown)
        if self.chosen is not None and self.chosen.key not in {e.key for e in wanted}:
            wanted.insert(0, self.chosen)
        return [e for e in wanted if e.key not in self.cache and e.key not in self.failed]

    def _compute_next(self) -> None:
        missing = self._wanted()
        if not missing:
            if self._pending is not None:
                self.job.cancel()
                self._pending = None
            self.status_label.setText("")
            return
        entry = missing[0]
        if entry.key == self._pending:
            return  # already on its way
        self._pending = entry.key
        dataset = self.state.dataset
        self._measuring = f"Measuring {entry.label} under {TITLES[entry.perturbation].lower()}…"
        self.status_label.setText(self._measuring)
        self.job.submit_with_progress(
            _keyed, entry.key, compute_curve, entry.run.snapshots, entry.epoch,
            dataset.test_images, dataset.test_labels, entry.perturbation,
        )  # fmt: skip

    def _on_progress(self, done: int, total: int, _what: str) -> None:
        if total and self._pending is not None:
            self.status_label.setText(f"{self._measuring} {100 * done // total}%")

    def _on_curve(self, answer) -> None:
        key, curve = answer
        self.cache.put(key, curve)
        if key == self._pending:
            self._pending = None
        self.refresh()

    def _on_failed(self, text: str) -> None:
        if self._pending is not None:
            self.failed[self._pending] = text
            self._pending = None
        self.status_label.setText(f"Could not measure it: {text}")
        self._compute_next()

    def _model_changed(self) -> None:
        """The slider moved or another run was selected: at once; the selected run's own new epoch: throttled."""
        run = self.state.selected_run
        if run is not None and run.status.unfinished and self.state.follow_latest:
            self._epoch_ended()
        else:
            self.refresh()

    def _epoch_ended(self) -> None:
        if not self.epoch_timer.isActive():
            self.epoch_timer.start()

    # --- drawing --------------------------------------------------------------------------------------------
    def _draw(self) -> None:
        item = self.plot.getPlotItem()
        for curve in [i for i in item.listDataItems()]:
            item.removeItem(curve)
        self.legend.clear()
        item.setLabel("bottom", AXIS_TITLES[self.perturbation], color="#222222")
        amounts = sorted(check_amounts(self.perturbation))  # ticks at the measured amounts, none between
        item.getAxis("bottom").setTicks([[(float(a), f"{a:g}") for a in amounts]])
        item.setXRange(amounts[0], amounts[-1], padding=0.03)  # the same axis before any curve arrives
        for entry in self.shown:
            curve = self.cache.get(entry.key)
            if curve is None:
                continue
            order = np.argsort(curve.amounts)
            colour = entry.run.colour
            style = Qt.PenStyle.SolidLine if entry.selected else Qt.PenStyle.DashLine
            item.plot(curve.amounts[order], 100 * curve.accuracy[order], name=entry.label,
                      pen=pg.mkPen(colour, width=2.2, style=style), symbol="o", symbolSize=7,
                      symbolBrush=colour, symbolPen=colour)  # fmt: skip

    def drawn_curves(self) -> list:
        """The plot's curves (pyqtgraph PlotDataItems), in legend order: for tests and automation."""
        return self.plot.getPlotItem().listDataItems()

    def _fill_amounts(self) -> None:
        """The flips' amounts of this perturbation (every amount but 0), the user's choice kept."""
        curve = self.cache.get(self.chosen.key) if self.chosen is not None else None
        amounts = [float(a) for a in sorted(check_amounts(self.perturbation)) if a != 0]
        if curve is not None:
            amounts = [float(a) for a in sorted(curve.amounts) if a != 0]
        current = self.amounts.get(self.perturbation, amounts[len(amounts) // 2])
        self.amount_combo.blockSignals(True)
        self.amount_combo.clear()
        for a in amounts:
            self.amount_combo.addItem(amount_text(self.perturbation, a), a)
        self.amount_combo.setCurrentIndex(int(np.argmin([abs(a - current) for a in amounts])))
        self.amount_combo.blockSignals(False)

    def _on_amount_chosen(self, index: int) -> None:
        self.set_flip_amount(self.amount_combo.itemData(index))

    def _on_plot_clicked(self, event) -> None:
        item = self.plot.getPlotItem()
        point = item.vb.mapSceneToView(event.scenePos())
        amounts = [self.amount_combo.itemData(i) for i in range(self.amount_combo.count())]
        if amounts:
            self.amount_combo.setCurrentIndex(int(np.argmin([abs(a - point.x()) for a in amounts])))
            self._on_amount_chosen(self.amount_combo.currentIndex())

    def _flip_amount(self) -> float | None:
        return self.amount_combo.currentData()

    def _show_flips(self) -> None:
        """The selected run's flips at the chosen amount: counted at once, their pictures drawn in a worker."""
        amount, entry = self._flip_amount(), self.chosen
        curve = self.cache.get(entry.key) if entry is not None else None
        self.amount_line.setVisible(amount is not None and curve is not None)
        if amount is not None:
            self.amount_line.setValue(amount)
        if curve is None or amount is None:
            self.flips_label.setText("" if entry is None else f"Measuring {entry.label}…")
            self._set_flips(np.zeros((0, *IMAGE_SHAPE), np.uint8), [], self._no_flips_text(entry))
            return
        flips = curve.flips(amount)
        right = int(np.sum(curve.predicted[0] == curve.labels))
        where = amount_text(self.perturbation, amount)
        self.flips_label.setText(
            f"{entry.run.name}, epoch {entry.epoch}: {flips.size:,} of the {right:,} digits it gets right "
            f"flip at {where} (accuracy {100 * curve.accuracy[0]:.2f}% → {100 * curve.accuracy[curve.index(amount)]:.2f}%)"
        )
        images = self.flip_cache.get((entry.key, amount))
        if images is not None:
            if self._flips_shown != (entry.key, amount):  # unchanged: the grid keeps its scroll position
                self._fill_grid(entry, curve, amount, flips, images)
            return
        if self._flip_pending == (entry.key, amount):
            return  # already on its way
        self._flip_pending = (entry.key, amount)
        self._set_flips(np.zeros((0, *IMAGE_SHAPE), np.uint8), [], "Drawing the digits…")
        self.flip_job.submit(_keyed, (entry.key, amount), flip_images, entry.run.snapshots, entry.epoch,
                             self.state.dataset.test_images, flips, self.perturbation, amount)  # fmt: skip

    def _no_flips_text(self, entry) -> str:
        if entry is not None:
            return f"Measuring {entry.label}…"
        run = self.state.selected_run
        if run is not None and not run.snapshots and self.shown:
            return (
                f"{run.name} has no finished epoch yet: its flipped digits appear when its first epoch ends."
            )
        return GRID_EMPTY

    def _on_flip_images(self, answer) -> None:
        (key, amount), images = answer
        self.flip_cache.put((key, amount), images)
        if self._flip_pending == (key, amount):
            self._flip_pending = None
        entry = self.chosen
        if entry is not None and entry.key == key and self._flip_amount() == amount:
            curve = self.cache.get(key)
            self._fill_grid(entry, curve, amount, curve.flips(amount), images)

    def _fill_grid(self, entry, curve, amount, flips, images) -> None:
        names = [str(c) for c in (entry.run.classes or range(10))]
        after = curve.predicted[curve.index(amount), flips]
        captions = [f"{names[curve.labels[i]]} → {names[a]}\n#{i}" for i, a in zip(flips, after, strict=True)]
        where = amount_text(self.perturbation, amount)
        nobody = f"No digit flips at {where}: every digit it got right stays right."
        self._set_flips(images, captions, nobody)
        self._flips_shown = (entry.key, amount)
        self.flips_grid.fit_caption(max(captions, key=len) if captions else "")

    def _set_flips(self, images, captions, empty: str) -> None:
        self._flips_shown = None
        self.flip_images = images
        self.flips_grid.set_images(images, captions, np.zeros(len(images), bool) if len(images) else None)
        if empty:
            self.flips_grid.set_empty_message(empty)

    def _plot_data(self):
        drawn = [(e, self.cache.get(e.key)) for e in self.shown]
        drawn = [(e, c) for e, c in drawn if c is not None]
        return csv_columns(drawn) if drawn else None


def _keyed(key, func, *args, **kwargs):
    """Run func and hand back (key, its result), so an answer says what it is for."""
    return key, func(*args, **kwargs)


if __name__ == "__main__":
    from explorer.panels._insight_demo import show_panel

    show_panel(RobustnessPanel, "keras-dense512", 3, 10_000)
