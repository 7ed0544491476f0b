"""Draw your own digit (or open a picture of one) and watch what the network thinks of it, live.

The drawing is prepared the way MNIST was made (core.digit: crop to the ink, fit into 20x20 keeping the
aspect, centre the mass in 28x28), shown beside the canvas as the network sees it, and classified as you draw:
recomputation is throttled to one every 30 ms of pointer movement (preparation and one forward pass take about
a millisecond). Beside the probabilities, the back query of the predicted label: Rashid's for an all-sigmoid
network (instant), else the optimised input, which takes a while and is computed in a worker thread.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QImage, QKeySequence, QShortcut
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QVBoxLayout, QWidget

from core.digit import BOX, FIELD, ink_bbox, ink_image, prepare_digit, resample_area
from core.readers import IMAGE_SHAPE
from explorer.export import attach_export
from explorer.jobs import JobRunner
from explorer.panels.draw_layout import NO_MODEL, build_answer_side, build_drawing_side
from explorer.widgets.abstain_view import guess_text
from explorer.widgets.canvas import CANVAS_SIDE
from explorer.widgets.feature_maps import LiveFeatureMaps
from explorer.widgets.prob_bars import is_probabilities
from explorer.widgets.tab_caption import TabCaption

THROTTLE_MS = 30  # at most one recomputation per 30 ms while the pointer moves
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp);;All files (*)"


def ask_open_image(parent) -> str:
    """The picture file the user chose ("" if cancelled). Tests replace this function."""
    from explorer.file_dialogs import ask_open_file

    return ask_open_file(parent, "Open a picture of a digit", "", IMAGE_FILTER)


def read_image(path: str) -> np.ndarray:
    """A picture file as uint8 greyscale (H, W) via QImage; ValueError with one sentence if unreadable."""
    image = QImage(path)
    if image.isNull():
        raise ValueError(f"Could not read {path} as a picture (PNG, JPEG, BMP or GIF).")
    grey = image.convertToFormat(QImage.Format.Format_Grayscale8)
    h, w, stride = grey.height(), grey.width(), grey.bytesPerLine()
    buffer = np.frombuffer(grey.constBits(), dtype=np.uint8, count=stride * h)
    return buffer.reshape(h, stride)[:, :w].copy()


def picture_to_canvas(picture: np.ndarray) -> np.ndarray:
    """A picture as canvas pixels: light ink on black, cropped to the ink, in the canvas's 20/28 guide box."""
    ink, _ = ink_image(picture)
    bbox = ink_bbox(ink)
    canvas = np.zeros((CANVAS_SIDE, CANVAS_SIDE))
    if bbox is None:
        return canvas.astype(np.uint8)
    top, left, bottom, right = bbox
    crop = ink[top:bottom, left:right]
    inner = CANVAS_SIDE * BOX // FIELD  # 200: the same share of the canvas as 20 of MNIST's 28 pixels
    scale = inner / max(crop.shape)
    shape = (max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale)))
    fitted = resample_area(crop, shape)
    r0, c0 = (CANVAS_SIDE - shape[0]) // 2, (CANVAS_SIDE - shape[1]) // 2
    canvas[r0 : r0 + shape[0], c0 : c0 + shape[1]] = fitted
    return np.clip(np.rint(canvas * 255), 0, 255).astype(np.uint8)


def describe(model) -> str:
    """The tab's one line: what to do here and what the numbers are."""
    start = "Draw: write a digit with the mouse; the network's answer changes as you draw"
    if model is None:
        return start + " (train or load a model first)."
    if is_probabilities(model):
        return start + " (bars: its probability for each digit)."
    return start + " (bars: sigmoid output activations, not probabilities)."


def class_probabilities(model, image_uint8: np.ndarray) -> np.ndarray:
    """The model's outputs for one 28x28 image: probabilities (softmax), or sigmoid activations as they are,
    shown as activations like on every other tab (see explorer/widgets/prob_bars.py)."""
    return np.asarray(model.predict_proba(image_uint8[None]), dtype=np.float64)[0]


class DrawPanel(QWidget):
    title = "Draw"

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.setObjectName("drawPanel")
        self.state = state
        self.prepared = prepare_digit(np.zeros((CANVAS_SIDE, CANVAS_SIDE), dtype=np.uint8))
        self.probabilities: np.ndarray | None = None
        self._model = None
        self._query_key = None  # (model id, label) whose back query is shown or being computed
        self._query_cache: dict = {}
        # The optimised input of the guess takes a second or two: off the GUI thread, the newest guess's wins
        self.query_job = JobRunner(self, name="drawQueryJob")
        self.query_job.done.connect(self._on_query)
        self.query_job.failed.connect(self._on_query_failed)
        self._asked_key = None  # the (model id, label) the job was last asked for

        left = build_drawing_side(self)
        right, views, guess = build_answer_side(self)
        # a CNN's feature maps of the drawing, under the bars (hidden for an MLP; explorer/widgets/feature_maps.py)
        self.feature_maps = LiveFeatureMaps(self, "drawFeatureMaps", title="What its filters find in your digit")
        right.addWidget(self.feature_maps, 1)
        self.caption = TabCaption(self, "drawCaption", describe(None))
        columns = QHBoxLayout()
        columns.addLayout(left, 5)
        columns.addLayout(right, 4)
        layout = QVBoxLayout(self)
        layout.addWidget(self.caption)
        layout.addLayout(columns, 1)
        self._attach_exports(views, guess)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(THROTTLE_MS)
        self._timer.timeout.connect(self.update_prediction)
        self.pen_spin.valueChanged.connect(lambda v: setattr(self.canvas, "pen_width", v))
        self.canvas.changed.connect(self._schedule)
        self.canvas.strokeFinished.connect(self.update_prediction)
        self.clear_button.clicked.connect(self.canvas.clear)
        self.undo_button.clicked.connect(self.canvas.undo)
        self.open_button.clicked.connect(self.open_picture)
        for keys, slot in (
            (QKeySequence.StandardKey.Undo, self.canvas.undo),
            (QKeySequence(Qt.Key.Key_Delete), self.canvas.clear),
            (QKeySequence(Qt.Key.Key_Backspace), self.canvas.clear),
        ):
            shortcut = QShortcut(keys, self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        state.modelChanged.connect(self._on_model_changed)
        state.abstainChanged.connect(lambda _threshold: self.update_prediction())
        self._on_model_changed(state.model)

    def _attach_exports(self, views: QGridLayout, guess: QHBoxLayout) -> None:
        input_button = attach_export(self.input_view, "drawn_input", lambda: self.prepared.image)
        query_button = attach_export(self.query_view, "drawn_backquery", self.query_view.image)
        bars_button = attach_export(self.bars, "drawn_probabilities", self._probability_table)
        # One row of named buttons right under the pictures, not three "Export figure"s floating in the gaps.
        row = QHBoxLayout()
        for button, text in ((input_button, "Export input"), (query_button, "Export back query"),
                             (bars_button, "Export bars")):  # fmt: skip
            button.setText(text)
            row.addWidget(button)
        row.addStretch(1)
        views.addLayout(row, 1, 0, 1, 2)

    def _probability_table(self):
        if self.probabilities is None:
            return None
        column = "probability" if is_probabilities(self._model) else "output activation"
        return {"class": list(self._class_names()), column: self.probabilities.tolist()}

    # --- the drawing -> the prediction -----------------------------------------------------------------------
    def _schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def _class_names(self):
        model = self._model
        return model.classes if model is not None else [str(k) for k in range(10)]

    def update_prediction(self) -> None:
        """Prepare the drawing, show it, classify it, and ask for the predicted label's back query."""
        self._timer.stop()
        self.prepared = prepare_digit(self.canvas.pixels())
        self.input_view.set_image(None if self.prepared.empty else self.prepared.image)
        model = self._model
        if model is None or self.prepared.empty:
            self.probabilities = None
            self.bars.set_empty_text(
                NO_MODEL if model is None else "Draw a digit to see the network's answer for each class"
            )
            self.bars.set_probabilities(None, self._class_names())
            self.prediction_label.setText("")
            self._clear_query()
            self.feature_maps.show_for(model, None)
            return
        self.feature_maps.show_for(model, self.prepared.image)
        self.probabilities = class_probabilities(model, self.prepared.image)
        top = int(np.argmax(self.probabilities))
        as_probability = is_probabilities(model)
        self.bars.set_probabilities(self.probabilities, model.classes, activations=not as_probability)
        # "not sure" (with the top guesses) under the Errors tab's abstain threshold
        threshold = self.state.abstain_threshold
        self.prediction_label.setText(guess_text(self.probabilities, model.classes, as_probability, threshold))
        self._show_back_query(top)

    def _on_model_changed(self, model) -> None:
        self._model = model
        self.caption.setText(describe(model))
        self.query_job.cancel()  # an optimised input of the previous model is stale
        self._query_cache.clear()
        self.update_prediction()

    def _clear_query(self) -> None:
        self._query_key = None
        self.query_view.set_image(None)
        self.query_view.set_title("Its idea of the guess")
        self.query_view.set_empty_text(
            "No model yet" if self._model is None else "What the network imagines for its guess appears here"
        )

    # --- the back query of the guess ---------------------------------------------------------------------------
    def _show_back_query(self, label: int) -> None:
        model = self._model
        key = (id(model), label)
        if key == self._query_key:  # shown already, or being computed
            return
        self._query_key = key
        if key in self._query_cache:
            self._display_query(*self._query_cache[key], label)
            return
        from core.insight import back_query_applies
        from explorer.figures import backquery

        if not back_query_applies(model.network):  # Rashid's back query: a few matrix products, instant
            image, kind = backquery(model, label)
            self._query_cache[key] = (image, kind)
            self._display_query(image, kind, label)
            return
        self.query_view.set_image(None)
        self.query_view.set_empty_text(f"Computing the optimised input for {model.classes[label]}…")
        if key != self._asked_key or not self.query_job.busy:  # else it is being computed already
            self._asked_key = key
            self.query_job.submit(_optimised_query, key, model, label)

    def _on_query(self, result) -> None:
        key, label, image, kind = result
        self._query_cache[key] = (image, kind)
        if key == self._query_key:  # an answer for an earlier guess is kept but not shown
            self._display_query(image, kind, label)

    def _on_query_failed(self, text: str) -> None:
        if self._asked_key == self._query_key:
            self.query_view.set_empty_text(f"Could not compute the optimised input: {text}")

    def _display_query(self, image: np.ndarray, kind: str, label: int) -> None:
        self.query_view.set_image(np.asarray(image, dtype=np.float64).reshape(IMAGE_SHAPE))
        name = self._model.classes[label] if self._model is not None else str(label)
        self.query_view.set_title(f"{kind.capitalize()} of {name}")

    # --- pictures --------------------------------------------------------------------------------------------
    def open_picture(self, path: str | None = None) -> bool:
        """Load a picture of a digit onto the canvas (undoable); one sentence below the canvas if it fails."""
        path = path or ask_open_image(self)
        if not path:
            return False
        try:
            picture = read_image(path)
        except ValueError as exc:
            self.message_label.setText(str(exc))
            return False
        if ink_bbox(ink_image(picture)[0]) is None:
            self.message_label.setText(f"{path} looks blank: no ink stands out from its background.")
            return False
        self.message_label.setText("")
        self.canvas.set_pixels(picture_to_canvas(picture))
        return True


def _optimised_query(key, model, label: int):
    """The job: (key, label, image, kind) of `explorer.figures.backquery`."""
    from explorer.figures import backquery

    return (key, label, *backquery(model, label))


def _quick_look() -> None:
    """`python -m explorer.panels.draw`: the panel with a model trained for a few seconds on MNIST."""
    import sys

    from PySide6.QtWidgets import QApplication

    from core import datasets
    from core.model_io import Model
    from core.training import TrainConfig, Trainer
    from explorer.state import AppState

    app = QApplication.instance() or QApplication(sys.argv)
    state = AppState()
    dataset = datasets.load("mnist")
    state.set_dataset(dataset)
    print("Training a 784-128-10 network on 20,000 MNIST digits for two epochs…", flush=True)
    trainer = Trainer(TrainConfig(hidden=(128,), epochs=2, train_limit=20_000, seed=0), dataset)
    trainer.fit()
    state.add_loaded_run(Model.from_trainer(trainer, dataset), "quick look")
    panel = DrawPanel(state)
    panel.resize(1000, 600)
    panel.show()
    sys.exit(app.exec())


if __name__ == "__main__":
    _quick_look()
