"""A guard against PySide6 6.12's reference-count bug on Python 3.11 and older.

PySide6 6.12.0 (abi3 wheels) returns None, True and False to Python without taking a reference, as if they were
immortal (which they are only from Python 3.12). On 3.10/3.11 every void Qt call (`setValue`, `processEvents`, a
pyqtgraph `setData`...) and every `Signal.emit()` then drops one reference that it never took, and after a few
thousand calls the interpreter aborts with "Fatal Python error: none_dealloc: deallocating None" (or
bool_dealloc). Measured here: `QApplication.processEvents()` -1 reference to None per call, `Signal.emit()` -1
to True per call.

The interpreter never frees these three singletons, so giving them a huge surplus of references (2**40: no app
run makes that many calls) makes them effectively immortal, as Python 3.12 does, and the lost references harmless.
On 3.12+ nothing is done: the objects are immortal already and their refcount field has another meaning.
"""

from __future__ import annotations

import ctypes
import sys

_SURPLUS = 1 << 40
_applied = False


def immortalize_singletons() -> None:
    global _applied
    if _applied or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return
    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += _SURPLUS
    _applied = True


immortalize_singletons()
