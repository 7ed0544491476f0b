"""Ten horizontal bars: what the network thinks an image is, with the class names and percentages.

The most probable class is drawn in the accent colour; the true label, when known, is marked with a tick (green
when the network got it right, red when it did not) so a wrong prediction is obvious at a glance.

A softmax network's outputs are probabilities (they sum to 1) and are shown as percentages. A sigmoid output
layer gives each class its own activation between 0 and 1; ten of them can sum to 1.11 or 0.3, so they are shown
as activations ("0.93"), under a line that says so, never as percentages. `output_text` formats one value the same
way for the panels' captions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

TOP_COLOUR = QColor("#1f77b4")
OTHER_COLOUR = QColor("#9fb7cc")
RIGHT_COLOUR = QColor("#2ca02c")
WRONG_COLOUR = QColor("#d62728")


ACTIVATION_NOTE = "Sigmoid outputs, 0 to 1 each (not probabilities)"  # short: it heads a narrow widget
ACTIVATION_TIP = "Sigmoid output activations: each 0 to 1 on its own, so they need not sum to 1"


def is_probabilities(model_or_network) -> bool:
    """Whether the outputs are probabilities (a softmax output layer) rather than independent sigmoid activations."""
    network = getattr(model_or_network, "network", model_or_network)
    return getattr(network, "output", "softmax") == "softmax"


def output_text(value: float, probabilities: bool, digits: int = 1) -> str:
    """One output as the user should read it: "97.3%" for a probability, "output 0.97" for a sigmoid activation."""
    if probabilities:
        return f"{100 * value:.{digits}f}%"
    return f"output {value:.2f}"


def short_output_text(value: float, probabilities: bool) -> str:
    """For a thumbnail's caption: "97%" for a probability, "0.97" for a sigmoid activation."""
    return f"{value:.0%}" if probabilities else f"{value:.2f}"


class ProbabilityBars(QWidget):
    """Painted, not built from child widgets, so it stays cheap to update on every click or slider move."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._probs: np.ndarray | None = None
        self._names: list[str] = []
        self._true: int | None = None
        self._activations = False  # sigmoid outputs: values as 0.93, with a line saying what they are
        self._empty_text = "Train a model to see its prediction"
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMinimumSize(180, 120)
        self.setToolTip(
            "The network's probability for each class; the top guess is highlighted, ✓ marks the true label"
        )

    # --- the interface -------------------------------------------------------------------------------------
    def set_probabilities(
        self,
        probs: np.ndarray | None,
        class_names: Sequence[str],
        true_label: int | None = None,
        activations: bool = False,
    ) -> None:
        """Show `probs` (one value per class) or, with None, the empty-state message.

        `activations`: the values are a sigmoid layer's independent outputs, not probabilities (see the module)."""
        names = [str(n) for n in class_names]
        if probs is not None:
            probs = np.asarray(probs, dtype=np.float64).reshape(-1)
            if len(probs) != len(names):
                raise ValueError(f"{len(probs)} probabilities for {len(names)} class names")
            probs = np.nan_to_num(probs, nan=0.0, posinf=1.0, neginf=0.0)
        self._probs, self._names = probs, names
        self._true = None if true_label is None else int(true_label)
        self._activations = bool(activations)
        self.setToolTip(
            ACTIVATION_TIP + " (the top one is the guess); ✓ marks the true label"
            if self._activations
            else "The network's probability for each class; the top guess is highlighted, ✓ marks the true label"
        )
        self.updateGeometry()
        self.update()

    def set_empty_text(self, text: str) -> None:
        self._empty_text = text
        self.update()

    # --- queries -------------------------------------------------------------------------------------------
    def probabilities(self) -> np.ndarray | None:
        return None if self._probs is None else self._probs.copy()

    def top_class(self) -> int | None:
        return None if self._probs is None or not len(self._probs) else int(np.argmax(self._probs))

    def shows_activations(self) -> bool:
        return self._activations

    def summary(self) -> str:
        """One line a screen reader or a test can read: the top guess and its probability (or activation)."""
        top = self.top_class()
        if top is None:
            return self._empty_text
        return f"{self._names[top]} ({output_text(self._probs[top], not self._activations)})"

    # --- painting ------------------------------------------------------------------------------------------
    def sizeHint(self) -> QSize:
        rows = max(len(self._names), 10) + (1 if self._activations else 0)
        return QSize(260, rows * (self.fontMetrics().height() + 6) + 8)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        text_colour = palette.color(QPalette.ColorRole.WindowText)
        if self._probs is None or not self._names:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(
                self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._empty_text
            )
            return
        bold = QFont(self.font())
        bold.setBold(True)
        metrics = QFontMetrics(bold)  # the widest a name gets: bold, with the tick of the true label
        n = len(self._names)
        header = 0.0
        if self._activations:  # one line above the bars: these are not probabilities
            header = self.fontMetrics().height() + 4.0
            painter.setPen(palette.color(QPalette.ColorRole.WindowText))
            painter.drawText(
                QRectF(4, 2, self.width() - 8, header),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                self.fontMetrics().elidedText(ACTIVATION_NOTE, Qt.TextElideMode.ElideRight, self.width() - 8),
            )
        row_height = max(10.0, (self.height() - 8 - header) / n)
        name_width = (
            max(metrics.horizontalAdvance(name) for name in self._names) + metrics.horizontalAdvance("✓ ") + 8
        )
        pct_width = metrics.horizontalAdvance("100.0%") + 8
        bar_left = name_width
        bar_span = max(10.0, self.width() - name_width - pct_width - 4)
        top = self.top_class()
        for i, (name, p) in enumerate(zip(self._names, self._probs, strict=True)):
            y = 4 + header + i * row_height
            is_true = self._true == i
            painter.setFont(bold if i == top or is_true else self.font())
            painter.setPen(text_colour)
            if is_true:
                painter.setPen(RIGHT_COLOUR if top == i else WRONG_COLOUR)
            label = ("✓ " if is_true else "") + name
            painter.drawText(
                QRectF(0, y, name_width - 6, row_height),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                label,
            )
            bar_height = row_height * 0.7
            bar_y = y + (row_height - bar_height) / 2
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(palette.color(QPalette.ColorRole.AlternateBase))
            painter.drawRect(QRectF(bar_left, bar_y, bar_span, bar_height))
            painter.setBrush(TOP_COLOUR if i == top else OTHER_COLOUR)
            painter.drawRect(QRectF(bar_left, bar_y, bar_span * float(np.clip(p, 0, 1)), bar_height))
            painter.setPen(text_colour)
            painter.drawText(
                QRectF(bar_left + bar_span + 4, y, pct_width, row_height),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                f"{100 * p:.1f}%" if not self._activations else f"{p:.2f}",
            )
        painter.end()
