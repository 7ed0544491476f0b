"""The Errors tab's widgets: the scorecard row, the matrix with its table and the chosen image (upper half), and
the lists of images (lower half).

Each function builds one part onto the panel (as the panel's attributes, which its methods and the tests use) and
returns the part's layout or widget for the panel to place; the panel connects the signals.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from explorer.panels.errors_data import EMPTY_TEXT, METRIC_COLUMNS
from explorer.widgets.confusion_matrix import ConfusionMatrixView
from explorer.widgets.heatmap import Heatmap
from explorer.widgets.image_grid import ImageGrid
from explorer.widgets.image_view import ImageView
from explorer.widgets.prob_bars import ProbabilityBars

METRIC_TIPS = (
    "",
    "How many test images have this class",
    "Share of this class's test images classified right (the class's recall)",
    "Share of the images predicted as this class that really are it",
    "This class's test images classified as something else",
)


def build_scorecard_row(panel) -> QHBoxLayout:
    """The scorecard in large type beside the row-percentages switch: panel.scorecard and .normalise_check."""
    panel.scorecard = QLabel(EMPTY_TEXT, panel)
    panel.scorecard.setObjectName("scorecardLabel")
    panel.scorecard.setWordWrap(True)  # a long sentence must not widen the window past a 1280 px screen
    font = QFont(panel.scorecard.font())
    font.setPointSizeF(font.pointSizeF() * 1.4)
    font.setBold(True)
    panel.scorecard.setFont(font)
    panel.scorecard.setToolTip("Rashid's scorecard: how many of the test images the network classifies right")
    panel.normalise_check = QCheckBox("Row percentages", panel)
    panel.normalise_check.setObjectName("confusionNormaliseCheck")
    panel.normalise_check.setShortcut("Ctrl+Shift+N")
    panel.normalise_check.setToolTip(
        "Write each cell as a percentage of its row (of the true class) instead of a count (Ctrl+Shift+N). "
        "The colour always shows the row share."
    )
    top = QHBoxLayout()
    top.addWidget(panel.scorecard, 1)
    top.addWidget(panel.normalise_check)
    return top


def build_upper(panel) -> QSplitter:
    """The confusion matrix, the per-class table and the chosen image side by side: panel.matrix_view,
    .metrics_table, .image_view, .saliency_view and .bars."""
    panel.matrix_view = ConfusionMatrixView(panel)
    panel.matrix_view.setObjectName("confusionMatrix")
    panel.matrix_view.setToolTip(
        "Rows: the true class; columns: what the network predicted. Click a cell to list its test images."
    )
    _build_metrics_table(panel)
    detail = _build_detail(panel)
    upper = QSplitter(Qt.Orientation.Horizontal, panel)
    upper.addWidget(panel.matrix_view)
    upper.addWidget(panel.metrics_table)
    upper.addWidget(detail)
    upper.setStretchFactor(0, 4)
    upper.setStretchFactor(1, 3)
    upper.setStretchFactor(2, 4)
    return upper


def _build_metrics_table(panel) -> None:
    panel.metrics_table = QTableWidget(0, len(METRIC_COLUMNS), panel)
    panel.metrics_table.setObjectName("classMetricsTable")
    panel.metrics_table.setHorizontalHeaderLabels(METRIC_COLUMNS)
    for column, tip in enumerate(METRIC_TIPS):
        panel.metrics_table.horizontalHeaderItem(column).setToolTip(tip)
    panel.metrics_table.verticalHeader().setVisible(False)
    panel.metrics_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    panel.metrics_table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    panel.metrics_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    panel.metrics_table.setSortingEnabled(False)


def _build_detail(panel) -> QWidget:
    """The chosen image beside its saliency map, above its probabilities."""
    panel.image_view = ImageView(panel)
    panel.image_view.setObjectName("errorImage")
    panel.image_view.set_empty_text("Click an image below to inspect it.")
    panel.saliency_view = Heatmap(panel)
    panel.saliency_view.setObjectName("saliencyHeatmap")
    panel.saliency_view.set_empty_text("Its saliency map appears here.")
    panel.saliency_view.setToolTip(
        "Saliency: how the predicted class's log-probability changes with each pixel (red: more ink raises "
        "it, blue: lowers it); the line is the digit's outline"
    )
    panel.bars = ProbabilityBars(panel)
    panel.bars.setObjectName("errorBars")
    panel.bars.set_empty_text("Click an image to see its ten probabilities.")
    detail = QWidget(panel)
    detail_layout = QVBoxLayout(detail)
    detail_layout.setContentsMargins(0, 0, 0, 0)
    pictures = QHBoxLayout()
    pictures.addWidget(panel.image_view, 2)
    pictures.addWidget(panel.saliency_view, 3)  # the map shares its width with its colour bar
    detail_layout.addLayout(pictures, 3)
    detail_layout.addWidget(panel.bars, 2)
    return detail


def build_lists(panel) -> QTabWidget:
    """The misclassified images and those of the chosen cell, as two tabs: panel.wrong_grid, .cell_grid and
    .lists."""
    panel.wrong_grid = ImageGrid(panel, thumbnail_size=56)
    panel.wrong_grid.setObjectName("misclassifiedGrid")
    panel.wrong_grid.set_empty_message(EMPTY_TEXT)
    panel.wrong_grid.setToolTip(
        "Every misclassified test image, the most confident mistakes first: true → predicted, and how sure "
        "the network was (a probability, or for a sigmoid output layer its activation)"
    )
    panel.cell_grid = ImageGrid(panel, thumbnail_size=56)
    for grid in (panel.wrong_grid, panel.cell_grid):
        grid.set_minimum_rows(2)  # a gallery one row high shows too little to browse
    panel.cell_grid.setObjectName("confusionCellGrid")
    panel.cell_grid.set_empty_message("Click a cell of the confusion matrix to list its images.")
    panel.lists = QTabWidget(panel)
    panel.lists.setObjectName("errorsLists")
    panel.lists.addTab(panel.wrong_grid, "Misclassified")
    panel.lists.addTab(panel.cell_grid, "Selected cell")
    return panel.lists
