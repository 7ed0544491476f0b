"""Per-class statistics of one split: how many images each class has (a bar chart) and its mean image.

The means take ~50 ms for 60,000 images, so they come from a `JobRunner`: a result for a split that is no longer
shown is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QStackedWidget, QTabWidget

from core.readers import IMAGE_SHAPE
from explorer.export import attach_export
from explorer.jobs import JobRunner
from explorer.widgets.image_grid import ImageGrid

BAR_COLOUR = "#1f77b4"


def class_means(images: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """The mean image of each class as float (n_classes, 28, 28); a class with no images is all zeros."""
    means = np.zeros((n_classes, *images.shape[1:]), dtype=np.float64)
    for c in range(n_classes):
        members = images[labels == c]
        if len(members):
            means[c] = members.mean(axis=0)
    return means


class ClassStats(QTabWidget):
    """Two tabs, "Class counts" and "Class means", with one export button in the corner for the tab shown.

    `classClicked(int)`: the user clicked a class's mean image.
    """

    classClicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("datasetStatsTabs")
        self.counts = np.zeros(0, int)
        self.names: list[str] = []
        self.means_job = JobRunner(self, name="classMeansJob")  # the newest split's means win
        self.means_job.done.connect(self._on_means)
        self.means_job.failed.connect(
            lambda text: self.means_grid.set_empty_message(f"Could not compute the class means: {text}")
        )
        self.counts_plot = pg.PlotWidget(objectName="classCountsPlot")
        self.counts_plot.setBackground("w")
        self.counts_plot.setMenuEnabled(False)
        self.counts_plot.setMouseEnabled(False, False)
        self.counts_plot.getViewBox().invertY(True)  # the first class at the top, as in the label list
        self.counts_plot.setLabel("bottom", "images")
        self.counts_plot.setToolTip(
            "How many images each class has in this split (a balanced dataset has even bars)"
        )
        self.counts_bars = pg.BarGraphItem(x0=[], y=[], height=0.7, width=[], brush=BAR_COLOUR, pen=None)
        self.counts_plot.addItem(self.counts_bars)
        self.means_grid = ImageGrid(self, thumbnail_size=64)
        self.means_grid.setObjectName("classMeansGrid")
        self.means_grid.setToolTip(
            "The average image of each class in this split; click one to show only that class"
        )
        self.addTab(self.counts_plot, "Class counts")
        self.addTab(self.means_grid, "Class means")
        exports = QStackedWidget()
        exports.addWidget(attach_export(self.counts_plot, "class_counts", self.counts_table))
        exports.addWidget(attach_export(self.means_grid, "class_means", lambda: self.means_grid.model.images))
        self.setCornerWidget(exports)
        self.currentChanged.connect(exports.setCurrentIndex)
        self.means_grid.imageClicked.connect(self.classClicked)

    def set_split(self, images: np.ndarray, labels: np.ndarray, names: Sequence[str]) -> None:
        """Show the statistics of one split: counts at once, means when the worker has them."""
        self.means_job.cancel()  # the means of the split shown before are stale
        self.names = [str(n) for n in names]
        self.counts = np.bincount(labels, minlength=len(self.names))[: len(self.names)]
        y = np.arange(len(self.counts))
        self.counts_bars.setOpts(x0=np.zeros(len(self.counts)), y=y, width=self.counts, height=0.7)
        self.counts_plot.getAxis("left").setTicks([list(zip(y.tolist(), self.names, strict=True))])
        if len(self.counts):
            self.counts_plot.setXRange(0, max(1, self.counts.max()) * 1.05, padding=0)
            self.counts_plot.setYRange(-0.5, len(self.counts) - 0.5, padding=0)
        self.means_grid.set_images(np.zeros((0, *IMAGE_SHAPE), np.uint8))
        if not len(labels):
            self.means_grid.set_empty_message("No images, so no class means")
            return
        self.means_grid.set_empty_message("Computing the class means…")
        self.means_job.submit(class_means, images, labels, len(self.names))

    def counts_table(self) -> dict:
        """The counts as columns, for the export's .csv."""
        return {"class": list(self.names), "count": [int(c) for c in self.counts]}

    def _on_means(self, means: np.ndarray) -> None:
        self.means_grid.set_images(np.clip(np.rint(means), 0, 255).astype(np.uint8), self.names)
