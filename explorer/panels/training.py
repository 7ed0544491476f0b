"""The training panel: live loss / accuracy / learning-rate curves of every run, and the runs list to compare,
rename, hide or remove them. `python -m explorer.panels.training` shows it during a short real run on MNIST."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from explorer.widgets.curves import TrainingCurves
from explorer.widgets.runs_list import RunsDiskUsage, RunsList
from explorer.widgets.tab_caption import TabCaption

CAPTION = (
    "Training: the loss, accuracy and learning rate of the ticked runs, per batch and per epoch, on the same axes"
)


class TrainingPanel(QWidget):
    title = "Training"

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.setObjectName("trainingPanel")
        self.state = state
        self.curves = TrainingCurves(state)
        self.runs_list = RunsList(state)
        self.disk_usage = RunsDiskUsage(state)
        self.loss_plot = self.curves.loss_plot
        self.accuracy_plot = self.curves.accuracy_plot
        self.splitter = QSplitter(Qt.Orientation.Vertical, objectName="trainingSplitter")
        self.splitter.addWidget(self.curves)
        runs_box = QWidget(objectName="runsBox")  # the list, and under it the disk space the saved runs take
        runs_layout = QVBoxLayout(runs_box)
        runs_layout.setContentsMargins(0, 0, 0, 0)
        runs_layout.setSpacing(0)
        runs_layout.addWidget(self.runs_list, 1)
        runs_layout.addWidget(self.disk_usage)
        self.splitter.addWidget(runs_box)
        self.splitter.setStretchFactor(0, 4)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([600, 150])
        self.caption = TabCaption(self, "trainingCaption", CAPTION)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.caption)
        layout.addWidget(self.splitter)


def main() -> None:  # pragma: no cover - a quick look by hand
    import sys

    from PySide6.QtWidgets import QApplication

    from core import datasets, recipes
    from explorer.state import AppState
    from explorer.worker import TrainingController

    app = QApplication.instance() or QApplication(sys.argv)
    state = AppState()
    state.set_dataset(datasets.load("mnist"))
    panel = TrainingPanel(state)
    panel.resize(1000, 700)
    panel.show()
    controller = TrainingController(state)
    config = recipes.config("keras-dense512", epochs=3, train_limit=10_000)
    state.set_config(config)
    controller.start(config, state.dataset, name="run 1 · keras-dense512 on 10,000 images")
    app.aboutToQuit.connect(controller.shutdown)
    app.exec()


if __name__ == "__main__":
    main()
