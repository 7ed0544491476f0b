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
import os
import signal
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from core import datasets, readers
from tests.robustness.fuzz_support import (
    MEMORY_CONSTANT,
    MEMORY_FACTOR,
    N_TEST,
    N_TRAIN,
    NAMES,
    SEED,
    Fuzz,
    assert_same,
    content_bytes,
    idx_bytes,
    mutate,
    raise_hang,
    ref_file,
    ref_folder,
)


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
    previous = signal.signal(signal.SIGALRM, raise_hang)
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
