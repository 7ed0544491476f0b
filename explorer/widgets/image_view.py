"""One image, large: every pixel visible, a faint pixel grid, and the value of the pixel under the mouse."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QLabel, QVBoxLayout, QWidget

GRID_MAX_PIXELS = 64  # beyond this the grid lines would crowd out the image


class ImageView(QWidget):
    """A pyqtgraph ImageItem in a locked-aspect view (row 0 at the top, as the image is stored).

    `set_image(array2d, levels=None, cmap=None)`: `levels` is (low, high) for the colour scale (default: 0..255
    for uint8 images, the data's range otherwise); `cmap` is a pyqtgraph ColorMap or a colour map name such as
    "CET-D1" (default: grey, black to white).
    """

    def __init__(self, parent=None, title: str = ""):
        super().__init__(parent)
        self._image: np.ndarray | None = None
        self.title_label = QLabel(title, self)
        self.title_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title_label.setWordWrap(True)  # a long title wraps; centred and unwrapped, it lost both its ends
        self.title_label.setVisible(bool(title))
        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.setBackground(None)
        self.graphics.ci.setContentsMargins(0, 0, 0, 0)
        self.view_box = self.graphics.addViewBox()
        self.view_box.setAspectLocked(True)
        self.view_box.invertY(True)
        self.view_box.setMouseEnabled(False, False)  # a fixed view: the image always fills the widget
        self.view_box.setMenuEnabled(False)
        self.view_box.setDefaultPadding(0.01)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.view_box.addItem(self.image_item)
        self.grid_item = QGraphicsPathItem()
        pen = QPen(QColor(128, 128, 128, 90))
        pen.setCosmetic(True)  # one screen pixel wide whatever the zoom
        pen.setWidth(1)
        self.grid_item.setPen(pen)
        self.view_box.addItem(self.grid_item)
        self._grid_shape: tuple[int, int] | None = None
        self._grid_visible = True
        self.value_label = QLabel(" ", self)
        self.value_label.setObjectName("pixelValueLabel")
        self.value_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.value_label.setToolTip("The pixel under the mouse: column x, row y, and its value")
        self.empty_label = QLabel("No image", self)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setStyleSheet("color: palette(mid);")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title_label)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.empty_label, 1)
        layout.addWidget(self.value_label)
        self.graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.setMinimumSize(120, 140)
        self._show_empty(True)

    # --- the interface -------------------------------------------------------------------------------------
    def set_image(self, array2d: np.ndarray | None, levels=None, cmap=None) -> None:
        """Show a 2-D array; None shows the empty-state message."""
        if array2d is None:
            self._image = None
            self.image_item.clear()
            self._show_empty(True)
            return
        image = np.asarray(array2d)
        if image.ndim != 2:
            raise ValueError(f"expected a 2-D image, got shape {image.shape}")
        self._image = image
        if levels is None:
            if image.dtype == np.uint8:
                levels = (0, 255)
            else:
                finite = image[np.isfinite(image)]
                low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
                levels = (low, high if high > low else low + 1.0)
        self.image_item.setImage(image, levels=levels, autoLevels=False)
        self.image_item.setColorMap(self._colour_map(cmap))
        self._update_grid(image.shape)
        self.view_box.autoRange(padding=0.01)
        self._show_empty(False)

    def set_title(self, text: str) -> None:
        self.title_label.setText(text)
        self.title_label.setVisible(bool(text))

    def set_empty_text(self, text: str) -> None:
        self.empty_label.setText(text)

    def set_grid_visible(self, visible: bool) -> None:
        self._grid_visible = bool(visible)
        self.grid_item.setVisible(self._grid_visible and self._grid_shape is not None)

    def image(self) -> np.ndarray | None:
        return self._image

    def value_at(self, x: int, y: int) -> str:
        """The text the value label shows for pixel (column x, row y), or "" outside the image."""
        if self._image is None or not (0 <= y < self._image.shape[0] and 0 <= x < self._image.shape[1]):
            return ""
        value = self._image[y, x]
        shown = f"{int(value)}" if np.issubdtype(self._image.dtype, np.integer) else f"{float(value):.3f}"
        return f"x {x}, y {y}: {shown}"

    # --- internals -----------------------------------------------------------------------------------------
    @staticmethod
    def _colour_map(cmap):
        if cmap is None:
            return pg.ColorMap([0.0, 1.0], [(0, 0, 0), (255, 255, 255)])
        if isinstance(cmap, str):
            return pg.colormap.get(cmap)
        return cmap

    def _update_grid(self, shape) -> None:
        rows, cols = shape
        if self._grid_shape == (rows, cols):
            return
        self._grid_shape = (rows, cols) if max(rows, cols) <= GRID_MAX_PIXELS else None
        path = QPainterPath()
        if self._grid_shape is not None:
            for c in range(cols + 1):
                path.moveTo(QPointF(c, 0))
                path.lineTo(QPointF(c, rows))
            for r in range(rows + 1):
                path.moveTo(QPointF(0, r))
                path.lineTo(QPointF(cols, r))
        self.grid_item.setPath(path)
        self.grid_item.setVisible(self._grid_visible and self._grid_shape is not None)

    def _on_mouse_moved(self, scene_pos) -> None:
        if self._image is None:
            return
        point = self.view_box.mapSceneToView(scene_pos)
        x, y = int(np.floor(point.x())), int(np.floor(point.y()))
        self.value_label.setText(self.value_at(x, y) or " ")

    def _show_empty(self, empty: bool) -> None:
        self.graphics.setVisible(not empty)
        self.empty_label.setVisible(empty)
        if empty:
            self.value_label.setText(" ")
