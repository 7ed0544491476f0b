"""`python -m explorer.panels.<insight panel> [recipe] [epochs] [train_limit]`: one panel on its own, with MNIST
loaded and a short real training run in the background, so its pictures can be watched as they change."""

from __future__ import annotations

import sys


def show_panel(panel_class, recipe: str = "rashid", epochs: int = 3, train_limit: int = 10_000) -> None:
    from PySide6.QtWidgets import QApplication, QMainWindow, QToolBar

    from core.datasets import load
    from core.recipes import config
    from explorer.state import AppState
    from explorer.widgets.epoch_slider import EpochSlider
    from explorer.worker import TrainingController

    args = sys.argv[1:]
    recipe = args[0] if args else recipe
    epochs = int(args[1]) if len(args) > 1 else epochs
    train_limit = int(args[2]) if len(args) > 2 else train_limit
    app = QApplication.instance() or QApplication(sys.argv)
    state = AppState()
    dataset = load("mnist")
    state.set_dataset(dataset)
    window = QMainWindow()
    window.setWindowTitle(f"{panel_class.__name__}: {recipe}, {epochs} epochs on {train_limit:,} images")
    toolbar = QToolBar("Epoch", window)
    toolbar.addWidget(EpochSlider(state, toolbar))
    window.addToolBar(toolbar)
    window.setCentralWidget(panel_class(state, window))
    window.resize(1100, 760)
    window.show()
    controller = TrainingController(state)
    controller.start(config(recipe, epochs=epochs, train_limit=train_limit), dataset)
    app.aboutToQuit.connect(controller.shutdown)
    sys.exit(app.exec())
