"""The status bar's BLAS button: the library NumPy multiplies with, the threads it uses now, and the setting.

While a run trains it shows the threads in force for the latest batch ("BLAS: openblas · 1 of 2 threads
(automatic)"): the core picks them from the free cores (core/threads.py) and re-checks as the load changes.
Its menu fixes the count instead (kept between launches as `training/threads`; 0 = automatic); the setting applies
from the next run (`explorer.settings.thread_setting()`, read by the training controller as it starts a run).
"""

from __future__ import annotations

import os

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu, QToolButton

from explorer.settings import THREADS_KEY, open_settings, thread_setting


def _library() -> tuple[str, int]:
    """The first BLAS library's name and its thread count now."""
    try:
        from threadpoolctl import threadpool_info

        blas = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    except Exception:  # noqa: BLE001 - a status line, never a failure
        blas = []
    if not blas:
        return "unknown", 0
    return str(blas[0].get("internal_api", "?")), int(blas[0].get("num_threads") or 0)


class BlasStatus(QToolButton):
    """A flat status-bar button: "BLAS: openblas · 2 threads (automatic)"; click for the thread setting."""

    def __init__(self, state, parent=None):
        super().__init__(parent, objectName="blasStatus")
        self.setAutoRaise(True)
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        # the menu arrow beside the text, not drawn over its last letter
        self.setStyleSheet(
            "QToolButton { padding-right: 14px; }"
            "QToolButton::menu-indicator { subcontrol-origin: padding; subcontrol-position: center right; }"
        )
        self._name, self._maximum = _library()
        self._shown = None
        self._setting = thread_setting()
        self._build_menu()
        self.show_idle()
        state.trainingProgress.connect(self.show_batch)
        state.trainingFinished.connect(lambda _run: self.show_idle())

    def _build_menu(self) -> None:
        menu = QMenu(self)
        group = QActionGroup(self)
        choices = [(0, "Automatic: as many threads as there are free cores")]
        most = max(self._maximum, os.cpu_count() or 1)
        choices += [(n, f"{n} thread{'s' if n > 1 else ''}") for n in range(1, most + 1)]
        for value, text in choices:
            action = QAction(text, self, checkable=True, checked=value == self._setting)
            action.setData(value)
            action.triggered.connect(lambda _checked=False, v=value: self.choose(v))
            group.addAction(action)
            menu.addAction(action)
        self.setMenu(menu)

    def choose(self, value: int) -> None:
        """Keep `value` (0 = automatic) as the thread setting for new runs."""
        settings = open_settings()
        settings.setValue(THREADS_KEY, int(value))
        settings.sync()
        self._setting = int(value)
        for action in self.menu().actions():
            action.setChecked(action.data() == value)
        self.show_idle()

    def _show(self, text: str, tip: str) -> None:
        if (text, tip) != self._shown:  # the label re-lays out the status bar: only when it changes
            self._shown = (text, tip)
            self.setText(text)
            self.setToolTip(tip)

    def show_idle(self) -> None:
        fixed = self._setting
        setting = f"{fixed} thread{'s' if fixed > 1 else ''}, fixed" if fixed else "automatic"
        self._show(
            f"BLAS: {self._name} · {setting}",
            f"NumPy multiplies with {self._name} ({self._maximum} threads at most). While a run trains the "
            "number of threads follows the free cores: fewer when other programs keep a core busy, since a "
            "thread that waits for the CPU holds up every product. Click to fix the number for new runs.",
        )

    def show_batch(self, event) -> None:
        threads = int(getattr(event, "threads", 0) or 0)
        if not threads:
            return
        how = "fixed by you" if self._setting else "automatic"
        self._show(
            f"BLAS: {self._name} · {threads} of {self._maximum} threads ({how})",
            f"The run uses {threads} BLAS thread{'s' if threads > 1 else ''} now. Automatic means one per free "
            "core (fewer when other programs keep a core busy, re-checked every second) and one for small "
            "products such as batch size 1, where threads cost more than they save. Click to fix the number "
            "for new runs.",
        )
