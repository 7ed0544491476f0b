"""File > Open dataset… / Open dataset folder… / Download Fashion-MNIST…: dialogs that hand a path (or a freshly
downloaded folder) to the control panel, which loads it off the GUI thread and reports errors as one sentence. The
download runs on a `JobRunner`, its progress in a dialog whose Cancel stops it at the next chunk."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QProgressDialog

from explorer import file_dialogs
from explorer.jobs import JobRunner

FILE_FILTER = "Datasets (*.gz *-ubyte *.idx *.idx1 *.idx3 *.npz *.csv);;All files (*)"


def dataset_key_for(path: str) -> str:
    """An IDX file stands for its folder (the four files belong together); NPZ and CSV files stand for themselves."""
    p = Path(path)
    name = p.name.lower()
    if p.is_file() and ("ubyte" in name or ".idx" in name):
        return str(p.parent)
    return str(p)


class _Cancelled(Exception):
    pass


class DownloadCancelled(Exception):  # noqa: N818 - its message is what the user reads
    """The user cancelled the download; whatever had arrived was removed."""


class DatasetActions(QObject):
    def __init__(self, window, control_panel):
        super().__init__(window)
        self.window = window
        self.control_panel = control_panel
        self._cancel = threading.Event()  # the user's Cancel: the download stops and says so
        self._dialog: QProgressDialog | None = None
        self._name = ""
        self.download_job = JobRunner(self, name="downloadJob")
        self.download_job.progress.connect(self._on_progress)
        self.download_job.done.connect(self._on_done)
        self.download_job.failed.connect(self._on_failed)

    def open_file(self) -> None:
        path = file_dialogs.ask_open_file(  # wide enough for its columns
            self.window, "Open dataset (pick any IDX file to open its folder)", "", FILE_FILTER
        )
        if path:
            self.open_path(dataset_key_for(path))

    def open_folder(self) -> None:
        path = file_dialogs.ask_existing_folder(self.window, "Open a folder holding the four IDX files")
        if path:
            self.open_path(path)

    def open_path(self, key: str) -> None:
        combo = self.control_panel.dataset_combo
        combo.blockSignals(True)
        combo.add_path(key, select=True)
        combo.blockSignals(False)
        self.control_panel.load_dataset(key)

    # --- download ----------------------------------------------------------------------------------------------
    def download(self, name: str) -> None:
        if self._dialog is not None:
            return
        self._cancel, self._name = threading.Event(), name
        dialog = QProgressDialog(f"Downloading {name}…", "Cancel", 0, 100, self.window)
        dialog.setObjectName("downloadDialog")
        dialog.setWindowTitle("Download")
        dialog.setWindowModality(Qt.WindowModality.NonModal)
        dialog.setMinimumDuration(0)
        dialog.canceled.connect(self._cancel.set)
        self._dialog = dialog
        self.download_job.submit_with_progress(_download, name, self._cancel)
        dialog.show()

    def _on_progress(self, done: int, total: int, _what: str) -> None:
        if total > 0 and self._dialog is not None:
            self._dialog.setMaximum(1000)
            self._dialog.setValue(int(1000 * done / total))
            self._dialog.setLabelText(f"Downloading… {done / 2**20:.1f} of {total / 2**20:.1f} MB")

    def _close_dialog(self) -> None:
        if self._dialog is not None:
            self._dialog.reset()
            self._dialog.deleteLater()
            self._dialog = None

    def _on_failed(self, error: str) -> None:
        self._close_dialog()
        self.control_panel.state.show_status(error)
        self.control_panel.show_message(error, "error")

    def _on_done(self, folder) -> None:
        self._close_dialog()
        name = self._name
        state = self.control_panel.state
        combo = self.control_panel.dataset_combo
        combo.refresh_known()
        state.show_status(f"{name} downloaded to {folder}.")
        if combo.is_available(name):
            combo.select_key(name)  # loads it

    def cancel(self) -> None:
        self._cancel.set()


def _download(name: str, cancel: threading.Event, progress):
    """The job: the folder the dataset was downloaded to. DownloadCancelled when the user cancelled; else core's
    DatasetError, which says what went wrong."""
    from core.datasets import download

    def report(done: int, total: int) -> None:
        if cancel.is_set():
            raise _Cancelled()
        progress(done, total, "downloading")  # raises Cancelled when the window closes: the download stops too

    try:
        return download(name, progress=report)
    except Exception as exc:
        if isinstance(exc, _Cancelled) or isinstance(exc.__cause__, _Cancelled) or (
            cancel.is_set() and "cancel" in str(exc).lower()
        ):
            raise DownloadCancelled("Download cancelled; nothing was kept.") from None
        raise
