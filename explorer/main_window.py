"""The main window: the control panel on the left, the panels (panel_classes()) as tabs, menus, a toolbar, a status bar.

`build_window()` (in explorer/app.py) returns it ready, MNIST loaded; `run_app(argv)` there shows it and runs the event
loop. The window remembers the dataset, the configuration, its geometry and every splitter between launches.
"""

from __future__ import annotations

import sys
import traceback

from PySide6.QtCore import QByteArray, QRect, QSize, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QToolBar,
    QWidget,
)

from explorer import actions, lesson, sweep_actions, version
from explorer import settings as app_settings
from explorer.dataset_actions import DatasetActions
from explorer.jobs import shutdown_all
from explorer.panels import panel_classes
from explorer.panels.controls import ControlPanel
from explorer.state import AppState
from explorer.widgets.blas_status import BlasStatus
from explorer.widgets.epoch_slider import EpochSlider
from explorer.widgets.shortcuts import ShortcutsDialog
from explorer.worker import TrainingController

APP_TITLE = "MNIST Explorer"
DELEGATED = {  # objectName -> (menu text, shortcut, function in explorer.actions, called with the window)
    "actionLoadModel": ("&Load model…", "Ctrl+L", "load_model"),
    "actionSaveModel": ("&Save model…", "Ctrl+S", "save_model"),
    "actionExportFigures": ("&Export figures…", "Ctrl+E", "export_figures"),
    "actionExportReport": ("Export &report…", "Ctrl+Shift+E", "export_report"),
}


class MainWindow(QMainWindow):
    def __init__(self, state: AppState | None = None, parent=None):
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setWindowTitle(APP_TITLE)
        self.state = state or AppState(self)
        self.controller = TrainingController(self.state, self)
        self.control_panel = ControlPanel(self.state, self.controller)
        self.datasets = DatasetActions(self, self.control_panel)

        scroll = QScrollArea(objectName="controlScroll", widgetResizable=True)
        scroll.setWidget(self.control_panel)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(300)
        self.tabs = QTabWidget(objectName="panelTabs", documentMode=True)
        self.panels = []
        for panel_class in panel_classes():
            self._add_panel(panel_class)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, objectName="mainSplitter")
        self.splitter.addWidget(scroll)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([330, 1070])
        self.setCentralWidget(self.splitter)

        self._build_actions()
        self._build_menus()
        self._build_status_bar()
        self.sweeps = sweep_actions.install(self)  # Train › Sweep…, File › Open sweep…, the sweep status line
        self.lesson = lesson.install(self)  # Train › Lesson: an MLP and a CNN on moved digits
        self.toolbar = QToolBar("Main", objectName="mainToolBar", movable=False)
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for action in (self.action_train, self.action_pause, self.action_stop):
            self.toolbar.addAction(action)
        self.toolbar.addSeparator()
        self.epoch_slider = EpochSlider(self.state, self.toolbar)  # the epoch every insight panel shows
        self.toolbar.addWidget(self.epoch_slider)
        self.addToolBar(self.toolbar)
        self.setGeometry(initial_geometry(QApplication.primaryScreen()))  # fits the screen, however scaled

        s = self.state
        s.statusMessage.connect(lambda text: self.statusBar().showMessage(text, 8000))
        s.trainingFailed.connect(lambda text: self.statusBar().showMessage(text, 15000))
        s.datasetChanged.connect(self._show_dataset)
        s.epochEnded.connect(self._show_epoch)
        s.pausedChanged.connect(lambda paused: self.action_pause.setText("&Resume" if paused else "&Pause"))
        self.control_panel.buttonsChanged.connect(self._sync_actions)
        self._sync_actions()
        self.quit_question: QMessageBox | None = None  # open while "Quit while training?" waits for an answer
        self._quit_confirmed = False

    def _add_panel(self, panel_class) -> None:
        try:
            panel = panel_class(self.state)
        except Exception as exc:  # noqa: BLE001 - one broken panel must not take the app down
            traceback.print_exc()
            panel = QLabel(f"This panel could not start: {exc}", alignment=Qt.AlignmentFlag.AlignCenter)
            panel.setObjectName(f"broken{panel_class.__name__}")
        title = getattr(panel_class, "title", None) or panel_class.__name__.removesuffix("Panel")
        self.panels.append(panel)
        self.tabs.addTab(panel, title)

    # --- actions and menus -------------------------------------------------------------------------------------
    def _action(self, text: str, name: str, shortcut: str | None, slot, tip: str = "") -> QAction:
        action = QAction(text, self, objectName=name)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(f"{tip} ({shortcut})" if shortcut else tip)
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work even when the menu bar is hidden
        return action

    def _build_actions(self) -> None:
        cp = self.control_panel
        self.action_train = self._action("&Train", "actionTrain", "Ctrl+T", cp.train, "Start a new run")
        self.action_pause = self._action("&Pause", "actionPause", "Space", self.controller.toggle_pause,
                                         "Pause or resume the run")  # fmt: skip
        self.action_stop = self._action("&Stop", "actionStop", "Esc", self.controller.stop,
                                        "Stop the run, keeping its weights")  # fmt: skip
        self.action_open_dataset = self._action(
            "&Open dataset…", "actionOpenDataset", "Ctrl+O", self.datasets.open_file,
            "Open a dataset file (IDX, NPZ or CSV); pick any IDX file to open its folder",
        )  # fmt: skip
        self.action_open_folder = self._action(
            "Open dataset &folder…", "actionOpenDatasetFolder", "Ctrl+Shift+O", self.datasets.open_folder,
            "Open a folder holding the four IDX files",
        )  # fmt: skip
        self.action_download = self._action(
            "&Download Fashion-MNIST…", "actionDownloadFashion", None, lambda: self.datasets.download("fashion-mnist"),
            "Download Fashion-MNIST (30 MB) from its canonical mirrors",
        )  # fmt: skip
        self.delegated: dict[str, QAction] = {}
        for name, (text, shortcut, function) in DELEGATED.items():
            slot = lambda _checked=False, f=function: getattr(actions, f)(self)  # noqa: E731
            self.delegated[name] = self._action(text, name, shortcut, slot, text.replace("&", "").rstrip("…"))
        self.action_quit = self._action("&Quit", "actionQuit", "Ctrl+Q", self.request_quit, "Quit MNIST Explorer")
        self.action_shortcuts = self._action("&Keyboard shortcuts", "actionShortcuts", "F1", self.show_shortcuts,
                                             "List the keyboard shortcuts")  # fmt: skip
        self.action_about = self._action(
            "&About", "actionAbout", None, self.show_about, "About MNIST Explorer"
        )

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        for action in (self.action_open_dataset, self.action_open_folder, self.action_download):
            file_menu.addAction(action)
        file_menu.addSeparator()
        for action in self.delegated.values():
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(self.action_quit)
        view_menu = bar.addMenu("&View")
        for index in range(self.tabs.count()):
            text = self.tabs.tabText(index)
            shortcut = f"Ctrl+{(index + 1) % 10}" if index < 10 else None  # Ctrl+1 … Ctrl+9, then Ctrl+0
            action = self._action(text, f"actionView{text.replace(' ', '')}", shortcut,
                                  lambda _c=False, i=index: self.tabs.setCurrentIndex(i), f"Show the {text} tab")  # fmt: skip
            view_menu.addAction(action)
        train_menu = bar.addMenu("&Train")
        for action in (self.action_train, self.action_pause, self.action_stop):
            train_menu.addAction(action)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.action_shortcuts)
        help_menu.addAction(self.action_about)

    def _sync_actions(self) -> None:
        cp = self.control_panel
        self.action_train.setEnabled(cp.train_button.isEnabled())
        self.action_pause.setEnabled(cp.pause_button.isEnabled())
        self.action_stop.setEnabled(cp.stop_button.isEnabled())

    # --- status bar --------------------------------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.dataset_status = QLabel(objectName="datasetStatus")
        self.blas_status = BlasStatus(self.state)
        self.epoch_status = QLabel("no epoch trained yet", objectName="epochStatus")
        for label in (self.dataset_status, self.blas_status, self.epoch_status):
            label.setContentsMargins(8, 0, 8, 0)
            bar.addPermanentWidget(label)

    def _show_dataset(self, dataset) -> None:
        if dataset is None:
            self.dataset_status.setText("no dataset")
            return
        self.dataset_status.setText(f"{dataset.name} · {dataset.n_train:,} train · {dataset.n_test:,} test")
        self.dataset_status.setToolTip(f"Loaded from {dataset.source}")

    def _show_epoch(self, run, event) -> None:
        self.epoch_status.setText(
            f"last epoch {event.epoch_seconds:.1f} s · {event.samples_per_second:,.0f} samples/s"
        )

    # --- dialogs -----------------------------------------------------------------------------------------------
    def show_shortcuts(self) -> None:
        if not hasattr(self, "_shortcuts_dialog"):
            self._shortcuts_dialog = ShortcutsDialog(self)
        self._shortcuts_dialog.show()
        self._shortcuts_dialog.raise_()

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            f"About {APP_TITLE}",
            f"<h3>{APP_TITLE} {version()}</h3><p>Watch a neural network written from scratch in NumPy learn MNIST and "
            "Fashion-MNIST, and look inside it: back queries, weight templates, the digits it gets wrong.</p>"
            "<p>PySide6 · pyqtgraph · NumPy · SciPy. MNIST by Yann LeCun, Corinna Cortes and Christopher "
            "Burges; Fashion-MNIST by Zalando Research.</p>",
        )

    # --- session -----------------------------------------------------------------------------------------------
    def restore_session(self) -> None:
        """Load the last dataset (synchronously: it is cached) and configuration, geometry and splitters."""
        from core import datasets

        store = app_settings.open_settings()
        for path in app_settings.string_list(store, "datasets/extra"):
            self.control_panel.dataset_combo.add_path(path, select=False)
        key = store.value("dataset", "mnist") or "mnist"
        try:
            dataset = datasets.load(key)
        except Exception as exc:  # noqa: BLE001 - fall back to the bundled MNIST, say why
            self.statusBar().showMessage(f"Could not reopen {key}: {exc} Loaded MNIST instead.", 15000)
            dataset = datasets.load("mnist")
        if key not in ("mnist", "fashion-mnist"):
            self.control_panel.dataset_combo.add_path(key, select=False)
        self.state.set_dataset(dataset)
        config = app_settings.config_from_json(store.value("config"))
        recipe = store.value("recipe") or None
        if config is not None:
            self.control_panel.restore(recipe, config)
        self.state.open_run_store()  # the runs of earlier sessions come back; from now on every run is kept
        if store.value("window/geometry") is not None:
            self.restoreGeometry(_bytes(store.value("window/geometry")))
        if store.value("window/state") is not None:
            self.restoreState(_bytes(store.value("window/state")))
        # Splitters restore into their real size: lay the (still hidden) window out at its restored geometry first.
        self.layout().activate()
        for widget in self.findChildren(QWidget):
            if widget.layout() is not None:
                widget.layout().activate()
        for splitter in self.findChildren(QSplitter):
            saved = store.value(f"splitters/{splitter.objectName()}") if splitter.objectName() else None
            if saved is not None:
                splitter.restoreState(_bytes(saved))

    def save_session(self) -> None:
        store = app_settings.open_settings()
        dataset = self.state.dataset
        if dataset is not None:
            key = dataset.name if dataset.name in ("mnist", "fashion-mnist") else dataset.source
            store.setValue("dataset", key)
        store.setValue("datasets/extra", self.control_panel.dataset_combo.extra_paths())
        if self.state.config is not None:
            store.setValue("config", app_settings.config_to_json(self.state.config))
        store.setValue("recipe", self.control_panel.recipe or "")
        store.setValue("window/geometry", self.saveGeometry())
        store.setValue("window/state", self.saveState())
        for splitter in self.findChildren(QSplitter):
            if splitter.objectName():
                store.setValue(f"splitters/{splitter.objectName()}", splitter.saveState())
        store.sync()

    def request_quit(self) -> None:
        """The Quit action: while a run trains, ask first (`ask_quit`); otherwise close."""
        if self.state.training_runs:
            self.ask_quit()
        else:
            self.close()

    def ask_quit(self) -> QMessageBox:
        """Ask "Stop and quit" or "Keep training" without blocking (the run trains on meanwhile); the box stays
        reachable as `self.quit_question` until answered."""
        if self.quit_question is not None:
            return self.quit_question
        names = [run.name for run in self.state.training_runs] or ["The run"]
        box = QMessageBox(QMessageBox.Icon.Question, "Quit while training?",
                          f"{' and '.join(names)} {'is' if len(names) == 1 else 'are'} still training.", parent=self)  # fmt: skip
        box.setObjectName("quitQuestion")
        box.setInformativeText("Either way the epochs finished so far are kept: they are back in the runs list "
                               "when the app starts again.")  # fmt: skip
        stop = box.addButton("Stop and quit", QMessageBox.ButtonRole.AcceptRole)
        keep = box.addButton("Keep training", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        box.finished.connect(lambda _result: self._on_quit_answer(box, stop))
        self.quit_question = box
        box.open()
        return box

    def _on_quit_answer(self, box: QMessageBox, stop_button) -> None:
        self.quit_question = None
        box.deleteLater()
        if box.clickedButton() is stop_button:
            self._quit_confirmed = True
            self.close()

    def closeEvent(self, event) -> None:
        # A close the user asked for (the title bar's button) while a run trains: ask first. A close from code
        # (tests, automation, the answer "Stop and quit") goes ahead.
        if event.spontaneous() and self.state.training_runs and not self._quit_confirmed:
            event.ignore()
            self.ask_quit()
            return
        # Stop training first: the worker thread must end before the window (and its state) goes away. Ask now,
        # wait below, so the run winds down while the panels stop their own jobs.
        self.controller.request_shutdown()
        self.sweeps.controller.cancel()  # every task of a sweep; its cluster closes below
        self.datasets.cancel()
        # Every panel (and widget) with workers drops its pending answers and waits for its running jobs, so no
        # job reports to a deleted window ("Signal source has been deleted") after the window is gone.
        for widget in self.findChildren(QWidget):
            shutdown = getattr(widget, "shutdown", None)
            if callable(shutdown):
                shutdown()
        if not self.controller.shutdown(timeout_ms=1000):
            print("warning: the training thread did not end within a second", file=sys.stderr)
        if not self.sweeps.controller.shutdown(timeout=15.0):
            print("warning: the sweep's cluster did not close within 15 seconds", file=sys.stderr)
        # Every other background job runs on a JobRunner under this window (class means, a model being read, an
        # export): drop their answers and wait for the running ones, this window's only (not other windows')
        shutdown_all(self, timeout_ms=3000)
        if not self.state.close_run_store(timeout=5.0):  # a run still training is saved as stopped
            print("warning: the runs folder was still being written after 5 seconds", file=sys.stderr)
        try:
            self.save_session()
        except Exception:  # noqa: BLE001 - a settings file we cannot write must not block quitting
            traceback.print_exc()
        super().closeEvent(event)


PREFERRED_SIZE = QSize(1400, 900)
FRAME_ALLOWANCE = QSize(16, 40)  # the window manager's borders and title bar, outside the window's own geometry


def initial_geometry(screen) -> QRect:
    """The first window: 1400x900 where the screen has room, else the screen's available area less the frame
    (a 1920x1080 laptop at 150% gives Qt 1280x720), centred on it."""
    if screen is None:
        return QRect(0, 0, PREFERRED_SIZE.width(), PREFERRED_SIZE.height())
    available = screen.availableGeometry()
    size = PREFERRED_SIZE.boundedTo(available.size() - FRAME_ALLOWANCE)
    rect = QRect(0, 0, size.width(), size.height())
    rect.moveCenter(available.center())
    rect.moveTop(max(available.top() + FRAME_ALLOWANCE.height() - 8, rect.top()))
    return rect


def _bytes(value) -> QByteArray:
    return value if isinstance(value, QByteArray) else QByteArray(value)
