"""`python -m explorer.panels.dataset`: the dataset panel on its own, with MNIST and a short real training run."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from explorer.panels.dataset import DatasetPanel


def main() -> int:
    """`python -m explorer.panels.dataset`: the panel with MNIST and a short real training run."""
    import sys

    from core.datasets import load
    from core.model_io import Model
    from core.training import EpochEvent, TrainConfig, Trainer
    from explorer.state import AppState

    app = QApplication.instance() or QApplication(sys.argv)
    state = AppState()
    state.set_dataset(load(sys.argv[1] if len(sys.argv) > 1 else "mnist"))
    panel = DatasetPanel(state)
    panel.resize(1200, 800)
    panel.show()
    config = TrainConfig(epochs=1, train_limit=5000, hidden=(64,))
    trainer = Trainer(config, state.dataset)
    run = state.new_run(config, name="quick look")
    for event in trainer.fit_iter():
        if isinstance(event, EpochEvent):
            model = Model.from_trainer(trainer, state.dataset)
            state.add_epoch(run, event, model)
    return app.exec()
