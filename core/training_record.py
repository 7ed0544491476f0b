"""The per-image training record: for every training image, at every epoch, how the network saw it.

While a run trains, `TrainingRecord.observe` takes the outputs the training forward pass has already computed for
each batch (no extra pass over the data), keyed by each image's index in the training split. At the epoch's end
(`end_epoch`) it keeps, per image:

- `probability`: the output for the image's given label, the outputs normalised to sum 1 (softmax outputs already
  do; a sigmoid network's outputs are normalised as core.insight does), float16;
- `margin`: log p(given label) - log p(largest other label); for softmax this is exactly the logit margin of
  Pleiss et al. 2020 (the area under the margin is its mean over epochs), float16;
- `rival`: the other label with the largest output (what the network would suggest instead), uint8.

Images augmented into several copies (Rashid's three) are averaged over their copies; an image not seen in an
epoch (a stopped run's partial epoch) has NaN there. The outputs are those of the training pass: each computed
with the weights before that batch's update, with dropout when the run uses it (as Swayamdipta et al. 2020 and
Pleiss et al. 2020 record them).

Memory: 5 bytes per image per epoch (60,000 images x 15 epochs = 4.5 MB), plus the current epoch's sums,
(classes + 2) x 4 bytes per image (2.9 MB for MNIST). At most `MAX_COLUMNS` epochs are kept: past that, every
other kept epoch is dropped (the `epochs` list says which remain), so a 1,000-epoch run stays under 33 MB.
A `Dynamics` is an immutable snapshot (the columns so far), safe to hand to another thread.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

MAX_COLUMNS = 100  # epochs kept per image; beyond, every other one is dropped
_PENDING = 256  # batches smaller than this (online learning) are gathered before they are added up
_TINY = np.float32(1e-38)  # the smallest probability a margin's log takes (float32 softmax underflows below)
NO_RIVAL = 255  # rival of an image not seen in that epoch


@dataclass(frozen=True)
class Dynamics:
    """The record's kept epochs: columns of (N,) arrays, one per kept epoch (1-based numbers in `epochs`)."""

    labels: np.ndarray  # (N,) the given labels, uint8
    n_classes: int
    epochs: tuple[int, ...] = ()
    probability: tuple[np.ndarray, ...] = ()  # float16 each
    margin: tuple[np.ndarray, ...] = ()  # float16 each
    rival: tuple[np.ndarray, ...] = ()  # uint8 each

    @property
    def n_images(self) -> int:
        return len(self.labels)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (*self.probability, *self.margin, *self.rival)) + self.labels.nbytes

    def columns(self, upto: float | None = None) -> list[int]:
        """Positions of the kept epochs up to epoch `upto` (all of them for None)."""
        return [i for i, e in enumerate(self.epochs) if upto is None or e <= upto + 1e-9]

    def matrix(self, name: str, upto: float | None = None) -> np.ndarray:
        """(N, E) array of "probability", "margin" or "rival" for the kept epochs up to `upto`."""
        cols = self.columns(upto)
        parts = getattr(self, name)
        dtype = np.uint8 if name == "rival" else np.float16
        if not cols:
            return np.empty((self.n_images, 0), dtype)
        return np.stack([parts[i] for i in cols], axis=1)

    def truncated(self, epochs: int) -> Dynamics:
        """The record up to epoch `epochs` (a saved record one epoch ahead of its run.json)."""
        keep = self.columns(epochs)
        pick = lambda parts: tuple(parts[i] for i in keep)  # noqa: E731
        return Dynamics(self.labels, self.n_classes, pick(self.epochs), pick(self.probability),
                        pick(self.margin), pick(self.rival))  # fmt: skip


class TrainingRecord:
    """Collects `Dynamics` while a run trains (core/training.py calls `observe` and `end_epoch`)."""

    def __init__(self, labels, n_classes: int, max_columns: int = MAX_COLUMNS):
        self.labels = np.asarray(labels).astype(np.uint8)
        self.n_classes = int(n_classes)
        self.max_columns = max(2, int(max_columns))
        n = len(self.labels)
        self._sums = np.zeros((n, self.n_classes), np.float32)
        self._margin_sum = np.zeros(n, np.float32)
        self._count = np.zeros(n, np.uint16)
        self._pending_rows = np.empty(_PENDING, np.intp)
        self._pending_out = np.empty((_PENDING, self.n_classes), np.float32)
        self._pending = 0
        self.dynamics = Dynamics(self.labels, self.n_classes)

    @property
    def nbytes(self) -> int:
        """Bytes held: the kept columns and the current epoch's sums."""
        sums = self._sums.nbytes + self._margin_sum.nbytes + self._count.nbytes + self._pending_out.nbytes
        return self.dynamics.nbytes + sums

    def observe(self, rows, outputs, part: slice | None = None) -> None:
        """The training pass's outputs (n, classes) for the images at `rows[part]` (indices into the training
        split); nothing when `rows` is None (a batch from outside the trainer's loop)."""
        if rows is None:
            return
        rows = rows if part is None else rows[part]
        n = len(outputs)
        if n >= _PENDING // 4:
            self._add(np.asarray(rows), outputs)
            return
        if self._pending + n > _PENDING:
            self._flush()
        self._pending_rows[self._pending : self._pending + n] = rows
        self._pending_out[self._pending : self._pending + n] = outputs
        self._pending += n

    def _flush(self) -> None:
        if self._pending:
            self._add(self._pending_rows[: self._pending], self._pending_out[: self._pending])
            self._pending = 0

    def _add(self, rows, outputs) -> None:
        p = np.asarray(outputs, np.float32)
        p = p / np.maximum(p.sum(axis=1, keepdims=True), _TINY)  # a copy: the caller's buffer is left alone
        margin = label_margin(p, self.labels[rows])
        if len(np.unique(rows)) == len(rows):  # the usual batch: each image once (fancy-index adds are 5x faster)
            self._sums[rows] += p
            self._margin_sum[rows] += margin
            self._count[rows] += 1
        else:  # rows repeat within a batch for Rashid's three copies
            np.add.at(self._sums, rows, p)
            np.add.at(self._margin_sum, rows, margin)
            np.add.at(self._count, rows, 1)

    def end_epoch(self, epoch: int) -> Dynamics:
        """Close epoch `epoch` (1-based): keep its columns, clear the sums; returns the snapshot so far."""
        self._flush()
        seen = self._count > 0
        count = np.maximum(self._count, 1).astype(np.float32)
        mean = self._sums / count[:, None]
        rows = np.arange(len(self.labels))
        prob = mean[rows, self.labels]
        mean[rows, self.labels] = -1.0
        rival = mean.argmax(axis=1).astype(np.uint8)
        margin = self._margin_sum / count
        prob[~seen], margin[~seen], rival[~seen] = np.nan, np.nan, NO_RIVAL
        d = self.dynamics
        columns = [list(d.epochs) + [int(epoch)], list(d.probability) + [prob.astype(np.float16)],
                   list(d.margin) + [margin.astype(np.float16)], list(d.rival) + [rival]]  # fmt: skip
        if len(columns[0]) > self.max_columns:  # bounded: drop every other epoch kept so far, keep the newest
            columns = [c[1:-1:2] + c[-1:] for c in columns]
        self.dynamics = Dynamics(self.labels, self.n_classes, *(tuple(c) for c in columns))
        self._sums.fill(0.0)
        self._margin_sum.fill(0.0)
        self._count.fill(0)
        return self.dynamics


def label_margin(p: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """log p(label) - log max_{k != label} p(k) per row of probabilities `p` (n, classes); float32."""
    rows = np.arange(len(p))
    given = p[rows, labels].copy()
    others = p.copy()
    others[rows, labels] = -1.0
    best_other = others.max(axis=1)
    return np.log(np.maximum(given, _TINY)) - np.log(np.maximum(best_other, _TINY))


# --- files -----------------------------------------------------------------------------------------------------
def to_bytes(dyn: Dynamics) -> bytes:
    """The record as an uncompressed .npz (what a run folder's dynamics.npz holds)."""
    buffer = io.BytesIO()
    np.savez(buffer, labels=dyn.labels, n_classes=np.int64(dyn.n_classes),
             epochs=np.asarray(dyn.epochs, np.int64), probability=dyn.matrix("probability"),
             margin=dyn.matrix("margin"), rival=dyn.matrix("rival"))  # fmt: skip
    return buffer.getvalue()


def load(path) -> Dynamics:
    """Read a record written by `to_bytes`; ValueError (one sentence) when the file is not one."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in ("labels", "n_classes", "epochs", "probability", "margin", "rival")}
    except (OSError, ValueError, KeyError, EOFError) as exc:
        raise ValueError(f"The training record {path} could not be read ({exc}).") from None
    labels, epochs = arrays["labels"], arrays["epochs"]
    n, e = len(labels), len(epochs)
    shapes_ok = all(arrays[k].shape == (n, e) for k in ("probability", "margin", "rival"))
    kinds_ok = (arrays["probability"].dtype == np.float16 and arrays["margin"].dtype == np.float16
                and arrays["rival"].dtype == np.uint8 and labels.dtype == np.uint8 and labels.ndim == 1)  # fmt: skip
    n_classes = int(arrays["n_classes"]) if arrays["n_classes"].shape == () else -1
    if not (shapes_ok and kinds_ok and 1 <= n_classes <= 255 and (n == 0 or labels.max() < n_classes)):
        raise ValueError(f"The training record {path} does not hold a record of this app.")
    split = lambda a: tuple(np.ascontiguousarray(a[:, i]) for i in range(e))  # noqa: E731
    return Dynamics(labels, n_classes, tuple(int(x) for x in epochs), split(arrays["probability"]),
                    split(arrays["margin"]), split(arrays["rival"]))  # fmt: skip
