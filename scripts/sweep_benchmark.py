"""Wall time of an 8-run sweep (keras-dense512, 1 epoch on all 60,000 MNIST images; learning rate x seed), trained
one after another in this process (as eight `mnist-explorer train` runs would: automatic BLAS threads) and on the
local Dask cluster (`mnist-explorer sweep --workers 2`: two worker processes, one BLAS thread each), side by side.

The cluster's time includes starting its worker processes and loading MNIST in each. On a shared machine both
figures are upper bounds; run it quiet for clean figures.

    nice -n 5 python scripts/sweep_benchmark.py [--workers 2] [--epochs 1] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import datasets, sweep  # noqa: E402
from core.sweep_dask import SweepRunner  # noqa: E402
from core.training import Trainer  # noqa: E402

GRID = ["lr=0.0005,0.001,0.002,0.004", "seed=0,1"]


def sequential(plan) -> tuple[float, list[float]]:
    """Every run in turn in this process, with automatic BLAS threads as `train` uses (the dataset loaded once)."""
    start = time.perf_counter()
    data = datasets.load("mnist")
    accuracies = []
    for config in plan.configs:
        trainer = Trainer(replace(config, threads=0), data)
        trainer.fit()
        accuracies.append(trainer.history[-1]["test_accuracy"])
    return time.perf_counter() - start, accuracies


def on_cluster(plan, workers: int) -> tuple[float, float, list[float]]:
    """(wall seconds, of which starting the cluster, accuracies) on a new local cluster of `workers` processes."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        runner = SweepRunner(plan, "mnist", Path(out), workers=workers)
        try:
            runner.connect()
            started = time.perf_counter() - start
            runner.run()
        finally:
            runner.close()
    results = sorted(runner.results, key=lambda r: r["index"])
    return time.perf_counter() - start, started, [r["test_accuracy"] for r in results]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    plan = sweep.plan("keras-dense512", {"epochs": args.epochs}, sweep.parse_grid(GRID))
    print(f"{len(plan)} runs of keras-dense512, {args.epochs} epoch(s) each, on all 60,000 MNIST images",
          file=sys.stderr)  # fmt: skip
    seq_seconds, seq_acc = sequential(plan)
    print(f"sequential, one process:    {seq_seconds:6.1f} s", file=sys.stderr)
    dask_seconds, start_seconds, dask_acc = on_cluster(plan, args.workers)
    print(f"local cluster, {args.workers} workers:   {dask_seconds:6.1f} s (of which {start_seconds:.1f} s starting it)",
          file=sys.stderr)  # fmt: skip
    result = {"runs": len(plan), "epochs": args.epochs, "workers": args.workers,
              "sequential_seconds": seq_seconds, "cluster_seconds": dask_seconds,
              "cluster_start_seconds": start_seconds, "speedup": seq_seconds / dask_seconds,
              "sequential_accuracies": seq_acc, "cluster_accuracies": dask_acc}  # fmt: skip
    if args.json:
        print(json.dumps(result))
    else:
        print(f"speed-up {result['speedup']:.2f}x; test accuracies: sequential {min(seq_acc):.4f}..{max(seq_acc):.4f}, "
              f"cluster {min(dask_acc):.4f}..{max(dask_acc):.4f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
