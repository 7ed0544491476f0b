"""GUI test setup: each test's background jobs finish before the next test starts.

Panels compute in the global QThreadPool; a job left running by one test would otherwise compete for the two
cores with the next test's training and skew its measurement of how long the GUI thread was blocked.
"""

import pytest


@pytest.fixture(autouse=True, scope="session")
def _collect_cycles_on_the_gui_thread(qapp):
    """As in the app (explorer/gc_policy.py): no garbage collection in training or job threads."""
    from explorer.gc_policy import collect_on_gui_thread

    collect_on_gui_thread()


@pytest.fixture(autouse=True)
def _drain_background_jobs():
    yield
    from PySide6.QtCore import QThreadPool
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is not None:
        QThreadPool.globalInstance().waitForDone(10_000)
        app.processEvents()
