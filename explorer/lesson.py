"""The lesson: an MLP and a CNN on moved digits, one click away (Train › Lesson…, or the Robustness tab's button).

A multilayer perceptron sees a digit moved two pixels as a new picture; a convolutional network, whose filters slide
over the image and whose pooling forgets small moves, does not. The lesson trains the keras-dense512 MLP and the
keras-convnet CNN on the current dataset, one after the other, through the one training controller (each is an
ordinary run: `AppState.request_training`), ticks both, and opens the Robustness tab on shifted digits, where the
two curves part. Both runs get the same epochs and seed; everything else is their recipe's.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QPushButton, QWidget

from core import recipes
from explorer.runs import TrainRequest

LESSON_EPOCHS = 2  # each network; the CNN's two epochs take about a minute and a half on two cores
RECIPES = (("MLP", "keras-dense512"), ("CNN", "keras-convnet"))
PERTURBATION = "shift"  # what the Robustness tab shows when the lesson ends
TIP = ("Train an MLP (keras-dense512) and a CNN (keras-convnet) for 2 epochs each on the current dataset, then "
       "compare them on shifted, rotated, noisy and thickened digits in the Robustness tab")  # fmt: skip


def lesson_configs(base, epochs: int = LESSON_EPOCHS) -> list[tuple[str, object]]:
    """(run name, TrainConfig) for the two runs: each recipe with the base's dataset, seed and training-set size."""
    configs = []
    for kind, recipe in RECIPES:
        config = recipes.config(recipe, epochs=epochs, dataset=base.dataset, seed=base.seed,
                                train_limit=base.train_limit)  # fmt: skip
        configs.append((f"lesson: {kind} ({recipe})", config))
    return configs


class MlpCnnLesson(QObject):
    """Runs the two trainings in turn; `ended(sentence)` when both have, or when one could not start or stopped."""

    started = Signal()
    ended = Signal(str)

    def __init__(self, state, parent: QObject | None = None):
        super().__init__(parent)
        self.state = state
        self.runs: list = []
        self._queue: list = []
        state.trainingFinished.connect(self._on_run_finished)

    @property
    def running(self) -> bool:
        return bool(self._queue) or any(run.status in ("training", "paused") for run in self.runs)

    def start(self) -> str:
        """Start the lesson; "" or one sentence saying why it cannot start now."""
        if self.running:
            return "The lesson is already training."
        if self.state.training:
            return "A run is training; stop it or wait for it to end, then start the lesson."
        if self.state.dataset is None or self.state.config is None:
            return "Open a dataset first."
        self._queue = lesson_configs(self.state.config)
        self.runs = []
        self.started.emit()
        return self._start_next()

    def _start_next(self) -> str:
        name, config = self._queue.pop(0)
        request = TrainRequest(config, name=name)
        self.state.request_training(request)  # the training controller starts it, or says why not
        if request.run is None:
            self._queue.clear()
            refusal = request.refusal or "The lesson could not start its run."
            self.ended.emit(refusal)
            return refusal
        self.runs.append(request.run)
        self.state.show_status(f"Lesson: training the {name.split(': ')[1]}; the other follows.")
        return ""

    def _on_run_finished(self, run) -> None:
        if run not in self.runs:
            return
        if run.status != "completed":
            self._queue.clear()
            self.ended.emit(f"The lesson stopped: {run.name} ended {run.status}; its epochs are in the runs list.")
            return
        if self._queue:
            self._start_next()
            return
        for lesson_run in self.runs:
            self.state.set_run_visible(lesson_run, True)
        self.ended.emit("Lesson done: the Robustness tab compares the MLP and the CNN on moved digits.")


def install(window) -> MlpCnnLesson:
    """Add Train › Lesson… and the Robustness tab's button to `window`; when the lesson ends, show that tab."""
    lesson = MlpCnnLesson(window.state, window)
    action = QAction("&Lesson: an MLP and a CNN on moved digits", window, objectName="actionLessonMlpCnn",
                     statusTip=TIP, toolTip=TIP)  # fmt: skip
    action.triggered.connect(lambda _checked=False: _start(window, lesson))
    train_menu = next((a.menu() for a in window.menuBar().actions() if a.text() == "&Train"), None)
    if train_menu is not None:
        train_menu.addSeparator()
        train_menu.addAction(action)
    panel = window.findChild(QWidget, "robustnessPanel")
    if panel is not None and hasattr(panel, "controls"):
        button = QPushButton("MLP vs CNN lesson", objectName="lessonButton", toolTip=TIP)
        button.clicked.connect(lambda _checked=False: _start(window, lesson))
        panel.controls.insertWidget(panel.controls.count() - 1, button)
        lesson.started.connect(lambda: button.setEnabled(False))
        lesson.ended.connect(lambda _text: button.setEnabled(True))
    lesson.ended.connect(lambda text: _show_result(window, panel, text))
    return lesson


def _start(window, lesson: MlpCnnLesson) -> None:
    refusal = lesson.start()
    if refusal:
        window.state.show_status(refusal)


def _show_result(window, panel, text: str) -> None:
    window.state.show_status(text)
    if panel is not None and text.startswith("Lesson done"):
        panel.set_perturbation(PERTURBATION)
        window.tabs.setCurrentWidget(panel)
