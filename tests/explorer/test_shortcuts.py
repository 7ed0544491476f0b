"""The Help > Keyboard shortcuts list, the README's table and the shortcuts the code really has agree."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QAbstractButton

from explorer.widgets.shortcuts import SHORTCUTS, key_sequences
from tests.explorer.gui_helpers import open_window

README = Path(__file__).resolve().parents[2] / "README.md"


def _text(sequence: QKeySequence) -> str:
    return sequence.toString(QKeySequence.SequenceFormat.PortableText)


def test_the_list_matches_the_shortcuts_in_the_window(qtbot):
    window = open_window(qtbot)
    in_code = set()
    for action in window.findChildren(QAction):
        in_code.update(_text(s) for s in action.shortcuts())
    for shortcut in window.findChildren(QShortcut):
        in_code.add(_text(shortcut.key()))
    for button in window.findChildren(QAbstractButton):
        keys = _text(button.shortcut())
        mnemonic = button.text().partition("&")[2][:1].upper()
        if not (mnemonic and keys == f"Alt+{mnemonic}"):  # Alt+letter from an "&" in the text is no shortcut
            in_code.add(keys)
    in_code.discard("")
    listed = {_text(QKeySequence(keys)) for row, _what in SHORTCUTS for keys in key_sequences(row)}
    assert listed - in_code == set(), "listed but not in the code"
    assert in_code - listed == set(), "in the code but not listed"


def test_the_readme_table_is_the_same_list():
    text = README.read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| ") and line.count("|") == 3]
    table = [tuple(cell.strip() for cell in row.strip("|").split("|")) for row in rows]
    start = table.index(("Keys", "Does"))
    assert table[start + 1 : start + 1 + len(SHORTCUTS)] == [tuple(row) for row in SHORTCUTS]
