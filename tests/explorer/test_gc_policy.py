"""Cycles are collected on the GUI thread only (explorer/gc_policy.py), even when another thread makes the garbage
and allocates far past the collector's threshold, as the training thread does."""

from __future__ import annotations

import gc
import threading

from explorer.app import build_window
from explorer.gc_policy import collecting_on_gui_thread


class Cycle:
    """An object in a reference cycle that records the thread its finaliser ran on."""

    finalised_on: list[int] = []

    def __init__(self):
        self.me = self

    def __del__(self):
        Cycle.finalised_on.append(threading.get_ident())


def make_garbage_in_a_thread() -> None:
    def work():
        for _ in range(50):
            Cycle()  # unreachable at once, but only the cyclic collector can free it
        junk = [[i] for i in range(200_000)]  # far past the generation-0 threshold (700 allocations)
        del junk

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()


def test_cycles_made_in_another_thread_are_collected_on_the_gui_thread(qtbot):
    window = build_window()
    qtbot.addWidget(window)
    assert collecting_on_gui_thread() and not gc.isenabled()
    Cycle.finalised_on.clear()
    make_garbage_in_a_thread()
    assert Cycle.finalised_on == []  # the allocating thread did not collect
    qtbot.waitUntil(lambda: len(Cycle.finalised_on) == 50, timeout=5_000)
    assert set(Cycle.finalised_on) == {threading.main_thread().ident}
