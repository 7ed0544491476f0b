"""The MNIST Explorer desktop app (PySide6 + pyqtgraph) on top of `core`."""

from explorer import qt_compat as _qt_compat  # noqa: F401 - first: guards against PySide6 6.12's refcount bug
