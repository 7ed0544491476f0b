"""A run survives the app being killed mid-run (SIGKILL: no closeEvent, no atexit, no finally).

A child process opens the real app (offscreen), trains a long run, and is killed with SIGKILL once the runs folder
shows a few finished epochs, at a random moment (seeded) after that, so the kill may land in the middle of a write.
A second child starts the app again, sees the first run back, trains a second one and is killed the same way. Then
the app, started once more here, shows both runs "interrupted" with every epoch its run.json had committed, each
epoch's weights readable, the curves up to there, no temp file left behind, and run numbers 1 and 2.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

from core import model_io, run_files
from tests.explorer.gui_helpers import find, open_window

ROOT = Path(__file__).resolve().parents[2]
EPOCHS_BEFORE_KILL = 2
WAIT_SECONDS = 240  # generous: the machine may be shared; nothing here measures speed

APP_SCRIPT = textwrap.dedent(
    """
    from PySide6.QtWidgets import QApplication, QWidget
    app = QApplication([])
    from explorer.app import build_window
    window = build_window()
    window.show()
    print("restored", ",".join(f"{r.name}={r.status}" for r in window.state.runs), flush=True)
    # the default 784-512-10 network: each epoch's weights are a 1.6 MB file, so a kill may well land mid-write
    for name, value in (("trainLimitSpin", 1000), ("epochsSpin", 500), ("batchSizeSpin", 32)):
        window.findChild(QWidget, name).setValue(value)
    window.control_panel.train()
    run = window.state.runs[-1]
    print("training", run.run_id, run.name, flush=True)
    app.exec()
    """
)


def committed_epochs(record: Path) -> int:
    try:
        return len(json.loads(record.read_text())["history"])
    except (OSError, ValueError, KeyError):
        return 0  # not written yet (atomic writes: never half a file)


def train_and_kill(rng: np.random.Generator) -> tuple[str, int]:
    """Start the app in a child, let it finish a few epochs, SIGKILL it; returns (what it restored, run id)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    child = subprocess.Popen([sys.executable, "-c", APP_SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env, cwd=ROOT, text=True)  # fmt: skip
    try:
        restored = child.stdout.readline().strip()
        started = child.stdout.readline().split()
        assert restored.startswith("restored") and started[:1] == ["training"], child.stderr.read()
        run_id = int(started[1])
        record = run_files.runs_root() / str(run_id) / run_files.RECORD
        deadline = time.monotonic() + WAIT_SECONDS
        while committed_epochs(record) < EPOCHS_BEFORE_KILL:
            assert child.poll() is None, f"the app ended by itself: {child.stderr.read()}"
            assert time.monotonic() < deadline, "the run did not finish two epochs"
            time.sleep(0.05)
        time.sleep(float(rng.uniform(0.0, 0.6)))  # anywhere in the next epoch, perhaps mid-write
    finally:
        child.kill()  # SIGKILL
        child.wait(30)
        child.stdout.close()
        child.stderr.close()
    return restored, run_id


def test_runs_killed_mid_training_come_back_interrupted_with_their_finished_epochs(qtbot, figures):
    rng = np.random.default_rng(13)
    restored_first, first_id = train_and_kill(rng)
    committed_first = committed_epochs(run_files.runs_root() / str(first_id) / run_files.RECORD)
    restored_second, second_id = train_and_kill(rng)
    assert restored_first == "restored"  # a fresh folder: nothing to restore
    assert restored_second.startswith("restored run 1 · ") and restored_second.endswith("=interrupted")
    assert second_id == first_id + 1

    window = open_window(qtbot)
    runs = window.state.runs
    assert [r.run_id for r in runs] == [first_id, second_id]
    assert [r.name.split(" · ")[0] for r in runs] == ["run 1", "run 2"]  # numbering carried on after the kill
    assert window.state.next_run_number == 3
    for run in runs:
        epochs = committed_epochs(run_files.runs_root() / str(run.run_id) / run_files.RECORD)
        assert run.status == "interrupted" and len(run.history) == epochs >= EPOCHS_BEFORE_KILL
        assert "kept the epochs it had finished" in run.message
        assert len(run.snapshots) == epochs
        for epoch, model in enumerate(run.snapshots, start=1):
            assert model is not None and model.history[-1]["epoch"] == epoch  # each epoch's own weights
        assert run.batch_x.array[-1] >= epochs - 1e-6  # the curves reach the last finished epoch
    assert len(runs[0].history) == committed_first  # the second session did not change the first run
    row = find(window, "runsList").topLevelItem(0)
    assert row.text(3).startswith("interrupted · ")
    leftovers = [
        p.name for p in run_files.runs_root().rglob("*") if p.name.startswith(".") or p.name.endswith(".tmp")
    ]
    assert leftovers == []
    for folder in run_files.runs_root().iterdir():
        if folder.is_dir():  # nothing beyond what run.json committed is left either
            epochs = committed_epochs(folder / run_files.RECORD)
            assert len(list(folder.glob("epoch_*.npz"))) == epochs
            model_io.load(folder / run_files.snapshot_name(epochs))
    figures(
        f"2 app processes killed mid-run; restored {len(runs[0].history)} and {len(runs[1].history)} epochs"
    )
