"""The MNIST Explorer desktop app (PySide6 + pyqtgraph) on top of `core`."""
