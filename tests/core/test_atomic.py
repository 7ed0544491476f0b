"""Atomic writes: the old file or the whole new one, never half; leftovers of killed writers are swept."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from core.atomic import FolderNotWritable, remove_leftovers, write_atomic


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_write_replaces_the_file_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    write_atomic(target, lambda f: f.write(b"new contents"), durable=True)
    assert target.read_bytes() == b"new contents"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_a_failing_write_keeps_the_old_file_and_removes_its_temp_file(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")

    def half_then_fail(f):
        f.write(b"half")
        raise ValueError("the writer failed")

    with pytest.raises(ValueError, match="the writer failed"):
        write_atomic(target, half_then_fail)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_a_folder_that_refuses_the_temp_file_says_so(tmp_path):
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(FolderNotWritable):
        write_atomic(tmp_path / "file" / "a.bin", lambda f: f.write(b"x"))


def test_leftovers_of_dead_writers_are_swept_by_the_next_write_and_live_ones_kept(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = tmp_path / f".model.npz.{dead_pid()}_k3j4.tmp"
        alive = tmp_path / f".model.npz.{sleeper.pid}_ab12.tmp"
        mine = tmp_path / f".figure.png.{os.getpid()}_zz9.tmp"
        unrelated = [tmp_path / ".hidden", tmp_path / "notes.tmp", tmp_path / ".model.npz.nopid.tmp"]
        for path in (dead, alive, mine, *unrelated):
            path.write_bytes(b"partial")
        write_atomic(tmp_path / "other.csv", lambda f: f.write(b"a,b\n"))
        names = {p.name for p in tmp_path.iterdir()}
        assert dead.name not in names
        assert {alive.name, mine.name, "other.csv", *(p.name for p in unrelated)} <= names
        assert remove_leftovers(tmp_path) == []  # nothing more to sweep while the sleeper runs
    finally:
        sleeper.kill()
        sleeper.wait()
    assert remove_leftovers(tmp_path) == [alive]


@pytest.mark.skipif(not hasattr(os, "fchmod"), reason="file modes are POSIX")
@pytest.mark.parametrize(("umask", "expected"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_written_file_has_the_ordinary_mode_of_the_users_umask(tmp_path, umask, expected):
    old = os.umask(umask)
    try:
        new = write_atomic(tmp_path / "new.bin", lambda f: f.write(b"x"))
        replaced = tmp_path / "old.bin"
        replaced.write_bytes(b"old")
        os.chmod(replaced, 0o600)  # a file left private by an earlier version gets the ordinary mode again
        write_atomic(replaced, lambda f: f.write(b"y"), durable=True)
    finally:
        os.umask(old)
    assert new.stat().st_mode & 0o777 == expected
    assert replaced.stat().st_mode & 0o777 == expected


@pytest.mark.parametrize("proc", [True, False], ids=["from /proc", "without /proc"])
def test_the_umask_is_read_without_changing_it(monkeypatch, proc):
    from core import atomic

    if not proc:  # a system without /proc/self/status: set and restore

        def no_proc(*args, **kwargs):
            raise FileNotFoundError("/proc/self/status")

        monkeypatch.setattr(atomic, "open", no_proc, raising=False)
    old = os.umask(0o027)
    try:
        assert atomic.current_umask() == 0o027
        assert atomic.default_file_mode() == 0o640
        assert os.umask(0o027) == 0o027  # still what it was
    finally:
        os.umask(old)
