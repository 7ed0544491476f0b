"""The data map and the suspects: which training images the network learned easily, which it never learned,
and the ones most likely mislabelled.

The selected run's per-image record (core/training_record.py, kept per run and saved in its folder) gives each
training image's probability of its label at every epoch. The map (Swayamdipta et al. 2020) puts each image at
(variability, confidence) up to the epoch on the slider, coloured by how often its label was the top answer; the
gallery lists the images with the lowest area under the margin (Pleiss et al. 2020; core/cartography.py says
why), each with its given label, the label the network suggests, and the score. Clicking one opens it in the
Dataset tab. Everything is computed in a JobRunner job (newest request wins), once per epoch while a run trains
and again when the slider moves; a hidden tab waits until it is shown.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QHBoxLayout, QSplitter, QTabWidget, QVBoxLayout, QWidget

from core.readers import IMAGE_SHAPE
from explorer.datamap_figures import map_table, suspects_table
from explorer.export import attach_export
from explorer.jobs import JobRunner
from explorer.panels import datamap_data as data
from explorer.panels.datamap_layout import build_gallery, build_map
from explorer.widgets.image_grid import to_qimage
from explorer.widgets.tab_caption import TabCaption


class DataMapPanel(QWidget):
    title = "Data map"  # the tab's name

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.setObjectName("dataMapPanel")
        self.state = state
        self.result: data.MapResult | None = None
        self._deferred = False
        self._wanted: tuple | None = None  # (run id, epochs) of the map asked for last
        self.job = JobRunner(self, name="data map")
        self.job.done.connect(self._on_result)
        self.job.failed.connect(lambda text: self._clear(f"Could not draw the data map: {text}"))

        self.caption = TabCaption(self, "dataMapCaption", data.describe(None, None))
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(build_map(self))
        split.addWidget(build_gallery(self))
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([660, 330])  # three columns of suspects where the window has the room
        buttons = QHBoxLayout()
        for widget, basename, data_fn, text in ((self.plot, "datamap", self._map_data, "Export map"),
                                                (self.gallery, "suspects", self._suspects_data, "Export suspects")):  # fmt: skip
            button = attach_export(widget, basename, data_fn)
            button.setText(text)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.caption)
        layout.addLayout(buttons)
        layout.addWidget(split, 1)

        self.gallery.imageClicked.connect(self.open_suspect)
        self.plot.scene().sigMouseMoved.connect(self._on_mouse_moved)
        state.modelChanged.connect(lambda _model: self.refresh())
        state.datasetChanged.connect(lambda _dataset: self._fill_gallery())
        self.refresh()

    # --- the interface -------------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.job.busy

    def refresh(self) -> None:
        """Recompute the map for the selected run up to the selected epoch (in a worker)."""
        run = self.state.selected_run
        if run is None or run.dynamics is None or not run.history:
            self.job.cancel()
            self._wanted = None
            self._clear(data.EMPTY_TEXT if run is None or run.dynamics is not None else
                        f"{run.name} has no per-image record (a model file, or a run from an older version); "
                        "train a run to see its data map.")  # fmt: skip
            return
        if not self.isVisible():  # a hidden tab waits: showEvent catches up
            self.job.cancel()
            self._deferred = True
            return
        self._deferred = False
        wanted = (run.run_id, data.selected_upto(run, self.state.selected_epoch))
        if wanted == self._wanted and self.result is not None:
            return
        self._wanted = wanted
        self.job.submit(data.compute, run, wanted[1])

    def open_suspect(self, row: int) -> None:
        """Show the gallery's `row`-th suspect in the Dataset tab."""
        if self.result is None or not 0 <= row < len(self.result.suspects.indices):
            return
        self.state.select_image("train", int(self.result.suspects.indices[row]))
        tabs = self.parentWidget()
        while tabs is not None and not isinstance(tabs, QTabWidget):
            tabs = tabs.parentWidget()
        target = tabs.findChild(QWidget, "datasetPanel") if tabs is not None else None
        if target is not None:
            tabs.setCurrentWidget(target)

    def shutdown(self) -> None:
        self.job.shutdown()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._deferred:
            self.refresh()

    # --- internals -----------------------------------------------------------------------------------------
    def _on_result(self, result: data.MapResult | None) -> None:
        run = self.state.selected_run
        if result is None or run is None or result.run_id != run.run_id:
            if result is None:
                self._clear(data.EMPTY_TEXT)
            return
        self.result = result
        self.map_image.setImage(result.image, levels=(0, 255))
        self.map_image.setRect(data.MAP_RECT)  # after setImage, which otherwise maps one cell to one unit
        dm, found = result.data_map, result.suspects
        self.suspect_rings.setData(dm.variability[found.indices], dm.confidence[found.indices])
        self.hover_ring.setData([], [])
        self.caption.setText(data.describe(run, result))
        self._fill_gallery()

    def _names(self) -> list[str]:
        run, dataset = self.state.selected_run, self.state.dataset
        classes = (run.classes if run is not None else []) or (dataset.class_names if dataset else [])
        return [str(c) for c in classes] or [str(k) for k in range(256)]

    def _same_dataset(self) -> bool:
        """Whether the dataset open is the one the shown record was made on (its labels agree)."""
        dataset, labels = self.state.dataset, self.result.data_map.labels if self.result is not None else None
        return (labels is not None and dataset is not None and dataset.n_train >= len(labels)
                and np.array_equal(dataset.train_labels[: len(labels)], labels))  # fmt: skip

    def _image(self, index: int):
        return self.state.dataset.train_images[index] if self._same_dataset() else None

    def _fill_gallery(self) -> None:
        """The suspects' thumbnails, when the dataset open is the one the run learned from."""
        result, dataset, run = self.result, self.state.dataset, self.state.selected_run
        if result is None or run is None:
            return
        found, names = result.suspects, self._names()
        if not self._same_dataset():
            self.gallery.set_images(np.zeros((0, *IMAGE_SHAPE), np.uint8))
            self.gallery.set_empty_message(f"Open {run.dataset or 'the dataset this run trained on'} to see its "
                                           "suspects' images.")  # fmt: skip
        else:
            captions = [f"{names[g]} → {names[s]}\n{score:.2f}"
                        for g, s, score in zip(found.labels, found.suggested, found.scores, strict=True)]  # fmt: skip
            self.gallery.set_images(dataset.train_images[found.indices], captions)
            self.gallery.set_empty_message("No training image was seen in these epochs.")
        self.gallery_title.setText(f"The {len(found.indices)} likeliest mislabelled: given → suggested label, "
                                   "and the score (below 0: another label usually won). Click one to open it.")  # fmt: skip
        self.gallery_title.setToolTip("The score is the area under the margin (Pleiss et al. 2020): the mean over "
                                      "the epochs of log p(given label) - log p(best other label). The suggested "
                                      "label is the one that beat the given label in most epochs.")  # fmt: skip

    def _clear(self, text: str) -> None:
        self.result = None
        self.map_image.clear()
        self.suspect_rings.setData([], [])
        self.hover_ring.setData([], [])
        self.caption.setText("Data map: " + text if not text.startswith("Data map") else text)
        self.gallery.set_images(np.zeros((0, *IMAGE_SHAPE), np.uint8))
        self.gallery.set_empty_message(text)
        self.gallery_title.setText("Suspects")
        self.readout.setText("Point at the map to read an image's numbers.")
        self.hover_image.clear()

    def _on_mouse_moved(self, position) -> None:
        if self.result is None:
            return
        view = self.plot.getPlotItem().getViewBox()
        point = view.mapSceneToView(position)
        x_scale, y_scale = view.viewPixelSize()
        dm = self.result.data_map
        index = data.nearest(dm, point.x(), point.y(), x_scale, y_scale)
        if index is None:
            self.hover_ring.setData([], [])
            return
        self.hover_ring.setData([dm.variability[index]], [dm.confidence[index]])
        self.readout.setText(data.readout(dm, index, self._names()))
        image = self._image(index)
        if image is None:
            self.hover_image.clear()
        else:
            self.hover_image.setPixmap(QPixmap.fromImage(to_qimage(image)).scaled(42, 42))

    def _map_data(self):
        return None if self.result is None else map_table(self.result.data_map)

    def _suspects_data(self):
        return None if self.result is None else suspects_table(self.result.suspects, self._names())


if __name__ == "__main__":
    from explorer.panels._insight_demo import show_panel

    show_panel(DataMapPanel, "keras-dense512", 6, 20_000)
