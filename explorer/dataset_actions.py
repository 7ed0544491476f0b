"""File > Open dataset… / Open dataset folder… / Download Fashion-MNIST…: dialogs that hand a path (or a freshly
downloaded folder) to the control panel, which loads it in a worker and reports errors as one sentence."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QProgressDialog
from superqt.utils import create_worker

from explorer import file_dialogs

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


class _DownloadSignals(QObject):
    progressed = Signal(int, int)  # done bytes, total bytes (emitted from the worker thread: queued)


class DatasetActions(QObject):
    def __init__(self, window, control_panel):
        super().__init__(window)
        self.window = window
        self.control_panel = control_panel
        self._cancel = threading.Event()
        self._dialog: QProgressDialog | None = None

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
        self._cancel = threading.Event()
        signals = _DownloadSignals(self)
        dialog = QProgressDialog(f"Downloading {name}…", "Cancel", 0, 100, self.window)
        dialog.setObjectName("downloadDialog")
        dialog.setWindowTitle("Download")
        dialog.setWindowModality(Qt.WindowModality.NonModal)
        dialog.setMinimumDuration(0)
        dialog.canceled.connect(self._cancel.set)
        signals.progressed.connect(lambda done, total: self._on_progress(dialog, done, total))
        self._dialog = dialog
        cancel = self._cancel

        def progress(done: int, total: int) -> None:
            if cancel.is_set():
                raise _Cancelled()
            signals.progressed.emit(int(done), int(total))

        worker = create_worker(_download, name, progress, _start_thread=False)
        worker.returned.connect(lambda result: self._on_done(name, result))
        worker.start()
        dialog.show()

    def _on_progress(self, dialog, done: int, total: int) -> None:
        if total > 0:
            dialog.setMaximum(1000)
            dialog.setValue(int(1000 * done / total))
            dialog.setLabelText(f"Downloading… {done / 2**20:.1f} of {total / 2**20:.1f} MB")

    def _on_done(self, name: str, result) -> None:
        if self._dialog is not None:
            self._dialog.reset()
            self._dialog.deleteLater()
            self._dialog = None
        folder, error = result
        state = self.control_panel.state
        if error:
            state.statusMessage.emit(error)
            self.control_panel.show_message(error, "error")
            return
        combo = self.control_panel.dataset_combo
        combo.refresh_known()
        state.statusMessage.emit(f"{name} downloaded to {folder}.")
        if combo.is_available(name):
            combo.select_key(name)  # loads it

    def cancel(self) -> None:
        self._cancel.set()


def _download(name: str, progress):
    """Runs in a worker: (folder, "") or (None, one sentence). Never raises."""
    from core.datasets import download

    try:
        return download(name, progress=progress), ""
    except _Cancelled:
        return None, "Download cancelled; nothing was kept."
    except Exception as exc:  # noqa: BLE001 - DatasetError says what went wrong; the cancel arrives wrapped too
        if "cancel" in str(exc).lower() or isinstance(exc.__cause__, _Cancelled):
            return None, "Download cancelled; nothing was kept."
        text = str(exc).strip() or type(exc).__name__
        return None, text if text.endswith(".") else text + "."
