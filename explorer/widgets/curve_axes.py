"""Axes and legend of the training curves: the learning-rate axis (whole decades only, spaced so their labels never
overlap), the loss axis's name (which loss: cross-entropy and squared error are not on one scale), and the legend
that says which colour is which run.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

LOSS_NAMES = {"cross-entropy": "cross-entropy", "mse": "squared error"}
MIN_LABEL_GAP = 22  # pixels between the lr axis's labels: a label is about 14 px high
MAX_LEGEND_RUNS = 6  # runs named in the legend; more are summed up in one line


class LrAxis(pg.AxisItem):
    """A log axis labelled at whole decades only ("0.001", "0.01"), every second or third decade where the plot is
    too short for all of them. pyqtgraph's own log ticks label 2..9 between decades too, which on a 60 px plot
    (and around a constant rate, where the view spans a sliver of a decade) are drawn on top of each other."""

    def tickValues(self, minVal, maxVal, size):  # noqa: N802, N803 - pyqtgraph's names
        if not self.logMode:
            return super().tickValues(minVal, maxVal, size)
        low, high = math.ceil(minVal - 1e-9), math.floor(maxVal + 1e-9)
        if high < low:  # less than a decade in view: label its nearest decade only
            return [(1.0, [float(round((minVal + maxVal) / 2))])]
        per_decade = size / max(maxVal - minVal, 1e-9)  # pixels
        stride = max(1, math.ceil(MIN_LABEL_GAP / per_decade))
        # from the top decade down, so the highest rate in view is labelled
        return [(float(stride), [float(v) for v in range(high, low - 1, -stride)])]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph's name
        if not self.logMode:
            return super().tickStrings(values, scale, spacing)
        return [f"{10.0 ** v:g}" for v in values]


def lr_decades(runs) -> tuple[float, float]:
    """The lr axis's range, log10: whole decades around every visible run's rates (at least two, so a constant
    rate sits mid-plot with a labelled decade either side), and a little room so no line runs along an edge."""
    values = [run.batch_lr.array for run in runs if len(run.batch_lr)]
    values += [np.array([float(run.config.lr)]) for run in runs if not len(run.batch_lr) and run.config]
    rates = np.concatenate(values) if values else np.array([])
    rates = rates[np.isfinite(rates) & (rates > 0)]
    if not rates.size:
        return -4.15, -0.85  # the empty plot: 0.0001 to 0.1
    low, high = math.floor(math.log10(rates.min())), math.ceil(math.log10(rates.max()))
    if high - low < 2:
        low -= 1
    if high - low < 2:
        high += 1
    return low - 0.15, high + 0.15


def loss_kind(run) -> str:
    return LOSS_NAMES.get(getattr(run.config, "loss", ""), getattr(run.config, "loss", "loss"))


def loss_axis_label(runs) -> str:
    """"loss", or "loss (2 kinds)" when cross-entropy and squared-error runs share the axis (a short label: the
    plot may be 150 px high); the legend names each run's loss."""
    kinds = {loss_kind(run) for run in runs if run.config}
    return "loss (2 kinds)" if len(kinds) > 1 else "loss"  # the legend says which run has which


class RunLegend:
    """The runs' entries at the top of a plot legend: a line of the run's colour, its name and its loss
    ("run 2 · squared error"). Rebuilt only when what it would show changes."""

    def __init__(self, legend: pg.LegendItem):
        self.legend = legend
        self._key = None
        self._samples: list = []

    def update(self, runs, with_loss: bool) -> None:
        runs = [run for run in runs if run.visible]
        rows = [(run.colour, run.name.split(" · ")[0] + (f" · {loss_kind(run)}" if with_loss and run.config else ""))
                for run in runs]  # fmt: skip
        if len(rows) > MAX_LEGEND_RUNS:
            rows = rows[-MAX_LEGEND_RUNS:]
            rows.insert(0, ("#ffffff", f"… and {len(runs) - MAX_LEGEND_RUNS} more runs"))
        self.legend.setVisible(bool(rows))  # an empty plot needs no legend
        if rows == self._key:
            return
        self._key = rows
        style_rows = [(sample, label) for sample, label in self.legend.items if sample.item not in self._samples]
        self.legend.clear()
        self._samples = []
        for colour, name in rows:
            sample = pg.PlotDataItem(pen=pg.mkPen(QColor(colour), width=3))
            self._samples.append(sample)
            self.legend.addItem(sample, name)
        for sample, label in style_rows:
            self.legend.addItem(sample.item, label.text)
