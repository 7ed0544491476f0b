"""The Weights tab for a convolutional network: each conv layer's filters, and the feature maps of one image.

A CNN's first-layer weights are not 784-pixel templates but small k x k filters slid over the image; what they do
shows in their feature maps, the image seen through each filter. The left half shows the filters of the conv
layer chosen in the combo as a gallery of small heatmaps (a layer fed by many channels shows its filters' weights
on one input channel, chosen in the spin box), the clicked filter large with its colour bar. The right half shows
the feature maps of one image: the test image of the spin box, or the image picked in the Dataset tab
(`state.imageSelected`).

The view follows `state.modelChanged`, so it changes at every epoch's end while a run trains and whenever the
epoch slider moves. The numbers (`core.convnet.conv_filters`, `feature_maps`) are computed by a `JobRunner` off
the GUI thread, at most one job at a time with only the newest request kept, and not at all while the tab is
hidden (showEvent catches up); a short timer merges a burst of model changes into one job.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QSplitter, QVBoxLayout, QWidget

from core.convnet import conv_filters, is_convolutional
from explorer.conv_figures import image_maps
from explorer.export import attach_export
from explorer.jobs import JobRunner
from explorer.widgets.feature_maps import FeatureMapsView
from explorer.widgets.heatmap import Heatmap
from explorer.widgets.image_view import ImageView
from explorer.widgets.weight_gallery import WeightGallery

TILE_SIDE = 24  # gallery pixels per filter side
REFRESH_MS = 150  # model changes closer together than this (short epochs, a dragged slider) make one job
CAPTION = (
    "Weights: the filters each conv layer slides over the image (left; red weights add, blue subtract) and the "
    "feature maps they make of one image (right): where each filter finds its pattern."
)


def describe(model) -> str:
    """The Weights tab's caption for a convolutional model."""
    return CAPTION if model is not None else "Weights: train a model to see them."


def compute_view(model, image_uint8: np.ndarray | None) -> dict:
    """The job: every conv layer's filters (F, C, k, k) and, for an image, its feature maps (any thread)."""
    filters = [np.asarray(f, dtype=np.float64) for f in conv_filters(model.network)]
    maps = image_maps(model, image_uint8) if image_uint8 is not None else None
    return {"model": model, "filters": filters, "maps": maps, "image": image_uint8}


def enlarge(tiles: np.ndarray) -> np.ndarray:
    """(N, k, k) filters with each weight a square of about TILE_SIDE / k pixels: the gallery's gaps and frame
    are a pixel or two wide, which would swamp a 3 x 3 tile."""
    factor = max(1, TILE_SIDE // tiles.shape[-1])
    return np.repeat(np.repeat(tiles, factor, axis=1), factor, axis=2)


def layer_text(index: int, filters: np.ndarray) -> str:
    """'conv 1: 32 filters 3×3 on 1 channel'."""
    n, channels, k, _ = filters.shape
    return f"conv {index + 1}: {n} filters {k}×{k} on {channels} channel{'s' if channels != 1 else ''}"


class ConvView(QWidget):
    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.setObjectName("convView")
        self.state = state
        self.model = None  # the model drawn now
        self.incoming = None  # the newest convolutional model asked for
        self.filters: list[np.ndarray] = []  # per conv layer (F, C, k, k), of self.model
        self.maps: list[tuple[str, np.ndarray]] | None = None  # the image's (name, (C, H, W)) per layer
        self.image: np.ndarray | None = None  # the uint8 28x28 image the maps are of
        self.source: tuple[str, int] = ("test", 0)  # the spin box's test image or the Dataset tab's pick
        self.filter_index = 0
        self._deferred = False
        self.job = JobRunner(self, name="convViewJob")
        self.job.done.connect(self._on_result)
        self.job.failed.connect(
            lambda text: self.status_label.setText(f"Could not compute the filters: {text}")
        )
        self._timer = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self._timer.timeout.connect(self._submit)
        self._build()
        self._connect()
        state.imageSelected.connect(self._on_image_selected)
        state.datasetChanged.connect(lambda _d: self._on_dataset())
        self._on_dataset()

    # --- layout ----------------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.layer_combo = QComboBox(
            self, objectName="convLayerCombo", toolTip="The conv layer whose filters are shown"
        )
        self.layer_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.channel_spin = QSpinBox(self, objectName="convChannelSpin")
        self.channel_spin.setToolTip(
            "A filter of a deeper layer has one k×k slice per channel of the layer below; this picks the slice shown"
        )
        self.image_spin = QSpinBox(self, objectName="convImageSpin", keyboardTracking=False)
        self.image_spin.setToolTip(
            "The test image whose feature maps are shown (or pick any image in the Dataset tab)"
        )
        self.status_label = QLabel(self, objectName="convStatusLabel", wordWrap=True)
        self.gallery = WeightGallery(self)
        self.gallery.setObjectName("convFilterGallery")
        self.gallery.setToolTip(
            "Every filter of the chosen layer, each on its own colour scale; click one to see it large"
        )
        self.gallery.set_empty_text("Train a convolutional network to see its filters.")
        self.filter_heatmap = Heatmap(self)
        self.filter_heatmap.setObjectName("convFilterHeatmap")
        self.filter_heatmap.set_empty_text("Click a filter to see its weights large.")
        self.input_view = ImageView(self, title="Test image 0")
        self.input_view.setObjectName("convInputView")
        self.input_view.setMaximumHeight(200)
        self.feature_view = FeatureMapsView(self, "convFeatureMaps", title="Feature maps")
        self._lay_out()

    def _lay_out(self) -> None:
        row = QHBoxLayout()
        for text, widget in (("Filters of", self.layer_combo), ("input channel", self.channel_spin),
                             ("Feature maps of test image", self.image_spin)):  # fmt: skip
            row.addWidget(QLabel(text, self))
            row.addWidget(widget)
            row.addSpacing(8)
        row.addWidget(self.status_label, 1)
        left, right = QWidget(self), QWidget(self)
        left_layout, right_layout = QVBoxLayout(left), QVBoxLayout(right)
        for layout in (left_layout, right_layout):
            layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.gallery, 3)
        left_layout.addWidget(self.filter_heatmap, 2)
        right_layout.addWidget(self.input_view, 1)
        right_layout.addWidget(self.feature_view, 3)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(left)
        splitter.addWidget(right)
        buttons = QHBoxLayout()
        for widget, basename, data_fn, text in (
            (self.gallery, "filters", self.shown_filters, "Export filters"),
            (self.feature_view.gallery, "feature_maps", self.feature_view.shown_maps, "Export feature maps"),
        ):
            button = attach_export(widget, basename, data_fn)
            button.setText(text)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(splitter, 1)
        layout.addLayout(buttons)

    def _connect(self) -> None:
        self.layer_combo.currentIndexChanged.connect(lambda _i: self._show_filters())
        self.channel_spin.valueChanged.connect(lambda _v: self._show_filters())
        self.gallery.tileClicked.connect(self.select_filter)
        self.image_spin.valueChanged.connect(lambda v: self.choose_image("test", v))

    # --- the interface -------------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.job.busy or self._timer.isActive() or self.gallery.busy or self.feature_view.gallery.busy

    def shutdown(self) -> None:
        self._timer.stop()
        self.job.shutdown()
        self.gallery.shutdown()
        self.feature_view.gallery.shutdown()

    def set_model(self, model) -> None:
        """Draw `model` (a convolutional one; anything else empties the view)."""
        self.incoming = model if model is not None and is_convolutional(model.network) else None
        if self.incoming is None:
            self._timer.stop()
            self.job.cancel()
            self._on_result({"model": None, "filters": [], "maps": None, "image": None})
            return
        if not self.isVisible():
            self._deferred = True  # a hidden tab does no work for every epoch; showEvent catches up
            return
        self._schedule()

    def choose_image(self, split: str, index: int) -> None:
        """Show the feature maps of image `index` of the `split` ("train" | "test")."""
        self.source = (split, int(index))
        if split == "test" and self.image_spin.value() != index:
            self.image_spin.blockSignals(True)
            self.image_spin.setValue(int(index))
            self.image_spin.blockSignals(False)
        if self.incoming is not None:
            self._schedule()

    def shown_filters(self) -> np.ndarray | None:
        """The (F, k, k) weights the gallery shows: the chosen layer's filters on the chosen input channel."""
        layer = self.layer_combo.currentIndex()
        if not self.filters or not 0 <= layer < len(self.filters):
            return None
        channel = min(self.channel_spin.value(), self.filters[layer].shape[1] - 1)
        return self.filters[layer][:, channel]

    def select_filter(self, index: int) -> None:
        tiles = self.shown_filters()
        if tiles is None or not 0 <= index < len(tiles):
            return
        self.filter_index = int(index)
        self.gallery.select(self.filter_index)
        self.filter_heatmap.set_data(tiles[index])
        k = tiles.shape[-1]
        channel = f", input channel {self.channel_spin.value()}" if self.channel_spin.maximum() > 0 else ""
        self.filter_heatmap.set_title(
            f"Filter {index} of conv {self.layer_combo.currentIndex() + 1}: its {k}×{k} weights{channel}"
        )

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._deferred:
            self._deferred = False
            self._schedule()

    # --- internals -----------------------------------------------------------------------------------------
    def _schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def _current_image(self) -> tuple[np.ndarray | None, str]:
        """The chosen image (uint8 28x28) and its title, or None and why there is none."""
        dataset = self.state.dataset
        if dataset is None:
            return None, "Open a dataset to see the feature maps of its images."
        split, index = self.source
        images = dataset.train_images if split == "train" else dataset.test_images
        labels = dataset.train_labels if split == "train" else dataset.test_labels
        if images is None or not 0 <= index < len(images):
            return None, f"The dataset has no {split} image {index}."
        names = [str(n) for n in dataset.class_names]
        origin = " (picked in the Dataset tab)" if split == "train" else ""
        return images[index], f"{split.capitalize()} image {index:,}: {names[int(labels[index])]}{origin}"

    def _submit(self) -> None:
        model = self.incoming
        if model is None:
            return
        image, title = self._current_image()
        self.input_view.set_image(image)
        self.input_view.set_title(title if image is not None else "")
        if image is None:
            self.input_view.set_empty_text(title)
        self.job.submit(compute_view, model, None if image is None else np.array(image))

    def _on_dataset(self) -> None:
        dataset = self.state.dataset
        count = len(dataset.test_images) if dataset is not None and dataset.test_images is not None else 0
        self.image_spin.blockSignals(True)
        self.image_spin.setRange(0, max(0, count - 1))
        self.image_spin.blockSignals(False)
        self.image_spin.setEnabled(count > 0)
        if self.incoming is not None:
            self._schedule()

    def _on_image_selected(self, split: str, index: int) -> None:
        self.choose_image(split, index)

    def _on_result(self, result: dict) -> None:
        self.model, self.filters, self.maps = result["model"], result["filters"], result["maps"]
        self.status_label.setText("")  # an earlier failure is over
        self.image = result["image"]
        names = [layer_text(i, f) for i, f in enumerate(self.filters)]
        if [self.layer_combo.itemText(i) for i in range(self.layer_combo.count())] != names:
            current = max(0, self.layer_combo.currentIndex())
            self.layer_combo.blockSignals(True)
            self.layer_combo.clear()
            self.layer_combo.addItems(names)
            self.layer_combo.setCurrentIndex(min(current, len(names) - 1))
            self.layer_combo.blockSignals(False)
        self._show_filters()
        empty = "Open a dataset to see the feature maps of its images." if self.model is not None else ""
        self.feature_view.set_maps(
            self.maps, empty or "Train a convolutional network to see its feature maps."
        )
        self.feature_view.title_label.setText("What each filter finds in this image" if self.maps else "")

    def _show_filters(self) -> None:
        layer = self.layer_combo.currentIndex()
        channels = self.filters[layer].shape[1] if self.filters and 0 <= layer < len(self.filters) else 1
        self.channel_spin.blockSignals(True)
        self.channel_spin.setRange(0, channels - 1)
        self.channel_spin.blockSignals(False)
        self.channel_spin.setEnabled(channels > 1)
        tiles = self.shown_filters()
        self.gallery.set_tiles(None if tiles is None else enlarge(tiles))
        if tiles is None:
            self.filter_heatmap.set_data(None)
            self.filter_heatmap.set_title("")
            return
        self.select_filter(min(self.filter_index, len(tiles) - 1))
