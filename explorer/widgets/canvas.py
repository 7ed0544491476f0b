"""A square canvas to draw a digit on with the mouse: white, soft, thick strokes on black, like MNIST's pen.

The drawing lives in a 280x280 image (ten times MNIST's 28x28), shown scaled to fit the widget. A stroke is a
chain of soft round dabs (a radial gradient: solid in the middle, fading at the rim) laid every couple of pixels
along the pointer's path and combined with "lighten", so crossing strokes never build up brighter than white and
the edges stay anti-aliased the way MNIST's size-normalised digits are.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPalette, QPen, QRadialGradient
from PySide6.QtWidgets import QSizePolicy, QWidget

from core.digit import BOX, FIELD

CANVAS_SIDE = (
    280  # the drawing's resolution: ten times MNIST's, so the 20-pixel fit averages plenty of pixels
)
DEFAULT_PEN = 26  # pixels of the 280 canvas: a digit drawn to fill the guide box gets MNIST's ~3 px strokes
UNDO_DEPTH = 50


class DrawingCanvas(QWidget):
    """Draw with the left button; `changed` fires as the stroke grows, `strokeFinished` on release."""

    changed = Signal()
    strokeFinished = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._image = QImage(CANVAS_SIDE, CANVAS_SIDE, QImage.Format.Format_ARGB32_Premultiplied)
        self._image.fill(Qt.GlobalColor.black)
        self._undo: list[QImage] = []
        self._last: QPointF | None = None
        self.pen_width = DEFAULT_PEN
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(140, 140)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setToolTip(
            "Draw one digit with the left mouse button, large and centred like a handwritten number; "
            "the network's guess updates as you draw. Ctrl+Z undoes a stroke, Delete clears."
        )

    # --- the drawing ---------------------------------------------------------------------------------------
    def pixels(self) -> np.ndarray:
        """The drawing as uint8 (280, 280): 0 black background, 255 full ink."""
        grey = self._image.convertToFormat(QImage.Format.Format_Grayscale8)
        stride = grey.bytesPerLine()
        buffer = np.frombuffer(grey.constBits(), dtype=np.uint8, count=stride * CANVAS_SIDE)
        return buffer.reshape(CANVAS_SIDE, stride)[:, :CANVAS_SIDE].copy()

    def is_blank(self) -> bool:
        return not self.pixels().any()

    def set_pixels(self, array: np.ndarray) -> None:
        """Replace the drawing (undoable) with a uint8 (280, 280) image, e.g. an opened picture."""
        array = np.ascontiguousarray(np.asarray(array, dtype=np.uint8))
        if array.shape != (CANVAS_SIDE, CANVAS_SIDE):
            raise ValueError(f"the canvas holds {CANVAS_SIDE}x{CANVAS_SIDE} pixels, got {array.shape}")
        self._push_undo()
        grey = QImage(array.data, CANVAS_SIDE, CANVAS_SIDE, CANVAS_SIDE, QImage.Format.Format_Grayscale8)
        self._image = grey.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
        self.update()
        self.changed.emit()
        self.strokeFinished.emit()

    def clear(self) -> None:
        """Wipe the drawing; undo brings it back."""
        if self.is_blank():
            return
        self._push_undo()
        self._image.fill(Qt.GlobalColor.black)
        self.update()
        self.changed.emit()
        self.strokeFinished.emit()

    def undo(self) -> bool:
        """Take back the last stroke (or clear, or opened picture); False when there is nothing to undo."""
        if not self._undo:
            return False
        self._image = self._undo.pop()
        self.update()
        self.changed.emit()
        self.strokeFinished.emit()
        return True

    def can_undo(self) -> bool:
        return bool(self._undo)

    def _push_undo(self) -> None:
        self._undo.append(self._image.copy())
        del self._undo[:-UNDO_DEPTH]

    # --- geometry: widget <-> canvas -----------------------------------------------------------------------
    def canvas_rect(self) -> QRectF:
        """Where the 280x280 drawing is shown in the widget: the largest square, centred at the top."""
        side = min(self.width(), self.height())
        return QRectF((self.width() - side) / 2, 0, side, side)

    def to_canvas(self, point: QPointF) -> QPointF:
        rect = self.canvas_rect()
        scale = CANVAS_SIDE / rect.width() if rect.width() > 0 else 1.0
        return QPointF((point.x() - rect.left()) * scale, (point.y() - rect.top()) * scale)

    # --- painting strokes ----------------------------------------------------------------------------------
    def _dab(self, painter: QPainter, centre: QPointF) -> None:
        radius = self.pen_width / 2
        gradient = QRadialGradient(centre, radius)
        gradient.setColorAt(0.0, QColor(255, 255, 255, 255))
        gradient.setColorAt(0.55, QColor(255, 255, 255, 255))
        gradient.setColorAt(1.0, QColor(255, 255, 255, 0))
        painter.setBrush(gradient)
        painter.drawEllipse(centre, radius, radius)

    def _stroke_to(self, point: QPointF) -> None:
        painter = QPainter(self._image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        # "lighten" keeps the brighter of old and new: overlapping dabs stay white instead of adding up
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Lighten)
        start = self._last if self._last is not None else point
        distance = math.hypot(point.x() - start.x(), point.y() - start.y())
        steps = max(1, math.ceil(distance / max(1.0, self.pen_width / 8)))
        for i in range(1, steps + 1):
            t = i / steps
            self._dab(
                painter,
                QPointF(start.x() + (point.x() - start.x()) * t, start.y() + (point.y() - start.y()) * t),
            )
        painter.end()
        self._last = point
        self.update()
        self.changed.emit()

    def mousePressEvent(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        self._push_undo()
        self._last = None
        self._stroke_to(self.to_canvas(event.position()))

    def mouseMoveEvent(self, event) -> None:
        if self._last is None or not event.buttons() & Qt.MouseButton.LeftButton:
            return super().mouseMoveEvent(event)
        self._stroke_to(self.to_canvas(event.position()))

    def mouseReleaseEvent(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._last is None:
            return super().mouseReleaseEvent(event)
        self._stroke_to(self.to_canvas(event.position()))
        self._last = None
        self.strokeFinished.emit()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().color(QPalette.ColorRole.Window))
        rect = self.canvas_rect()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(rect, self._image)
        # a faint frame and the 20x20-in-28x28 box MNIST fits digits into, as a guide for size and position
        guide = QPen(QColor(90, 90, 90))
        guide.setStyle(Qt.PenStyle.DotLine)
        painter.setPen(guide)
        margin = rect.width() * (FIELD - BOX) / 2 / FIELD  # 4 of 28 pixels on each side
        painter.drawRect(rect.adjusted(margin, margin, -margin, -margin))
        painter.setPen(QPen(QColor(120, 120, 120)))
        painter.drawRect(rect.adjusted(0, 0, -1, -1))
        if self.is_blank():
            painter.setPen(QColor(170, 170, 170))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "Draw a digit here")
        painter.end()

    def sizeHint(self) -> QSize:
        return QSize(320, 320)
