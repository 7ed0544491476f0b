"""Training throughput from the GUI against the headless `mnist-explorer train`, same settings.

    python scripts/bench_gui_training.py [--recipe keras-dense512] [--epochs 1] [--train-limit 0] [--repeat 2]

Runs, alternately (so a change in the machine's load hits both alike), `mnist-explorer train --json` in a
subprocess and the same configuration in the app's main window (offscreen, curves live, started by the Train
button's slot). Each side is measured on two clocks, the same span on both sides:
- the core's clock: samples / the sum of the epochs' seconds (test evaluation included), the CLI's
  `samples_per_second`;
- the wall: samples / seconds from building the trainer (scaling the images) to the end of the run, the CLI's
  `wall_seconds`; for the GUI, from the click to the end of the run, so it also counts starting the worker
  thread and handing the last epoch to the window.
Prints each run, the ratios GUI / CLI of each round (run back to back) and their medians; the goal is 0.9.
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
from pathlib import Path

from PySide6.QtCore import QEventLoop

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MNIST_EXPLORER_CONFIG_DIR", tempfile.mkdtemp(prefix="mnist-explorer-bench-"))
# runs are kept in the data folder: start from none, and leave the user's own runs alone
os.environ.setdefault("MNIST_EXPLORER_DATA_DIR", tempfile.mkdtemp(prefix="mnist-explorer-bench-data-"))


def cli_rates(args) -> tuple[float, float]:
    """(samples/s by the core's clock, samples/s by the wall) of one `mnist-explorer train` run."""
    command = [sys.executable, "-m", "explorer.app", "train", "--recipe", args.recipe, "--epochs", str(args.epochs),
               "--train-limit", str(args.train_limit), "--json"]  # fmt: skip
    out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    summary = json.loads(out)
    return float(summary["samples_per_second"]), summary["samples"] / summary["wall_seconds"]


def gui_rates(app, window, args) -> tuple[float, float]:
    """(samples/s by the core's clock, samples/s by the wall) of one run started from the window."""
    panel = window.control_panel
    panel.select_recipe(args.recipe)
    panel.epochs_spin.setValue(args.epochs)
    panel.limit_spin.setValue(args.train_limit)
    last = {}
    window.state.trainingProgress.connect(lambda event: last.update(event=event))
    # Wait in a real event loop, as the app does (a processEvents polling loop would itself cost CPU).
    loop = QEventLoop()
    window.state.trainingFinished.connect(lambda _run: loop.quit())
    started, gui_cpu = time.perf_counter(), time.thread_time()
    panel.train()
    loop.exec()
    while window.controller.running:  # the worker thread winding down after its last event
        app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 10)
    wall = time.perf_counter() - started
    gui_cpu = time.thread_time() - gui_cpu
    run = window.state.runs[-1]
    assert run.status == "completed", run.message
    samples = last["event"].samples_seen
    core_seconds = sum(h["epoch_seconds"] for h in run.history)
    print(f"    gui: the GUI thread computed {gui_cpu:.2f} s of the {wall:.2f} s")
    return samples / core_seconds, samples / wall


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="keras-dense512")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--train-limit", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)

    from PySide6.QtWidgets import QApplication

    from explorer.app import build_window

    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = build_window()
    window.resize(1440, 900)
    window.show()
    rounds = []
    for i in range(args.repeat):
        cli, gui = cli_rates(args), gui_rates(app, window, args)
        rounds.append((cli, gui))
        print(f"round {i + 1}: core's clock cli {cli[0]:,.0f}, gui {gui[0]:,.0f} samples/s (ratio {gui[0] / cli[0]:.2f}); "
              f"wall cli {cli[1]:,.0f}, gui {gui[1]:,.0f} samples/s (ratio {gui[1] / cli[1]:.2f})", flush=True)  # fmt: skip
    window.close()
    for k, clock in enumerate(("the core's clock", "the wall")):
        ratios = [gui[k] / cli[k] for cli, gui in rounds]
        print(f"by {clock}: ratio gui/cli per round " + ", ".join(f"{r:.2f}" for r in ratios)
              + f"; median {statistics.median(ratios):.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
