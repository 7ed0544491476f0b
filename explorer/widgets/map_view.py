"""A 2-D map of points coloured by label (the hidden-layer map): hover shows a picture beside the mouse, a click
picks a point, a lasso drawn with the left button selects the points inside it.

One `ScatterPlotItem` per label (one brush each, so 10,000 points are set and painted quickly, and the legend
names each colour), one for the rings round the wrong ones, one for the picked point. The widget speaks in
positions 0..n-1 of the points it was given; whoever fills it maps them to images.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QFrame, QGraphicsPathItem, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from explorer.projection_figure import PALETTE, RING

HOVER_PIXELS = 8  # a point this close to the mouse (screen pixels) is the one under it
DOT_SIZE = 5
RING_SIZE = 10


class _LassoViewBox(pg.ViewBox):
    """A ViewBox whose left-button drag draws a lasso (the wheel still zooms, the middle button pans)."""

    def __init__(self, on_lasso, **kwargs):
        super().__init__(**kwargs)
        self._on_lasso = on_lasso
        self._points: list[QPointF] = []
        self.lasso_item = QGraphicsPathItem()
        pen = QPen(QColor("#333333"))
        pen.setCosmetic(True)
        pen.setStyle(Qt.PenStyle.DashLine)
        self.lasso_item.setPen(pen)
        self.lasso_item.setZValue(20)
        self.addItem(self.lasso_item, ignoreBounds=True)

    def mouseDragEvent(self, ev, axis=None):  # noqa: N802 - pyqtgraph's name
        if ev.button() != Qt.MouseButton.LeftButton:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        if ev.isStart():
            self._points = [self.mapSceneToView(ev.buttonDownScenePos())]
        self._points.append(self.mapSceneToView(ev.scenePos()))
        path = QPainterPath(self._points[0])
        for point in self._points[1:]:
            path.lineTo(point)
        path.closeSubpath()
        self.lasso_item.setPath(path)
        if ev.isFinish():  # the loop stays drawn, to show what was chosen, until the next one or a new map
            self._on_lasso(np.array([[p.x(), p.y()] for p in self._points]))


def inside(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Which of `points` (n, 2) lie inside `polygon` (m, 2), by the even-odd rule (ray casting), vectorised."""
    x, y = points[:, 0], points[:, 1]
    result = np.zeros(len(points), dtype=bool)
    if len(polygon) < 3:
        return result
    x0, y0 = polygon[:, 0], polygon[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    for ax, ay, bx, by in zip(x0, y0, x1, y1, strict=True):
        crosses = (ay > y) != (by > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = ax + (y - ay) * (bx - ax) / (by - ay)
        result ^= crosses & (x < at)
    return result


class MapView(QWidget):
    """`set_points(coords, labels, wrong, names)`; signals carry positions into those arrays."""

    hovered = Signal(int)  # the point under the mouse, -1 when none
    clicked = Signal(int)
    lassoed = Signal(object)  # np.ndarray of the positions inside the drawn lasso

    def __init__(self, parent=None):
        super().__init__(parent)
        self.view_box = _LassoViewBox(self._finish_lasso)
        self.plot = pg.GraphicsLayoutWidget(self)
        self.plot.setObjectName("projectionPlot")
        self.plot.setBackground("w")
        self.plot_item = self.plot.addPlot(row=0, col=0, viewBox=self.view_box)
        for axis in ("left", "bottom"):
            self.plot_item.hideAxis(axis)  # a t-SNE map's axes have no units worth reading
        self.view_box.setAspectLocked(True)
        self.view_box.setMenuEnabled(False)
        # The legend: a plain label in its own column beside the plot, never over the dots.
        self.legend = QLabel(self)
        self.legend.setObjectName("projectionLegend")
        self.legend.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.legend.setStyleSheet("background: white; color: #222; padding: 8px 10px 8px 4px;")
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.coords = np.zeros((0, 2), np.float32)
        self.labels = np.zeros(0, np.uint8)
        self.wrong = np.zeros(0, bool)
        self._label_items: list[pg.ScatterPlotItem] = []
        self.ring_item = pg.ScatterPlotItem(
            symbol="o", size=RING_SIZE, pen=pg.mkPen(RING, width=1.2), brush=None
        )
        self.ring_item.setZValue(5)
        self.picked_item = pg.ScatterPlotItem(
            symbol="o", size=20, pen=pg.mkPen("#000000", width=2.5), brush=None
        )
        self.picked_item.setZValue(10)
        self.view_box.addItem(self.ring_item)
        self.view_box.addItem(self.picked_item)
        self.hover_label = _HoverCard(self.plot)
        self.hovered_position = -1
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.legend)
        self.plot.scene().sigMouseMoved.connect(self._on_moved)
        self.plot.scene().sigMouseClicked.connect(self._on_clicked)

    # --- the interface -------------------------------------------------------------------------------------
    def set_points(self, coords, labels, wrong, names: list[str], fit: bool = False) -> None:
        """Show the points; `fit` zooms to them (else the view keeps the user's zoom unless it follows the data)."""
        self.coords = np.asarray(coords, dtype=np.float32)
        self.labels = np.asarray(labels)
        self.wrong = np.asarray(wrong, dtype=bool)
        if len(self._label_items) != len(names) or self._names != list(names):
            self._make_label_items(names)
        for k, item in enumerate(self._label_items):
            mine = self.coords[self.labels == k]
            item.setData(pos=mine)
        self.ring_item.setData(pos=self.coords[self.wrong])
        self.picked_item.setData(pos=np.zeros((0, 2)))
        self._hide_hover()
        if fit:
            self.view_box.lasso_item.setPath(QPainterPath())  # a new frame: the old loop means nothing in it
            self.view_box.enableAutoRange()
            self.view_box.autoRange(padding=0.04)

    def clear(self) -> None:
        self.set_points(
            np.zeros((0, 2)), np.zeros(0, np.uint8), np.zeros(0, bool), getattr(self, "_names", [])
        )

    def point_count(self) -> int:
        return len(self.coords)

    def shown_counts(self) -> list[int]:
        """How many points each label's item draws (for tests: what is on screen)."""
        return [len(item.data) for item in self._label_items]

    def pick(self, position: int | None) -> None:
        """Mark the picked point with a large ring (None: no point)."""
        if position is None or not 0 <= position < len(self.coords):
            self.picked_item.setData(pos=np.zeros((0, 2)))
        else:
            self.picked_item.setData(pos=self.coords[[position]])

    def position_at(self, x: float, y: float) -> int:
        """The point nearest to (x, y) in map coordinates if it is within HOVER_PIXELS on screen, else -1."""
        if not len(self.coords):
            return -1
        width, height = self.view_box.viewPixelSize()
        dx = (self.coords[:, 0] - x) / max(width, 1e-12)
        dy = (self.coords[:, 1] - y) / max(height, 1e-12)
        distance = dx * dx + dy * dy
        nearest = int(np.argmin(distance))
        return nearest if distance[nearest] <= HOVER_PIXELS**2 else -1

    def scene_point(self, position: int) -> QPointF:
        """Where a point is in the plot's scene (for tests that move the mouse onto it)."""
        x, y = self.coords[position]
        return self.view_box.mapViewToScene(QPointF(float(x), float(y)))

    def show_hover(self, pixmap: QPixmap | None, text: str, scene_pos: QPointF | None = None) -> None:
        """The picture (and its line) beside the mouse, kept inside the plot."""
        if pixmap is None:
            self._hide_hover()
            return
        self.hover_label.set(pixmap, text)
        self.hover_label.adjustSize()
        if scene_pos is not None:
            at = self.plot.mapFromScene(scene_pos)
            x = at.x() + 16
            y = at.y() + 16
            if x + self.hover_label.width() > self.plot.width():
                x = at.x() - 16 - self.hover_label.width()
            if y + self.hover_label.height() > self.plot.height():
                y = at.y() - 16 - self.hover_label.height()
            self.hover_label.move(max(0, x), max(0, y))
        self.hover_label.show()
        self.hover_label.raise_()

    def select_polygon(self, polygon) -> np.ndarray:
        """The positions inside `polygon` ((m, 2) map coordinates), as the lasso gives them; emits `lassoed`."""
        chosen = np.flatnonzero(inside(self.coords, np.asarray(polygon, dtype=np.float64)))
        self.lassoed.emit(chosen)
        return chosen

    # --- internals -----------------------------------------------------------------------------------------
    _names: list[str] = []

    def _make_label_items(self, names: list[str]) -> None:
        for item in self._label_items:
            self.view_box.removeItem(item)
        self._names = list(names)
        self._label_items = []
        lines = []
        for k, name in enumerate(names):
            colour = PALETTE[k % len(PALETTE)]
            item = pg.ScatterPlotItem(size=DOT_SIZE, pen=None, brush=pg.mkBrush(colour), name=name)
            self.view_box.addItem(item)
            self._label_items.append(item)
            lines.append(f"<span style='color:{colour}; font-size:16px'>●</span>&nbsp;{html.escape(name)}")
        lines.append(f"<span style='color:{RING}; font-size:16px'>○</span>&nbsp;wrong")
        self.legend.setText("<br>".join(lines))

    def legend_names(self) -> list[str]:
        """The legend's entries, in order (the class names, then "wrong")."""
        return [*self._names, "wrong"] if self._names else []

    def _finish_lasso(self, polygon: np.ndarray) -> None:
        self.select_polygon(polygon)

    def _on_moved(self, scene_pos) -> None:
        if not self.view_box.sceneBoundingRect().contains(scene_pos):
            self._set_hovered(-1)
            return
        point = self.view_box.mapSceneToView(scene_pos)
        self._last_scene_pos = scene_pos
        self._set_hovered(self.position_at(point.x(), point.y()))

    def _set_hovered(self, position: int) -> None:
        if position != self.hovered_position:
            self.hovered_position = position
            if position < 0:
                self._hide_hover()
            self.hovered.emit(position)

    def _on_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or event.double():
            return
        point = self.view_box.mapSceneToView(event.scenePos())
        position = self.position_at(point.x(), point.y())
        if position >= 0:
            event.accept()
            self.clicked.emit(position)

    def _hide_hover(self) -> None:
        self.hover_label.hide()

    def last_scene_pos(self) -> QPointF | None:
        return getattr(self, "_last_scene_pos", None)

    def leaveEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().leaveEvent(event)
        self._set_hovered(-1)


class _HoverCard(QFrame):
    """The picture under the mouse and its line, floating over the plot."""

    def __init__(self, parent):
        super().__init__(parent)
        self.setObjectName("projectionHover")
        self.setStyleSheet(
            "#projectionHover { background: white; border: 1px solid #888; } QLabel { color: #222; }"
        )
        self.picture = QLabel(self)
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text = QLabel(self)
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(2)
        layout.addWidget(self.picture)
        layout.addWidget(self.text)
        self.hide()

    def set(self, pixmap: QPixmap, text: str) -> None:
        self.picture.setPixmap(pixmap)
        self.text.setText(text)
