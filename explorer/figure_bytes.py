"""File contents for figures: a QImage as PNG, an array as .npy, columns as CSV, a history as columns.

Split from explorer/figures.py, which re-exports them; every figure module writes its files through these.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage


def png_bytes(image: QImage) -> bytes:
    from PySide6.QtCore import QBuffer, QIODevice

    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise OSError(f"Qt could not encode a {image.width()}x{image.height()} image as PNG.")
    return bytes(buffer.data())


def npy_bytes(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def csv_bytes(columns: dict) -> bytes:
    """A dict of equal-length columns as CSV text with a header row (floats at full precision)."""
    import csv
    import io

    names = list(columns)
    lengths = {len(columns[name]) for name in names}
    if len(lengths) > 1:
        raise ValueError(f"the columns have different lengths {sorted(lengths)}")
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(names)
    for row in zip(*(columns[name] for name in names), strict=False):
        writer.writerow([_cell(v) for v in row])
    return text.getvalue().encode("utf-8")


def _cell(value):
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, np.generic):
        return value.item()
    return "" if value is None else value


def history_columns(history: list[dict]) -> dict[str, list]:
    """The per-epoch history as columns (every key any epoch has, in order of first appearance)."""
    keys: list[str] = []
    for entry in history:
        keys.extend(k for k in entry if k not in keys)
    return {k: [entry.get(k) for entry in history] for k in keys}
