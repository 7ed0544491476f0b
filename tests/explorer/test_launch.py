"""Starting `mnist-explorer`: a mistyped command is exit 2 and one line, never the window; where no window can
open, one sentence and a non-zero exit instead of Qt's abort. Run as a user runs it, in a subprocess with a
timeout, so a regression that opens the window (and waits forever offscreen) fails instead of hanging."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from explorer import display_check
from explorer.app import COMMANDS

ROOT = Path(__file__).resolve().parents[2]


def launch(*args, env_changes: dict, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update({k: v for k, v in env_changes.items() if v is not None})
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "explorer.app", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize("typo", ["frobnicate", "evaluat", "--frobnicate"])
def test_an_unknown_command_is_exit_2_with_the_valid_commands_in_one_line(typo):
    # offscreen, the window would open invisibly and never return: the timeout turns that into a failure
    proc = launch(typo, env_changes={"QT_QPA_PLATFORM": "offscreen"}, timeout=60)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and typo in lines[0] and proc.stdout == ""
    assert all(command in lines[0] for command in COMMANDS)
    if typo == "evaluat":
        assert "did you mean 'evaluate'" in lines[0]


def test_help_and_version_answer_without_a_display():
    proc = launch("--help", env_changes={})
    assert proc.returncode == 0 and all(command in proc.stdout for command in COMMANDS)
    proc = launch("--version", env_changes={})
    assert proc.returncode == 0 and proc.stdout.startswith("mnist-explorer ")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 displays")
@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({}, "DISPLAY is not set"),
        ({"QT_QPA_PLATFORM": "xcb"}, "DISPLAY is not set"),
        ({"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":99999"}, "the display :99999"),
        ({"DISPLAY": ":99998"}, "does not answer"),
        ({"QT_QPA_PLATFORM": "wayland"}, "WAYLAND_DISPLAY is not set"),
    ],
)
def test_no_display_is_one_sentence_and_a_non_zero_exit(changes, words):
    proc = launch(env_changes=changes, timeout=60)
    assert proc.returncode == 1, (proc.returncode, proc.stderr)  # not 134: Qt's abort never comes
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("MNIST Explorer cannot open its window") and lines[0].endswith(".")


def test_a_missing_xcb_library_names_the_debian_package(monkeypatch):
    monkeypatch.setattr(display_check, "missing_xcb_library", lambda: "libxcb-cursor.so.0")
    problem = display_check.display_problem({"DISPLAY": ":0"}, "linux")
    assert "libxcb-cursor.so.0" in problem and "sudo apt install libxcb-cursor0" in problem
    monkeypatch.setattr(display_check, "missing_xcb_library", lambda: "libunheard-of.so.3")
    problem = display_check.display_problem({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, "linux")
    assert "libunheard-of.so.3" in problem and "install the system package" in problem


def test_other_platforms_and_sessions_are_left_to_qt():
    assert display_check.display_problem({}, "darwin") == ""
    assert display_check.display_problem({}, "win32") == ""
    assert display_check.display_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux") == ""
    assert display_check.display_problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux") == ""


@pytest.mark.skipif(shutil.which("gcc") is None or not sys.platform.startswith("linux"), reason="needs gcc")
def test_the_loader_names_the_library_a_plugin_lacks(tmp_path):
    # a real shared object that needs another one, which is then taken away: what the loader says about the
    # xcb plugin on a system without libxcb-cursor0
    (tmp_path / "dep.c").write_text("int dep(void) { return 1; }\n")
    (tmp_path / "plugin.c").write_text("int dep(void);\nint plugin(void) { return dep(); }\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-Wl,-soname,libfakexcbdep.so.0", "-o",
                    str(tmp_path / "libfakexcbdep.so.0"), str(tmp_path / "dep.c")], check=True)  # fmt: skip
    (tmp_path / "libfakexcbdep.so").symlink_to("libfakexcbdep.so.0")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(tmp_path / "libqfake.so"), str(tmp_path / "plugin.c"),
                    f"-L{tmp_path}", "-lfakexcbdep"], check=True)  # fmt: skip
    (tmp_path / "libfakexcbdep.so").unlink()
    (tmp_path / "libfakexcbdep.so.0").unlink()
    assert display_check.missing_library(tmp_path / "libqfake.so") == "libfakexcbdep.so.0"
    plugin = display_check.xcb_plugin_path()
    if plugin is not None:  # this machine's own xcb plugin loads (CI installs its libraries)
        assert display_check.missing_library(plugin) == ""


def test_about_names_the_installed_version(qtbot, monkeypatch):
    from importlib import metadata

    from explorer import main_window
    from explorer.app import build_window

    shown = []
    monkeypatch.setattr(main_window.QMessageBox, "about", lambda parent, title, text: shown.append(text))
    window = build_window()
    qtbot.addWidget(window)
    window.show_about()
    assert len(shown) == 1 and f"MNIST Explorer {metadata.version('mnist-explorer')}</h3>" in shown[0]
