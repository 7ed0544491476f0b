"""Learning curves drawn with QPainter onto any paint device: a QImage for curves.png, a QSvgGenerator for
curves.svg. Painting on those devices is safe off the GUI thread (unlike pyqtgraph's widgets), so the export
actions draw the curves in their worker and the GUI never waits for them.

Two panels side by side, loss and accuracy per epoch; train dashed, test solid, a dot per epoch; "nice" axis
ticks (1, 2 or 5 times a power of ten) so the numbers read easily.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QBuffer, QIODevice, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPaintDevice, QPainter, QPainterPath, QPen

from explorer.figure_canvas import pixel_font as _font

COLOURS = {"train": QColor("#1f77b4"), "test": QColor("#d62728")}
TEXT = QColor("#222222")
GRID = QColor("#e3e3e3")
AXIS = QColor("#888888")
PANELS = (("loss", "Loss per epoch"), ("accuracy", "Accuracy per epoch"))


def nice_ticks(low: float, high: float, count: int = 6) -> list[float]:
    """About `count` round tick values covering low..high (steps of 1, 2 or 5 times a power of ten)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0, 1.0]
    if high <= low:
        low, high = low - 0.5, high + 0.5
    raw = (high - low) / max(1, count - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)  # ticks enclose the data
    ticks = [round(k * step, 12) for k in range(first, last + 1)]
    return ticks


def _series(history: list[dict], key: str) -> dict[str, list[tuple[float, float]]]:
    out = {}
    for split in COLOURS:
        points = []
        for i, entry in enumerate(history):
            value = entry.get(f"{split}_{key}")
            if isinstance(value, (int, float)) and math.isfinite(value):
                points.append((float(entry.get("epoch", i + 1)), float(value)))
        out[split] = points
    return out


def _label(value: float, step: float) -> str:
    decimals = max(0, -math.floor(math.log10(step))) if step > 0 else 0
    return f"{value:.{min(decimals, 6)}f}"


def _ticks(points: list[tuple[float, float]]) -> tuple[list[float], list[float]]:
    """The epoch ticks (one per whole epoch when there are few) and the value ticks, padded around the data."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x_ticks = nice_ticks(min(xs), max(xs), 8) if max(xs) > min(xs) else [min(xs) - 1, min(xs), min(xs) + 1]
    if max(xs) - min(xs) < 8:  # few epochs: one tick per whole epoch
        x_ticks = [float(v) for v in range(math.floor(min(xs)), math.ceil(max(xs)) + 1)]
        if len(x_ticks) == 1:
            x_ticks = [x_ticks[0] - 1, x_ticks[0], x_ticks[0] + 1]
    span = max(ys) - min(ys)
    pad = span * 0.08 if span > 0 else max(abs(max(ys)) * 0.05, 0.01)
    return x_ticks, nice_ticks(min(ys) - pad, max(ys) + pad, 6)


class _Frame:
    """Maps (epoch, value) to the plot rectangle's pixels, the ticks' first and last values at its edges."""

    def __init__(self, plot: QRectF, x_ticks: list[float], y_ticks: list[float]):
        self.plot, self.x_ticks, self.y_ticks = plot, x_ticks, y_ticks
        self.x0, self.x1, self.y0, self.y1 = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]

    def at(self, x: float, y: float) -> QPointF:
        plot = self.plot
        return QPointF(
            plot.left() + (x - self.x0) / (self.x1 - self.x0) * plot.width(),
            plot.bottom() - (y - self.y0) / (self.y1 - self.y0) * plot.height(),
        )


def _draw_axes(painter: QPainter, rect: QRectF, frame: _Frame) -> None:
    """Grid lines, tick labels on both axes, the plot's border and the "epoch" title."""
    plot, x_ticks, y_ticks = frame.plot, frame.x_ticks, frame.y_ticks
    painter.setFont(_font(12))
    y_step = y_ticks[1] - y_ticks[0] if len(y_ticks) > 1 else 1.0
    for y in y_ticks:
        p = frame.at(frame.x0, y)
        painter.setPen(QPen(GRID, 1))
        painter.drawLine(QPointF(plot.left(), p.y()), QPointF(plot.right(), p.y()))
        painter.setPen(TEXT)
        painter.drawText(
            QRectF(rect.left(), p.y() - 9, 56, 18),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            _label(y, y_step),
        )
    x_step = x_ticks[1] - x_ticks[0] if len(x_ticks) > 1 else 1.0
    for x in x_ticks:
        p = frame.at(x, frame.y0)
        painter.setPen(QPen(GRID, 1))
        painter.drawLine(QPointF(p.x(), plot.top()), QPointF(p.x(), plot.bottom()))
        painter.setPen(TEXT)
        painter.drawText(
            QRectF(p.x() - 30, plot.bottom() + 4, 60, 18), Qt.AlignmentFlag.AlignCenter, _label(x, x_step)
        )
    painter.setPen(QPen(AXIS, 1))
    painter.drawRect(plot)
    painter.setPen(QColor("#555555"))
    painter.drawText(
        QRectF(plot.left(), plot.bottom() + 24, plot.width(), 20), Qt.AlignmentFlag.AlignCenter, "epoch"
    )


def _split_pen(split: str) -> QPen:
    """Train dashed, test solid, each in its colour."""
    return QPen(COLOURS[split], 2.2, Qt.PenStyle.DashLine if split == "train" else Qt.PenStyle.SolidLine)


def _draw_series(painter: QPainter, frame: _Frame, series: dict) -> None:
    """Each split's line with a dot per epoch, clipped to the plot."""
    painter.setClipRect(frame.plot.adjusted(-4, -4, 4, 4))
    for split, pts in series.items():
        if not pts:
            continue
        pen = _split_pen(split)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        path = QPainterPath(frame.at(*pts[0]))
        for p in pts[1:]:
            path.lineTo(frame.at(*p))
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(COLOURS[split])
        for p in pts:
            painter.drawEllipse(frame.at(*p), 3.5, 3.5)
    painter.setClipping(False)


def _draw_legend(painter: QPainter, plot: QRectF, legend_top: bool) -> None:
    """The legend in a corner the curves leave free: top right for loss (falls), bottom right for accuracy
    (rises)."""
    box = QRectF(plot.right() - 100, plot.top() + 8 if legend_top else plot.bottom() - 56, 92, 48)
    painter.setPen(QPen(GRID, 1))
    painter.setBrush(QColor(255, 255, 255, 230))
    painter.drawRect(box)
    painter.setFont(_font(12))
    for row, split in enumerate(COLOURS):
        y = box.top() + 14 + row * 20
        painter.setPen(_split_pen(split))
        painter.drawLine(QPointF(box.left() + 8, y), QPointF(box.left() + 38, y))
        painter.setPen(TEXT)
        painter.drawText(QRectF(box.left() + 44, y - 9, 48, 18), Qt.AlignmentFlag.AlignVCenter, split)


def _panel(painter: QPainter, rect: QRectF, title: str, series: dict, legend_top: bool) -> None:
    """One panel: its title, axes, curves and legend (or a note when the model has no history)."""
    painter.setPen(TEXT)
    painter.setFont(_font(17))
    painter.drawText(QRectF(rect.left(), rect.top(), rect.width(), 30), Qt.AlignmentFlag.AlignCenter, title)
    plot = QRectF(rect.left() + 62, rect.top() + 40, rect.width() - 80, rect.height() - 90)
    points = [p for pts in series.values() for p in pts]
    if not points:
        painter.setFont(_font(14))
        painter.setPen(QColor("#666666"))
        painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, "No per-epoch history in this model")
        return
    frame = _Frame(plot, *_ticks(points))
    _draw_axes(painter, rect, frame)
    _draw_series(painter, frame, series)
    _draw_legend(painter, plot, legend_top)


def paint_curves(device: QPaintDevice, history: list[dict], width: int, height: int) -> None:
    """Draw both panels onto `device` (white background), `width` x `height` logical pixels."""
    painter = QPainter(device)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    painter.fillRect(QRectF(0, 0, width, height), QColor("white"))
    half = width / 2
    for i, (key, title) in enumerate(PANELS):
        _panel(
            painter, QRectF(i * half + 10, 10, half - 20, height - 20), title, _series(history, key), i == 0
        )
    painter.end()


def curves_png(history: list[dict], width: int = 1000, height: int = 420, scale: int = 1) -> QImage:
    image = QImage(width * scale, height * scale, QImage.Format.Format_RGB32)
    image.setDevicePixelRatio(scale)
    paint_curves(image, history, width, height)
    image.setDevicePixelRatio(1.0)
    return image


def curves_svg(history: list[dict], width: int = 1000, height: int = 420) -> bytes:
    from PySide6.QtSvg import QSvgGenerator

    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setSize(QSize(width, height))
    generator.setViewBox(QRectF(0, 0, width, height))
    generator.setTitle("Loss and accuracy per epoch")
    paint_curves(generator, history, width, height)
    return bytes(buffer.data())
