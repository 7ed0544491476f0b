"""The Robustness tab's numbers: which runs' curves to show (`Entry`, `entries`), the jobs that compute them off
the GUI thread (`compute_curve`, `flip_images`), the cache that keeps each (run, epoch, perturbation) once, and
the tab's words (`describe`, `axis_title`). No widgets here."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from core import robustness
from explorer.widgets.epoch_slider import epoch_number

TITLES = {
    "rotation": "Rotation",
    "shift": "Shift",
    "noise": "Gaussian noise",
    "thickness": "Stroke thickness",
}
AXIS_TITLES = {
    "rotation": "rotation (degrees; alternate digits turned each way)",
    "shift": "shift (pixels; right, down, left or up)",
    "noise": "noise sigma (fraction of black to white)",
    "thickness": "stroke thickness (pixels; negative thinner, positive thicker)",
}
GRID_EMPTY = (
    "Train a run (or tick runs in the runs list) to see how its accuracy holds up when the digits change."
)
EMPTY_TEXT = f"Robustness: {GRID_EMPTY[0].lower()}{GRID_EMPTY[1:]}"  # the tab's first line names the tab
# curves kept: ~10 amounts x 10,000 int16 predictions and the labels, ~300 KB each: ~36 MB at most
CACHE_SIZE = 120
FLIP_CACHE_SIZE = 16  # flip galleries kept (uint8 images)


@dataclass(frozen=True, eq=False)  # eq: runs compare by identity, never field by field
class Entry:
    """One curve to show: a run at an epoch (1-based), under one perturbation."""

    run: object  # explorer.runs.Run
    epoch: int
    selected: (
        bool  # the selected run (at the epoch slider's epoch) rather than a ticked one at its last epoch
    )
    perturbation: str
    dataset: str

    @property
    def key(self) -> tuple:
        return (self.run.run_id, self.epoch, self.perturbation, self.dataset)

    @property
    def label(self) -> str:
        """The legend's words: which run, and which epoch of it the curve is."""
        history = self.run.history
        number = (
            epoch_number(history[self.epoch - 1], self.epoch)
            if len(history) >= self.epoch
            else str(self.epoch)
        )
        which = f"epoch {number}" if self.selected else f"last epoch, {number}"
        return f"{self.run.name} ({which})"


def usable(run, dataset) -> bool:
    """The run has weights and was trained on the dataset whose test images are loaded."""
    if dataset is None or not run.snapshots:
        return False
    same_name = not run.dataset or run.dataset == dataset.name
    return same_name and (not run.classes or len(run.classes) == len(dataset.class_names))


def entries(state, perturbation: str) -> tuple[list[Entry], Entry | None]:
    """The curves to draw (every ticked run: the selected one at the slider's epoch, the others at their last
    epoch), and the selected run's entry (for the flips, ticked or not; None without one)."""
    dataset = state.dataset
    name = getattr(dataset, "name", "")
    chosen = None
    selected = state.selected_run
    if selected is not None and usable(selected, dataset):
        epoch = min(state.selected_epoch or len(selected.snapshots), len(selected.snapshots))
        chosen = Entry(selected, epoch, True, perturbation, name)
    shown = []
    for run in state.runs:
        if run is selected and chosen is not None and run.visible:
            shown.append(chosen)
        elif run is not selected and run.visible and usable(run, dataset):
            shown.append(Entry(run, len(run.snapshots), False, perturbation, name))
    return shown, chosen


def compute_curve(snapshots, epoch: int, images, labels, perturbation: str, progress=None):
    """The job: the run's model at `epoch` read (from disk if it is not in memory yet) and its curve measured."""
    model = snapshots[epoch - 1]
    if model is None:
        raise ValueError(f"The weights of epoch {epoch} could not be read ({snapshots.problem.rstrip('.')})")
    return robustness.curve(model, images, labels, perturbation, progress=progress)


def flip_images(snapshots, epoch: int, images, indices, perturbation: str, amount: float) -> np.ndarray:
    """The job: the flipped digits as the network saw them at `amount` (uint8)."""
    model = snapshots[epoch - 1]
    if model is None:
        raise ValueError(f"The weights of epoch {epoch} could not be read")
    return robustness.perturbed_images(model, images, indices, perturbation, amount)


class LruCache(OrderedDict):
    """A dict that forgets its least recently used entries beyond `size`."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def get(self, key, default=None):
        if key in self:
            self.move_to_end(key)
            return self[key]
        return default

    def put(self, key, value) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


def amount_text(perturbation: str, amount: float) -> str:
    if perturbation == "rotation":
        return f"±{amount:g}°"
    if perturbation == "shift":
        return f"{amount:g} px"
    if perturbation == "noise":
        return f"σ {amount:g}"
    return f"{amount:+g} px"


def describe(perturbation: str, shown: list[Entry]) -> str:
    """The tab's first line: what the plot shows and how to read it."""
    if not shown:
        return EMPTY_TEXT
    what = {
        "rotation": "each test digit turned by up to 45 degrees",
        "shift": "each test digit moved by up to 4 pixels",
        "noise": "Gaussian noise added to each test digit",
        "thickness": "each test digit's strokes made thinner or thicker",
    }[perturbation]
    runs = "one run" if len(shown) == 1 else f"{len(shown)} runs"
    return (
        f"Robustness: the test accuracy of {runs} with {what}: a flat curve is a robust network, a steep one a fragile one. "
        "Below: the selected run's digits that were right on the plain test set and wrong at the chosen amount."
    )


def csv_columns(curves: list[tuple[Entry, object]]) -> dict[str, list]:
    """The plotted curves as columns (run, epoch, perturbation, amount, accuracy), for the export button."""
    columns = {"run": [], "epoch": [], "perturbation": [], "amount": [], "accuracy": []}
    for entry, curve in curves:
        for amount, accuracy in zip(curve.amounts, curve.accuracy, strict=True):
            columns["run"].append(entry.run.name)
            columns["epoch"].append(entry.epoch)
            columns["perturbation"].append(entry.perturbation)
            columns["amount"].append(float(amount))
            columns["accuracy"].append(float(accuracy))
    return columns
