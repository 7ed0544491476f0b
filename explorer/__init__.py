"""The MNIST Explorer desktop app (PySide6 + pyqtgraph) on top of `core`."""


def version() -> str:
    """The installed package's version (the source tree's own when it is not installed)."""
    from importlib import metadata

    try:
        return metadata.version("mnist-explorer")
    except metadata.PackageNotFoundError:
        from core import __version__

        return __version__
