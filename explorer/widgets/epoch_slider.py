"""The epoch slider: which epoch of the selected run every insight panel shows.

Every epoch's weights are kept (`Run.snapshots`). Moving the slider calls `state.select_epoch(n)`; the state
emits `modelChanged` and every panel redraws that epoch. While a run trains, the slider follows the newest epoch
until the user moves it; moving it back to the last epoch makes it follow again (`state.follow_latest`).
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QSlider, QWidget


def epoch_number(entry: dict, index: int) -> str:
    """How far into training a history entry (snapshot) is: "2" for a whole epoch, "1.33" for a run stopped a
    third into its second epoch (rounded down: never more than was trained)."""
    if entry.get("partial"):
        x = math.floor(float(entry.get("x", index)) * 100) / 100
        return f"{x:.2f}".rstrip("0").rstrip(".")
    return str(int(entry.get("epoch", index)))


def epochs_trained(run) -> str:
    """"1.33 epochs", "1 epoch", "0 epochs": what the run really trained, for the runs list and the slider."""
    if not run.history:
        return "0 epochs"
    number = epoch_number(run.history[-1], len(run.history))
    return f"{number} epoch{'' if number == '1' else 's'}"


class EpochSlider(QWidget):
    """A label and a slider (objectName "epochSlider"); the whole box is "epochSliderBox"."""

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self.setObjectName("epochSliderBox")
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Preferred)  # stays beside its label
        self.title = QLabel("Epoch", self)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setObjectName("epochSlider")
        self.slider.setMinimum(1)
        self.slider.setPageStep(1)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setMinimumWidth(140)
        self.slider.setMaximumWidth(260)
        self.slider.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.slider.setToolTip(
            "The epoch whose weights the back-query, weights and errors panels show. Drag it (or focus it and "
            "use the arrow keys, Home and End; Ctrl+[ and Ctrl+] anywhere in the window) to watch the network at "
            "any past epoch; at the right end it follows new epochs while training."
        )
        self.value_label = QLabel(self)
        self.value_label.setObjectName("epochSliderLabel")
        self.value_label.setMinimumWidth(110)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        layout.setSpacing(6)
        layout.addWidget(self.title)
        layout.addWidget(self.slider)
        layout.addWidget(self.value_label)
        self.slider.valueChanged.connect(self._on_value_changed)
        for keys, step in (("Ctrl+[", -1), ("Ctrl+]", 1)):
            shortcut = QShortcut(QKeySequence(keys), self, lambda s=step: self.step(s))
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        state.epochSelected.connect(lambda _epoch: self.refresh())
        state.runUpdated.connect(lambda _run: self.refresh())
        state.runsChanged.connect(self.refresh)
        state.modelChanged.connect(lambda _model: self.refresh())
        self._updating = False
        self.refresh()

    def refresh(self) -> None:
        """Set the range and position from the state (never echoes back into `select_epoch`)."""
        run = self.state.selected_run
        epochs = len(run.snapshots) if run is not None else 0
        self._updating = True
        try:
            self.slider.setMaximum(max(1, epochs))
            self.slider.setEnabled(epochs > 1)
            epoch = min(self.state.selected_epoch or epochs, epochs)
            self.slider.setValue(max(1, epoch))
        finally:
            self._updating = False
        if epochs == 0:
            self.value_label.setText("no epochs yet")
            return
        following = " (latest)" if self.state.follow_latest and epoch == epochs else ""
        shown, last = (self._number(run, i) for i in (epoch, epochs))
        self.value_label.setText(f"{shown} of {last}{following}")
        self.value_label.setToolTip(f"The insight panels show {run.name} after {shown} of its {epochs_trained(run)}.")

    @staticmethod
    def _number(run, snapshot: int) -> str:
        """Snapshot n (1-based) as an epoch count; a loaded model's single snapshot is its last epoch."""
        history = run.history
        if len(history) == len(run.snapshots) and 1 <= snapshot <= len(history):
            return epoch_number(history[snapshot - 1], snapshot)
        return str(snapshot) if len(run.snapshots) > 1 or not history else epoch_number(history[-1], len(history))

    def step(self, delta: int) -> None:
        """Show the previous (-1) or next (+1) epoch."""
        if self.slider.isEnabled():
            self.slider.setValue(self.slider.value() + delta)  # -> _on_value_changed

    def _on_value_changed(self, value: int) -> None:
        if self._updating:
            return
        self.state.select_epoch(value, by_user=True)
        self.refresh()
