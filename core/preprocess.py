"""Input scaling and target encoding: what the network sees of a uint8 image and of a label.

Inputs (pixels p in 0..255, flattened to 784 values per image):

    unit       x = p / 255                    0..1
    rashid     x = p / 255 * 0.99 + 0.01      0.01..1.00 (Rashid: a zero input would stop its weights learning)
    standard   x = (p / 255 - mean) / std     mean and std are one number each, taken over the training set

Targets for label y of n classes:

    onehot     t_k = 1 if k == y else 0
    rashid     t_k = 0.99 if k == y else 0.01 (a sigmoid never reaches 0 or 1)

Scaling goes through a 256-entry lookup table, so the result is exactly the same for every image and no float64
copy of the data is made.
"""

from __future__ import annotations

import numpy as np

SCALINGS = ("unit", "rashid", "standard")
TARGETS = ("onehot", "rashid")


def fit_scaling(train_images_uint8: np.ndarray, scaling: str) -> dict:
    """The numbers `scale_inputs` needs, as a JSON-able dict: {"scaling", "mean", "std"} (of p / 255)."""
    _check_scaling(scaling)
    images = np.asarray(train_images_uint8)
    if scaling != "standard" or images.size == 0:
        return {"scaling": scaling, "mean": 0.0, "std": 1.0}
    # mean and variance from the pixel-value histogram: exact, and no float copy of 47 million pixels
    counts = np.bincount(images.ravel(), minlength=256).astype(np.float64)
    values = np.arange(256) / 255.0
    n = counts.sum()
    mean = float((counts * values).sum() / n)
    var = float((counts * (values - mean) ** 2).sum() / n)
    std = var**0.5 if var > 0 else 1.0
    return {"scaling": scaling, "mean": mean, "std": std}


def scaling_table(scaling: str, stats: dict | None = None, dtype=np.float32) -> np.ndarray:
    """The scaled value of every pixel value 0..255, shape (256,)."""
    _check_scaling(scaling)
    p = np.arange(256, dtype=np.float64) / 255.0
    if scaling == "unit":
        table = p
    elif scaling == "rashid":
        table = p * 0.99 + 0.01
    else:
        if stats is None:
            raise ValueError(
                "Standardised scaling needs the training set's statistics: pass fit_scaling(...)."
            )
        table = (p - stats["mean"]) / stats["std"]
    return table.astype(dtype)


def background_value(scaling: str, stats: dict | None = None) -> float:
    """The scaled value of a 0 pixel: the background that rotations and shifts fill in."""
    return float(scaling_table(scaling, stats, np.float64)[0])


def input_range(scaling: str, stats: dict | None = None) -> tuple[float, float]:
    """The scaled values of a black (0) and a white (255) pixel, lowest first: the range of every input."""
    table = scaling_table(scaling, stats, np.float64)
    return float(min(table[0], table[255])), float(max(table[0], table[255]))


def scale_inputs(
    images_uint8: np.ndarray, scaling: str, stats: dict | None = None, dtype=np.float32
) -> np.ndarray:
    """Scaled inputs, shape (N, H*W) (a single image (H, W) gives (1, H*W)), in `dtype`."""
    images = np.asarray(images_uint8)
    if images.dtype != np.uint8:
        raise ValueError(f"Images must be uint8 pixel values 0..255, not {images.dtype}; convert them first.")
    if images.ndim == 2:
        images = images[None]
    table = scaling_table(scaling, stats, dtype)
    # np.take gives the same values as table[images] in half the time (0.18 s against 0.35 s for 60,000 images)
    return np.take(table, images.reshape(len(images), -1))


def encode_targets(labels: np.ndarray, n_classes: int, kind: str, dtype=np.float32) -> np.ndarray:
    """Targets, shape (N, n_classes): one-hot, or Rashid's 0.01 / 0.99."""
    if kind not in TARGETS:
        raise ValueError(f"Unknown target encoding {kind!r}; use one of {', '.join(TARGETS)}.")
    labels = np.asarray(labels).astype(np.intp, copy=False)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"Labels must lie in 0..{n_classes - 1}; found {labels.min()}..{labels.max()}.")
    off, on = (0.0, 1.0) if kind == "onehot" else (0.01, 0.99)
    targets = np.full((len(labels), n_classes), off, dtype=dtype)
    targets[np.arange(len(labels)), labels] = on
    return targets


def _check_scaling(scaling: str) -> None:
    if scaling not in SCALINGS:
        raise ValueError(f"Unknown input scaling {scaling!r}; use one of {', '.join(SCALINGS)}.")
