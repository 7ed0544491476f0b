"""The app's own file dialogs (Qt's widget dialog, as offscreen and on desktops without a native one): a folder
typed for an export is created, not refused, and the dialogs open wide enough for their columns."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QTreeView

from explorer.file_dialogs import FileDialog, FolderDialog


def test_a_typed_new_folder_is_created_when_chosen(qtbot, tmp_path):
    dialog = FolderDialog(None, "Export every figure into a folder", str(tmp_path))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    qtbot.keyClicks(dialog.name_edit, "figs/run 1")
    choose = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Open)
    assert choose.isEnabled()  # Qt's own dialog greys it out for a folder that does not exist yet
    qtbot.mouseClick(choose, Qt.MouseButton.LeftButton)
    assert dialog.result() == FolderDialog.DialogCode.Accepted
    assert (tmp_path / "figs" / "run 1").is_dir() and dialog.created == tmp_path / "figs" / "run 1"
    assert dialog.selectedFiles() == [str(tmp_path / "figs" / "run 1")]


def test_a_folder_that_cannot_be_created_keeps_the_dialog_open(qtbot, tmp_path, monkeypatch):
    from explorer import file_dialogs

    warnings = []
    monkeypatch.setattr(
        file_dialogs.QMessageBox, "warning", lambda parent, title, text: warnings.append(text)
    )
    (tmp_path / "taken").write_text("x")
    dialog = FolderDialog(None, "Export", str(tmp_path))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    qtbot.keyClicks(dialog.name_edit, "taken/inside")
    choose = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Open)
    qtbot.mouseClick(choose, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and len(warnings) == 1 and "is a file" in warnings[0]
    assert (tmp_path / "taken").read_text() == "x"


def test_every_column_fits_its_contents(qtbot, tmp_path):
    for name in ("a_long_model_file_name_here_1.npz", "b.npz"):
        (tmp_path / name).write_bytes(b"x" * 1000)
    dialog = FileDialog(None, "Load model", str(tmp_path), "Models (*.npz)")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.width() >= 800 or dialog.width() >= 0.9 * dialog.screen().availableGeometry().width() - 1
    view = dialog.findChild(QTreeView, "treeView")
    qtbot.waitUntil(lambda: view.model().rowCount(view.rootIndex()) == 2, timeout=5000)
    header = view.header()
    for column in range(header.count()):  # nothing cut: not the dates ("30 11 2…6 10:38"), not the name
        assert header.sectionSize(column) >= view.sizeHintForColumn(column), column
