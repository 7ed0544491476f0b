"""The numbers behind the errors panel, computed off the GUI thread, and the panel's words. Split out of
explorer/panels/errors.py, which imports them from here."""

from __future__ import annotations

import numpy as np

from core import abstain, insight
from explorer.widgets.prob_bars import is_probabilities, short_output_text

EMPTY_TEXT = "Train a model to see the test images it gets wrong."
CAPTION = "Errors: the test images the network gets wrong, most confident first"


def describe(model) -> str:
    """The tab's one line; it says what the number under each picture is (probability or sigmoid output)."""
    if model is None:
        return CAPTION + " (train a model to see them)."
    if is_probabilities(model):
        return CAPTION + "; the numbers are its probabilities."
    return CAPTION + "; the numbers are sigmoid output activations, not probabilities."


METRIC_COLUMNS = ("Class", "Images", "Accuracy", "Precision", "Wrong")


def score_test(model, images, labels) -> dict:
    """Everything the panel shows about the test split, computed in a worker: the outputs, the predictions, the
    confusion matrix, the mistakes (most confident first) and a caption per image."""
    probs = model.predict_proba(images)
    predicted = probs.argmax(axis=1)
    names = [str(c) for c in model.classes]
    short = [_short_name(name) for name in names]
    confidence = probs[np.arange(len(probs)), predicted]
    as_probability = is_probabilities(model)  # a sigmoid output is an activation, not a percentage
    captions = [
        f"{short[t]}→{short[p]} {short_output_text(c, as_probability)}"
        for t, p, c in zip(labels, predicted, confidence, strict=True)
    ]
    return {
        "probs": probs,
        "predicted": predicted,
        "confusion": insight.confusion_matrix(labels, predicted, len(names)),
        "wrong_order": insight.misclassified(probs, labels),
        "scorecard": insight.scorecard(labels, predicted),
        "captions": captions,
        "wide": max(len(name) for name in short) > 2,  # room for "Pullover→Coat 97%"
        "abstain": abstain.curve(probs, labels, as_probability),  # "I don't know" (explorer/widgets/abstain_view.py)
    }


def _short_name(name: str) -> str:
    """A class name short enough for a thumbnail caption: "T-shirt/top" -> "T-shirt", "Ankle boot" -> "Ankle"."""
    return name.split("/")[0].split(" ")[0][:8]


def percent(value: float) -> str:
    return "–" if np.isnan(value) else f"{100 * value:.1f}%"
