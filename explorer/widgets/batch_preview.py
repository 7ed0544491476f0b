"""A random training batch exactly as the trainer sees it: scaled, then augmented by the trainer's own function.

"Exactly" is the point: the preview scales with the same statistics the trainer fits (on the same first
`train_limit` images), fills rotated-in corners with the same background value, and calls
`core.augment.augment_batch` itself, the function `core.training.Trainer` calls for every batch.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from core import augment as core_augment
from core.preprocess import background_value, fit_scaling, input_range, scale_inputs
from core.readers import IMAGE_SHAPE
from explorer.export import attach_export
from explorer.widgets.image_grid import ImageGrid

BATCH_RECORDS = 24  # thumbnails shown; Rashid's scheme shows 8 records, each three times
SCHEME_NAMES = {"off": "no rotation", "random": "random rotation", "rashid": "Rashid's ± copies"}


def to_display(images: np.ndarray, low: float, high: float) -> np.ndarray:
    """Scaled (or float pixel) images mapped back to uint8 0..255 for thumbnails: `low` -> 0, `high` -> 255."""
    span = high - low if high != low else 1.0
    return np.clip(np.rint((np.asarray(images, np.float64) - low) / span * 255.0), 0, 255).astype(np.uint8)


class BatchPreview(QWidget):
    """A title, a "New batch" button, an export button and the grid of the augmented batch."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.batch: np.ndarray | None = None  # the augmented batch now shown (scaled floats, as trained on)
        self._stats_cache: dict = {}
        self.grid = ImageGrid(self, thumbnail_size=44)
        self.grid.setObjectName("batchPreview")
        self.grid.setToolTip(
            "A random training batch exactly as the trainer sees it: scaled and augmented by the trainer's own "
            "function with the current settings"
        )
        self.new_batch_button = QPushButton("&New batch", objectName="newBatchButton")
        self.new_batch_button.setToolTip("Draw another random batch with the same settings (Alt+N)")
        self.title = QLabel("Batch preview", objectName="batchTitle", wordWrap=True)  # never widens the window
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.new_batch_button)
        head.addWidget(attach_export(self.grid, "augmented_batch", lambda: self.batch))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.grid, 1)

    def clear_cache(self) -> None:
        """Forget the scaling statistics (call when the dataset changes)."""
        self._stats_cache.clear()

    def render(self, dataset, config, rng: np.random.Generator) -> None:
        """Draw records from the trainer's training pool with `rng` and augment them with `config`."""
        if dataset is None or config is None or not len(dataset.train_images):
            self.batch = None
            self.title.setText("Batch preview")
            self.grid.set_empty_message("Open a dataset with training images to preview a batch")
            self.grid.set_images(np.zeros((0, *IMAGE_SHAPE), np.uint8))
            return
        limit = int(getattr(config, "train_limit", 0) or 0) or None
        pool, labels = dataset.train_images[:limit], dataset.train_labels[:limit]
        records = BATCH_RECORDS // 3 if config.augment == "rashid" else BATCH_RECORDS
        picked = np.sort(rng.choice(len(pool), size=min(records, len(pool)), replace=False))
        key = (id(dataset), len(pool), config.scaling)
        if key not in self._stats_cache:
            self._stats_cache[key] = fit_scaling(pool, config.scaling)  # from a histogram: a few ms
        stats = self._stats_cache[key]
        scaled = scale_inputs(pool[picked], config.scaling, stats, np.dtype(config.dtype)).reshape(-1, *IMAGE_SHAPE)
        try:
            self.batch = core_augment.augment_batch(scaled, config, rng, background_value(config.scaling, stats))
        except ValueError as exc:  # an invalid configuration: say so and keep the last batch
            self.title.setText(f"Batch preview unavailable: {exc}")
            return
        names = [str(n) for n in dataset.class_names]
        if config.augment == "rashid":
            turns = ("0°", f"+{config.rotate:g}°", f"−{config.rotate:g}°")
            captions = [f"{names[y]}\n{turn}" for y in labels[picked] for turn in turns]
        else:
            captions = [names[y] for y in labels[picked]]
        self.title.setText(f"A training batch as the trainer sees it ({self._describe(config)})")
        self.grid.set_images(to_display(self.batch, *input_range(config.scaling, stats)), captions)

    @staticmethod
    def _describe(config) -> str:
        parts = [SCHEME_NAMES.get(config.augment, config.augment)]
        if config.augment != "off":
            parts[0] += f" ±{config.rotate:g}°"
        if getattr(config, "shift", 0):
            parts.append(f"shifts ±{config.shift} px")
        if getattr(config, "elastic", 0):
            parts.append("elastic distortion")
        return ", ".join(parts) + f"; {config.scaling} scaling"
