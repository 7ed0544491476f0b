"""Training speed on a busy machine: the command line and the app, quiet and beside busy processes.

    python scripts/bench_under_load.py [--recipe keras-dense512] [--repeat 2] [--busy 0,1,2] [--platform offscreen]

For each load (0, 1 and 2 processes running `while True: pass` beside it) it measures, alternately:
- `mnist-explorer train --recipe R --epochs 1 --json` in a subprocess with the automatic thread policy, and with
  `--threads 2` (BLAS's default on two cores, what the command line did before the policy) for reference;
- one epoch in the app's main window from the Train button to the end of the run (in this process; offscreen
  unless `--platform xcb` with a DISPLAY, e.g. under Xvfb), with the threads the run used.
Then the time from starting the app's process to a ready window (MNIST loaded, recipe selected).
Prints one table: medians over `--repeat` rounds, and each figure's ratio to the quiet machine's.
It measures and prints; it asserts nothing. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BUSY = "while True: pass"


@contextmanager
def busy_processes(n: int):
    """n CPU-bound processes beside us for the duration (killed by their PIDs at the end)."""
    procs = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(n)]
    try:
        time.sleep(1.0 if n else 0.2)  # let them start and the scheduler settle
        yield
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()


def cli_epoch(recipe: str, threads: int) -> dict:
    command = [sys.executable, "-m", "explorer.app", "train", "--recipe", recipe, "--epochs", "1", "--json",
               "--threads", str(threads)]  # fmt: skip
    out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    summary = json.loads(out)
    return {"samples_per_second": float(summary["samples_per_second"]), "wall": float(summary["wall_seconds"])}


def app_epoch(app, window, recipe: str) -> dict:
    """One epoch from the Train button to the end of the run, in the window; the threads its batches used."""
    from PySide6.QtCore import QEventLoop

    panel = window.control_panel
    panel.select_recipe(recipe)
    panel.epochs_spin.setValue(1)
    panel.limit_spin.setValue(0)
    threads: set[int] = set()
    on_progress = lambda event: threads.add(int(getattr(event, "threads", 0)))  # noqa: E731
    window.state.trainingProgress.connect(on_progress)
    loop = QEventLoop()
    window.state.trainingFinished.connect(loop.quit)
    started = time.perf_counter()
    panel.train()
    loop.exec()
    while window.controller.running:  # the worker thread winding down after its last event
        app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 10)
    wall = time.perf_counter() - started
    window.state.trainingFinished.disconnect(loop.quit)
    window.state.trainingProgress.disconnect(on_progress)
    run = window.state.runs[-1]
    if run.status != "completed":
        raise SystemExit(f"The app's run ended {run.status}: {run.message}")
    return {"wall": wall, "samples_per_second": run.history[-1]["samples_per_second"], "threads": sorted(threads)}


STARTUP = """
import sys, time
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
from explorer.app import build_window
window = build_window()
window.show()
while window.state.dataset is None or window.state.config is None:
    app.processEvents()
    time.sleep(0.002)
app.processEvents()
print(time.time())
import os; os._exit(0)  # the measurement is done: no need to wait for background jobs
"""


def startup_seconds() -> float:
    """From starting a fresh interpreter to the app's window shown with MNIST loaded and the recipe selected."""
    start = time.time()
    out = subprocess.run([sys.executable, "-c", STARTUP], check=True, capture_output=True, text=True, cwd=ROOT)
    return float(out.stdout.strip().splitlines()[-1]) - start


def median(values):
    return statistics.median(values) if values else float("nan")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="keras-dense512")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--busy", default="0,1,2", help="the loads to measure: busy processes beside the run")
    parser.add_argument("--platform", default=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
                        help="Qt platform for the app: offscreen, or xcb for a real window (needs DISPLAY)")  # fmt: skip
    args = parser.parse_args(argv)
    os.environ["QT_QPA_PLATFORM"] = args.platform
    for key in ("CONFIG", "DATA"):  # the user's own settings and runs stay untouched
        os.environ.setdefault(f"MNIST_EXPLORER_{key}_DIR", tempfile.mkdtemp(prefix="mnist-explorer-bench-"))
    loads = [int(n) for n in args.busy.split(",")]

    from PySide6.QtWidgets import QApplication

    from explorer.app import build_window

    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = build_window()
    window.resize(1280, 800)
    window.show()
    results = {}
    for n in loads:
        rows = {"cli": [], "cli2": [], "app": []}
        with busy_processes(n):
            for i in range(args.repeat):
                rows["cli"].append(cli_epoch(args.recipe, 0))
                rows["cli2"].append(cli_epoch(args.recipe, 2))
                rows["app"].append(app_epoch(app, window, args.recipe))
                print(f"  {n} busy, round {i + 1}: cli {rows['cli'][-1]['samples_per_second']:,.0f} samples/s, "
                      f"cli --threads 2 {rows['cli2'][-1]['samples_per_second']:,.0f}, app epoch "
                      f"{rows['app'][-1]['wall']:.2f} s (threads {rows['app'][-1]['threads']})", flush=True)  # fmt: skip
        results[n] = rows
    window.close()
    startups = [startup_seconds() for _ in range(3)]
    print_table(args, results, startups)
    return 0


def print_table(args, results, startups) -> None:
    quiet = results.get(0)
    base_cli = median([r["samples_per_second"] for r in quiet["cli"]]) if quiet else None
    base_app = median([r["wall"] for r in quiet["app"]]) if quiet else None
    print()
    print(f"{args.recipe}, one epoch of 60,000 images, {os.cpu_count()} cores, app on Qt '{args.platform}', "
          f"medians of {args.repeat}:")  # fmt: skip
    print("| load | command line, automatic threads: samples/s (/ quiet) | command line, --threads 2 | "
          "app, one epoch from the Train button: s (quiet / this) | app threads |")  # fmt: skip
    print("|---|---|---|---|---|")
    for n, rows in results.items():
        cli = median([r["samples_per_second"] for r in rows["cli"]])
        cli2 = median([r["samples_per_second"] for r in rows["cli2"]])
        app_wall = median([r["wall"] for r in rows["app"]])
        threads = sorted({t for r in rows["app"] for t in r["threads"]})
        cli_ratio = f" ({cli / base_cli:.2f})" if base_cli else ""
        app_ratio = f" ({base_app / app_wall:.2f})" if base_app else ""
        label = "quiet" if n == 0 else f"{n} busy process{'es' if n > 1 else ''}"
        print(f"| {label} | {cli:,.0f}{cli_ratio} | {cli2:,.0f} | {app_wall:.2f}{app_ratio} | "
              f"{', '.join(map(str, threads))} |")  # fmt: skip
    print(f"\nApp start to a ready window (MNIST loaded, recipe selected): median {median(startups):.2f} s "
          f"({', '.join(f'{s:.2f}' for s in startups)})")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
