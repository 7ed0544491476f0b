"""units.png and units.csv for the exports and report.html: what each unit of the first hidden layer answers to
(its 16 most exciting test images) and what the network loses without it (the test accuracy with that unit
silenced alone; core/units.py). Drawn with QPainter, safe off the GUI thread."""

from __future__ import annotations

import csv
import html
import io

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter

from core import units
from core.readers import IMAGE_SHAPE
from explorer.figure_bytes import png_bytes
from explorer.figure_canvas import pixel_font as _font

SHOWN = 8  # the units drawn in units.png: those whose silencing costs the most
TEXT = QColor("#222222")


def compute_units(model, dataset, report=None) -> dict | None:
    """The first hidden layer's top images and the accuracy without each unit (None for a network without hidden
    dense layers or without test images)."""
    if dataset is None or len(getattr(dataset, "test_images", ())) == 0 or units.applies(model.network):
        return None
    if report is not None:
        report(0.95, "What each unit answers to")
    net, labels = model.network, np.asarray(dataset.test_labels, dtype=np.int64)
    x = model.scale(dataset.test_images)
    values = units.hidden_activations(net, x, 0).astype(np.float64)
    top = np.argsort(-values, axis=0, kind="stable")[: units.TOP_IMAGES].T  # (units, 16), as units.top_images
    return {
        "top": top,
        "top_values": np.take_along_axis(values.T, top, axis=1),
        "mean": values.mean(axis=0),
        "accuracy": float(np.mean(units.forward(net, x).argmax(axis=1) == labels)),
        "without": units.accuracy_without_each(net, x, labels, 0),  # None when too costly
        "images": np.asarray(dataset.test_images),
        "labels": labels,
    }


def _order(found: dict) -> np.ndarray:
    """The units by what their silencing costs (most first), or by their top activation without that number."""
    if found["without"] is not None:
        return np.argsort(found["without"], kind="stable")
    return np.argsort(-found["top_values"][:, 0], kind="stable")


def render_unit_files(found: dict | None) -> dict[str, bytes]:
    """units.png and units.csv ({} without units)."""
    if not found:
        return {}
    png = png_bytes(render_units(found))
    without = found["without"]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["unit", "top_activation", "mean_activation", "accuracy_without", "top_images"])
    for j in range(len(found["top"])):
        writer.writerow([
            j,
            repr(float(found["top_values"][j, 0])),
            repr(float(found["mean"][j])),
            "" if without is None else repr(float(without[j])),
            " ".join(str(int(i)) for i in found["top"][j]),
        ])  # fmt: skip
    return {"units.png": png, "units.csv": text.getvalue().encode("utf-8")}


def render_units(found: dict, scale: int = 2) -> QImage:
    """One row per unit (the SHOWN costliest): its number and cost, then its 16 most exciting test images."""
    side = IMAGE_SHAPE[1] * scale
    chosen = _order(found)[:SHOWN]
    left, gap, top_margin = 170, 2, 44
    width = left + units.TOP_IMAGES * (side + gap) + 10
    height = top_margin + len(chosen) * (side + 10) + 10
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    painter.setPen(TEXT)
    painter.setFont(_font(17, bold=True))
    title = "First hidden layer: the units the network misses most, and the test digits that excite each"
    if found["without"] is None:
        title = "First hidden layer: the most excited units and the test digits that excite each"
    painter.drawText(QRectF(0, 6, width, 26), Qt.AlignmentFlag.AlignCenter, title)
    for row, j in enumerate(chosen):
        y = top_margin + row * (side + 10)
        painter.setFont(_font(14, bold=True))
        painter.drawText(QRectF(8, y, left - 12, 22), Qt.AlignmentFlag.AlignLeft, f"unit {j}")
        painter.setFont(_font(12))
        if found["without"] is not None:
            change = 100 * (found["without"][j] - found["accuracy"])
            painter.drawText(
                QRectF(8, y + 22, left - 12, 18), Qt.AlignmentFlag.AlignLeft, f"silenced: {change:+.2f} pts"
            )
        for k, index in enumerate(found["top"][j]):
            tile = np.kron(found["images"][index], np.ones((scale, scale), np.uint8))
            painter.drawImage(left + k * (side + gap), y, _grey(tile))
    painter.end()
    return image


def _grey(pixels: np.ndarray) -> QImage:
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    h, w = pixels.shape
    return QImage(pixels.data, w, h, w, QImage.Format.Format_Grayscale8).copy()


def units_section(found: dict | None, files: dict[str, bytes], img) -> list[str]:
    """report.html's section on the first hidden layer's units ([] without one)."""
    if not found:
        return []
    explain = (
        "Each row is one unit of the first hidden layer and the 16 test digits that make it fire hardest. "
        + (
            "The rows are the units whose silencing (their activation forced to 0, alone) costs the most test "
            "accuracy; units.csv lists every unit with that cost and its top images."
            if found["without"] is not None
            else "Silencing each unit alone would take too long for this network, so the rows are the units "
            "with the highest activations; units.csv lists every unit's top images."
        )
        + " The app's Weights tab shows any unit and silences any set of units."
    )
    return [
        "<h2>What the units answer to</h2>",
        f"<p>{html.escape(explain)}</p>",
        img(files.get("units.png"), "units and the test digits that excite them most", "wide"),
    ]
