"""The panels the main window shows, in tab order. Each takes `(state, parent=None)` and sets its objectName."""

from explorer.panels.draw import DrawPanel
from explorer.panels.training import TrainingPanel

PANELS: list[type] = [TrainingPanel, DrawPanel]
