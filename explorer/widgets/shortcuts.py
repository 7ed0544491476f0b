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
    ("Ctrl+1 … Ctrl+9, Ctrl+0", "Show the first … tenth tab (Training … Draw)"),
    ("Ctrl+[ / Ctrl+]", "The previous / next epoch of the selected run (the epoch slider)"),
    ("0 … 9", "Back query: enlarge that label's picture; Weights: show that label's template"),
    ("Ctrl+Shift+N", "Errors: switch the confusion matrix between counts and row percentages"),
    ("Ctrl+Shift+C", "Copy the figure under the keyboard focus to the clipboard"),
    ("Ctrl+Z", "Draw: undo the last stroke"),
    ("Delete / Backspace", "Draw: clear the canvas; runs list: remove the selected run"),
    ("F2 / double-click", "Rename the selected run (in the runs list)"),
    ("F1", "This list"),
    ("Ctrl+Q", "Quit"),
]

# The key sequences each row stands for, for the test that checks the list against the code.
KEY_SEQUENCES = {
    "Ctrl+1 … Ctrl+9, Ctrl+0": [f"Ctrl+{k}" for k in (*range(1, 10), 0)],
    "Ctrl+[ / Ctrl+]": ["Ctrl+[", "Ctrl+]"],
    "0 … 9": [str(k) for k in range(10)],
    "Delete / Backspace": ["Del", "Backspace"],
    "F2 / double-click": [],  # the tree view's edit key (QAbstractItemView.EditKeyPressed), not a shortcut
    "Esc": ["Esc"],
}


def key_sequences(keys: str) -> list[str]:
    """The QKeySequence strings (portable text) of one row of SHORTCUTS."""
    return KEY_SEQUENCES.get(keys, [keys])


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
