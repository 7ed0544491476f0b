"""The dataset browser: every image of a split as a thumbnail, one image large, class counts and class means.

With a model (state.model) the panel also marks each thumbnail right or wrong, offers "misclassified only", and
shows the network's ten probabilities for the image in the large view. Whole-split work (predictions for 60,000
images, the class means) runs on a `JobRunner`; a result that arrives after the model, dataset or split has
changed again is dropped, and a stale prediction stops at its next chunk.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from core.readers import IMAGE_SHAPE
from explorer.export import attach_export
from explorer.jobs import JobRunner
from explorer.widgets.class_stats import ClassStats
from explorer.widgets.image_grid import ImageGrid
from explorer.widgets.image_view import ImageView
from explorer.widgets.prob_bars import ProbabilityBars, is_probabilities, output_text
from explorer.widgets.tab_caption import TabCaption

SPLITS = (("train", "Training set"), ("test", "Test set"))
NO_MODEL_TEXT = "Train a model to see what the network predicts for this image"
CLICK_TEXT = "Click an image to see what the network predicts for it"


def describe(split: str, model) -> str:
    """The tab's one line: what it shows for this split, and what the marks mean once a model exists."""
    what = f"Dataset: every {'training' if split == 'train' else 'test'} image and its label"
    if model is None:
        return what + "; train a model to see which ones the network gets right."
    return what + "; green corner: the network gets it right, red: it gets it wrong."


def split_arrays(dataset, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The images and labels of one split ("train" or "test")."""
    if split == "test":
        return dataset.test_images, dataset.test_labels
    return dataset.train_images, dataset.train_labels


def predict_labels(model, images: np.ndarray, progress, chunk: int = 5000) -> np.ndarray:
    """The model's predicted label for every image. It reports after every chunk, so a stale job (the model
    changed again) is abandoned there (the report raises `explorer.jobs.Cancelled`)."""
    labels = np.zeros(len(images), np.int64)
    for start in range(0, len(images), chunk):
        progress(start, len(images), "predicting")
        labels[start : start + chunk] = np.argmax(model.predict_proba(images[start : start + chunk]), axis=1)
    return labels


class DatasetPanel(QWidget):
    """Browse a split, filter it by label or by the model's mistakes, and look at any image closely."""

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.setObjectName("datasetPanel")
        self.state = state
        self.split = "train"
        self.predictions: np.ndarray | None = None  # predicted labels for the current split, or None
        self.current_index: int | None = None
        # One whole-split prediction at a time; cancelled whenever the dataset, split or model changes
        self.predictions_job = JobRunner(self, name="datasetPredictionsJob")
        self.predictions_job.done.connect(self._on_predictions)
        self.predictions_job.failed.connect(self._on_prediction_error)
        self.predictions_job.busyChanged.connect(lambda busy: busy or self._update_count_label())
        self._prediction_deferred = False
        self._build()
        state.datasetChanged.connect(self._on_dataset_changed)
        state.modelChanged.connect(self._on_model_changed)
        state.imageSelected.connect(self._on_image_selected)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.predictions_job.cancel)
        self._on_dataset_changed(state.dataset)

    # --- construction --------------------------------------------------------------------------------------
    def _build(self) -> None:
        controls = self._build_controls()
        self.grid = ImageGrid(self)
        self.grid.setObjectName("datasetGrid")
        self.grid.setToolTip(
            "Click an image (or move with the arrow keys) to see it large with the network's prediction"
        )
        detail = self._build_detail()
        self.stats = ClassStats(self)
        # Kept as attributes: tests and automation reach the plot and the grid through the panel.
        self.stats_tabs, self.counts_plot, self.counts_bars = self.stats, self.stats.counts_plot, self.stats.counts_bars
        self.means_grid = self.stats.means_grid

        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(detail)
        right.addWidget(self.stats_tabs)
        right.setSizes([520, 260])
        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(self.grid)
        main.addWidget(right)
        main.setStretchFactor(0, 3)
        main.setStretchFactor(1, 2)
        main.setSizes([620, 380])
        self.caption = TabCaption(self, "datasetCaption", describe(self.split, None))
        layout = QVBoxLayout(self)
        layout.addWidget(self.caption)
        layout.addLayout(controls)
        layout.addWidget(main, 1)

        self.split_combo.currentIndexChanged.connect(self._on_split_changed)
        self.label_combo.currentIndexChanged.connect(self._apply_filter)
        self.misclassified_check.toggled.connect(self._apply_filter)
        self.grid.imageClicked.connect(self._on_image_clicked)
        self.stats.classClicked.connect(lambda label: self.label_combo.setCurrentIndex(label + 1))

    def _build_controls(self) -> QHBoxLayout:
        """The split and label choices, "misclassified only" and the count of images shown."""
        self.split_combo = QComboBox(objectName="splitCombo")
        for key, text in SPLITS:
            self.split_combo.addItem(text, key)
        self.split_combo.setToolTip(
            "Which split to browse: the training set (what the network learns from) or the test set"
        )
        self.label_combo = QComboBox(objectName="labelFilterCombo")
        self.label_combo.setToolTip("Show only the images of one class; the number is how many images it has")
        self.label_combo.setMinimumContentsLength(16)
        self.misclassified_check = QCheckBox("&Misclassified only", objectName="misclassifiedCheck")
        self.misclassified_check.setToolTip(
            "Show only the images the current model gets wrong (needs a trained model; the red corner marks them)"
        )
        self.count_label = QLabel(objectName="datasetCountLabel", wordWrap=True)
        # It takes the row's free width and wraps there: its longest text ("... (the model was trained on
        # fashion-mnist)") asked for more than a 1400 px window had and widened the window past the screen.
        self.count_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.count_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        split_label = QLabel("&Split:")
        split_label.setBuddy(self.split_combo)
        label_label = QLabel("&Label:")
        label_label.setBuddy(self.label_combo)
        controls = QHBoxLayout()
        for widget in (split_label, self.split_combo, label_label, self.label_combo, self.misclassified_check):
            controls.addWidget(widget)
        controls.addWidget(self.count_label, 1)
        return controls

    def _build_detail(self) -> QWidget:
        """The chosen image large, with its caption, the network's prediction and its probabilities."""
        self.image_view = ImageView(self)
        self.image_view.setObjectName("datasetImageView")
        self.image_view.set_empty_text("Click an image to see it here, pixel by pixel")
        self.image_caption = QLabel(objectName="datasetImageCaption")
        self.image_caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image_caption.setStyleSheet("font-weight: bold;")
        self.prediction_label = QLabel(objectName="datasetPredictionLabel")
        self.prediction_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.prob_bars = ProbabilityBars(self)
        self.prob_bars.setObjectName("datasetProbBars")
        self.prob_bars.set_empty_text(NO_MODEL_TEXT)
        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        caption_row = QHBoxLayout()
        caption_row.addWidget(self.image_caption, 1)
        caption_row.addWidget(attach_export(self.image_view, "dataset_image", self._shown_image))
        detail_layout.addLayout(caption_row)
        detail_layout.addWidget(self.image_view, 3)
        detail_layout.addWidget(self.prediction_label)
        detail_layout.addWidget(self.prob_bars, 2)
        return detail

    # --- the dataset and the split ---------------------------------------------------------------------------
    def _on_dataset_changed(self, dataset) -> None:
        self.predictions_job.cancel()
        self.predictions = None
        self.current_index = None
        self.label_combo.blockSignals(True)
        self.label_combo.clear()
        self.label_combo.addItem("All labels", -1)
        for c, name in enumerate(getattr(dataset, "class_names", ())):
            self.label_combo.addItem(str(name), c)
        self.label_combo.blockSignals(False)
        self._load_split()

    def _describe(self) -> None:
        model = self.state.model
        self.caption.setText(describe(self.split, model))
        # with a model, the empty bars ask for a click, not for training
        self.prob_bars.set_empty_text(NO_MODEL_TEXT if model is None else CLICK_TEXT)

    def _on_split_changed(self) -> None:
        self.split = self.split_combo.currentData()
        self._describe()
        self.predictions_job.cancel()
        self.predictions = None
        self.current_index = None
        self._load_split()

    def _load_split(self) -> None:
        """Show the current split from scratch: thumbnails, counts, means (in a worker), predictions (in a worker)."""
        dataset = self.state.dataset
        self._show_image(None)
        if dataset is None:
            self.grid.set_empty_message("Open a dataset (File ▸ Open dataset) to browse its images")
            self.grid.set_images(np.zeros((0, *IMAGE_SHAPE), np.uint8))
            self.stats.set_split(np.zeros((0, *IMAGE_SHAPE), np.uint8), np.zeros(0, np.uint8), [])
            self._update_count_label()
            return
        images, labels = split_arrays(dataset, self.split)
        names = [str(n) for n in dataset.class_names]
        split_text = dict(SPLITS)[self.split].lower()
        self.grid.set_empty_message(
            f"The {split_text} of {dataset.name} is empty: it holds no images. Pick the other split, or open a "
            "dataset that has this one."
        )
        captions = [f"{names[label]}\n#{i}" for i, label in enumerate(labels.tolist())]
        self.grid.fit_caption(max([*names, f"#{len(labels)}"], key=len))
        self.grid.set_images(images, captions)
        self.stats.set_split(images, labels, names)
        for c, count in enumerate(self.stats.counts):
            self.label_combo.setItemText(c + 1, f"{names[c]} ({count:,})")
        self._apply_filter()
        self._request_predictions()

    def _shown_image(self):
        return self.image_view.image()

    # --- filtering -------------------------------------------------------------------------------------------
    def _apply_filter(self) -> None:
        dataset = self.state.dataset
        if dataset is None:
            return
        _, labels = split_arrays(dataset, self.split)
        keep = np.ones(len(labels), dtype=bool)
        label = self.label_combo.currentData()
        if label is not None and label >= 0:
            keep &= labels == label
        wrong_only = self.misclassified_check.isChecked() and self.predictions is not None
        if wrong_only:
            keep &= self.predictions != labels
        indices = np.flatnonzero(keep)
        shown = self.grid.shown_indices()
        if len(shown) != len(indices) or not np.array_equal(shown, indices):
            # only a real change resets the view: re-laying out 60,000 thumbnails (and jumping back to the top)
            # after every epoch's predictions stalled the GUI and lost the user's place
            self.grid.set_indices(indices)
        if len(labels) and not keep.any():
            self.grid.set_empty_message(
                "The model gets every one of these images right."
                if wrong_only
                else "No images with this label."
            )
        self._update_count_label()

    def _update_count_label(self) -> None:
        dataset = self.state.dataset
        total = len(split_arrays(dataset, self.split)[1]) if dataset is not None else 0
        text = f"Showing {self.grid.count():,} of {total:,} images"
        if self.predictions is not None and total:
            _, labels = split_arrays(dataset, self.split)
            accuracy = float(np.mean(self.predictions == labels))
            text += f" · model accuracy on this split {100 * accuracy:.2f}%"
            trained_on = getattr(self.state.model, "dataset", dataset.name)
            if trained_on != dataset.name:
                text += f" (the model was trained on {trained_on})"
        self.count_label.setText(text)
        self.count_label.setToolTip(text)

    # --- predictions ---------------------------------------------------------------------------------------
    def _on_model_changed(self, model) -> None:
        self._describe()
        self.predictions_job.cancel()
        self.predictions = None
        self.grid.set_marks(None)
        self._refresh_misclassified_check()
        self._request_predictions()
        if self.current_index is not None:
            self._show_image(self.current_index)

    def _request_predictions(self) -> None:
        """Predict the whole split for the current model; one job at a time, only the latest request runs."""
        if self.state.model is None or self.state.dataset is None:
            self._refresh_misclassified_check()
            return
        if not self.isVisible():
            # A hidden tab need not predict 60,000 images after every epoch (it would slow training on a small
            # machine); showEvent catches up.
            self._prediction_deferred = True
            return
        images, _ = split_arrays(self.state.dataset, self.split)
        if not len(images):
            return
        self.count_label.setText(self.count_label.text().split(" · ")[0] + " · predicting…")
        self.predictions_job.submit_with_progress(predict_labels, self.state.model, images)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._prediction_deferred:
            self._prediction_deferred = False
            self._request_predictions()

    def shutdown(self) -> None:
        """Stop the prediction job before the window goes away (the main window calls this when it closes)."""
        self.predictions_job.shutdown()

    def _on_predictions(self, predictions: np.ndarray) -> None:
        _, labels = split_arrays(self.state.dataset, self.split)
        self.predictions = predictions
        self.grid.set_marks(predictions == labels)
        self._refresh_misclassified_check()
        self._apply_filter()

    def _on_prediction_error(self, text: str) -> None:
        self.state.show_status(f"Could not predict the dataset with this model: {text}")

    def _refresh_misclassified_check(self) -> None:
        ready = self.predictions is not None
        self.misclassified_check.setEnabled(ready)
        if not ready and self.misclassified_check.isChecked():
            self._apply_filter()

    # --- one image large ---------------------------------------------------------------------------------------
    def _on_image_clicked(self, index: int) -> None:
        self._show_image(index)
        self.state.select_image(self.split, index)

    def _on_image_selected(self, split: str, index: int) -> None:
        """Another part of the app picked an image: show it (switching split if needed)."""
        if split == self.split and index == self.current_index:
            return
        if split != self.split:
            self.split_combo.setCurrentIndex([key for key, _ in SPLITS].index(split))
        self._show_image(index)

    def _show_image(self, index: int | None) -> None:
        dataset = self.state.dataset
        images, labels = split_arrays(dataset, self.split) if dataset is not None else (None, None)
        if index is None or images is None or not 0 <= index < len(images):
            self.current_index = None
            self.image_view.set_image(None)
            self.image_caption.setText("")
            self.prediction_label.setText("")
            self.prob_bars.set_probabilities(None, [])
            return
        self.current_index = int(index)
        names = [str(n) for n in dataset.class_names]
        label = int(labels[index])
        self.image_view.set_image(images[index])
        self.image_caption.setText(f"{dict(SPLITS)[self.split]} #{index}: label {names[label]}")
        model = self.state.model
        if model is None:
            self.prediction_label.setText("")
            self.prob_bars.set_probabilities(None, names)
            return
        probs = model.predict_proba(images[index][None])[0]  # one image: well under a millisecond
        if len(probs) != len(names):  # a model of another dataset: name its outputs its own way
            names = [str(n) for n in model.classes]
        top = int(np.argmax(probs))
        verdict = "right" if top == label else "wrong"
        as_probability = is_probabilities(model)
        self.prediction_label.setText(
            f"The network says {names[top]} ({output_text(probs[top], as_probability)}): {verdict}"
        )
        self.prediction_label.setStyleSheet(f"color: {'#2ca02c' if top == label else '#d62728'};")
        self.prob_bars.set_probabilities(probs, names, true_label=label, activations=not as_probability)


if __name__ == "__main__":  # `python -m explorer.panels.dataset`: the panel with MNIST and a short real run
    from explorer.panels._insight_demo import show_panel

    show_panel(DatasetPanel, "keras-dense512", epochs=3, train_limit=5000)
