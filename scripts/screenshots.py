"""Render the README screenshots offscreen after short real training runs: every tab of the main window.

    python scripts/screenshots.py [--out docs/screenshots] [--images 10000] [--epochs 3]

Trains two runs on the first N MNIST training images (keras-dense512, then a two-hidden-layer SGD network, so
the training tab compares two runs), then shows each tab in turn and saves the whole window as
`<out>/<panel objectName>.png`. Uses a throw-away settings folder.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MNIST_EXPLORER_CONFIG_DIR", tempfile.mkdtemp(prefix="mnist-explorer-shots-"))
# runs are kept in the data folder: start from none, and leave the user's own runs alone
os.environ.setdefault("MNIST_EXPLORER_DATA_DIR", tempfile.mkdtemp(prefix="mnist-explorer-shots-data-"))


def wait(app, condition, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        app.processEvents()
        if condition():
            return True
        time.sleep(0.01)
    return False


def settle(app, seconds: float = 1.0, panel=None) -> None:
    """Let workers (class means, back queries, whole-split predictions, previews) finish and the widgets repaint.

    The insight panels start their work when their tab is shown, and a job may start another when it returns
    (the weights' templates, then the unit mosaic), so wait until the pool has been idle and the panel not busy
    for a moment; on a loaded machine that can take a while."""
    from PySide6.QtCore import QThreadPool

    pool = QThreadPool.globalInstance()
    end = time.monotonic() + seconds
    idle_since = None
    while time.monotonic() < end + 180:
        app.processEvents()
        time.sleep(0.02)
        idle = not pool.activeThreadCount() and not getattr(panel, "busy", False)
        idle_since = (idle_since or time.monotonic()) if idle else None
        if time.monotonic() >= end and idle_since is not None and time.monotonic() - idle_since > 0.3:
            break


def train(app, window, recipe: str, images: int, epochs: int, **fields) -> None:
    panel = window.control_panel
    panel.select_recipe(recipe)
    panel.limit_spin.setValue(images)
    panel.epochs_spin.setValue(epochs)
    if "hidden" in fields:
        panel.hidden_edit.setText(fields["hidden"])
    panel.train()
    if not wait(app, lambda: not window.state.training and not window.controller.running, timeout=900):
        raise SystemExit("training did not finish in 15 minutes")
    run = window.state.runs[-1]
    print(f"{run.name}: {run.status}, test accuracy {run.final_accuracy:.2%}, {run.seconds:.1f} s")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args(argv)

    from PySide6.QtWidgets import QApplication

    from explorer.app import build_window

    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = build_window()
    window.resize(1440, 900)
    window.show()
    settle(app, 0.5)
    train(app, window, "keras-dense512", args.images, args.epochs)
    train(app, window, "two-hidden-sgd", args.images, args.epochs)
    window.state.select_run(window.state.runs[0])  # the insight tabs show the stronger first run
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        settle(app, 1.5, window.tabs.widget(index))
        name = window.tabs.widget(index).objectName() or f"tab{index}"
        window.grab().save(str(out / f"{name}.png"))
        print("saved", out / f"{name}.png")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
