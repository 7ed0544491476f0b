"""The errors: the scorecard, the confusion matrix with per-class numbers, and every misclassified test image.

The whole test split is fed forward in a worker (10,000 images through a 784-512-10 network is a few hundred
milliseconds); the matrix, the metrics and the lists are then NumPy one-liners on the GUI thread. Clicking a cell
lists exactly its images; clicking an image shows its ten probabilities and its saliency map, the gradient of
the predicted class's log-probability with respect to the pixels (red: more ink there would raise it).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QStyle, QTableWidgetItem, QVBoxLayout, QWidget

from core import insight
from core.readers import IMAGE_SHAPE
from explorer.export import attach_export
from explorer.jobs import JobRunner
from explorer.panels.errors_data import EMPTY_TEXT, describe, percent, score_test
from explorer.panels.errors_layout import build_lists, build_scorecard_row, build_upper
from explorer.widgets.abstain_view import AbstainView, connect_state
from explorer.widgets.prob_bars import is_probabilities, output_text
from explorer.widgets.tab_caption import TabCaption


class ErrorsPanel(QWidget):
    title = "Errors"  # the tab's name

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.setObjectName("errorsPanel")
        self.state = state
        self.model = None
        self.dataset = None
        self.probs: np.ndarray | None = None
        self.predicted: np.ndarray | None = None
        self.confusion: np.ndarray | None = None
        self.wrong_order: np.ndarray | None = None
        self.cell: tuple[int, int] | None = None
        self.selected_image: int | None = None
        self._deferred = False  # the model changed while the tab was hidden; showEvent scores it
        self.job = JobRunner(self)
        self.job.done.connect(self._on_probs)
        self.job.failed.connect(lambda text: self.scorecard.setText(f"Could not evaluate the model: {text}"))

        top = build_scorecard_row(self)
        upper = build_upper(self)
        lists = build_lists(self)
        self.abstain_view = AbstainView(self)  # "I don't know": the confidence threshold (shared with Draw)
        lists.addTab(self.abstain_view, "I don't know")
        connect_state(self.abstain_view, state)
        lower = QSplitter(Qt.Orientation.Vertical, self)
        lower.addWidget(upper)
        lower.addWidget(lists)
        lower.setStretchFactor(0, 3)
        lower.setStretchFactor(1, 2)
        self._attach_exports(top)
        self.notice = TabCaption(self, "errorsCaption", describe(None))
        layout = QVBoxLayout(self)
        layout.addWidget(self.notice)
        layout.addLayout(top)
        layout.addWidget(lower, 1)

        self.normalise_check.toggled.connect(lambda _on: self._show_matrix())
        self.matrix_view.cellClicked.connect(self.select_cell)
        self.wrong_grid.imageClicked.connect(self.select_image)
        self.cell_grid.imageClicked.connect(self.select_image)
        state.modelChanged.connect(lambda _model: self.refresh())
        state.datasetChanged.connect(lambda _dataset: self.refresh())
        self.refresh()

    # --- the interface -------------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.job.busy

    def refresh(self) -> None:
        """Re-evaluate the current model on the current dataset's test split (in a worker)."""
        model, dataset = self.state.model, self.state.dataset
        self.model, self.dataset = model, dataset
        self.notice.setText(describe(model))
        if model is None or dataset is None:
            self.job.cancel()
            self._clear(EMPTY_TEXT)
            return
        if dataset.name != model.dataset or len(dataset.class_names) != len(model.classes):
            self.job.cancel()
            self._clear(f"This model was trained on {model.dataset}; open that dataset to see its errors.")
            return
        if len(dataset.test_labels) == 0:
            self.job.cancel()
            self._clear(f"{dataset.name} has no test images, so there is nothing to score.")
            return
        if not self.isVisible():
            # A hidden tab need not score 10,000 test images after every epoch; showEvent catches up.
            self.job.cancel()
            self._deferred = True
            return
        self._deferred = False
        if self.probs is None:
            self.scorecard.setText("Scoring the test images…")
        self.job.submit(score_test, model, dataset.test_images, dataset.test_labels)

    def shutdown(self) -> None:
        """Stop the worker before the window goes away (the main window calls this when it closes)."""
        self.job.shutdown()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._deferred:
            self.refresh()

    def select_cell(self, true: int, predicted: int) -> None:
        if self.predicted is None:
            return
        self.cell = (int(true), int(predicted))
        self.matrix_view.select(true, predicted)
        labels = self.dataset.test_labels
        members = np.flatnonzero((labels == true) & (self.predicted == predicted))
        # the most confident first, as in the misclassified list
        members = members[np.argsort(-self.probs[members, predicted], kind="stable")]
        self.cell_grid.set_indices(members)
        names = self._names()
        self.cell_grid.set_empty_message(
            f"No test image of {names[true]} was predicted as {names[predicted]}."
        )
        self.lists.setTabText(1, f"True {names[true]}, predicted {names[predicted]} ({members.size:,})")
        self.lists.setCurrentWidget(self.cell_grid)

    def select_image(self, index: int) -> None:
        if self.probs is None:
            return
        self.selected_image = int(index)
        model, names = self.model, self._names()
        image = self.dataset.test_images[index]
        true, predicted = int(self.dataset.test_labels[index]), int(self.predicted[index])
        confidence = self.probs[index, predicted]
        self.image_view.set_image(image)
        verdict = "right" if true == predicted else "wrong"
        self.image_view.set_title(
            f"Test image {index:,}: {names[true]}, predicted {names[predicted]} ({verdict})"
        )
        x = model.scale(image)
        self.saliency_view.set_data(insight.saliency(model.network, x[0], predicted).reshape(IMAGE_SHAPE))
        self.saliency_view.set_outline(image)
        as_probability = is_probabilities(model)
        self.saliency_view.set_title(
            f"Saliency of {names[predicted]} ({output_text(confidence, as_probability, digits=0)})"
        )
        self.bars.set_probabilities(self.probs[index], names, true_label=true, activations=not as_probability)

    # --- internals -----------------------------------------------------------------------------------------
    def _names(self) -> list[str]:
        return [str(c) for c in self.model.classes]

    def _clear(self, text: str) -> None:
        self.probs = self.predicted = self.confusion = self.wrong_order = None
        self.cell = self.selected_image = None
        self.scorecard.setText(text)
        self.matrix_view.set_matrix(None)
        self.metrics_table.setRowCount(0)
        self._fit_metrics_width()  # the empty table's headers are whole too
        self.wrong_grid.set_images(np.zeros((0, *IMAGE_SHAPE), np.uint8))
        self.wrong_grid.set_empty_message(text)
        self.cell_grid.set_images(np.zeros((0, *IMAGE_SHAPE), np.uint8))
        self.image_view.set_image(None)
        self.saliency_view.set_data(None)
        self.saliency_view.set_outline(None)
        self.bars.set_probabilities(None, [])
        self.abstain_view.set_curve(None, empty_text=text)

    def _on_probs(self, scored: dict) -> None:
        probs = scored["probs"]
        if self.model is None or self.dataset is None or len(probs) != len(self.dataset.test_labels):
            return
        labels = self.dataset.test_labels
        self.probs, self.predicted = probs, scored["predicted"]
        self.confusion, self.wrong_order = scored["confusion"], scored["wrong_order"]
        right, total = scored["scorecard"]
        self.scorecard.setText(f"{right:,} / {total:,} right ({100 * right / total:.2f}%)")
        self._show_matrix()
        self._fill_metrics()
        self.abstain_view.set_curve(scored["abstain"], is_probabilities(self.model))
        captions = scored["captions"]
        thumbnail = 76 if scored["wide"] else 56
        self.wrong_grid.set_thumbnail_size(thumbnail)
        self.cell_grid.set_thumbnail_size(thumbnail)
        marks = self.predicted == labels
        for grid in (self.wrong_grid, self.cell_grid):
            grid.set_images(self.dataset.test_images, captions, marks)
        self.wrong_grid.set_indices(self.wrong_order)
        self.wrong_grid.set_empty_message("No mistakes: every test image is classified right.")
        self.lists.setTabText(0, f"Misclassified ({self.wrong_order.size:,}, most confident first)")
        if self.cell is not None:
            self.select_cell(*self.cell)
        else:
            self.cell_grid.set_indices([])
        if self.selected_image is not None:
            self.select_image(self.selected_image)
        elif self.wrong_order.size:
            self.select_image(int(self.wrong_order[0]))

    def _show_matrix(self) -> None:
        if self.confusion is None:
            return
        self.matrix_view.set_matrix(
            self.confusion, self._names(), normalised=self.normalise_check.isChecked()
        )
        if self.cell is not None:
            self.matrix_view.select(*self.cell)

    def _fill_metrics(self) -> None:
        metrics = insight.class_metrics(self.confusion)
        names = self._names()
        self.metrics_table.setRowCount(len(names))
        for k, name in enumerate(names):
            support = int(metrics["support"][k])
            values = (
                name,
                f"{support:,}",
                percent(metrics["recall"][k]),
                percent(metrics["precision"][k]),
                f"{support - int(self.confusion[k, k]):,}",
            )
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                if column:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.metrics_table.setItem(k, column, item)
        self._fit_metrics_width()

    def _fit_metrics_width(self) -> None:
        """The table asks for its columns' whole width, empty (the headers) or full."""
        self.metrics_table.resizeColumnsToContents()
        header = self.metrics_table.horizontalHeader()
        # Room for the vertical scroll bar too: ten rows rarely fit the upper half, and the bar it needs took its
        # width from the last column ("Wrong" was cut at 1280 px).
        scroll_bar = self.metrics_table.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        self.metrics_table.setMinimumWidth(
            header.length() + 2 * self.metrics_table.frameWidth() + scroll_bar + 4
        )

    def _attach_exports(self, top) -> None:
        for widget, basename, data_fn, text in (
            (self.matrix_view, "confusion", self._confusion_data, "Export matrix"),
            (self.wrong_grid, "misclassified", self._misclassified_data, "Export mistakes"),
            (self.saliency_view, "saliency", lambda: self.saliency_view.data(), "Export saliency"),
        ):
            button = attach_export(widget, basename, data_fn)
            button.setText(text)
            top.addWidget(button)

    def _confusion_data(self):
        if self.confusion is None:
            return None
        names = self._names()
        columns = {"true": names}
        for p, name in enumerate(names):
            columns[f"predicted {name}"] = [int(v) for v in self.confusion[:, p]]
        return columns

    def _misclassified_data(self):
        if self.wrong_order is None:
            return None
        order, names = self.wrong_order, self._names()
        labels = self.dataset.test_labels
        return {
            "index": [int(i) for i in order],
            "true": [names[labels[i]] for i in order],
            "predicted": [names[self.predicted[i]] for i in order],
            "confidence": [float(self.probs[i, self.predicted[i]]) for i in order],
        }


if __name__ == "__main__":
    from explorer.panels._insight_demo import show_panel

    show_panel(ErrorsPanel)
