"""Robustness curves: test accuracy against rotation, shift, Gaussian noise and stroke thickness.

Every perturbation is applied to the model's own inputs, `Model.scale(images)` seen as (N, 28, 28), the way the
trainer's augmentation (core/augment.py) sees them, with the scaled 0 pixel as the background:

* **rotation**, amounts in degrees (0..45): image i is turned by +amount when i is even and by -amount when i is
  odd (a positive angle turns the digit counter-clockwise, as in `augment.rotate`), bilinear, background fill.
  Digits are not symmetric, so both directions are measured, each on half of the test set.
* **shift**, amounts in whole pixels (0..4): image i moves `amount` pixels right, down, left or up for i % 4 = 0,
  1, 2, 3 (`augment.transform`'s whole-pixel shifts: exact copies, background where the image moved away).
* **noise**, amounts are the noise's standard deviation as a fraction of full scale (black to white, so 0.1 is
  25.5 grey levels): one fixed standard-normal field per image (seeded, the same at every amount, so a larger
  amount is the same noise stronger), scaled, added, and clipped to the input range (a pixel cannot be blacker
  than black).
* **thickness**, amounts in pixels: +k moves every stroke's edge out by k pixels (grey dilation with a disk of
  radius k, `scipy.ndimage.grey_dilation`), -k moves it in (grey erosion). Scalings are increasing affine maps
  of the pixel values, so morphology on the scaled image equals morphology on the raw one.

Amount 0 is the plain test set, classified in one forward pass as `mnist-explorer evaluate` and the trainer do,
so its accuracy is the model's test accuracy exactly. The perturbed sets go through the network in chunks
(`CHUNK` images), each chunk scaled once and perturbed at every amount. Only `Model.scale` and
`network.forward` are used, so any network the model holds (dense or convolutional) works.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass

import numpy as np

from core.readers import IMAGE_SHAPE

PERTURBATIONS = ("rotation", "shift", "noise", "thickness")
# amount 0 first, then the others in increasing order
AMOUNTS = {
    "rotation": (0, 5, 10, 15, 20, 25, 30, 35, 40, 45),
    "shift": (0, 1, 2, 3, 4),
    "noise": (0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5),
    "thickness": (0, -2, -1, 1, 2),
}
UNITS = {
    "rotation": "degrees",
    "shift": "pixels",
    "noise": "sigma, fraction of black to white",
    "thickness": "pixels, - thinner, + thicker",
}
LIMITS = {"rotation": 180.0, "shift": 27.0, "noise": 10.0, "thickness": 13.0}  # the largest |amount| accepted
CHUNK = 2000  # images perturbed and fed forward at a time: (2000, 784) float32 is 6 MB per amount
NOISE_BLOCK = 1000  # the noise of images [k*1000, (k+1)*1000) comes from its own seeded generator
SHIFT_DIRECTIONS = np.array([(0, 1), (1, 0), (0, -1), (-1, 0)])  # (rows, columns): right, down, left, up


@dataclass
class Curve:
    """One perturbation's accuracy at each amount, and every test image's prediction there."""

    perturbation: str
    amounts: np.ndarray  # float64 (k,), amounts[0] == 0
    accuracy: np.ndarray  # float64 (k,)
    predicted: np.ndarray  # int16 (k, N): the label predicted for each test image at each amount
    labels: np.ndarray  # int64 (N,)
    seconds: float = 0.0  # time it took to compute

    def index(self, amount: float) -> int:
        """The position of `amount` among the amounts (ValueError if it is not one of them)."""
        hits = np.flatnonzero(np.isclose(self.amounts, float(amount)))
        if not hits.size:
            raise ValueError(f"{amount} is not one of the {self.perturbation} amounts computed")
        return int(hits[0])

    def flips(self, amount: float) -> np.ndarray:
        """The test images answered right at amount 0 and wrong at `amount` (indices, increasing)."""
        after = self.predicted[self.index(amount)]
        return np.flatnonzero((self.predicted[0] == self.labels) & (after != self.labels))

    def points(self) -> list[dict]:
        """[{"amount": a, "accuracy": x}, ...], amount 0 first (whole amounts as ints), as the JSON holds it."""
        return [
            {"amount": _number(a), "accuracy": float(x)}
            for a, x in zip(self.amounts, self.accuracy, strict=True)
        ]


def _number(value: float):
    return int(value) if float(value).is_integer() else float(value)


def check_amounts(perturbation: str, amounts=None) -> np.ndarray:
    """The amounts to measure, as float64 with 0 first (added if missing); ValueError for an unknown perturbation
    or an amount that is not a finite number within its limit (thickness and shift: whole pixels)."""
    if perturbation not in AMOUNTS:
        raise ValueError(f"Unknown perturbation {perturbation!r}; use one of {', '.join(PERTURBATIONS)}.")
    values = [float(a) for a in (AMOUNTS[perturbation] if amounts is None else amounts)]
    for a in values:
        if not math.isfinite(a) or abs(a) > LIMITS[perturbation]:
            raise ValueError(
                f"A {perturbation} amount must be a number within +/-{LIMITS[perturbation]:g}, not {a}."
            )
        if perturbation in ("shift", "thickness") and not a.is_integer():
            raise ValueError(f"A {perturbation} amount is a whole number of pixels, not {a}.")
        if perturbation == "noise" and a < 0:
            raise ValueError(f"A noise amount is a standard deviation, never negative ({a}).")
    rest = sorted({a for a in values if a != 0})
    return np.array([0.0, *rest])


def perturb(x: np.ndarray, perturbation: str, amount: float, index, lo: float, hi: float, seed: int = 0):
    """Scaled images `x` (n, 28, 28), the test images at `index` (n,), perturbed by `amount` (module docstring);
    lo and hi are the scaled black and white. Returns a new (n, 28, 28) array in x's dtype."""
    index = np.asarray(index, dtype=np.int64)
    if amount == 0:
        return x.copy()
    if perturbation == "rotation":
        return _resample(x, index % 2, [(amount, 0, 0), (-amount, 0, 0)], lo)
    if perturbation == "shift":
        moves = [(0.0, int(r) * int(amount), int(c) * int(amount)) for r, c in SHIFT_DIRECTIONS]
        return _resample(x, index % 4, moves, lo)
    if perturbation == "noise":
        noisy = x + noise_field(index, seed, x.dtype) * np.asarray(amount * (hi - lo), x.dtype)
        return np.clip(noisy, lo, hi, out=noisy)
    if perturbation == "thickness":
        return _morphology(x, int(amount), lo)
    raise ValueError(f"Unknown perturbation {perturbation!r}; use one of {', '.join(PERTURBATIONS)}.")


def noise_field(index, seed: int = 0, dtype=np.float32) -> np.ndarray:
    """Standard-normal noise (n, 28, 28) of the test images at `index`: each block of `NOISE_BLOCK` images has
    its own generator seeded by (seed, block), so an image's noise never depends on how the set is chunked."""
    index = np.asarray(index, dtype=np.int64).reshape(-1)
    out = np.empty((len(index), *IMAGE_SHAPE), dtype)
    blocks = index // NOISE_BLOCK
    for block in np.unique(blocks):
        rng = np.random.default_rng([int(seed), int(block)])
        values = rng.standard_normal((NOISE_BLOCK, *IMAGE_SHAPE), dtype=np.float32)
        mine = blocks == block
        out[mine] = values[index[mine] - block * NOISE_BLOCK]
    return out


def _resample(x: np.ndarray, group: np.ndarray, moves: list[tuple], background: float) -> np.ndarray:
    """Each image x[i] turned and shifted by moves[group[i]] = (degrees, rows, columns), background outside."""
    out = np.empty_like(x)
    flat_in, flat_out = x.reshape(len(x), -1), out.reshape(len(x), -1)
    for g, move in enumerate(moves):
        members = np.flatnonzero(group == g)
        if members.size:
            matrix, outside = resampling_matrix(*move)
            moved = (matrix @ flat_in[members].T).T  # sparse (784, 784) times (784, n)
            flat_out[members] = moved + background * outside
    return out


@functools.lru_cache(maxsize=64)
def resampling_matrix(degrees: float, rows: int = 0, columns: int = 0):
    """`augment.transform`'s bilinear resampling (turn by `degrees`, shift by whole pixels) as a sparse
    (784, 784) float32 matrix M and the (784,) mask of output pixels read from outside the image: transform(x)
    = M x + background * mask. Every image of a chunk moved the same way shares one M (at most 4 non-zeros a
    row), so moving 2,000 images is one sparse product instead of 6 million interpolations."""
    from scipy import sparse

    from core import augment

    n = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]
    basis = np.eye(n).reshape(n, *IMAGE_SHAPE)  # image j: pixel j white; its transform is M's column j
    angles = np.full(n, float(degrees))
    shifts = np.tile([float(rows), float(columns)], (n, 1))
    columns_of_m = augment.transform(basis, angles, shifts, order=1, cval=0.0).reshape(n, n)
    matrix = sparse.csr_matrix(columns_of_m.T.astype(np.float32))
    mask = augment.transform(np.zeros((1, *IMAGE_SHAPE)), [float(degrees)], shifts[:1], order=1, cval=1.0)
    return matrix, mask.reshape(n).astype(np.float32)


def disk(radius: int) -> np.ndarray:
    """The footprint of a disk of `radius` pixels: (2r+1, 2r+1) booleans, i^2 + j^2 <= r^2 (r=1: a cross)."""
    r = int(radius)
    i, j = np.mgrid[-r : r + 1, -r : r + 1]
    return i * i + j * j <= r * r


def _morphology(x: np.ndarray, amount: int, background: float) -> np.ndarray:
    """Grey dilation (amount > 0) or erosion (amount < 0) of each image with a disk of radius |amount|, the
    outside of the image counting as background; one scipy call over the stack (the footprint is flat in n)."""
    from scipy import ndimage

    footprint = disk(abs(amount))[None]
    op = ndimage.grey_dilation if amount > 0 else ndimage.grey_erosion
    return op(x, footprint=footprint, mode="constant", cval=background)


def baseline_predictions(model, images: np.ndarray) -> np.ndarray:
    """The predicted label of every plain test image, in one forward pass over the whole set (as `evaluate`
    and the trainer compute the test accuracy, so amount 0 reproduces it exactly)."""
    if len(images) == 0:
        return np.zeros(0, np.int16)
    return np.argmax(model.network.forward(model.scale(images)), axis=1).astype(np.int16)


def curve(model, images, labels, perturbation: str, amounts=None, *, seed: int = 0, chunk: int = CHUNK,
          baseline: np.ndarray | None = None, progress=None) -> Curve:  # fmt: skip
    """The accuracy of `model` on the uint8 test `images` (N, 28, 28) with their `labels` at each amount of
    `perturbation`. `baseline`: the amount-0 predictions if already known; `progress(done, total, what)` hears
    after each chunk (it may raise to abandon the work)."""
    start = time.perf_counter()
    amounts = check_amounts(perturbation, amounts)
    images, labels = _check_images(images, labels)
    n = len(images)
    predicted = np.empty((len(amounts), n), np.int16)
    predicted[0] = baseline_predictions(model, images) if baseline is None else baseline
    lo, hi = (float(v) for v in model.input_range())
    chunk = max(1, int(chunk))
    for first in range(0, n, chunk):
        if progress is not None:
            progress(first, n, perturbation)
        x = model.scale(images[first : first + chunk])
        shape = x.shape
        square = x.reshape(-1, *IMAGE_SHAPE)
        index = np.arange(first, first + len(square))
        for k, amount in enumerate(amounts[1:], start=1):
            moved = perturb(square, perturbation, amount, index, lo, hi, seed).reshape(shape)
            predicted[k, first : first + len(x)] = np.argmax(model.network.forward(moved), axis=1)
    if progress is not None:
        progress(n, n, perturbation)
    accuracy = (predicted == labels[None]).mean(axis=1) if n else np.full(len(amounts), np.nan)
    return Curve(
        perturbation, amounts, accuracy.astype(np.float64), predicted, labels, time.perf_counter() - start
    )


def curves(model, images, labels, perturbations=PERTURBATIONS, *, seed: int = 0, chunk: int = CHUNK,
           progress=None) -> dict[str, Curve]:  # fmt: skip
    """`curve` for each perturbation (default amounts), the plain set classified once for all of them."""
    images, labels = _check_images(images, labels)
    baseline = baseline_predictions(model, images)
    return {
        name: curve(model, images, labels, name, seed=seed, chunk=chunk, baseline=baseline, progress=progress)
        for name in perturbations
    }


def as_json(found: dict[str, Curve]) -> dict[str, list[dict]]:
    """{"rotation": [{"amount": 0, "accuracy": ...}, ...], "shift": ..., ...}: what `evaluate --robustness`
    prints and robustness.csv holds."""
    return {name: c.points() for name, c in found.items()}


def perturbed_images(model, images, indices, perturbation: str, amount: float, seed: int = 0) -> np.ndarray:
    """The test images at `indices` as the network saw them at `amount`, back in uint8 grey levels (k, 28, 28),
    for showing the digits whose answer flipped."""
    indices = np.asarray(indices, dtype=np.int64).reshape(-1)
    if len(indices) == 0:
        return np.zeros((0, *IMAGE_SHAPE), np.uint8)
    lo, hi = (float(v) for v in model.input_range())
    x = model.scale(np.asarray(images)[indices]).reshape(-1, *IMAGE_SHAPE)
    moved = perturb(x, perturbation, float(amount), indices, lo, hi, seed)
    return np.clip(np.rint((moved - lo) / (hi - lo) * 255), 0, 255).astype(np.uint8)


def _check_images(images, labels) -> tuple[np.ndarray, np.ndarray]:
    images = np.asarray(images)
    labels = np.asarray(labels).astype(np.int64).reshape(-1)
    if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"Robustness needs test images of shape (N, 28, 28), not {images.shape}.")
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} test images but {len(labels)} labels.")
    return images, labels
