"""Readers for the files MNIST comes in: IDX (raw or gzip), Keras-style NPZ, and Rashid's CSV.

Each reader returns validated arrays: images uint8 (N, 28, 28) and labels uint8 (N,) in 0..9. Each checks what a
file claims (its header) against what the file holds before allocating for it, so a lying header is an error and
never a huge allocation. Anything wrong with a file raises `DatasetError`, whose message names the file and says
what is wrong; no other exception escapes for bad input.
"""

from __future__ import annotations

import gzip
import math
import os
import re
import stat
import struct
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IMAGE_SHAPE = (28, 28)  # every image is 28 x 28 pixels
N_PIXELS = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]
N_CLASSES = 10  # labels are 0..9
CHUNK = 1 << 20  # bytes read at a time from a compressed stream
MAX_DEFLATE_RATIO = 1100  # deflate cannot expand data by more than 1032:1; a header claiming more is lying
IDX_TYPES = {
    0x08: "unsigned byte",
    0x09: "signed byte",
    0x0B: "short",
    0x0C: "int",
    0x0D: "float",
    0x0E: "double",
}
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")  # Keras' mnist.npz layout


class DatasetError(ValueError):
    """A dataset, file or folder that cannot be loaded; the message names it and says what is wrong."""


# ------------------------------------------------------------------------------------------------------------
# shared checks


def file_size(path: Path) -> int:
    """The size of a file in bytes; a missing or unreadable file is a DatasetError."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise DatasetError(f"Cannot read {path}: {e.strerror or e}.") from e
    if not stat.S_ISREG(st.st_mode):  # a pipe or device would block or never end
        raise DatasetError(
            f"{path} is not a regular file; choose a dataset file or the folder that holds it."
        )
    size = st.st_size
    if size == 0:
        raise DatasetError(f"{path} is empty (0 bytes); it holds no images or labels.")
    return size


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def check_images(images: np.ndarray, path: Path | str, what: str = "images") -> np.ndarray:
    """Integer pixels 0..255 shaped (N, 28, 28) or (N, 784): returned as uint8 (N, 28, 28)."""
    if images.dtype.kind not in "uib":
        raise DatasetError(
            f"{path}: {what} have dtype {images.dtype}; expected integer pixels 0..255 (uint8)."
        )
    if images.ndim == 2 and images.shape[1] == N_PIXELS:
        images = images.reshape(-1, *IMAGE_SHAPE)
    if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise DatasetError(f"{path}: {what} have shape {images.shape}; expected (N, 28, 28) images.")
    if images.dtype != np.uint8 and images.size:
        lo, hi = int(images.min()), int(images.max())
        if lo < 0 or hi > 255:
            raise DatasetError(f"{path}: {what} hold pixel values from {lo} to {hi}; expected 0..255.")
    return np.ascontiguousarray(images, dtype=np.uint8)


def check_labels(labels: np.ndarray, path: Path | str, what: str = "labels") -> np.ndarray:
    """Integer labels 0..9 shaped (N,) or (N, 1): returned as uint8 (N,)."""
    if labels.dtype.kind not in "uib":
        raise DatasetError(f"{path}: {what} have dtype {labels.dtype}; expected integer labels 0..9.")
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise DatasetError(
            f"{path}: {what} have shape {labels.shape}; expected one label per image, shape (N,)."
        )
    bad = np.flatnonzero((labels < 0) | (labels >= N_CLASSES))
    if bad.size:
        i = int(bad[0])
        raise DatasetError(
            f"{path}: label {int(labels[i])} at index {i} is outside 0..9 ({bad.size} of {labels.size} labels are); "
            "MNIST-style labels are the class numbers 0 to 9."
        )
    return np.ascontiguousarray(labels, dtype=np.uint8)


def check_pair(images: np.ndarray, labels: np.ndarray, images_src, labels_src) -> None:
    if len(images) != len(labels):
        raise DatasetError(
            f"{images_src} holds {len(images)} images but {labels_src} holds {len(labels)} labels; "
            "they must hold one label per image."
        )


def _read_capped(stream, limit: int) -> bytearray:
    """Read up to `limit` bytes a chunk at a time, so memory grows only with data that really arrives."""
    buf = bytearray()
    while len(buf) < limit:
        chunk = stream.read(min(CHUNK, limit - len(buf)))
        if not chunk:
            break
        buf += chunk
    return buf


# ------------------------------------------------------------------------------------------------------------
# IDX


@dataclass(frozen=True)
class IdxHeader:
    dims: tuple[int, ...]  # e.g. (60000, 28, 28) for images, (60000,) for labels
    header_bytes: int  # 4 + 4 * len(dims)

    @property
    def data_bytes(self) -> int:
        return math.prod(self.dims)


def _parse_idx_header(stream, path: Path) -> IdxHeader:
    magic = stream.read(4)
    if len(magic) < 4:
        raise DatasetError(f"{path} is truncated: it ends inside the 4-byte IDX magic number.")
    if magic[:2] != b"\x00\x00" or magic[2] not in IDX_TYPES or not 1 <= magic[3] <= 4:
        raise DatasetError(
            f"{path} has the wrong magic number 0x{magic.hex()}; an IDX file starts with 0x000008 then 01 "
            "(labels) or 03 (images). Is it really an IDX file?"
        )
    if magic[2] != 0x08:
        raise DatasetError(
            f"{path} holds {IDX_TYPES[magic[2]]} values; MNIST-style IDX files hold unsigned bytes (type 0x08)."
        )
    ndim = magic[3]
    raw = stream.read(4 * ndim)
    if len(raw) < 4 * ndim:
        raise DatasetError(f"{path} is truncated: it ends inside its IDX header ({ndim} dimension sizes).")
    return IdxHeader(dims=struct.unpack(f">{ndim}I", raw), header_bytes=4 + 4 * ndim)


def _open_idx(path: Path, gz: bool):
    return gzip.open(path, "rb") if gz else open(path, "rb")


def _read_error(path: Path, e: Exception) -> DatasetError:
    if isinstance(e, OSError) and e.errno is not None:  # the operating system's error, not the gzip module's
        return DatasetError(f"Cannot read {path}: {e.strerror or e}.")
    if isinstance(e, EOFError):
        return DatasetError(f"{path} is truncated: its gzip stream ends early; copy or download it again.")
    return DatasetError(f"{path} is not a valid gzip file ({e}); copy or download it again.")


def read_idx_header(path: Path) -> IdxHeader:
    """Only the header: cheap, for counting what a file holds without reading it."""
    path = Path(path)
    file_size(path)
    try:
        with _open_idx(path, is_gzip(path)) as f:
            return _parse_idx_header(f, path)
    except (OSError, EOFError, zlib.error) as e:
        raise _read_error(path, e) from e


def _check_dims(header: IdxHeader, kind: str, path: Path) -> None:
    dims, ndim = header.dims, 3 if kind == "images" else 1
    if len(dims) != ndim:
        other = "labels" if len(dims) == 1 else "images" if len(dims) == 3 else "something else"
        raise DatasetError(
            f"{path} holds {len(dims)}-dimensional data ({other}?); {kind} files have {ndim} dimension(s)."
        )
    if kind == "images" and dims[1:] != IMAGE_SHAPE:
        raise DatasetError(f"{path} holds {dims[1]}x{dims[2]} images; expected 28x28.")


def _check_held(header: IdxHeader, kind: str, held: int, path: Path) -> None:
    n, claimed = header.dims[0], header.data_bytes
    if held < claimed:
        raise DatasetError(
            f"{path} is truncated: its header claims {n} {kind} ({claimed} bytes of data) but the file holds "
            f"only {held} bytes of data; copy or download it again."
        )
    if held > claimed:
        raise DatasetError(
            f"{path} holds more data than its header claims ({n} {kind}, {claimed} bytes); the header or the "
            "file is corrupt, so copy or download it again."
        )


def read_idx(path: Path, kind: str) -> np.ndarray:
    """Read an IDX file of `kind` "images" (uint8 (N, 28, 28)) or "labels" (uint8 (N,)), raw or gzip."""
    path = Path(path)
    size = file_size(path)
    try:
        gz = is_gzip(path)
        with _open_idx(path, gz) as f:
            header = _parse_idx_header(f, path)
            _check_dims(header, kind, path)
            claimed = header.data_bytes
            if not gz:  # the file's size tells what it holds: check it, then read exactly that
                _check_held(header, kind, size - header.header_bytes, path)
                data = np.fromfile(f, dtype=np.uint8, count=claimed)
            elif claimed > MAX_DEFLATE_RATIO * size:
                raise DatasetError(
                    f"{path}: its header claims {header.dims[0]} {kind} ({claimed} bytes), more than a gzip file "
                    f"of {size} bytes can hold; the file is truncated or corrupt, so copy or download it again."
                )
            else:  # decompress at most one byte more than claimed, growing only as data really arrives
                buf = _read_capped(f, claimed + 1)
                _check_held(header, kind, len(buf), path)
                data = np.frombuffer(buf, dtype=np.uint8)
    except (OSError, EOFError, zlib.error) as e:
        raise _read_error(path, e) from e
    if len(data) != claimed:  # the file shrank while it was read
        raise DatasetError(f"{path} is truncated: it holds fewer bytes than its header claims.")
    data = data.reshape(header.dims)
    return data if kind == "images" else check_labels(data, path)


# ------------------------------------------------------------------------------------------------------------
# NPZ


def _read_npy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, key: str) -> np.ndarray:
    with zf.open(info) as f, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a damaged header can make NumPy's parser warn before it fails
        try:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"unsupported .npy format version {version}")
        except Exception as e:  # NumPy's header parser can raise ValueError, SyntaxError, TokenError, ...
            raise DatasetError(
                f"{path}: array '{key}' has a corrupt .npy header ({type(e).__name__})."
            ) from e
        if dtype.hasobject:
            raise DatasetError(
                f"{path}: array '{key}' holds pickled Python objects, which are never loaded (unsafe); "
                "save plain integer arrays instead."
            )
        count = math.prod(shape)
        claimed = count * dtype.itemsize
        held = info.file_size - f.tell()
        if claimed != held:
            problem = "is truncated" if held < claimed else "holds more data than its header claims"
            raise DatasetError(
                f"{path}: array '{key}' {problem} (its header claims shape {shape} of {dtype}, "
                f"{claimed} bytes, the file holds {held})."
            )
        buf = _read_capped(f, claimed + 1)
    if len(buf) != claimed:
        raise DatasetError(f"{path}: array '{key}' is truncated or corrupt.")
    return np.frombuffer(buf, dtype=dtype, count=count).reshape(shape, order="F" if fortran else "C")


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """A Keras-style .npz: returns the splits it holds as {"train": (images, labels), "test": (...)}."""
    path = Path(path)
    file_size(path)
    arrays = {}
    try:
        with zipfile.ZipFile(path) as zf:
            members = {info.filename.removesuffix(".npy"): info for info in zf.infolist()}
            present = [k for k in NPZ_KEYS if k in members]
            if not present:
                held = ", ".join(sorted(members)) or "nothing"
                raise DatasetError(
                    f"{path} has none of the arrays x_train, y_train, x_test, y_test (it holds {held}); "
                    "save it as np.savez(path, x_train=..., y_train=..., x_test=..., y_test=...)."
                )
            for split in ("train", "test"):
                x, y = f"x_{split}", f"y_{split}"
                if (x in members) != (y in members):
                    have, missing = (x, y) if x in members else (y, x)
                    raise DatasetError(f"{path} has '{have}' but is missing '{missing}'; both are needed.")
            for key in present:
                arrays[key] = _read_npy_member(zf, members[key], path, key)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as e:
        raise DatasetError(f"{path} is not a valid .npz (zip) file ({e}).") from e
    splits = {}
    for split in ("train", "test"):
        if f"x_{split}" in arrays:
            images = check_images(arrays[f"x_{split}"], path, f"x_{split}")
            labels = check_labels(arrays[f"y_{split}"], path, f"y_{split}")
            check_pair(images, labels, f"{path} (x_{split})", f"y_{split}")
            splits[split] = (images, labels)
    return splits


# ------------------------------------------------------------------------------------------------------------
# CSV


def _csv_problem(path: Path, skip: int) -> str | None:
    """Find the first bad row of a CSV that NumPy refused, for a message a person can act on."""
    with open(path, "rb") as f:
        for lineno, line in enumerate(f, start=1):
            if lineno <= skip or not line.strip():
                continue
            fields = line.split(b",")
            if len(fields) != 1 + N_PIXELS:
                return (
                    f"line {lineno} has {len(fields)} values; expected 785 (a label, then 784 pixels 0..255)"
                )
            for col, field in enumerate(fields, start=1):
                text = field.strip().decode("latin-1")
                if not re.fullmatch(r"[+-]?\d+", text):
                    return f"line {lineno}, column {col}: '{text[:20]}' is not a whole number"
                what, top = ("label", 9) if col == 1 else ("pixel value", 255)
                if not 0 <= int(text) <= top:
                    return f"line {lineno}, column {col}: {what} {text} is outside 0..{top}"
    return None


def read_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Rashid's CSV: `label,p1,...,p784` per line, pixels 0..255. A first line of column names is skipped."""
    path = Path(path)
    file_size(path)
    try:
        with open(path, "rb") as f:
            first = f.readline(64)
        skip = 1 if first.strip().lower().startswith(b"label") else 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data": reported below as a DatasetError
            data = np.loadtxt(
                path, delimiter=",", dtype=np.int16, skiprows=skip, ndmin=2, comments=None, encoding="latin-1"
            )
    except (ValueError, OverflowError) as e:
        problem = _csv_problem(path, skip) or str(e)
        raise DatasetError(f"{path}: {problem}.") from e
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"Cannot read {path}: {e}.") from e
    if data.shape[0] == 0:
        raise DatasetError(f"{path} holds no rows of data.")
    if data.shape[1] != 1 + N_PIXELS:
        raise DatasetError(
            f"{path}: rows have {data.shape[1]} values; expected 785 (a label, then 784 pixels 0..255)."
        )
    labels, pixels = data[:, 0], data[:, 1:]
    bad_rows = np.flatnonzero((pixels < 0).any(axis=1) | (pixels > 255).any(axis=1))
    if bad_rows.size:
        row = int(bad_rows[0])
        value = int(pixels[row][(pixels[row] < 0) | (pixels[row] > 255)][0])
        raise DatasetError(f"{path}: data row {row + 1} holds pixel value {value}, outside 0..255.")
    labels = check_labels(labels, path)
    return np.ascontiguousarray(pixels, dtype=np.uint8).reshape(-1, *IMAGE_SHAPE), labels
