"""abstain.png and abstain.csv for the exports and report.html: the accuracy-coverage curve of a confidence
threshold under which the network says "not sure" (core/abstain.py), drawn with QPainter (safe off the GUI
thread, like explorer/chart.py's curves), with a few thresholds marked on it."""

from __future__ import annotations

import csv
import html
import io

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen

from core import abstain
from explorer.chart import nice_ticks
from explorer.figure_bytes import png_bytes
from explorer.figure_canvas import blank_canvas
from explorer.figure_canvas import pixel_font as _font

LINE, MARK = QColor("#1f77b4"), QColor("#d62728")
TEXT, GRID, AXIS = QColor("#222222"), QColor("#e3e3e3"), QColor("#888888")
MARKED = (0.5, 0.8, 0.9, 0.95, 0.99)  # thresholds labelled on the figure and listed in the report


def compute_abstain(probs, labels, probabilities: bool = True) -> dict | None:
    """The curve and whether the outputs were probabilities (None without test images)."""
    if probs is None or len(probs) == 0:
        return None
    return {"curve": abstain.curve(probs, labels, probabilities), "probabilities": bool(probabilities)}


def render_abstain_files(found: dict | None) -> dict[str, bytes]:
    """abstain.png and abstain.csv (threshold,coverage,accuracy; {} without a curve)."""
    if not found:
        return {}
    png = png_bytes(render_abstain(found["curve"], found["probabilities"]))
    columns = found["curve"].columns()
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(list(columns))
    for row in zip(*columns.values(), strict=True):
        writer.writerow(["" if v is None else repr(v) for v in row])
    return {"abstain.png": png, "abstain.csv": text.getvalue().encode("utf-8")}


def render_abstain(
    curve: abstain.Curve, probabilities: bool = True, width: int = 800, height: int = 520
) -> QImage:
    """Accuracy over the answered digits against the share answered, the marked thresholds labelled."""
    image, painter = blank_canvas(width, height)
    painter.setFont(_font(18, bold=True))
    title = '"I don\'t know": answer only when sure enough'
    painter.drawText(QRectF(0, 8, width, 26), Qt.AlignmentFlag.AlignCenter, title)
    painter.setFont(_font(12))
    sub = (
        "confidence = top probability"
        if probabilities
        else "confidence = top sigmoid output / sum of outputs"
    )
    painter.drawText(QRectF(0, 34, width, 18), Qt.AlignmentFlag.AlignCenter, sub)
    plot = QRectF(96, 64, width - 126, height - 124)
    answered = curve.answered > 0
    acc = 100 * curve.accuracy[answered]
    y_ticks = nice_ticks(float(acc.min()) - 0.5, 100.0, 6)
    y0, y1 = y_ticks[0], y_ticks[-1]

    def at(x: float, y: float) -> QPointF:
        return QPointF(
            plot.left() + x / 100 * plot.width(), plot.bottom() - (y - y0) / (y1 - y0) * plot.height()
        )

    _axes(painter, plot, at, y_ticks)
    points = [at(x, y) for x, y in zip(100 * curve.coverage[answered], acc, strict=True)]
    path = QPainterPath(points[0])
    for p in points[1:]:
        path.lineTo(p)
    painter.setPen(QPen(LINE, 2.4))
    painter.drawPath(path)
    _marks(painter, curve, at, probabilities)
    painter.end()
    return image


def _axes(painter: QPainter, plot: QRectF, at, y_ticks) -> None:
    painter.setFont(_font(12))
    for y in y_ticks:
        p = at(0, y)
        painter.setPen(QPen(GRID, 1))
        painter.drawLine(QPointF(plot.left(), p.y()), QPointF(plot.right(), p.y()))
        painter.setPen(TEXT)
        painter.drawText(QRectF(plot.left() - 64, p.y() - 9, 58, 18),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f"{y:g}%")  # fmt: skip
    for x in range(0, 101, 10):
        p = at(x, y_ticks[0])
        painter.setPen(QPen(GRID, 1))
        painter.drawLine(QPointF(p.x(), plot.top()), QPointF(p.x(), plot.bottom()))
        painter.setPen(TEXT)
        painter.drawText(QRectF(p.x() - 24, plot.bottom() + 4, 48, 18), Qt.AlignmentFlag.AlignCenter, f"{x}%")
    painter.setPen(QPen(AXIS, 1))
    painter.drawRect(plot)
    painter.setPen(QColor("#555555"))
    painter.setFont(_font(13))
    painter.drawText(QRectF(plot.left(), plot.bottom() + 26, plot.width(), 20), Qt.AlignmentFlag.AlignCenter,
                     "coverage: share of the test digits answered")  # fmt: skip
    painter.save()
    painter.translate(plot.left() - 78, plot.center().y())
    painter.rotate(-90)
    painter.drawText(
        QRectF(-150, -9, 300, 18), Qt.AlignmentFlag.AlignCenter, "accuracy on the answered digits"
    )
    painter.restore()


def _marks(painter: QPainter, curve: abstain.Curve, at, probabilities: bool) -> None:
    """A dot and a label at each marked threshold that still answers some digits."""
    painter.setFont(_font(12, bold=True))
    for threshold in MARKED:
        point = curve.at(threshold)
        if not point.answered:
            continue
        p = at(100 * point.coverage, 100 * point.accuracy)
        painter.setPen(QPen(QColor("white"), 1.5))
        painter.setBrush(MARK)
        painter.drawEllipse(p, 5, 5)
        painter.setPen(MARK)
        label = f"{100 * threshold:g}%" if probabilities else f"{threshold:.2f}"
        painter.drawText(QRectF(p.x() - 70, p.y() - 22, 64, 16),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label)  # fmt: skip
    painter.setBrush(Qt.BrushStyle.NoBrush)


def abstain_section(found: dict | None, files: dict[str, bytes], img) -> list[str]:
    """report.html's section: what the curve is, the figure and the marked thresholds as a table."""
    if not found:
        return []
    curve, probabilities = found["curve"], found["probabilities"]
    confidence = (
        "its top probability"
        if probabilities
        else "its top sigmoid output divided by the sum of its outputs (a sigmoid output layer's outputs are not "
        "probabilities, so they are normalised to sum 1 first)"
    )
    explain = (
        f'The network may say "not sure" when its confidence, {confidence}, is under a threshold. Each point of '
        "the curve is one threshold: the share of the test digits it still answers (across) and how many of "
        'those it gets right (up). The app\'s Errors tab moves the threshold; the Draw tab says "not sure" under '
        "it."
    )
    rows = []
    for threshold in (0.0, *MARKED):
        point = curve.at(threshold)
        accuracy = "–" if np.isnan(point.accuracy) else f"{100 * point.accuracy:.2f}"
        rows.append(
            f"<tr><td>{100 * threshold:g}%</td><td>{100 * point.coverage:.2f}</td><td>{accuracy}</td></tr>"
        )
    table = "<table><tr><th>threshold</th><th>answered %</th><th>accuracy of those %</th></tr>" + "".join(
        rows
    )
    return [
        "<h2>I don't know: answering only when sure</h2>",
        f"<p>{html.escape(explain)}</p>",
        img(files.get("abstain.png"), "accuracy against coverage as the confidence threshold moves", "wide"),
        table + "</table>",
    ]
