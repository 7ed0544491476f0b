"""What the weights look for: a 28x28 template per label, and the first hidden layer's units as a gallery.

A network without hidden layers scores label k by the dot product of the image with weight column k, so that
column is exactly what the label looks for. A deeper network is not linear, but dropping its nonlinearities
leaves the product W0 @ W1 @ ..., whose column k is the label's linearised template; the second view, the mean
input gradient over the test images of the label, is the nonlinear network's own answer to "which pixels would
make these images more of a k". Red raises the label's score, blue lowers it.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QSplitter, QStackedWidget, QVBoxLayout, QWidget

from core import insight
from core.convnet import is_convolutional
from core.readers import IMAGE_SHAPE, N_PIXELS
from explorer.export import attach_export
from explorer.jobs import JobRunner
from explorer.panels.conv_view import ConvView
from explorer.panels.conv_view import describe as conv_describe
from explorer.panels.unit_inspector import UnitInspector
from explorer.panels.weights_layout import GRADIENT, build_controls, build_templates_side, build_units_side
from explorer.widgets.tab_caption import TabCaption


def describe(model, label: str, by_strength: bool) -> str:
    """The tab's one line: what the two halves show, and how the units are ordered."""
    if model is None:
        return "Weights: the pixels each label and each first-layer unit look for (train a model to see them)."
    if len(model.network.weights) == 1:
        return "Weights: the pixels each label's score adds (red) or subtracts (blue); this network has no hidden layer."
    order = f"sorted by its link to {label}" if by_strength else "in unit order"
    return f"Weights: what each label looks for (left) and what each first-layer unit looks for, {order} (right)."


def compute_mean_gradients(model, images, labels) -> np.ndarray:
    """(classes, 784): each label's mean input gradient over its test images (runs in a worker)."""
    return insight.mean_input_gradients(model.network, model.scale(images), labels, len(model.classes))


def compute_templates(model) -> tuple:
    """The model with its linearised templates (classes, 784) and each first-hidden unit's strength per label
    (runs in a worker)."""
    return model, insight.linear_template(model.network), insight.unit_label_strength(model.network)


class WeightsPanel(QWidget):
    title = "Weights"  # the tab's name

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.setObjectName("weightsPanel")
        self.state = state
        self.model = None  # the model drawn now
        self._gallery_due = False  # the units gallery is to be drawn in the next turn of the event loop
        self.incoming = None  # the newest model asked for (drawn once its templates are computed)
        self.templates: np.ndarray | None = None  # (classes, 784) linearised templates
        self.gradients: np.ndarray | None = None  # (classes, 784) mean input gradients, computed on demand
        self.strength: np.ndarray | None = None  # (units, classes)
        self.label = 0
        self.unit: int | None = None
        self._deferred = False  # a model arrived while the tab was hidden; showEvent draws it
        self.job = JobRunner(self)
        self.job.done.connect(self._on_gradients)
        self.job.failed.connect(
            lambda text: self.status_label.setText(f"Could not compute the gradients: {text}")
        )
        self.templates_job = JobRunner(self)  # templates and unit strengths of each new model, off the GUI thread
        self.templates_job.done.connect(self._on_templates)
        self.templates_job.failed.connect(
            lambda text: self.status_label.setText(f"Could not compute the templates: {text}")
        )
        averaging = "Averaging input gradients over the test images…"
        self.job.busyChanged.connect(lambda busy: self.status_label.setText(averaging if busy else ""))

        controls = build_controls(self)

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(build_templates_side(self))
        splitter.addWidget(build_units_side(self))
        self.inspector = UnitInspector(state, self)  # the unit's top images and silencing (unit_inspector.py)
        splitter.addWidget(self.inspector)
        splitter.setStretchFactor(2, 1)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        self._attach_exports(controls)
        self.caption = TabCaption(self, "weightsCaption", describe(None, "", True))
        mlp_page = QWidget(self)  # the MLP's templates and units; a CNN's filters and maps take its place
        mlp_layout = QVBoxLayout(mlp_page)
        mlp_layout.setContentsMargins(0, 0, 0, 0)
        mlp_layout.addLayout(controls)
        mlp_layout.addWidget(splitter, 1)
        self.conv_view = ConvView(state, self)
        self.pages = QStackedWidget(self)
        self.pages.addWidget(mlp_page)
        self.pages.addWidget(self.conv_view)
        layout = QVBoxLayout(self)
        layout.addWidget(self.caption)
        layout.addWidget(self.pages, 1)
        self._connect_controls()
        state.modelChanged.connect(self.set_model)
        self.set_model(state.model)

    # --- the interface -------------------------------------------------------------------------------------
    @property
    def view(self) -> str:
        return self.view_combo.currentData()

    @property
    def busy(self) -> bool:
        busy_jobs = self.job.busy or self.templates_job.busy or self.gallery.busy or self.conv_view.busy
        return busy_jobs or self._gallery_due

    def shutdown(self) -> None:
        """Stop the workers before the window goes away (the main window calls this when it closes)."""
        self.job.shutdown()
        self.templates_job.shutdown()
        self.gallery.shutdown()
        self.conv_view.shutdown()

    def set_model(self, model) -> None:
        # self.model stays the model whose templates are drawn until the new one's arrive from the worker, so the
        # pictures, the label list and the gallery always belong to one model
        self.incoming = model
        self.gradients = None
        self.job.cancel()
        self.templates_job.cancel()
        conv = model is not None and is_convolutional(model.network)
        self.pages.setCurrentWidget(self.conv_view if conv else self.pages.widget(0))
        self.conv_view.set_model(model)  # it draws convolutional models only (explorer/panels/conv_view.py)
        if conv:
            self.caption.setText(conv_describe(model))
            model = self.incoming = None  # the MLP half is emptied below
        if model is not None and not self.isVisible():
            # A hidden tab need not redraw 512 units after every epoch (it would stall the GUI and slow training);
            # showEvent catches up with the newest model.
            self._deferred = True
            return
        self._deferred = False
        if model is None:
            self.model = None
            self.templates = self.strength = None
            self.label_combo.clear()
            self._refresh_templates()
            self._refresh_gallery(keep_caption=conv)
            return
        self.templates_job.submit(compute_templates, model)

    def _on_templates(self, result) -> None:
        model, templates, strength = result
        self.model, self.templates, self.strength = model, templates, strength
        names = [str(c) for c in model.classes]
        if [self.label_combo.itemText(i) for i in range(self.label_combo.count())] != names:
            self.label_combo.blockSignals(True)
            self.label_combo.clear()
            self.label_combo.addItems(names)
            self.label_combo.blockSignals(False)
        self.label = min(self.label, len(names) - 1)
        self.label_combo.blockSignals(True)  # the refreshes below draw the label once
        self.label_combo.setCurrentIndex(self.label)
        self.label_combo.blockSignals(False)
        deep = len(model.network.weights) > 1
        self.view_combo.setItemText(0, "Linearised template" if deep else "Weight column")
        self._refresh_templates()
        # the gallery in the next turn of the event loop: each half is a short stall, both at once a long one
        self._gallery_due = True  # busy until it is drawn: a test or automation must not read an empty gallery
        QTimer.singleShot(0, self, self._refresh_gallery)

    def set_label(self, label: int) -> None:
        self.label_combo.setCurrentIndex(int(label))  # -> _on_label_combo

    def select_unit(self, unit: int) -> None:
        if self.model is None or self.strength is None or not 0 <= unit < len(self.strength):
            return
        self.unit = int(unit)
        self.gallery.select(self.unit)
        self.inspector.follow_gallery(self.unit)
        weights = np.asarray(self.model.network.weights[0][:, unit], dtype=np.float64)
        self.unit_heatmap.set_data(weights.reshape(IMAGE_SHAPE))
        self.unit_heatmap.set_title(f"Unit {unit}: its {N_PIXELS} incoming weights")
        names = [str(c) for c in self.model.classes]
        links = self.strength[unit]
        top = np.argsort(-np.abs(links))[:5]
        via = "directly" if len(self.model.network.weights) == 2 else "through the linearised later layers"
        rows = "".join(
            f"<tr><td>{names[k]}</td><td align='right' style='color:{'#c0392b' if links[k] > 0 else '#2c5aa0'}'>"
            f"{links[k]:+.3f}</td></tr>"
            for k in top
        )
        self.unit_links.setText(
            f"<b>Unit {unit}</b> feeds the labels ({via}); strongest links:<table cellspacing=4>{rows}</table>"
            "<br>Positive: the unit's activity raises that label's score; negative: lowers it."
        )

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._deferred:
            self.set_model(self.incoming)

    # --- internals -----------------------------------------------------------------------------------------
    def _connect_controls(self) -> None:
        self.label_combo.currentIndexChanged.connect(self._on_label_combo)
        self.view_combo.currentIndexChanged.connect(lambda _i: self._refresh_templates())
        self.sort_combo.currentIndexChanged.connect(lambda _i: self._refresh_gallery())
        self.label_strip.tileClicked.connect(self.set_label)
        self.gallery.tileClicked.connect(self.select_unit)
        for key in range(10):  # keys 0-9 choose that label
            QShortcut(QKeySequence(str(key)), self, lambda k=key: self._key_label(k)).setContext(
                Qt.ShortcutContext.WidgetWithChildrenShortcut
            )

    def _key_label(self, label: int) -> None:
        if label < self.label_combo.count():
            self.set_label(label)

    def _on_label_combo(self, index: int) -> None:
        if index < 0:
            return
        self.label = index
        self.label_strip.select(index)
        self._show_label()
        self._refresh_gallery()

    def _current_maps(self) -> np.ndarray | None:
        if self.view == GRADIENT:
            return self.gradients
        return self.templates

    def _refresh_templates(self) -> None:
        if self.model is None:
            self.label_strip.set_tiles(None)
            self.heatmap.set_data(None)
            self.heatmap.set_title("")
            return
        if self.view == GRADIENT and self.gradients is None:
            self._request_gradients()
            if self.gradients is None:
                return
        maps = self._current_maps()
        names = [str(c) for c in self.model.classes]
        self.label_strip.set_tiles(maps.reshape(-1, *IMAGE_SHAPE), captions=names, shared_scale=True)
        self.label_strip.select(self.label)
        self._show_label()

    def _show_label(self) -> None:
        maps = self._current_maps()
        if self.model is None or maps is None:
            return
        name = self.model.classes[self.label]
        self.heatmap.set_data(maps[self.label].reshape(IMAGE_SHAPE))
        if self.view == GRADIENT:
            title = f"Mean input gradient of log p({name}) over the test images of {name}"
        elif len(self.model.network.weights) == 1:
            title = f"Weight column of {name}: the image is scored by its dot product with this"
        else:
            product = " @ ".join(f"W{i}" for i in range(len(self.model.network.weights)))
            title = f"Linearised template of {name}: column {self.label} of {product}"
        self.heatmap.set_title(title)

    def _request_gradients(self) -> None:
        dataset = self.state.dataset
        model = self.model
        if dataset is None or not getattr(dataset, "n_test", len(dataset.test_labels)):
            self.heatmap.set_data(None)
            self.heatmap.set_empty_text("The mean input gradient needs test images; this dataset has none.")
            return
        if dataset.name != model.dataset or len(dataset.class_names) != len(model.classes):
            self.heatmap.set_data(None)
            self.heatmap.set_empty_text(
                f"This model was trained on {model.dataset}; open that dataset to average over its test images."
            )
            return
        self.heatmap.set_empty_text("Averaging input gradients over the test images…")
        self.heatmap.set_data(None)
        self.label_strip.set_tiles(None)
        self.job.submit(compute_mean_gradients, model, dataset.test_images, dataset.test_labels)

    def _on_gradients(self, gradients: np.ndarray) -> None:
        self.gradients = gradients
        if self.view == GRADIENT:
            self._refresh_templates()

    def _refresh_gallery(self, keep_caption: bool = False) -> None:
        self._gallery_due = False
        model, strength = self.model, self.strength
        label = str(model.classes[self.label]) if model is not None else ""
        if not keep_caption:
            self.caption.setText(describe(model, label, self.sort_combo.currentData() == "strength"))
        if model is None or strength is None:
            self.gallery.set_tiles(None)
            self.units_title.setText("")
            self.unit_heatmap.set_data(None)
            self.unit_links.setText("")
            return
        if len(strength) == 0:
            self.gallery.set_tiles(None)
            self.gallery.set_empty_text(
                "This network has no hidden layers: its only weights are the label templates on the left."
            )
            self.units_title.setText("")
            self.unit_heatmap.set_data(None)
            self.unit_links.setText("")
            return
        weights = np.asarray(model.network.weights[0], dtype=np.float64).T.reshape(-1, *IMAGE_SHAPE)
        name = model.classes[self.label]
        if self.sort_combo.currentData() == "strength":
            order = np.argsort(-strength[:, self.label], kind="stable")
            how = f"sorted by how strongly each feeds {name} (strongest first, left to right, top to bottom)"
        else:
            order = np.arange(len(strength))
            how = "in unit order"
        self.gallery.set_tiles(weights, order=order)
        self.units_title.setText(f"First hidden layer: {len(strength)} units, {how}")
        self.select_unit(int(order[0]) if self.unit is None or self.unit >= len(strength) else self.unit)

    def _attach_exports(self, controls) -> None:
        for widget, basename, data_fn, text in (
            (self.heatmap, "weights_selected", lambda: self.heatmap.data(), "Export template"),
            (self.gallery, "weights_units", self._unit_data, "Export units"),
            (self.unit_heatmap, "weights_unit", lambda: self.unit_heatmap.data(), "Export unit"),
        ):
            button = attach_export(widget, basename, data_fn)
            button.setText(text)
            controls.addWidget(button)

    def _unit_data(self):
        if self.model is None or self.strength is None or not len(self.strength):
            return None
        return np.asarray(self.model.network.weights[0], dtype=np.float64).T.reshape(-1, *IMAGE_SHAPE)


if __name__ == "__main__":
    from explorer.panels._insight_demo import show_panel

    show_panel(WeightsPanel, recipe="keras-dense512")
