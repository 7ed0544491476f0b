"""Back queries: the image the network "imagines" for each label, and whether it recognises it.

Rashid's back query runs a label backwards through an all-sigmoid network (fast: a few matrix products, done on
the GUI thread). For any other network the optimised input takes its place: gradient ascent on the image, a
few hundred forward and backward passes per label, run in a worker. Each picture is fed forward again and the
network's answer is shown under it. The pictures follow `state.modelChanged`, so they change at every epoch's end
while training and whenever the epoch slider moves.

The method follows the selected run: Rashid's back query for an all-sigmoid network, the optimised input for any
other, chosen again whenever another run is selected, unless the user picked a method for that run (remembered
per run). The line at the top says which method is shown and why.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QVBoxLayout, QWidget

from core import insight
from core.convnet import is_convolutional
from core.readers import IMAGE_SHAPE
from explorer.export import attach_export
from explorer.jobs import JobRunner
from explorer.panels.backquery_layout import BACK_QUERY, EMPTY_TEXT, OPTIMISED, build_controls, build_pictures
from explorer.widgets.prob_bars import is_probabilities, short_output_text
from explorer.widgets.tab_caption import TabCaption

SYNC_WEIGHTS = 1_000_000  # back queries of networks up to this many weights run on the GUI thread (~ms)


def describe(model, method: str, chosen: bool) -> str:
    """The tab's one line: what it shows, with which method and why."""
    if model is None:
        return "Back query: the picture the network imagines for each label (train a model to see it)."
    if method == BACK_QUERY:
        why = "you chose it for this run" if chosen else "this network is all sigmoid"
        return f"Back query: Rashid's method, because {why}; each label runs backwards into a picture."
    net = model.network
    if is_convolutional(net):  # Rashid's method has no inverse for a convolution or a max pool: one sentence why
        return (
            "Back query: the optimised input, because Rashid's back query runs a sigmoid MLP's layers backwards "
            "and a convolutional network's filters and pooling cannot be run backwards that way."
        )
    if chosen:
        return "Back query: the optimised input, as you chose for this run: the picture the network is surest of."
    if len(net.weights) > 1 and net.activation != "sigmoid":
        why = f"has {net.activation} layers"
    else:
        why = f"has a {net.output} output"
    return f"Back query: the optimised input, because this network {why}, not all sigmoid (Rashid's method needs that)."


def compute_optimised(network, n_classes: int, steps: int, l2: float, lo: float, hi: float, progress=None) -> dict:
    """Every label's optimised input and the network's outputs for it (a job: `progress` hears of each step, and
    a stale job ends there)."""
    rng = np.random.default_rng(
        0
    )  # the same start every time: only a change of the network moves the picture
    report = (lambda t, total: progress(t, total, "optimising")) if progress is not None else None
    # all labels in one batch: a gradient of ten images costs little more than one (a CNN's: a fifth of ten)
    images = insight.optimised_inputs(network, range(n_classes), steps, l2, lo, hi, rng, on_step=report)
    probs = network.forward(images.astype(network.dtype))
    return {"method": OPTIMISED, "images": images, "probs": probs, "lo": lo, "hi": hi}


def compute_back_queries(network, n_classes: int) -> dict:
    """Every label's back query and the network's outputs for it."""
    images = insight.back_queries(network, n_classes)
    probs = network.forward(images.astype(network.dtype))
    return {"method": BACK_QUERY, "images": images, "probs": probs}


class BackQueryPanel(QWidget):
    title = "Back query"  # the tab's name

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.setObjectName("backQueryPanel")
        self.state = state
        self.model = None
        self.images: np.ndarray | None = None  # (classes, 784) in the input range: what the grid shows
        self.probs: np.ndarray | None = None  # (classes, classes): the network's outputs for each image
        self.shown_method = ""
        self.display_range = (0.0, 1.0)
        self.selected_label = 0
        self._deferred = False  # a computation was asked for while the tab was hidden; showEvent runs it
        self._chosen: dict = {}  # run key -> the method the user picked for that run (else automatic)
        self.job = JobRunner(self)
        self.job.done.connect(self._on_result)
        self.job.failed.connect(self._on_failed)
        self.job.busyChanged.connect(self._on_busy)
        self.job.progress.connect(self._on_progress)

        controls = build_controls(self)

        # what the tab shows, which method and why, in one line (it follows the selected run)
        self.notice = TabCaption(self, "backQueryNotice", describe(None, "", False))

        self._thumbnail_size = 84
        detail = build_pictures(self, self._thumbnail_size)
        self.grid.imageClicked.connect(self.select_label)
        self.grid.installEventFilter(self)  # thumbnails grow with the panel's width

        self.export_buttons = self._attach_exports()
        for button in self.export_buttons:
            controls.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.notice)
        layout.addLayout(controls)
        layout.addWidget(self.grid)
        layout.addLayout(detail, 1)

        self._debounce = QTimer(self, singleShot=True, interval=300)
        self._debounce.timeout.connect(self.recompute)
        self.method_combo.currentIndexChanged.connect(lambda _i: self.recompute())
        self.method_combo.activated.connect(self._on_user_choice)  # the user's pick, not the automatic one
        self.steps_spin.valueChanged.connect(lambda _v: self._debounce.start())
        self.l2_spin.valueChanged.connect(lambda _v: self._debounce.start())
        for key in range(10):  # keys 0-9 enlarge that label's picture
            QShortcut(QKeySequence(str(key)), self, lambda k=key: self.select_label(k)).setContext(
                Qt.ShortcutContext.WidgetWithChildrenShortcut
            )
        state.modelChanged.connect(self.set_model)
        self.set_model(state.model)

    # --- the interface -------------------------------------------------------------------------------------
    @property
    def method(self) -> str:
        return self.method_combo.currentData()

    @property
    def busy(self) -> bool:
        return self.job.busy

    def set_model(self, model) -> None:
        self.model = model
        applies = model is not None and not insight.back_query_applies(model.network)
        item = self.method_combo.model().item(0)
        item.setEnabled(model is None or applies)
        if model is None:
            self.recompute()
            return
        # Rashid's method where it applies, else the optimised input; the user's pick for this run wins
        method = self._chosen.get(self._run_key(), BACK_QUERY if applies else OPTIMISED)
        self._set_method(OPTIMISED if method == BACK_QUERY and not applies else method)  # recomputes

    @property
    def chosen_by_user(self) -> bool:
        """Whether the method shown was picked by the user for the selected run (not chosen automatically)."""
        return self._run_key() in self._chosen

    def select_label(self, label: int) -> None:
        if self.images is None or not 0 <= label < len(self.images):
            return
        self.selected_label = int(label)
        image = self.images[label].reshape(IMAGE_SHAPE)
        self.large_view.set_image(image, levels=self.display_range)
        names = self._class_names()
        method = "back query" if self.shown_method == BACK_QUERY else "optimised input"
        self.large_view.set_title(f"{method} of {names[label]}")
        self.bars.set_probabilities(
            self.probs[label], names, true_label=label, activations=not is_probabilities(self.model)
        )

    def recompute(self) -> None:
        model = self.model
        optimised = self.method == OPTIMISED
        for widget in (self.steps_spin, self.l2_spin, self.steps_label, self.l2_label):
            widget.setEnabled(optimised)
        self.notice.setText(describe(model, self.method, self.chosen_by_user))
        if model is None:
            self.job.cancel()
            self.grid.set_empty_message(EMPTY_TEXT)
            self.large_view.set_empty_text(EMPTY_TEXT)
            self._show(None, None, "")
            return
        net = model.network
        if not optimised:
            self.job.cancel()  # a pending optimised input is stale now
            if sum(w.size for w in getattr(net, "weights", None) or net.params) <= SYNC_WEIGHTS:
                self._on_result(compute_back_queries(net, len(model.classes)))  # a few milliseconds
            else:
                self._submit(compute_back_queries, net, len(model.classes))
            return
        lo, hi = model.input_range()
        self._submit(
            compute_optimised, net, len(model.classes), self.steps_spin.value(), self.l2_spin.value(), lo, hi
        )

    def shutdown(self) -> None:
        """Stop the worker before the window goes away (the main window calls this when it closes)."""
        self.job.shutdown()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._deferred:
            self.recompute()

    # --- internals -----------------------------------------------------------------------------------------
    def _submit(self, func, *args) -> None:
        if not self.isVisible():
            # A hidden tab need not optimise ten inputs after every epoch; showEvent catches up with the newest.
            self.job.cancel()
            self._deferred = True
            return
        self._deferred = False
        if self.images is None:  # nothing drawn yet: say it is being computed, not "train a model"
            working = (
                "Optimising the inputs…" if self.method == OPTIMISED else "Running the labels backwards…"
            )
            self.grid.set_empty_message(working)
            self.large_view.set_empty_text(working)
        if func is compute_optimised:  # seconds: it reports each label, and a stale one stops at the next
            self.job.submit_with_progress(func, *args)
        else:
            self.job.submit(func, *args)

    def eventFilter(self, watched, event) -> bool:
        if watched is self.grid and event.type() == QEvent.Type.Resize:
            # all ten in one row, as large as the width allows; the grid is exactly one row high
            size = int(np.clip(event.size().width() / 10 - 24, 48, 180))
            if size != self._thumbnail_size:
                self._thumbnail_size = size
                self.grid.set_thumbnail_size(size)
            self.grid.setFixedHeight(size + 2 * self.fontMetrics().height() + 28)  # + the grid's margins
        return super().eventFilter(watched, event)

    def _set_method(self, method: str) -> None:
        index = self.method_combo.findData(method)
        if index != self.method_combo.currentIndex():
            self.method_combo.setCurrentIndex(index)  # recomputes
        else:
            self.recompute()

    def _run_key(self):
        run = getattr(self.state, "selected_run", None)
        return None if run is None else getattr(run, "run_id", id(run))

    def _on_user_choice(self, _index: int) -> None:
        if self.model is not None:
            self._chosen[self._run_key()] = self.method
            self.notice.setText(describe(self.model, self.method, True))

    def _class_names(self) -> list[str]:
        if self.model is not None:
            return [str(c) for c in self.model.classes]
        return [str(k) for k in range(10)]

    def _on_result(self, result: dict) -> None:
        if self.model is None or result["method"] != self.method:
            return
        if result["method"] == BACK_QUERY:
            self.display_range = (insight.RASHID_LOW, insight.RASHID_HIGH)
        else:
            # black is the background; white the brightest pixels of the ten (the L2 penalty keeps them dim)
            lo, brightest = result["lo"], float(np.percentile(result["images"], 99.5))
            self.display_range = (lo, brightest if brightest > lo else result["hi"])
        self._show(result["images"], result["probs"], result["method"])

    def _on_failed(self, text: str) -> None:
        self.status_label.setText(f"Could not compute the pictures: {text}")

    def _on_busy(self, busy: bool) -> None:
        working = "Optimising the inputs…" if self.method == OPTIMISED else "Running the labels backwards…"
        self.status_label.setText(working if busy else "")

    def _on_progress(self, done: int, total: int, _what: str) -> None:
        if self.job.busy and self.method == OPTIMISED:
            self.status_label.setText(f"Optimising the inputs… {100 * done // max(total, 1)}%")

    def _show(self, images, probs, method: str) -> None:
        self.images, self.probs, self.shown_method = images, probs, method
        if images is None:
            self.grid.set_images(np.zeros((0, *IMAGE_SHAPE), np.uint8))
            self.large_view.set_image(None)
            self.bars.set_probabilities(None, self._class_names())
            return
        lo, hi = self.display_range
        grey = np.clip((images - lo) / (hi - lo) * 255.0, 0, 255).round().astype(np.uint8)
        pixels = grey.reshape(-1, *IMAGE_SHAPE)
        names = self._class_names()
        predicted = probs.argmax(axis=1)
        as_probability = is_probabilities(self.model)
        captions = [
            f"{names[k]}: sees {names[p]} {short_output_text(probs[k, p], as_probability)}"
            for k, p in enumerate(predicted)
        ]
        self.grid.set_images(pixels, captions, marks=predicted == np.arange(len(images)))
        self.select_label(min(self.selected_label, len(images) - 1))

    def _attach_exports(self):
        buttons = []
        for widget, basename, data_fn, text in (
            (self.grid, "backquery", lambda: self._data(), "Export pictures"),
            (
                self.large_view,
                "backquery_selected",
                lambda: self._data(self.selected_label),
                "Export enlarged",
            ),
        ):
            button = attach_export(widget, basename, data_fn)
            button.setText(text)
            buttons.append(button)
        return buttons

    def _data(self, label: int | None = None):
        if self.images is None:
            return None
        images = self.images.reshape(-1, *IMAGE_SHAPE)
        return images if label is None else images[label]


if __name__ == "__main__":
    from explorer.panels._insight_demo import show_panel

    show_panel(BackQueryPanel)
