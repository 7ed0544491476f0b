"""The window's sweep actions: Train › Sweep… (the dialog, then the sweep in the background), Train › Sweep results
(the sweep view in its own window), File › Open sweep… (a `mnist-explorer sweep` folder: its runs join the runs
list), and the status bar's sweep line with Cancel. `install(window)` hooks them into a MainWindow with one call.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QVBoxLayout

from explorer import file_dialogs
from explorer.export import warn
from explorer.jobs import JobRunner
from explorer.sweep_controller import SweepController, SweepStatus, next_sweep_number

OPEN_JOB = "sweepOpenJob"


def ask_sweep_folder(parent) -> str:  # patchable in tests
    return file_dialogs.ask_existing_folder(parent, "Open a sweep's folder (it holds sweep.json)")


def read_sweep(path: str, progress):
    """The job: (folder, [(label, model)], skipped) for a sweep folder; SweepError says what is wrong."""
    from core import model_io
    from core.sweep import SweepError, read_summary, run_label

    folder, summary = read_summary(path)
    keys = [k for k in summary.get("keys", []) if isinstance(k, str)]
    runs, skipped = [], 0
    for i, entry in enumerate(summary["runs"]):
        progress(i, len(summary["runs"]), f"Reading the sweep's models ({i + 1} of {len(summary['runs'])})")
        if not entry.get("model"):
            skipped += 1  # a failed run has no model file
            continue
        try:
            model = model_io.load(folder / entry["model"])
        except model_io.ModelError:
            skipped += 1
            continue
        label = entry.get("label") or run_label(entry["config"], keys)
        runs.append((str(label), model))
    if not runs:
        raise SweepError(f"{folder} holds no run with a readable model file; nothing was opened.")
    return folder, runs, skipped


class SweepActions:
    """What `install` adds to the window; `window.sweeps` after it."""

    def __init__(self, window):
        self.window = window
        self.state = window.state
        self.controller = SweepController(window.state, window.controller, window)
        self.status = SweepStatus(self.controller)
        window.statusBar().addPermanentWidget(self.status)
        self.view_window: QDialog | None = None
        self.dialog = None
        self.controller.finished.connect(self._finished)

    def _finished(self, text: str) -> None:
        if self.view_window is not None:
            self.view.expect(None)
        if not text.startswith("Sweep "):  # it could not start or broke off: say why in a box, not only below
            warn(self.window, text)

    # --- Train › Sweep… -------------------------------------------------------------------------------------
    def open_dialog(self):
        from explorer.sweep_dialog import SweepDialog

        if self.controller.running:
            warn(self.window, "A sweep is already training; cancel it first, or wait for it to end.")
            return None
        if self.state.config is None or self.state.config_error:
            warn(self.window, "Fix the settings on the left first: the sweep starts from them.")
            return None
        self.dialog = SweepDialog(self.state, self.window)
        self.dialog.accepted.connect(lambda d=self.dialog: self.start_from(d))
        self.dialog.open()  # not modal to the app's event loop: training and plots carry on behind it
        return self.dialog

    def start_from(self, dialog) -> str:
        """Start the dialog's sweep; "" when it started, else the sentence (also shown) why not."""
        folder = dialog.folder()
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            refusal = f"{folder} is not an empty folder; choose a new one so nothing in it is overwritten."
        elif dialog.plan is None:
            refusal = "The grid is not valid; fix it first."
        else:
            refusal = self._make(folder) or self.controller.start(dialog.plan, folder, dialog.scheduler.strip() or None,
                                                                  dialog.workers_spin.value())  # fmt: skip
        if refusal:
            warn(self.window, refusal)
            return refusal
        self.show_view().expect(self.controller.number)
        return ""

    def _make(self, folder: Path) -> str:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return f"Cannot create {folder}: {exc.strerror or exc}."
        return ""

    # --- the sweep view ------------------------------------------------------------------------------------
    def show_view(self):
        """The sweep view in its own window (made once, kept while the main window lives)."""
        from explorer.panels.sweep import SweepPanel

        if self.view_window is None:
            self.view_window = QDialog(self.window, objectName="sweepWindow")
            self.view_window.setWindowTitle("Sweep results")
            layout = QVBoxLayout(self.view_window)
            layout.setContentsMargins(0, 0, 0, 0)
            self.view = SweepPanel(self.state, self.view_window)
            layout.addWidget(self.view)
            self.view_window.resize(900, 760)
        self.view.refresh()
        self.view_window.show()
        self.view_window.raise_()
        return self.view

    # --- File › Open sweep… ----------------------------------------------------------------------------------
    def open_sweep(self, path: str | None = None):
        path = path or ask_sweep_folder(self.window)
        if not path:
            return None
        runner = self.window.findChild(JobRunner, OPEN_JOB)
        if runner is None:
            runner = JobRunner(self.window, keep="newest", name=OPEN_JOB)
            runner.failed.connect(lambda text: warn(self.window, text))
            runner.done.connect(lambda result: self._opened(*result))
        self.state.show_status(f"Opening the sweep in {path}…")
        runner.submit_with_progress(read_sweep, str(path))
        return runner

    def _opened(self, folder: Path, runs: list, skipped: int) -> None:
        number = next_sweep_number(self.state.runs)
        for label, model in runs:
            self.state.add_loaded_run(model, f"sweep {number}: {label}")
        note = f" ({skipped} without a model file left out)" if skipped else ""
        self.state.show_status(f"Opened sweep {number} from {folder}: {len(runs)} runs{note}.")
        self.show_view().show_sweep(number)

    def shutdown(self) -> None:
        """Quitting: cancel the sweep and wait for its cluster to close."""
        self.controller.shutdown()


def install(window) -> SweepActions:
    """Add the sweep actions to `window`'s File and Train menus and its status bar."""
    sweeps = SweepActions(window)
    menus = {action.text(): action.menu() for action in window.menuBar().actions()}
    entries = [("&File", "actionOpenSweep", "Open s&weep…", sweeps.open_sweep, "actionLoadModel",
                "Open a sweep made with `mnist-explorer sweep` (its folder): its runs join the runs list"),
               ("&Train", "actionSweep", "S&weep…", sweeps.open_dialog, None,
                "Train a grid of settings in parallel (Dask) and compare the runs"),
               ("&Train", "actionSweepResults", "Sweep &results", sweeps.show_view, None,
                "Show each sweep's settings against test accuracy")]  # fmt: skip
    for menu_text, name, text, slot, after, tip in entries:
        action = QAction(text, window, objectName=name, statusTip=tip, toolTip=tip)
        action.triggered.connect(lambda _checked=False, f=slot: f())
        menu = menus.get(menu_text)
        if menu is None:
            continue
        if name == "actionSweep":
            menu.addSeparator()
        following = _action_after(menu, after)
        if following is not None:
            menu.insertAction(following, action)
        else:
            menu.addAction(action)
    return sweeps


def _action_after(menu, name: str | None):
    """The action just after the one named `name` in `menu` (None: add at the end)."""
    actions = menu.actions()
    for i, action in enumerate(actions):
        if name and action.objectName() == name and i + 1 < len(actions):
            return actions[i + 1]
    return None
