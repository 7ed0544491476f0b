"""A virtualised grid of 28x28 thumbnails that scrolls through a whole split (60,000 images) without lag.

Only the thumbnails on screen exist as pixmaps: a `QListView` in icon mode asks `ThumbnailModel.data()` for the
items it paints, the model renders a pixmap on demand and keeps the most recent ones in an LRU cache. A filter
(`set_indices`) is a view onto the same image array, never a copy of the images.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QPoint, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap, QPolygon
from PySide6.QtWidgets import QApplication, QLabel, QListView, QStackedLayout, QStyledItemDelegate, QWidget

from core.readers import IMAGE_SHAPE

MARK_RIGHT = QColor("#2ca02c")
MARK_WRONG = QColor("#d62728")
DEFAULT_THUMBNAIL = 56
CACHE_SIZE = 3000  # a full screen of thumbnails is a few hundred; this keeps a few screens of scroll-back


def to_qimage(image_uint8: np.ndarray) -> QImage:
    """A grayscale QImage that owns a copy of the pixels (so the array may change or go away afterwards)."""
    pixels = np.ascontiguousarray(image_uint8, dtype=np.uint8)
    height, width = pixels.shape
    return QImage(pixels.data, width, height, width, QImage.Format.Format_Grayscale8).copy()


class ThumbnailModel(QAbstractListModel):
    """Rows are positions in the current filter; each row maps to an index into the image array."""

    ImageIndexRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self, parent=None):
        super().__init__(parent)
        self._images = np.zeros((0, *IMAGE_SHAPE), np.uint8)
        self._captions: Sequence[str] | None = None
        self._marks: np.ndarray | None = None
        self._indices = np.zeros(0, np.int64)
        self._size = DEFAULT_THUMBNAIL
        self._cache: OrderedDict[int, QPixmap] = OrderedDict()  # what the view is given (with the mark)
        # the scaled thumbnails without marks: new marks (every epoch, in the dataset panel) reuse them
        self._unmarked: OrderedDict[int, QPixmap] = OrderedDict()

    # --- contents ----------------------------------------------------------------------------------------
    def set_images(self, images, captions=None, marks=None) -> None:
        images = np.asarray(images)
        if images.ndim != 3:
            raise ValueError(f"expected images of shape (N, H, W), got {images.shape}")
        if captions is not None and len(captions) != len(images):
            raise ValueError(f"{len(captions)} captions for {len(images)} images")
        self.beginResetModel()
        self._images = images
        self._captions = captions
        self._marks = self._checked_marks(marks, len(images))
        self._indices = np.arange(len(images), dtype=np.int64)
        self._cache.clear()
        self._unmarked.clear()
        self.endResetModel()

    def set_indices(self, indices) -> None:
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        if indices.size and (indices.min() < 0 or indices.max() >= len(self._images)):
            raise ValueError("filter indices outside the image array")
        self.beginResetModel()
        self._indices = indices
        self.endResetModel()

    # Marks and captions change what items show, not their size (the grid cell is fixed). Emitting dataChanged
    # over 60,000 rows makes an icon-mode view re-measure every item (~150 ms), so these two only swap the data;
    # ImageGrid repaints its viewport, which asks data() again for the visible items.
    def set_marks(self, marks) -> None:
        self._marks = self._checked_marks(marks, len(self._images))
        self._cache.clear()

    def set_captions(self, captions) -> None:
        if captions is not None and len(captions) != len(self._images):
            raise ValueError(f"{len(captions)} captions for {len(self._images)} images")
        self._captions = captions

    def set_thumbnail_size(self, pixels: int) -> None:
        self._size = int(pixels)
        self._cache.clear()
        self._unmarked.clear()

    @staticmethod
    def _checked_marks(marks, n):
        if marks is None:
            return None
        marks = np.asarray(marks, dtype=bool).reshape(-1)
        if len(marks) != n:
            raise ValueError(f"{len(marks)} marks for {n} images")
        return marks

    # --- queries -----------------------------------------------------------------------------------------
    @property
    def indices(self) -> np.ndarray:
        return self._indices

    @property
    def images(self) -> np.ndarray:
        return self._images

    def image_index(self, row: int) -> int:
        return int(self._indices[row])

    def caption(self, image_index: int) -> str:
        return str(self._captions[image_index]) if self._captions is not None else str(image_index)

    # --- Qt model ----------------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._indices)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._indices):
            return None
        image_index = int(self._indices[index.row()])
        if role == Qt.ItemDataRole.DisplayRole:
            return self.caption(image_index)
        if role == Qt.ItemDataRole.DecorationRole:
            return self._pixmap(image_index)
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = f"#{image_index}: {self.caption(image_index)}"
            if self._marks is not None:
                tip += " (predicted right)" if self._marks[image_index] else " (predicted wrong)"
            return tip
        if role == self.ImageIndexRole:
            return image_index
        return None

    def _pixmap(self, image_index: int) -> QPixmap:
        pixmap = self._cache.get(image_index)
        if pixmap is not None:
            self._cache.move_to_end(image_index)
            return pixmap
        pixmap = self._unmarked.get(image_index)
        if pixmap is None:
            image = to_qimage(self._images[image_index])
            # Nearest-neighbour scaling keeps the pixels crisp: these images are about their pixels.
            pixmap = QPixmap.fromImage(
                image.scaled(
                    self._size,
                    self._size,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.FastTransformation,
                )
            )
            self._unmarked[image_index] = pixmap
            if len(self._unmarked) > CACHE_SIZE:
                self._unmarked.popitem(last=False)
        if self._marks is not None:
            pixmap = pixmap.copy()
            self._draw_mark(pixmap, bool(self._marks[image_index]))
        self._cache[image_index] = pixmap
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return pixmap

    def _draw_mark(self, pixmap: QPixmap, right: bool) -> None:
        corner = max(8, self._size // 4)
        width = pixmap.width()
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(MARK_RIGHT if right else MARK_WRONG)
        painter.drawPolygon(QPolygon([QPoint(width - corner, 0), QPoint(width, 0), QPoint(width, corner)]))
        painter.end()


class _CellDelegate(QStyledItemDelegate):
    """Every item is exactly one grid cell wide, so captions wrap at the cell's width, not the icon's."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.cell = QSize(76, 92)

    def sizeHint(self, option, index) -> QSize:
        return QSize(self.cell.width() - 4, self.cell.height() - 4)


class ImageGrid(QWidget):
    """Thumbnails with a caption under each; a green/red corner marks right/wrong predictions when given.

    `imageClicked(int)` carries the index into the images array (not the row in the current filter).
    """

    imageClicked = Signal(int)

    def __init__(self, parent=None, thumbnail_size: int = DEFAULT_THUMBNAIL):
        super().__init__(parent)
        self.model = ThumbnailModel(self)
        self.view = QListView(self)
        self.view.setObjectName("imageGridView")
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setUniformItemSizes(True)
        self.view.setWrapping(True)
        self.view.setSelectionMode(QListView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QListView.EditTrigger.NoEditTriggers)
        self.view.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        # Lay out 60,000 items in batches between events, so loading a split never blocks the GUI.
        self.view.setLayoutMode(QListView.LayoutMode.Batched)
        self.view.setBatchSize(500)
        self.view.setWordWrap(True)  # captions may hold two lines: the label, then the index
        self.view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.view.setModel(self.model)
        self._delegate = _CellDelegate(self.view)
        self.view.setItemDelegate(self._delegate)
        self.view.clicked.connect(self._on_clicked)
        self.view.activated.connect(self._on_clicked)  # Enter on the keyboard opens the image too
        self.view.selectionModel().currentChanged.connect(self._on_current_changed)
        self.set_thumbnail_size(thumbnail_size)

        self.empty_label = QLabel("No images", self)
        self.empty_label.setObjectName("imageGridEmpty")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("color: palette(mid); font-size: 14px; padding: 24px;")
        self._stack = QStackedLayout(self)
        self._stack.setContentsMargins(0, 0, 0, 0)
        self._stack.addWidget(self.view)
        self._stack.addWidget(self.empty_label)
        self._update_empty()

    # --- the interface -------------------------------------------------------------------------------------
    def set_images(
        self, images_uint8: np.ndarray, captions: Sequence[str] | None = None, marks: np.ndarray | None = None
    ) -> None:
        """Show every image of `images_uint8` (N, 28, 28); captions and marks are per image (length N)."""
        self.model.set_images(images_uint8, captions, marks)
        self.view.scrollToTop()
        self._update_empty()

    def set_indices(self, indices) -> None:
        """Show only these images (indices into the array given to `set_images`), in this order."""
        self.model.set_indices(indices)
        self.view.scrollToTop()
        self._update_empty()

    def set_marks(self, marks: np.ndarray | None) -> None:
        """Mark each image right (True, green corner) or wrong (False, red corner); None removes the marks."""
        self.model.set_marks(marks)
        self.view.viewport().update()

    def set_captions(self, captions: Sequence[str] | None) -> None:
        self.model.set_captions(captions)
        self.view.viewport().update()

    def set_empty_message(self, text: str) -> None:
        """What the grid says when it has nothing to show (an empty split, a filter that matches nothing)."""
        self.empty_label.setText(text)

    def set_thumbnail_size(self, pixels: int) -> None:
        pixels = int(np.clip(pixels, 16, 256))
        self.model.set_thumbnail_size(pixels)
        self.view.viewport().update()
        self.view.setIconSize(QSize(pixels, pixels))
        self._update_grid_size()

    def fit_columns(self, columns: int, largest: int = 64) -> None:
        """Size the thumbnails (up to `largest` pixels) so that `columns` of them fit side by side; for short
        strips that should read as one row. 0 turns it off."""
        self._fit = (int(columns), int(largest))
        self._apply_fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        # The stacked layout may miss a resize made from inside another resize (a panel fixing the grid's height
        # as it is laid out): the view stayed 82 px high in a 123 px grid. Refit the page to the grid every time.
        self._stack.setGeometry(self.contentsRect())
        self._apply_fit()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._stack.setGeometry(self.contentsRect())

    def _apply_fit(self) -> None:
        columns, largest = getattr(self, "_fit", (0, 0))
        if columns <= 0:
            return
        scrollbar = self.view.verticalScrollBar().sizeHint().width()
        cell = (self.width() - scrollbar - 8) // columns
        pixels = int(np.clip(cell - 14, 16, largest))
        if pixels != self.view.iconSize().width():
            self.set_thumbnail_size(pixels)

    def set_minimum_rows(self, rows: int) -> None:
        """Never shorter than `rows` rows of thumbnails (a gallery one row high hides what it is for)."""
        self._minimum_rows = int(rows)
        self._update_grid_size()

    def fit_caption(self, widest_line: str) -> None:
        """Widen the cells so that a caption line as wide as `widest_line` fits without wrapping."""
        self._caption_width = self.view.fontMetrics().horizontalAdvance(widest_line) + 12
        self._update_grid_size()

    def _update_grid_size(self) -> None:
        pixels = self.view.iconSize().width()
        text_height = 2 * self.view.fontMetrics().height()
        # A fixed grid cell makes the layout uniform, which is what lets the view skip measuring each item.
        minimum = 76 if getattr(self, "_fit", (0,))[0] <= 0 else pixels + 14  # a fitted strip may be narrow
        width = max(pixels + 14, minimum, getattr(self, "_caption_width", 0))
        self._delegate.cell = QSize(width, pixels + text_height + 8)
        self.view.setGridSize(self._delegate.cell)
        self.view.setSpacing(2)
        rows = getattr(self, "_minimum_rows", 0)
        if rows:
            frame = 2 * self.view.frameWidth() + 2 * self.view.spacing() + 4
            self.setMinimumHeight(rows * (self._delegate.cell.height() + 2 * self.view.spacing()) + frame)

    # --- queries (for the panels and tests) -------------------------------------------------------------------
    def count(self) -> int:
        """How many thumbnails the current filter shows."""
        return self.model.rowCount()

    def shown_indices(self) -> np.ndarray:
        return self.model.indices

    def row_of(self, image_index: int) -> int | None:
        rows = np.flatnonzero(self.model.indices == image_index)
        return int(rows[0]) if rows.size else None

    def visual_rect(self, row: int):
        """The rectangle of a row's item in the view's viewport coordinates (scrolls it into view first)."""
        index = self.model.index(row)
        self.view.scrollTo(index)
        return self.view.visualRect(index)

    # --- internals -----------------------------------------------------------------------------------------
    def _on_clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.imageClicked.emit(self.model.image_index(index.row()))

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        # Arrow keys browse: a keyboard move opens the image as a click would. A mouse press also moves the
        # current item, but `clicked` reports that one, so it is skipped here to emit once per click.
        if current.isValid() and QApplication.mouseButtons() == Qt.MouseButton.NoButton:
            self.imageClicked.emit(self.model.image_index(current.row()))

    def _update_empty(self) -> None:
        page = self.view if self.model.rowCount() else self.empty_label
        if page is self._stack.currentWidget():
            return
        self._stack.setCurrentWidget(page)
        # QStackedLayout lays out only its current page: the page switched to keeps the size it had when it was
        # last current (a grid resized while its empty message showed would lay its thumbnails out for the old
        # width). Refit it to the grid now, and the thumbnails to the columns asked for.
        self._stack.setGeometry(self.contentsRect())
        self._apply_fit()
