"""The hidden-layer map tab's jobs (run off the GUI thread by its JobRunners) and its words. Split out of
explorer/panels/projection.py, which imports them from here."""

from __future__ import annotations

import contextlib
import threading

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap

from core import projection
from explorer.jobs import Cancelled
from explorer.widgets.image_grid import to_qimage

EMPTY_TEXT = "Train a model to see how its hidden layer arranges the test images."
CAPTION = "Map of the hidden layer: each dot is a test image, placed by how the network's layer represents it"
SAMPLES = ((0, "All 10,000"), (5000, "5,000"), (2000, "2,000"))  # (images, the combo's text); 0 = all
N_JOBS = 1  # t-SNE's threads: one, so a run training beside it keeps the other core
SCHEDULE = projection.SCHEDULE  # t-SNE's iterations (tests map with a shorter one)


def describe(model, layer: str = "") -> str:
    """The tab's one line."""
    if model is None:
        return CAPTION + " (train a model to see it)."
    where = f" ({layer})" if layer else ""
    return (
        CAPTION
        + f"{where}, coloured by its label; ringed dots are wrong. Hover to see an image, click it to "
        "follow it through the epochs, drag a loop round dots to list them."
    )


class Wanted:
    """What the tab shows now, read by the running map job: a job for another run, layer, method or sample, or
    any job once the window closes, stops at its next report. A job for an older epoch of the same chain runs
    on (its map is cached, and the newer epoch's map starts from it)."""

    def __init__(self):
        self.chain: tuple | None = None
        self.closing = threading.Event()


def compute_map(cache, key, model, images, labels, indices, wanted: Wanted, progress):
    """The job: the map for `key` (run, layer, method, sample, epoch), from the cache or computed from the
    nearest epoch's map and cached; (key, LayerMap)."""
    found = cache.get(key)
    if found is not None:
        return key, found
    near = cache.nearest(key)
    _run, layer, method, _sample, epoch = key

    def report(done, total):
        if wanted.closing.is_set() or wanted.chain != tuple(key[:-1]):
            raise Cancelled()
        # A newer epoch was asked for (Cancelled): finish this one, it is cached and the newer one starts from it.
        with contextlib.suppress(Cancelled):
            progress(done, total, f"epoch {epoch}")

    layer_map = projection.map_model(model, images, labels, layer, method, indices,
                                     previous=None if near is None else near[1], n_jobs=N_JOBS, schedule=SCHEDULE,
                                     progress=report)  # fmt: skip
    layer_map.started_from = None if near is None else near[0]
    cache.put(key, layer_map)
    return key, layer_map


def predictions_over_epochs(snapshots, count: int, image) -> list[tuple[int, int | None, float]]:
    """The job: (epoch, predicted label or None when its weights cannot be read, confidence) for one image at
    each of the run's first `count` epochs."""
    rows = []
    for epoch in range(1, count + 1):
        model = snapshots[epoch - 1]
        if model is None:
            rows.append((epoch, None, float("nan")))
            continue
        probs = model.predict_proba(np.asarray(image)[None])[0]
        predicted = int(np.argmax(probs))
        rows.append((epoch, predicted, float(probs[predicted])))
    return rows


def thumbnail(image, scale: int = 3) -> QPixmap:
    """A 28x28 image enlarged by whole pixels (crisp squares)."""
    picture = to_qimage(image)
    return QPixmap.fromImage(
        picture.scaled(
            picture.width() * scale,
            picture.height() * scale,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.FastTransformation,
        )  # fmt: skip
    )


def status_text(layer_map, epoch: int) -> str:
    """The line under the controls: the epoch, how the map was made and how well the digits keep apart."""
    from explorer.projection_figure import describe_map

    if layer_map.started_from is None:
        start = "a fresh map" + (" (started from the PCA)" if layer_map.method == "tsne" else "")
    else:
        verb = "started from" if layer_map.method == "tsne" else "turned to match"
        start = f"{verb} epoch {layer_map.started_from}'s map"
    return f"Epoch {epoch}: {describe_map(layer_map)} Computed in {layer_map.seconds:.1f} s, {start}."
