"""Sweeps: the grid and random plans, their one-sentence refusals, and real sweeps on local Dask clusters of two
worker processes on 127.0.0.1 (one of them killed mid-run). Runs are tiny: 1,000-2,000 images, small networks."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core import cli, model_io, sweep
from core.sweep import SweepError

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--recipe", "keras-dense512", "--train-limit", "1000", "--epochs", "1"]


# --- plans ------------------------------------------------------------------------------------------------------
def test_grid_parses_every_value_with_the_train_options_parsers():
    grid = sweep.parse_grid(["lr=0.1,0.01", "hidden=128,512/256", "batch_size=32,64", "optimizer=sgd,adam",
                             "bias=true,no"])  # fmt: skip
    assert grid == {"lr": [0.1, 0.01], "hidden": [(128,), (512, 256)], "batch_size": [32, 64],
                    "optimizer": ["sgd", "adam"], "use_bias": [True, False]}  # fmt: skip


def test_a_grid_is_every_combination_from_the_recipe_with_one_blas_thread():
    plan = sweep.plan("keras-dense512", {"epochs": 1}, sweep.parse_grid(["lr=0.1,0.01", "hidden=32,64/32"]))
    assert len(plan) == 4
    assert [(c.lr, c.hidden) for c in plan.configs] == [(0.1, (32,)), (0.1, (64, 32)), (0.01, (32,)),
                                                        (0.01, (64, 32))]  # fmt: skip
    assert all(c.threads == 1 and c.epochs == 1 and c.optimizer == "rmsprop" for c in plan.configs)
    assert plan.label(1) == "lr=0.1 hidden=64,32"


def test_rotate_in_a_grid_turns_random_rotations_on_as_train_does():
    plan = sweep.plan(None, {}, sweep.parse_grid(["rotate=0,10"]))
    assert [(c.rotate, c.augment) for c in plan.configs] == [(0.0, "off"), (10.0, "random")]


def test_random_draws_are_reproducible_and_inside_their_ranges():
    ranges = sweep.parse_ranges(["lr=0.0001:0.1:log", "hidden=16:64", "dropout=0:0.5"])
    a = sweep.plan(None, {}, ranges=ranges, n_random=20, seed=3)
    b = sweep.plan(None, {}, ranges=ranges, n_random=20, seed=3)
    assert [c.to_dict() for c in a.configs] == [c.to_dict() for c in b.configs]
    lrs = np.array([c.lr for c in a.configs])
    assert lrs.min() >= 0.0001 and lrs.max() <= 0.1
    assert np.mean(lrs < 0.01) > 0.4  # log-uniform: two of the three decades lie below 0.01
    assert all(len(c.hidden) == 1 and 16 <= c.hidden[0] <= 64 for c in a.configs)
    assert all(0 <= c.dropout <= 0.5 for c in a.configs)


@pytest.mark.parametrize(
    "args, words",
    [
        (["--grid", "colour=red,blue"], ["no setting 'colour'", "lr"]),
        (["--grid", "lr=abc"], ["lr=abc", "not a number"]),
        (["--grid", "lr=0.1,0"], ["lr=0", "greater than 0"]),
        (["--grid", "optimizer=sgd,fast"], ["optimizer", "fast"]),
        (["--grid", "hidden=64,x"], ["hidden=x", "separated by /"]),
        (["--grid", "lr"], ["no '='"]),
        (["--grid", "lr=0.1", "--grid", "lr=0.2"], ["given twice"]),
        (["--grid", "threads=1,2"], ["one BLAS thread"]),
        (["--range", "lr=0.1:1"], ["needs --random"]),
        (["--random", "3", "--range", "optimizer=1:2"], ["only numeric"]),
        (["--random", "3", "--range", "lr=0:1:log"], ["0 < LOW"]),
        (["--random", "3", "--range", "lr=1:0.1"], ["LOW <= HIGH"]),
        (["--random", "3"], ["needs at least one --range"]),
        ([], ["nothing to sweep"]),
        (["--grid", "lr=0.1", "--recipe", "fast"], ["unknown recipe"]),
        (["--grid", "lr=" + ",".join(str(i + 1) for i in range(40)), "--grid",
          "seed=" + ",".join(map(str, range(40)))], ["more than 1,000"]),  # fmt: skip
    ],
)
def test_a_bad_request_is_one_sentence_and_exit_2_before_any_cluster(args, words, tmp_path):
    """Run as a user runs it; the interpreter never imported distributed, so no cluster can have started."""
    out = tmp_path / "out"
    code = (
        "import sys; from core.cli import main; rc = main(sys.argv[1:]); "
        "print('distributed' in sys.modules); sys.exit(rc)"
    )
    proc = subprocess.run([sys.executable, "-c", code, "sweep", *args, "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for word in words:
        assert word.lower() in lines[0].lower(), lines[0]
    assert proc.stdout.strip() == "False"
    assert not out.exists()


def test_a_folder_that_is_not_empty_is_refused(tmp_path, capsys):
    (tmp_path / "mine.txt").write_text("keep me")
    assert cli.main(["sweep", "--grid", "lr=0.1", "--out", str(tmp_path)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def test_an_unreachable_scheduler_is_one_sentence_within_seconds(tmp_path, capsys):
    out = tmp_path / "out"
    rc = cli.main(["sweep", *TINY, "--grid", "lr=0.1", "--scheduler", "tcp://127.0.0.1:9", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err[0]
    assert not out.exists()  # nothing left behind


def test_summary_files_that_are_not_sweeps_are_refused(tmp_path):
    (tmp_path / "sweep.json").write_text('{"runs": []}')
    with pytest.raises(SweepError, match="not a sweep summary"):
        sweep.read_summary(tmp_path)
    with pytest.raises(SweepError, match="cannot read"):
        sweep.read_summary(tmp_path / "missing")


# --- on a cluster -----------------------------------------------------------------------------------------------
def test_a_grid_on_a_local_cluster_of_two_workers(tmp_path, capsys):
    out = tmp_path / "sweep"
    rc = cli.main(["sweep", *TINY, "--grid", "lr=0.01,0.001", "--grid", "hidden=16,32", "--workers", "2",
                   "--out", str(out), "--json"])  # fmt: skip
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    runs = json.loads(captured.out)["runs"]
    assert [(r["config"]["lr"], r["config"]["hidden"]) for r in runs] == [
        (0.01, [16]), (0.01, [32]), (0.001, [16]), (0.001, [32])]  # fmt: skip
    assert len({r["worker"] for r in runs}) == 2  # both worker processes trained
    assert all(r["worker"].startswith("tcp://127.0.0.1:") for r in runs)
    for r in runs:
        assert r["status"] == "completed" and 0.3 < r["test_accuracy"] <= 1.0
        assert len(r["history"]) == 1 and r["history"][0]["test_accuracy"] == r["test_accuracy"]
        model = model_io.load(r["model"])  # a real model file, its settings those of the run
        assert model.config.lr == r["config"]["lr"] and list(model.config.hidden) == r["config"]["hidden"]
        assert model.config.threads == 1
    folder, summary = sweep.read_summary(out)
    assert summary["planned"] == 4 and len(summary["runs"]) == 4
    assert all((folder / r["model"]).is_file() for r in summary["runs"])  # relative to the folder
    assert "4/4" in captured.err  # the per-run lines went to stderr with --json


@pytest.fixture
def own_cluster():
    """A cluster started the way a lab starts one (scheduler and two workers on 127.0.0.1), always closed."""
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None)  # fmt: skip
    try:
        yield cluster
    finally:
        cluster.close()


def test_a_users_own_dataset_is_sent_to_an_existing_cluster(tmp_path, own_cluster, capsys):
    from core import datasets

    mnist = datasets.load("mnist")
    data = tmp_path / "digits.npz"
    np.savez(data, x_train=mnist.train_images[:800], y_train=mnist.train_labels[:800],
             x_test=mnist.test_images[:300], y_test=mnist.test_labels[:300])  # fmt: skip
    out = tmp_path / "sweep"
    rc = cli.main(["sweep", "--dataset", str(data), "--epochs", "1", "--grid", "hidden=16,24",
                   "--scheduler", own_cluster.scheduler_address, "--out", str(out), "--json"])  # fmt: skip
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    runs = json.loads(captured.out)["runs"]
    assert len(runs) == 2
    assert {r["worker"] for r in runs} <= set(own_cluster.scheduler_info["workers"])
    for r in runs:
        model = model_io.load(r["model"])
        assert model.dataset == "digits.npz"
        assert len(model.history) == 1 and 0 < r["test_accuracy"] <= 1
        # its test accuracy is over the file's 300 test images: a whole number of them right
        assert math.isclose(r["test_accuracy"] * 300, round(r["test_accuracy"] * 300), abs_tol=1e-6)


def test_a_worker_killed_mid_run_has_its_run_retried_on_another_and_the_others_finish(tmp_path):
    from core.sweep_dask import SweepRunner

    grid = sweep.parse_grid(["epochs=6,1", "lr=0.01,0.001"])  # runs 0 and 1 train six epochs
    plan = sweep.plan("keras-dense512", {"train_limit": 2000, "hidden": (64,)}, grid)
    killed: dict = {}

    def on_event(message):
        # kill run 0's worker process as soon as it says it has started training (the first attempt only)
        if message["index"] == 0 and message["attempt"] == 0 and not killed:
            killed.update(worker=message["worker"], pid=message["pid"])
            os.kill(message["pid"], signal.SIGKILL)

    runner = SweepRunner(plan, "mnist", tmp_path, workers=2, on_event=on_event)
    results = {r["index"]: r for r in runner.run()}
    assert killed, "run 0 never reported its start"
    assert sorted(results) == [0, 1, 2, 3]
    retried = results[0]
    assert retried["status"] == "completed" and retried["attempt"] == 1
    assert retried["worker"] != killed["worker"] and retried["pid"] != killed["pid"]
    assert len(retried["history"]) == 6
    assert all(r["status"] == "completed" for r in results.values())
    _folder, summary = sweep.read_summary(tmp_path)
    assert len(summary["runs"]) == 4 and all((tmp_path / r["model"]).is_file() for r in summary["runs"])
    assert runner.client is None and runner.cluster is None  # closed


def test_cancel_stops_every_task_and_closes_the_cluster(tmp_path):
    from core.sweep_dask import SweepRunner

    plan = sweep.plan("keras-dense512", {"train_limit": 2000, "epochs": 50, "hidden": (64,)},
                      sweep.parse_grid(["lr=0.01,0.001,0.0001"]))  # fmt: skip
    seen = []

    def on_event(message):
        seen.append(message)
        if len(seen) == 2:
            runner.cancel()

    runner = SweepRunner(plan, "mnist", tmp_path, workers=2, on_event=on_event)
    results = runner.run()
    assert runner.cancelled and seen
    assert results == []  # 50 epochs each: none finished before the cancel
    assert runner.client is None and runner.cluster is None
    assert not (tmp_path / "sweep.json").exists()


def test_time_left_is_the_typical_run_times_the_work_left_over_the_runs_side_by_side():
    from core.sweep_dask import SweepRunner

    plan = sweep.plan(None, {}, sweep.parse_grid(["lr=0.1,0.2,0.3,0.4,0.5,0.6"]))
    runner = SweepRunner(plan, "mnist", None, workers=2)  # not started: no cluster
    assert runner.seconds_left() is None  # nothing to go by yet
    runner.results = [{"index": 0, "status": "completed"}, {"index": 1, "status": "completed"}]
    runner._durations = [8.0, 12.0]
    runner.fractions = {2: 0.5, 3: 0.25}
    # two runs queued (10 s each), 5 s and 7.5 s left of the two training, two at a time
    assert runner.seconds_left() == pytest.approx((5.0 + 7.5 + 2 * 10.0) / 2)


def test_a_scheduler_lost_mid_sweep_is_one_sentence_and_keeps_what_finished(tmp_path, own_cluster):
    import threading

    from core.sweep_dask import SweepRunner

    plan = sweep.plan("keras-dense512", {"train_limit": 2000, "epochs": 50, "hidden": (32,)},
                      sweep.parse_grid(["seed=0,1"]))  # fmt: skip
    closing = []

    def on_event(message):  # the scheduler goes away while the runs train
        if not closing:
            closing.append(threading.Thread(target=own_cluster.close))
            closing[0].start()

    runner = SweepRunner(plan, "mnist", tmp_path, scheduler=own_cluster.scheduler_address, on_event=on_event)
    with pytest.raises(SweepError, match="lost the connection to the Dask scheduler at tcp://127.0.0.1"):
        runner.run()
    closing[0].join(30)
    assert runner.client is None
