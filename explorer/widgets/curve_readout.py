"""The crosshair of the training curves and its one-line readout: the values of the run whose curve is nearest the
mouse (not the selected run's, which may be one that ended an hour ago), in a label that never asks for more room.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt

from explorer.widgets.run_curves import epoch_x

HINT = "<span style='color:#777'>Hover over the plots to read values.</span>"


def _batch_values(run, plot_name: str):
    """(x, y) of the run's curve on that plot, in the plot's own units (the lr plot's y is log10)."""
    if plot_name == "loss":
        return run.batch_x.array, run.batch_loss_smooth.array
    if plot_name == "accuracy":
        return run.batch_x.array, 100.0 * run.batch_accuracy_smooth.array
    lr = run.batch_lr.array
    with np.errstate(divide="ignore", invalid="ignore"):
        return run.batch_x.array, np.log10(lr)


def _epoch_values(run, plot_name: str):
    key = {"loss": "test_loss", "accuracy": "test_accuracy"}.get(plot_name)
    if key is None or not run.history:
        return np.array([]), np.array([])
    ys = np.array([h.get(key) if h.get(key) is not None else np.nan for h in run.history], dtype=float)
    return epoch_x(run), 100.0 * ys if plot_name == "accuracy" else ys


def nearest_run(runs, plot_name: str, x: float, y: float):
    """The visible run whose curve on `plot_name` passes closest to (x, y); None when no curve spans x."""
    best, best_gap = None, np.inf
    for run in runs:
        if not run.visible:
            continue
        xs, ys = _batch_values(run, plot_name)
        n = min(xs.size, ys.size)
        if n == 0:
            xs, ys = _epoch_values(run, plot_name)
            n = xs.size
        if n == 0 or not xs[0] - 0.5 / max(n, 1) <= x <= xs[n - 1] + 1e-9:
            continue
        value = np.interp(x, xs[:n], ys[:n])
        gap = abs(value - y) if np.isfinite(value) else np.inf
        if gap < best_gap:
            best, best_gap = run, gap
    return best


def readout_text(run, x: float) -> str:
    """The run's values at epoch `x`, as one short line of rich text (the smoothed values: what the lines show)."""
    parts = [f"<b style='color:{run.colour}'>{run.name.split(' · ')[0]}</b>", f"epoch {x:.2f}"]
    xs = run.batch_x.array
    if xs.size:
        i = int(np.clip(np.searchsorted(xs, x), 0, xs.size - 1))
        parts.append(f"loss {run.batch_loss_smooth[i]:.4f}")
        parts.append(f"accuracy {run.batch_accuracy_smooth[i]:.2%}")
        if i < len(run.batch_lr):
            parts.append(f"lr {run.batch_lr[i]:.3g}")
    ex = epoch_x(run)
    if ex.size:
        j = int(np.argmin(np.abs(ex - x)))
        h = run.history[j]
        if abs(ex[j] - x) < 0.5 and h.get("test_accuracy") is not None:
            parts.append(f"test {h['test_accuracy']:.2%} (loss {h.get('test_loss', float('nan')):.4f})")
    return " · ".join(parts)


class Readout(QObject):
    """Crosshair lines on the three plots and the text of the run under the mouse; cleared when it leaves."""

    def __init__(self, curves, label):
        super().__init__(curves)
        self.curves = curves
        self.label = label
        self.label.setText(HINT)
        self.run = None  # the run read last
        self.lines = []
        self.plots = {"loss": curves.loss_plot, "accuracy": curves.accuracy_plot, "lr": curves.lr_plot}
        for name, plot in self.plots.items():
            line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#999", style=Qt.PenStyle.DotLine))
            line.setVisible(False)
            plot.addItem(line, ignoreBounds=True)
            self.lines.append(line)
            plot.scene().sigMouseMoved.connect(lambda pos, n=name: self.on_mouse(n, pos))
            plot.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Leave:
            self.clear()
        return False

    def clear(self) -> None:
        for line in self.lines:
            line.setVisible(False)
        self.run = None
        self.label.setText(HINT)

    def on_mouse(self, plot_name: str, pos) -> None:
        plot = self.plots[plot_name]
        view = plot.getPlotItem().vb
        if not view.sceneBoundingRect().contains(pos):
            return
        point = view.mapSceneToView(pos)
        x, y = float(point.x()), float(point.y())
        for line in self.lines:
            line.setPos(x)
            line.setVisible(True)
        self.show(plot_name, x, y)
        self.curves.hovered.emit(x)

    def show(self, plot_name: str, x: float, y: float) -> None:
        state = self.curves.state
        run = nearest_run(state.runs, plot_name, x, y)
        if run is None:  # past every curve's end: the run training now, else the selected one
            training = state.runs[-1] if state.training and state.runs else None
            run = next((r for r in (training, state.selected_run) if r is not None and r.visible), None)
        self.run = run
        self.label.setText(readout_text(run, x) if run is not None else f"epoch {x:.2f}")
