"""A model's figures drawn without any window: back queries, weight templates, confusion matrix, mistakes, curves.

Two steps, so the app can keep its GUI thread free: `compute(model, dataset)` does the numbers (NumPy, any
thread; the optimised inputs of a ReLU network take about a second), and `render_files(data)` and
`render_curves(history)` turn them into file contents: PNG through `QImage` + `QPainter` and SVG through
`QSvgGenerator` (explorer/chart.py), which are safe off the GUI thread, plus `.npy` and `.csv`.

Images go through a colour map as uint8 arrays and are enlarged by whole pixels (each MNIST pixel a crisp
square); back queries are grey from the input range's low end (black) to its high end (white); weight templates
use a diverging map centred on zero (blue negative, red positive) with a colour bar.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter

from core import insight
from core.readers import IMAGE_SHAPE
from explorer.abstain_figures import compute_abstain, render_abstain_files
from explorer.activation_figures import compute_units, render_unit_files
from explorer.conv_figures import compute_conv, render_conv_files
from explorer.figure_bytes import csv_bytes, history_columns, npy_bytes, png_bytes  # noqa: F401 (their home was here)
from explorer.figure_canvas import blank_canvas
from explorer.figure_canvas import pixel_font as _font
from explorer.projection_figure import compute_projection, render_projection_files
from explorer.robustness_figures import compute_robustness, render_robustness_files

OPTIMISED_STEPS = 200  # gradient steps of an optimised input: enough for a stable picture on MNIST networks
OPTIMISED_L2 = 0.01  # keeps the optimised input from saturating every pixel
PIXEL = 10  # screen pixels per image pixel in exported images (28 -> 280)
MISTAKES_SHOWN = 40  # the most confident mistakes drawn in misclassified.png (the csv lists them all)
DIVERGING = "CET-D1"  # blue - white - red, perceptually uniform
SEQUENTIAL = "CET-L12"  # white to blue, for counts
TEXT = QColor("#222222")


@dataclass
class FigureData:
    """The numbers behind every figure of one model."""

    class_names: list[str]
    backqueries: np.ndarray  # (classes, 28, 28) float
    backquery_kind: str  # "back query" (Rashid's) or "optimised input"
    backquery_range: tuple[float, float]
    templates: np.ndarray | None  # (classes, 28, 28) the linearised weights; None for a convolutional network
    confusion: np.ndarray | None = None  # (classes, classes) int; None without test images
    mistakes: np.ndarray | None = None  # test indices, most confident first
    mistake_images: np.ndarray | None = None  # uint8 (k, 28, 28), k <= MISTAKES_SHOWN
    true_labels: np.ndarray | None = None  # of the test images
    predicted: np.ndarray | None = None
    confidence: np.ndarray | None = None  # the predicted class's probability (or sigmoid output) per test image
    probabilities: bool = True  # softmax outputs; False: sigmoid activations, captioned as such, not as percent
    test_accuracy: float | None = None
    notes: list[str] = field(default_factory=list)  # why a figure is missing
    abstain: dict | None = None  # the accuracy-coverage curve (explorer/abstain_figures.py)
    units: dict | None = None  # the first hidden layer's units (explorer/activation_figures.py)
    conv: object = None  # explorer.conv_figures.ConvFigures of a convolutional network (its filters and maps)
    robustness: dict | None = None  # perturbation -> core.robustness.Curve (explorer/robustness_figures.py)
    datamap: dict | None = None  # the run's data map and suspects (explorer/datamap_figures.py), set by the export
    projection: object = None  # core.projection.LayerMap: the hidden-layer map (explorer/projection_figure.py)


# --- numbers -----------------------------------------------------------------------------------------------------
def backquery(model, label: int) -> tuple[np.ndarray, str]:
    """Rashid's back query of `label` for an all-sigmoid network, else its optimised input; (784,), kind."""
    net = model.network
    if not insight.back_query_applies(net):
        return insight.back_query(net, label, len(model.classes)), "back query"
    lo, hi = model.input_range()
    image = insight.optimised_input(
        net, label, steps=OPTIMISED_STEPS, l2=OPTIMISED_L2, lo=lo, hi=hi, rng=np.random.default_rng(0)
    )
    return image, "optimised input"


def backqueries(model, report) -> tuple[list[np.ndarray], str]:
    """Every label's `backquery` (28 x 28 each) and its kind; the optimised inputs all in one batch, each from
    the start `backquery` gives it. `report(fraction, message)` hears of the progress (0 to 0.8)."""
    net, n = model.network, len(model.classes)
    if not insight.back_query_applies(net):
        queries = []
        for k in range(n):
            report(0.8 * k / n, f"Back query of {model.classes[k]}")
            queries.append(insight.back_query(net, k, n).reshape(IMAGE_SHAPE))
        return queries, "back query"
    report(0.0, "Optimised inputs of every label")
    lo, hi = model.input_range()
    images = insight.optimised_inputs(
        net, range(n), steps=OPTIMISED_STEPS, l2=OPTIMISED_L2, lo=lo, hi=hi, rng=np.random.default_rng(0),
        same_start=True, on_step=lambda t, steps: report(0.8 * t / steps, "Optimised inputs of every label"),
    )  # fmt: skip
    return [image.reshape(IMAGE_SHAPE) for image in images], "optimised input"


def backquery_range(model, kind: str) -> tuple[float, float]:
    return (insight.RASHID_LOW, insight.RASHID_HIGH) if kind == "back query" else model.input_range()


def compute(model, dataset=None, progress=None) -> FigureData:
    """Every figure's numbers; `progress(fraction, message)` is called along the way."""
    report = progress or (lambda fraction, message: None)
    n = len(model.classes)
    queries, kind = backqueries(model, report)
    conv = compute_conv(model, dataset)  # None for an MLP
    templates = None if conv else insight.linear_template(model.network).reshape(n, *IMAGE_SHAPE)
    data = FigureData(
        class_names=[str(c) for c in model.classes],
        backqueries=np.stack(queries),
        backquery_kind=kind,
        backquery_range=backquery_range(model, kind),
        templates=templates,
        conv=conv,
    )
    if dataset is None or getattr(dataset, "test_images", None) is None or len(dataset.test_images) == 0:
        data.notes.append("No test images, so no confusion matrix and no misclassified digits.")
        return data
    if len(dataset.class_names) != n:
        data.notes.append(
            f"The dataset {dataset.name} has {len(dataset.class_names)} classes, the model {n}."
        )
        return data
    report(0.85, "Classifying the test set")
    probs = model.predict_proba(dataset.test_images)
    y_true = np.asarray(dataset.test_labels, dtype=np.int64)
    y_pred = probs.argmax(axis=1)
    data.true_labels, data.predicted = y_true, y_pred
    data.confidence = probs[np.arange(len(y_pred)), y_pred].astype(np.float64)
    data.probabilities = model.network.output == "softmax"
    data.confusion = insight.confusion_matrix(y_true, y_pred, n)
    data.mistakes = insight.misclassified(probs, y_true)
    data.mistake_images = np.asarray(dataset.test_images[data.mistakes[:MISTAKES_SHOWN]])
    data.test_accuracy = float(np.mean(y_true == y_pred)) if len(y_true) else None
    data.robustness = compute_robustness(model, dataset, report)
    data.abstain = compute_abstain(probs, y_true, data.probabilities)
    data.units = compute_units(model, dataset, report)
    data.projection = compute_projection(model, dataset, report)
    report(1.0, "Figures computed")
    return data


# --- colour maps and images -----------------------------------------------------------------------------------------
_LUTS: dict[str, np.ndarray] = {}


def lookup_table(name: str) -> np.ndarray:
    """(256, 3) uint8 RGB of a colour map ("grey" or a pyqtgraph map name such as CET-D1)."""
    if name not in _LUTS:
        if name == "grey":
            _LUTS[name] = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
        else:
            import pyqtgraph as pg

            _LUTS[name] = np.ascontiguousarray(pg.colormap.get(name).getLookupTable(nPts=256, alpha=False))
    return _LUTS[name]


def colour_image(values: np.ndarray, lo: float, hi: float, cmap: str = "grey", pixel: int = PIXEL) -> QImage:
    """A 2-D array through a colour map (lo -> first colour, hi -> last), each value a `pixel`-sized square."""
    values = np.asarray(values, dtype=np.float64)
    span = hi - lo if hi > lo else 1.0
    index = np.clip(np.rint((np.nan_to_num(values, nan=lo) - lo) / span * 255), 0, 255).astype(np.uint8)
    rgb = lookup_table(cmap)[index]
    rgb = np.ascontiguousarray(np.repeat(np.repeat(rgb, pixel, axis=0), pixel, axis=1))
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def _title(painter: QPainter, rect: QRectF, text: str, size: int = 16) -> None:
    painter.setFont(_font(size, bold=True))
    painter.setPen(TEXT)
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)


def render_tile(values, lo: float, hi: float, cmap: str, title: str, colour_bar: bool = False) -> QImage:
    """One 28x28 figure: a title above the enlarged image and, for signed data, a colour bar with its values."""
    picture = colour_image(values, lo, hi, cmap)
    margin, title_h, bar_w = 16, 34, 70 if colour_bar else 0
    width, height = picture.width() + 2 * margin + bar_w, picture.height() + title_h + margin
    image, painter = blank_canvas(width, height)
    _title(painter, QRectF(0, 4, width, title_h - 6), title)
    painter.drawImage(margin, title_h, picture)
    if colour_bar:
        bar = colour_image(np.linspace(hi, lo, picture.height())[:, None], lo, hi, cmap, pixel=1)
        bar = bar.scaled(14, picture.height())
        x = margin + picture.width() + 12
        painter.drawImage(x, title_h, bar)
        painter.setFont(_font(11))
        for value, y in (
            (hi, title_h),
            ((lo + hi) / 2, title_h + picture.height() / 2),
            (lo, title_h + picture.height()),
        ):
            painter.drawText(
                QRectF(x + 18, y - 8, bar_w - 20, 16), Qt.AlignmentFlag.AlignVCenter, f"{value:+.3g}"
            )
    painter.end()
    return image


def render_confusion(matrix: np.ndarray, names: list[str], accuracy: float | None = None) -> QImage:
    """Counts in cells shaded by the share of their true class (row), diagonal outlined; true down, predicted across."""
    n = len(names)
    cell, label_w, top = 52, max(70, 9 * max(len(s) for s in names)), 70
    width, height = label_w + n * cell + 24, top + n * cell + 40
    image, painter = blank_canvas(width, height)
    title = "Confusion matrix (test set)"
    if accuracy is not None:
        title += f": {100 * accuracy:.2f}% right"
    _title(painter, QRectF(0, 4, width, 26), title)
    painter.setFont(_font(12))
    painter.drawText(QRectF(label_w, 32, n * cell, 18), Qt.AlignmentFlag.AlignCenter, "predicted")
    painter.drawText(QRectF(0, top + n * cell + 8, label_w, 20), Qt.AlignmentFlag.AlignCenter, "true")
    totals = np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    shares = matrix / totals
    lut = lookup_table(SEQUENTIAL)
    painter.setFont(_font(11))
    for j, name in enumerate(names):
        painter.drawText(QRectF(label_w + j * cell, 50, cell, 18), Qt.AlignmentFlag.AlignCenter, name[:7])
    for i, name in enumerate(names):
        y = top + i * cell
        painter.setPen(TEXT)
        painter.drawText(
            QRectF(0, y, label_w - 6, cell), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, name
        )
        for j in range(n):
            # a square root spreads the few-percent confusions over visible shades instead of near-white
            r, g, b = (int(v) for v in lut[int(round(255 * np.sqrt(shares[i, j])))])
            painter.fillRect(QRectF(label_w + j * cell, y, cell - 1, cell - 1), QColor(r, g, b))
            painter.setPen(QColor("white") if r * 0.299 + g * 0.587 + b * 0.114 < 140 else TEXT)
            painter.drawText(
                QRectF(label_w + j * cell, y, cell - 1, cell - 1),
                Qt.AlignmentFlag.AlignCenter,
                str(int(matrix[i, j])),
            )
        painter.setPen(QColor("#d62728"))
        painter.drawRect(QRectF(label_w + i * cell, y, cell - 1, cell - 1))
    painter.end()
    return image


def render_mistakes(
    images: np.ndarray,
    true: np.ndarray,
    predicted: np.ndarray,
    confidence: np.ndarray,
    names: list[str],
    columns: int = 8,
    pixel: int = 4,
    probabilities: bool = True,
) -> QImage:
    """A grid of the most confident mistakes, each captioned "true -> predicted  confidence" (a percentage for
    softmax outputs; for sigmoid outputs the predicted class's activation, which is not a probability)."""
    count = len(images)
    side, caption, gap, top = IMAGE_SHAPE[0] * pixel, 18, 10, 40  # MNIST's images are square
    columns = max(1, min(columns, count)) if count else columns
    rows = max(1, -(-count // columns))
    width = columns * (side + gap) + gap
    height = top + rows * (side + caption + gap) + gap
    image, painter = blank_canvas(width, height)
    title = "The most confident mistakes (test set)"
    if not probabilities:
        title = "The most confident mistakes (test set; numbers: sigmoid output activations, not %)"
    _title(painter, QRectF(0, 6, width, 28), title)
    if not count:
        painter.setFont(_font(13))
        painter.drawText(
            QRectF(0, top, width, side), Qt.AlignmentFlag.AlignCenter, "No mistakes on the test set"
        )
    painter.setFont(_font(11))
    for k in range(count):
        x = gap + (k % columns) * (side + gap)
        y = top + (k // columns) * (side + caption + gap)
        painter.drawImage(x, y, colour_image(images[k], 0, 255, "grey", pixel))
        painter.setPen(QColor("#d62728"))
        value = f"{100 * confidence[k]:.1f}%" if probabilities else f"{confidence[k]:.2f}"
        text = f"{names[true[k]][:6]} → {names[predicted[k]][:6]} {value}"
        painter.drawText(
            QRectF(x - gap / 2, y + side, side + gap, caption), Qt.AlignmentFlag.AlignCenter, text
        )
    painter.end()
    return image


def render_files(data: FigureData) -> dict[str, bytes]:
    """File name -> contents for every figure but the curves (safe off the GUI thread)."""
    files: dict[str, bytes] = {}
    names = data.class_names
    for k, name in enumerate(names):
        title = f"{data.backquery_kind.capitalize()}: {name}"
        # each picture stretched over its own range: optimised inputs are faint in the full input range
        lo, hi = float(data.backqueries[k].min()), float(data.backqueries[k].max())
        files[f"backquery_{k}.png"] = png_bytes(render_tile(data.backqueries[k], lo, hi, "grey", title))
        files[f"backquery_{k}.npy"] = npy_bytes(data.backqueries[k])
    files.update(render_conv_files(data.conv))  # a CNN's filters and feature maps (explorer/conv_figures.py)
    files.update(render_abstain_files(data.abstain))  # abstain.png and .csv
    files.update(render_unit_files(data.units))  # units.png and .csv
    files.update(render_robustness_files(data.robustness))  # robustness.png and .csv
    files.update(render_projection_files(data.projection, names))  # projection.png and .csv
    for k, name in enumerate(names if data.templates is not None else []):
        limit = float(np.abs(data.templates[k]).max()) or 1.0
        tile = render_tile(
            data.templates[k], -limit, limit, DIVERGING, f"Weights for {name}", colour_bar=True
        )
        files[f"weights_{k}.png"] = png_bytes(tile)
        files[f"weights_{k}.npy"] = npy_bytes(data.templates[k])
    if data.confusion is not None:
        files["confusion.png"] = png_bytes(render_confusion(data.confusion, names, data.test_accuracy))
        columns = {"true": names}
        columns.update({f"predicted {name}": data.confusion[:, j].tolist() for j, name in enumerate(names)})
        files["confusion.csv"] = csv_bytes(columns)
    if data.mistakes is not None:
        shown = data.mistakes[:MISTAKES_SHOWN]
        picture = render_mistakes(
            data.mistake_images, data.true_labels[shown], data.predicted[shown], data.confidence[shown], names,
            probabilities=data.probabilities,
        )  # fmt: skip
        files["misclassified.png"] = png_bytes(picture)
        every = data.mistakes
        files["misclassified.csv"] = csv_bytes(
            {
                "index": every.tolist(),
                "true": data.true_labels[every].tolist(),
                "predicted": data.predicted[every].tolist(),
                "confidence": data.confidence[every].tolist(),
                "true_name": [names[t] for t in data.true_labels[every]],
                "predicted_name": [names[p] for p in data.predicted[every]],
            }
        )
    return files


def render_curves(history: list[dict], width: int = 1000, height: int = 420) -> dict[str, bytes]:
    """curves.png, curves.svg and curves.csv: loss and accuracy per epoch, train and test (any thread)."""
    from explorer.chart import curves_png, curves_svg

    return {
        "curves.png": png_bytes(curves_png(history, width, height)),
        "curves.svg": curves_svg(history, width, height),
        "curves.csv": csv_bytes(history_columns(history)),
    }
