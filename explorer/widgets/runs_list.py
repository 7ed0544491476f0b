"""The runs list: one row per run with its colour, name, settings, test accuracy, time and status.

The checkbox shows or hides a run's curves; double-click the name to rename it; Delete (or the context menu)
removes it (and its saved files); the context menu also exports a run's metrics as CSV; selecting a row makes it
`state.selected_run`, which the insight panels follow. Under it, `RunsDiskUsage` says how much disk the saved runs
take and holds the limit.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)

from explorer.widgets.config_fields import config_summary, format_duration
from explorer.widgets.epoch_slider import epochs_trained

RUN_ROLE = Qt.ItemDataRole.UserRole
COLUMNS = ["Run", "Test accuracy", "Time", "Status", "Settings"]


def _swatch(colour: str) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(QColor(colour))
    return QIcon(pixmap)


class RunsList(QTreeWidget):
    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.setObjectName("runsList")
        self.state = state
        self.setColumnCount(len(COLUMNS))
        self.setHeaderLabels(COLUMNS)
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setToolTip("Every run you train. Tick to show its curves, double-click a name to rename it, Delete to "
                        "remove it; the selected run is the one the other tabs look inside.")  # fmt: skip
        header = self.header()
        header.setStretchLastSection(True)
        for column in range(len(COLUMNS) - 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self._syncing = False
        self._last_batch_refresh = 0.0
        self.itemChanged.connect(self._on_item_changed)
        self.currentItemChanged.connect(self._on_current_changed)
        self.customContextMenuRequested.connect(self._context_menu)
        state.runsChanged.connect(self.sync)
        state.runUpdated.connect(self._on_batches)
        state.epochEnded.connect(lambda run, _event: self._on_run_updated(run))
        state.trainingFinished.connect(self._on_run_updated)
        state.modelChanged.connect(lambda _model: self._select_current())  # select_run() from elsewhere
        self.sync()

    def _select_current(self) -> None:
        selected = self.state.selected_run
        item = self.item_for(selected) if selected is not None else None
        if item is not None and self.currentItem() is not item:
            self._syncing = True
            try:
                self.setCurrentItem(item)
            finally:
                self._syncing = False

    def item_for(self, run) -> QTreeWidgetItem | None:
        for i in range(self.topLevelItemCount()):
            item = self.topLevelItem(i)
            if item.data(0, RUN_ROLE) == run.run_id:
                return item
        return None

    def run_for(self, item: QTreeWidgetItem | None):
        if item is None:
            return None
        run_id = item.data(0, RUN_ROLE)
        return next((r for r in self.state.runs if r.run_id == run_id), None)

    def sync(self) -> None:
        """Rebuild the rows from `state.runs` (a handful of runs: cheap), keeping the selection."""
        self._syncing = True
        try:
            wanted = [r.run_id for r in self.state.runs]
            for i in reversed(range(self.topLevelItemCount())):
                if self.topLevelItem(i).data(0, RUN_ROLE) not in wanted:
                    self.takeTopLevelItem(i)
            for index, run in enumerate(self.state.runs):
                item = self.item_for(run)
                if item is None:
                    item = QTreeWidgetItem()
                    item.setData(0, RUN_ROLE, run.run_id)
                    item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable | Qt.ItemFlag.ItemIsUserCheckable)
                    item.setIcon(0, _swatch(run.colour))
                    self.insertTopLevelItem(index, item)
                self._fill(item, run)
            selected = self.state.selected_run
            current = self.item_for(selected) if selected is not None else None
            if current is not None and self.currentItem() is not current:
                self.setCurrentItem(current)
        finally:
            self._syncing = False

    def _fill(self, item: QTreeWidgetItem, run) -> None:
        item.setText(0, run.name)
        item.setCheckState(0, Qt.CheckState.Checked if run.visible else Qt.CheckState.Unchecked)
        accuracy = run.final_accuracy
        item.setText(1, f"{accuracy:.2%}" if accuracy is not None else "–")
        item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        item.setText(2, format_duration(run.seconds))
        item.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        item.setText(3, f"{run.status} · {epochs_trained(run)}")  # "stopped · 1.33 epochs"
        item.setToolTip(3, run.message)
        try:
            # the class count from the run, not its snapshot: a restored run's snapshots are read when first used
            summary = config_summary(run.config, len(run.classes) or 10)
        except (AttributeError, TypeError):
            summary = ""
        if run.parent_name:
            summary = f"from {run.parent_name} · {summary}"
        item.setText(4, f"{run.dataset} · {summary}" if run.dataset else summary)
        item.setToolTip(4, item.text(4))

    def _on_batches(self, run) -> None:
        """Batch chunks only move the time column: refresh the row once a second, not 20 times."""
        now = time.monotonic()
        if now - self._last_batch_refresh >= 1.0:
            self._last_batch_refresh = now
            self._on_run_updated(run)

    def _on_run_updated(self, run) -> None:
        item = self.item_for(run)
        if item is None:
            return
        self._syncing = True
        try:
            self._fill(item, run)
        finally:
            self._syncing = False

    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._syncing or column != 0:
            return
        run = self.run_for(item)
        if run is None:
            return
        visible = item.checkState(0) == Qt.CheckState.Checked
        if visible != run.visible:
            self.state.set_run_visible(run, visible)
        if item.text(0) != run.name:
            self.state.rename_run(run, item.text(0))

    def _on_current_changed(self, current, _previous) -> None:
        if self._syncing:
            return
        run = self.run_for(current)
        if run is not None and run is not self.state.selected_run:
            self.state.select_run(run)

    def keyPressEvent(self, event) -> None:
        if event.matches(QKeySequence.StandardKey.Delete) or event.key() == Qt.Key.Key_Backspace:
            self.remove_current()
            return
        super().keyPressEvent(event)

    def remove_current(self) -> None:
        run = self.run_for(self.currentItem())
        if run is None:
            return
        if self.state.training and run.status in ("training", "paused") and run is self.state.runs[-1]:
            self.state.show_status(f"{run.name} is still training; stop it before removing it.")
            return
        self.state.remove_run(run)

    def _context_menu(self, pos) -> None:
        item = self.itemAt(pos)
        run = self.run_for(item)
        if run is None:
            return
        menu = QMenu(self)
        menu.addAction("Rename", lambda: self.editItem(item, 0))
        menu.addAction("Hide curves" if run.visible else "Show curves",
                       lambda: self.state.set_run_visible(run, not run.visible))  # fmt: skip
        menu.addAction("Export metrics (CSV)…", lambda: self.export_metrics(run))
        menu.addSeparator()
        menu.addAction("Remove", lambda: (self.setCurrentItem(item), self.remove_current()))
        self.last_menu = menu  # for tests and automation
        menu.popup(self.viewport().mapToGlobal(pos))

    def export_metrics(self, run, folder: str | None = None) -> list:
        """Write the run's per-batch and per-epoch metrics as two CSV files into a folder the user picks."""
        from explorer import export, export_files

        folder = folder or export.ask_folder(self, f"Export the metrics of {run.name}")
        if not folder:
            return []
        try:
            written = export_files.export_run_metrics(run, folder)
        except export_files.ExportError as exc:
            export.warn(self, str(exc))
            return []
        self.state.show_status(
            f"Exported the metrics of {run.name}: {', '.join(p.name for p in written)}."
        )
        return written


def format_size(n_bytes: float) -> str:
    """12.4 MB, 1.23 GB."""
    mb = n_bytes / 2**20
    return f"{mb / 1024:.2f} GB" if mb >= 1024 else f"{mb:.1f} MB"


class RunsDiskUsage(QWidget):
    """One line under the runs list: the disk space the saved runs take, and the limit the user may change.

    Hidden while runs are not saved (a panel shown on its own, without the main window's run store)."""

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.setObjectName("runsDiskUsage")
        self.state = state
        self.label = QLabel(objectName="runsDiskLabel")
        self.limit_spin = QSpinBox(objectName="runsLimitSpin")
        self.limit_spin.setRange(50, 1_000_000)
        self.limit_spin.setSingleStep(256)
        self.limit_spin.setSuffix(" MB")
        self.limit_spin.setGroupSeparatorShown(True)
        self.limit_spin.setKeyboardTracking(False)  # apply the typed number once, not at every digit
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(QLabel("Limit"))
        layout.addWidget(self.limit_spin)
        self.limit_spin.valueChanged.connect(self._on_limit)
        state.diskUsageChanged.connect(lambda _used: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        used, limit = self.state.disk_usage, self.state.disk_limit_mb
        self.setVisible(limit is not None and used is not None)
        if limit is None or used is None:
            return
        self.limit_spin.blockSignals(True)
        self.limit_spin.setValue(limit)
        self.limit_spin.blockSignals(False)
        over = used > limit * 2**20
        text = (
            f"Saved runs take {format_size(used)} on disk"
            if used
            else "No runs saved yet: each is kept as it trains"
        )
        skipped = len(self.state.skipped_runs)
        if skipped:
            text += f" · {skipped} damaged run{'s' if skipped > 1 else ''} skipped"
        self.label.setText(text + (", over the limit: remove runs to make room" if over else ""))
        self.label.setStyleSheet("color: #b00020;" if over else "")
        folder = self.state.run_store.root if self.state.run_store is not None else "the runs folder"
        tip = (f"Runs are saved in {folder} as each epoch ends, and come back when the app starts again; removing "
               "a run deletes its files. Past the limit, the oldest runs keep only their final weights on disk "
               "(their curves and history stay); the newest run is never thinned.")  # fmt: skip
        for widget in (self, self.limit_spin):
            widget.setToolTip(tip)
        self.label.setToolTip("\n\n".join([tip, *self.state.skipped_runs]))

    def _on_limit(self, value: int) -> None:
        self.state.set_disk_limit(value)
