"""Augmentation: rotations, shifts and elastic distortions of a batch of scaled images, all in one resampling.

Every output pixel o = (i, j) of image n is read from the input at

    x = R(a_n) (o - c) + c - s_n + d_n(o)

where c = ((H-1)/2, (W-1)/2) is the centre, R(a) = [[cos a, sin a], [-sin a, cos a]] is exactly the matrix
`scipy.ndimage.rotate` uses (so a positive angle turns the digit counter-clockwise, as rotate does), s_n is a whole-pixel
shift and d_n an elastic displacement field (Simard et al. 2003: uniform noise in -1..1 smoothed by a Gaussian of
width sigma, times alpha). The reads are linear interpolations; points outside the image take the background value
`cval` (the scaled 0 pixel). The whole batch goes through one `scipy.ndimage.map_coordinates` call over the stacked
(N, H, W) array, with a per-sample coordinate that is always a whole number, so samples never mix.

Schemes (`config.augment`): "off"; "random" (each sample, each epoch, turned by an angle drawn uniformly from
-rotate..+rotate degrees); "rashid" (each record is trained as it is and turned by +rotate and -rotate degrees:
three samples per record, in that order). Shifts (`config.shift` pixels at most, each axis) and elastic distortions
(`config.elastic` = alpha, `config.elastic_sigma` = sigma) are drawn afresh for every sample.
"""

from __future__ import annotations

import numpy as np

# scipy.ndimage and scipy.special are imported where they are used: together they add about 0.3 s to the app's
# start, and most sessions never rotate anything before the first Train.

SCHEMES = ("off", "random", "rashid")


def rotate(images, angles_deg, order: int = 1, cval: float = 0.0) -> np.ndarray:
    """Each image (N, H, W) turned by its angle in degrees, the same as `scipy.ndimage.rotate(image, angle,
    reshape=False, order=order, cval=cval)` for each one, but in one vectorised call for order 0 and 1."""
    images = np.asarray(images)
    angles = np.broadcast_to(np.asarray(angles_deg, dtype=np.float64), (len(images),))
    if order != 1:
        from scipy import ndimage

        return np.stack(
            [
                ndimage.rotate(im, a, reshape=False, order=order, cval=cval)
                for im, a in zip(images, angles, strict=True)
            ]
        )
    return transform(images, angles, order=order, cval=cval)


def transform(images, angles_deg=None, shifts=None, displacements=None, order=1, cval=0.0, source=None):
    """Resample each image n of (N, H, W): turn it by angles_deg[n] degrees, shift it by shifts[n] = (rows,
    columns) pixels, and displace it by the field displacements[n] (2, H, W) (in pixels, added to where each
    output pixel reads from). `source[n]` is the index of the input image output n is made from (default n), so a
    batch can be expanded without copying it. Returns (len(source), H, W) in the input's dtype."""
    from scipy import ndimage, special

    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"Images must be a stack of shape (N, H, W), not {images.shape}.")
    n_in, h, w = images.shape
    source = np.arange(n_in) if source is None else np.asarray(source)
    n = len(source)
    # coordinates relative to the centre, in float64 (scipy's precision) unless the images are float32
    ftype = np.float32 if images.dtype == np.float32 else np.float64
    angles = np.zeros(n) if angles_deg is None else np.asarray(angles_deg, dtype=np.float64)
    cos = special.cosdg(angles).astype(ftype)[:, None, None]
    sin = special.sindg(angles).astype(ftype)[:, None, None]
    ci, cj = (h - 1) / 2.0, (w - 1) / 2.0
    ii = (np.arange(h) - ci).astype(ftype)[:, None]
    jj = (np.arange(w) - cj).astype(ftype)[None, :]
    rows = cos * ii + sin * jj  # (n, h, w)
    cols = cos * jj - sin * ii
    if shifts is not None:
        shifts = np.asarray(shifts, dtype=ftype)
        rows -= shifts[:, 0, None, None]
        cols -= shifts[:, 1, None, None]
    if displacements is not None:
        rows += displacements[:, 0]
        cols += displacements[:, 1]
    if order == 1 and not np.issubdtype(images.dtype, np.floating):  # e.g. uint8: round back, as scipy does
        out = _bilinear(
            images.astype(np.float64), source, rows.astype(np.float64), cols.astype(np.float64), cval
        )
        info = np.iinfo(images.dtype)
        return np.clip(np.rint(out), info.min, info.max).astype(images.dtype)
    if order == 1:
        return _bilinear(images, source, rows, cols, cval)
    out = np.empty((n, h, w), dtype=images.dtype)
    for k in range(n):  # other orders: scipy, image by image
        coords = np.stack([rows[k] + ci, cols[k] + cj]).astype(np.float64)
        ndimage.map_coordinates(
            images[source[k]], coords, output=out[k], order=order, mode="constant", cval=cval
        )
    return out


def elastic_fields(n: int, shape, alpha: float, sigma: float, rng) -> np.ndarray:
    """n random displacement fields (n, 2, H, W): uniform noise in -1..1, Gaussian-smoothed (width sigma, zero
    outside the image, cut at 4 sigma like `scipy.ndimage.gaussian_filter`), times alpha. The smoothing is two
    matrix products per field rather than a convolution, which makes it cheap enough for every sample."""
    h, w = shape
    noise = rng.uniform(-1.0, 1.0, (n, 2, h, w))
    gh, gw = _gaussian_matrix(h, sigma), _gaussian_matrix(w, sigma)
    smooth = noise @ gw.T  # along columns
    smooth = gh @ smooth  # along rows (broadcast over the stack)
    smooth *= alpha
    return smooth


def augment_batch(images, config, rng, cval: float | None = None) -> np.ndarray:
    """THE augmentation of one training batch (N, H, W) of scaled images, as `config` says (see the module
    docstring); the trainer and the app's batch preview both call this. Returns (N, H, W), or (3N, H, W) for
    Rashid's scheme (each image as it is, then turned by +rotate and by -rotate degrees). `cval`, the background,
    defaults to the batch's smallest value (the scaled 0 pixel for real digits)."""
    images = np.asarray(images)
    scheme = getattr(config, "augment", "off")
    degrees = float(getattr(config, "rotate", 0.0))
    shift = int(getattr(config, "shift", 0))
    alpha = float(getattr(config, "elastic", 0.0))
    n = len(images)
    if scheme not in SCHEMES:
        raise ValueError(f"Unknown augmentation {scheme!r}; use one of {', '.join(SCHEMES)}.")
    if scheme == "rashid":
        source = np.repeat(np.arange(n), 3)
        angles = np.tile([0.0, degrees, -degrees], n)
    else:
        source = np.arange(n)
        angles = rng.uniform(-degrees, degrees, n) if scheme == "random" and degrees > 0 else None
    if angles is None and shift == 0 and alpha == 0:
        return images
    m = len(source)
    shifts = rng.integers(-shift, shift, (m, 2), endpoint=True) if shift > 0 else None
    fields = None
    if alpha > 0:
        fields = elastic_fields(m, images.shape[1:], alpha, float(getattr(config, "elastic_sigma", 4.0)), rng)
    if cval is None:
        cval = float(images.min()) if images.size else 0.0
    return transform(images, angles, shifts, fields, order=1, cval=cval, source=source)


def _gaussian_matrix(n: int, sigma: float) -> np.ndarray:
    """The (n, n) matrix that applies a normalised Gaussian of width sigma along one axis, zeros outside."""
    radius = int(4.0 * sigma + 0.5)
    offsets = np.arange(n)[:, None] - np.arange(n)[None, :]
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel[np.abs(offsets) > radius] = 0.0
    norm = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2).sum()
    return kernel / norm


def _bilinear(images, source, rows, cols, cval):
    """Linear interpolation of images[source[n]] at (rows, cols) (n, H, W), given relative to the image centre, as
    `map_coordinates(order=1, mode="constant")` does it: a point outside the image's extent is `cval`, one inside
    mixes its 4 neighbours. The images get one extra row and column (never weighted), so a whole-pixel read is
    exact, even at the edge."""
    n_in, h, w = images.shape
    ci, cj = (h - 1) / 2.0, (w - 1) / 2.0
    outside = np.abs(rows) > ci
    outside |= np.abs(cols) > cj
    rows += ci
    cols += cj
    r0, c0 = np.floor(rows), np.floor(cols)
    fr, fc = (rows - r0).astype(images.dtype, copy=False), (cols - c0).astype(images.dtype, copy=False)
    stride = w + 1
    index = np.clip(r0, 0, h - 1, out=r0).astype(np.intp)
    index += np.asarray(source, dtype=np.intp)[:, None, None] * (h + 1)
    index *= stride
    index += np.clip(c0, 0, w - 1, out=c0).astype(np.intp)
    padded = np.zeros((n_in, h + 1, stride), images.dtype)
    padded[:, :h, :w] = images
    flat = padded.reshape(-1)
    top = flat[index]
    right = flat[index + 1]
    right -= top
    right *= fc
    top += right
    index += stride
    bottom = flat[index]
    right = flat[index + 1]
    right -= bottom
    right *= fc
    bottom += right
    bottom -= top
    bottom *= fr
    top += bottom
    top[outside] = cval
    return top
