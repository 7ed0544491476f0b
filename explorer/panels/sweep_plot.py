"""The sweep view's data and plot: a sweep's runs (those named "sweep K: ...") with the settings they vary, and
their settings against test accuracy, drawn as parallel coordinates (one line per run across the settings, the
last axis the accuracy) or, when the sweep varies one setting, as a scatter of that setting against accuracy."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

from explorer.sweep_controller import sweep_number

AXIS_COLOUR = "#444"


@dataclass
class SweepRow:
    run: object  # explorer.runs.Run
    values: dict  # TrainConfig field -> value
    accuracy: float | None


@dataclass
class SweepData:
    number: int
    keys: list[str]  # TrainConfig fields, in the sweep's order
    rows: list[SweepRow]  # best first; runs without a test accuracy last

    def column(self, key: str) -> list:
        return [row.values[key] for row in self.rows]


def sweep_numbers(runs) -> list[int]:
    return sorted({n for n in (sweep_number(run.name) for run in runs) if n is not None})


def _keys_of(runs) -> list[str]:
    """The swept settings, read from the run names ("sweep 1: lr=0.01 hidden=128"), as TrainConfig fields."""
    from core.sweep import _option_table

    table = _option_table()
    keys: list[str] = []
    for run in runs:
        for part in run.name.split(": ", 1)[-1].split():
            flag = part.split("=", 1)[0]
            if "=" in part and flag in table and table[flag][0] not in keys:
                keys.append(table[flag][0])
    return keys


def sweep_data(runs, number: int) -> SweepData:
    members = [run for run in runs if sweep_number(run.name) == number]
    keys = _keys_of(members)
    rows = [SweepRow(run, {k: _value(getattr(run.config, k, None)) for k in keys}, run.final_accuracy)
            for run in members]  # fmt: skip
    rows.sort(key=lambda r: -r.accuracy if isinstance(r.accuracy, int | float) else math.inf)
    return SweepData(number, keys, rows)


def _value(value):
    return ",".join(map(str, value)) if isinstance(value, tuple | list) else value


def value_text(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _numeric(values) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def axis_positions(values: list) -> tuple[np.ndarray, list[tuple[float, str]]]:
    """Each value's place on a 0..1 axis and the axis's labels: numbers in order (on a log scale when they are
    positive and span a factor of ten or more), anything else as categories in the order first seen."""
    distinct = list(dict.fromkeys(values))
    if _numeric(values):
        x = np.asarray(values, dtype=float)
        log = bool(np.all(x > 0) and x.max() >= 10 * x.min())
        t = np.log10(x) if log else x
        lo, hi = float(t.min()), float(t.max())
        scaled = (t - lo) / (hi - lo) if hi > lo else np.full(len(t), 0.5)
        shown = sorted(distinct)
        if len(shown) > 6:
            shown = [shown[0], shown[-1]]
        labels = [(float(scaled[values.index(v)]), value_text(v)) for v in shown]
        return scaled, labels
    index = {v: i for i, v in enumerate(distinct)}
    n = max(len(distinct) - 1, 1)
    scaled = np.array([index[v] / n if len(distinct) > 1 else 0.5 for v in values])
    return scaled, [(index[v] / n if len(distinct) > 1 else 0.5, str(v)) for v in distinct]


def accuracy_colour(fraction: float) -> QColor:
    """Low accuracy pale blue, high dark red: the best lines stand out."""
    fraction = min(max(fraction, 0.0), 1.0)
    low, high = np.array([158, 202, 225]), np.array([165, 15, 21])
    r, g, b = (low + (high - low) * fraction).astype(int)
    return QColor(int(r), int(g), int(b))


class SweepPlot(pg.PlotWidget):
    """Settings against test accuracy: parallel coordinates, or a scatter for a one-setting sweep."""

    def __init__(self, parent=None):
        super().__init__(parent, background="w")
        self.setObjectName("sweepPlot")
        self.item = self.getPlotItem()
        self.item.setMenuEnabled(False)
        for side in ("left", "bottom"):
            self.item.getAxis(side).setPen(pg.mkPen(AXIS_COLOUR))
            self.item.getAxis(side).setTextPen(pg.mkPen(AXIS_COLOUR))
        self.lines: list = []  # one item per run drawn (for tests)

    def show_sweep(self, data: SweepData | None) -> None:
        self.item.clear()
        self.lines = []
        rows = [r for r in (data.rows if data else []) if isinstance(r.accuracy, int | float)]
        if not rows or not data.keys:
            self.item.getAxis("bottom").setTicks(None)
            self.item.getAxis("left").setTicks(None)
            self.item.setTitle("No run of this sweep has finished yet" if data else "No sweep yet")
            return
        self.item.setTitle(None)
        if len(data.keys) == 1:
            self._scatter(data.keys[0], rows)
        else:
            self._parallel(data.keys, rows)

    def _scatter(self, key: str, rows: list[SweepRow]) -> None:
        from core.sweep import flag_of

        values = [r.values[key] for r in rows]
        accuracy = np.array([r.accuracy for r in rows], dtype=float)
        x, labels = axis_positions(values)
        span = accuracy.max() - accuracy.min()
        colours = [accuracy_colour((a - accuracy.min()) / span if span else 1.0) for a in accuracy]
        scatter = pg.ScatterPlotItem(x=x, y=accuracy, size=11, brush=[pg.mkBrush(c) for c in colours],
                                     pen=pg.mkPen("#333"))  # fmt: skip
        self.item.addItem(scatter)
        self.lines.append(scatter)
        self.item.getAxis("bottom").setTicks([labels])
        self.item.getAxis("left").setTicks(None)
        self.item.setLabel("bottom", flag_of(key), color=AXIS_COLOUR)
        self.item.setLabel("left", "test accuracy", color=AXIS_COLOUR)
        pad = max(span * 0.1, 0.002)
        self.item.setXRange(-0.08, 1.08, padding=0)
        self.item.setYRange(accuracy.min() - pad, accuracy.max() + pad, padding=0)

    def _parallel(self, keys: list[str], rows: list[SweepRow]) -> None:
        from core.sweep import flag_of

        accuracy = np.array([r.accuracy for r in rows], dtype=float)
        lo, hi = float(accuracy.min()), float(accuracy.max())
        acc_scaled = (accuracy - lo) / (hi - lo) if hi > lo else np.full(len(rows), 0.5)
        columns, axis_labels = [], []
        for key in keys:
            scaled, labels = axis_positions([r.values[key] for r in rows])
            columns.append(scaled)
            axis_labels.append(labels)
        columns.append(acc_scaled)
        axis_labels.append([(0.0, f"{lo:.2%}"), (1.0, f"{hi:.2%}")] if hi > lo else [(0.5, f"{hi:.2%}")])
        xs = np.arange(len(columns), dtype=float)
        for i in reversed(range(len(rows))):  # best last, so it is drawn on top
            colour = accuracy_colour(float(acc_scaled[i]))
            pen = pg.mkPen(colour, width=3.5 if i == 0 else 1.8)
            line = self.item.plot(xs, [c[i] for c in columns], pen=pen, symbol="o", symbolSize=6,
                                  symbolBrush=colour, symbolPen=colour)  # fmt: skip
            self.lines.append(line)
        for x, labels in zip(xs, axis_labels, strict=True):
            self.item.addItem(pg.InfiniteLine(pos=x, angle=90, pen=pg.mkPen("#888")))
            for y, text in labels:
                label = pg.TextItem(text, color=AXIS_COLOUR, anchor=(-0.08, 0.5))
                label.setPos(x, y)
                self.item.addItem(label)
        names = [flag_of(k) for k in keys] + ["test accuracy"]
        self.item.getAxis("bottom").setTicks([list(zip(xs, names, strict=True))])
        self.item.getAxis("left").setTicks([[]])
        self.item.setLabel("bottom", None)
        self.item.setLabel("left", None)
        self.item.setXRange(-0.15, len(columns) - 0.4, padding=0)
        self.item.setYRange(-0.08, 1.08, padding=0)
