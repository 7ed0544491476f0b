"""The one line at the top of each tab that says what it shows, in words a learner understands.

Each panel keeps its line current (which method, which layer, what the numbers are) through `set_text`; the line
wraps rather than being cut when the window is narrow.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class TabCaption(QLabel):
    def __init__(self, parent: QWidget | None = None, name: str = "", text: str = ""):
        super().__init__(text, parent)
        if name:
            self.setObjectName(name)
        self.setWordWrap(True)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.setStyleSheet("font-weight: 600; padding: 1px 0 3px 0;")
