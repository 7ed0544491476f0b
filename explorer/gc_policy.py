"""Python's cyclic garbage collector runs on the GUI thread, at moments the event loop chooses.

CPython collects cycles in whichever thread crosses the allocation threshold. While a run trains that is usually
the training thread (it makes a few Python objects every batch), and a collection there destroys whatever Qt
objects sit in unreachable cycles (finished workers, their signal objects, timers of earlier waits) from the wrong
thread. Qt does not allow that, and a full test run once hung in a collection. So automatic collection is off and
pyqtgraph's `GarbageCollector` (the pattern calibre and pyqtgraph use) collects on a GUI-thread timer instead.

`gc.freeze()` first moves the objects alive after start-up (modules, the window's widgets) out of the collector's
sight, so the collections the timer makes stay short (a few milliseconds) and never stall the window.
"""

from __future__ import annotations

import gc

CHECK_INTERVAL = 0.25  # seconds between the timer's looks at the collector's counts

_collector = None


def collect_on_gui_thread():
    """Start collecting cycles on the GUI thread only (once per process; call it from the GUI thread after the
    QApplication exists). Returns the collector; it lives as long as the process."""
    global _collector
    if _collector is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        gc.collect()
        gc.freeze()
        _collector = GarbageCollector(interval=CHECK_INTERVAL)
    return _collector


def collecting_on_gui_thread() -> bool:
    """True once `collect_on_gui_thread` has taken over from the automatic collector."""
    return _collector is not None and not gc.isenabled()
