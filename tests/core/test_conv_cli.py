"""The command line with convolutional networks: train with conv layers, save, evaluate the file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "core.cli", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)  # fmt: skip


def test_train_a_cnn_save_it_and_evaluate_the_file(tmp_path):
    path = tmp_path / "cnn.npz"
    proc = run("train", "--hidden", "c4k3,p2,c8k3s,p2,d0.25,16", "--train-limit", 500, "--epochs", 1,
               "--optimizer", "adam", "--lr", 0.005, "--batch-size", 32, "--json", "--save", path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    trained = json.loads(proc.stdout)
    assert trained["config"]["hidden"] == ["c4k3", "p2", "c8k3s", "p2", "d0.25", 16]
    proc = run("evaluate", path, "--json")
    assert proc.returncode == 0, proc.stderr
    evaluated = json.loads(proc.stdout)
    assert evaluated["test_accuracy"] == trained["history"][-1]["test_accuracy"] > 0.3


def test_a_malformed_layer_is_one_line_naming_it(tmp_path):
    proc = run("train", "--hidden", "c32k3,p3")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "'p3'" in proc.stderr and "2 x 2 only" in proc.stderr
