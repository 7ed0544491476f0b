""" "I don't know": a confidence threshold under which the network abstains, and what it buys.

The network answers an image only when its confidence, the largest of its outputs, is at least the threshold;
below it, it says "not sure". Raising the threshold answers fewer images (the *coverage*: the share of images
answered) and, if the confidence means anything, gets more of those right (the *accuracy* over the answered
ones). The accuracy-coverage curve (the "risk-coverage curve" of selective classification, El-Yaniv and Wiener
2010; Geifman and El-Yaniv 2017) shows the trade.

A softmax output is a probability, so its largest value is the confidence. A sigmoid output layer gives each class
its own activation between 0 and 1 (ten of them may sum to 0.3 or 1.8); its outputs are first normalised to sum 1,
``p_k = s_k / sum(s)``, the same normalisation core.insight uses for its log-probabilities, and the confidence is the
largest normalised output. Arrays in, arrays out, NumPy only: any model's forward outputs will do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STEP = 0.01  # the thresholds of the curve and of abstain.csv: 0.00, 0.01, ..., 1.00
DEFAULT_THRESHOLD = 0.9


def confidence(outputs: np.ndarray, probabilities: bool = True) -> np.ndarray:
    """(N,): each row's confidence: its largest probability, or for sigmoid outputs (``probabilities=False``) its
    largest output after the outputs are normalised to sum 1."""
    outputs = np.asarray(outputs, dtype=np.float64)
    if outputs.ndim != 2:
        raise ValueError(f"Expected outputs of shape (images, classes), got {outputs.shape}.")
    top = outputs.max(axis=1)
    if probabilities:
        return top
    total = outputs.sum(axis=1)
    # all-zero outputs say nothing: an even spread over the classes, the least confident answer there is
    return np.where(total > 0, top / np.where(total > 0, total, 1.0), 1.0 / outputs.shape[1])


@dataclass
class Point:
    """The network's answers at one threshold."""

    threshold: float
    answered: int  # images whose confidence is at least the threshold
    total: int
    right: int  # answered images classified right

    @property
    def coverage(self) -> float:
        return self.answered / self.total if self.total else 0.0

    @property
    def accuracy(self) -> float:
        """Accuracy over the answered images; NaN when none is answered."""
        return self.right / self.answered if self.answered else float("nan")


def at_threshold(conf: np.ndarray, correct: np.ndarray, threshold: float) -> Point:
    """How many of the images with confidences ``conf`` are answered at ``threshold``, and how many of those
    ``correct`` (bool per image) says are right."""
    conf = np.asarray(conf, dtype=np.float64)
    answered = conf >= threshold
    return Point(
        float(threshold), int(answered.sum()), int(conf.size), int(np.sum(answered & np.asarray(correct)))
    )


@dataclass
class Curve:
    """Coverage and accuracy at each threshold (arrays of one length), from `curve`."""

    thresholds: np.ndarray
    coverage: np.ndarray
    accuracy: np.ndarray  # NaN where no image is answered
    answered: np.ndarray  # int counts
    conf: np.ndarray  # (N,) each image's confidence
    correct: np.ndarray  # (N,) bool: its top answer is its label

    def at(self, threshold: float) -> Point:
        """The exact point at any threshold (not only the curve's)."""
        return at_threshold(self.conf, self.correct, threshold)

    def columns(self) -> dict[str, list]:
        """threshold, coverage, accuracy: abstain.csv's columns (an empty accuracy where none is answered)."""
        return {
            "threshold": [round(float(t), 6) for t in self.thresholds],
            "coverage": [float(c) for c in self.coverage],
            "accuracy": [None if np.isnan(a) else float(a) for a in self.accuracy],
        }


def curve(outputs: np.ndarray, labels: np.ndarray, probabilities: bool = True, thresholds=None) -> Curve:
    """Accuracy against coverage as the threshold moves over ``thresholds`` (default 0, 0.01, ..., 1)."""
    labels = np.asarray(labels, dtype=np.int64)
    conf = confidence(outputs, probabilities)
    if len(labels) != len(conf):
        raise ValueError(f"{len(labels)} labels for {len(conf)} rows of outputs.")
    correct = np.asarray(outputs).argmax(axis=1) == labels
    if thresholds is None:
        thresholds = np.round(np.arange(0, 1 + STEP / 2, STEP), 6)
    thresholds = np.asarray(thresholds, dtype=np.float64)
    # sorted confidences: the answered images at threshold t are those from searchsorted(t) on, and the right
    # ones among them a suffix sum, so the whole curve is two binary searches per threshold, not a pass each
    order = np.argsort(conf, kind="stable")
    sorted_conf = conf[order]
    right_from = np.concatenate([np.cumsum(correct[order][::-1])[::-1], [0]])
    start = np.searchsorted(sorted_conf, thresholds, side="left")
    answered = len(conf) - start
    right = right_from[start]
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.where(answered > 0, right / np.maximum(answered, 1), np.nan)
    coverage = answered / len(conf) if len(conf) else np.zeros(len(thresholds))
    return Curve(thresholds, coverage.astype(np.float64), accuracy, answered.astype(np.int64), conf, correct)
