"""robustness.png and robustness.csv for the exports and report.html: one model's test accuracy against rotation,
shift, noise and stroke thickness (core/robustness.py), four small plots drawn with QPainter (safe off the GUI
thread, like explorer/chart.py's curves)."""

from __future__ import annotations

import csv
import html
import io

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen

from core import robustness
from explorer.chart import nice_ticks
from explorer.figure_bytes import png_bytes
from explorer.figure_canvas import blank_canvas
from explorer.figure_canvas import pixel_font as _font

LINE = QColor("#1f77b4")
TEXT = QColor("#222222")
GRID = QColor("#e3e3e3")
AXIS = QColor("#888888")
X_TITLES = {
    "rotation": "degrees (alternate digits turned each way)",
    "shift": "pixels (right, down, left or up)",
    "noise": "noise sigma (fraction of black to white)",
    "thickness": "pixels (negative thinner, positive thicker)",
}
TITLES = {
    "rotation": "Rotation",
    "shift": "Shift",
    "noise": "Gaussian noise",
    "thickness": "Stroke thickness",
}


def compute_robustness(model, dataset, report=None) -> dict | None:
    """Every perturbation's curve on the dataset's test split (a few seconds for an MLP), or None without one."""
    if dataset is None or len(getattr(dataset, "test_images", ())) == 0:
        return None
    if report is not None:
        report(0.9, "Measuring robustness")
    return robustness.curves(model, dataset.test_images, dataset.test_labels)


def robustness_csv(found: dict) -> dict[str, list]:
    """perturbation,amount,accuracy: every point, amount 0 first in each perturbation (as the JSON orders it)."""
    columns = {"perturbation": [], "amount": [], "accuracy": []}
    for name, curve in found.items():
        for point in curve.points():
            columns["perturbation"].append(name)
            columns["amount"].append(point["amount"])
            columns["accuracy"].append(point["accuracy"])
    return columns


def render_robustness_files(found: dict | None) -> dict[str, bytes]:
    """robustness.png and robustness.csv ({} without curves)."""
    if not found:
        return {}
    png = png_bytes(render_robustness(found))
    columns = robustness_csv(found)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(list(columns))
    writer.writerows(zip(*columns.values(), strict=True))
    return {"robustness.png": png, "robustness.csv": text.getvalue().encode("utf-8")}


def render_robustness(found: dict, width: int = 1000, height: int = 720) -> QImage:
    """The four curves, two by two, accuracy in percent on a 0-100 scale, the plain test set's value marked."""
    image, painter = blank_canvas(width, height)
    painter.setFont(_font(18, bold=True))
    painter.drawText(
        QRectF(0, 6, width, 28), Qt.AlignmentFlag.AlignCenter, "Test accuracy as the digits change"
    )
    half_w, half_h = width / 2, (height - 40) / 2
    for k, name in enumerate(n for n in robustness.PERTURBATIONS if n in found):
        rect = QRectF((k % 2) * half_w + 10, 40 + (k // 2) * half_h, half_w - 20, half_h - 10)
        _plot(painter, rect, name, found[name])
    painter.end()
    return image


def _plot(painter: QPainter, rect: QRectF, name: str, curve) -> None:
    """One perturbation: title, axes with round ticks, the curve with a dot per amount and each dot's value."""
    painter.setPen(TEXT)
    painter.setFont(_font(15, bold=True))
    painter.drawText(
        QRectF(rect.left(), rect.top(), rect.width(), 22), Qt.AlignmentFlag.AlignCenter, TITLES[name]
    )
    plot = QRectF(rect.left() + 48, rect.top() + 30, rect.width() - 64, rect.height() - 78)
    amounts = sorted(float(a) for a in curve.amounts)
    x_ticks = amounts if len(amounts) <= 10 else nice_ticks(amounts[0], amounts[-1], 8)
    x0, x1 = min(x_ticks[0], amounts[0]), max(x_ticks[-1], amounts[-1])

    def at(x: float, y: float) -> QPointF:
        return QPointF(
            plot.left() + (x - x0) / ((x1 - x0) or 1) * plot.width(), plot.bottom() - y / 100 * plot.height()
        )

    painter.setFont(_font(11))
    for y in range(0, 101, 20):
        p = at(x0, y)
        painter.setPen(QPen(GRID, 1))
        painter.drawLine(QPointF(plot.left(), p.y()), QPointF(plot.right(), p.y()))
        painter.setPen(TEXT)
        painter.drawText(
            QRectF(rect.left(), p.y() - 8, 42, 16),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            f"{y}%",
        )
    for x in x_ticks:
        p = at(x, 0)
        painter.setPen(QPen(GRID, 1))
        painter.drawLine(QPointF(p.x(), plot.top()), QPointF(p.x(), plot.bottom()))
        painter.setPen(TEXT)
        painter.drawText(
            QRectF(p.x() - 24, plot.bottom() + 3, 48, 16), Qt.AlignmentFlag.AlignCenter, f"{x:g}"
        )
    painter.setPen(QPen(AXIS, 1))
    painter.drawRect(plot)
    painter.setPen(QColor("#555555"))
    painter.drawText(
        QRectF(plot.left(), plot.bottom() + 20, plot.width(), 16),
        Qt.AlignmentFlag.AlignCenter,
        X_TITLES[name],
    )
    order = sorted(range(len(curve.amounts)), key=lambda i: float(curve.amounts[i]))
    points = [at(float(curve.amounts[i]), 100 * float(curve.accuracy[i])) for i in order]
    _draw_curve(painter, plot, points, [float(curve.accuracy[i]) for i in order])


def _draw_curve(painter: QPainter, plot: QRectF, points: list, accuracies: list) -> None:
    """The line through the measured points, a dot on each and its value in percent above it."""
    path = QPainterPath(points[0])
    for p in points[1:]:
        path.lineTo(p)
    painter.setPen(QPen(LINE, 2.2))
    painter.drawPath(path)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(LINE)
    for p in points:
        painter.drawEllipse(p, 3.5, 3.5)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setPen(TEXT)
    painter.setFont(_font(10))
    for accuracy, p in zip(accuracies, points, strict=True):  # each value above its dot (below when near the top)
        dy = -18 if p.y() - plot.top() > 22 else 6
        painter.drawText(
            QRectF(p.x() - 22, p.y() + dy, 44, 14),
            Qt.AlignmentFlag.AlignCenter,
            f"{100 * accuracy:.1f}",
        )


def robustness_section(found: dict | None, files: dict[str, bytes], img) -> list[str]:
    """report.html's robustness section: the figure and a table of every amount ([] without curves)."""
    if not found:
        return []
    explain = (
        "Test accuracy when every test digit is turned (alternate digits each way), moved (right, down, left or "
        "up), given Gaussian noise (sigma as a fraction of black to white, clipped) or has its strokes thinned or "
        "thickened (grey erosion or dilation with a disk). Amount 0 is the plain test set. A flat curve is a "
        "robust network; a network trained with rotations should fall later under rotation."
    )
    rows = []
    for name, curve in found.items():
        for point in sorted(curve.points(), key=lambda p: p["amount"]):
            rows.append(
                f"<tr><td class='k'>{html.escape(name)}</td><td>{point['amount']:g}</td>"
                f"<td>{100 * point['accuracy']:.2f}</td></tr>"
            )
    table = (
        "<table><tr><th class='k'>change</th><th>amount</th><th>accuracy %</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    return [
        "<h2>Robustness</h2>",
        f"<p>{html.escape(explain)}</p>",
        img(
            files.get("robustness.png"), "test accuracy against rotation, shift, noise and thickness", "wide"
        ),
        table,
    ]
