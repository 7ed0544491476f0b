"""What the data-map tab computes off the GUI thread, and its words (no widgets here).

The map of 60,000 points is drawn as an image: each point falls in one cell of a fine grid over
(variability, confidence); a cell's colour is the mean correctness of its points and its opacity grows with their
number. Building it is a few NumPy passes (milliseconds, in the job), and showing it is one `setImage`; a
pyqtgraph scatter of 60,000 points took 170 ms per update on the GUI thread, too long while a run trains.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QRectF

from core import cartography

GRID = (400, 320)  # cells across variability and confidence
X_RANGE = (0.0, 0.5)  # variability: a standard deviation of values in [0, 1] is at most 0.5
Y_RANGE = (0.0, 1.0)
MAP_RECT = QRectF(X_RANGE[0], Y_RANGE[0], X_RANGE[1] - X_RANGE[0], Y_RANGE[1] - Y_RANGE[0])
TOP = 60  # suspects in the gallery
# correctness 0 (never right) .. 1 (always right): red, orange, yellow-green, teal, blue
PALETTE = np.array([[214, 39, 40], [255, 127, 14], [160, 190, 40], [23, 160, 150], [31, 90, 200]], np.float32)
EMPTY_TEXT = "Train a run (or pick one trained in this version) to see its data map and its suspects."


@dataclass
class MapResult:
    run_id: int
    upto: int  # the epochs the map is drawn from
    data_map: cartography.DataMap
    suspects: cartography.Suspects
    image: np.ndarray  # (GRID[0], GRID[1], 4) uint8 RGBA, x (variability) first, y (confidence) up


def correctness_colours(correctness: np.ndarray) -> np.ndarray:
    """RGB (n, 3) float32 for correctness in [0, 1], interpolated along PALETTE."""
    position = np.clip(np.nan_to_num(correctness), 0.0, 1.0) * (len(PALETTE) - 1)
    low = np.floor(position).astype(int).clip(0, len(PALETTE) - 2)
    t = (position - low)[:, None]
    return PALETTE[low] * (1 - t) + PALETTE[low + 1] * t


def render(dm: cartography.DataMap, grid=GRID) -> np.ndarray:
    """The map as an RGBA image: one cell per (variability, confidence) bin."""
    w, h = grid
    ok = ~(np.isnan(dm.confidence) | np.isnan(dm.variability))
    gx = np.clip(((dm.variability[ok] - X_RANGE[0]) / (X_RANGE[1] - X_RANGE[0]) * w).astype(int), 0, w - 1)
    gy = np.clip(((dm.confidence[ok] - Y_RANGE[0]) / (Y_RANGE[1] - Y_RANGE[0]) * h).astype(int), 0, h - 1)
    cell = gx * h + gy
    count = np.bincount(cell, minlength=w * h).astype(np.float32)
    right = np.bincount(cell, np.nan_to_num(dm.correctness[ok]), minlength=w * h)
    mean = np.divide(right, count, out=np.zeros_like(count), where=count > 0)
    rgba = np.zeros((w * h, 4), np.uint8)
    rgba[:, :3] = correctness_colours(mean).astype(np.uint8)
    top = max(float(count.max()), 1.0)
    alpha = np.where(count > 0, 0.45 + 0.55 * np.log1p(count) / np.log1p(top), 0.0)
    rgba[:, 3] = (alpha * 255).astype(np.uint8)
    return rgba.reshape(w, h, 4)


def selected_upto(run, selected_epoch: int) -> int:
    """The epochs the map should cover: the slider's epoch, or every epoch of a run whose in-between weights
    were thinned from disk (its slider has fewer stops than it has epochs)."""
    epochs = len(run.history)
    if len(run.snapshots) == epochs and 1 <= selected_epoch <= epochs:
        return selected_epoch
    return epochs


def compute(run, upto: int, top: int = TOP) -> MapResult | None:
    """The job: the run's record (read from disk if needed) up to `upto` epochs, its map and its suspects."""
    from explorer.runs import run_dynamics

    dynamics = run_dynamics(run)
    if dynamics is None or not dynamics.columns(upto):
        return None
    dm = cartography.data_map(dynamics, upto)
    found = cartography.suspects(dynamics, top=top, upto=upto)
    return MapResult(run.run_id, upto, dm, found, render(dm))


def nearest(dm: cartography.DataMap, x: float, y: float, x_scale: float, y_scale: float) -> int | None:
    """The image whose point is nearest (x, y), distances measured in pixels (data units per pixel given)."""
    dx = (dm.variability - x) / max(x_scale, 1e-12)
    dy = (dm.confidence - y) / max(y_scale, 1e-12)
    distance = np.nan_to_num(dx * dx + dy * dy, nan=np.inf)
    best = int(np.argmin(distance))
    return best if distance[best] <= 36.0 else None  # within 6 pixels


def readout(dm: cartography.DataMap, index: int, names) -> str:
    right = dm.correctness[index] * dm.epochs
    return (f"Training image {index:,}: label {names[dm.labels[index]]}, confidence {dm.confidence[index]:.3f}, "
            f"variability {dm.variability[index]:.3f}, right in {right:.0f} of {dm.epochs} epochs")  # fmt: skip


def describe(run, result: MapResult | None) -> str:
    if run is None or result is None:
        return "Data map: " + EMPTY_TEXT
    dm = result.data_map
    hard = int(np.count_nonzero(dm.confidence < 0.5))
    return (f"Data map of {run.name}'s {len(dm.labels):,} training images over {result.upto} epochs "
            f"(Swayamdipta et al. 2020): up is confidence, the mean probability the network gave each image's "
            f"label; right is variability, how much it swung. {hard:,} sit below 0.5, where mislabelled images "
            f"gather; the gallery ranks the likeliest by the area under the margin."
            + (" Variability needs two epochs: after one, every point sits at 0." if result.upto == 1 else ""))  # fmt: skip


def map_table(dm: cartography.DataMap) -> dict:
    """datamap.csv's columns: one row per training image."""
    return {"index": np.arange(len(dm.labels)), "label": dm.labels.astype(int),
            "confidence": np.round(dm.confidence, 5), "variability": np.round(dm.variability, 5),
            "correct": np.round(dm.correctness, 5)}  # fmt: skip


def suspects_table(found: cartography.Suspects, names) -> dict:
    """suspects.csv's columns, most suspect first."""
    return {"rank": np.arange(1, len(found.indices) + 1), "index": found.indices.astype(int),
            "label": [names[v] for v in found.labels], "suggested": [names[v] for v in found.suggested],
            "score": np.round(found.scores, 4)}  # fmt: skip
