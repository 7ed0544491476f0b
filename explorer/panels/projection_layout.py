"""The hidden-layer map tab's widgets: the controls row, the map, the picked image with its answer at every epoch,
and the images inside a drawn loop.

Each function builds one part onto the panel (as the panel's attributes, which its methods and the tests use) and
returns the part's layout or widget for the panel to place; the panel connects the signals.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSplitter,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from core import projection
from explorer.panels.projection_data import EMPTY_TEXT, SAMPLES
from explorer.widgets.image_grid import ImageGrid
from explorer.widgets.image_view import ImageView
from explorer.widgets.map_view import MapView


def _combo(panel, name: str, tip: str) -> QComboBox:
    combo = QComboBox(panel)
    combo.setObjectName(name)
    combo.setToolTip(tip)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(10)
    return combo


def build_controls(panel) -> QHBoxLayout:
    """Layer, method and sample choices and the status line: panel.layer_combo, .method_combo, .sample_combo,
    .status_label."""
    panel.layer_combo = _combo(panel, "projectionLayerCombo", "The layer whose activations the map places")
    panel.method_combo = _combo(
        panel,
        "projectionMethodCombo",
        "t-SNE keeps each image's neighbours together, so the digits show as islands; PCA is linear and instant, "
        "its distances are real, but the digits overlap",
    )
    for key, name in projection.METHODS.items():
        panel.method_combo.addItem(name, key)
    panel.sample_combo = _combo(
        panel, "projectionSampleCombo", "How many test images to map: fewer images, a faster map"
    )
    panel.sample_combo.setMinimumContentsLength(8)
    for size, text in SAMPLES:
        panel.sample_combo.addItem(text, size)
    panel.status_label = QLabel(EMPTY_TEXT, panel)
    panel.status_label.setObjectName("projectionStatus")
    panel.status_label.setWordWrap(True)
    panel.status_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    # room for three lines from the start, so the map below does not jump when the line grows
    panel.status_label.setMinimumHeight(3 * panel.status_label.fontMetrics().lineSpacing() + 8)
    row = QHBoxLayout()
    for text, combo in (
        ("Layer", panel.layer_combo),
        ("Method", panel.method_combo),
        ("Images", panel.sample_combo),
    ):
        label = QLabel(text, panel)
        label.setBuddy(combo)
        row.addWidget(label)
        row.addWidget(combo)
    row.addWidget(panel.status_label, 1)
    return row


def build_map(panel) -> MapView:
    panel.map_view = MapView(panel)
    panel.map_view.setObjectName("projectionMap")
    panel.map_view.setMinimumSize(320, 280)
    return panel.map_view


def build_side(panel) -> QSplitter:
    """The picked image and its answers (top), the lassoed images (bottom): panel.image_view, .detail_label,
    .epochs_table, .selection_label, .selection_grid."""
    detail = QWidget(panel)
    panel.image_view = ImageView(detail, "Click a dot to see its image")
    panel.image_view.setObjectName("projectionImage")
    panel.image_view.set_grid_visible(False)
    panel.detail_label = QLabel("", detail)
    panel.detail_label.setObjectName("projectionDetail")
    panel.detail_label.setWordWrap(True)
    panel.epochs_table = QTableWidget(2, 0, detail)
    panel.epochs_table.setObjectName("projectionEpochsTable")
    panel.epochs_table.setVerticalHeaderLabels(["Answer", "Confidence"])
    panel.epochs_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    panel.epochs_table.setToolTip("The network's answer for this image at each epoch of the run (red: wrong)")
    panel.epochs_table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
    panel.epochs_table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    panel.epochs_table.setFixedHeight(
        panel.epochs_table.horizontalHeader().sizeHint().height() + 2 * 26 + 24
    )  # two rows, their header and a horizontal scroll bar
    layout = QVBoxLayout(detail)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(panel.image_view, 1)
    layout.addWidget(panel.detail_label)
    layout.addWidget(panel.epochs_table)

    selection = QWidget(panel)
    panel.selection_label = QLabel("Drag a loop round dots on the map to list their images here.", selection)
    panel.selection_label.setObjectName("projectionSelectionLabel")
    panel.selection_label.setWordWrap(True)
    panel.selection_grid = ImageGrid(selection, thumbnail_size=48)
    panel.selection_grid.setObjectName("projectionSelectionGrid")
    panel.selection_grid.set_empty_message("No images selected.")
    layout = QVBoxLayout(selection)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(panel.selection_label)
    layout.addWidget(panel.selection_grid, 1)

    side = QSplitter(Qt.Orientation.Vertical, panel)
    side.addWidget(detail)
    side.addWidget(selection)
    side.setStretchFactor(0, 1)
    side.setStretchFactor(1, 1)
    return side
