"""The hidden-layer map as files: projection.png (drawn with QPainter on a QImage, safe off the GUI thread) and
projection.csv (one row per mapped test image), for `mnist-explorer export`, File > Export figures and the map
tab's own export. The label colours here are the ones the tab draws with.

An export that is not handed a map computes one for the model alone (`compute_export_map`): EXPORT_SAMPLE test
images with the full t-SNE schedule. A sample, not all 10,000: one map of 10,000 takes about 14 s of one core,
of 2,000 a few seconds, and every export (and every test that exports) would pay for it. The tab's own export
writes the map it shows, every image of it.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen

from core import projection
from explorer.figure_bytes import png_bytes

# Tableau's ten categorical colours (matplotlib's tab10): distinct for the ten digits, and the default palette
# people know from plots of MNIST maps.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")  # fmt: skip
RING = "#111111"  # the ring round a wrongly classified image
EXPORT_SAMPLE = 2000


def label_colour(label: int) -> QColor:
    return QColor(PALETTE[int(label) % len(PALETTE)])


def compute_export_map(model, dataset, progress=None) -> projection.LayerMap | None:
    """The map of the model's last hidden layer (the one the output reads; the output layer for a network without
    one) for EXPORT_SAMPLE test images, or None without test images."""
    if dataset is None or len(getattr(dataset, "test_labels", ())) < 2:
        return None
    indices = projection.sample_indices(len(dataset.test_labels), EXPORT_SAMPLE, seed=0)
    layer = max(len(projection.layer_names(model, dataset.test_images)) - 2, 0)  # the last hidden layer
    return projection.map_model(model, dataset.test_images, dataset.test_labels, layer, "tsne", indices,
                                progress=progress)  # fmt: skip


def describe_map(layer_map: projection.LayerMap) -> str:
    """One sentence under the map: which layer, how, how many images, how well the digits keep apart."""
    n, total = len(layer_map.indices), layer_map.total
    images = f"{n:,} test images" if not total or n >= total else f"{n:,} of the {total:,} test images"
    wrong = int(layer_map.wrong.sum())
    return (
        f"{projection.METHODS[layer_map.method]} of {layer_map.layer} for {images}; "
        f"{100 * layer_map.agreement:.1f}% of each image's {projection.KNN_K} nearest neighbours on the map share "
        f"its label; {wrong:,} wrongly classified (ringed)."
    )


def csv_columns(layer_map: projection.LayerMap, names: list[str]) -> dict[str, list]:
    """projection.csv: index (into the test split), x, y, label, predicted, and the class names."""
    return {
        "index": layer_map.indices.tolist(),
        "x": layer_map.coords[:, 0].astype(float).tolist(),
        "y": layer_map.coords[:, 1].astype(float).tolist(),
        "label": layer_map.labels.tolist(),
        "predicted": layer_map.predicted.tolist(),
        "label_name": [names[k] for k in layer_map.labels],
        "predicted_name": [names[k] for k in layer_map.predicted],
    }


def render_map(layer_map: projection.LayerMap, names: list[str], title: str, size: int = 900) -> QImage:
    """The map as a picture: a dot per image in its label's colour, wrong ones ringed, a legend on the right."""
    legend_w, top, margin = 170, 64, 20
    image = QImage(size + legend_w, size + top, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    font = QFont()
    font.setPixelSize(16)
    font.setBold(True)
    painter.setFont(font)
    painter.setPen(QColor("#222222"))
    painter.drawText(QRectF(0, 8, size + legend_w, 28), Qt.AlignmentFlag.AlignCenter, title)
    font.setPixelSize(12)
    font.setBold(False)
    painter.setFont(font)
    painter.drawText(
        QRectF(8, 36, size + legend_w - 16, 20), Qt.AlignmentFlag.AlignCenter, describe_map(layer_map)
    )
    xy = _fitted(layer_map.coords, QRectF(margin, top, size - 2 * margin, size - 2 * margin))
    painter.setPen(Qt.PenStyle.NoPen)
    for label in np.unique(layer_map.labels):
        painter.setBrush(label_colour(label))
        for x, y in xy[layer_map.labels == label]:
            painter.drawEllipse(QPointF(x, y), 2.2, 2.2)
    ring = QPen(QColor(RING))
    ring.setWidthF(1.0)
    painter.setPen(ring)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    for x, y in xy[layer_map.wrong]:
        painter.drawEllipse(QPointF(x, y), 4.5, 4.5)
    _legend(painter, names, QRectF(size, top, legend_w, size))
    painter.end()
    return image


def _fitted(coords: np.ndarray, rect: QRectF) -> np.ndarray:
    """Map coordinates scaled into `rect`, one scale for both axes (distances keep their meaning), y up."""
    c = np.asarray(coords, dtype=np.float64)
    lo, hi = c.min(axis=0), c.max(axis=0)
    scale = min(rect.width(), rect.height()) / max(float(np.max(hi - lo)), 1e-12)
    centre = (lo + hi) / 2
    x = rect.center().x() + (c[:, 0] - centre[0]) * scale
    y = rect.center().y() - (c[:, 1] - centre[1]) * scale
    return np.column_stack([x, y])


def _legend(painter: QPainter, names: list[str], rect: QRectF) -> None:
    font = QFont()
    font.setPixelSize(14)
    painter.setFont(font)
    y = rect.top() + 10
    for k, name in enumerate(names):
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(label_colour(k))
        painter.drawEllipse(QPointF(rect.left() + 14, y + 9), 6, 6)
        painter.setPen(QColor("#222222"))
        painter.drawText(
            QRectF(rect.left() + 28, y, rect.width() - 30, 18), Qt.AlignmentFlag.AlignVCenter, name
        )
        y += 24
    ring = QPen(QColor(RING))
    painter.setPen(ring)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawEllipse(QPointF(rect.left() + 14, y + 9), 6, 6)
    painter.setPen(QColor("#222222"))
    painter.drawText(
        QRectF(rect.left() + 28, y, rect.width() - 30, 18), Qt.AlignmentFlag.AlignVCenter, "wrong"
    )


def compute_projection(model, dataset, report=None) -> projection.LayerMap | None:
    """The export's map (compute_export_map), its progress told to `report(fraction, message)` between 0.96
    and 0.99 of the export's (after the robustness at 0.9 and the units at 0.95); None without test images or when the map cannot be made (a note says why)."""
    tell = report or (lambda fraction, message: None)

    def progress(done, total):
        tell(0.96 + 0.03 * done / max(total, 1), "Mapping the hidden layer")

    return compute_export_map(model, dataset, progress)


def render_projection_files(layer_map: projection.LayerMap | None, names: list[str]) -> dict[str, bytes]:
    """projection.png and projection.csv ({} without a map)."""
    if layer_map is None:
        return {}
    import csv
    import io

    png = png_bytes(render_map(layer_map, names, f"Hidden-layer map: {layer_map.layer}"))
    columns = csv_columns(layer_map, names)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(list(columns))
    writer.writerows(zip(*columns.values(), strict=True))
    return {"projection.png": png, "projection.csv": text.getvalue().encode("utf-8")}


def projection_section(layer_map, files: dict[str, bytes], img) -> list[str]:
    """report.html's map section: the picture and how to read it ([] without a map)."""
    import html

    if layer_map is None:
        return []
    explain = (
        "Each dot is a test image, placed by t-SNE so that images the layer represents alike lie close together, "
        "and coloured by its label. Tight, separate islands of one colour mean the layer already tells the "
        "digits apart; a ringed dot is one the network gets wrong, usually on the edge of its island or inside "
        "another. Distances between islands say little (t-SNE keeps neighbours, not global distances)."
    )
    return [
        "<h2>Hidden-layer map</h2>",
        f"<p>{html.escape(explain)}</p>",
        f"<p>{html.escape(describe_map(layer_map))}</p>",
        img(files.get("projection.png"), "the hidden-layer map", "wide"),
    ]
