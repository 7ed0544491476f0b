"""A convolutional network's own figures, drawn without any window: its filters and the feature maps of one image.

`compute_conv(model, dataset)` does the numbers (any thread): every conv layer's filters (F, C, k, k) from
`core.convnet.conv_filters`, and the feature maps (C, H, W) after each conv layer's activation for test image 0
(`FEATURE_IMAGE`), a fixed image so that exports of two runs compare. `render_conv_files(conv)` turns them into
`filters_conv<i>.png/.npy` and `feature_maps_conv<i>.png/.npy` (i = 1, 2, ...: the layer's number as the app
names it, "conv 1"). A layer fed by one channel draws its filters as a grid; a deeper one as a table with a row
per filter and a column per input channel. Each figure has one symmetric colour scale (blue negative, white zero,
red positive), written in its title.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QRectF, Qt

from core.convnet import conv_filters, feature_maps, is_convolutional
from explorer.figure_bytes import npy_bytes, png_bytes

DIVERGING = "CET-D1"  # blue - white - red, as explorer/figures.py and the app's heatmaps
FEATURE_IMAGE = 0  # the test image whose feature maps are exported
GAP = 3  # pixels between tiles
TILE_PIXELS = 84  # about this many screen pixels per tile side in exported figures
MLP_ONLY_NOTE = (
    "This is a convolutional network, so the weight templates (weights_<label>.*) are left out: they multiply "
    "the dense layers' weight matrices into one 784-pixel picture per label, and a conv layer's weights are "
    "small filters instead (filters_conv<i>.*), whose feature maps (feature_maps_conv<i>.*) show what they find."
)


@dataclass
class ConvFigures:
    filters: list[np.ndarray]  # per conv layer (F, C, k, k)
    maps: list[tuple[str, np.ndarray]] = field(default_factory=list)  # per conv layer (name, (C, H, W))
    image_title: str = ""  # which image the maps are of


def image_maps(model, image_uint8: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(name, maps (C, H, W) float64) of every conv and pool layer for one uint8 28x28 image (any thread)."""
    x = model.scale(np.asarray(image_uint8)[None])
    return [(name, np.asarray(maps[0], dtype=np.float64)) for name, maps in feature_maps(model.network, x)]


def compute_conv(model, dataset=None) -> ConvFigures | None:
    """The conv figures' numbers, or None for an MLP. Without test images, filters only."""
    if not is_convolutional(model.network):
        return None
    figures = ConvFigures([np.asarray(f, dtype=np.float64) for f in conv_filters(model.network)])
    images = getattr(dataset, "test_images", None) if dataset is not None else None
    if images is None or len(images) <= FEATURE_IMAGE:
        return figures
    label = int(dataset.test_labels[FEATURE_IMAGE])
    names = [str(n) for n in dataset.class_names]
    figures.image_title = f"test image {FEATURE_IMAGE} (a {names[label] if label < len(names) else label})"
    figures.maps = [(n, m) for n, m in image_maps(model, images[FEATURE_IMAGE]) if n.startswith("conv")]
    return figures


def filter_tiles(filters: np.ndarray) -> tuple[np.ndarray, int]:
    """The (F, C, k, k) filters as tiles (n, k, k) and the number of columns: one grid of F for C = 1, else a
    row per filter with a column per input channel."""
    n, channels = filters.shape[:2]
    if channels == 1:
        return filters[:, 0], max(1, math.ceil(math.sqrt(n)))
    return filters.reshape(n * channels, *filters.shape[2:]), channels


def render_mosaic(tiles: np.ndarray, columns: int, title: str):
    """A titled grid of signed tiles on one symmetric diverging scale (QImage; any thread)."""
    from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter

    h, w = tiles.shape[1:]
    pixel = max(2, TILE_PIXELS // max(h, w)) if len(tiles) <= 256 else max(1, 24 // max(h, w))
    limit = float(np.nanmax(np.abs(tiles))) if tiles.size else 0.0
    limit = limit if limit > 0 else 1.0
    title = f"{title}, colour scale ±{limit:.3g}"
    font = QFont()
    font.setPixelSize(14)
    font.setBold(True)
    rows = math.ceil(len(tiles) / columns)
    top, margin = 40, 12
    width = max(
        2 * margin + columns * (w * pixel + GAP), QFontMetrics(font).horizontalAdvance(title) + 2 * margin
    )
    height = top + rows * (h * pixel + GAP) + margin
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    painter.setFont(font)
    painter.setPen(QColor("#222222"))
    painter.drawText(QRectF(0, 6, width, 28), Qt.AlignmentFlag.AlignCenter, title)
    for k, tile in enumerate(tiles):
        row, col = divmod(k, columns)
        painter.drawImage(
            margin + col * (w * pixel + GAP), top + row * (h * pixel + GAP), _colour(tile, limit, pixel)
        )
    painter.end()
    return image


def _colour(tile: np.ndarray, limit: float, pixel: int):
    """One tile through the diverging map (-limit blue, 0 white, +limit red), each value a pixel-sized square."""
    from PySide6.QtGui import QImage

    index = np.clip(np.rint((np.nan_to_num(tile) + limit) / (2 * limit) * 255), 0, 255).astype(np.uint8)
    rgb = np.ascontiguousarray(np.repeat(np.repeat(_lookup()[index], pixel, axis=0), pixel, axis=1))
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


@functools.cache
def _lookup() -> np.ndarray:
    import pyqtgraph as pg

    return np.ascontiguousarray(pg.colormap.get(DIVERGING).getLookupTable(nPts=256, alpha=False))


def render_conv_files(conv: ConvFigures | None) -> dict[str, bytes]:
    """filters_conv<i>.png/.npy and feature_maps_conv<i>.png/.npy (any thread); {} for None."""
    files: dict[str, bytes] = {}
    if conv is None:
        return files
    for i, filters in enumerate(conv.filters, start=1):
        tiles, columns = filter_tiles(filters)
        n, channels, k, _ = filters.shape
        how = f"{n} filters {k}×{k}" + (
            f" (rows) × {channels} input channels (columns)" if channels > 1 else ""
        )
        files[f"filters_conv{i}.png"] = png_bytes(render_mosaic(tiles, columns, f"conv {i}: {how}"))
        files[f"filters_conv{i}.npy"] = npy_bytes(filters)
    for i, (name, maps) in enumerate(conv.maps, start=1):
        columns = max(1, math.ceil(math.sqrt(len(maps))))
        title = f"{name.split(' (')[0]} feature maps of {conv.image_title}"
        files[f"feature_maps_conv{i}.png"] = png_bytes(render_mosaic(maps, columns, title))
        files[f"feature_maps_conv{i}.npy"] = npy_bytes(maps)
    return files


def conv_layer_tokens(net) -> list:
    """A ConvNetwork's hidden layers as the hidden-layer field writes them: ["c32k3", "p2", 128]."""
    tokens, layers = [], net.layers[:-1]  # the last layer is the output
    for layer in layers:
        if layer.kind == "conv":
            tokens.append(f"c{layer.weight.shape[3]}k{layer.kernel}{'s' if layer.padding == 'same' else ''}")
        elif layer.kind == "pool":
            tokens.append("p2")
        elif layer.kind == "dropout":
            tokens.append(f"d{layer.rate:g}")
        elif layer.kind == "dense":
            tokens.append(int(layer.weight.shape[1]))
    return tokens


def conv_section(conv: ConvFigures, files: dict[str, bytes], _img) -> list[str]:
    """report.html's part on the conv layers: each one's filters, then the feature maps of the fixed image
    (`_img(png, alt, cls)` is the report's embedded image)."""
    import html

    parts = [
        "<h2>The conv layers' filters</h2><p>Each filter is slid over the image below it; red weights add, blue "
        "subtract. A deeper layer's filter has one slice per channel of the layer below (a row per filter).</p>"
    ]
    parts.extend(_img(files.get(f"filters_conv{i}.png"), f"conv {i} filters", "wide")
                 for i in range(1, len(conv.filters) + 1))  # fmt: skip
    if conv.maps:
        parts.append(
            f"<h2>Feature maps</h2><p>What each filter finds in {html.escape(conv.image_title)}: its output "
            "after the activation, red where it responds.</p>"
        )
        parts.extend(_img(files.get(f"feature_maps_conv{i}.png"), f"conv {i} feature maps", "wide")
                     for i in range(1, len(conv.maps) + 1))  # fmt: skip
    return parts
