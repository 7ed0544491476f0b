"""The app's file dialogs: wide enough for their columns, and a folder picker that creates a new folder.

Qt's own folder dialog refuses a folder name that does not exist yet ("figs Directory not found"), though
exporting into a new folder is the usual case; `ask_folder` creates it (and any missing parents) instead. Qt's
widget-based dialog opens at about 630x410 with its Date Modified column cut ("30 11 2...6 10:38"); these open
wider (within the screen) with every column but the name fitted to its contents. Where the desktop supplies its
own native dialog, that one is used as it is (native dialogs size themselves and can create folders).
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import (
    QDialogButtonBox,
    QFileDialog,
    QHeaderView,
    QLineEdit,
    QMessageBox,
    QTreeView,
    QWidget,
)

WIDTH, HEIGHT = 900, 560  # the dialog's first size, shrunk to fit a small screen


class FileDialog(QFileDialog):
    """QFileDialog that starts wide enough to read every column of its detail view."""

    def __init__(self, parent: QWidget | None, caption: str, start: str = "", filters: str = ""):
        super().__init__(parent, caption, start, filters)
        self.setViewMode(QFileDialog.ViewMode.Detail)
        screen = (parent.screen() if parent is not None else self.screen()).availableGeometry()
        self.resize(min(WIDTH, int(screen.width() * 0.9)), min(HEIGHT, int(screen.height() * 0.9)))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        for view in self.findChildren(QTreeView):  # the detail view (absent in a native dialog)
            header = view.header()
            header.setStretchLastSection(False)
            header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
            for column in range(1, header.count()):
                header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)


class FolderDialog(FileDialog):
    """Pick a folder; a name typed for a folder that does not exist yet is created, not refused."""

    def __init__(self, parent: QWidget | None, caption: str, start: str = ""):
        super().__init__(parent, caption, start)
        self.setFileMode(QFileDialog.FileMode.Directory)
        self.setOption(QFileDialog.Option.ShowDirsOnly, True)
        self.created: Path | None = None
        # Qt greys out its Choose button while the typed folder does not exist; connected after Qt's own
        # handler, this turns it back on, so a new folder (even figs/new) can be chosen by click or Enter
        self.name_edit = self.findChild(QLineEdit, "fileNameEdit")
        if self.name_edit is not None:
            self.name_edit.textChanged.connect(self._enable_choose)

    def _enable_choose(self, text: str) -> None:
        box = self.findChild(QDialogButtonBox)
        button = box.button(QDialogButtonBox.StandardButton.Open) if box is not None else None
        if button is not None and text.strip():
            button.setEnabled(True)

    def typed_path(self) -> Path | None:
        """The folder named in the text box (relative to the folder shown), or None when it is empty."""
        text = self.name_edit.text().strip() if self.name_edit is not None else ""
        if not text:
            return None
        path = Path(text).expanduser()
        return path if path.is_absolute() else Path(self.directory().absolutePath()) / path

    def accept(self) -> None:
        chosen = self.typed_path()
        if chosen is not None and not chosen.is_dir():
            problem = (
                f"Cannot export to {chosen}: it is a file, not a folder."
                if chosen.exists()
                else create_folder(chosen)
            )
            if problem:
                QMessageBox.warning(self, self.windowTitle(), problem)
                return
            self.created = chosen
        super().accept()


def create_folder(path: str | Path) -> str:
    """Create `path` and its missing parents; "" on success, else one sentence saying why not."""
    path = Path(path).expanduser()
    try:
        os.makedirs(path, exist_ok=True)
    except FileExistsError:
        return f"Cannot create the folder {path}: a file of that name is in the way."
    except NotADirectoryError:
        return f"Cannot create the folder {path}: part of that path is a file, not a folder."
    except OSError as exc:
        return f"Cannot create the folder {path}: {exc.strerror or exc}."
    return ""


def ask_folder(parent: QWidget | None, caption: str, start: str = "") -> str:
    """A folder the user chose or typed (created if new), or "" if cancelled."""
    dialog = FolderDialog(parent, caption, start)
    return dialog.selectedFiles()[0] if dialog.exec() and dialog.selectedFiles() else ""


def ask_existing_folder(parent: QWidget | None, caption: str, start: str = "") -> str:
    """An existing folder to read from (nothing is created), or "" if cancelled."""
    dialog = FileDialog(parent, caption, start)
    dialog.setFileMode(QFileDialog.FileMode.Directory)
    dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
    return dialog.selectedFiles()[0] if dialog.exec() and dialog.selectedFiles() else ""


def ask_open_file(parent: QWidget | None, caption: str, start: str, filters: str) -> str:
    dialog = FileDialog(parent, caption, start, filters)
    dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
    return dialog.selectedFiles()[0] if dialog.exec() and dialog.selectedFiles() else ""


def ask_save_file(
    parent: QWidget | None, caption: str, start: str, filters: list[str], selected: str = ""
) -> tuple[str, str]:
    """(path, the filter chosen) or ("", "") if cancelled; a start path's file name is offered."""
    dialog = FileDialog(parent, caption, str(Path(start).parent) if start else "", ";;".join(filters))
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setFileMode(QFileDialog.FileMode.AnyFile)
    if selected or filters:
        dialog.selectNameFilter(selected or filters[0])
    if start:
        dialog.selectFile(Path(start).name)
    if not dialog.exec() or not dialog.selectedFiles():
        return "", ""
    return dialog.selectedFiles()[0], dialog.selectedNameFilter()
