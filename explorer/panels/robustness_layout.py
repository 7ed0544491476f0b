"""The Robustness tab's widgets: the perturbation row, the plot of accuracy against amount, and the flips below.

Each function builds one part onto the panel (as the panel's attributes, which its methods and the tests use) and
returns the part's layout or widget for the panel to place; the panel connects the signals.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from core import robustness
from explorer.panels.robustness_data import GRID_EMPTY, TITLES
from explorer.widgets.image_grid import ImageGrid


def build_controls(panel) -> QHBoxLayout:
    """The perturbation combo and the computing status: panel.perturbation_combo, .status_label."""
    panel.perturbation_combo = QComboBox(panel)
    panel.perturbation_combo.setObjectName("robustnessPerturbationCombo")
    for name in robustness.PERTURBATIONS:
        panel.perturbation_combo.addItem(TITLES[name], name)
    panel.perturbation_combo.setToolTip(
        "How the test digits are changed: turned, moved, made noisy, or their strokes thinned or thickened"
    )
    panel.status_label = QLabel("", panel)
    panel.status_label.setObjectName("robustnessStatus")
    panel.status_label.setWordWrap(True)
    panel.status_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    row = QHBoxLayout()
    row.addWidget(QLabel("Change the digits by:", panel))
    row.addWidget(panel.perturbation_combo)
    row.addSpacing(12)
    row.addWidget(panel.status_label, 1)
    return row


def build_plot(panel) -> pg.PlotWidget:
    """Accuracy (%) against amount, one curve per run, a legend, and the flips' amount as a dashed line:
    panel.plot, .legend, .amount_line."""
    panel.plot = pg.PlotWidget(panel, background="w")
    panel.plot.setObjectName("robustnessPlot")
    panel.plot.setMinimumHeight(220)
    item = panel.plot.getPlotItem()
    item.showGrid(x=True, y=True, alpha=0.25)
    item.setMouseEnabled(x=False, y=False)
    # the whole scale, a fall from 98% to 90% must not look like a cliff; room for the 0 and 100 labels
    item.setYRange(-5, 104, padding=0)
    item.hideButtons()
    for axis in ("left", "bottom"):
        item.getAxis(axis).setTextPen("#222222")
        item.getAxis(axis).setPen("#888888")
    item.setLabel("left", "test accuracy (%)", color="#222222")  # after setTextPen, which greys the label
    # bottom left: every curve starts high at amount 0 and falls to the right
    panel.legend = item.addLegend(
        offset=(10, -10), labelTextColor="#222222", brush=pg.mkBrush(255, 255, 255, 220)
    )
    panel.amount_line = pg.InfiniteLine(
        angle=90, movable=False, pen=pg.mkPen("#555555", width=1, style=Qt.PenStyle.DashLine)
    )
    panel.amount_line.setVisible(False)
    item.addItem(panel.amount_line, ignoreBounds=True)
    panel.plot.setToolTip("Click the plot to list the digits that flip at the nearest amount")
    return panel.plot


def build_flips(panel) -> QWidget:
    """The amount combo, a line counting the flips, and the grid of flipped digits: panel.amount_combo,
    .flips_label, .flips_grid."""
    panel.amount_combo = QComboBox(panel)
    panel.amount_combo.setObjectName("flipAmountCombo")
    panel.amount_combo.setToolTip("The amount whose flipped digits are listed (or click the plot)")
    panel.flips_label = QLabel("", panel)
    panel.flips_label.setObjectName("flipsLabel")
    panel.flips_label.setWordWrap(True)
    panel.flips_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    panel.flips_grid = ImageGrid(panel, thumbnail_size=56)
    panel.flips_grid.setObjectName("flipsGrid")
    panel.flips_grid.set_minimum_rows(2)
    panel.flips_grid.set_empty_message(GRID_EMPTY)
    panel.flips_grid.setToolTip(
        "The digits the selected run got right on the plain test set and wrong after the change, as the network "
        "saw them: right answer → new answer, and the test image's number"
    )
    row = QHBoxLayout()
    row.addWidget(QLabel("Digits that flip at:", panel))
    row.addWidget(panel.amount_combo)
    row.addSpacing(12)
    row.addWidget(panel.flips_label, 1)
    box = QWidget(panel)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addLayout(row)
    layout.addWidget(panel.flips_grid, 1)
    return box
