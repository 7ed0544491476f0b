"""The datasets: what a `Dataset` holds, where the known ones are found, and `load()` for a name, folder or file.

`load("mnist")` reads the MNIST bundled with the app; `load("fashion-mnist")` looks in the user's data folder,
then `/usr/share/datasets/fashion-mnist` (Debian's `dataset-fashion-mnist`), then the folders the user added;
`load(path)` reads a folder (the four IDX files, an .npz, or train/test CSVs) or a single file. A folder with only
one split loads with the other empty and says so in `Dataset.warnings`. The readers live in `core.readers`, the
decoded-array cache in `core.dataset_cache`, the downloader in `core.download`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import resources
from core import readers
from core.atomic import write_atomic
from core.dataset_cache import cached
from core.download import FILES, HOW_TO_GET, download
from core.paths import config_dir, data_dir
from core.readers import IMAGE_SHAPE, DatasetError

__all__ = [
    "FASHION_CLASSES", "MNIST_CLASSES", "Dataset", "DatasetError", "add_user_folder", "download", "find",
    "known_datasets", "load", "remove_user_folder", "search_folders", "user_folders",
]  # fmt: skip

MNIST_CLASSES = tuple(str(d) for d in range(10))
FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
KNOWN = {"mnist": MNIST_CLASSES, "fashion-mnist": FASHION_CLASSES}
ALIASES = {"fashion": "fashion-mnist", "fashionmnist": "fashion-mnist", "digits": "mnist"}
SYSTEM_FOLDERS = {"fashion-mnist": (Path("/usr/share/datasets/fashion-mnist"),)}  # Debian's package
USER_FOLDERS_FILE = "dataset_folders.json"  # in the config folder: {"folders": ["/path", ...]}
SPLIT_PREFIXES = {"train": ("train",), "test": ("t10k", "test")}


@dataclass(eq=False)  # compared by identity: comparing the arrays element-wise would be ambiguous
class Dataset:
    name: str  # "mnist", "fashion-mnist", or the file/folder name
    class_names: tuple[str, ...]  # ("0", ..., "9") or Fashion-MNIST's ten names
    train_images: np.ndarray  # uint8 (N, 28, 28); may be empty (0, 28, 28)
    train_labels: np.ndarray  # uint8 (N,)
    test_images: np.ndarray  # uint8 (M, 28, 28); may be empty
    test_labels: np.ndarray  # uint8 (M,)
    source: str  # where it was loaded from (folder or file path)
    warnings: list[str] = field(default_factory=list)  # e.g. that a split is missing; the app shows them

    @property
    def n_train(self) -> int:
        return len(self.train_labels)

    @property
    def n_test(self) -> int:
        return len(self.test_labels)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)


def _empty_split() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((0, *IMAGE_SHAPE), np.uint8), np.zeros(0, np.uint8)


# ------------------------------------------------------------------------------------------------------------
# finding files in a folder


def _idx_names(prefix: str, kind: str) -> list[str]:
    ndim = 3 if kind == "images" else 1
    names = [f"{prefix}-{kind}-idx{ndim}-ubyte", f"{prefix}-{kind}.idx{ndim}-ubyte"]
    return [n + ext for n in names for ext in (".gz", "")]


def _idx_files(folder: Path) -> dict[str, dict[str, Path | None]]:
    """{"train": {"images": path or None, "labels": ...}, "test": {...}} for the IDX files in `folder`."""
    try:
        names = {p.name.lower(): p for p in folder.iterdir() if p.is_file()}
    except OSError as e:
        raise DatasetError(f"Cannot read the folder {folder}: {e.strerror or e}.") from e
    found = {}
    for split, prefixes in SPLIT_PREFIXES.items():
        found[split] = {}
        for kind in ("images", "labels"):
            candidates = [n for p in prefixes for n in _idx_names(p, kind)]
            found[split][kind] = next((names[n] for n in candidates if n in names), None)
    return found


def _complete(folder: Path) -> dict | None:
    """The IDX files of `folder` when it holds both splits, else None."""
    with contextlib.suppress(DatasetError):
        files = _idx_files(folder)
        if all(p is not None for split in files.values() for p in split.values()):
            return files
    return None


# ------------------------------------------------------------------------------------------------------------
# reading one split, through the cache


def _idx_split(images_path: Path, labels_path: Path, cache: bool) -> tuple[np.ndarray, np.ndarray]:
    images = cached(
        images_path, ("images",), lambda: {"images": readers.read_idx(images_path, "images")}, cache
    )
    labels = cached(
        labels_path, ("labels",), lambda: {"labels": readers.read_idx(labels_path, "labels")}, cache
    )
    readers.check_pair(images["images"], labels["labels"], images_path, labels_path)
    return images["images"], labels["labels"]


def _csv_split(path: Path, cache: bool) -> tuple[np.ndarray, np.ndarray]:
    def build():
        images, labels = readers.read_csv(path)
        return {"images": images, "labels": labels}

    arrays = cached(path, ("images", "labels"), build, cache)
    return arrays["images"], arrays["labels"]


def _npz_splits(path: Path, cache: bool) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    def build():
        splits = readers.read_npz(path)
        arrays = {}
        for split in ("train", "test"):
            images, labels = splits.get(split, _empty_split())
            arrays[f"{split}_images"], arrays[f"{split}_labels"] = images, labels
        return arrays

    roles = ("train_images", "train_labels", "test_images", "test_labels")
    arrays = cached(path, roles, build, cache)
    return {
        s: (arrays[f"{s}_images"], arrays[f"{s}_labels"])
        for s in ("train", "test")
        if len(arrays[f"{s}_labels"])
    }


def _folder_splits(folder: Path, cache: bool) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    idx = _idx_files(folder)
    if any(p is not None for split in idx.values() for p in split.values()):
        splits = {}
        for split, files in idx.items():
            if (files["images"] is None) != (files["labels"] is None):
                have, kind = (
                    (files["images"], "labels") if files["labels"] is None else (files["labels"], "images")
                )
                expected = _idx_names(SPLIT_PREFIXES[split][0], kind)[0]
                raise DatasetError(
                    f"{folder} has {have.name} but no {split} {kind} file beside it (e.g. {expected})."
                )
            if files["images"] is not None:
                splits[split] = _idx_split(files["images"], files["labels"], cache)
        return splits
    files = sorted((p for p in folder.iterdir() if p.is_file()), key=lambda p: -p.stat().st_size)
    npz = [p for p in files if p.suffix.lower() == ".npz"]
    if npz:
        return _npz_splits(npz[0], cache)
    csvs = [p for p in files if p.suffix.lower() == ".csv"]
    splits = {}
    for split, words in (("train", ("train",)), ("test", ("test", "t10k"))):
        match = next((p for p in csvs if any(w in p.name.lower() for w in words)), None)
        if match is not None:
            splits[split] = _csv_split(match, cache)
    if not splits:
        raise DatasetError(
            f"{folder} holds no dataset files MNIST Explorer can read; expected the four IDX files "
            "(train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
            "t10k-labels-idx1-ubyte.gz), an .npz with "
            "x_train, y_train, x_test, y_test, or mnist_train.csv / mnist_test.csv."
        )
    return splits


def _split_of(name: str) -> str:
    name = name.lower()
    return "test" if name.startswith(("t10k", "test")) or "_test" in name or "-test" in name else "train"


def _partner(path: Path, kind: str) -> Path:
    """The labels file beside an IDX images file (kind="labels"), or the images file beside a labels file."""
    swaps = {
        "labels": (("images", "labels"), ("idx3", "idx1")),
        "images": (("labels", "images"), ("idx1", "idx3")),
    }
    name = path.name
    for old, new in swaps[kind]:
        name = name.replace(old, new)
    base = name.removesuffix(".gz")
    for candidate in (name, base, base + ".gz"):
        if candidate != path.name and (path.parent / candidate).is_file():
            return path.parent / candidate
    fallback = _idx_files(path.parent)[_split_of(path.name)][kind]
    if fallback is None:
        raise DatasetError(f"{path} needs its {kind} file beside it (looked for {name} in {path.parent}).")
    return fallback


def _file_splits(path: Path, cache: bool) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    suffix = path.name.lower().removesuffix(".gz").rsplit(".", 1)[-1]
    if suffix == "npz":
        return _npz_splits(path, cache)
    if suffix == "csv":
        return {_split_of(path.name): _csv_split(path, cache)}
    dims = readers.read_idx_header(path).dims  # raises a DatasetError for anything that is not IDX
    if len(dims) not in (1, 3):
        raise DatasetError(
            f"{path} holds {len(dims)}-dimensional IDX data; expected images (3) or labels (1)."
        )
    images, labels = (path, _partner(path, "labels")) if len(dims) == 3 else (_partner(path, "images"), path)
    return {_split_of(path.name): _idx_split(images, labels, cache)}


# ------------------------------------------------------------------------------------------------------------
# the known datasets and where they are looked for


def _fingerprint(labels: np.ndarray, split: str) -> str | None:
    """The known dataset whose labels these are, by the checksum of the IDX file they would make."""
    content = b"\x00\x00\x08\x01" + struct.pack(">I", len(labels)) + labels.tobytes()
    digest = hashlib.sha256(content).hexdigest()
    name = ("train" if split == "train" else "t10k") + "-labels-idx1-ubyte.gz"
    return next((key for key, files in FILES.items() if name in files and files[name][0] == digest), None)


def user_folders() -> list[Path]:
    """The extra folders the user asked to search for datasets (an unreadable list counts as empty)."""
    try:
        folders = json.loads((config_dir() / USER_FOLDERS_FILE).read_text("utf-8"))["folders"]
        return [Path(f) for f in folders if isinstance(f, str)]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def _save_user_folders(folders: list[Path]) -> None:
    target = config_dir() / USER_FOLDERS_FILE
    text = json.dumps({"folders": [str(p) for p in folders]}, indent=1)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, lambda f: f.write(text.encode("utf-8")))
    except OSError as e:
        raise DatasetError(f"Cannot save the dataset folder list to {target} ({e.strerror or e}).") from e


def add_user_folder(folder: Path | str) -> list[Path]:
    """Add a folder to search for datasets (kept in the config folder); returns the new list."""
    folder = Path(os.path.realpath(Path(folder).expanduser()))
    if not folder.is_dir():
        raise DatasetError(f"{folder} is not a folder; choose the folder that holds the dataset files.")
    folders = user_folders()
    if folder not in folders:
        folders.append(folder)
        _save_user_folders(folders)
    return folders


def remove_user_folder(folder: Path | str) -> list[Path]:
    folder = Path(os.path.realpath(Path(folder).expanduser()))
    folders = [f for f in user_folders() if f != folder]
    _save_user_folders(folders)
    return folders


def _standard_folders(name: str) -> list[Path]:
    if name == "mnist":
        return [resources.MNIST_DIR, data_dir() / "mnist"]
    return [data_dir() / name, *SYSTEM_FOLDERS.get(name, ())]


def search_folders(name: str) -> list[Path]:
    """Where dataset `name` is looked for, in order (folders that may not exist): the standard places, then
    each user folder itself and its subfolders named after the dataset (also torchvision's layout)."""
    extra = []
    for root in user_folders():
        extra += [root / name, root / name.replace("-", "_"), root / "FashionMNIST" / "raw", root]
    return _standard_folders(name) + extra


def find(name: str) -> Path | None:
    """The first folder that holds all four IDX files of dataset `name`, or None."""
    n_standard = len(_standard_folders(name))
    for i, folder in enumerate(search_folders(name)):
        files = _complete(folder)
        if files is None:
            continue
        if i < n_standard or name.split("-")[0] in str(folder).lower():
            return folder
        with contextlib.suppress(DatasetError):  # a user folder with no telling name: check its labels
            if _fingerprint(readers.read_idx(files["train"]["labels"], "labels"), "train") == name:
                return folder
    return None


def _canonical(name: str) -> str | None:
    key = name.strip().lower().replace("_", "-")
    key = ALIASES.get(key, key)
    return key if key in KNOWN else None


def load(name_or_path: str | Path, *, cache: bool = True) -> Dataset:
    """Load "mnist", "fashion-mnist", or a folder or file path; bad input raises DatasetError."""
    key = _canonical(name_or_path) if isinstance(name_or_path, str) else None
    if key is not None:
        folder = find(key)
        if folder is None:
            raise DatasetError(
                f"{key} was not found (looked in {', '.join(map(str, search_folders(key)))}). "
                + HOW_TO_GET[key]
            )
        path, name = folder, key
    else:
        path = Path(name_or_path).expanduser()
        name = Path(os.path.abspath(path)).name
        if not path.exists():
            raise DatasetError(
                f"There is no dataset named '{name_or_path}' and no file or folder {path}; use mnist, "
                "fashion-mnist, or the path to a folder or file (IDX, .npz or .csv)."
            )
    try:
        splits = _folder_splits(path, cache) if path.is_dir() else _file_splits(path, cache)
    except OSError as e:
        raise DatasetError(f"Cannot read {path}: {e.strerror or e}.") from e
    warnings = []
    for split, other in (("train", "test"), ("test", "train")):
        if split not in splits:
            consequence = (
                "test accuracy cannot be measured"
                if split == "test"
                else "it can be evaluated, not trained on"
            )
            warnings.append(f"{path} has no {split} split (only {other} images): {consequence}.")
    (train_x, train_y), (test_x, test_y) = (splits.get(s, _empty_split()) for s in ("train", "test"))
    if key is None:
        known = {_fingerprint(y, s) for s, (_, y) in splits.items()} - {None}
        key_guess = (
            known.pop() if len(known) == 1 else "fashion-mnist" if "fashion" in str(path).lower() else "mnist"
        )
        classes = KNOWN[key_guess]
    else:
        classes = KNOWN[key]
    return Dataset(name, classes, train_x, train_y, test_x, test_y, str(path), warnings)


def known_datasets() -> list[dict]:
    """For each known dataset: name, available, path, n_train, n_test (from file headers), how_to_get."""
    out = []
    for name in KNOWN:
        folder = find(name)
        entry = {"name": name, "available": folder is not None, "path": str(folder) if folder else None,
                 "n_train": None, "n_test": None, "classes": list(KNOWN[name]),
                 "how_to_get": None if folder else HOW_TO_GET[name]}  # fmt: skip
        if folder is not None:
            files = _idx_files(folder)
            try:
                entry["n_train"] = readers.read_idx_header(files["train"]["labels"]).dims[0]
                entry["n_test"] = readers.read_idx_header(files["test"]["labels"]).dims[0]
            except DatasetError as e:
                entry["available"], entry["how_to_get"] = False, f"{e} {HOW_TO_GET[name]}"
        out.append(entry)
    return out
