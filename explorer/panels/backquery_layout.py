"""The Back query tab's widgets: its control row (method, steps, L2 penalty) and its pictures (the ten labels'
pictures in a row above the chosen one, enlarged, beside the network's answer for it).

Each function builds one part onto the panel (as the panel's attributes, which its methods and the tests use) and
returns the part's layout for the panel to place; the panel connects the signals.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QSpinBox

from explorer.widgets.image_grid import ImageGrid
from explorer.widgets.image_view import ImageView
from explorer.widgets.prob_bars import ProbabilityBars

BACK_QUERY, OPTIMISED = "backquery", "optimised"
EMPTY_TEXT = "Train a model to see the digit it imagines for each label."


def build_controls(panel) -> QHBoxLayout:
    """The method and the optimised input's settings with the status text: panel.method_combo, .steps_spin,
    .l2_spin, .steps_label, .l2_label and .status_label."""
    panel.method_combo = QComboBox(panel)
    panel.method_combo.setObjectName("backQueryMethodCombo")
    panel.method_combo.addItem("Back query (Rashid)", BACK_QUERY)
    panel.method_combo.addItem("Optimised input", OPTIMISED)
    panel.method_combo.setToolTip(
        "Back query: Rashid's method, runs the label backwards through an all-sigmoid network (instant).\n"
        "Optimised input: gradient ascent on the image to make the network as sure as possible of the label; "
        "works for every network."
    )
    panel.steps_spin = QSpinBox(panel)
    panel.steps_spin.setObjectName("optimiseStepsSpin")
    panel.steps_spin.setRange(10, 5000)
    panel.steps_spin.setSingleStep(50)
    panel.steps_spin.setValue(200)
    panel.steps_spin.setToolTip(
        "Gradient-ascent steps per label. 200 is enough for a clear picture; more sharpens it but takes longer."
    )
    panel.l2_spin = QDoubleSpinBox(panel)
    panel.l2_spin.setObjectName("optimiseL2Spin")
    panel.l2_spin.setDecimals(4)
    panel.l2_spin.setRange(0.0, 1.0)
    panel.l2_spin.setSingleStep(0.005)
    panel.l2_spin.setValue(0.01)
    panel.l2_spin.setToolTip(
        "L2 penalty on the pixels: keeps only the strokes the label really needs. 0.01 gives clean digits; "
        "0 fills the frame with noise the network likes, 0.1 and above fades the picture out."
    )
    panel.status_label = QLabel(panel)
    panel.status_label.setObjectName("backQueryStatus")
    # Wraps rather than widens: the progress text ("… 4 of 10 labels done") once pushed the window off a 1280 screen
    panel.status_label.setWordWrap(True)
    panel.status_label.setMinimumWidth(140)
    controls = QHBoxLayout()
    controls.addWidget(QLabel("Method", panel))
    controls.addWidget(panel.method_combo)
    controls.addSpacing(12)
    panel.steps_label = QLabel("Steps", panel)
    controls.addWidget(panel.steps_label)
    controls.addWidget(panel.steps_spin)
    panel.l2_label = QLabel("L2 penalty", panel)
    controls.addWidget(panel.l2_label)
    controls.addWidget(panel.l2_spin)
    controls.addSpacing(12)
    controls.addWidget(panel.status_label, 1)
    return controls


def build_pictures(panel, thumbnail_size: int) -> QHBoxLayout:
    """The ten pictures (panel.grid) and, in the returned row, the chosen one enlarged (panel.large_view) beside
    the network's answer for it (panel.bars)."""
    panel.grid = ImageGrid(panel, thumbnail_size=thumbnail_size)
    panel.grid.setObjectName("backQueryGrid")
    panel.grid.set_empty_message(EMPTY_TEXT)
    panel.grid.setToolTip(
        "What the network imagines for each label. Under each picture: what the network sees in it when "
        "fed forward again (green corner: it recognises its own ideal digit). Click one to enlarge it."
    )
    panel.large_view = ImageView(panel)
    panel.large_view.setObjectName("backQueryImage")
    panel.large_view.set_empty_text(EMPTY_TEXT)
    panel.bars = ProbabilityBars(panel)
    panel.bars.setObjectName("backQueryBars")
    panel.bars.set_empty_text("The network's answer for the enlarged picture appears here.")
    panel.bars.setMinimumHeight(240)
    panel.bars.setMaximumSize(520, 340)
    detail = QHBoxLayout()
    detail.addWidget(panel.large_view, 3)
    detail.addWidget(panel.bars, 2, Qt.AlignmentFlag.AlignVCenter)
    return detail
