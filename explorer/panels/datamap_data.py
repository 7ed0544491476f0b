"""What the data-map tab computes off the GUI thread, and its words (no widgets here).

The map of 60,000 points is drawn as an image (explorer/datamap_figures.py's `render_map_rgba`, a few NumPy
passes in the job); showing it is one `setImage` on the GUI thread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QRectF

from core import cartography
from explorer.datamap_figures import TOP, X_RANGE, Y_RANGE, render_map_rgba

MAP_RECT = QRectF(X_RANGE[0], Y_RANGE[0], X_RANGE[1] - X_RANGE[0], Y_RANGE[1] - Y_RANGE[0])
EMPTY_TEXT = "Train a run (or pick one trained in this version) to see its data map and its suspects."


@dataclass
class MapResult:
    run_id: int
    upto: int  # the epochs the map is drawn from
    data_map: cartography.DataMap
    suspects: cartography.Suspects
    image: np.ndarray  # (GRID[0], GRID[1], 4) uint8 RGBA, x (variability) first, y (confidence) up


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
    return MapResult(run.run_id, upto, dm, found, render_map_rgba(dm))


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
