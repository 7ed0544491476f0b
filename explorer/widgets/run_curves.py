"""One run's items on the training curves, and the numbers behind the curves for export.

`RunCurves` builds each plot's items (raw batch loss, faint; smoothed batch loss and accuracy; per-epoch train and
test points; learning rate) the first time that plot is drawn, then only feeds them new data with `setData`: views
of the run's growing NumPy buffers. A long run's batches (a batch-1 run has 60,000 an epoch) are drawn as means over
bins (`Binned`); the curves are downsampled ('peak', so spikes survive) and clipped to the view.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

from explorer.state import GrowingArray


def epoch_x(run) -> np.ndarray:
    """Where each history entry sits on the epoch axis (a stopped run's partial epoch sits mid-epoch)."""
    return np.array(
        [run.epoch_offset + float(h.get("x", h.get("epoch", i + 1))) for i, h in enumerate(run.history)]
    )


PLOTS = ("loss", "accuracy", "lr")
MAX_POINTS = 10_000  # batch points drawn per run at most: longer runs are drawn as means over bins of batches


MAX_POINTS_PER_EPOCH = 2000
ONLINE_BIN = 20  # a batch-1 (online) run's raw loss is one sample's: drawn as means over at least this many


def bin_size(run) -> int:
    """Batches per drawn point: 1, or more for long runs (a batch-1 run has 60,000 batches an epoch)."""
    x = run.batch_x.array
    if x.size < 2 or x[1] <= x[0] or run.config is None:
        return 1
    per_epoch = round(1.0 / (x[1] - x[0]))
    k = max(1, math.ceil(per_epoch * max(1, int(run.config.epochs)) / MAX_POINTS),
            math.ceil(per_epoch / MAX_POINTS_PER_EPOCH))  # fmt: skip
    return max(k, ONLINE_BIN) if getattr(run.config, "batch_size", 0) == 1 else k


class Binned:
    """A run's batch curves over bins of `k` batches, grown as bins fill: the raw loss as each bin's mean (a
    batch-1 run's raw losses are single samples, near 0 or 1: their mean is what the eye wants), the smoothed
    curves and the learning rate at each bin's end. A bin still filling is drawn as it stands."""

    def __init__(self, k: int):
        self.k = k
        self.done = 0
        self.columns = {name: GrowingArray(256) for name in ("x", "loss", "loss_smooth", "acc_smooth", "lr")}

    def arrays(self, run) -> dict[str, np.ndarray]:
        sources = {"x": run.batch_x, "loss": run.batch_loss, "loss_smooth": run.batch_loss_smooth,
                   "acc_smooth": run.batch_accuracy_smooth, "lr": run.batch_lr}  # fmt: skip
        n = min(len(a) for a in sources.values())
        full = (n - self.done) // self.k * self.k
        if full:
            for name, source in sources.items():
                block = source.array[self.done : self.done + full].reshape(-1, self.k)
                self.columns[name].extend(block.mean(axis=1) if name == "loss" else block[:, -1])
            self.done += full
        out = {name: column.array for name, column in self.columns.items()}
        if n > self.done:  # the bin still filling
            for name, source in sources.items():
                tail = source.array[self.done : n]
                out[name] = np.append(out[name], tail.mean() if name == "loss" else tail[-1])
        return out


class RunCurves:
    """The plot items of one run. Each plot's items are built the first time that plot is drawn; after that,
    updates only call `setData`."""

    def __init__(self, curves, run):
        self._curves = curves
        self.colour = QColor(run.colour)
        self.visible = run.visible
        self.items: list = []
        self.plots: list = []
        self._built: set[str] = set()
        self._epochs_drawn = {"loss": -1, "accuracy": -1}  # the epoch markers change only when an epoch ends
        self._binned: Binned | None = None  # set once the run's batches per epoch are known

    def _add(self, plot, item):
        plot.addItem(item)
        item.setVisible(self.visible)
        self.items.append(item)
        self.plots.append(plot)
        return item

    def _line(self, plot, pen):
        item = pg.PlotDataItem(pen=pen, skipFiniteCheck=True)
        item.setDownsampling(auto=True, method="peak")
        item.setClipToView(True)
        return self._add(plot, item)

    def _points(self, plot, pen, symbol, brush):
        # dynamicRangeLimit=None: otherwise every change of the y range rebuilds the scatter's spots
        item = pg.PlotDataItem(pen=pen, symbol=symbol, symbolSize=7, symbolBrush=brush, symbolPen=self.colour,
                               antialias=True, dynamicRangeLimit=None)  # fmt: skip
        return self._add(plot, item)

    def _build(self, name: str) -> None:
        colour, faint = self.colour, QColor(self.colour)
        faint.setAlpha(55)
        if name == "loss":
            plot = self._curves.loss_plot
            self.loss_raw = self._line(plot, pg.mkPen(faint, width=1))
            self.loss_smooth = self._line(plot, pg.mkPen(colour, width=1.5))
            # Train points without a line: with several runs, dashed lines between epochs only add clutter.
            self.loss_train = self._points(plot, None, "t", "w")
            self.loss_test = self._points(plot, pg.mkPen(colour, width=2.5), "o", colour)
        elif name == "accuracy":
            plot = self._curves.accuracy_plot
            self.acc_smooth = self._line(plot, pg.mkPen(colour, width=1.5))
            self.acc_train = self._points(plot, None, "t", "w")
            self.acc_test = self._points(plot, pg.mkPen(colour, width=2.5), "o", colour)
        else:
            self.lr = self._line(self._curves.lr_plot, pg.mkPen(colour, width=1.5))
        self._built.add(name)

    def batch_arrays(self, run) -> dict[str, np.ndarray]:
        """The batch curves as drawn: every batch, or bin means for a long run (see `Binned`)."""
        if self._binned is None and len(run.batch_x) >= 2:
            self._binned = Binned(bin_size(run))
        if self._binned is None or self._binned.k == 1:
            return {"x": run.batch_x.array, "loss": run.batch_loss.array, "loss_smooth": run.batch_loss_smooth.array,
                    "acc_smooth": run.batch_accuracy_smooth.array, "lr": run.batch_lr.array}  # fmt: skip
        return self._binned.arrays(run)

    def update(self, run, plots=PLOTS) -> None:
        data = self.batch_arrays(run)
        x = data["x"]
        for name in plots:
            if name not in self._built:
                self._build(name)
            if name == "loss":
                self.loss_raw.setData(x, data["loss"])
                self.loss_smooth.setData(x, data["loss_smooth"])
            elif name == "accuracy":
                self.acc_smooth.setData(x, 100.0 * data["acc_smooth"])
            else:
                self.lr.setData(x, data["lr"])
            if name in self._epochs_drawn and len(run.history) != self._epochs_drawn[name]:
                # scatter points are costly to rebuild (~2 ms each): only when an epoch has ended
                self._epochs_drawn[name] = len(run.history)
                self._update_epochs(run, name)

    def _update_epochs(self, run, name: str) -> None:
        ex = epoch_x(run)
        if name == "loss":
            pairs = ((self.loss_train, "train_loss"), (self.loss_test, "test_loss"))
        else:
            pairs = ((self.acc_train, "train_accuracy"), (self.acc_test, "test_accuracy"))
        for item, key in pairs:
            ys = np.array([h.get(key, np.nan) for h in run.history], dtype=float).reshape(-1)
            if "accuracy" in key:
                ys = 100.0 * ys
            ok = np.isfinite(ys)
            item.setData(ex[ok], ys[ok])

    def set_visible(self, visible: bool) -> None:
        self.visible = visible
        for item in self.items:
            item.setVisible(visible)

    def remove(self) -> None:
        for plot, item in zip(self.plots, self.items, strict=True):
            plot.removeItem(item)


CURVE_COLUMNS = ("run", "kind", "epoch", "loss", "loss_smoothed", "accuracy", "accuracy_smoothed", "lr",
                 "train_loss", "train_accuracy", "test_loss", "test_accuracy")  # fmt: skip


def curve_data(runs) -> dict[str, list]:
    """The numbers behind the curves of `runs` as equal-length columns: one row per batch point (kind "batch")
    and one per epoch (kind "epoch"), epoch on the plots' x axis; a number a row does not have is left empty."""
    columns: dict[str, list] = {name: [] for name in CURVE_COLUMNS}

    def add(**row) -> None:
        for name in CURVE_COLUMNS:
            columns[name].append(row.get(name))

    for run in runs:
        batch_lr = run.batch_lr.array if len(run.batch_lr) == len(run.batch_x) else None
        smooth_ok = len(run.batch_loss_smooth) == len(run.batch_x)
        for i, x in enumerate(run.batch_x.array):
            add(run=run.name, kind="batch", epoch=float(x), loss=float(run.batch_loss[i]),
                accuracy=float(run.batch_accuracy[i]),
                loss_smoothed=float(run.batch_loss_smooth[i]) if smooth_ok else None,
                accuracy_smoothed=float(run.batch_accuracy_smooth[i]) if smooth_ok else None,
                lr=float(batch_lr[i]) if batch_lr is not None else None)  # fmt: skip
        for x, entry in zip(epoch_x(run), run.history, strict=False):
            add(run=run.name, kind="epoch", epoch=float(x), lr=entry.get("lr"),
                **{k: entry.get(k) for k in ("train_loss", "train_accuracy", "test_loss", "test_accuracy")})  # fmt: skip
    return columns
