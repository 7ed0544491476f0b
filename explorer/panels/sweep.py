"""The sweep view (objectName "sweepPanel"): a sweep's settings against test accuracy, one line per run across the
settings (or a scatter when it varies one setting), and its runs best first in a table; clicking a row selects
that run everywhere. Everything comes from `AppState`'s runs (those named "sweep K: ..."), so a sweep trained in
the app and one opened from a `mnist-explorer sweep` folder look the same."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from explorer.panels.sweep_plot import SweepData, SweepPlot, sweep_data, sweep_numbers, value_text
from explorer.widgets.tab_caption import TabCaption

CAPTION = "Sweep: each run's settings against its test accuracy; the best run is the thick dark line"
REFRESH_MS = 150  # results arrive in bursts; redraw once per burst


class SweepPanel(QWidget):
    title = "Sweep"

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.setObjectName("sweepPanel")
        self.state = state
        self.data: SweepData | None = None
        self.pending: int | None = None  # a sweep that trains now: shown before its first run has finished
        self.caption = TabCaption(self, "sweepCaption", CAPTION)
        self.sweep_combo = QComboBox(objectName="sweepCombo")
        self.sweep_combo.setToolTip("Which sweep to show: the runs named \u201csweep N: \u2026\u201d")
        self.sweep_combo.setMinimumWidth(120)
        self.summary = QLabel(objectName="sweepViewSummary")
        self.plot = SweepPlot()
        self.table = QTableWidget(0, 0, objectName="sweepTable")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.setToolTip("The sweep's runs, best test accuracy first; click one to select it in the runs list")
        self._lay_out()
        self._timer = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self.sweep_combo.currentIndexChanged.connect(lambda _i: self._show())
        self.table.cellClicked.connect(self._on_row_clicked)
        state.runsChanged.connect(self._timer.start)
        state.trainingFinished.connect(lambda _run: self._timer.start())
        self.refresh()

    def _lay_out(self) -> None:
        top = QHBoxLayout()
        top.addWidget(QLabel("Sweep:"))
        top.addWidget(self.sweep_combo)
        top.addWidget(self.summary, 1)
        splitter = QSplitter(Qt.Orientation.Vertical, objectName="sweepSplitter")
        splitter.addWidget(self.plot)
        splitter.addWidget(self.table)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.caption)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)

    # --- data ------------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the sweeps from the runs; keep the sweep shown, or show the newest when a new one appears."""
        numbers = sweep_numbers(self.state.runs)
        if self.pending is not None and self.pending not in numbers:
            numbers.append(self.pending)
        shown = self.sweep_combo.currentData()
        known = [self.sweep_combo.itemData(i) for i in range(self.sweep_combo.count())]
        self.sweep_combo.blockSignals(True)
        if numbers != known:
            self.sweep_combo.clear()
            for n in numbers:
                self.sweep_combo.addItem(f"sweep {n}", n)
            if numbers:  # the newest when it is new (or the one shown is gone), else the one shown
                wanted = numbers[-1] if numbers[-1] not in known or shown not in numbers else shown
                self.sweep_combo.setCurrentIndex(numbers.index(wanted))
        self.sweep_combo.blockSignals(False)
        self._show()

    def expect(self, number: int | None) -> None:
        """Sweep `number` trains now (None: no sweep trains): show it, and say so while it has no run yet."""
        self.pending = number
        self.refresh()
        if number is not None:
            self.show_sweep(number)

    def show_sweep(self, number: int) -> None:
        index = self.sweep_combo.findData(number)
        if index >= 0:
            self.sweep_combo.setCurrentIndex(index)

    def _show(self) -> None:
        number = self.sweep_combo.currentData()
        self.data = sweep_data(self.state.runs, number) if number is not None else None
        self.plot.show_sweep(self.data)
        self._fill_table()
        if self.data is None:
            self.summary.setText("No sweep yet: Train \u203a Sweep\u2026 starts one; File \u203a Open sweep\u2026 "
                                 "opens one made with `mnist-explorer sweep`.")  # fmt: skip
            return
        rows = self.data.rows
        if not rows:
            self.summary.setText(f"Sweep {self.data.number} is training: each run appears here as it finishes.")
            return
        best = rows[0] if rows and isinstance(rows[0].accuracy, int | float) else None
        text = f"{len(rows)} run{'s' if len(rows) != 1 else ''}"
        if best is not None:
            text += f"; best {best.accuracy:.2%}: {best.run.name.split(': ', 1)[-1]}"
        self.summary.setText(text)

    def _fill_table(self) -> None:
        from core.sweep import flag_of

        keys = self.data.keys if self.data else []
        rows = self.data.rows if self.data else []
        headers = ["#", *[flag_of(k) for k in keys], "test accuracy", "status", "run"]
        self.table.clear()
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            accuracy = f"{row.accuracy:.2%}" if isinstance(row.accuracy, int | float) else "\u2013"
            cells = [str(i + 1), *[value_text(row.values[k]) for k in keys], accuracy, str(row.run.status),
                     row.run.name]  # fmt: skip
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j < len(cells) - 1:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.table.setItem(i, j, item)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)

    def _on_row_clicked(self, row: int, _column: int) -> None:
        if self.data is not None and 0 <= row < len(self.data.rows):
            self.state.select_run(self.data.rows[row].run)
