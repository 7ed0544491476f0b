"""The fuzz test's support: an independent strict IDX decoder (the reference), the mutations, and the
runner that loads one input under a memory bound and a hang alarm."""

from __future__ import annotations

import gzip
import math
import signal
import struct
import tracemalloc
import zlib
from collections import Counter
from pathlib import Path

import numpy as np

from core import datasets
from core.readers import DatasetError

SEED = 20261122
N_TRAIN, N_TEST = 50, 20
NAMES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}
MEMORY_FACTOR = 4  # peak allocation allowed per byte the input really holds
MEMORY_CONSTANT = 512 * 1024  # Python objects, messages, tracebacks, zip directories
HANG_SECONDS = 10


class Hang(Exception):
    pass


def raise_hang(signum, frame):
    raise Hang(f"load() took more than {HANG_SECONDS} s")


def idx_bytes(array: np.ndarray) -> bytes:
    return bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


# ------------------------------------------------------------------------------------------------------------
# an independent, strict reference decoder for IDX


def ref_idx(data: bytes, kind: str) -> np.ndarray | None:
    """What a correct reader must return for this IDX content, or None when it must refuse it."""
    ndim = 3 if kind == "images" else 1
    if len(data) < 4 or data[:3] != b"\x00\x00\x08" or data[3] != ndim or len(data) < 4 + 4 * ndim:
        return None
    dims = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    if kind == "images" and dims[1:] != (28, 28):
        return None
    if len(data) - 4 - 4 * ndim != math.prod(dims):
        return None
    array = np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)
    if kind == "labels" and array.size and array.max() > 9:
        return None
    return array


def ref_file(raw: bytes, kind: str) -> np.ndarray | None:
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error):
            return None
    return ref_idx(raw, kind)


def ref_folder(files: dict[tuple[str, str], bytes]) -> dict | None:
    """The splits a folder of four IDX files must load as, or None when it must be refused."""
    out = {}
    for split in ("train", "test"):
        images, labels = (
            ref_file(files[split, "images"], "images"),
            ref_file(files[split, "labels"], "labels"),
        )
        if images is None or labels is None or len(images) != len(labels):
            return None
        out[split] = (images, labels)
    return out


def content_bytes(raw: bytes) -> int:
    """The bytes a file really holds once decompressed (as far as its gzip stream goes), for the memory bound."""
    if raw[:2] != b"\x1f\x8b":
        return len(raw)
    inflater, total, data = zlib.decompressobj(31), 0, raw
    try:
        while data:
            total += len(inflater.decompress(data, 1 << 20))
            data = inflater.unconsumed_tail
            if not data and inflater.eof:
                data, inflater = inflater.unused_data, zlib.decompressobj(31)
                if not data.strip(b"\0"):
                    break
    except zlib.error:
        pass
    return total + len(raw)


# ------------------------------------------------------------------------------------------------------------
# mutations


def mutate(data: bytes, rng: np.random.Generator, header_len: int = 0) -> bytes:
    """One to three random edits; with `header_len`, edits favour the IDX header (counts, dims, magic)."""
    b = bytearray(data)
    for _ in range(int(rng.integers(1, 4))):
        op = int(rng.integers(0, 10 if header_len else 7))
        n = len(b)
        if op == 0 and n:  # flip one bit
            i = int(rng.integers(0, n))
            b[i] ^= 1 << int(rng.integers(0, 8))
        elif op == 1 and n:  # set a byte
            b[int(rng.integers(0, n))] = int(rng.integers(0, 256))
        elif op == 2:  # truncate
            del b[int(rng.integers(0, n + 1)) :]
        elif op == 3:  # append random bytes
            b += rng.integers(0, 256, int(rng.integers(1, 300)), dtype=np.uint8).tobytes()
        elif op == 4 and n:  # delete a run
            i = int(rng.integers(0, n))
            del b[i : i + int(rng.integers(1, 64))]
        elif op == 5 and n:  # duplicate a run
            i = int(rng.integers(0, n))
            b[i:i] = b[i : i + int(rng.integers(1, 64))]
        elif op == 6 and n:  # zero a run
            i = int(rng.integers(0, n))
            j = min(n, i + int(rng.integers(1, 64)))
            b[i:j] = bytes(j - i)
        elif op == 7 and n >= header_len:  # forge one dimension: huge, off by one, zero
            k = int(rng.integers(0, (header_len - 4) // 4))
            old = struct.unpack(">I", b[4 + 4 * k : 8 + 4 * k])[0]
            new = int(rng.choice([0xFFFFFFFF, 2**31, 2**31 - 1, 60000, 0, old + 1, max(0, old - 1), 1]))
            b[4 + 4 * k : 8 + 4 * k] = struct.pack(">I", new)
        elif op == 8 and n >= 4:  # wrong magic: type code or number of dimensions
            b[int(rng.choice([2, 3]))] = int(
                rng.choice([0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0, 1, 2, 3, 4, 5, 255])
            )
        elif op == 9 and n >= 4:
            b[int(rng.integers(0, 2))] = int(rng.integers(1, 256))
    return bytes(b)


class Fuzz:
    """Runs one input: load, classify, check the memory bound and, where a reference exists, the content."""

    def __init__(self, tmp: Path):
        self.tmp, self.n, self.results, self.worst_ratio = tmp, 0, Counter(), 0.0
        self.kinds = Counter()

    def folder(self) -> Path:
        self.n += 1
        path = self.tmp / f"in{self.n:05d}"
        path.mkdir()
        return path

    def load(self, family: str, target: Path, held_bytes: int):
        tracemalloc.start()
        tracemalloc.reset_peak()
        signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS)
        try:
            ds = datasets.load(target, cache=False)
            outcome = "loaded"
        except DatasetError as e:
            ds, outcome = None, "refused"
            assert str(e).strip(), f"{family} #{self.n}: an empty DatasetError message"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        bound = MEMORY_FACTOR * held_bytes + MEMORY_CONSTANT
        assert peak <= bound, (
            f"{family} #{self.n} ({target}): peak {peak} bytes for {held_bytes} bytes of input"
        )
        self.worst_ratio = max(self.worst_ratio, (peak - MEMORY_CONSTANT) / max(held_bytes, 1))
        self.results[family, outcome] += 1
        if ds is not None:
            check_well_formed(ds, f"{family} #{self.n}")
        return ds


def check_well_formed(ds, where: str) -> None:
    for images, labels in ((ds.train_images, ds.train_labels), (ds.test_images, ds.test_labels)):
        assert images.dtype == np.uint8 and images.ndim == 3 and images.shape[1:] == (28, 28), where
        assert labels.dtype == np.uint8 and labels.shape == (len(images),), where
        assert labels.size == 0 or labels.max() <= 9, where
    assert ds.n_train + ds.n_test > 0, where


def assert_same(ds, expected: dict, where: str) -> None:
    for split in ("train", "test"):
        images, labels = expected[split]
        got_images = ds.train_images if split == "train" else ds.test_images
        got_labels = ds.train_labels if split == "train" else ds.test_labels
        np.testing.assert_array_equal(got_images, images, err_msg=where)
        np.testing.assert_array_equal(got_labels, labels, err_msg=where)
