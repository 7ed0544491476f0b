"""The hidden-layer map: every test image (or a sample) as a dot placed by how a chosen layer represents it.

The map is core.projection's (t-SNE by default, PCA on request), computed in a worker, once per run, epoch,
layer, method and sample (a `MapCache`), each epoch's map started from the nearest epoch's already computed, so
moving the epoch slider, or watching a run train, shows the clusters form in one frame. One map job at a time
(JobRunner keep="newest"): during a run the newest epoch waits while the current one finishes, and it starts
from that one's map. The view keeps its zoom within a chain of maps and fits a new chain.

Hover shows the image beside the mouse; a click picks it (its picture, its answer now, and its answer at every
epoch of the run, read in a worker: older epochs' weights may come from disk); a loop drawn with the left button
lists the images inside it.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QSplitter, QTableWidgetItem, QVBoxLayout, QWidget

from core import projection
from explorer.export import attach_export
from explorer.jobs import JobRunner
from explorer.panels.projection_data import (
    EMPTY_TEXT,
    Wanted,
    compute_map,
    describe,
    predictions_over_epochs,
    status_text,
    thumbnail,
)
from explorer.panels.projection_layout import build_controls, build_map, build_side
from explorer.projection_figure import csv_columns
from explorer.widgets.tab_caption import TabCaption

WRONG = QColor("#d62728")


class ProjectionPanel(QWidget):
    title = "Map"  # the tab's name

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.setObjectName("projectionPanel")
        self.state = state
        self.model = self.dataset = self.run = None
        self.epoch = 0  # the selected epoch
        self.shown_epoch = 0  # the epoch of the map shown (a neighbour's while the selected one computes)
        self.key: tuple | None = None  # (run id, layer, method, sample, epoch) of the map wanted now
        self.layer_map: projection.LayerMap | None = None  # the map shown
        self.picked: int | None = None  # the test image picked (an index into the test split)
        self.selected = np.zeros(0, np.int64)  # the test images inside the last loop
        self._shown_chain: tuple | None = None
        self._grid_indices: np.ndarray | None = None
        self._deferred = False
        self.cache = projection.MapCache()
        self.wanted = Wanted()
        self.job = JobRunner(self, keep="newest", name="projection")
        self.job.done.connect(self._on_map)
        self.job.failed.connect(lambda text: self.status_label.setText(f"Could not compute the map: {text}"))
        self.job.progress.connect(self._on_progress)
        self.history_job = JobRunner(self, keep="newest", name="projection history")
        self.history_job.done.connect(self._on_history)

        self.notice = TabCaption(self, "projectionCaption", describe(None))
        controls = build_controls(self)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(build_map(self))
        splitter.addWidget(build_side(self))
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([700, 320])  # the map gets most of the width
        export_button = attach_export(self.map_view, "projection", self._export_data)
        export_button.setText("Export map")
        controls.addWidget(export_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.notice)
        layout.addLayout(controls)
        layout.addWidget(splitter, 1)

        for combo in (self.layer_combo, self.method_combo, self.sample_combo):
            combo.currentIndexChanged.connect(lambda _index: self.refresh())
        self.map_view.hovered.connect(self._on_hover)
        self.map_view.clicked.connect(self.pick_position)
        self.map_view.lassoed.connect(self.select_positions)
        self.selection_grid.imageClicked.connect(self.pick_position)
        state.modelChanged.connect(lambda _model: self.refresh())
        state.datasetChanged.connect(lambda _dataset: self.refresh())
        state.runsChanged.connect(self._forget_removed_runs)
        self.refresh()

    # --- the interface -------------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.job.busy

    def refresh(self) -> None:
        """Show the selected run's map at the selected epoch: from the cache, or computed in a worker."""
        state = self.state
        self.model, self.dataset, self.run = state.model, state.dataset, state.selected_run
        self.epoch = state.selected_epoch or (len(self.run.snapshots) if self.run else 0)
        problem = self._problem()
        if problem:
            self._clear(problem)
            return
        self._fill_layers()
        layer = max(self.layer_combo.currentIndex(), 0)
        method, sample = self.method_combo.currentData(), self.sample_combo.currentData()
        self.key = (self.run.run_id, layer, method, sample, self.epoch)
        self.wanted.chain = self.key[:-1]
        self.notice.setText(describe(self.model, self.layer_combo.currentText()))
        found = self.cache.get(self.key)
        if found is not None:
            self._show(found, self.epoch)
            return
        near = self.cache.nearest(self.key)
        if near is not None and self._shown_chain != self.key[:-1]:
            self._show(
                near[1], near[0]
            )  # something to look at (this run's nearest epoch) while this one computes
        if not self.isVisible():
            self._deferred = True  # a hidden tab need not run t-SNE after every epoch; showEvent catches up
            return
        self._deferred = False
        self.status_label.setText(self._computing_text())
        indices = projection.sample_indices(len(self.dataset.test_labels), sample, seed=0)
        self.job.submit_with_progress(compute_map, self.cache, self.key, self.model, self.dataset.test_images,
                                      self.dataset.test_labels, indices, self.wanted)  # fmt: skip

    def shutdown(self) -> None:
        """Stop the workers before the window goes away (the main window calls this when it closes)."""
        self.wanted.closing.set()
        self.job.shutdown()
        self.history_job.shutdown()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self._deferred:
            self.refresh()

    def pick_position(self, position: int) -> None:
        """Pick the image at `position` in the map: its picture, its answer now and at every epoch."""
        layer_map = self.layer_map
        if layer_map is None or not 0 <= position < len(layer_map.indices):
            return
        self.picked = int(layer_map.indices[position])
        self.map_view.pick(position)
        names = self._names()
        label, answer = int(layer_map.labels[position]), int(layer_map.predicted[position])
        self.image_view.set_image(self.dataset.test_images[self.picked])
        self.image_view.set_title(f"Test image {self.picked:,}: {names[label]}")
        verdict = "right" if answer == label else "wrong"
        self.detail_label.setText(
            f"Epoch {self.shown_epoch}: the network answers {names[answer]} ({verdict})."
        )
        self.epochs_table.setColumnCount(0)
        count = len(self.run.snapshots)
        self.history_job.submit(
            predictions_over_epochs, self.run.snapshots, count, self.dataset.test_images[self.picked]
        )

    def select_positions(self, positions) -> None:
        """List the images at these map positions (a drawn loop's) in the grid under the picked image."""
        layer_map = self.layer_map
        if layer_map is None:
            return
        positions = np.asarray(positions, dtype=np.int64)
        positions = positions[np.argsort(~layer_map.wrong[positions], kind="stable")]  # the wrong ones first
        self.selected = layer_map.indices[positions].astype(np.int64)
        self.selection_grid.set_indices(positions)
        wrong = int(layer_map.wrong[positions].sum())
        self.selection_label.setText(
            f"{len(positions):,} images in the loop, {wrong:,} of them wrong (red corner, listed first); click one "
            "to pick it."
        )

    # --- internals -----------------------------------------------------------------------------------------
    def _problem(self) -> str:
        model, dataset = self.model, self.dataset
        if model is None or dataset is None or self.run is None:
            return EMPTY_TEXT
        if dataset.name != model.dataset or len(dataset.class_names) != len(model.classes):
            return f"This model was trained on {model.dataset}; open that dataset to see its map."
        if len(dataset.test_labels) < 10:
            return f"{dataset.name} has too few test images to map."
        return ""

    def _names(self) -> list[str]:
        return [str(c) for c in self.model.classes]

    def _fill_layers(self) -> None:
        names = projection.layer_names(self.model, self.dataset.test_images)
        current = [self.layer_combo.itemText(i) for i in range(self.layer_combo.count())]
        if names != current:
            keep = self.layer_combo.currentIndex() if len(names) == len(current) else -1
            self.layer_combo.blockSignals(True)
            self.layer_combo.clear()
            self.layer_combo.addItems(names)
            # a new network starts on its last hidden layer: the one the output reads, where the digits are
            # furthest apart (and, in a CNN, far smaller than the first convolution's maps)
            self.layer_combo.setCurrentIndex(keep if keep >= 0 else max(len(names) - 2, 0))
            self.layer_combo.blockSignals(False)

    def _clear(self, text: str) -> None:
        self.job.cancel()
        self.key = self.layer_map = self.picked = self._shown_chain = self._grid_indices = None
        self.wanted.chain = None
        self.notice.setText(describe(self.model if text != EMPTY_TEXT else None))
        self.status_label.setText(text)
        self.map_view.clear()
        self.image_view.set_image(None)
        self.detail_label.setText("")
        self.epochs_table.setColumnCount(0)
        self.selection_grid.set_indices([])

    def _forget_removed_runs(self) -> None:
        """A removed run's maps leave the cache with it."""
        kept = {run.run_id for run in self.state.runs}
        for run_id in {key[0] for key in self.cache.stored_keys()} - kept:
            self.cache.drop_run(run_id)

    def _on_progress(self, done: int, total: int, what: str) -> None:
        # only the map waited for: a job still finishing an older epoch of the chain must not overwrite the
        # line of a map already shown
        waiting = self.key is not None and (self.layer_map is None or self.cache.get(self.key) is None)
        if total and waiting and what == f"epoch {self.key[-1]}":
            self.status_label.setText(self._computing_text(100 * done // total))

    def _computing_text(self, percent: int | None = None) -> str:
        text = f"Computing the map of epoch {self.epoch}…" + ("" if percent is None else f" {percent}%")
        if self.layer_map is not None and self.shown_epoch != self.epoch:
            text += f" Showing epoch {self.shown_epoch}'s map meanwhile."
        return text

    def _on_map(self, result) -> None:
        key, layer_map = result
        if key == self.key:
            self._show(layer_map, key[-1])

    def _show(self, layer_map: projection.LayerMap, epoch: int) -> None:
        """Show `epoch`'s map (the selected epoch's, or a neighbour's while the selected one computes)."""
        chain = self.key[:-1]
        new_chain = chain != self._shown_chain
        self._shown_chain = chain
        self.layer_map, self.shown_epoch = layer_map, epoch
        self.map_view.set_points(
            layer_map.coords, layer_map.labels, layer_map.wrong, self._names(), fit=new_chain
        )
        self.status_label.setText(
            status_text(layer_map, epoch) if epoch == self.epoch else self._computing_text()
        )
        self._fill_grid(layer_map)
        if self.picked is not None:
            at = np.flatnonzero(layer_map.indices == self.picked)
            if at.size:
                self.pick_position(int(at[0]))

    def _fill_grid(self, layer_map: projection.LayerMap) -> None:
        """The grid's images are the map's (in its order), captioned "label→answer", marked right or wrong."""
        names = self._names()
        captions = [
            f"{names[t]}→{names[p]}" for t, p in zip(layer_map.labels, layer_map.predicted, strict=True)
        ]
        if self._grid_indices is None or not np.array_equal(self._grid_indices, layer_map.indices):
            self._grid_indices = layer_map.indices
            self.selection_grid.set_images(
                self.dataset.test_images[layer_map.indices], captions, ~layer_map.wrong
            )
            positions = np.flatnonzero(np.isin(layer_map.indices, self.selected))
            self.selection_grid.set_indices(positions)
        else:
            self.selection_grid.set_captions(captions)
            self.selection_grid.set_marks(~layer_map.wrong)

    def _on_hover(self, position: int) -> None:
        layer_map = self.layer_map
        if layer_map is None or position < 0:
            self.map_view.show_hover(None, "")
            return
        index = int(layer_map.indices[position])
        names = self._names()
        label, answer = names[layer_map.labels[position]], names[layer_map.predicted[position]]
        text = f"#{index:,}: {label}" + ("" if label == answer else f", answered {answer}")
        self.map_view.show_hover(
            thumbnail(self.dataset.test_images[index]), text, self.map_view.last_scene_pos()
        )

    def _on_history(self, rows) -> None:
        if self.picked is None or self.layer_map is None:
            return
        names = self._names()
        label = int(self.dataset.test_labels[self.picked])
        table = self.epochs_table
        table.setColumnCount(len(rows))
        table.setHorizontalHeaderLabels([str(epoch) for epoch, _, _ in rows])
        for column, (epoch, answer, confidence) in enumerate(rows):
            texts = ("?", "") if answer is None else (names[answer], f"{100 * confidence:.0f}%")
            for row, text in enumerate(texts):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                if answer is not None and answer != label:
                    item.setForeground(WRONG)
                if epoch == self.shown_epoch:
                    font = QFont(item.font())
                    font.setBold(True)
                    item.setFont(font)
                table.setItem(row, column, item)
        table.resizeColumnsToContents()
        if self.shown_epoch:
            table.scrollToItem(table.item(0, min(self.shown_epoch, len(rows)) - 1))

    def _export_data(self):
        if self.layer_map is None:
            return None
        return csv_columns(self.layer_map, self._names())


if __name__ == "__main__":
    from explorer.panels._insight_demo import show_panel

    show_panel(ProjectionPanel, "keras-dense512", 5, 10_000)
