"""Files that ship with the app: the bundled MNIST, icons and style. Found relative to this package."""

from pathlib import Path

RESOURCES_DIR = Path(__file__).resolve().parent
MNIST_DIR = RESOURCES_DIR / "datasets" / "mnist"
