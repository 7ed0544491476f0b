"""Atomic file writes: the bytes go to a hidden temp file beside the target, then `os.replace` puts it in place,
so a reader sees the old file or the whole new one, never half of one.

A process killed between creating the temp file and the rename (SIGKILL, a power cut) leaves the temp file
behind. Its name, `.<target name>.<writer's pid>_<random>.tmp`, says whose it was: the next write into the same
folder deletes the leftovers whose writer is no longer running.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


class FolderNotWritable(OSError):
    """The folder refused the temp file (read-only, full, not a folder): nothing was written."""


_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)_[A-Za-z0-9_]+\.tmp$")


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but belongs to someone else
        return True
    return True


def remove_leftovers(folder: Path) -> list[Path]:
    """Delete the temp files in `folder` that writers killed mid-write left behind; returns what was deleted."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _LEFTOVER.match(entry.name)
        if match is None or _running(int(match["pid"])):
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed.append(Path(entry.path))
    return removed


def write_atomic(path: str | Path, write: Callable[[BinaryIO], None], durable: bool = False) -> Path:
    """Write `path` by calling `write(file)` on a temp file beside it, then renaming it into place.

    `durable`: also fsync the file and its folder, so the new version survives a power cut. Raises OSError
    (FolderNotWritable when the folder refuses the temp file), leaving nothing behind; whatever `write` raises
    propagates the same way.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    remove_leftovers(folder)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}_", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise FolderNotWritable(exc.errno, exc.strerror or str(exc), str(folder)) from exc
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable:
        with contextlib.suppress(OSError):  # not every system lets a folder be opened
            dir_fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    return path
