"""The feature maps of one image in a convolutional network: what each filter of a layer finds in it.

`FeatureMapsView` shows one layer's maps (conv or pool, chosen in its combo) as a mosaic of small heatmaps on one
shared scale, so the maps compare by strength: a white tile is a filter that found nothing in this image. The
numbers come from `core.convnet.feature_maps` (after each conv layer's activation and after each pooling).

`LiveFeatureMaps` is the view with its own worker: `show_for(model, image)` computes the maps of a uint8 28x28
image off the GUI thread (the newest request wins, so drawing or training never queues stale work) and hides
itself for a network without conv layers. The Draw tab uses it; the Weights tab's conv view drives a plain
`FeatureMapsView` from its own job.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from core.convnet import is_convolutional
from explorer.conv_figures import image_maps
from explorer.jobs import JobRunner
from explorer.widgets.weight_gallery import WeightGallery

MAPS_TIP = (
    "Each tile is one filter's output for this image (after the activation, or after pooling): red where the "
    "filter found its pattern, white where it found nothing. All tiles of a layer share one colour scale."
)


class FeatureMapsView(QWidget):
    """A layer combo above a gallery of one layer's maps. `set_maps(maps)` with `image_maps`' list; None empties."""

    def __init__(self, parent=None, name: str = "featureMaps", columns: int | None = None, title: str = ""):
        super().__init__(parent)
        self.setObjectName(name)
        self._maps: list[tuple[str, np.ndarray]] = []
        self.fit_columns = columns is None  # no fixed column count: as many as make the tiles largest
        self.title_label = QLabel(title, self)
        self.title_label.setWordWrap(True)
        self.layer_combo = QComboBox(self, objectName=f"{name}LayerCombo")
        self.layer_combo.setToolTip("The layer whose feature maps are shown")
        self.layer_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.layer_combo.currentIndexChanged.connect(lambda _i: self._show())
        self.gallery = WeightGallery(self, columns=columns)
        self.gallery.setObjectName(f"{name}Gallery")
        self.gallery.setToolTip(MAPS_TIP)
        self.gallery.set_empty_text("No feature maps yet.")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.title_label, 1)
        row.addWidget(QLabel("Layer", self))
        row.addWidget(self.layer_combo)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.gallery, 1)

    def set_maps(self, maps: list[tuple[str, np.ndarray]] | None, empty_text: str = "") -> None:
        """Show `maps` [(name, (C, H, W))], keeping the chosen layer's position; None or [] shows `empty_text`."""
        self._maps = list(maps or [])
        names = [name for name, _ in self._maps]
        current = max(0, self.layer_combo.currentIndex())
        if [self.layer_combo.itemText(i) for i in range(self.layer_combo.count())] != names:
            self.layer_combo.blockSignals(True)
            self.layer_combo.clear()
            self.layer_combo.addItems(names)
            self.layer_combo.setCurrentIndex(min(current, len(names) - 1))
            self.layer_combo.blockSignals(False)
        if empty_text:
            self.gallery.set_empty_text(empty_text)
        self._show()

    def layer_names(self) -> list[str]:
        return [name for name, _ in self._maps]

    def shown_maps(self) -> np.ndarray | None:
        """The (C, H, W) maps shown now (of the chosen layer), or None."""
        index = self.layer_combo.currentIndex()
        return self._maps[index][1] if self._maps and 0 <= index < len(self._maps) else None

    def _show(self) -> None:
        maps = self.shown_maps()
        if maps is not None and self.fit_columns:
            self.gallery.columns_wanted = best_columns(len(maps), self.gallery.width(), self.gallery.height())
        self.gallery.set_tiles(maps, shared_scale=True)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        maps = self.shown_maps()
        if maps is not None and self.fit_columns:
            columns = best_columns(len(maps), self.gallery.width(), self.gallery.height())
            if columns != self.gallery.columns_wanted:
                self._show()


def best_columns(n: int, width: float, height: float) -> int:
    """The number of columns that gives n square tiles the largest side in a width x height area."""
    if n < 1 or width < 1 or height < 1:
        return max(1, math.ceil(math.sqrt(n)))
    return max(range(1, n + 1), key=lambda c: min(width / c, height / math.ceil(n / c)))


class LiveFeatureMaps(FeatureMapsView):
    """A FeatureMapsView that computes the maps of an image itself, in a worker; hidden for an MLP."""

    def __init__(
        self, parent=None, name: str = "liveFeatureMaps", columns: int | None = None, title: str = ""
    ):
        super().__init__(parent, name, columns, title)
        self.job = JobRunner(self, name=f"{name}Job")
        self.job.done.connect(self._on_maps)
        self.job.failed.connect(
            lambda text: self.set_maps(None, f"Could not compute the feature maps: {text}")
        )
        self._wanted = None  # (model, image) of the newest request
        self.setVisible(False)

    @property
    def busy(self) -> bool:
        return self.job.busy

    def shutdown(self) -> None:
        self.job.shutdown()

    def show_for(self, model, image_uint8: np.ndarray | None, empty_text: str = "") -> None:
        """The maps of `image_uint8` in `model` (computed in the worker); hidden unless the model is a CNN."""
        conv = model is not None and is_convolutional(model.network)
        self.setVisible(conv)
        if not conv or image_uint8 is None:
            self.job.cancel()
            self._wanted = None
            self.set_maps(None, empty_text or "Draw a digit to see what each filter finds in it.")
            return
        image = np.array(image_uint8, copy=True)  # the caller's buffer may change while the job runs
        self._wanted = (model, image)
        self.job.submit(_compute, model, image)

    def _on_maps(self, result) -> None:
        model, image, maps = result
        if self._wanted is None or self._wanted[0] is not model or not np.array_equal(self._wanted[1], image):
            return  # an answer for an earlier drawing or model
        self.set_maps(maps)


def _compute(model, image):
    return model, image, image_maps(model, image)
