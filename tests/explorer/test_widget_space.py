"""Widgets use their space: counts that fit their cells, a map as large as its room with a colour bar no taller,
a gallery of 512 units that shows the strongest first, image grids more than one row high."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QFontMetricsF

from explorer.widgets.confusion_matrix import MIN_TEXT_PX, ConfusionMatrixView
from explorer.widgets.heatmap import Heatmap, bar_ticks
from explorer.widgets.image_grid import ImageGrid
from explorer.widgets.weight_gallery import WeightGallery


def shown(qtbot, widget, width, height):
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    qtbot.wait(20)
    return widget


@pytest.mark.parametrize("size", [(260, 240), (400, 380), (700, 650)])
def test_confusion_counts_fit_their_cells(qtbot, size):
    view = shown(qtbot, ConfusionMatrixView(), *size)
    matrix = np.full((10, 10), 7)
    np.fill_diagonal(matrix, 1097)
    view.set_matrix(matrix)
    qtbot.wait(20)
    view.plot_widget.viewport().repaint()
    a = view.view_box.mapViewToScene(QPointF(0, 0))
    b = view.view_box.mapViewToScene(QPointF(1, 1))
    cell_w, cell_h = abs(b.x() - a.x()), abs(b.y() - a.y())
    font = view.cell_texts.fitted_font(cell_w, cell_h)
    assert view.cell_text(3, 3) == "1,097"
    if font is not None:
        assert QFontMetricsF(font).horizontalAdvance("1,097") <= 0.9 * cell_w
        assert font.pixelSize() >= MIN_TEXT_PX
    if size[0] >= 400:
        assert font is not None  # a matrix of ordinary size shows its counts


def test_a_heatmap_fills_its_room_and_its_colour_bar_is_no_taller_than_the_map(qtbot):
    for width, height in ((200, 420), (500, 300)):
        view = shown(qtbot, Heatmap(title="Saliency of 8"), width, height)
        view.set_data(np.random.default_rng(0).normal(size=(28, 28)))
        qtbot.wait(20)
        box = view.view_box.sceneBoundingRect()
        bar = view.colour_bar.sceneBoundingRect()
        side = min(box.width(), box.height())
        assert side >= 0.55 * min(width - 80, height - 60), (width, height, box)
        assert bar.height() <= box.height() + 2 and abs(box.width() - box.height()) <= 0.1 * side
    assert bar_ticks(-0.0897, 0.0897) == [(-0.05, "-0.05"), (0.0, "0"), (0.05, "0.05")]


def test_a_gallery_of_512_units_shows_the_first_64_and_offers_all(qtbot):
    gallery = shown(qtbot, WeightGallery(), 500, 500)
    tiles = np.random.default_rng(0).normal(size=(512, 28, 28))
    order = np.argsort(-tiles.mean(axis=(1, 2)))
    gallery.set_tiles(tiles, order=order)
    assert list(gallery.shown_order()) == list(order[:64]) and list(gallery.order()) == list(order)
    assert gallery.header.isVisible() and gallery.count_label.text() == "64 of 512 shown"
    assert [gallery.show_combo.itemText(i) for i in range(gallery.show_combo.count())] == [
        "first 36", "first 64", "first 144", "all 512"]  # fmt: skip
    gallery.show_first(0)
    assert len(gallery.shown_order()) == 512 and gallery.count_label.text() == "all 512 shown"
    small = shown(qtbot, WeightGallery(columns=10), 400, 100)
    small.set_tiles(tiles[:10])
    assert not small.header.isVisible() and len(small.shown_order()) == 10


def test_an_image_grid_keeps_two_rows(qtbot):
    grid = ImageGrid(thumbnail_size=56)
    grid.set_minimum_rows(2)
    cell = grid._delegate.cell.height()
    assert grid.minimumHeight() >= 2 * cell


def test_an_image_grid_fills_a_height_fixed_while_it_is_laid_out(qtbot):
    """The back query panel fixes its strip's height from inside the strip's resize (one row, as tall as the
    thumbnails): the list inside stayed at its first height, half the captions cut under a scroll bar."""
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

    class Panel(QWidget):
        def __init__(self):
            super().__init__()
            self.grid = ImageGrid(self, thumbnail_size=67)
            self.grid.installEventFilter(self)
            layout = QVBoxLayout(self)
            layout.addWidget(self.grid)
            layout.addWidget(QLabel("below"), 1)

        def eventFilter(self, watched, event):  # noqa: N802 - Qt's name
            if watched is self.grid and event.type() == QEvent.Type.Resize:
                size = int(np.clip(event.size().width() / 10 - 24, 48, 180))
                self.grid.set_thumbnail_size(size)
                self.grid.setFixedHeight(size + 2 * self.fontMetrics().height() + 28)
            return False

    tabs = QTabWidget()
    panel = Panel()
    tabs.addTab(QLabel("first"), "first")
    tabs.addTab(panel, "strip")
    shown(qtbot, tabs, 930, 600)
    panel.grid.set_images(np.zeros((10, 28, 28), np.uint8), [f"{i}: sees {i}" for i in range(10)])
    tabs.setCurrentIndex(1)
    qtbot.wait(20)
    assert panel.grid.height() > 100
    assert panel.grid.view.height() == panel.grid.height()
