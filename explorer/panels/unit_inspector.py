"""What a hidden unit answers to, and what the network loses without it: a part of the Weights tab.

For the chosen unit (a layer and a number; clicking a unit in the Weights tab's gallery chooses it) it shows the 16
test images with the highest activation, and a switch that silences the unit, or a typed set of units of the same
layer, and shows at once what the network loses: each class's test accuracy before and after, and every digit
whose answer changes. The numbers come from core/units.py. Silencing is a what-if: it runs on a copy of the
network in a worker, so the run's saved weights and the other tabs never see it.

The expensive part is one forward pass of the test set per model and layer (scaled inputs, every unit's activation
and the whole network's answers, in a worker); choosing another unit of that layer then only sorts 10,000 numbers
on the GUI thread. Each silencing is one more forward pass, in a second worker that keeps only the newest request.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QSplitter, QTableWidgetItem, QVBoxLayout, QWidget

from core import units
from core.readers import IMAGE_SHAPE
from explorer.export import attach_export
from explorer.jobs import JobRunner
from explorer.panels.unit_inspector_layout import build_chooser, build_loss, build_silence, build_top

LOSS_COLOUR, GAIN_COLOUR = QColor("#c0392b"), QColor("#2ca02c")


@dataclass
class Prepared:
    """One model's test set seen from one hidden layer (computed in a worker)."""

    model: object
    layer: int
    x: np.ndarray  # (N, 784) the scaled test images
    activations: np.ndarray  # (N, units) of the layer
    predicted: np.ndarray  # (N,) the whole network's answers


def prepare(model, images, layer: int) -> Prepared:
    """The job: the scaled test images, the layer's activations and the whole network's answers."""
    x = model.scale(images)
    net = model.network
    return Prepared(
        model, layer, x, units.hidden_activations(net, x, layer), units.forward(net, x).argmax(axis=1)
    )


def silence(prepared: Prepared, labels, chosen: list[tuple[int, int]]):
    """The job: what the network loses with `chosen` silenced (a core.units.SilenceEffect)."""
    model = prepared.model
    return units.silence_effect(
        model.network, prepared.x, labels, chosen, len(model.classes), predicted_before=prepared.predicted
    )


def model_problem(model, dataset) -> str:
    """Why the inspector cannot show this model's units ("" when it can)."""
    if model is None:
        return "Train a model to see what its hidden units answer to."
    reason = units.applies(model.network)
    if reason:
        return reason
    if dataset is None or not len(dataset.test_labels):
        return "The unit inspector needs test images; this dataset has none."
    if dataset.name != model.dataset or len(dataset.class_names) != len(model.classes):
        return f"This model was trained on {model.dataset}; open that dataset to see its units at work."
    return ""


class UnitInspector(QWidget):
    """Follows state.modelChanged (the epoch slider) and `set_unit`, called by the Weights tab's gallery."""

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.setObjectName("unitInspector")
        self.state = state
        self.layer, self.unit = 0, 0
        self.prepared: Prepared | None = None
        self.effect = None  # the core.units.SilenceEffect shown, or None
        self.top: tuple[np.ndarray, np.ndarray] | None = None  # indices, activations of the unit shown
        self._incoming = None  # the newest model, prepared when the inspector is visible
        self._deferred = False
        self._gallery_unit: int | None = None  # the unit the Weights tab's gallery chose last
        self.prepare_job = JobRunner(self, name="unitPrepareJob")
        self.prepare_job.done.connect(self._on_prepared)
        self.prepare_job.failed.connect(
            lambda text: self.top_title.setText(f"Could not compute the units: {text}")
        )
        self.silence_job = JobRunner(self, name="unitSilenceJob")
        self.silence_job.done.connect(self._on_effect)
        self.silence_job.failed.connect(lambda text: self.loss_summary.setText(f"Could not silence: {text}"))
        self.silence_job.busyChanged.connect(self._on_silence_busy)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(build_chooser(self))
        parts = QSplitter(Qt.Orientation.Vertical, self)
        parts.setObjectName("unitInspectorSplitter")
        parts.addWidget(build_top(self))
        lower = QWidget(self)
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addLayout(build_silence(self))
        lower_layout.addWidget(build_loss(self), 1)
        parts.addWidget(lower)
        parts.setStretchFactor(0, 2)
        parts.setStretchFactor(1, 3)
        layout.addWidget(parts, 1)
        self._attach_exports(layout)
        self.layer_combo.currentIndexChanged.connect(self._on_layer_chosen)
        self.unit_spin.valueChanged.connect(lambda unit: self.set_unit(self.layer, unit))
        self.silence_check.toggled.connect(lambda _on: self.request_silence())
        self.silence_edit.editingFinished.connect(self.request_silence)
        state.modelChanged.connect(self.set_model)
        state.datasetChanged.connect(lambda _dataset: self.set_model(self._incoming))  # its test images changed
        self.set_model(state.model)

    # --- the interface -------------------------------------------------------------------------------------
    def sizeHint(self) -> QSize:
        # a third of the tab, as the two halves beside it: its grids and table would otherwise ask for the most
        return QSize(380, 600)

    @property
    def busy(self) -> bool:
        return self.prepare_job.busy or self.silence_job.busy

    def shutdown(self) -> None:
        self.prepare_job.shutdown()
        self.silence_job.shutdown()

    def set_model(self, model) -> None:
        self._incoming = model
        self.prepare_job.cancel()
        self.silence_job.cancel()
        problem = model_problem(model, self.state.dataset)
        if problem:
            self._deferred = False
            self._clear(problem)
            return
        if (
            not self.isVisible()
        ):  # a hidden tab need not score 10,000 images every epoch; showEvent catches up
            self._deferred = True
            return
        self._deferred = False
        self._fill_layers(model)
        self.prepare_job.submit(prepare, model, self.state.dataset.test_images, self.layer)

    def set_unit(self, layer: int, unit: int) -> None:
        """Inspect `unit` of hidden layer `layer` (0 = the first)."""
        layer, unit = int(layer), int(unit)
        if layer != self.layer:
            self.layer, self.unit = layer, unit
            self.layer_combo.setCurrentIndex(layer)  # -> _on_layer_chosen prepares the layer
            return
        self.unit = unit
        if self.unit_spin.value() != unit:
            self.unit_spin.blockSignals(True)
            self.unit_spin.setValue(unit)
            self.unit_spin.blockSignals(False)
        self._show_top()
        if self.silence_check.isChecked():
            self.request_silence()

    def follow_gallery(self, unit: int) -> None:
        """The Weights tab's gallery chose a unit of the first hidden layer: inspect it, unless another layer is
        being inspected. The gallery selects its unit again after every model change; only a new choice counts,
        so a unit chosen here with the spin box stays while the epoch slider moves."""
        if unit == self._gallery_unit:
            return
        self._gallery_unit = unit
        if self.layer == 0:
            self.set_unit(0, unit)

    def chosen_units(self) -> list[tuple[int, int]]:
        """The (layer, unit) pairs silenced now: this unit if ticked, and the typed ones; ValueError if typed
        badly."""
        n = self.prepared.activations.shape[1] if self.prepared is not None else self.unit_spin.maximum() + 1
        chosen = units.parse_units(self.silence_edit.text(), n)
        if self.silence_check.isChecked():
            chosen.append(self.unit)
        return sorted({(self.layer, u) for u in chosen})

    def request_silence(self) -> None:
        if self.prepared is None:
            return
        try:
            chosen = self.chosen_units()
        except ValueError as exc:
            self.silence_message.setText(str(exc))
            return
        self.silence_message.setText("")
        if not chosen:
            self.silence_job.cancel()
            self._show_effect(None)
            return
        self.silence_job.submit(silence, self.prepared, self.state.dataset.test_labels, chosen)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._deferred:
            self.set_model(self._incoming)

    # --- internals -----------------------------------------------------------------------------------------
    def _fill_layers(self, model) -> None:
        sizes = units.hidden_sizes(model.network)
        texts = [f"hidden {i + 1} ({n} units)" for i, n in enumerate(sizes)]
        if [self.layer_combo.itemText(i) for i in range(self.layer_combo.count())] != texts:
            self.layer_combo.blockSignals(True)
            self.layer_combo.clear()
            self.layer_combo.addItems(texts)
            self.layer_combo.blockSignals(False)
        self.layer = min(self.layer, len(sizes) - 1)
        self.layer_combo.blockSignals(True)
        self.layer_combo.setCurrentIndex(self.layer)
        self.layer_combo.blockSignals(False)
        self.unit = min(self.unit, sizes[self.layer] - 1)
        self.unit_spin.blockSignals(True)
        self.unit_spin.setRange(0, sizes[self.layer] - 1)
        self.unit_spin.setValue(self.unit)
        self.unit_spin.blockSignals(False)

    def _on_layer_chosen(self, index: int) -> None:
        model = self._incoming
        if index < 0 or model is None or model_problem(model, self.state.dataset):
            return
        if index != self.layer:
            self.layer, self.unit = index, 0
        self.set_model(model)

    def _on_prepared(self, prepared: Prepared) -> None:
        if prepared.model is not self._incoming or prepared.layer != self.layer:
            return  # a stale answer (another model or layer was asked for since)
        self.prepared = prepared
        dataset = self.state.dataset
        self.top_grid.set_images(dataset.test_images)
        self._show_top()
        self.request_silence()

    def _show_top(self) -> None:
        prepared = self.prepared
        if prepared is None or not 0 <= self.unit < prepared.activations.shape[1]:
            return
        values = prepared.activations[:, self.unit].astype(np.float64)
        order = np.argsort(-values, kind="stable")[: units.TOP_IMAGES]  # as core.units.top_images
        self.top = (order, values[order])
        names = [str(c) for c in prepared.model.classes]
        labels = self.state.dataset.test_labels
        captions = [""] * len(labels)
        for i, v in zip(order, values[order], strict=True):
            captions[i] = f"{names[labels[i]]} {v:.2f}"
        self.top_grid.set_captions(captions)
        self.top_grid.set_indices(order)
        epoch = self.state.selected_epoch
        self.top_title.setText(
            f"<b>Unit {self.unit}</b> of hidden layer {self.layer + 1}"
            + (f" (epoch {epoch})" if epoch else "")
            + f": the {len(order)} test images that excite it most, highest first (label, activation)"
        )

    def _on_silence_busy(self, busy: bool) -> None:
        if busy:
            self.loss_summary.setText("Silencing… (a forward pass of the test set)")

    def _on_effect(self, effect) -> None:
        if self.prepared is None or effect.predicted_before is not self.prepared.predicted:
            return  # computed for a model or layer no longer shown
        self._show_effect(effect)

    def _show_effect(self, effect) -> None:
        self.effect = effect
        if effect is None:
            self.loss_summary.setText("Tick the switch or type unit numbers to silence them.")
            self.accuracy_table.setRowCount(0)
            self.changed_grid.set_images(np.zeros((0, *IMAGE_SHAPE), np.uint8))
            self.changed_grid.set_empty_message("Silence a unit to see the digits whose answer changes.")
            return
        self.loss_summary.setText(summary(effect))
        self._fill_table(effect)
        self._fill_changed(effect)

    def _fill_table(self, effect) -> None:
        names = [str(c) for c in self.prepared.model.classes]
        self.accuracy_table.setRowCount(len(names))
        for k, name in enumerate(names):
            before, after = effect.class_accuracy_before[k], effect.class_accuracy_after[k]
            change = 100 * (after - before)
            texts = (name, _pct(before), _pct(after), "–" if np.isnan(change) else f"{change:+.1f}")
            for column, text in enumerate(texts):
                item = QTableWidgetItem(text)
                if column:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if column == 3 and not np.isnan(change) and round(change, 1) != 0:
                    item.setForeground(LOSS_COLOUR if change < 0 else GAIN_COLOUR)
                self.accuracy_table.setItem(k, column, item)
        self.accuracy_table.resizeColumnsToContents()
        header = self.accuracy_table.horizontalHeader()
        width = header.length() + 2 * self.accuracy_table.frameWidth() + 18  # the scroll bar's room too
        self.accuracy_table.setMinimumWidth(width)
        self.accuracy_table.setMaximumWidth(width)

    def _fill_changed(self, effect) -> None:
        dataset = self.state.dataset
        names = [str(c)[:7] for c in self.prepared.model.classes]
        captions = [""] * len(effect.labels)
        for i in effect.changed:
            captions[i] = (
                f"{names[effect.labels[i]]}: {names[effect.predicted_before[i]]}→{names[effect.predicted_after[i]]}"
            )
        marks = effect.predicted_after == effect.labels
        self.changed_grid.set_images(dataset.test_images, captions, marks)
        self.changed_grid.set_indices(effect.changed)
        self.changed_grid.set_empty_message(
            "No test digit changes its answer: the network does not miss them."
        )

    def _clear(self, text: str) -> None:
        self.prepared = self.effect = self.top = None
        self.top_title.setText(text)
        self.top_grid.set_images(np.zeros((0, *IMAGE_SHAPE), np.uint8))
        self.top_grid.set_empty_message(text)
        self.loss_summary.setText("")
        self.accuracy_table.setRowCount(0)
        self.changed_grid.set_images(np.zeros((0, *IMAGE_SHAPE), np.uint8))

    def _attach_exports(self, layout) -> None:
        row = QHBoxLayout()
        for widget, basename, data_fn, text in (
            (self.top_grid, "unit_top_images", self._top_data, "Export top images"),
            (self.changed_grid, "unit_silenced", self._effect_data, "Export silencing"),
        ):
            button = attach_export(widget, basename, data_fn)
            button.setText(text)
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)

    def _top_data(self):
        if self.top is None:
            return None
        order, values = self.top
        labels = self.state.dataset.test_labels
        return {"index": order.tolist(), "label": labels[order].tolist(), "activation": values.tolist()}

    def _effect_data(self):
        effect = self.effect
        if effect is None:
            return None
        changed = effect.changed
        return {
            "index": changed.tolist(),
            "label": effect.labels[changed].tolist(),
            "before": effect.predicted_before[changed].tolist(),
            "after": effect.predicted_after[changed].tolist(),
        }


def _pct(value: float) -> str:
    return "–" if np.isnan(value) else f"{100 * value:.1f}%"


def summary(effect) -> str:
    """One or two sentences: what silencing cost, overall and in changed answers."""
    chosen = [u for _, u in effect.units]
    what = f"unit {chosen[0]}" if len(chosen) == 1 else f"{len(chosen)} units"
    change = 100 * (effect.accuracy_after - effect.accuracy_before)
    broken, fixed = effect.broken.size, effect.fixed.size
    return (
        f"Without {what}: test accuracy {100 * effect.accuracy_before:.2f}% → "
        f"<b>{100 * effect.accuracy_after:.2f}%</b> ({change:+.2f} points). "
        f"{effect.n_changed:,} digits change their answer: {broken:,} now wrong, {fixed:,} now right"
        + (f", {other:,} wrong either way." if (other := effect.n_changed - broken - fixed) else ".")
    )
