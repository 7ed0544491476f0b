"""The steps of scripts/walkthrough.py, run inside one launch of the app (a child process on the real display)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QPoint, Qt, QThreadPool, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit, QPushButton, QWidget


class Driver:
    """Clicks, waits and screenshots on one window."""

    def __init__(self, out: Path):
        from explorer.app import build_window

        self.out = out
        self.app = QApplication.instance() or QApplication(sys.argv[:1])
        self.window = build_window()
        self.count = len(list(out.glob("*.png")))

    # --- waiting --------------------------------------------------------------------------------------------
    def pump(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.app.processEvents()
            time.sleep(0.01)

    def wait(self, condition, timeout: float = 300, what: str = "") -> None:
        end = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > end:
                raise SystemExit(f"walkthrough: gave up waiting for {what or condition}")
            self.app.processEvents()
            time.sleep(0.01)

    def settle(self, seconds: float = 0.6) -> None:
        """Let the panels' jobs (class means, back queries, predictions) come back and be drawn."""
        pool = QThreadPool.globalInstance()
        self.pump(seconds)
        idle_since = None
        end = time.monotonic() + 120
        while time.monotonic() < end:
            self.pump(0.05)
            busy = pool.activeThreadCount() or any(getattr(p, "busy", False) for p in self.window.panels)
            idle_since = None if busy else (idle_since or time.monotonic())
            if idle_since is not None and time.monotonic() - idle_since > 0.4:
                break

    # --- looking --------------------------------------------------------------------------------------------
    def shot(self, step: str) -> Path:
        """The screen as a person sees it (dialogs included: they open over the window), cut to the window."""
        from PySide6.QtGui import QImage

        self.pump(0.3)
        self.count += 1
        path = self.out / f"{self.count:02d}-{step}.png"
        try:
            subprocess.run(["import", "-window", "root", str(path)], check=True, timeout=30,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
            screen = QImage(str(path))
        except (OSError, subprocess.SubprocessError):
            screen = QApplication.primaryScreen().grabWindow(0).toImage()
        frame = self.window.frameGeometry() if self.window.isVisible() else screen.rect()
        screen.copy(frame.intersected(screen.rect())).save(str(path))
        print("saved", path, flush=True)
        return path

    # --- doing ----------------------------------------------------------------------------------------------
    def find(self, name: str, kind=QWidget):
        widget = self.window.findChild(kind, name)
        if widget is None:
            raise SystemExit(f"walkthrough: no widget named {name!r}")
        return widget

    def click(self, widget_or_name, pos: QPoint | None = None) -> None:
        widget = self.find(widget_or_name) if isinstance(widget_or_name, str) else widget_or_name
        QTest.mouseClick(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos or QPoint())
        self.pump(0.05)

    def tab(self, object_name: str) -> QWidget:
        panel = self.find(object_name)
        self.window.tabs.setCurrentWidget(panel)
        self.settle()
        return panel

    def settings(self, recipe: str, images: int, epochs: int) -> None:
        controls = self.window.control_panel
        controls.select_recipe(recipe)
        controls.limit_spin.setValue(images)
        controls.epochs_spin.setValue(epochs)
        self.pump(0.1)

    def train(self, recipe: str, images: int, epochs: int, wait: bool = True):
        self.settings(recipe, images, epochs)
        self.click("trainButton")
        run = self.window.state.runs[-1]
        if wait:
            self.wait(lambda: not self.window.state.training, what=f"{run.name} to finish")
            self.settle()
        return run

    def select_run(self, run) -> None:
        runs_list = self.find("trainingPanel").runs_list
        for i in range(runs_list.topLevelItemCount()):
            item = runs_list.topLevelItem(i)
            if item.data(0, Qt.ItemDataRole.UserRole) == run.run_id:
                rect = runs_list.visualItemRect(item)
                self.click(runs_list.viewport(), rect.center())
        self.wait(lambda: self.window.state.selected_run is run, 10, "the run to be selected")
        self.settle()

    def action(self, name: str) -> None:
        """A menu command, as chosen from the menu (a window without a window manager gets no key focus)."""
        from PySide6.QtGui import QAction

        action = self.window.findChild(QAction, name)
        if action is None:
            raise SystemExit(f"walkthrough: no action named {name!r}")
        action.trigger()
        self.pump(0.1)

    def hover(self, widget: QWidget, fx: float, fy: float) -> None:
        QTest.mouseMove(widget, QPoint(int(widget.width() * fx), int(widget.height() * fy)))
        self.pump(0.3)

    def answer_dialog_later(self, folder: str) -> None:
        """The export's folder dialog is modal: type the folder into it once it is up, and accept."""

        def answer() -> None:
            dialog = QApplication.activeModalWidget()
            if not isinstance(dialog, QFileDialog):
                QTimer.singleShot(200, answer)
                return
            self.shot("export-dialog")
            edit = dialog.findChild(QLineEdit, "fileNameEdit") or dialog.findChild(QLineEdit)
            edit.setText(folder)
            QTest.keyClick(edit, Qt.Key.Key_Return)

        QTimer.singleShot(500, answer)


def journey(d: Driver, images: int) -> None:
    state = d.window.state
    d.shot("launch")

    # Train a ReLU run: watch it, pause, resume, stop it mid-epoch.
    d.settings("keras-dense512", images * 10, 3)
    d.click("trainButton")
    relu_stopped = state.runs[-1]
    d.wait(lambda: len(relu_stopped.history) >= 1 and len(relu_stopped.batch_x) > 200, what="an epoch and a bit")
    d.pump(0.5)
    d.shot("training")
    d.click("pauseButton")
    d.wait(lambda: state.paused, 10, "the pause")
    d.pump(1.0)
    d.shot("paused")
    d.click("pauseButton")
    d.wait(lambda: not state.paused, 10, "the resume")
    d.pump(0.5)
    d.click("stopButton")
    d.wait(lambda: not state.training, 60, "the stop")
    d.settle()
    d.shot("stopped")

    # Two more runs to compare: a sigmoid network (Rashid's) and a full ReLU one.
    sigmoid = d.train("rashid", images, 2)
    relu = d.train("keras-dense512", images, 3)
    d.tab("trainingPanel")
    d.hover(d.find("lossPlot"), 0.35, 0.5)
    d.shot("compare-runs")
    d.hover(d.find("accuracyPlot"), 0.6, 0.4)
    d.shot("hover-accuracy")

    insight_tabs(d, sigmoid, relu)
    deeper_views(d, relu, images)

    # The rotation experiment.
    panel = d.tab("augmentationPanel")
    d.find("experimentLimitSpin").setValue(images)
    d.find("experimentEpochsSpin").setValue(2)
    d.click("experimentRunButton")
    d.wait(lambda: not panel.findChild(QPushButton, "experimentStopButton").isEnabled(), 600, "the experiment")
    d.settle()
    d.shot("rotation-experiment")

    # Draw a 7.
    d.tab("drawPanel")
    canvas = next(w for w in d.find("drawPanel").findChildren(QWidget) if type(w).__name__ == "DrawingCanvas")
    draw(d, canvas, [(0.3, 0.25), (0.7, 0.25), (0.45, 0.8)])
    d.settle()
    d.shot("draw")

    # Export every figure through the real folder dialog.
    folder = Path(tempfile.mkdtemp(prefix="walkthrough-export-")) / "figures"
    d.answer_dialog_later(str(folder))
    d.action("actionExportFigures")  # File > Export figures… (Ctrl+E)
    d.wait(lambda: folder.exists() and any(folder.glob("report.html")), 300, "the export")
    d.settle()
    d.shot("exported")
    print(f"exported {len(list(folder.iterdir()))} files", flush=True)

    quit_while_training(d, images)


def insight_tabs(d: Driver, sigmoid, relu) -> None:
    """Every insight tab on the sigmoid run and on the ReLU run, then the epoch slider."""
    for run, kind in ((sigmoid, "sigmoid"), (relu, "relu")):
        d.tab("trainingPanel")
        d.select_run(run)
        for name, step in (("backQueryPanel", "backquery"), ("weightsPanel", "weights"),
                           ("errorsPanel", "errors"), ("datasetPanel", "dataset")):  # fmt: skip
            d.tab(name)
            d.shot(f"{step}-{kind}")

    # The epoch slider: the ReLU run after its first epoch.
    d.tab("weightsPanel")
    d.find("epochSlider").setValue(1)
    d.settle()
    d.shot("epoch-slider")
    d.find("epochSlider").setValue(d.find("epochSlider").maximum())



def deeper_views(d: Driver, relu, images: int) -> None:
    """The hidden-layer map, the data map and the robustness curves of the ReLU run; then the MLP-vs-CNN lesson
    (one click) and the CNN's filters and feature maps."""
    state = d.window.state
    d.tab("trainingPanel")
    d.select_run(relu)
    for name, step in (("projectionPanel", "map"), ("dataMapPanel", "datamap"), ("robustnessPanel", "robustness")):
        d.tab(name)
        d.settle(2.0)
        d.shot(f"{step}-relu")
    d.settings("keras-dense512", images, 1)  # the lesson keeps the dataset, seed and training-set size
    d.tab("robustnessPanel")
    d.click("lessonButton")
    d.wait(lambda: len(d.window.lesson.runs) == 2 and not d.window.lesson.running and not state.training,
           900, "the MLP-vs-CNN lesson")  # fmt: skip
    d.settle(2.0)
    d.shot("lesson")
    d.tab("weightsPanel")
    d.settle()
    d.shot("weights-cnn")


def quit_while_training(d: Driver, images: int) -> None:
    """Quit while a run trains: the question, then "Stop and quit"."""
    state, window = d.window.state, d.window
    d.tab("trainingPanel")
    d.settings("keras-dense512", images * 10, 5)
    d.click("trainButton")
    training = state.runs[-1]
    d.wait(lambda: len(training.history) >= 1, what="an epoch before quitting")
    d.action("actionQuit")  # File > Quit (Ctrl+Q)
    d.wait(lambda: getattr(window, "quit_question", None) is not None, 10, "the quit question")
    d.pump(0.5)
    d.shot("quit-question")
    box = window.quit_question
    stop = next(b for b in box.buttons() if b.text().replace("&", "") == "Stop and quit")
    d.click(stop)
    d.wait(lambda: not window.isVisible(), 60, "the window to close")


def draw(d: Driver, canvas: QWidget, points) -> None:
    def at(p):
        return QPoint(int(canvas.width() * p[0]), int(canvas.height() * p[1]))

    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(points[0]))
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        for k in range(1, 16):
            t = k / 15
            QTest.mouseMove(canvas, at((x0 + (x1 - x0) * t, y0 + (y1 - y0) * t)))
            d.pump(0.01)
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(points[-1]))


def run_phase(phase: str, out: Path, images: int) -> int:
    d = Driver(out)
    d.window.show()
    d.settle(1.0)
    if phase == "main":
        journey(d, images)
        return 0
    d.shot("relaunch")
    names = [run.name for run in d.window.state.runs]
    print("runs after relaunch:", names, flush=True)
    d.window.close()
    return 0 if names else 3
