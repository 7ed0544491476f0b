"""datamap.png, datamap.csv and suspects.csv for the exports and report.html, from a run's per-image training
record (core/training_record.py): the data map (Swayamdipta et al. 2020) drawn with QPainter (safe off the GUI
thread, like explorer/chart.py's curves) and the suspects ranked by the area under the margin
(core/cartography.py). The map's picture (`render_map_rgba`) is the one the Data map tab shows.

A model file alone has no record; `record_beside(model_path, model)` finds the one a run folder keeps beside
its epoch files (`<run id>/dynamics.npz`), so `mnist-explorer export <run id>/epoch_0005.npz OUT` has it.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen

from core import cartography
from explorer.chart import nice_ticks
from explorer.figure_canvas import pixel_font as _font

GRID = (400, 320)  # cells across variability and confidence
X_RANGE = (0.0, 0.5)  # variability: a standard deviation of values in [0, 1] is at most 0.5
Y_RANGE = (0.0, 1.0)
TOP = 60  # suspects listed (the gallery, suspects.csv ranks every image)
REPORT_ROWS = 20
# correctness 0 (never right) .. 1 (always right): red, orange, yellow-green, teal, blue
PALETTE = np.array([[214, 39, 40], [255, 127, 14], [160, 190, 40], [23, 160, 150], [31, 90, 200]], np.float32)
NO_RECORD = ("no per-image training record: a model file alone has none (export an epoch file from a run "
             "folder, <data folder>/runs/<id>/epoch_NNNN.npz, to get datamap.* and suspects.csv)")  # fmt: skip


def correctness_colours(correctness: np.ndarray) -> np.ndarray:
    """RGB (n, 3) float32 for correctness in [0, 1], interpolated along PALETTE."""
    position = np.clip(np.nan_to_num(correctness), 0.0, 1.0) * (len(PALETTE) - 1)
    low = np.floor(position).astype(int).clip(0, len(PALETTE) - 2)
    t = (position - low)[:, None]
    return PALETTE[low] * (1 - t) + PALETTE[low + 1] * t


def render_map_rgba(dm: cartography.DataMap, grid=GRID) -> np.ndarray:
    """The map as an RGBA image (grid[0], grid[1], 4), x (variability) first, y (confidence) up: each cell's
    colour is the mean correctness of its points, its opacity grows with their number. A few NumPy passes
    instead of 60,000 scatter points (a pyqtgraph scatter took 170 ms per update on the GUI thread)."""
    w, h = grid
    ok = ~(np.isnan(dm.confidence) | np.isnan(dm.variability))
    gx = np.clip(((dm.variability[ok] - X_RANGE[0]) / (X_RANGE[1] - X_RANGE[0]) * w).astype(int), 0, w - 1)
    gy = np.clip(((dm.confidence[ok] - Y_RANGE[0]) / (Y_RANGE[1] - Y_RANGE[0]) * h).astype(int), 0, h - 1)
    cell = gx * h + gy
    count = np.bincount(cell, minlength=w * h).astype(np.float32)
    right = np.bincount(cell, np.nan_to_num(dm.correctness[ok]), minlength=w * h)
    mean = np.divide(right, count, out=np.zeros_like(count), where=count > 0)
    rgba = np.zeros((w * h, 4), np.uint8)
    rgba[:, :3] = correctness_colours(mean).astype(np.uint8)
    top = max(float(count.max()), 1.0)
    alpha = np.where(count > 0, 0.45 + 0.55 * np.log1p(count) / np.log1p(top), 0.0)
    rgba[:, 3] = (alpha * 255).astype(np.uint8)
    return rgba.reshape(w, h, 4)


def map_table(dm: cartography.DataMap) -> dict:
    """datamap.csv's columns: one row per training image; correct = the share of epochs it was right."""
    return {"index": np.arange(len(dm.labels)), "label": dm.labels.astype(int),
            "confidence": np.round(dm.confidence.astype(np.float64), 5), "variability": np.round(dm.variability.astype(np.float64), 5),
            "correct": np.round(dm.correctness.astype(np.float64), 5)}  # fmt: skip


def suspects_table(found: cartography.Suspects, names) -> dict:
    """suspects.csv's columns, most suspect first."""
    return {"rank": np.arange(1, len(found.indices) + 1), "index": found.indices.astype(int),
            "label": [names[v] for v in found.labels], "suggested": [names[v] for v in found.suggested],
            "score": np.round(found.scores.astype(np.float64), 4)}  # fmt: skip


# --- the exports -------------------------------------------------------------------------------------------------
def compute_datamap(dynamics, classes, upto: int | None = None) -> dict | None:
    """The map and every image ranked, from a Dynamics up to epoch `upto` (None when there is nothing)."""
    if dynamics is None or not dynamics.columns(upto):
        return None
    return {"map": cartography.data_map(dynamics, upto), "suspects": cartography.suspects(dynamics, None, upto=upto),
            "classes": [str(c) for c in classes]}  # fmt: skip


def run_record(run, epochs: int):
    """The app's run's record up to `epochs` (the shown model's), or None (none, or its file is damaged)."""
    from explorer.runs import run_dynamics

    try:
        dynamics = run_dynamics(run) if run is not None else None
    except ValueError:
        return None
    if dynamics is not None and epochs and dynamics.epochs and dynamics.epochs[-1] > epochs:
        dynamics = dynamics.truncated(epochs)
    return dynamics


def record_beside(model_path, model):
    """(the Dynamics of the run folder holding `model_path`, up to the model's epoch; or None, and why not)."""
    from core import training_record
    from core.run_files import DYNAMICS

    path = Path(model_path).resolve().parent / DYNAMICS
    if not path.is_file():
        return None, NO_RECORD
    try:
        dynamics = training_record.load(path)
    except ValueError as exc:
        return None, str(exc)
    epochs = len(model.history)
    if epochs and dynamics.epochs and dynamics.epochs[-1] > epochs:
        dynamics = dynamics.truncated(epochs)
    return dynamics, ""


def render_datamap_files(found: dict | None) -> dict[str, bytes]:
    """datamap.png, datamap.csv and suspects.csv ({} without a record)."""
    if not found:
        return {}
    from explorer.figures import csv_bytes, png_bytes  # here: explorer.figures imports this module's users

    top = _top(found["suspects"], TOP)
    return {"datamap.png": png_bytes(render_datamap(found["map"], top)),
            "datamap.csv": csv_bytes(map_table(found["map"])),
            "suspects.csv": csv_bytes(suspects_table(found["suspects"], found["classes"]))}  # fmt: skip


def _top(found: cartography.Suspects, n: int) -> cartography.Suspects:
    return cartography.Suspects(found.indices[:n], found.labels[:n], found.suggested[:n], found.scores[:n],
                                found.method)  # fmt: skip


def render_datamap(dm: cartography.DataMap, top: cartography.Suspects, width: int = 900, height: int = 640) -> QImage:
    """The data map with its axes, the suspects ringed, and a legend of the correctness colours."""
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    plot = QRectF(78, 50, width - 110, height - 150)
    painter.setFont(_font(17, True))
    painter.setPen(QColor("#222222"))
    painter.drawText(QRectF(0, 8, width, 30), Qt.AlignmentFlag.AlignCenter,
                     f"Data map: {len(dm.labels):,} training images over {dm.epochs} epochs")  # fmt: skip
    _axes(painter, plot)
    rgba = np.ascontiguousarray(render_map_rgba(dm).transpose(1, 0, 2)[::-1])  # rows top-down, y up
    cells = QImage(rgba.data, rgba.shape[1], rgba.shape[0], 4 * rgba.shape[1], QImage.Format.Format_RGBA8888)
    painter.drawImage(plot, cells)
    painter.setPen(QPen(QColor(0, 0, 0, 200), 1.3))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    for i in top.indices:
        painter.drawEllipse(_point(plot, dm.variability[i], dm.confidence[i]), 4.5, 4.5)
    _legend(painter, QRectF(plot.left(), height - 40, plot.width(), 24))
    painter.end()
    return image


def _point(plot: QRectF, x: float, y: float) -> QPointF:
    fx = (x - X_RANGE[0]) / (X_RANGE[1] - X_RANGE[0])
    fy = (y - Y_RANGE[0]) / (Y_RANGE[1] - Y_RANGE[0])
    return QPointF(plot.left() + fx * plot.width(), plot.bottom() - fy * plot.height())


def _axes(painter: QPainter, plot: QRectF) -> None:
    painter.setFont(_font(13))
    for value in nice_ticks(*X_RANGE):
        p = _point(plot, value, Y_RANGE[0])
        painter.setPen(QColor("#e3e3e3"))
        painter.drawLine(QPointF(p.x(), plot.top()), QPointF(p.x(), plot.bottom()))
        painter.setPen(QColor("#222222"))
        painter.drawText(QRectF(p.x() - 30, plot.bottom() + 4, 60, 18), Qt.AlignmentFlag.AlignCenter, f"{value:g}")
    for value in nice_ticks(*Y_RANGE):
        p = _point(plot, X_RANGE[0], value)
        painter.setPen(QColor("#e3e3e3"))
        painter.drawLine(QPointF(plot.left(), p.y()), QPointF(plot.right(), p.y()))
        painter.setPen(QColor("#222222"))
        painter.drawText(QRectF(plot.left() - 48, p.y() - 9, 42, 18),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f"{value:g}")  # fmt: skip
    painter.setPen(QColor("#888888"))
    painter.drawRect(plot)
    painter.setPen(QColor("#222222"))
    painter.drawText(QRectF(plot.left(), plot.bottom() + 24, plot.width(), 20), Qt.AlignmentFlag.AlignCenter,
                     "variability (standard deviation of the label's probability over the epochs)")  # fmt: skip
    painter.save()
    painter.translate(plot.left() - 58, plot.center().y())
    painter.rotate(-90)
    painter.drawText(QRectF(-plot.height() / 2, -10, plot.height(), 20), Qt.AlignmentFlag.AlignCenter,
                     "confidence (mean probability of the label)")  # fmt: skip
    painter.restore()


def _legend(painter: QPainter, rect: QRectF) -> None:
    painter.setFont(_font(13))
    x = rect.left()
    items = [("right in:", None)] + [("no epoch" if k == 0 else f"{k / (len(PALETTE) - 1):.0%} of epochs", rgb)
                                     for k, rgb in enumerate(PALETTE.astype(int))] + [("○ a suspect", None)]  # fmt: skip
    for text, rgb in items:
        if rgb is not None:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(int(rgb[0]), int(rgb[1]), int(rgb[2])))
            painter.drawEllipse(QPointF(x + 6, rect.center().y()), 5, 5)
            x += 15
        painter.setPen(QColor("#222222"))
        width = painter.fontMetrics().horizontalAdvance(text) + 16
        painter.drawText(QRectF(x, rect.top(), width, rect.height()), Qt.AlignmentFlag.AlignVCenter, text)
        x += width


def datamap_section(found: dict | None, files: dict[str, bytes], img) -> list[str]:
    """report.html's part: the map and the first suspects (nothing without a record)."""
    if not found:
        return []
    dm, suspects, names = found["map"], found["suspects"], found["classes"]
    rows = "".join(
        f"<tr><td>{rank}</td><td>{int(i):,}</td><td>{html.escape(names[g])}</td><td>{html.escape(names[s])}</td>"
        f"<td>{score:.3f}</td></tr>"
        for rank, (i, g, s, score) in enumerate(zip(suspects.indices[:REPORT_ROWS], suspects.labels,
                                                    suspects.suggested, suspects.scores, strict=False), start=1)
    )  # fmt: skip
    hard = int(np.count_nonzero(dm.confidence < 0.5))
    return [
        "<h2>Data map and suspects</h2>",
        f"<p>Each training image at its confidence (the mean probability the network gave its label while it "
        f"trained, over {dm.epochs} epochs) against its variability; colour: the share of epochs its label was "
        f"the top answer. {hard:,} images sit below confidence 0.5, where mislabelled images gather. The "
        f"suspects are ranked by the area under the margin, log p(given) - log p(best other) averaged over the "
        f"epochs: below 0, another label usually won. datamap.csv and suspects.csv hold every image.</p>",
        img(files.get("datamap.png"), "the data map", "wide"),
        "<table><tr><th>rank</th><th>index</th><th>given</th><th>suggested</th><th>score</th></tr>"
        + rows + "</table>",
    ]
