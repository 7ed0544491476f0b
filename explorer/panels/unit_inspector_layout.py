"""The unit inspector's widgets: the unit chooser, the images that excite the unit most, the silence switch, and
what the network loses (per-class accuracy before and after, the digits whose answer changes).

Each function builds one part onto the inspector (as its attributes, which its methods and the tests use) and
returns the part's layout or widget; the inspector connects the signals.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSpinBox,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from explorer.widgets.image_grid import ImageGrid

ACCURACY_COLUMNS = ("Class", "Before", "After", "Change")
WHAT_IF = (
    "What-if view: silencing runs on a copy of the network; the run's saved weights and the other tabs do not "
    "change."
)


def build_chooser(inspector) -> QHBoxLayout:
    """The layer and unit choice: inspector.layer_combo and .unit_spin."""
    inspector.layer_combo = QComboBox(inspector)
    inspector.layer_combo.setObjectName("unitLayerCombo")
    inspector.layer_combo.setToolTip(
        "The hidden layer whose units are inspected (the gallery shows the first)"
    )
    inspector.unit_spin = QSpinBox(inspector)
    inspector.unit_spin.setObjectName("unitSpin")
    inspector.unit_spin.setToolTip("The unit inspected; clicking a unit in the gallery chooses it too")
    inspector.unit_spin.setKeyboardTracking(False)  # typing "128" asks once, not for 1, 12 and 128
    row = QHBoxLayout()
    row.addWidget(QLabel("Layer", inspector))
    row.addWidget(inspector.layer_combo, 1)
    row.addWidget(QLabel("Unit", inspector))
    row.addWidget(inspector.unit_spin)
    return row


def build_top(inspector) -> QWidget:
    """The images that excite the unit most: inspector.top_title and .top_grid."""
    inspector.top_title = QLabel(inspector)
    inspector.top_title.setObjectName("unitTopTitle")
    inspector.top_title.setWordWrap(True)
    inspector.top_grid = ImageGrid(inspector, thumbnail_size=40)
    inspector.top_grid.setObjectName("unitTopGrid")
    inspector.top_grid.fit_columns(8, largest=56)  # 16 images in two rows
    inspector.top_grid.set_minimum_rows(2)
    inspector.top_grid.set_empty_message("Click a unit in the gallery to see the test images it answers to.")
    inspector.top_grid.setToolTip(
        "The test images with the highest activation of this unit, highest first: its label and its activation"
    )
    part = QWidget(inspector)
    layout = QVBoxLayout(part)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(inspector.top_title)
    layout.addWidget(inspector.top_grid, 1)
    return part


def build_silence(inspector) -> QVBoxLayout:
    """The switch and the chosen set: inspector.silence_check, .silence_edit, .silence_message and the what-if
    note."""
    inspector.silence_check = QCheckBox("Silence this unit", inspector)
    inspector.silence_check.setObjectName("silenceUnitCheck")
    inspector.silence_check.setToolTip("Force this unit's activation to 0 and see what the network loses")
    inspector.silence_edit = QLineEdit(inspector)
    inspector.silence_edit.setObjectName("silenceUnitsEdit")
    inspector.silence_edit.setPlaceholderText("and units, e.g. 3, 17, 40-45")
    inspector.silence_edit.setClearButtonEnabled(True)
    inspector.silence_edit.setToolTip(
        "More units of this layer to silence together (numbers and ranges); Enter applies them"
    )
    inspector.silence_message = QLabel(inspector)
    inspector.silence_message.setObjectName("silenceMessage")
    inspector.silence_message.setWordWrap(True)
    inspector.silence_message.setStyleSheet("color: #b35900;")
    note = QLabel(WHAT_IF, inspector)
    note.setObjectName("silenceNote")
    note.setWordWrap(True)
    note.setStyleSheet("color: #5a5a5a; font-style: italic;")  # readable, yet apart from the results
    row = QHBoxLayout()
    row.addWidget(inspector.silence_check)
    row.addWidget(inspector.silence_edit, 1)
    layout = QVBoxLayout()
    layout.addLayout(row)
    layout.addWidget(inspector.silence_message)
    layout.addWidget(note)
    return layout


def build_loss(inspector) -> QWidget:
    """What the network loses: inspector.loss_summary, .accuracy_table and .changed_grid."""
    inspector.loss_summary = QLabel(inspector)
    inspector.loss_summary.setObjectName("silenceSummary")
    inspector.loss_summary.setWordWrap(True)
    inspector.loss_summary.setTextFormat(Qt.TextFormat.RichText)
    table = QTableWidget(0, len(ACCURACY_COLUMNS), inspector)
    table.setObjectName("silenceAccuracyTable")
    table.setHorizontalHeaderLabels(ACCURACY_COLUMNS)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 4)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.setToolTip(
        "Test accuracy of each class with the whole network (before) and with the units silenced"
    )
    table.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Expanding)
    inspector.accuracy_table = table
    inspector.changed_grid = ImageGrid(inspector, thumbnail_size=40)
    inspector.changed_grid.setObjectName("silenceChangedGrid")
    inspector.changed_grid.set_empty_message("Silence a unit to see the digits whose answer changes.")
    inspector.changed_grid.setToolTip(
        "The test digits whose answer changes when the units are silenced: label: before → after. "
        "Red corner: now wrong; green: now right"
    )
    row = QHBoxLayout()
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(table)
    row.addWidget(inspector.changed_grid, 1)
    part = QWidget(inspector)
    layout = QVBoxLayout(part)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(inspector.loss_summary)
    layout.addLayout(row, 1)
    return part
