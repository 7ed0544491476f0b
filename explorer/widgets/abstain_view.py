""" "I don't know": the accuracy-coverage curve of a confidence threshold, with a slider and spin box for it.

The network answers a test image only when its confidence reaches the threshold and says "not sure" otherwise
(core/abstain.py). The curve plots, for every threshold from 0 to 100%, the share of the test images answered (the
coverage, across) against the accuracy over those (up); the marker is the current threshold, and the sentence
under the controls reads it out. The threshold is one app setting (AppState.abstain_threshold): the Draw tab says
"not sure" under it too. `guess_text` words the Draw tab's answer the same way.

A softmax output is a probability; for a sigmoid output layer the confidence is the top output divided by the sum
of the outputs (they are normalised to sum 1 first), and the view says so.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QSizePolicy, QSlider, QVBoxLayout, QWidget

from core import abstain
from explorer.export import attach_export
from explorer.widgets.prob_bars import output_text

STEPS = 1000  # slider positions: 0.1% of confidence each
CURVE_COLOUR, MARK_COLOUR, AXIS_COLOUR = "#1f77b4", "#d62728", "#444444"
SIGMOID_NOTE = (
    "This network has a sigmoid output layer: its confidence is its top output divided by the sum of its outputs "
    "(the outputs normalised to sum 1), not a probability."
)
EMPTY_TEXT = "Train a model to see how sure it is of its answers."


def percent(value: float) -> str:
    """90% for 0.9, 92.5% for 0.925: as many decimals as the value needs, at most one."""
    text = f"{100 * value:.1f}"
    return (text[:-2] if text.endswith(".0") else text) + "%"


def threshold_text(threshold: float, probabilities: bool) -> str:
    """ "90% confidence", or for sigmoid outputs (never shown as percentages) "a normalised confidence of 0.90"."""
    return (
        f"{percent(threshold)} confidence" if probabilities else f"a normalised confidence of {threshold:.2f}"
    )


def reading(point: abstain.Point, probabilities: bool = True) -> str:
    """The threshold read out: "At 90% confidence it answers 96.1% of the digits and gets 99.2% of those right."."""
    start = f"At {threshold_text(point.threshold, probabilities)} it answers "
    if point.answered == 0:
        return start + "none of the digits: it is not sure of any."
    return (
        start
        + f"{100 * point.coverage:.1f}% of the digits and gets {100 * point.accuracy:.1f}% of those right."
    )


def abstained(point: abstain.Point, total_right: int) -> str:
    """What it says "not sure" about, and how those would have gone."""
    skipped = point.total - point.answered
    if skipped == 0:
        return "It answers every digit."
    right = total_right - point.right
    return (
        f'It says "not sure" about the other {skipped:,} digits ({100 * skipped / point.total:.1f}%); '
        f"it would have got {100 * right / skipped:.1f}% of those right."
    )


def guess_text(outputs, classes, probabilities: bool, threshold: float) -> str:
    """The Draw tab's answer: the guess, or "not sure" with the top guesses when the confidence is under the
    threshold (rich text)."""
    outputs = np.asarray(outputs, dtype=np.float64)
    conf = float(abstain.confidence(outputs[None], probabilities)[0])
    order = np.argsort(-outputs, kind="stable")
    top = int(order[0])
    if conf >= threshold:
        return f"The network thinks: <b>{classes[top]}</b> ({output_text(outputs[top], probabilities)})"
    # the top two, and a third only when it has a real share (a 1.9% third guess is noise, not a candidate)
    shares = outputs / outputs.sum() if outputs.sum() > 0 else outputs
    shown = [k for i, k in enumerate(order[:3]) if i < 2 or shares[k] >= 0.1]
    guesses = " or ".join(f"<b>{classes[k]}</b> ({output_text(outputs[k], probabilities)})" for k in shown)
    if probabilities:
        measure = f"{percent(conf)} sure, under the {percent(threshold)} threshold"
    else:  # sigmoid outputs are never written as percentages (explorer/widgets/prob_bars.py)
        measure = f"normalised confidence {conf:.2f}, under the {threshold:.2f} threshold"
    return f"<b>Not sure</b> ({measure} set on the Errors tab): maybe {guesses}"


class AbstainView(QWidget):
    """The curve, the threshold controls and the sentences. `thresholdChosen` when the user moves the threshold;
    `set_threshold` shows a threshold set elsewhere (without emitting)."""

    thresholdChosen = Signal(float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("abstainView")
        self.curve: abstain.Curve | None = None
        self.threshold = abstain.DEFAULT_THRESHOLD
        self.probabilities = True
        self._build_plot()
        self._build_controls()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.plot, 3)
        layout.addLayout(self._side, 2)
        self._show()

    def _build_plot(self) -> None:
        self.plot = pg.PlotWidget(self, background="w")
        self.plot.setObjectName("abstainPlot")
        item = self.plot.getPlotItem()
        item.layout.setContentsMargins(2, 8, 12, 2)
        item.setMenuEnabled(False)
        item.showGrid(x=True, y=True, alpha=0.25)
        for side, text in (("bottom", "coverage: digits answered (%)"), ("left", "accuracy of those (%)")):
            axis = item.getAxis(side)
            axis.setPen(pg.mkPen(AXIS_COLOUR))
            axis.setTextPen(pg.mkPen(AXIS_COLOUR))
            axis.enableAutoSIPrefix(False)
            item.setLabel(side, text, color=AXIS_COLOUR)
        self.plot.setMinimumSize(220, 140)
        self.plot.setToolTip(
            "Each point is one threshold: the share of the test digits the network answers (across) and the share "
            "of those it gets right (up). The red dot is the threshold chosen on the right."
        )
        self.line = self.plot.plot([], [], pen=pg.mkPen(CURVE_COLOUR, width=2))
        self.marker = pg.ScatterPlotItem(size=11, brush=pg.mkBrush(MARK_COLOUR), pen=pg.mkPen("w", width=1.5))
        self.plot.addItem(self.marker)
        self.marker_label = pg.TextItem(
            color=MARK_COLOUR, anchor=(1.05, 1.1), fill=pg.mkBrush(255, 255, 255, 210)
        )
        self.plot.addItem(self.marker_label, ignoreBounds=True)

    def _build_controls(self) -> None:
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setObjectName("abstainSlider")
        self.slider.setRange(0, STEPS)
        self.slider.setToolTip(
            'The confidence under which the network says "not sure" (also on the Draw tab)'
        )
        self.spin = QDoubleSpinBox(self)
        self.spin.setObjectName("abstainSpin")
        self.spin.setRange(0.0, 100.0)
        self.spin.setDecimals(1)
        self.spin.setSingleStep(1.0)
        self.spin.setSuffix(" %")
        self.spin.setKeyboardTracking(False)
        self.spin.setToolTip(self.slider.toolTip())
        self.reading_label = QLabel(self)
        self.reading_label.setObjectName("abstainReading")
        self.reading_label.setWordWrap(True)
        font = self.reading_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        font.setBold(True)
        self.reading_label.setFont(font)
        self.detail_label = QLabel(self)
        self.detail_label.setObjectName("abstainDetail")
        self.detail_label.setWordWrap(True)
        for label in (self.reading_label, self.detail_label):
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # wrap, never widen
        row = QHBoxLayout()
        row.addWidget(QLabel('Say "not sure" under', self))
        row.addWidget(self.spin)
        row.addStretch(1)
        self._side = QVBoxLayout()
        self._side.addLayout(row)
        self._side.addWidget(self.slider)
        self._side.addWidget(self.reading_label)
        self._side.addWidget(self.detail_label)
        self._side.addStretch(1)
        self.export_button = attach_export(self.plot, "abstain", self.data)
        self.export_button.setText("Export curve")
        self._side.addWidget(self.export_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.slider.valueChanged.connect(lambda v: self._chosen(v / STEPS))
        self.spin.valueChanged.connect(lambda v: self._chosen(v / 100))

    # --- the interface -------------------------------------------------------------------------------------
    def set_curve(
        self, curve: abstain.Curve | None, probabilities: bool = True, empty_text: str = EMPTY_TEXT
    ):
        """Show a model's curve (None: nothing, with `empty_text`)."""
        self.curve, self.probabilities = curve, probabilities
        self._empty_text = empty_text
        if curve is None:
            self.line.setData([], [])
        else:
            answered = curve.answered > 0
            self.line.setData(100 * curve.coverage[answered], 100 * curve.accuracy[answered])
            low = float(np.nanmin(curve.accuracy))
            self.plot.setYRange(100 * max(0.0, low - 0.02 * (1 - low) - 0.005), 100.0, padding=0.02)
            self.plot.setXRange(0, 100, padding=0.02)
        self._show()

    def set_threshold(self, value: float) -> None:
        """Show `value` (0..1) as the threshold, without emitting thresholdChosen."""
        self.threshold = float(value)
        self._show()

    # --- internals -----------------------------------------------------------------------------------------
    def _chosen(self, value: float) -> None:
        value = round(float(value), 4)
        if value == self.threshold:
            return
        self.threshold = value
        self._show()
        self.thresholdChosen.emit(value)

    def _show(self) -> None:
        for widget, value in (
            (self.slider, round(self.threshold * STEPS)),
            (self.spin, 100 * self.threshold),
        ):
            widget.blockSignals(True)
            widget.setValue(value)
            widget.blockSignals(False)
        curve = self.curve
        if curve is None:
            self.marker.setData([], [])
            self.marker_label.setText("")
            self.reading_label.setText(getattr(self, "_empty_text", EMPTY_TEXT))
            self.detail_label.setText("")
            return
        point = curve.at(self.threshold)
        self.reading_label.setText(reading(point, self.probabilities))
        detail = abstained(point, int(curve.correct.sum()))
        self.detail_label.setText(detail if self.probabilities else detail + " " + SIGMOID_NOTE)
        if point.answered:
            x, y = 100 * point.coverage, 100 * point.accuracy
            self.marker.setData([x], [y])
            self.marker_label.setText(percent(self.threshold))
            self.marker_label.setPos(x, y)
        else:
            self.marker.setData([], [])
            self.marker_label.setText("")

    def data(self) -> dict | None:
        """threshold, coverage, accuracy: the curve behind the figure (abstain.csv)."""
        return None if self.curve is None else self.curve.columns()


def connect_state(view: AbstainView, state) -> None:
    """Keep `view` and the app's one threshold in step: the user's choice goes to the state (which saves it), and
    a threshold set anywhere shows here."""
    view.set_threshold(state.abstain_threshold)
    view.thresholdChosen.connect(state.set_abstain_threshold)
    state.abstainChanged.connect(view.set_threshold)
