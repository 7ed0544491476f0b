"""The data map and the suspects list, from a run's per-image training record (core/training_record.py).

The data map (Swayamdipta et al. 2020, "Dataset Cartography"): for each training image, its confidence (the mean
over epochs of the probability the network gave its label during training), its variability (the standard
deviation of that probability over the same epochs) and its correctness (the share of epochs in which its label
was the network's top answer). Easy images sit top left (high confidence, low variability), ambiguous ones in the
middle (high variability), hard-to-learn ones bottom left: mislabelled images gather there.

The suspects ranking: the area under the margin (Pleiss et al. 2020), the mean over epochs of the margin
log p(given label) - log p(largest other label), lowest first. A mislabelled image's given label keeps losing to
its true label until the network memorises it, so its margin stays negative through most of training; the plain
"lowest probability of its label" at the last epoch forgets this history once the network has memorised the
label, and a probability cannot tell a confidently wrong answer (another label far ahead) from a two-way doubt.
scripts/suspects_benchmark.py measures both, and the data map's confidence, on MNIST with injected label noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.training_record import NO_RIVAL, Dynamics

METHODS = ("aum", "confidence", "last-probability", "forgetting")


@dataclass
class DataMap:
    confidence: np.ndarray  # (N,) float32: mean probability of the given label over the epochs
    variability: np.ndarray  # (N,) float32: its standard deviation over the epochs (population, as the paper)
    correctness: np.ndarray  # (N,) float32: share of epochs whose top answer was the given label
    labels: np.ndarray  # (N,) uint8
    epochs: int  # how many epochs it is drawn from


def _nan_mean(a: np.ndarray) -> np.ndarray:
    """Row means ignoring NaN (an image not seen in a partial epoch); NaN where a row has nothing."""
    a = a.astype(np.float32)
    valid = ~np.isnan(a)
    count = valid.sum(axis=1)
    total = np.where(valid, a, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (total / count).astype(np.float32)


def data_map(dyn: Dynamics, upto: float | None = None) -> DataMap:
    """The data map from the kept epochs up to epoch `upto` (every epoch for None)."""
    p = dyn.matrix("probability", upto).astype(np.float32)
    margin = dyn.matrix("margin", upto).astype(np.float32)
    confidence = _nan_mean(p)
    deviation = np.where(np.isnan(p), 0.0, p - confidence[:, None])
    valid = (~np.isnan(p)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        variability = np.sqrt((deviation**2).sum(axis=1) / valid).astype(np.float32)
        correct = np.where(np.isnan(margin), np.nan, (margin > 0).astype(np.float32))
    return DataMap(confidence, variability, _nan_mean(correct), dyn.labels, p.shape[1])


def forgetting_events(dyn: Dynamics, upto: float | None = None) -> np.ndarray:
    """Toneva et al. 2019: times an image went from right to wrong between consecutive kept epochs; an image
    never right counts as the number of epochs plus one (the paper's "never learned": infinitely forgotten)."""
    right = dyn.matrix("margin", upto).astype(np.float32) > 0
    if right.shape[1] == 0:
        return np.zeros(dyn.n_images, np.int32)
    forgotten = (right[:, :-1] & ~right[:, 1:]).sum(axis=1).astype(np.int32)
    return np.where(right.any(axis=1), forgotten, right.shape[1] + 1).astype(np.int32)


def scores(dyn: Dynamics, method: str = "aum", upto: float | None = None) -> np.ndarray:
    """Each image's suspicion score under `method` (METHODS); the lowest score is the most suspect.

    "aum": the mean margin; "confidence": the data map's confidence; "last-probability": the probability of the
    label at the last kept epoch; "forgetting": minus the forgetting events (most forgotten first)."""
    if method == "aum":
        return _nan_mean(dyn.matrix("margin", upto))
    if method == "confidence":
        return data_map(dyn, upto).confidence
    if method == "last-probability":
        p = dyn.matrix("probability", upto)
        return p[:, -1].astype(np.float32) if p.shape[1] else np.full(dyn.n_images, np.nan, np.float32)
    if method == "forgetting":
        return -forgetting_events(dyn, upto).astype(np.float32)
    raise ValueError(f"Unknown ranking {method!r}; choose one of {', '.join(METHODS)}.")


def ranking(score: np.ndarray) -> np.ndarray:
    """Indices from most to least suspect (lowest score first; ties by index; images never seen last)."""
    key = np.where(np.isnan(score), np.inf, score)
    return np.lexsort((np.arange(len(score)), key))


def suggested_labels(dyn: Dynamics, upto: float | None = None) -> np.ndarray:
    """The label the network preferred over the given one most often across the epochs (its rival's mode;
    ties go to the later epoch's rival)."""
    rival = dyn.matrix("rival", upto)
    n = dyn.n_images
    if rival.shape[1] == 0:
        return dyn.labels.copy()
    counts = np.zeros((n, dyn.n_classes), np.float32)
    rows = np.arange(n)
    for j in range(rival.shape[1]):
        seen = rival[:, j] != NO_RIVAL
        counts[rows[seen], rival[seen, j]] += 1.0 + j * 1e-3  # a later epoch breaks a tie
    best = counts.argmax(axis=1).astype(np.uint8)
    return np.where(counts.max(axis=1) > 0, best, dyn.labels).astype(np.uint8)


@dataclass
class Suspects:
    indices: np.ndarray  # into the training split, most suspect first
    labels: np.ndarray  # their given labels
    suggested: np.ndarray  # the label the network suggests
    scores: np.ndarray  # their scores (the area under the margin by default: negative = another label usually won)
    method: str

    def as_json(self) -> dict:
        return {"indices": [int(i) for i in self.indices], "labels": [int(v) for v in self.labels],
                "suggested": [int(v) for v in self.suggested],
                "scores": [round(float(s), 4) for s in self.scores]}  # fmt: skip


def suspects(dyn: Dynamics, top: int | None = 50, method: str = "aum", upto: float | None = None) -> Suspects:
    """The `top` images most likely mislabelled (every seen image for None), most suspect first."""
    score = scores(dyn, method, upto)
    order = ranking(score)
    order = order[~np.isnan(score[order])]
    order = order if top is None else order[: max(0, int(top))]
    suggested = suggested_labels(dyn, upto)
    return Suspects(order, dyn.labels[order], suggested[order], score[order].astype(np.float32), method)


def precision_recall_at(order: np.ndarray, flipped: np.ndarray, k: int) -> tuple[float, float]:
    """Precision and recall at k of a ranking against the set of truly flipped indices."""
    hits = np.isin(order[:k], flipped).sum()
    return float(hits / max(k, 1)), float(hits / max(len(flipped), 1))
