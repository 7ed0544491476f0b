"""core.abstain against a case computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from core import abstain

# Five images, three classes. Top probabilities 0.9, 0.6, 0.5, 0.8, 0.4; answers 0, 1, 2, 0, 1.
PROBS = np.array(
    [
        [0.9, 0.05, 0.05],
        [0.3, 0.6, 0.1],
        [0.25, 0.25, 0.5],
        [0.8, 0.1, 0.1],
        [0.35, 0.4, 0.25],
    ]
)
LABELS = np.array([0, 1, 0, 1, 1])  # right, right, wrong, wrong, right


def test_curve_by_hand():
    curve = abstain.curve(PROBS, LABELS, thresholds=[0.0, 0.45, 0.55, 0.7, 0.85, 0.95])
    # answered at t: conf >= t. 0.0: all 5, 3 right. 0.45: 0.9 .6 .5 .8 -> 4, right 2 (imgs 0, 1).
    # 0.55: .9 .6 .8 -> 3, right 2. 0.7: .9 .8 -> 2, right 1. 0.85: .9 -> 1, right 1. 0.95: none.
    np.testing.assert_array_equal(curve.answered, [5, 4, 3, 2, 1, 0])
    np.testing.assert_allclose(curve.coverage, [1.0, 0.8, 0.6, 0.4, 0.2, 0.0])
    np.testing.assert_allclose(curve.accuracy[:5], [3 / 5, 2 / 4, 2 / 3, 1 / 2, 1.0])
    assert np.isnan(curve.accuracy[5])
    point = curve.at(0.6)  # exactly at a confidence: answered (>=)
    assert (point.answered, point.right, point.total) == (3, 2, 5)
    assert point.coverage == pytest.approx(0.6) and point.accuracy == pytest.approx(2 / 3)
    assert np.isnan(curve.at(0.99).accuracy)


def test_default_thresholds_and_columns():
    curve = abstain.curve(PROBS, LABELS)
    assert len(curve.thresholds) == 101 and curve.thresholds[0] == 0 and curve.thresholds[-1] == 1
    columns = curve.columns()
    assert list(columns) == ["threshold", "coverage", "accuracy"]
    i = columns["threshold"].index(0.5)
    assert columns["coverage"][i] == pytest.approx(0.8)  # 0.9, 0.6, 0.5, 0.8
    assert columns["accuracy"][-1] is None  # nothing reaches 1.0


def test_sigmoid_outputs_are_normalised():
    outputs = np.array([[0.9, 0.9, 0.0], [0.2, 0.05, 0.05], [0.0, 0.0, 0.0]])
    conf = abstain.confidence(outputs, probabilities=False)
    # 0.9 / 1.8 = 0.5; 0.2 / 0.3; all zero: an even 1/3
    np.testing.assert_allclose(conf, [0.5, 2 / 3, 1 / 3])
    np.testing.assert_allclose(abstain.confidence(outputs, probabilities=True), [0.9, 0.2, 0.0])


def test_bad_shapes():
    with pytest.raises(ValueError, match="labels"):
        abstain.curve(PROBS, LABELS[:3])
    with pytest.raises(ValueError, match="shape"):
        abstain.confidence(np.zeros(3))
