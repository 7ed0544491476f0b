"""The confusion matrix as a clickable heatmap: rows are the true classes, columns the predicted ones.

The colour is the share of the row (how much of a class went where) on a square-root scale, so that a cell with
1% of the class (a real, common mistake) is visibly tinted next to a 98% diagonal; the text in each cell is the
count or the row percentage. A click on a cell emits `cellClicked(true, predicted)` and frames the cell.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF
from PySide6.QtWidgets import QGraphicsObject, QGraphicsRectItem, QLabel, QStackedLayout, QWidget

SEQUENTIAL = pg.ColorMap([0.0, 1.0], [(255, 255, 255), (8, 48, 107)])  # white to deep blue
SELECTED_PEN = pg.mkPen("#d62728", width=3)
MIN_TEXT_PX = 7  # smaller cell text is not drawn


class CellTexts(QGraphicsObject):
    """Every cell's text drawn by one item at a fixed on-screen size.

    One pg.TextItem per cell cost ~4 ms each to create and ~1 ms each to update (a 10x10 matrix blocked the GUI
    thread for 400 ms at the first epoch); one item that paints n*n strings costs a single repaint.
    """

    def __init__(self):
        super().__init__()
        self._n = 0
        self._texts: list[str] = []
        self._colours: list[QColor] = []
        self._font = QFont()
        self.shown_font: QFont | None = None  # the font of the last paint (None: the cells were too small)

    def set_cells(self, n: int, texts: list[str], colours: list[QColor], font: QFont) -> None:
        self.prepareGeometryChange()
        self._n, self._texts, self._colours, self._font = n, texts, colours, font
        self.update()

    def text(self, index: int) -> str:
        return self._texts[index]

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self._n, self._n)

    def fitted_font(self, cell_w: float, cell_h: float) -> QFont | None:
        """The cells' font, shrunk until the widest text ("1,097") fits inside a cell; None when even the
        smallest readable size does not (the colours and the tooltip still tell)."""
        font = QFont(self._font)
        size = min(font.pointSizeF() * 96 / 72, 0.45 * cell_h)
        widest = max(self._texts, key=len, default="")
        while size >= MIN_TEXT_PX:
            font.setPixelSize(int(size))
            if QFontMetricsF(font).horizontalAdvance(widest) <= 0.9 * cell_w:
                return font
            size -= 1
        return None

    def paint(self, painter, option, widget=None) -> None:
        transform = painter.transform()  # view coordinates (cells) -> device pixels
        origin, corner = transform.map(QPointF(0, 0)), transform.map(QPointF(1, 1))
        cell_w, cell_h = abs(corner.x() - origin.x()), abs(corner.y() - origin.y())
        font = self.fitted_font(cell_w, cell_h)
        self.shown_font = font
        if font is None:
            return
        painter.save()
        painter.resetTransform()  # draw the text unscaled, like pg.TextItem
        painter.setFont(font)
        n = self._n
        for index, text in enumerate(self._texts):
            if not text:
                continue
            t, p = divmod(index, n)
            centre = transform.map(QPointF(p + 0.5, t + 0.5))
            painter.setPen(self._colours[index])
            painter.drawText(
                QRectF(centre.x() - cell_w / 2, centre.y() - cell_h / 2, cell_w, cell_h),
                Qt.AlignmentFlag.AlignCenter, text,
            )
        painter.restore()


class ConfusionMatrixView(QWidget):
    cellClicked = Signal(int, int)  # true class, predicted class

    def __init__(self, parent=None):
        super().__init__(parent)
        self._matrix: np.ndarray | None = None
        self._normalised = False
        self.plot_widget = pg.PlotWidget(self)
        self.plot_widget.setObjectName("confusionPlot")
        self.plot_widget.setBackground(None)
        self.plot = self.plot_widget.getPlotItem()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setLabel("left", "true class")
        self.plot.setLabel("bottom", "predicted class")
        self.view_box = self.plot.getViewBox()
        self.view_box.invertY(True)
        self.view_box.setAspectLocked(True)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.image_item.setColorMap(SEQUENTIAL)
        self.plot.addItem(self.image_item)
        self.frame = QGraphicsRectItem()
        self.frame.setPen(SELECTED_PEN)
        self.frame.setVisible(False)
        self.plot.addItem(self.frame)
        self.cell_texts = CellTexts()
        self.plot.addItem(self.cell_texts)
        self.empty_label = QLabel("Train a model to see which classes it confuses.", self)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("color: palette(mid); padding: 12px;")
        self._stack = QStackedLayout(self)
        self._stack.setContentsMargins(0, 0, 0, 0)
        self._stack.addWidget(self.plot_widget)
        self._stack.addWidget(self.empty_label)
        self._show_page(self.empty_label)
        self.plot_widget.scene().sigMouseClicked.connect(self._on_clicked)
        self.setMinimumSize(220, 200)

    def sizeHint(self) -> QSize:
        """Square and roomy: the matrix is a square, so a splitter that gives it a tall, narrow column leaves
        empty bands above and below a small matrix."""
        return QSize(440, 420)

    # --- the interface -------------------------------------------------------------------------------------
    def set_matrix(
        self, matrix: np.ndarray | None, class_names: Sequence[str] = (), normalised: bool = False
    ):
        """Show ``matrix`` (counts, rows = true classes); ``normalised`` writes row percentages in the cells."""
        if matrix is None:
            self._matrix = None
            self.image_item.clear()
            self.frame.setVisible(False)
            self.cell_texts.set_cells(0, [], [], QFont())
            self._show_page(self.empty_label)
            return
        matrix = np.asarray(matrix)
        n = matrix.shape[0]
        self._matrix, self._normalised = matrix, normalised
        rows = matrix.sum(axis=1, keepdims=True)
        share = np.divide(matrix, rows, out=np.zeros(matrix.shape), where=rows > 0)
        self.image_item.setImage(np.sqrt(share), autoLevels=False, levels=(0.0, 1.0))
        font = QFont()
        font.setPointSizeF(9.0 if n <= 10 else 7.0)  # the largest; paint shrinks it to fit the cells
        texts, colours = [], []
        light, dark = QColor(255, 255, 255), QColor(30, 30, 30)
        for t in range(n):
            for p in range(n):
                count = int(matrix[t, p])
                if normalised:
                    texts.append(f"{100 * share[t, p]:.1f}" if count else "")
                else:
                    texts.append(f"{count:,}" if count else "")
                colours.append(light if share[t, p] > 0.3 else dark)
        self.cell_texts.set_cells(n, texts, colours, font)
        names = [str(c) for c in class_names] or [str(k) for k in range(n)]
        if max(len(name) for name in names) <= 2:  # digits: the names themselves on both axes
            self.plot.getAxis("left").setTicks([[(k + 0.5, names[k]) for k in range(n)]])
            self.plot.getAxis("bottom").setTicks([[(k + 0.5, names[k]) for k in range(n)]])
            self.plot.setLabel("bottom", "predicted class")
        else:  # long names do not fit side by side under the columns: numbers there, "number name" by the rows
            self.plot.getAxis("left").setTicks([[(k + 0.5, f"{names[k]}  {k}") for k in range(n)]])
            self.plot.getAxis("bottom").setTicks([[(k + 0.5, str(k)) for k in range(n)]])
            self.plot.setLabel("bottom", "predicted class (numbered as the rows)")
        self.view_box.setRange(xRange=(0, n), yRange=(0, n), padding=0.02)
        self._show_page(self.plot_widget)

    def select(self, true: int | None, predicted: int | None = None) -> None:
        if true is None or self._matrix is None:
            self.frame.setVisible(False)
            return
        self.frame.setRect(QRectF(predicted, true, 1, 1))
        self.frame.setVisible(True)

    def matrix(self) -> np.ndarray | None:
        return self._matrix

    def cell_text(self, true: int, predicted: int) -> str:
        n = self._matrix.shape[0]
        return self.cell_texts.text(true * n + predicted)

    def cell_centre(self, true: int, predicted: int) -> QPoint:
        """The centre of a cell in the plot widget's viewport coordinates (for tests and automation)."""
        scene = self.view_box.mapViewToScene(QPointF(predicted + 0.5, true + 0.5))
        return self.plot_widget.mapFromScene(scene)

    # --- internals -----------------------------------------------------------------------------------------
    def _show_page(self, page) -> None:
        if page is self._stack.currentWidget():
            return
        self._stack.setCurrentWidget(page)
        # QStackedLayout lays out only its current page: one switched to after a resize keeps a stale size
        self._stack.setGeometry(self.contentsRect())

    def _on_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._matrix is None:
            return
        point = self.view_box.mapSceneToView(event.scenePos())
        n = self._matrix.shape[0]
        col, row = int(np.floor(point.x())), int(np.floor(point.y()))
        if 0 <= row < n and 0 <= col < n:
            self.select(row, col)
            self.cellClicked.emit(row, col)
