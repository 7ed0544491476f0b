"""The IDX, NPZ and CSV readers: round trips of files written here, and every kind of bad file.

Bad files go through `datasets.load()`, the public door, and must raise `DatasetError` naming the file and the
problem; a header that claims more than its file holds must fail without allocating what it claims.
"""

import gzip
import io
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import datasets, readers
from core.readers import DatasetError


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write(path, data: bytes, gz: bool = False):
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def sample(n=7, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n).astype(np.uint8)


def write_pair(folder, images, labels, gz=True, prefix="train"):
    ext = ".gz" if gz else ""
    write(folder / f"{prefix}-images-idx3-ubyte{ext}", idx_bytes(images), gz)
    write(folder / f"{prefix}-labels-idx1-ubyte{ext}", idx_bytes(labels), gz)


def csv_text(images, labels) -> str:
    rows = np.column_stack([labels, images.reshape(len(images), -1)]).astype(int)
    return "".join(",".join(map(str, row)) + "\n" for row in rows)


# ------------------------------------------------------------------------------------------------------------
# round trips


@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip(tmp_path, gz):
    images, labels = sample()
    img = write(tmp_path / "a-images", idx_bytes(images), gz)
    lab = write(tmp_path / "a-labels", idx_bytes(labels), gz)
    np.testing.assert_array_equal(readers.read_idx(img, "images"), images)
    np.testing.assert_array_equal(readers.read_idx(lab, "labels"), labels)
    assert readers.read_idx_header(img).dims == (7, 28, 28)
    assert readers.read_idx_header(lab).dims == (7,)


def test_idx_reads_a_gzip_of_several_members(tmp_path):
    images, _ = sample()
    data = idx_bytes(images)
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(data[:1000]) + gzip.compress(data[1000:]))
    np.testing.assert_array_equal(readers.read_idx(path, "images"), images)


@pytest.mark.parametrize("compressed", [False, True])
def test_npz_round_trip_including_flat_images_and_wide_label_types(tmp_path, compressed):
    images, labels = sample()
    save = np.savez_compressed if compressed else np.savez
    path = tmp_path / "mnist.npz"
    save(
        path,
        x_train=images,
        y_train=labels.astype(np.int64),
        x_test=images[:3].reshape(3, 784),
        y_test=labels[:3],
    )
    splits = readers.read_npz(path)
    np.testing.assert_array_equal(splits["train"][0], images)
    assert splits["train"][1].dtype == np.uint8
    np.testing.assert_array_equal(splits["train"][1], labels)
    np.testing.assert_array_equal(splits["test"][0], images[:3])


def test_npz_fortran_order_arrays_keep_their_values(tmp_path):
    images, labels = sample()
    path = tmp_path / "f.npz"
    np.savez(path, x_test=np.asfortranarray(images), y_test=labels)
    np.testing.assert_array_equal(readers.read_npz(path)["test"][0], images)


@pytest.mark.parametrize("header", [False, True])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_csv_round_trip(tmp_path, header, newline):
    images, labels = sample()
    text = csv_text(images, labels).replace("\n", newline)
    if header:  # Kaggle's variant starts with column names
        text = "label," + ",".join(f"pixel{i}" for i in range(784)) + newline + text
    path = tmp_path / "mnist_train_100.csv"
    path.write_text(text, newline="")
    got_images, got_labels = readers.read_csv(path)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)


# ------------------------------------------------------------------------------------------------------------
# bad files: each raises DatasetError naming the file and the problem


def _images_with_labels(tmp_path, image_data: bytes, gz=False, name="train-images-idx3-ubyte"):
    """An images file (any content) with good labels beside it; returns the images path."""
    _, labels = sample()
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(labels))
    return write(tmp_path / (name + (".gz" if gz else "")), image_data, gz)


GOOD_IMAGES = idx_bytes(sample()[0])
IDX_CASES = {
    "wrong magic": (b"PK\x03\x04" + GOOD_IMAGES[4:], False, "wrong magic number"),
    "float type": (bytes([0, 0, 0x0D, 3]) + GOOD_IMAGES[4:], False, "float values"),
    "truncated data": (GOOD_IMAGES[:-100], False, "truncated"),
    "truncated gzip data": (GOOD_IMAGES[:-100], True, "truncated"),
    "truncated header": (GOOD_IMAGES[:10], False, "truncated"),
    "extra data": (GOOD_IMAGES + b"\x00" * 5, False, "more data than its header claims"),
    "extra gzip data": (GOOD_IMAGES + b"\x00" * 5, True, "more data than its header claims"),
    "not 28x28": (idx_bytes(np.zeros((7, 32, 32), np.uint8)), False, "32x32"),
    "labels as images": (idx_bytes(np.zeros(7, np.uint8)), False, "1-dimensional"),
    "lying header": (bytes([0, 0, 8, 3]) + struct.pack(">3I", 10**9, 28, 28), False, "1000000000 images"),
    "lying gzip header": (bytes([0, 0, 8, 3]) + struct.pack(">3I", 10**9, 28, 28), True, "1000000000 images"),
}


@pytest.mark.parametrize("case", list(IDX_CASES))
def test_bad_idx_images_raise_dataset_error(tmp_path, case):
    data, gz, problem = IDX_CASES[case]
    path = _images_with_labels(tmp_path, data, gz)
    with pytest.raises(DatasetError) as info:
        datasets.load(path, cache=False)
    assert path.name in str(info.value) and problem in str(info.value)


def test_bad_labels_and_mismatched_counts(tmp_path):
    images, labels = sample()
    bad = labels.copy()
    bad[3] = 12
    write(tmp_path / "train-images-idx3-ubyte", idx_bytes(images))
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(bad))
    with pytest.raises(DatasetError, match=r"train-labels-idx1-ubyte: label 12 at index 3 is outside 0\.\.9"):
        datasets.load(tmp_path, cache=False)
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(labels[:5]))
    with pytest.raises(
        DatasetError, match=r"train-images-idx3-ubyte holds 7 images but .*labels-idx1-ubyte holds 5"
    ):
        datasets.load(tmp_path, cache=False)


@pytest.mark.parametrize("how", ["cut", "flipped"])
def test_damaged_gzip_raises_dataset_error(tmp_path, how):
    blob = bytearray(gzip.compress(GOOD_IMAGES))
    if how == "cut":
        blob = blob[: len(blob) // 2]
    else:
        blob[len(blob) // 2] ^= 0xFF
    path = _images_with_labels(tmp_path, b"", name="train-images-idx3-ubyte.gz")
    path.write_bytes(bytes(blob))
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte.gz (is truncated|is not a valid gzip)"):
        datasets.load(path, cache=False)


def test_empty_files_are_reported_as_empty(tmp_path):
    for name in ("train-images-idx3-ubyte", "x.npz", "mnist_train.csv"):
        path = write(tmp_path / name, b"")
        with pytest.raises(DatasetError, match=f"{name} is empty"):
            datasets.load(path, cache=False)


CSV_CASES = {
    "joined rows": (lambda t: t.replace("\n", ",", 1), "line 1 has 1570 values; expected 785"),
    "missing value": (
        lambda t: t.split("\n", 1)[0] + "\n" + t.split("\n", 1)[1].split(",", 1)[1],
        "line 2 has 784",
    ),
    "not a number": (
        lambda t: t.split(",", 2)[0] + ",abc," + t.split(",", 2)[2],
        "'abc' is not a whole number",
    ),
    "fraction": (lambda t: "1.5" + t[1:], "'1.5' is not a whole number"),
    "pixel 300": (
        lambda t: t.split(",", 2)[0] + ",300," + t.split(",", 2)[2],
        "pixel value 300, outside 0..255",
    ),
    "pixel 99999": (
        lambda t: t.split(",", 2)[0] + ",99999," + t.split(",", 2)[2],
        "pixel value 99999 is outside",
    ),
    "negative pixel": (lambda t: t.split(",", 2)[0] + ",-1," + t.split(",", 2)[2], "pixel value -1"),
    "label 10": (lambda t: "10" + t[1:], "label 10"),
    "blank lines only": (lambda t: "\n\n\n", "holds no rows"),
}


@pytest.mark.parametrize("case", list(CSV_CASES))
def test_bad_csv_raises_dataset_error(tmp_path, case):
    images, labels = sample()
    labels[0] = 3
    edit, problem = CSV_CASES[case]
    path = tmp_path / "mnist_train.csv"
    path.write_text(edit(csv_text(images, labels)))
    with pytest.raises(DatasetError) as info:
        datasets.load(path, cache=False)
    assert "mnist_train.csv" in str(info.value) and problem in str(info.value)


def _npz(path, **arrays):
    np.savez(path, **arrays)
    return path


def test_bad_npz_files_raise_dataset_error(tmp_path):
    images, labels = sample()
    cases = {
        "none": (dict(a=images), "has none of the arrays x_train, y_train, x_test, y_test (it holds a)"),
        "half": (dict(x_train=images), "has 'x_train' but is missing 'y_train'"),
        "pickled": (dict(x_train=np.array([object()] * 3), y_train=labels[:3]), "pickled Python objects"),
        "shape": (dict(x_test=np.zeros((7, 32, 32), np.uint8), y_test=labels), "expected (N, 28, 28)"),
        "floats": (dict(x_test=images / 255.0, y_test=labels), "dtype float64"),
        "range": (dict(x_test=images, y_test=labels + 10), "outside 0..9"),
        "count": (dict(x_test=images, y_test=labels[:4]), "holds 7 images but y_test holds 4"),
    }
    for case, (arrays, problem) in cases.items():
        path = _npz(tmp_path / f"{case}.npz", **arrays)
        with pytest.raises(DatasetError) as info:
            datasets.load(path, cache=False)
        assert f"{case}.npz" in str(info.value) and problem in str(info.value), case
    good = _npz(tmp_path / "good.npz", x_train=images, y_train=labels)
    for case, data in {"garbage": b"not a zip file at all", "cut": good.read_bytes()[:2000]}.items():
        path = write(tmp_path / f"{case}.npz", data)
        with pytest.raises(DatasetError, match=f"{case}.npz is not a valid .npz"):
            datasets.load(path, cache=False)


# ------------------------------------------------------------------------------------------------------------
# a lying header never allocates what it claims


def _peak_while(fn) -> int:
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def _lying_npz(path, claimed_shape):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|u1", "fortran_order": False, "shape": claimed_shape}
    )
    with zipfile.ZipFile(path, "w") as zf:  # stored, so the zip's own sizes are honest; the .npy header lies
        zf.writestr("x_train.npy", header.getvalue() + b"\x00" * 784)
        zf.writestr("y_train.npy", header.getvalue() + b"\x00" * 784)
    return path


@pytest.mark.parametrize("kind", ["raw", "gzip", "gzip-partly-honest", "npz"])
def test_lying_header_fails_without_allocating_what_it_claims(tmp_path, kind):
    claim = bytes([0, 0, 8, 3]) + struct.pack(">3I", 10**9, 28, 28)  # 784 GB of images
    if kind == "raw":
        path = write(tmp_path / "train-images-idx3-ubyte", claim)
    elif kind == "gzip":
        path = write(tmp_path / "train-images-idx3-ubyte.gz", claim, gz=True)
    elif kind == "gzip-partly-honest":  # passes the compression-ratio check: only the streaming cap stops it
        claim = bytes([0, 0, 8, 3]) + struct.pack(">3I", 100_000, 28, 28)  # 78 MB claimed, 78 kB held
        path = write(tmp_path / "train-images-idx3-ubyte.gz", claim + sample(100)[0].tobytes(), gz=True)
    else:
        path = _lying_npz(tmp_path / "lie.npz", (10**9, 28, 28))
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(np.zeros(3, np.uint8)))
    errors = []

    def attempt():
        try:
            datasets.load(path, cache=False)
        except DatasetError as e:
            errors.append(str(e))

    peak = _peak_while(attempt)
    assert errors and path.name in errors[0]
    assert "truncated" in errors[0] or "can hold" in errors[0]
    assert peak < 4 * 2**20, f"peak allocation {peak} bytes for a file of {path.stat().st_size} bytes"


# ------------------------------------------------------------------------------------------------------------
# fuzzing: damaged files load or raise DatasetError, nothing else

GOOD_FILES = {
    "train-images-idx3-ubyte": idx_bytes(sample(3)[0]),
    "train-images-idx3-ubyte.gz": gzip.compress(idx_bytes(sample(3)[0])),
    "mnist_train.csv": csv_text(*sample(3)).encode(),
}


def _good_npz() -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, x_train=sample(3)[0], y_train=sample(3)[1])
    return buf.getvalue()


GOOD_FILES["x.npz"] = _good_npz()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(sorted(GOOD_FILES)),
    cut=st.integers(0, 10**6),
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), max_size=4),
)
def test_damaged_files_load_or_raise_dataset_error(tmp_path, name, cut, flips):
    data = bytearray(GOOD_FILES[name])
    for pos, xor in flips:
        data[pos % len(data)] ^= xor
    data = data[: max(1, cut % (len(data) + 1))]
    folder = tmp_path / "fuzz"
    folder.mkdir(exist_ok=True)
    (folder / "train-labels-idx1-ubyte").write_bytes(idx_bytes(sample(3)[1]))
    path = write(folder / name, bytes(data))
    try:
        ds = datasets.load(path, cache=False)
    except DatasetError as e:
        assert name in str(e) or "labels" in str(e)
    else:
        assert ds.train_images.dtype == np.uint8 and ds.train_images.shape[1:] == (28, 28)
        assert ds.train_labels.max(initial=0) <= 9 and len(ds.train_labels) == len(ds.train_images)


def test_a_garbled_npy_header_inside_an_npz_is_a_dataset_error(tmp_path):
    text = "{'descr': '|u1', 'fortran_order': False, 'shape': (50,der': False, 'shape': (50,), }"  # as a fuzzer made
    header = text.ljust(118) + "\n"
    member = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin-1") + b"\x00" * 50
    path = tmp_path / "garbled.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("x_test.npy", member)
        zf.writestr("y_test.npy", member)
    with pytest.raises(DatasetError, match=r"garbled.npz: array 'x_test' has a corrupt .npy header"):
        datasets.load(path, cache=False)


def test_pipes_devices_loops_and_folders_in_place_of_files(tmp_path):
    import os

    os.mkfifo(tmp_path / "train-images-idx3-ubyte")  # opening it would block forever
    (tmp_path / "t10k-images-idx3-ubyte").symlink_to(tmp_path / "t10k-images-idx3-ubyte")  # a loop
    (tmp_path / "t10k-labels-idx1-ubyte").mkdir()
    cases = {
        tmp_path / "train-images-idx3-ubyte": "is not a regular file",
        tmp_path / "t10k-images-idx3-ubyte": "no file or folder",
        "/dev/zero": "is not a regular file",
        tmp_path: "holds no dataset files",
    }
    for target, problem in cases.items():
        with pytest.raises(DatasetError, match=problem):
            datasets.load(target, cache=False)
