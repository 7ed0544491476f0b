"""The augmentation panel: see what rotating a digit does, set the training's rotation, and test whether it helps.

Left: one image (following the dataset panel's selection, or picked by index) as it is, rotated by the slider's
angle, and their difference; a strip of the same image over the training's range of angles; and a random training
batch exactly as the trainer will see it (made by `core.augment.augment_batch`, the trainer's own function).
Right: the training's augmentation (the same setting as the control panel's rotation, shared through the state)
and a one-click experiment that trains with and without rotation.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QGridLayout, QSplitter, QVBoxLayout, QWidget

from core import augment as core_augment
from core.readers import IMAGE_SHAPE
from explorer.export import attach_export
from explorer.panels.augmentation_experiment import RotationExperiment
from explorer.panels.augmentation_layout import (
    MODES,
    STRIP_STEPS,
    build_picker,
    build_settings,
    build_strip,
    build_views,
    picker_rows,
)
from explorer.widgets.batch_preview import to_display
from explorer.widgets.tab_caption import TabCaption

RENDER_DELAY_MS = (
    30  # the slider's renders wait this long for the next move, so only the latest angle renders
)


def describe(config) -> str:
    """The tab's first line: what it shows, and what the training does to its images now."""
    if config is None or config.augment == "off" or not config.rotate:
        now = "training uses the images as they are"
    elif config.augment == "rashid":
        now = f"training adds each image turned by +{config.rotate:g}° and −{config.rotate:g}° (Rashid's scheme)"
    else:
        now = f"training turns each image by a new random angle within ±{config.rotate:g}° every epoch"
    return f"Augmentation: how rotation changes a digit, and whether it helps the network; {now}."


class AugmentationPanel(QWidget):
    """Rotation preview, training augmentation settings, batch preview and the with/without experiment."""

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.setObjectName("augmentationPanel")
        self.state = state
        self.render_count = 0  # how many times the preview rendered (the debounce test reads it)
        self.rotated: np.ndarray | None = None  # the rotated image now shown (float64, 28x28)
        self._batch_seed = 0
        self._stale = False  # a render was asked for while the tab was hidden: done when it is shown
        self._render_timer = QTimer(self, singleShot=True, interval=RENDER_DELAY_MS)
        self._render_timer.timeout.connect(self.render_preview)
        self._build()
        state.datasetChanged.connect(self._on_dataset_changed)
        state.imageSelected.connect(self._on_image_selected)
        state.configChanged.connect(self._on_config_changed)
        self._on_config_changed(state.config)
        self._on_dataset_changed(state.dataset)

    # --- construction --------------------------------------------------------------------------------------
    def _build(self) -> None:
        build_picker(self)
        pick, knobs = picker_rows(self)
        build_views(self)
        pick.addWidget(attach_export(self.preview_box, "rotation_preview", self._preview_data))

        strip_head = build_strip(self)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(pick)
        left_layout.addLayout(knobs)
        left_layout.addWidget(self.preview_box, 2)
        left_layout.addLayout(strip_head)
        left_layout.addWidget(self.strip_grid)
        left_layout.addWidget(self.batch_preview, 2)

        settings = build_settings(self)
        self.experiment = RotationExperiment(self.state, self)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(settings)
        right_layout.addWidget(self.experiment, 1)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([760, 440])
        self.caption = TabCaption(self, "augmentationCaption", describe(None))
        layout = QGridLayout(self)
        layout.addWidget(self.caption, 0, 0)
        layout.addWidget(splitter, 1, 0)

        self.angle_slider.valueChanged.connect(self._schedule_render)
        self.order_spin.valueChanged.connect(self._schedule_render)
        self.cval_spin.valueChanged.connect(self._schedule_render)
        self.index_spin.valueChanged.connect(self._on_index_changed)
        self.split_combo.currentIndexChanged.connect(self._on_split_changed)
        self.new_batch_button.clicked.connect(self.new_batch)
        self.mode_combo.currentIndexChanged.connect(self._publish_config)
        self.degrees_spin.valueChanged.connect(self._publish_config)
        self._update_angle_label()

    # --- the image ---------------------------------------------------------------------------------------------
    def _images(self) -> tuple[np.ndarray, np.ndarray] | None:
        dataset = self.state.dataset
        if dataset is None:
            return None
        if self.split_combo.currentData() == "test":
            return dataset.test_images, dataset.test_labels
        return dataset.train_images, dataset.train_labels

    def _on_dataset_changed(self, dataset) -> None:
        self.batch_preview.clear_cache()
        self._on_split_changed()
        self.new_batch()

    def _on_split_changed(self) -> None:
        arrays = self._images()
        n = len(arrays[0]) if arrays is not None else 0
        self.index_spin.blockSignals(True)
        self.index_spin.setRange(0, max(0, n - 1))
        self.index_spin.setEnabled(n > 0)
        self.index_spin.blockSignals(False)
        self.render_preview()
        self._render_strip()

    def _on_image_selected(self, split: str, index: int) -> None:
        self.split_combo.blockSignals(True)
        self.split_combo.setCurrentIndex(1 if split == "test" else 0)
        self.split_combo.blockSignals(False)
        self._on_split_changed()
        self.index_spin.setValue(index)
        self._on_index_changed()

    def _on_index_changed(self) -> None:
        self.render_preview()
        self._render_strip()

    def current_image(self) -> tuple[np.ndarray, int] | None:
        arrays = self._images()
        if arrays is None or not len(arrays[0]):
            return None
        index = min(self.index_spin.value(), len(arrays[0]) - 1)
        return arrays[0][index], int(arrays[1][index])

    # --- the preview -------------------------------------------------------------------------------------------
    def _schedule_render(self) -> None:
        # Restarting the single-shot timer on every move means a burst of moves renders once, at its last value.
        self._update_angle_label()
        self._render_timer.start()

    def _update_angle_label(self) -> None:
        self.angle_label.setText(f"{self.angle_slider.value():+d}°")

    def _hidden(self) -> bool:
        """True (and the renders owed) while the tab is not shown: a hidden tab draws nothing, so the app's start
        and every settings change skip three renders and SciPy's import until the tab is opened."""
        if self.isVisible():
            return False
        self._stale = True
        return True

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self.render_preview()
            self._render_strip()
            self.new_batch()

    def render_preview(self) -> None:
        """Original, rotated and difference at the slider's current angle, order and background."""
        self._render_timer.stop()
        if self._hidden():
            return
        self.render_count += 1
        picked = self.current_image()
        if picked is None:
            self.rotated = None
            for view in (self.original_view, self.rotated_view, self.difference_view):
                view.set_image(None)
            return
        image, label = picked
        angle, order, cval = self.angle_slider.value(), self.order_spin.value(), float(self.cval_spin.value())
        original = image.astype(np.float64)
        self.rotated = core_augment.rotate(original[None], angle, order=order, cval=cval)[0]
        names = self.state.dataset.class_names
        self.original_view.set_title(f"Original: #{self.index_spin.value()}, label {names[label]}")
        self.original_view.set_image(image)
        self.rotated_view.set_title(f"Rotated by {angle:+d}° (order {order})")
        self.rotated_view.set_image(self.rotated, levels=(0, 255))
        difference = self.rotated - original
        bound = max(1.0, float(np.abs(difference).max()))
        self.difference_view.set_image(difference, levels=(-bound, bound), cmap="CET-D1")

    def _preview_data(self):
        """Original, rotated and difference stacked (3, 28, 28), for the export's .npy."""
        if self.rotated is None:
            return None
        original = self.original_view.image().astype(np.float64)
        return np.stack([original, self.rotated, self.rotated - original])

    def _training_range(self) -> float:
        config = self.state.config
        degrees = float(getattr(config, "rotate", 0.0) or 0.0)
        return degrees if degrees > 0 and getattr(config, "augment", "off") != "off" else 0.0

    def _render_strip(self) -> None:
        if self._hidden():
            return
        picked = self.current_image()
        training = self._training_range()
        degrees = training or float(self.degrees_spin.value())
        where = "the training's range" if training else "Range ±N on the right; training rotation is off"
        self.strip_title.setText(f"At {STRIP_STEPS} angles from −{degrees:g}° to +{degrees:g}° ({where})")
        if picked is None:
            self.strip_grid.set_empty_message("Open a dataset to pick an image")
            self.strip_grid.set_images(np.zeros((0, *IMAGE_SHAPE), np.uint8))
            return
        angles = np.linspace(-degrees, degrees, STRIP_STEPS)
        turned = core_augment.rotate(np.repeat(picked[0][None].astype(np.float64), STRIP_STEPS, 0), angles)
        self.strip_grid.set_images(to_display(turned, 0, 255), [f"{a:+.1f}°" for a in angles])

    # --- the batch preview -------------------------------------------------------------------------------------
    def new_batch(self) -> None:
        """Draw a random batch of training records and augment it as the trainer does."""
        self._batch_seed += 1
        self.render_batch(np.random.default_rng(self._batch_seed))

    def render_batch(self, rng: np.random.Generator) -> None:
        if self._hidden():
            return
        self.batch_preview.render(self.state.dataset, self.state.config, rng)

    @property
    def batch(self) -> np.ndarray | None:
        """The augmented batch now shown (scaled floats, as the trainer trains on them)."""
        return self.batch_preview.batch

    # --- the training's augmentation setting ---------------------------------------------------------------------
    def _on_config_changed(self, config) -> None:
        """Show the shared configuration's augmentation; never publishes (that would loop with the control panel)."""
        enabled = config is not None
        self.mode_combo.setEnabled(enabled)
        self.degrees_spin.setEnabled(enabled)
        self.caption.setText(describe(config))
        if config is None:
            return
        mode = config.augment if config.augment in dict(MODES) else "off"
        for widget in (self.mode_combo, self.degrees_spin):
            widget.blockSignals(True)
        self.mode_combo.setCurrentIndex([key for key, _ in MODES].index(mode))
        if mode != "off" and config.rotate > 0:
            self.degrees_spin.setValue(round(config.rotate))
        self.degrees_spin.setEnabled(mode != "off")
        for widget in (self.mode_combo, self.degrees_spin):
            widget.blockSignals(False)
        self.config_note.setText(self.state.config_error)
        self._render_strip()
        self.new_batch()

    def _publish_config(self) -> None:
        config = self.state.config
        if config is None:
            return
        mode = self.mode_combo.currentData()
        rotate = float(self.degrees_spin.value()) if mode != "off" else 0.0
        self.degrees_spin.setEnabled(mode != "off")
        if (config.augment, float(config.rotate)) == (mode, rotate):
            return
        new_config = dataclasses.replace(config, augment=mode, rotate=rotate)
        self.state.set_config(new_config, self._error_of(config, new_config))

    def _error_of(self, old_config, new_config) -> str:
        """The new configuration's error. An error the old configuration itself does not explain (e.g. a
        control panel field that does not parse) belongs to another control, so it is kept."""
        try:
            new_config.validate()
        except ValueError as exc:
            return str(exc)
        try:
            old_config.validate()
        except ValueError:
            return ""  # the old error was in the config, and the new config fixed it
        return self.state.config_error


def main() -> int:
    """`python -m explorer.panels.augmentation [DATASET]`: the panel with MNIST (or the named dataset)."""
    import sys

    from core.datasets import load
    from core.training import TrainConfig
    from explorer.state import AppState

    app = QApplication.instance() or QApplication(sys.argv)
    state = AppState()
    state.set_dataset(load(sys.argv[1] if len(sys.argv) > 1 else "mnist"))
    state.set_config(TrainConfig(augment="random", rotate=10.0))
    panel = AugmentationPanel(state)
    panel.resize(1280, 820)
    panel.show()
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
