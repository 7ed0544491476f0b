"""Files the user writes survive a process killed in the middle of writing them.

A child process saves a big model (784-4096-10, 13 MB) over and over onto a file that already holds another model,
and is killed with SIGKILL at a random moment (seeded), ten times; the same for figure export (a 4x PNG of a plot
and its CSV). After every kill the target still loads and equals, byte for byte or array for array, either the
original or one complete new version: never a half-written file. A SIGKILL leaves no chance to delete the temp file
being written; such leftovers must be hidden dotfiles named `.<target name>.<pid>_<random>.tmp` (core/atomic.py, which
model saves and figure exports write through), which no file dialog filter (*.npz, *.png) or dataset reader picks
up, and which the next write into the folder deletes once their writer is dead. A folder that cannot be written
gives one clear sentence.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from core import model_io
from core.model_io import Model, ModelError
from core.network import init_network
from core.training import TrainConfig

ROUNDS = 10
ROOT = Path(__file__).resolve().parents[2]

SAVE_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from core import model_io
    from core.model_io import Model
    from core.network import init_network
    from core.training import TrainConfig
    net = init_network([784, 4096, 10], rng=np.random.default_rng(2))
    model = Model(net, TrainConfig(hidden=(4096,)), "mnist", [str(d) for d in range(10)],
                  {"scaling": "unit", "mean": 0.0, "std": 1.0}, [])
    target = sys.argv[1]
    start = time.perf_counter()
    model_io.save(target + ".first.npz", model)  # one complete save, to time it
    print(f"ready {time.perf_counter() - start:.4f}", flush=True)
    while True:
        model_io.save(target, model)
    """
)

EXPORT_SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    import numpy as np
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication
    from explorer.export import export_widget
    app = QApplication([])
    plot = pg.PlotWidget()
    plot.resize(800, 500)
    x = np.linspace(0, 5, 2000)
    plot.plot(x, np.exp(-x) + 0.05 * np.sin(40 * x))
    plot.show()
    app.processEvents()
    data = lambda: {"epoch": x.tolist(), "loss": (np.exp(-x)).tolist()}
    target = sys.argv[1]
    start = time.perf_counter()
    export_widget(plot, os.path.join(os.path.dirname(target), "first.png"), scale=4, data_fn=data)
    print(f"ready {time.perf_counter() - start:.4f}", flush=True)
    while True:
        export_widget(plot, target, scale=4, data_fn=data)
    """
)


def start_child(script: str, target: Path) -> tuple[subprocess.Popen, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(target)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        cwd=ROOT, text=True,
    )  # fmt: skip
    line = child.stdout.readline()
    if not line.startswith("ready"):
        child.kill()
        raise AssertionError(f"the child did not start: {line}{child.stderr.read()}")
    return child, float(line.split()[1])


def kill(child: subprocess.Popen, after: float) -> None:
    time.sleep(after)
    child.kill()  # SIGKILL: no cleanup, no finally, no atexit
    child.wait(10)
    child.stdout.close()
    child.stderr.close()


def strays(folder: Path, target: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") or p.name.endswith(".tmp"))


def leftover_pattern(name: str) -> re.Pattern:
    return re.compile(rf"^\.{re.escape(name)}\.\d+_[A-Za-z0-9_]+\.tmp$")


def test_a_model_save_killed_midway_leaves_the_previous_file_intact(tmp_path, figures):
    rng = np.random.default_rng(8)
    original = Model(
        init_network([784, 4096, 10], rng=np.random.default_rng(1)), TrainConfig(hidden=(4096,)), "mnist",
        [str(d) for d in range(10)], {"scaling": "unit", "mean": 0.0, "std": 1.0}, [{"epoch": 1}],
    )  # fmt: skip
    new_weights = init_network([784, 4096, 10], rng=np.random.default_rng(2)).weights
    target = tmp_path / "model.npz"
    outcomes = {"original": 0, "new": 0}
    leftovers: list[str] = []
    save_seconds = []
    for _ in range(ROUNDS):
        model_io.save(target, original)
        child, seconds = start_child(SAVE_SCRIPT, target)
        save_seconds.append(seconds)
        kill(child, float(rng.uniform(0, 3 * seconds)))
        loaded = model_io.load(target)  # never half a file: it loads...
        w = loaded.network.weights
        if np.array_equal(w[0], original.network.weights[0]):  # ...and is exactly one version or the other
            np.testing.assert_array_equal(w[1], original.network.weights[1])
            assert loaded.history == [{"epoch": 1}]
            outcomes["original"] += 1
        else:
            np.testing.assert_array_equal(w[0], new_weights[0])
            np.testing.assert_array_equal(w[1], new_weights[1])
            outcomes["new"] += 1
        pattern = leftover_pattern(target.name)
        for name in strays(tmp_path, target):
            assert pattern.match(name), f"a leftover the app would not recognise: {name}"
            leftovers.append(name)  # kept: the next round's save, in this process, must sweep it
        (tmp_path / "model.npz.first.npz").unlink(missing_ok=True)
    model_io.save(target, original)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]  # every dead writer's leftover swept
    figures(
        f"{ROUNDS} model saves (13 MB, {np.median(save_seconds) * 1000:.0f} ms each) killed with SIGKILL at random: "
        f"the target loaded every time ({outcomes['original']} x the original, {outcomes['new']} x a complete new "
        f"save, 0 x a half file)"
    )
    figures(
        f"temp files left by the kills: {len(leftovers)} (named .model.npz.<pid>_<random>.tmp: hidden, ignored by "
        "every *.npz filter and reader; each deleted by the next save into the folder, its writer being dead)"
    )


def test_a_figure_export_killed_midway_leaves_the_previous_file_intact(tmp_path, figures, qapp):
    from PySide6.QtGui import QImage

    from explorer.export_files import write_bytes_atomic

    rng = np.random.default_rng(9)
    target = tmp_path / "curves.png"
    image = QImage(40, 30, QImage.Format.Format_RGB32)
    image.fill(0x336699)
    image.save(str(target), "PNG")
    original_png = target.read_bytes()
    original_csv = b"epoch,loss\n1,0.5\n"
    outcomes = {"original": 0, "new": 0}
    leftovers: list[str] = []
    complete_png = complete_csv = None
    for _ in range(ROUNDS):
        target.write_bytes(original_png)
        target.with_suffix(".csv").write_bytes(original_csv)
        child, seconds = start_child(EXPORT_SCRIPT, target)
        kill(child, float(rng.uniform(0, 3 * seconds)))
        first = tmp_path / "first.png"
        complete_png = complete_png or first.read_bytes()
        complete_csv = complete_csv or first.with_suffix(".csv").read_bytes()
        png, csv = target.read_bytes(), target.with_suffix(".csv").read_bytes()
        assert png in (original_png, complete_png), "a half-written PNG"
        assert csv in (original_csv, complete_csv), "a half-written CSV"
        assert not QImage.fromData(png).isNull()
        outcomes["original" if png == original_png else "new"] += 1
        for name in strays(tmp_path, target):
            assert leftover_pattern("curves.png").match(name) or leftover_pattern("curves.csv").match(name), (
                name
            )
            leftovers.append(name)
        for extra in tmp_path.glob("first.*"):
            extra.unlink()
    write_bytes_atomic(
        target, complete_png
    )  # the next export into the folder sweeps the dead writers' leftovers
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.csv", "curves.png"]
    figures(
        f"{ROUNDS} figure exports (4x PNG {len(complete_png) // 1024} KB + CSV) killed at random: PNG and CSV intact "
        f"every time ({outcomes['original']} x the original, {outcomes['new']} x complete new ones); "
        f"{len(leftovers)} temp files left, all named .curves.<ext>.<pid>_<random>.tmp and swept by the next export"
    )


def unwritable_folders(tmp_path: Path) -> list[tuple[str, Path]]:
    """Folders this process really cannot create files in. As root, chmod does not stop writes, so use a path under
    a regular file (never writable) and, where present, sysfs (root cannot create files there either)."""
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("a file")
    folders = [("a path under a regular file", a_file / "sub")]
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        folders.append(("a read-only folder (chmod 555)", locked))
    elif Path("/sys/kernel").is_dir():
        folders.append(("sysfs, read-only even for root", Path("/sys/kernel")))
    return folders


def test_an_unwritable_folder_gives_one_clear_sentence(tmp_path, figures, qapp):
    from explorer.export_files import ExportError, write_bytes_atomic

    model = Model(
        init_network([784, 8, 10], rng=np.random.default_rng(0)), TrainConfig(hidden=(8,)), "mnist",
        [str(d) for d in range(10)], {"scaling": "unit", "mean": 0.0, "std": 1.0}, [],
    )  # fmt: skip
    for what, folder in unwritable_folders(tmp_path):
        probe = folder / "probe"
        try:
            probe.write_bytes(b"x")
            probe.unlink()
            pytest.skip(f"this process can write into {what}")
        except OSError:
            pass
        with pytest.raises(ModelError) as info:
            model_io.save(folder / "model.npz", model)
        message = str(info.value)
        assert str(folder / "model.npz") in message and "\n" not in message
        with pytest.raises(ExportError) as export_info:
            write_bytes_atomic(folder / "figure.png", b"\x89PNG")
        figures(f"{what}: save -> {message}")
        figures(f"{what}: export -> {export_info.value}")
    assert not list(tmp_path.glob("**/*.tmp"))
