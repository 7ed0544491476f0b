"""The panels the main window shows, in tab order. Each takes `(state, parent=None)` and sets its objectName."""

PANELS: list[type] = []
