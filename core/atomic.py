"""Atomic file writes: the bytes go to a hidden temp file beside the target, then `os.replace` puts it in place,
so a reader sees the old file or the whole new one, never half of one.

A process killed between creating the temp file and the rename (SIGKILL, a power cut) leaves the temp file
behind. Its name, `.<target name>.<writer's pid>_<random>.tmp`, says whose it was: the next write into the same
folder deletes the leftovers whose writer is no longer running.

`mkstemp` creates its file mode 0600 whatever the umask, so a report or figure would come out private by accident;
the temp file is given the mode an ordinary `open(path, "w")` would have (0o666 minus the umask, so 0644 under
umask 022) before it is renamed into place.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


class FolderNotWritable(OSError):
    """The folder refused the temp file (read-only, full, not a folder): nothing was written."""


_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)_[A-Za-z0-9_]+\.tmp$")


_umask_lock = threading.Lock()


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows.

    os.umask can only be read by setting it, and for that moment every other thread would create files with the
    temporary value; Linux shows it in /proc/self/status, so it is read there, and only elsewhere set and restored
    (under a lock, so at least two writers here never race each other).
    """
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _umask_lock:
        mask = os.umask(0o077)  # the strictest value, should another thread create a file in between
        os.umask(mask)
    return mask


def default_file_mode() -> int:
    """The mode an ordinary new file gets: 0o666 minus the umask (0644 under umask 022, 0600 under 077)."""
    return 0o666 & ~current_umask()


def give_default_mode(fd: int, path: str | os.PathLike) -> None:
    """Set a temp file from mkstemp (always 0600) to the ordinary mode of a new file; for atomic writers."""
    mode = default_file_mode()
    if hasattr(os, "fchmod"):
        os.fchmod(fd, mode)
    else:  # Windows before 3.13: only the read-only flag exists, and 0o666 leaves it clear
        os.chmod(path, mode)


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

    The file gets the ordinary mode of a new file under the user's umask (0644 under 022), also when it replaces
    a file that had another mode.

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
            give_default_mode(f.fileno(), tmp)
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
