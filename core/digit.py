"""Turn a drawn or photographed digit into a 28x28 input the way MNIST's images were made.

LeCun, Cortes and Burges describe MNIST's preparation: the NIST digits "were size normalized to fit in a 20x20
pixel box while preserving their aspect ratio", the anti-aliasing of that normalisation giving grey levels, and
"centered in a 28x28 image by computing the center of mass of the pixels, and translating the image so as to
position this point at the center of the 28x28 field". Measured on MNIST's training set the centre of mass sits
at row 14.0, column 14.0 (array indices) with a spread of 0.29 pixels: the spread of a uniform +/-0.5, so the
translation was a whole number of pixels. `prepare_digit` does the same:

1. grey levels 0..1, light ink on a dark background (a dark-on-light picture is inverted: its border is bright);
2. the background level (the border's median) is removed and the ink stretched to full brightness;
3. crop to the bounding box of the ink (pixels of at least `ink_threshold` of the brightest);
4. resample so the longer side is 20 pixels, keeping the aspect, by exact area averaging (every output pixel is
   the mean of the input area it covers, which anti-aliases a large drawing instead of sampling it);
5. stretch so the brightest pixel is white again (every MNIST digit reaches 255), and
6. paste into 28x28 at the whole-pixel offset that puts the centre of mass nearest to (14, 14).

NumPy and SciPy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.readers import IMAGE_SHAPE

FIELD = IMAGE_SHAPE[0]  # MNIST's image side (its images are square)
BOX = 20  # the box the digit is fitted into, keeping its aspect
CENTRE = 14.0  # where MNIST's centres of mass lie (row and column, array indices)
INK_THRESHOLD = 0.1  # a pixel is ink when at least this fraction of the brightest pixel


@dataclass
class PreparedDigit:
    """A prepared digit and how it was made (for display and tests)."""

    image: np.ndarray  # uint8 (28, 28), MNIST's convention: 0 background, 255 ink
    empty: bool  # no ink found: `image` is all zeros
    inverted: bool  # the source was dark ink on a light background and was inverted
    bbox: tuple[
        int, int, int, int
    ]  # (top, left, bottom, right) of the ink in the source, bottom/right exclusive
    fitted: np.ndarray  # float 0..1, the cropped ink resampled so its longer side is 20
    offset: tuple[int, int]  # (row, column) where `fitted`'s top-left corner was placed in the 28x28 field


def to_grey(image: np.ndarray) -> np.ndarray:
    """A 2-D float array in 0..1 from uint8 (0..255), float (0..1), or an RGB(A) array (H, W, 3|4)."""
    array = np.asarray(image)
    integer = np.issubdtype(array.dtype, np.integer)
    if array.ndim == 3 and array.shape[2] in (3, 4):
        # ITU-R BT.601 luma, as Qt's and PIL's greyscale conversions use
        array = array[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    elif array.ndim != 2:
        raise ValueError(f"expected a 2-D greyscale or an RGB image, got an array of shape {array.shape}")
    if array.size == 0:
        raise ValueError("the image is empty (no pixels)")
    if integer:
        return array.astype(np.float64) * (1 / 255.0)  # 0..255 -> 0..1, no cleaning needed
    array = array.astype(np.float64)
    return np.clip(np.where(np.isnan(array), 0.0, array), 0.0, 1.0)


def border(image: np.ndarray) -> np.ndarray:
    """The pixels of the outer ring, 1/20 of the shorter side wide (at least one pixel)."""
    h, w = image.shape
    width = max(1, min(h, w) // 20)
    mask = np.zeros((h, w), dtype=bool)
    mask[:width, :] = mask[-width:, :] = True
    mask[:, :width] = mask[:, -width:] = True
    return image[mask]


def is_dark_on_light(image: np.ndarray) -> bool:
    """True for a picture of dark ink on light paper: its border is, on average, brighter than mid-grey."""
    return bool(border(to_grey(image)).mean() > 0.5)


def ink_image(image: np.ndarray, invert: bool | None = None) -> tuple[np.ndarray, bool]:
    """Light ink on black, 0..1, brightest ink 1 (steps 1-2), and whether the picture was inverted.

    `invert`: None detects dark-on-light pictures by their border; True or False forces it.
    """
    grey = to_grey(image)
    inverted = is_dark_on_light(grey) if invert is None else bool(invert)
    if inverted:
        grey = 1.0 - grey
    background = float(np.median(border(grey)))  # paper that is not quite black (or white) is not ink
    ink = np.clip(grey - background, 0.0, None)
    peak = float(ink.max())
    return (ink / peak if peak > 0 else ink), inverted


def ink_bbox(image: np.ndarray, threshold: float = INK_THRESHOLD) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right), exclusive, of the pixels at least `threshold` x the maximum; None if blank."""
    top_value = float(image.max()) if image.size else 0.0
    if top_value <= 0:
        return None
    rows = np.flatnonzero((image >= threshold * top_value).any(axis=1))
    cols = np.flatnonzero((image >= threshold * top_value).any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def area_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in): row i averages the input cells that output cell i covers, weighted by the overlap."""
    edges = np.arange(n_out + 1) * (n_in / n_out)  # output cell edges in input coordinates
    lo, hi = edges[:-1, None], edges[1:, None]
    cells = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(hi, cells + 1) - np.maximum(lo, cells), 0.0, None)
    return overlap / (n_in / n_out)


def resample_area(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """`image` resampled to `shape` by exact area averaging (a box filter matched to the scale)."""
    rows = area_matrix(image.shape[0], shape[0])
    cols = area_matrix(image.shape[1], shape[1])
    return rows @ image @ cols.T


def fitted_shape(height: int, width: int, box: int = BOX) -> tuple[int, int]:
    """The size with the longer side `box` and the aspect kept (the shorter side rounded, at least 1)."""
    scale = box / max(height, width)
    return max(1, min(box, math.floor(height * scale + 0.5))), max(
        1, min(box, math.floor(width * scale + 0.5))
    )


def centring_offset(fitted: np.ndarray, field: int = FIELD, centre: float = CENTRE) -> tuple[int, int]:
    """The whole-pixel (row, column) placement of `fitted` that brings its centre of mass nearest to `centre`."""
    from scipy import ndimage  # on first use: SciPy adds a noticeable part to the app's start

    com_row, com_col = ndimage.center_of_mass(fitted)
    return math.floor(centre - com_row + 0.5), math.floor(centre - com_col + 0.5)


def paste(fitted: np.ndarray, offset: tuple[int, int], field: int = FIELD) -> np.ndarray:
    """`fitted` placed with its top-left corner at `offset` in a field x field zero image (clipped at edges)."""
    out = np.zeros((field, field), dtype=np.float64)
    top, left = offset
    h, w = fitted.shape
    r0, c0 = max(0, top), max(0, left)
    r1, c1 = min(field, top + h), min(field, left + w)
    if r1 > r0 and c1 > c0:
        out[r0:r1, c0:c1] = fitted[r0 - top : r1 - top, c0 - left : c1 - left]
    return out


def prepare_digit(
    image: np.ndarray, invert: bool | None = None, ink_threshold: float = INK_THRESHOLD
) -> PreparedDigit:
    """The MNIST-style 28x28 uint8 input for a drawing or a picture of one digit (see the module's steps).

    `invert`: None detects dark-on-light pictures by their border; True or False forces it.
    """
    ink, inverted = ink_image(image, invert)
    bbox = ink_bbox(ink, ink_threshold)
    if bbox is None:
        blank = np.zeros((FIELD, FIELD), dtype=np.uint8)
        return PreparedDigit(blank, True, inverted, (0, 0, 0, 0), np.zeros((0, 0)), (0, 0))
    top, left, bottom, right = bbox
    crop = ink[top:bottom, left:right]
    fitted = resample_area(crop, fitted_shape(*crop.shape))
    fitted /= fitted.max()  # MNIST's strokes reach full white; thin strokes averaged down are stretched back
    offset = centring_offset(fitted)
    field = paste(fitted, offset)
    as_uint8 = np.clip(np.floor(field * 255.0 + 0.5), 0, 255).astype(np.uint8)
    return PreparedDigit(as_uint8, False, inverted, bbox, fitted, offset)
