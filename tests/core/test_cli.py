"""The headless command line, run as a user runs it (`python -m core.cli ...` in a subprocess)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from core import cli, cli_train, recipes

ROOT = Path(__file__).resolve().parents[2]


def run(*args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line_error(proc, *words):
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for word in words:
        assert word.lower() in lines[0].lower(), lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One short real training run, saved: (its JSON summary, the model path)."""
    path = tmp_path_factory.mktemp("cli") / "model.npz"
    proc = run("train", "--train-limit", 2000, "--epochs", 1, "--json", "--save", path)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), path


def test_train_json_summary_holds_the_design_fields(trained):
    summary, path = trained
    for key in (
        "dataset",
        "recipe",
        "config",
        "epochs",
        "test_accuracy",
        "test_loss",
        "train_seconds",
        "samples_per_second",
        "history",
    ):
        assert key in summary, key
    assert summary["dataset"] == "mnist"
    assert summary["epochs"] == 1 and len(summary["history"]) == 1
    assert summary["config"]["train_limit"] == 2000
    assert 0.5 < summary["test_accuracy"] <= 1.0  # 2,000 images are enough for a real network to learn
    assert summary["samples_per_second"] > 0 and summary["train_seconds"] > 0
    assert summary["history"][0]["test_accuracy"] == summary["test_accuracy"]
    assert path.exists()


def test_evaluate_reproduces_the_accuracy_training_reported(trained):
    summary, path = trained
    proc = run("evaluate", path, "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["test_accuracy"] == summary["test_accuracy"]
    assert result["test_loss"] == pytest.approx(summary["test_loss"], rel=1e-4)
    cm = result["confusion_matrix"]
    assert len(cm) == 10 and sum(map(sum, cm)) == 10_000
    assert sum(cm[i][i] for i in range(10)) / 10_000 == result["test_accuracy"]
    assert len(result["per_class_accuracy"]) == 10
    text = run("evaluate", path)
    assert text.returncode == 0 and "confusion matrix" in text.stdout and "per-class" in text.stdout


def test_recipes_json_lists_every_recipe_with_its_source_figure():
    proc = run("recipes", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["name"] for r in rows] == recipes.names()
    by_name = {r["name"]: r for r in rows}
    assert by_name["rashid"]["reported"] == 0.9742
    assert by_name["keras-dense512"]["config"]["optimizer"] == "rmsprop"


def test_datasets_json_lists_mnist_as_available():
    proc = run("datasets", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    mnist = next(r for r in rows if r["name"] == "mnist")
    assert mnist["available"]


def test_piped_progress_is_one_plain_line_per_epoch():
    proc = run("train", "--train-limit", 600, "--epochs", 2, "--hidden", 32)
    assert proc.returncode == 0, proc.stderr
    assert "\r" not in proc.stdout
    epoch_lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("epoch ")]
    assert [ln.split(":")[0] for ln in epoch_lines] == ["epoch 1/2", "epoch 2/2"]
    assert "test accuracy" in proc.stdout


@pytest.fixture
def corrupt_model(tmp_path):
    path = tmp_path / "corrupt.npz"
    path.write_bytes(b"PK\x03\x04 definitely not a zip archive" * 20)
    return path


@pytest.mark.parametrize(
    "args, words",
    [
        (["train", "--recipe", "no-such-recipe"], ["unknown recipe", "rashid"]),
        (["train", "--lr", "abc"], ["--lr", "abc"]),
        (["train", "--hidden", "12,abc"], ["--hidden", "12,abc"]),
        (["train", "--epochs", "0"], ["--epochs"]),
        (["train", "--activation", "banana"], ["banana"]),
        (["train", "--dataset", "/no/such/folder/anywhere"], ["/no/such/folder/anywhere"]),
        (["train", "--no-such-option"], ["--no-such-option"]),
        (["frobnicate"], ["frobnicate"]),
        (["evaluate", "/no/such/model.npz"], ["/no/such/model.npz", "does not exist"]),
        (["evaluate"], ["MODEL.npz"]),
        (
            ["train", "--train-limit", "100", "--epochs", "1", "--save", "/no/such/dir/m.npz"],
            ["/no/such/dir"],
        ),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(args, words):
    assert_one_line_error(run(*args), *words)


def test_corrupt_model_file_is_one_line_on_stderr_and_exit_2(corrupt_model):
    assert_one_line_error(run("evaluate", corrupt_model), str(corrupt_model))


def test_diverging_run_exits_2_with_the_divergence_message():
    # three ReLU layers and plain SGD at lr 1000: the gradients overflow float32 within a few batches
    proc = run(
        "train", "--train-limit", 1000, "--epochs", 1, "--optimizer", "sgd", "--lr", 1000,
        "--hidden", "256,256,256", "--batch-size", 32,
    )  # fmt: skip
    line = assert_one_line_error(proc, "diverge")
    assert "learning rate" in line.lower()


def test_in_process_main_returns_2_and_prints_one_line(capsys):
    assert cli.main(["train", "--batch-size", "-3"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--batch-size" in err


def test_bench_json_reports_positive_rates():
    proc = run("bench", "--seconds", 0.3, "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert [r["train"]["recipe"] for r in result["results"]] == ["keras-dense512", "rashid"]
    for r in result["results"]:
        assert r["train"]["samples_per_second"] > 0
        assert all(i["samples_per_second"] > 0 for i in r["inference"])
        assert r["train"]["threads"] >= 1
    keras, rashid = (r["train"] for r in result["results"])
    # the floor: the epoch's matrix products alone, 469 batches of 128 for 60,000 images, with the run's threads
    assert keras["floor"]["batches"] == 469 and keras["floor"]["threads"] == keras["threads"]
    assert keras["floor"]["seconds"] > 0
    assert keras["epoch_over_floor"] == pytest.approx(keras["epoch_seconds"] / keras["floor"]["seconds"])
    assert keras["epoch_seconds"] == pytest.approx(60_000 / keras["samples_per_second"])
    assert "floor" not in rashid  # batch 1 trains by rank-1 updates: no matrix-product floor
    assert isinstance(result["blas"], list)


def fake_batch(i, batches=1000):
    return SimpleNamespace(
        epoch=1,
        batch=i,
        batches=batches,
        loss=0.5,
        accuracy=0.9,
        samples_seen=i * 32,
        elapsed=i * 0.001,
        total_batches=batches,
    )


def test_live_progress_line_is_throttled_to_ten_updates_a_second(monkeypatch):
    clock = iter(i * 0.01 for i in range(10_000))  # a batch every 10 ms, 1000 batches: 10 s
    monkeypatch.setattr(cli_train.time, "monotonic", lambda: next(clock))
    out = io.StringIO()
    progress = cli_train.Progress(out, live=True)
    for i in range(1, 1001):
        progress.batch(fake_batch(i))
    updates = out.getvalue().count("\r")
    assert 80 <= updates <= 102  # about ten a second (float clock steps), plus the epoch's last batch
    assert "\n" not in out.getvalue()
    assert "left" in out.getvalue() and "samples/s" in out.getvalue()


def test_changing_a_rashid_recipes_output_uses_the_true_gradient():
    """Rashid's rule exists only for sigmoid + mse: overriding the output/loss of `rashid` switches to the gradient,
    and asking for the rule explicitly with another pair is one clear error."""
    proc = run("train", "--recipe", "rashid", "--output", "softmax", "--loss", "cross-entropy",
               "--train-limit", 300, "--epochs", 1, "--json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["config"]["backprop"] == "gradient" and summary["config"]["output"] == "softmax"
    bad = run(
        "train", "--recipe", "keras-dense512", "--backprop", "rashid", "--train-limit", 100, "--epochs", 1
    )
    assert_one_line_error(bad, "rashid", "mse")


@pytest.mark.skipif(not hasattr(__import__("os"), "fchmod"), reason="file modes are POSIX")
@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600)])
def test_a_saved_model_gets_the_umasks_ordinary_mode(tmp_path, umask, mode):
    path = tmp_path / "m.npz"
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli", "train", "--train-limit", "300", "--epochs", "1", "--hidden", "8",
         "--quiet", "--save", str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, umask=umask,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert oct(path.stat().st_mode & 0o777) == oct(mode)
