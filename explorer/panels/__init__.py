"""The panels the main window shows, in tab order. Each takes `(state, parent=None)` and sets its objectName.

The list is built on call, not at import: importing this package must not import every panel, or
`python -m explorer.panels.x` would find its own module already in sys.modules (runpy's RuntimeWarning).
"""

from __future__ import annotations

from importlib import import_module

# (module, class) in tab order
_PANEL_PATHS = (
    ("explorer.panels.training", "TrainingPanel"),
    ("explorer.panels.dataset", "DatasetPanel"),
    ("explorer.panels.augmentation", "AugmentationPanel"),
    ("explorer.panels.backquery", "BackQueryPanel"),
    ("explorer.panels.weights", "WeightsPanel"),
    ("explorer.panels.errors", "ErrorsPanel"),
    ("explorer.panels.projection", "ProjectionPanel"),
    ("explorer.panels.datamap", "DataMapPanel"),
    ("explorer.panels.robustness", "RobustnessPanel"),
    ("explorer.panels.draw", "DrawPanel"),
)


def panel_classes() -> list[type]:
    """The panel classes the main window shows, in tab order (imported on this call)."""
    return [getattr(import_module(module), name) for module, name in _PANEL_PATHS]
