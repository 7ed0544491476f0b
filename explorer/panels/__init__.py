"""The panels the main window shows, in tab order. Each takes `(state, parent=None)` and sets its objectName."""

from explorer.panels.augmentation import AugmentationPanel
from explorer.panels.backquery import BackQueryPanel
from explorer.panels.dataset import DatasetPanel
from explorer.panels.draw import DrawPanel
from explorer.panels.errors import ErrorsPanel
from explorer.panels.training import TrainingPanel
from explorer.panels.weights import WeightsPanel

PANELS: list[type] = [
    TrainingPanel,
    DatasetPanel,
    AugmentationPanel,
    BackQueryPanel,
    WeightsPanel,
    ErrorsPanel,
    DrawPanel,
]
