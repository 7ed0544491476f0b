"""A gallery of signed 28x28 tiles (weight images, templates) drawn as one mosaic in one pyqtgraph ImageItem.

Hundreds of units as separate items would cost hundreds of scene items to lay out and repaint; one RGB mosaic
(each tile in the diverging colour map, blue negative, white zero, red positive) is one texture, redrawn in a
few milliseconds. A click is mapped back to the tile under it; the selected tile gets a frame.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGraphicsRectItem,
    QHBoxLayout,
    QLabel,
    QStackedLayout,
    QVBoxLayout,
    QWidget,
)

from core.readers import IMAGE_SHAPE
from explorer.jobs import JobRunner
from explorer.widgets.heatmap import diverging_rgb, symmetric_limit

GAP = 2  # pixels between tiles
GAP_COLOUR = (205, 205, 205)
SELECTED_PEN = pg.mkPen("#222222", width=2.5)
SYNC_TILES = 64  # more tiles than this are coloured in a worker (512 units take ~100 ms)
PAGED_FROM = 100  # a larger gallery shows its first tiles (the top units, when sorted) by default
SHOW_CHOICES = (36, 64, 144)  # "first N" choices; "all" is the last
DEFAULT_SHOWN = 64


def build_mosaic(tiles: np.ndarray, order: np.ndarray, columns: int, shared_scale: bool) -> np.ndarray:
    """The RGB mosaic (uint8) of ``tiles[order]`` laid out ``columns`` per row with GAP pixels between."""
    n = len(order)
    rows = math.ceil(n / columns)
    h, w = tiles.shape[1:]
    shown = tiles[order]
    if shared_scale:
        limits = np.full(n, symmetric_limit(shown))
    else:
        limits = np.nan_to_num(np.abs(shown), nan=0.0, posinf=0.0).max(axis=(1, 2))
        limits[limits <= 0] = 1.0
    rgb = diverging_rgb(shown, limits)
    # each tile padded by the gap on its right and bottom, then the tiles laid out row by row in one reshape
    padded = np.empty((rows * columns, h + GAP, w + GAP, 3), np.uint8)
    padded[:] = GAP_COLOUR
    padded[:n, :h, :w] = rgb
    mosaic = padded.reshape(rows, columns, h + GAP, w + GAP, 3).transpose(0, 2, 1, 3, 4)
    return np.ascontiguousarray(mosaic.reshape(rows * (h + GAP), columns * (w + GAP), 3)[:-GAP, :-GAP])


class WeightGallery(QWidget):
    """`set_tiles(tiles, order=None, captions=None, shared_scale=False)`; `tileClicked(int)` carries the tile's
    index in `tiles` (not its position in the order)."""

    tileClicked = Signal(int)

    def __init__(self, parent=None, columns: int | None = None):
        super().__init__(parent)
        self.columns_wanted = columns
        self._tiles: np.ndarray | None = None
        self._order = np.zeros(0, np.int64)
        self._columns = 1
        self._tile_size = IMAGE_SHAPE
        self._selected: int | None = None
        self._captions: list[pg.TextItem] = []
        # Hundreds of tiles at 10 px each are noise: a large gallery shows its first tiles (in the caller's order,
        # e.g. the units strongest for a label) and offers more.
        self._full_order = np.zeros(0, np.int64)
        self._shown = DEFAULT_SHOWN
        self._build_view()
        self._build_header()
        self._lay_out()
        self._show_page(self.empty_label)
        self.graphics.scene().sigMouseClicked.connect(self._on_clicked)
        self.setMinimumSize(120, 80)
        self.job = JobRunner(self)  # colours large galleries off the GUI thread; only the newest mosaic is drawn
        self.job.done.connect(self._set_mosaic)

    def _build_view(self) -> None:
        """The mosaic's view (one ImageItem and the selection frame) and the text shown while it is empty."""
        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.setBackground(None)
        self.graphics.ci.setContentsMargins(0, 0, 0, 0)
        self.view_box = self.graphics.addViewBox()
        self.view_box.setAspectLocked(True)
        self.view_box.invertY(True)
        self.view_box.setMouseEnabled(False, False)
        self.view_box.setMenuEnabled(False)
        self.view_box.setDefaultPadding(0.01)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.view_box.addItem(self.image_item)
        self.frame = QGraphicsRectItem()
        self.frame.setPen(SELECTED_PEN)
        self.frame.setVisible(False)
        self.view_box.addItem(self.frame)
        self.empty_label = QLabel("Nothing to show yet", self)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("color: palette(mid); padding: 12px;")

    def _build_header(self) -> None:
        """The count of tiles shown and the "Show" choice, above a large gallery only."""
        self.count_label = QLabel(self, objectName="galleryCountLabel")
        self.show_combo = QComboBox(self, objectName="galleryShowCombo")
        self.show_combo.setToolTip("How many tiles to show, in the gallery's order (the first are the strongest "
                                   "when sorted by strength); all of them is the whole layer at small size")  # fmt: skip
        self.show_combo.activated.connect(self._on_show_chosen)
        self.header = QWidget(self)
        header = QHBoxLayout(self.header)
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(self.count_label, 1)
        header.addWidget(QLabel("Show", self.header))
        header.addWidget(self.show_combo)
        self.header.setVisible(False)

    def _lay_out(self) -> None:
        """The header above the body, where the mosaic and the empty text take turns."""
        body = self._body = QWidget(self)
        self._stack = QStackedLayout(body)
        self._stack.setContentsMargins(0, 0, 0, 0)
        self._stack.addWidget(self.graphics)
        self._stack.addWidget(self.empty_label)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(2)
        outer.addWidget(self.header)
        outer.addWidget(body, 1)

    @property
    def busy(self) -> bool:
        """True while a large gallery is being coloured in the worker."""
        return self.job.busy

    def shutdown(self) -> None:
        self.job.shutdown()

    # --- the interface -------------------------------------------------------------------------------------
    def set_tiles(self, tiles, order=None, captions=None, shared_scale: bool = False) -> None:
        """Show ``tiles`` (N, H, W) in ``order`` (indices into tiles; default 0..N-1); None empties the gallery.

        Each tile is scaled to +/- its own largest |value| (patterns show whatever a unit's weight size), or, with
        ``shared_scale``, all to the largest of them (so tiles compare by strength).
        """
        if tiles is None or len(tiles) == 0:
            self.job.cancel()
            self._tiles = None
            self._order = self._full_order = np.zeros(0, np.int64)
            self.header.setVisible(False)
            self.image_item.clear()
            self.frame.setVisible(False)
            self._set_captions([])
            self._show_page(self.empty_label)
            return
        tiles = np.asarray(tiles, dtype=np.float64)
        order = np.arange(len(tiles)) if order is None else np.asarray(order, dtype=np.int64)
        # the layout (order, columns, tile size) is set now, so clicks and queries see the new gallery at once;
        # only the pixels of a large one arrive later from the worker
        self._tiles, self._full_order = tiles, order
        self._shared_scale, self._captions_given = shared_scale, captions
        self._update_header()
        order = self._order = order[: self._shown] if len(order) > PAGED_FROM and self._shown else order
        n = len(order)
        self._columns = self.columns_wanted or max(1, math.ceil(math.sqrt(n)))
        rows = math.ceil(n / self._columns)
        h, w = tiles.shape[1:]
        self._tile_size = (h, w)
        height, width = rows * (h + GAP) - GAP, self._columns * (w + GAP) - GAP
        self._set_captions(captions)
        caption_room = 10 if captions is not None else 0
        self.view_box.setRange(xRange=(0, width), yRange=(0, height + caption_room), padding=0.01)
        if n > SYNC_TILES:
            self.job.submit(build_mosaic, tiles, order, self._columns, shared_scale)
        else:
            self.job.cancel()
            self._set_mosaic(build_mosaic(tiles, order, self._columns, shared_scale))
        self._show_page(self.graphics)
        self.select(self._selected)

    def select(self, tile: int | None) -> None:
        """Frame tile ``tile`` (an index into tiles), or none."""
        self._selected = tile
        positions = np.flatnonzero(self._order == tile) if tile is not None else []
        if not len(positions):
            self.frame.setVisible(False)
            return
        top, left = self._corner(int(positions[0]))
        h, w = self._tile_size
        self.frame.setRect(QRectF(left - 0.5, top - 0.5, w + 1, h + 1))
        self.frame.setVisible(True)

    def set_empty_text(self, text: str) -> None:
        self.empty_label.setText(text)

    def show_first(self, count: int) -> None:
        """Show the first `count` tiles of a large gallery (0: all of them)."""
        self._shown = int(count)
        if self._tiles is not None:
            self.set_tiles(self._tiles, self._full_order, self._captions_given, self._shared_scale)

    # --- queries (for the panels and tests) -------------------------------------------------------------------
    def order(self) -> np.ndarray:
        """Every tile index in the gallery's order (shown or not)."""
        return self._full_order

    def shown_order(self) -> np.ndarray:
        """The tiles shown, in order."""
        return self._order

    def tile_at(self, x: float, y: float) -> int | None:
        """The tile index under the view point (x, y) in mosaic pixels, or None over a gap or outside."""
        if self._tiles is None or x < 0 or y < 0:
            return None
        h, w = self._tile_size
        col, dx = divmod(x, w + GAP)
        row, dy = divmod(y, h + GAP)
        position = int(row) * self._columns + int(col)
        if dx >= w or dy >= h or col >= self._columns or position >= len(self._order):
            return None
        return int(self._order[position])

    def tile_centre(self, tile: int) -> QPointF | None:
        """Where tile ``tile`` sits, in the view's coordinates (for tests that click it)."""
        positions = np.flatnonzero(self._order == tile)
        if not len(positions):
            return None
        top, left = self._corner(int(positions[0]))
        return QPointF(left + self._tile_size[1] / 2, top + self._tile_size[0] / 2)

    # --- internals -----------------------------------------------------------------------------------------
    def _show_page(self, page) -> None:
        if page is self._stack.currentWidget():
            return
        self._stack.setCurrentWidget(page)
        # QStackedLayout lays out only its current page: one switched to after a resize keeps a stale size
        self._stack.setGeometry(self._body.contentsRect())

    def _update_header(self) -> None:
        n = len(self._full_order)
        self.header.setVisible(n > PAGED_FROM)
        if n <= PAGED_FROM:
            return
        choices = [c for c in SHOW_CHOICES if c < n] + [0]
        self.show_combo.blockSignals(True)
        self.show_combo.clear()
        for count in choices:
            self.show_combo.addItem(f"first {count}" if count else f"all {n}", count)
        self.show_combo.setCurrentIndex(max(0, self.show_combo.findData(self._shown)))
        self.show_combo.blockSignals(False)
        shown = min(self._shown or n, n)
        self.count_label.setText(f"{shown} of {n} shown" if shown < n else f"all {n} shown")

    def _on_show_chosen(self, _index: int) -> None:
        self.show_first(self.show_combo.currentData())

    def _set_mosaic(self, mosaic: np.ndarray) -> None:
        if self._tiles is None:
            return  # emptied while the mosaic was being built
        self.image_item.setImage(mosaic, autoLevels=False, levels=(0, 255))

    def _corner(self, position: int) -> tuple[int, int]:
        row, col = divmod(position, self._columns)
        h, w = self._tile_size
        return row * (h + GAP), col * (w + GAP)

    def _set_captions(self, captions) -> None:
        captions = list(captions or [])
        while len(self._captions) < len(captions):
            item = pg.TextItem(anchor=(0.5, 0), color=(60, 60, 60))
            self.view_box.addItem(item)
            self._captions.append(item)
        h, w = self._tile_size
        for position, item in enumerate(self._captions):
            item.setVisible(position < len(captions))
            if position < len(captions):
                top, left = self._corner(position)
                item.setText(str(captions[position]))
                item.setPos(left + w / 2, top + h)

    def _on_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._tiles is None:
            return
        point = self.view_box.mapSceneToView(event.scenePos())
        tile = self.tile_at(point.x(), point.y())
        if tile is not None:
            self.select(tile)
            self.tileClicked.emit(tile)
