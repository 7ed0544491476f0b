"""The data-map tab's widgets: the map (an image of 60,000 points, with the suspects ringed), its legend and
readout, and the suspects gallery. Functions `build_...(panel)` make them as the panel's attributes."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from explorer.datamap_figures import PALETTE, X_RANGE, Y_RANGE
from explorer.widgets.image_grid import ImageGrid

REGIONS = (  # the paper's three regions, written where they lie (clear of the suspects near the origin)
    ("easy to learn", 0.004, 1.0, (0, 0)),
    ("ambiguous", 0.49, 0.55, (1, 0.5)),
    ("hard to learn", 0.16, 0.0, (0, 1)),
)


def build_map(panel) -> QWidget:
    """The plot (`panel.plot`, objectName "dataMapPlot"), its image, the suspects' rings, legend and readout."""
    box = QWidget(panel)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    panel.plot = pg.PlotWidget(box, background="w")
    panel.plot.setObjectName("dataMapPlot")
    panel.plot.setMinimumSize(360, 300)
    item = panel.plot.getPlotItem()
    for side in ("bottom", "left"):
        item.getAxis(side).enableAutoSIPrefix(False)  # 0.1, not 100 (x0.001); before the label and the range
    item.setLabel("bottom", "variability (std of the label's probability over epochs)")
    item.setLabel("left", "confidence (mean probability of the label)")
    item.setXRange(*X_RANGE, padding=0.02)
    item.setYRange(*Y_RANGE, padding=0.02)
    item.disableAutoRange()
    item.setMouseEnabled(False, False)
    item.hideButtons()
    item.showGrid(x=True, y=True, alpha=0.15)
    panel.map_image = pg.ImageItem(axisOrder="col-major")
    panel.plot.addItem(panel.map_image)
    panel.suspect_rings = pg.ScatterPlotItem(pxMode=True, size=9, symbol="o", brush=None,
                                             pen=pg.mkPen(0, 0, 0, 200, width=1.2))  # fmt: skip
    panel.plot.addItem(panel.suspect_rings)
    panel.hover_ring = pg.ScatterPlotItem(pxMode=True, size=13, symbol="o", brush=None,
                                          pen=pg.mkPen(0, 0, 0, 255, width=2))  # fmt: skip
    panel.plot.addItem(panel.hover_ring)
    for text, x, y, anchor in REGIONS:
        label = pg.TextItem(text, color=(60, 60, 60), anchor=anchor, fill=pg.mkBrush(255, 255, 255, 190))
        label.setPos(x, y)
        panel.plot.addItem(label)
    layout.addWidget(panel.plot, 1)
    layout.addWidget(_legend(box))
    row = QHBoxLayout()
    panel.hover_image = QLabel(box)  # the image under the mouse
    panel.hover_image.setObjectName("dataMapHoverImage")
    panel.hover_image.setFixedSize(42, 42)
    panel.readout = QLabel("Point at the map to read an image's numbers.", box)
    panel.readout.setObjectName("dataMapReadout")
    panel.readout.setWordWrap(True)
    row.addWidget(panel.hover_image)
    row.addWidget(panel.readout, 1)
    layout.addLayout(row)
    return box


def _legend(parent) -> QLabel:
    """Correctness colours: the share of epochs in which the image's label was the network's top answer. Short
    enough (about 400 px) not to widen the tab at 1280x720."""
    parts = []
    for k, rgb in enumerate(PALETTE.astype(int)):
        parts.append(f"<span style='color: rgb({rgb[0]}, {rgb[1]}, {rgb[2]}); font-weight: 600;'>"
                     f"●&nbsp;{k / (len(PALETTE) - 1):.0%}</span>")  # fmt: skip
    label = QLabel("Label right in: " + "&nbsp; ".join(parts) + " of epochs &nbsp; ○&nbsp;a suspect", parent)
    label.setObjectName("dataMapLegend")
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
    return label


def build_gallery(panel) -> QWidget:
    """The suspects (`panel.gallery`, objectName "suspectsGallery") under a line saying how to read them."""
    box = QWidget(panel)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    panel.gallery_title = QLabel("Suspects", box)
    panel.gallery_title.setObjectName("suspectsTitle")
    panel.gallery_title.setWordWrap(True)
    panel.gallery_title.setTextFormat(Qt.TextFormat.PlainText)
    layout.addWidget(panel.gallery_title)
    panel.gallery = ImageGrid(box, thumbnail_size=48)
    panel.gallery.setObjectName("suspectsGallery")
    panel.gallery.setToolTip("Click a suspect to open it in the Dataset tab")
    panel.gallery.fit_caption("8 → 8 -12.34")
    panel.gallery.setMinimumWidth(200)  # two columns of thumbnails at least
    layout.addWidget(panel.gallery, 1)
    return box
