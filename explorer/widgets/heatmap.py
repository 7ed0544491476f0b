"""A signed 2-D array as a heatmap: a diverging colour map centred on zero, a symmetric range, a colour bar.

Blue is negative, white zero, red positive (colorcet's CET-D1, perceptually even on both sides), so a weight
template reads at a glance: red pixels raise the label's score, blue pixels lower it. An optional outline (an
isocurve of another image, e.g. the digit itself) can be drawn over it, which is how a saliency map is shown
"over the image".
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QStackedLayout, QVBoxLayout, QWidget

DIVERGING = "CET-D1"
OUTLINE_PEN = pg.mkPen((40, 40, 40), width=1.5)


def diverging_map() -> pg.ColorMap:
    return pg.colormap.get(DIVERGING)


def symmetric_limit(array: np.ndarray) -> float:
    """The largest absolute finite value, or 1.0 for an all-zero (or empty) array so the bar still has a scale."""
    finite = np.abs(array[np.isfinite(array)])
    top = float(finite.max()) if finite.size else 0.0
    return top if top > 0 else 1.0


def diverging_rgb(arrays: np.ndarray, limits: np.ndarray | float) -> np.ndarray:
    """uint8 RGB of ``arrays`` (..., H, W) in the diverging map, each array scaled to +/- its ``limits`` entry."""
    arrays = np.asarray(arrays, dtype=np.float64)
    limits = np.asarray(limits, dtype=np.float64).reshape(np.shape(limits) + (1, 1))
    lut = diverging_map().getLookupTable(nPts=256, alpha=False)  # (256, 3) uint8
    index = np.clip(np.nan_to_num((arrays / limits + 1) * 127.5), 0, 255).astype(np.uint8)
    return lut[index]


def bar_ticks(low: float, high: float) -> list[tuple[float, str]]:
    """Three round values inside low..high for the colour bar: zero (or the middle) and one step either side."""
    middle = 0.0 if low < 0 < high else (low + high) / 2
    room = min(high - middle, middle - low)
    if not room > 0 or not math.isfinite(room):
        return [(middle, f"{middle:.3g}")]
    power = 10 ** math.floor(math.log10(room))
    step = max(m * power for m in (1, 2, 5) if m * power <= room * (1 + 1e-9))
    return [(middle + k * step, f"{middle + k * step:.3g}") for k in (-1, 0, 1)]


class Heatmap(QWidget):
    """`set_data(array2d, symmetric=True)`, `set_title(str)`; a colour bar beside the map shows the values."""

    def __init__(self, parent=None, title: str = "", bar: bool = True):
        super().__init__(parent)
        self._data: np.ndarray | None = None
        self._ranged_shape: tuple[int, ...] | None = None
        self.title_label = QLabel(title, self)
        self.title_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title_label.setWordWrap(True)
        self.title_label.setVisible(bool(title))
        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.setBackground(None)
        self.graphics.ci.setContentsMargins(2, 2, 2, 2)
        self.plot = self.graphics.addPlot()
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.view_box = self.plot.getViewBox()
        self.view_box.setAspectLocked(True)
        self.view_box.invertY(True)  # row 0 at the top, as images are stored
        self.view_box.setDefaultPadding(0.0)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.image_item.setColorMap(diverging_map())
        self.plot.addItem(self.image_item)
        self.outline_item = pg.IsocurveItem(level=0.5, pen=OUTLINE_PEN, axisOrder="row-major")
        self.outline_item.setParentItem(self.image_item)  # drawn in the image's pixel coordinates, on top
        self.colour_bar = None
        if bar:
            self.colour_bar = pg.ColorBarItem(
                values=(-1, 1), colorMap=diverging_map(), interactive=False, width=14, rounding=1e-9
            )
            self.colour_bar.setImageItem(self.image_item, insert_in=self.plot)
            self.colour_bar.getAxis("right").setStyle(tickTextOffset=3)
        self.value_label = QLabel(" ", self)
        self.value_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.value_label.setToolTip("The value under the mouse: column x, row y")
        self.empty_label = QLabel("Nothing to show yet", self)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("color: palette(mid); padding: 12px;")
        body = self._body = QWidget(self)
        body.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._stack = QStackedLayout(body)
        self._stack.addWidget(self.graphics)
        self._stack.addWidget(self.empty_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        row = QHBoxLayout()  # the body is sized to the map by _fit_body; the stretches take what is left
        row.addStretch(0)
        row.addWidget(body, 1)
        row.addStretch(0)
        layout.addStretch(0)
        layout.addWidget(self.title_label)  # title, map and value stay together, centred in the room
        layout.addLayout(row, 1)
        layout.addWidget(self.value_label)
        layout.addStretch(0)
        self.graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.setMinimumSize(120, 120)
        self._show_page(self.empty_label)

    # --- the interface -------------------------------------------------------------------------------------
    def set_data(self, array2d: np.ndarray | None, symmetric: bool = True) -> None:
        """Show a 2-D array (None: the empty message). Symmetric: the colour range is +/- the largest |value|."""
        if array2d is None:
            self._data = None
            self.image_item.clear()
            self.outline_item.setData(None)
            self._show_page(self.empty_label)
            self.value_label.setText(" ")
            return
        data = np.asarray(array2d, dtype=np.float64)
        if data.ndim != 2:
            raise ValueError(f"expected a 2-D array, got shape {data.shape}")
        self._data = data
        if symmetric:
            top = symmetric_limit(data)
            levels = (-top, top)
        else:
            finite = data[np.isfinite(data)]
            low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
            levels = (low, high if high > low else low + 1.0)
        self.image_item.setImage(data, autoLevels=False, levels=levels)
        if self.colour_bar is not None:
            self.colour_bar.setLevels(levels)
            # Three round labels: a bar as short as a small map stacked five on each other.
            self.colour_bar.getAxis("right").setTicks([bar_ticks(*levels), []])
        if (
            data.shape != self._ranged_shape
        ):  # the view cannot be zoomed: its range changes only with the shape
            self._ranged_shape = data.shape
            self.view_box.setRange(xRange=(0, data.shape[1]), yRange=(0, data.shape[0]), padding=0.0)
        self._show_page(self.graphics)
        self._fit_body()

    def set_outline(self, image: np.ndarray | None, level: float = 127.5) -> None:
        """Draw the contour of ``image`` at ``level`` over the heatmap (e.g. the digit's outline); None removes it."""
        if image is None:
            self.outline_item.setData(None)
            return
        self.outline_item.setData(np.asarray(image, dtype=np.float64), level=level)

    def set_title(self, text: str) -> None:
        self.title_label.setText(text)
        self.title_label.setVisible(bool(text))

    def set_empty_text(self, text: str) -> None:
        self.empty_label.setText(text)

    # --- queries -------------------------------------------------------------------------------------------
    def data(self) -> np.ndarray | None:
        return self._data

    def levels(self) -> tuple[float, float]:
        low, high = self.image_item.getLevels()
        return float(low), float(high)

    def value_at(self, x: int, y: int) -> str:
        if self._data is None or not (0 <= y < self._data.shape[0] and 0 <= x < self._data.shape[1]):
            return ""
        return f"x {x}, y {y}: {self._data[y, x]:+.4g}"

    # --- internals -----------------------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_body()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._fit_body()

    def _fit_body(self) -> None:
        """Size the picture to the map's own shape: the map as large as the room allows, the colour bar as tall
        as the map (not a 330 px bar beside a 115 px map in a tall, narrow space), centred in the room."""
        if self._data is None or self._stack.currentWidget() is not self.graphics:
            self._body.setMinimumSize(0, 0)
            self._body.setMaximumSize(16_777_215, 16_777_215)
            return
        rows, cols = self._data.shape
        margins = 4 + 2 * 2  # the layout's margins around the plot
        bar = 0
        if self.colour_bar is not None:
            # its width once laid out (about 60 px with its labels), and the layout's spacing before it
            bar = int(max(self.colour_bar.boundingRect().width(), 60)) + 14
        room_w = self.contentsRect().width() - bar - margins
        room_h = self.height() - margins - 4 - sum(
            w.sizeHint().height() + 2 for w in (self.title_label, self.value_label) if not w.isHidden())
        scale = max(1.0, min(room_w / cols, room_h / rows))
        # A fixed size (the widget's own minimum stays 120x120, so it can still shrink); the stretches around
        # it take the rest of the room.
        self._body.setFixedSize(int(cols * scale) + bar + margins, int(rows * scale) + margins)

    def _show_page(self, page) -> None:
        if page is self._stack.currentWidget():
            return
        self._stack.setCurrentWidget(page)
        # QStackedLayout lays out only its current page: one switched to after a resize keeps a stale size
        self._stack.setGeometry(self._stack.parentWidget().contentsRect())

    def _on_mouse_moved(self, scene_pos) -> None:
        if self._data is None:
            return
        point = self.view_box.mapSceneToView(scene_pos)
        text = self.value_at(int(np.floor(point.x())), int(np.floor(point.y())))
        self.value_label.setText(text or " ")
