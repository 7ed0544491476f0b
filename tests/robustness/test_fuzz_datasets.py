"""Thousands of mutated dataset files through `core.datasets.load`: each loads correctly or raises DatasetError.

The seeds are small slices of the real MNIST (the first 50 training and 20 test images) written as raw IDX, gzip
IDX, a Keras-style NPZ and Rashid's CSV. A seeded loop mutates them (flipped bits and bytes, truncations, appended
and deleted runs, forged header counts and dimensions, wrong magic numbers, members re-zipped after mutation,
splits mixed between files) and loads every result with the cache off. For IDX inputs an independent strict
decoder written here says what the folder holds; the loader must agree with it exactly (same arrays, or a refusal).
For every input: no exception but DatasetError, no hang (a 10 s alarm), and a tracemalloc peak of at most a small
multiple of the bytes the input really holds (its files plus their decompressed content) plus a constant.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import signal
import struct
import tracemalloc
import zipfile
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from core import datasets, readers
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


def _alarm(signum, frame):
    raise Hang(f"load() took more than {HANG_SECONDS} s")


@pytest.fixture(scope="module")
def seeds():
    """The first images of the real MNIST splits, as IDX bytes and arrays."""
    folder = datasets.find("mnist")
    arrays = {}
    for split, n in (("train", N_TRAIN), ("test", N_TEST)):
        images = readers.read_idx(folder / f"{NAMES[split, 'images']}.gz", "images")[:n].copy()
        labels = readers.read_idx(folder / f"{NAMES[split, 'labels']}.gz", "labels")[:n].copy()
        arrays[split] = (images, labels)
    return arrays


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


# ------------------------------------------------------------------------------------------------------------
# the families of inputs


def idx_folder_inputs(fuzz: Fuzz, seeds, rng, count: int, mode: str) -> None:
    """Four IDX files in a folder, one or two of them mutated. mode: raw, gz-bytes (mutate the compressed file),
    gz-content (mutate the content, then compress it validly so the header checks are reached)."""
    clean = {(s, k): idx_bytes(seeds[s][0 if k == "images" else 1]) for s, k in NAMES}
    for _ in range(count):
        content = dict(clean)
        keys = list(NAMES)
        for key in [keys[i] for i in rng.choice(4, int(rng.integers(1, 3)), replace=False)]:
            if mode != "gz-bytes":
                content[key] = mutate(content[key], rng, header_len=16 if key[1] == "images" else 8)
        raw = {k: (gzip.compress(v, 6) if mode != "raw" else v) for k, v in content.items()}
        if mode == "gz-bytes":
            key = keys[int(rng.integers(0, 4))]
            raw[key] = mutate(raw[key], rng)
        if mode == "raw" and rng.random() < 0.1:  # mixed splits: swap two files' contents
            a, b = (keys[i] for i in rng.choice(4, 2, replace=False))
            raw[a], raw[b] = raw[b], raw[a]
        folder = fuzz.folder()
        ext = "" if mode == "raw" else ".gz"
        for key, data in raw.items():
            (folder / (NAMES[key] + ext)).write_bytes(data)
        held = sum(content_bytes(d) for d in raw.values())
        target = folder
        if rng.random() < 0.25:  # open one file; its partner is found beside it
            key = keys[int(rng.integers(0, 4))]
            target = folder / (NAMES[key] + ext)
        ds = fuzz.load(f"idx-{mode}", target, held)
        expected = ref_folder(raw)
        where = f"idx-{mode} #{fuzz.n} ({target})"
        if target != folder:  # one split only: compare just that split
            split = key[0]
            pair = (ref_file(raw[split, "images"], "images"), ref_file(raw[split, "labels"], "labels"))
            ok = pair[0] is not None and pair[1] is not None and len(pair[0]) == len(pair[1])
            assert (ds is not None) == ok, f"{where}: reference says {'valid' if ok else 'invalid'}"
            if ds is not None:
                got = (
                    (ds.train_images, ds.train_labels)
                    if split == "train"
                    else (ds.test_images, ds.test_labels)
                )
                np.testing.assert_array_equal(got[0], pair[0], err_msg=where)
                np.testing.assert_array_equal(got[1], pair[1], err_msg=where)
            continue
        assert (ds is not None) == (expected is not None), (
            f"{where}: the reference decoder says {'valid' if expected else 'invalid'}"
        )
        if ds is not None:
            assert_same(ds, expected, where)


def npz_bytes(arrays: dict, compress: bool) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compress else np.savez)(buf, **arrays)
    return buf.getvalue()


def npy_member(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, allow_pickle=True)
    return buf.getvalue()


def zip_members(members: dict[str, bytes], compress: bool) -> bytes:
    buf = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def forged_header(shape: tuple, descr: str = "|u1") -> bytes:
    """A .npy header claiming `shape` followed by only a few bytes of data."""
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + b"\x00" * 100


def npz_inputs(fuzz: Fuzz, seeds, rng, count: int) -> None:
    (x, y), (tx, ty) = seeds["train"], seeds["test"]
    clean = {"x_train": x, "y_train": y, "x_test": tx, "y_test": ty}
    members = {f"{k}.npy": npy_member(v) for k, v in clean.items()}
    for i in range(count):
        mode = ("bytes", "member", "member-header")[i % 3]
        compress = bool(rng.random() < 0.5)
        if mode == "bytes":  # the archive itself damaged
            data = mutate(npz_bytes(clean, compress), rng)
        else:  # one member damaged, the archive valid (its CRC recomputed)
            damaged = dict(members)
            name = list(damaged)[int(rng.integers(0, 4))]
            damaged[name] = mutate(damaged[name], rng) if mode == "member" else damaged[name]
            if mode == "member-header":  # rewrite the shape in the header text
                text = damaged[name]
                shape = (int(rng.choice([0, 1, 19, 20, 21, 50, 2**31, 2**40, 10**12])),)
                if name.startswith("x_"):
                    shape += (28, 28) if rng.random() < 0.7 else (int(rng.integers(0, 40)), 28)
                text = text.replace(str(clean[name[:-4]].shape).encode(), str(shape).encode(), 1)
                damaged[name] = text
            data = zip_members(damaged, compress)
        path = fuzz.folder() / "mnist.npz"
        path.write_bytes(data)
        fuzz.load(f"npz-{mode}", path, len(data) + sum(len(m) for m in members.values()))


def npz_structured_cases(seeds) -> list[tuple[str, bytes, bool]]:
    """(description, file bytes, must load) for hand-made variants with a known right answer."""
    (x, y), (tx, ty) = seeds["train"], seeds["test"]
    ok = {"x_train": x, "y_train": y, "x_test": tx, "y_test": ty}
    cases = [("clean", npz_bytes(ok, False), True), ("clean compressed", npz_bytes(ok, True), True)]
    cases.append(("train only", npz_bytes({"x_train": x, "y_train": y}, False), True))
    cases.append(("test only", npz_bytes({"x_test": tx, "y_test": ty}, True), True))
    cases.append(("flat 784 pixels", npz_bytes({**ok, "x_train": x.reshape(-1, 784)}, False), True))
    cases.append(("int64 pixels in range", npz_bytes({**ok, "x_train": x.astype(np.int64)}, False), True))
    cases.append(("labels as (N, 1)", npz_bytes({**ok, "y_train": y[:, None]}, False), True))
    bad = {
        "float pixels": {**ok, "x_train": x.astype(np.float32)},
        "pixels above 255": {**ok, "x_train": x.astype(np.int32) + 300},
        "negative pixels": {**ok, "x_train": x.astype(np.int16) - 1},
        "label 10": {**ok, "y_test": np.where(ty == 0, 10, ty).astype(np.uint8)},
        "negative label": {**ok, "y_test": ty.astype(np.int8) - 1},
        "string labels": {**ok, "y_train": y.astype(str)},
        "32x32 images": {**ok, "x_train": np.zeros((N_TRAIN, 32, 32), np.uint8)},
        "images and labels of different counts": {**ok, "y_train": y[:-1]},
        "mixed splits: train images with test labels": {**ok, "y_train": ty},
        "x_train without y_train": {"x_train": x, "x_test": tx, "y_test": ty},
        "no known keys": {"images": x, "labels": y},
        "2-D labels": {**ok, "y_train": np.stack([y, y], 1)},
        "0-d images": {**ok, "x_train": np.uint8(3)},
        "complex pixels": {**ok, "x_test": tx.astype(np.complex64)},
    }
    cases += [(name, npz_bytes(arrays, False), False) for name, arrays in bad.items()]
    members = {f"{k}.npy": npy_member(v) for k, v in ok.items()}
    objects = np.empty(N_TRAIN, dtype=object)
    objects[:] = [int(v) for v in y]
    hostile = {
        "pickled object labels": {**members, "y_train.npy": npy_member(objects)},
        "2 GB header claim": {**members, "x_train.npy": forged_header((2_000_000, 28, 28))},
        "2**60-element claim": {**members, "x_train.npy": forged_header((2**20, 2**20, 2**20))},
        "negative shape claim": {**members, "y_test.npy": forged_header((-5,))},
        "huge uint64 labels claim": {**members, "y_train.npy": forged_header((10**9,), "<u8")},
        "header of a newer format": {
            **members,
            "x_test.npy": b"\x93NUMPY\x09\x00" + members["x_test.npy"][8:],
        },
        "not a .npy at all": {**members, "x_test.npy": b"hello, world"},
        "an empty member": {**members, "y_test.npy": b""},
    }
    cases += [(name, zip_members(m, False), False) for name, m in hostile.items()]
    cases.append(("an empty zip", zip_members({}, False), False))
    cases.append(("a gzip file named .npz", gzip.compress(b"x" * 1000), False))
    return cases


def csv_inputs(fuzz: Fuzz, seeds, rng, count: int) -> None:
    x, y = seeds["train"]
    lines = [",".join(map(str, [int(lab), *img.reshape(-1).tolist()])) for img, lab in zip(x, y, strict=True)]
    clean = ("\n".join(lines) + "\n").encode()
    edits = [
        lambda b: mutate(b, rng),
        lambda b: b.replace(b",", b";", int(rng.integers(1, 5))),
        lambda b: b.replace(b"\n", b"\n-7,", 1),
        lambda b: b.replace(b",0,", b",99999999999999999999,", 1),
        lambda b: b.replace(b",0,", b",256,", int(rng.integers(1, 3))),
        lambda b: b.replace(b",0,", b",1e3,", 1),
        lambda b: b.replace(b",0,", b",,", 1),
        lambda b: b"label," + b",".join(b"p%d" % i for i in range(784)) + b"\n" + b,
        lambda b: b.replace(b"\n", b"\r\n"),
        lambda b: b.replace(b"\n", b"\n\n", 3),
        lambda b: b[: int(rng.integers(0, len(b)))],
        lambda b: b.replace(b"\n", b",0\n", 1),
        lambda b: b"\xff\xfe" + b,
        lambda b: b.replace(b"\n", b"\x00", 2),
        lambda b: b"\n".join(b.split(b"\n")[::-1]),
        lambda b: b.replace(b",", b" , ", 40),
    ]
    for _ in range(count):
        data = clean
        for _ in range(int(rng.integers(1, 3))):
            data = edits[int(rng.integers(0, len(edits)))](data)
        name = "mnist_train_50.csv" if rng.random() < 0.7 else "mnist_test_50.csv"
        path = fuzz.folder() / name
        path.write_bytes(data)
        fuzz.load("csv", path, len(data) * 2)


def mixed_and_special_inputs(fuzz: Fuzz, seeds, tmp: Path) -> None:
    """Folders that mix formats and splits, and paths that are not regular files."""
    (x, y), (tx, ty) = seeds["train"], seeds["test"]
    cases = {
        "train IDX + test CSV": {
            "train-images-idx3-ubyte": idx_bytes(x),
            "train-labels-idx1-ubyte": idx_bytes(y),
            "mnist_test.csv": b"1," + b",".join([b"0"] * 784) + b"\n",
        },
        "images file holding labels": {
            "train-images-idx3-ubyte": idx_bytes(y),
            "train-labels-idx1-ubyte": idx_bytes(y),
        },
        "train images + test labels": {
            "train-images-idx3-ubyte": idx_bytes(x),
            "train-labels-idx1-ubyte": idx_bytes(ty),
        },
        "raw and gz of the same split disagree": {
            "train-images-idx3-ubyte.gz": gzip.compress(idx_bytes(x)),
            "train-images-idx3-ubyte": idx_bytes(tx),
            "train-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(y)),
        },
        "labels without images": {"t10k-labels-idx1-ubyte": idx_bytes(ty)},
        "an NPZ and a CSV": {
            "data.npz": npz_bytes({"x_test": tx, "y_test": ty}, False),
            "mnist_train.csv": b"x",
        },
        "nothing readable": {"notes.txt": b"hello", "picture.png": b"\x89PNG\r\n"},
        "gzip bomb claiming 60000 images": {
            "train-images-idx3-ubyte.gz": gzip.compress(
                idx_bytes(np.zeros((60000, 28, 28), np.uint8))[:20000]
            ),
            "train-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(y)),
        },
    }
    for _case, files in cases.items():
        folder = fuzz.folder()
        for fname, data in files.items():
            (folder / fname).write_bytes(data)
        fuzz.load("mixed", folder, sum(content_bytes(d) for d in files.values()))
    special = fuzz.folder()
    os.mkfifo(special / "train-images-idx3-ubyte")  # a reader that opened it would wait forever
    (special / "train-labels-idx1-ubyte").symlink_to(special / "missing")
    (special / "t10k-images-idx3-ubyte").symlink_to(special / "t10k-images-idx3-ubyte")  # a loop
    (special / "t10k-labels-idx1-ubyte").mkdir()
    for target in [
        special,
        *sorted(special.iterdir()),
        Path("/dev/zero"),
        Path("/dev/null"),
        tmp / "nowhere",
    ]:
        fuzz.load("special", target, 0)


# ------------------------------------------------------------------------------------------------------------


def test_fuzzed_dataset_files_load_correctly_or_raise_dataset_error(seeds, tmp_path, figures):
    previous = signal.signal(signal.SIGALRM, _alarm)
    rng = np.random.default_rng(SEED)
    fuzz = Fuzz(tmp_path)
    try:
        idx_folder_inputs(fuzz, seeds, rng, 900, "raw")
        idx_folder_inputs(fuzz, seeds, rng, 700, "gz-content")
        idx_folder_inputs(fuzz, seeds, rng, 500, "gz-bytes")
        npz_inputs(fuzz, seeds, rng, 900)
        csv_inputs(fuzz, seeds, rng, 700)
        for name, data, must_load in npz_structured_cases(seeds):
            path = fuzz.folder() / "mnist.npz"
            path.write_bytes(data)
            ds = fuzz.load("npz-structured", path, len(data) * 2)
            assert (ds is not None) == must_load, f"npz-structured '{name}'"
        mixed_and_special_inputs(fuzz, seeds, tmp_path)
    finally:
        signal.signal(signal.SIGALRM, previous)
    loaded = sum(n for (_, outcome), n in fuzz.results.items() if outcome == "loaded")
    refused = sum(n for (_, outcome), n in fuzz.results.items() if outcome == "refused")
    families = sorted({family for family, _ in fuzz.results})
    figures(
        f"{loaded + refused} fuzzed inputs: {loaded} loaded correctly, {refused} refused with DatasetError, 0 other"
    )
    for family in families:
        figures(
            f"  {family}: {fuzz.results[family, 'loaded']} loaded, {fuzz.results[family, 'refused']} refused"
        )
    figures(
        f"worst allocation: {fuzz.worst_ratio:.2f} x the input's bytes (+ {MEMORY_CONSTANT // 1024} KB); "
        f"allowed {MEMORY_FACTOR} x"
    )
    assert loaded > 100 and refused > 1000  # the mutations reach both sides of every check
