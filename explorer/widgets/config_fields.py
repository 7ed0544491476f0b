"""Small pieces of the control panel: the learning-rate spin box, parsing of the hidden-layer field, and the
one-line summary of a configuration that the runs list shows."""

from __future__ import annotations

import math

from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QDoubleSpinBox

MAX_UNITS = 8192  # per hidden layer; a 784-8192-8192-10 network already takes minutes an epoch on two cores
MAX_LAYERS = 8

# The output layer and loss go together; these are the pairs the core implements, in the order people use them.
OUTPUT_LOSS_PAIRS = [
    ("softmax", "cross-entropy", "softmax + cross-entropy"),
    ("sigmoid", "mse", "sigmoid + squared error (Rashid)"),
    ("sigmoid", "cross-entropy", "sigmoid + binary cross-entropy"),
    ("softmax", "mse", "softmax + squared error"),
]


def parse_hidden(text: str) -> tuple[tuple[int, ...] | None, str]:
    """'512' or '256, 128' -> ((256, 128), ""); bad text -> (None, one sentence saying what is wrong).

    An empty field means no hidden layer at all (784-10, a linear classifier), which is a fair model too.
    """
    parts = [p.strip() for p in text.replace(";", ",").replace(" ", ",").split(",") if p.strip()]
    sizes = []
    for part in parts:
        if not part.isdigit():
            return None, f"Hidden layers: '{part}' is not a whole number; write sizes like 512 or 256,128."
        sizes.append(int(part))
    if any(n < 1 for n in sizes):
        return None, "Hidden layers: every layer needs at least 1 unit; write sizes like 512 or 256,128."
    if any(n > MAX_UNITS for n in sizes):
        return None, f"Hidden layers: at most {MAX_UNITS:,} units a layer; 512 is plenty for MNIST."
    if len(sizes) > MAX_LAYERS:
        return None, f"Hidden layers: at most {MAX_LAYERS} layers; one or two are plenty for MNIST."
    return tuple(sizes), ""


def format_hidden(hidden) -> str:
    return ",".join(str(int(n)) for n in hidden)


class LearningRateSpin(QDoubleSpinBox):
    """A spin box for values that span decades (0.0001 .. 1000): arrows step along 1-2-5 per decade, the text
    shows as many digits as the value needs, and 0 is allowed so the panel can say why it is not a valid rate."""

    STEPS = (1.0, 2.0, 5.0)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setDecimals(8)
        self.setRange(0.0, 10_000.0)
        self.setKeyboardTracking(False)

    def textFromValue(self, value: float) -> str:
        return f"{value:.6g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text.replace(",", "."))
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        stripped = text.strip()
        if stripped in ("", ".", "-", "e", "E"):
            return QValidator.State.Intermediate, text, pos
        try:
            value = float(stripped.replace(",", "."))
        except ValueError:
            if stripped[-1:] in "eE-+" and stripped[:-1]:
                return QValidator.State.Intermediate, text, pos
            return QValidator.State.Invalid, text, pos
        if value < self.minimum() or value > self.maximum():
            return QValidator.State.Intermediate, text, pos
        return QValidator.State.Acceptable, text, pos

    def stepBy(self, steps: int) -> None:
        value = self.value()
        for _ in range(abs(steps)):
            value = self._next(value, up=steps > 0)
        self.setValue(value)

    def _next(self, value: float, up: bool) -> float:
        if value <= 0:
            return 1e-4 if up else 0.0
        decade = math.floor(math.log10(value) + 1e-9)
        ladder = [m * 10.0**d for d in (decade - 1, decade, decade + 1) for m in self.STEPS]
        if up:
            bigger = [v for v in ladder if v > value * (1 + 1e-9)]
            return min(bigger[0], self.maximum())
        smaller = [v for v in ladder if v < value * (1 - 1e-9)]
        return smaller[-1] if smaller and smaller[-1] >= 1e-6 else 0.0


def config_summary(config, n_classes: int = 10) -> str:
    """'784-512-10 relu · rmsprop lr 0.001 · batch 128 · 5 epochs' plus the extras that differ from plain."""
    sizes = "-".join(str(n) for n in (784, *config.hidden, n_classes))
    parts = [
        f"{sizes} {config.activation}/{config.output}",
        f"{config.optimizer} lr {config.lr:g}",
        f"batch {config.batch_size or 'all'}",
        f"{config.epochs} epoch{'s' if config.epochs != 1 else ''}",
    ]
    if config.train_limit:
        parts.append(f"{config.train_limit:,} images")
    if config.augment != "off" and config.rotate:
        parts.append(f"±{config.rotate:g}°")
    if config.dropout:
        parts.append(f"dropout {config.dropout:g}")
    return " · ".join(parts)


def format_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "–"
    seconds = int(round(max(seconds, 0.0)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
