"""The Weights tab's widgets: its control row, the label templates (left half) and the unit gallery (right half).

Each function builds one part onto the panel (as the panel's attributes, which its methods and the tests use) and
returns the part's layout or widget for the panel to place.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from explorer.widgets.heatmap import Heatmap
from explorer.widgets.weight_gallery import WeightGallery

TEMPLATE, GRADIENT = "template", "gradient"
EMPTY_TEXT = "Train a model to see what its weights look for."


def build_controls(panel) -> QHBoxLayout:
    """The row of label, view and unit-order choices with the status text: panel.label_combo, .view_combo,
    .sort_combo and .status_label."""
    panel.label_combo = QComboBox(panel)
    panel.label_combo.setObjectName("weightsLabelCombo")
    panel.label_combo.setToolTip("The label whose template is shown large and by which the units are sorted")
    panel.view_combo = QComboBox(panel)
    panel.view_combo.setObjectName("weightsViewCombo")
    panel.view_combo.addItem("Linearised template", TEMPLATE)
    panel.view_combo.addItem("Mean input gradient", GRADIENT)
    panel.view_combo.setToolTip(
        "Linearised template: W0 @ W1 @ ... (for a network without hidden layers, the label's weight column).\n"
        "Mean input gradient: d log p(label) / d pixel, averaged over the test images of that label: what the "
        "real, nonlinear network would strengthen in them."
    )
    panel.sort_combo = QComboBox(panel)
    panel.sort_combo.setObjectName("weightsSortCombo")
    panel.sort_combo.addItem("strongest for the label first", "strength")
    panel.sort_combo.addItem("unit number", "index")
    panel.sort_combo.setToolTip(
        "Order of the hidden units: by how strongly each feeds the chosen label (its outgoing weight, through "
        "the linearised rest of the network; most positive first), or by their number."
    )
    panel.status_label = QLabel(panel)
    controls = QHBoxLayout()
    for text, widget in (
        ("Label", panel.label_combo),
        ("Show", panel.view_combo),
        ("Sort units by", panel.sort_combo),
    ):
        controls.addWidget(QLabel(text, panel))
        controls.addWidget(widget)
        controls.addSpacing(10)
    controls.addWidget(panel.status_label, 1)
    # The row must fit a 1280 px screen beside the controls: the combos may shorten (their lists do not),
    # and the status wraps rather than widening the window.
    for combo in (panel.view_combo, panel.sort_combo):
        full = combo.sizeHint().width()  # wide enough for its longest choice: where there is room, it is
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(8)
        combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        combo.setMaximumWidth(full)
        controls.setStretchFactor(combo, 1)
    panel.status_label.setWordWrap(True)
    return controls


def build_templates_side(panel) -> QWidget:
    """Every label's template in a strip above the chosen one drawn large: panel.label_strip and .heatmap."""
    panel.label_strip = WeightGallery(panel, columns=10)
    panel.label_strip.setObjectName("weightsLabelStrip")
    panel.label_strip.setToolTip("Every label's template on one shared scale; click one to show it large")
    panel.label_strip.setMinimumHeight(90)
    panel.label_strip.setMaximumHeight(130)
    panel.label_strip.set_empty_text(EMPTY_TEXT)
    panel.heatmap = Heatmap(panel)
    panel.heatmap.setObjectName("weightsHeatmap")
    panel.heatmap.set_empty_text(EMPTY_TEXT)
    panel.heatmap.setToolTip(
        "Red pixels raise the label's score, blue pixels lower it; white ones do not matter"
    )
    left = QWidget(panel)
    left_layout = QVBoxLayout(left)
    left_layout.setContentsMargins(0, 0, 0, 0)
    left_layout.addWidget(panel.label_strip)
    left_layout.addWidget(panel.heatmap, 1)
    return left


def build_units_side(panel) -> QWidget:
    """The first hidden layer's units as a gallery, with the chosen unit large beside its strongest links:
    panel.units_title, .gallery, .unit_heatmap and .unit_links."""
    panel.units_title = QLabel(panel)
    panel.units_title.setWordWrap(True)
    panel.gallery = WeightGallery(panel)
    panel.gallery.setObjectName("weightsUnitGallery")
    panel.gallery.set_empty_text(EMPTY_TEXT)
    panel.gallery.setToolTip(
        "The incoming weights of every unit of the first hidden layer, each on its own colour scale; "
        "click a unit to see it large with its strongest links to the labels"
    )
    panel.unit_heatmap = Heatmap(panel)
    panel.unit_heatmap.setObjectName("unitHeatmap")
    panel.unit_heatmap.set_empty_text("Click a unit in the gallery to see its weights large.")
    panel.unit_links = QLabel(panel)
    panel.unit_links.setObjectName("unitLinks")
    panel.unit_links.setWordWrap(True)
    panel.unit_links.setTextFormat(Qt.TextFormat.RichText)
    unit_row = QHBoxLayout()
    unit_row.addWidget(panel.unit_heatmap, 3)
    unit_row.addWidget(panel.unit_links, 2)
    right = QWidget(panel)
    right_layout = QVBoxLayout(right)
    right_layout.setContentsMargins(0, 0, 0, 0)
    right_layout.addWidget(panel.units_title)
    right_layout.addWidget(panel.gallery, 3)
    right_layout.addLayout(unit_row, 2)
    return right
