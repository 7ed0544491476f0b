"""The dataset chooser: MNIST, Fashion-MNIST (greyed, with how to get it, when it is not installed) and every
folder or file the user has opened. Each item's data is the key `core.datasets.load` takes: a name or a path."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox

LABELS = {"mnist": "MNIST (handwritten digits)", "fashion-mnist": "Fashion-MNIST (clothing)"}
KEY_ROLE = Qt.ItemDataRole.UserRole


class DatasetCombo(QComboBox):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("datasetCombo")
        self.setToolTip(
            "The images to train and test on. MNIST (60,000 handwritten digits) ships with the app and is the "
            "place to start; Fashion-MNIST (clothing) is harder: the same network reaches about 87% instead of "
            "98%. File > Open dataset… adds your own IDX, NPZ or CSV files."
        )
        self.refresh_known()

    def refresh_known(self) -> None:
        """(Re)list the known datasets with their availability, keeping opened paths and the selection."""
        from core.datasets import known_datasets

        current = self.current_key()
        extras = self.extra_paths()
        self.blockSignals(True)
        self.clear()
        for entry in known_datasets():
            name = entry["name"]
            self.addItem(LABELS.get(name, name), name)
            index = self.count() - 1
            if entry["available"]:
                sizes = f"{entry['n_train']:,} training and {entry['n_test']:,} test images"
                self.setItemData(index, f"{LABELS.get(name, name)}: {sizes}, from {entry['path']}.",
                                 Qt.ItemDataRole.ToolTipRole)  # fmt: skip
            else:
                item = self.model().item(index)
                item.setEnabled(False)  # greyed: nothing to load yet
                self.setItemText(index, f"{LABELS.get(name, name)}: not installed")
                how = entry.get("how_to_get") or ""
                hint = " Or use File > Download Fashion-MNIST…" if name == "fashion-mnist" else ""
                self.setItemData(index, f"{how}{hint}", Qt.ItemDataRole.ToolTipRole)
        for path in extras:
            self.add_path(path, select=False)
        if current is not None:
            self.select_key(current)
        self.blockSignals(False)

    def is_available(self, key: str) -> bool:
        index = self.findData(key, KEY_ROLE)
        return index >= 0 and self.model().item(index).isEnabled()

    def add_path(self, path: str, select: bool = True) -> int:
        index = self.findData(str(path), KEY_ROLE)
        if index < 0:
            self.addItem(Path(path).name or str(path), str(path))
            index = self.count() - 1
            self.setItemData(index, f"Opened from {path}", Qt.ItemDataRole.ToolTipRole)
        if select:
            self.setCurrentIndex(index)
        return index

    def remove_path(self, path: str) -> None:
        index = self.findData(str(path), KEY_ROLE)
        if index >= 0 and str(path) not in LABELS:
            self.removeItem(index)

    def extra_paths(self) -> list[str]:
        return [
            self.itemData(i, KEY_ROLE)
            for i in range(self.count())
            if self.itemData(i, KEY_ROLE) not in LABELS
        ]

    def current_key(self) -> str | None:
        return self.currentData(KEY_ROLE)

    def select_key(self, key: str) -> bool:
        index = self.findData(str(key), KEY_ROLE)
        if index >= 0:
            self.setCurrentIndex(index)
        return index >= 0

