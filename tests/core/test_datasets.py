"""`core.datasets`: the bundled MNIST, Fashion-MNIST where installed, folders and files of every format, the
search for known datasets, the user's extra folders, and the decoded-array cache."""

import gzip
import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

import resources
from core import dataset_cache, datasets, readers
from core.datasets import DatasetError
from core.paths import config_dir
from tests.core.test_readers import csv_text, idx_bytes, sample, write_pair

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
needs_fashion = pytest.mark.skipif(
    not (FASHION_DIR / "train-labels-idx1-ubyte.gz").exists(),
    reason="Debian's dataset-fashion-mnist is not installed (sudo apt install dataset-fashion-mnist)",
)

# from /work/shared/datasets/README.md
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte.gz": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte.gz": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte.gz": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("MNIST_EXPLORER_CACHE_DIR", str(folder))
    return folder / dataset_cache.SUBDIR


# ------------------------------------------------------------------------------------------------------------
# the real data


def test_bundled_mnist_loads_with_the_known_shapes_and_counts():
    ds = datasets.load("mnist")
    assert ds.name == "mnist" and ds.class_names == datasets.MNIST_CLASSES and ds.warnings == []
    assert ds.train_images.shape == (60000, 28, 28) and ds.test_images.shape == (10000, 28, 28)
    assert ds.train_images.dtype == ds.train_labels.dtype == np.uint8
    assert (ds.n_train, ds.n_test, ds.n_classes) == (60000, 10000, 10)
    assert np.bincount(ds.train_labels).tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(ds.test_labels).tolist() == MNIST_TEST_COUNTS
    assert ds.train_labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert ds.test_labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert Path(ds.source) == resources.MNIST_DIR


@pytest.mark.parametrize("name", sorted(MNIST_SHA256))
def test_bundled_mnist_files_match_the_published_checksums(name):
    content = gzip.decompress((resources.MNIST_DIR / name).read_bytes())
    assert hashlib.sha256(content).hexdigest() == MNIST_SHA256[name]
    assert datasets.FILES["mnist"][name][:2] == (MNIST_SHA256[name], len(content))


@needs_fashion
def test_fashion_mnist_loads_from_the_debian_package():
    ds = datasets.load("fashion-mnist")
    assert Path(ds.source) == FASHION_DIR and ds.class_names == datasets.FASHION_CLASSES
    assert ds.class_names[0] == "T-shirt/top" and ds.class_names[9] == "Ankle boot"
    assert ds.train_images.shape == (60000, 28, 28) and ds.test_images.shape == (10000, 28, 28)
    assert np.bincount(ds.train_labels).tolist() == [6000] * 10
    assert np.bincount(ds.test_labels).tolist() == [1000] * 10


@needs_fashion
def test_opening_the_fashion_folder_by_path_recognises_its_classes():
    ds = datasets.load(str(FASHION_DIR))
    assert ds.name == "fashion-mnist" and ds.class_names == datasets.FASHION_CLASSES


# ------------------------------------------------------------------------------------------------------------
# folders and files


@pytest.mark.parametrize(
    "train_name, test_name, gz",
    [
        ("train-{kind}-idx{n}-ubyte.gz", "t10k-{kind}-idx{n}-ubyte.gz", True),
        ("train-{kind}.idx{n}-ubyte", "t10k-{kind}.idx{n}-ubyte", False),
        ("train-{kind}-idx{n}-ubyte", "test-{kind}-idx{n}-ubyte", False),
        ("Train-{kind}.idx{n}-ubyte.gz", "TEST-{kind}.idx{n}-ubyte.gz", True),
    ],
)
def test_idx_folders_with_each_file_name_variant(tmp_path, train_name, test_name, gz):
    (train_x, train_y), (test_x, test_y) = sample(9, seed=1), sample(4, seed=2)
    for template, (x, y) in ((train_name, (train_x, train_y)), (test_name, (test_x, test_y))):
        for kind, n, array in (("images", 3, x), ("labels", 1, y)):
            data = idx_bytes(array)
            (tmp_path / template.format(kind=kind, n=n)).write_bytes(gzip.compress(data) if gz else data)
    ds = datasets.load(tmp_path)
    np.testing.assert_array_equal(ds.train_images, train_x)
    np.testing.assert_array_equal(ds.train_labels, train_y)
    np.testing.assert_array_equal(ds.test_images, test_x)
    np.testing.assert_array_equal(ds.test_labels, test_y)
    assert ds.warnings == [] and ds.name == tmp_path.name and ds.class_names == datasets.MNIST_CLASSES


@pytest.mark.parametrize("present", ["train", "test"])
def test_a_folder_with_one_split_loads_the_other_empty_and_warns(tmp_path, present):
    images, labels = sample()
    write_pair(tmp_path, images, labels, prefix="train" if present == "train" else "t10k")
    ds = datasets.load(tmp_path)
    missing = "test" if present == "train" else "train"
    got_x, got_y = getattr(ds, f"{present}_images"), getattr(ds, f"{present}_labels")
    np.testing.assert_array_equal(got_x, images)
    np.testing.assert_array_equal(got_y, labels)
    assert getattr(ds, f"{missing}_images").shape == (0, 28, 28) and getattr(
        ds, f"{missing}_labels"
    ).shape == (0,)
    assert len(ds.warnings) == 1 and f"no {missing} split" in ds.warnings[0]


def test_npz_as_folder_and_as_file_and_train_only(tmp_path):
    (x, y), (tx, ty) = sample(5, seed=3), sample(3, seed=4)
    np.savez(tmp_path / "mnist.npz", x_train=x, y_train=y, x_test=tx, y_test=ty)
    for source in (tmp_path, tmp_path / "mnist.npz"):
        ds = datasets.load(source)
        np.testing.assert_array_equal(ds.train_images, x)
        np.testing.assert_array_equal(ds.test_labels, ty)
        assert ds.warnings == []
    np.savez(tmp_path / "mnist.npz", x_train=x, y_train=y)
    ds = datasets.load(tmp_path / "mnist.npz")
    assert ds.n_train == 5 and ds.n_test == 0 and "no test split" in ds.warnings[0]


def test_csv_folder_with_rashids_small_files_and_a_single_csv(tmp_path):
    (x, y), (tx, ty) = sample(10, seed=5), sample(3, seed=6)
    (tmp_path / "mnist_train_100.csv").write_text(csv_text(x, y))
    (tmp_path / "mnist_test_10.csv").write_text(csv_text(tx, ty))
    ds = datasets.load(tmp_path)
    np.testing.assert_array_equal(ds.train_images, x)
    np.testing.assert_array_equal(ds.test_images, tx)
    np.testing.assert_array_equal(ds.test_labels, ty)
    single = datasets.load(tmp_path / "mnist_test_10.csv")
    assert single.n_train == 0 and single.n_test == 3 and "no train split" in single.warnings[0]
    assert single.name == "mnist_test_10.csv"


def test_a_single_idx_file_finds_its_partner_beside_it(tmp_path):
    images, labels = sample()
    write_pair(tmp_path, images, labels, gz=False, prefix="t10k")
    for path in (tmp_path / "t10k-images-idx3-ubyte", tmp_path / "t10k-labels-idx1-ubyte"):
        ds = datasets.load(path)
        np.testing.assert_array_equal(ds.test_images, images)
        np.testing.assert_array_equal(ds.test_labels, labels)
        assert ds.n_train == 0


def test_folder_and_path_errors_say_what_is_missing(tmp_path):
    images, labels = sample()
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images)))
    with pytest.raises(DatasetError, match="has train-images-idx3-ubyte.gz but no train labels file"):
        datasets.load(tmp_path)
    with pytest.raises(DatasetError, match="needs its labels file beside it"):
        datasets.load(tmp_path / "train-images-idx3-ubyte.gz")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="holds no dataset files MNIST Explorer can read"):
        datasets.load(empty)
    with pytest.raises(DatasetError, match="no dataset named 'nonsense' and no file or folder"):
        datasets.load("nonsense")
    (tmp_path / "notes.txt").write_text("hello, not a dataset\n")
    with pytest.raises(DatasetError, match="notes.txt has the wrong magic number"):
        datasets.load(tmp_path / "notes.txt")


# ------------------------------------------------------------------------------------------------------------
# known datasets, search order, user folders


def _fake_fashion(folder: Path) -> Path:
    """Fashion-MNIST where installed (linked, not copied), so its labels' checksums are the real ones."""
    folder.mkdir(parents=True)
    for f in FASHION_DIR.iterdir():
        (folder / f.name).symlink_to(f)
    return folder


def test_known_datasets_reports_mnist_and_how_to_get_a_missing_fashion(monkeypatch, tmp_path):
    monkeypatch.setattr(datasets, "SYSTEM_FOLDERS", {"fashion-mnist": (tmp_path / "not-installed",)})
    entries = {e["name"]: e for e in datasets.known_datasets()}
    assert entries["mnist"]["available"] and entries["mnist"]["path"] == str(resources.MNIST_DIR)
    assert (entries["mnist"]["n_train"], entries["mnist"]["n_test"]) == (60000, 10000)
    fashion = entries["fashion-mnist"]
    assert not fashion["available"] and fashion["path"] is None and fashion["n_train"] is None
    assert "sudo apt install dataset-fashion-mnist" in fashion["how_to_get"]
    json.dumps(entries)  # `mnist-explorer datasets --json` prints this
    with pytest.raises(
        DatasetError, match="fashion-mnist was not found.*sudo apt install dataset-fashion-mnist"
    ):
        datasets.load("fashion-mnist")


def test_the_user_data_folder_comes_before_the_system_folder(tmp_path):
    from core.paths import data_dir

    x, y = sample(6)
    folder = data_dir() / "fashion-mnist"
    folder.mkdir(parents=True)
    write_pair(folder, x, y, prefix="train")
    write_pair(folder, x[:2], y[:2], prefix="t10k")
    entry = next(e for e in datasets.known_datasets() if e["name"] == "fashion-mnist")
    assert (
        entry["available"] and entry["path"] == str(folder) and (entry["n_train"], entry["n_test"]) == (6, 2)
    )
    ds = datasets.load("Fashion_MNIST")
    assert ds.name == "fashion-mnist" and ds.n_train == 6 and ds.class_names == datasets.FASHION_CLASSES


def test_user_folders_are_persisted_and_searched(monkeypatch, tmp_path):
    monkeypatch.setattr(datasets, "SYSTEM_FOLDERS", {})
    root = tmp_path / "my-data"
    root.mkdir()
    assert datasets.user_folders() == []
    assert datasets.add_user_folder(root) == [root.resolve()]
    assert datasets.add_user_folder(root) == [root.resolve()]  # no duplicates
    saved = json.loads((config_dir() / datasets.USER_FOLDERS_FILE).read_text())
    assert saved == {"folders": [str(root.resolve())]}
    assert root.resolve() / "fashion-mnist" in datasets.search_folders("fashion-mnist")
    assert datasets.find("fashion-mnist") is None
    # a user folder holding MNIST digits under a name that says nothing is not mistaken for Fashion-MNIST
    write_pair(root, *sample(5), prefix="train")
    write_pair(root, *sample(2), prefix="t10k")
    assert datasets.find("fashion-mnist") is None
    with pytest.raises(DatasetError, match="is not a folder"):
        datasets.add_user_folder(tmp_path / "missing")
    assert datasets.remove_user_folder(root) == [] and datasets.user_folders() == []
    (config_dir() / datasets.USER_FOLDERS_FILE).write_text("{ not json")
    assert datasets.user_folders() == []


@needs_fashion
def test_a_user_folder_holding_fashion_mnist_is_found(monkeypatch, tmp_path):
    monkeypatch.setattr(datasets, "SYSTEM_FOLDERS", {})
    plain = _fake_fashion(tmp_path / "downloads")  # recognised by its labels' checksum, not its name
    datasets.add_user_folder(plain)
    assert datasets.find("fashion-mnist") == plain.resolve()
    datasets.remove_user_folder(plain)
    _fake_fashion(tmp_path / "stuff" / "fashion_mnist")
    datasets.add_user_folder(tmp_path / "stuff")
    assert datasets.find("fashion-mnist") == (tmp_path / "stuff" / "fashion_mnist").resolve()


# ------------------------------------------------------------------------------------------------------------
# the cache


def _spy_on_read_idx(monkeypatch):
    calls = []
    real = readers.read_idx

    def spy(path, kind):
        calls.append(Path(path).name)
        return real(path, kind)

    monkeypatch.setattr(readers, "read_idx", spy)
    return calls


def test_second_load_comes_from_the_cache_and_a_touched_source_rebuilds(tmp_path, private_cache, monkeypatch):
    folder = tmp_path / "data"
    folder.mkdir()
    write_pair(folder, *sample(8), prefix="train")
    write_pair(folder, *sample(3, seed=9), prefix="t10k")
    calls = _spy_on_read_idx(monkeypatch)
    first = datasets.load(folder)
    assert len(calls) == 4
    entries = sorted(p.name for p in private_cache.glob("*.npy"))
    assert len(entries) == 4
    second = datasets.load(folder)
    assert len(calls) == 4, "the second load read a source file instead of the cache"
    for attr in ("train_images", "train_labels", "test_images", "test_labels"):
        np.testing.assert_array_equal(getattr(first, attr), getattr(second, attr))
    source = folder / "train-labels-idx1-ubyte.gz"
    st = source.stat()
    os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    datasets.load(folder)
    assert calls[4:] == ["train-labels-idx1-ubyte.gz"]
    after = sorted(p.name for p in private_cache.glob("*.npy"))
    assert len(after) == 4 and len(set(after) - set(entries)) == 1  # the stale entry was replaced


def test_cache_false_bypasses_the_cache(tmp_path, private_cache, monkeypatch):
    write_pair(tmp_path, *sample(), prefix="train")
    calls = _spy_on_read_idx(monkeypatch)
    datasets.load(tmp_path, cache=False)
    datasets.load(tmp_path, cache=False)
    assert len(calls) == 4 and not private_cache.exists()


def test_a_corrupt_cache_entry_is_ignored_and_rebuilt(tmp_path, private_cache, monkeypatch):
    images, labels = sample()
    write_pair(tmp_path, images, labels, prefix="train")
    datasets.load(tmp_path)
    for entry in private_cache.glob("*-images-*.npy"):
        entry.write_bytes(entry.read_bytes()[:300])  # cut short
    for entry in private_cache.glob("*-labels-*.npy"):
        np.save(entry, np.full(len(labels), 42, np.uint8))  # readable, but not labels
    calls = _spy_on_read_idx(monkeypatch)
    ds = datasets.load(tmp_path)
    assert len(calls) == 2
    np.testing.assert_array_equal(ds.train_images, images)
    np.testing.assert_array_equal(ds.train_labels, labels)
    np.testing.assert_array_equal(np.load(next(private_cache.glob("*-images-*.npy"))), images)


def test_csv_and_npz_sources_are_cached_too(tmp_path, private_cache, monkeypatch):
    (tmp_path / "mnist_train.csv").write_text(csv_text(*sample()))
    np.savez(tmp_path / "d.npz", x_test=sample()[0], y_test=sample()[1])
    for source in (tmp_path / "mnist_train.csv", tmp_path / "d.npz"):
        first = datasets.load(source)
        with monkeypatch.context() as m:
            m.setattr(readers, "read_csv", None)  # a second read of the source would fail
            m.setattr(readers, "read_npz", None)
            second = datasets.load(source)
        np.testing.assert_array_equal(first.train_images, second.train_images)
        np.testing.assert_array_equal(first.test_labels, second.test_labels)
        assert first.warnings == second.warnings and len(first.warnings) == 1


def test_entries_of_a_deleted_source_are_pruned_once_unread_for_long(tmp_path, private_cache):
    kept, gone = tmp_path / "kept", tmp_path / "gone"
    for folder in (kept, gone):
        folder.mkdir()
        write_pair(folder, *sample(4), prefix="train")
    datasets.load(kept)
    datasets.load(gone)
    gone_entries = {dataset_cache.entry_path(gone / n, r) for n in ("train-images-idx3-ubyte.gz",
                    "train-labels-idx1-ubyte.gz") for r in ("images", "labels")} & set(private_cache.glob("*.npy"))  # fmt: skip
    assert len(gone_entries) == 2 and len(list(private_cache.glob("*.npy"))) == 4
    shutil.rmtree(gone)
    old = time.time() - (dataset_cache.PRUNE_AFTER_DAYS + 1) * 86400
    for entry in private_cache.glob("*.npy"):  # every entry is old...
        os.utime(entry, (old, old))
    datasets.load(kept)  # ...but reading the kept source's entries marks them used
    third = tmp_path / "third"
    third.mkdir()
    write_pair(third, *sample(2), prefix="train")
    datasets.load(third)  # writing new entries prunes the ones unread for PRUNE_AFTER_DAYS
    left = set(private_cache.glob("*.npy"))
    assert not (gone_entries & left)
    assert len(left) == 4  # the kept source's two and the third's two
    assert all(e.stat().st_mtime > old + 86400 for e in left)
