"""A cache of decoded dataset arrays in the user's cache folder, so the second load of a dataset is instant.

Each entry is one `.npy` file named after its source file's path, size and modification time plus the array's role
("images", "labels", "train_images", ...); a changed source gets a new name, and the stale entry is removed when the
new one is written. Entries unread for PRUNE_AFTER_DAYS (a source deleted or moved) are deleted whenever a new entry
is written; reading an entry marks it used. Entries are written atomically (a temp file in the cache folder, then
`os.replace`). An entry that cannot be read, or does not hold what its role says, is ignored and rebuilt. The cache
is only an optimisation: when the cache folder cannot be written, loading still works.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from core.atomic import write_atomic
from core.paths import cache_dir
from core.readers import IMAGE_SHAPE, N_CLASSES

SUBDIR = "arrays"  # inside the user's cache folder
FORMAT = "v1"  # bump when the meaning of cached arrays changes
PRUNE_AFTER_DAYS = 60  # an entry unread this long belongs to a source that is gone (or unused): deleted


def folder() -> Path:
    return cache_dir() / SUBDIR


def _stem(source: Path) -> str:
    return hashlib.sha1(f"{FORMAT}:{os.path.realpath(source)}".encode()).hexdigest()[:20]


def entry_path(source: Path, role: str) -> Path:
    """The cache file for one array decoded from `source`; its name changes when the source changes."""
    st = os.stat(source)
    return folder() / f"{_stem(source)}-{role}-{st.st_size}-{st.st_mtime_ns}.npy"


def _valid(array: np.ndarray, role: str) -> bool:
    if array.dtype != np.uint8:
        return False
    if role.endswith("images"):
        return array.ndim == 3 and array.shape[1:] == IMAGE_SHAPE
    return array.ndim == 1 and (array.size == 0 or int(array.max()) < N_CLASSES)


def _read(path: Path, role: str) -> np.ndarray | None:
    try:
        array = np.load(path, allow_pickle=False)
    except Exception:  # a damaged entry can make NumPy's header parser raise almost anything: rebuild it
        return None
    if not (isinstance(array, np.ndarray) and _valid(array, role)):
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # used: its modification time is what pruning goes by
    return array


def prune(now: float | None = None) -> list[Path]:
    """Delete the entries nobody has read for PRUNE_AFTER_DAYS; returns what was deleted."""
    cutoff = (time.time() if now is None else now) - PRUNE_AFTER_DAYS * 86400
    removed = []
    for entry in folder().glob("*.npy"):
        with contextlib.suppress(OSError):
            if entry.stat().st_mtime < cutoff:
                entry.unlink()
                removed.append(entry)
    return removed


def _write(path: Path, array: np.ndarray) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, lambda f: np.save(f, array, allow_pickle=False))
        stem, role = path.name.split("-")[:2]
        for stale in path.parent.glob(f"{stem}-{role}-*.npy"):
            if stale != path:
                stale.unlink(missing_ok=True)
        prune()
    except OSError:
        pass  # a cache that cannot be written only costs speed


def cached(
    source: Path, roles: tuple[str, ...], build: Callable[[], dict[str, np.ndarray]], enabled: bool = True
) -> dict[str, np.ndarray]:
    """The arrays `build()` decodes from `source`, one per role, from the cache when it holds them all.

    `build` returns a dict from role to array; a role it leaves out (a split the file does not have) is simply
    not cached, so such sources are rebuilt each time, which is correct if slower.
    """
    if not enabled:
        return build()
    try:
        paths = {role: entry_path(source, role) for role in roles}
    except OSError:
        return build()  # the reader reports the missing source
    found = {role: _read(p, role) for role, p in paths.items() if p.exists()}
    if len(found) == len(roles) and all(a is not None for a in found.values()):
        return found
    arrays = build()
    for role, array in arrays.items():
        if role in paths:
            _write(paths[role], array)
    return arrays
