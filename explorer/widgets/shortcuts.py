"""The keyboard shortcuts, listed once: the Help > Keyboard shortcuts dialog and the README show the same table."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout

SHORTCUTS = [
    ("Ctrl+T", "Train: start a new run with the current settings"),
    ("Space", "Pause or resume the run"),
    ("Esc", "Stop the run (its weights so far are kept)"),
    ("Ctrl+O", "Open a dataset file (IDX, NPZ or CSV)"),
    ("Ctrl+Shift+O", "Open a dataset folder"),
    ("Ctrl+L", "Load a model"),
    ("Ctrl+S", "Save the selected run's model"),
    ("Ctrl+E", "Export figures"),
    ("Ctrl+Shift+E", "Export a report"),
    ("Ctrl+1 … Ctrl+9", "Show the first … ninth tab"),
    ("Delete", "Remove the selected run (in the runs list)"),
    ("F2 / double-click", "Rename the selected run (in the runs list)"),
    ("F1", "This list"),
    ("Ctrl+Q", "Quit"),
]


class ShortcutsDialog(QDialog):
    """Non-modal: it can stay open beside the window while the user tries the keys."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle("Keyboard shortcuts")
        self.setModal(False)
        rows = "".join(
            f"<tr><td style='padding:3px 14px 3px 0'><b>{keys}</b></td><td style='padding:3px 0'>{what}</td></tr>"
            for keys, what in SHORTCUTS
        )
        label = QLabel(f"<table>{rows}</table>", textFormat=Qt.TextFormat.RichText)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(buttons)
