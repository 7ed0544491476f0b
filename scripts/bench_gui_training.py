"""Training throughput from the GUI against the headless `mnist-explorer train`, same settings.

    python scripts/bench_gui_training.py [--recipe keras-dense512] [--epochs 1] [--train-limit 0] [--repeat 2]

Runs, alternately (so a change in the machine's load hits both alike), `mnist-explorer train --json` in a
subprocess and the same configuration in the app's main window (offscreen, curves live, started by the Train
button's slot). The CLI's figure is its JSON `samples_per_second` (samples / the core's epoch
seconds, test evaluation included); the GUI's is samples / wall seconds from the click to the end of the run
(stricter: it also counts building the trainer and the worker's aggregation). Prints each run, the
ratio GUI / CLI of each round (run back to back) and their median; the goal is at least 0.9.
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


def cli_rate(args) -> float:
    command = [sys.executable, "-m", "explorer.app", "train", "--recipe", args.recipe, "--epochs", str(args.epochs),
               "--train-limit", str(args.train_limit), "--json"]  # fmt: skip
    out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    summary = json.loads(out)
    return float(summary["samples_per_second"])


def gui_rate(app, window, args) -> float:
    panel = window.control_panel
    panel.select_recipe(args.recipe)
    panel.epochs_spin.setValue(args.epochs)
    panel.limit_spin.setValue(args.train_limit)
    last = {}
    window.state.trainingProgress.connect(lambda event: last.update(event=event))
    # Wait in a real event loop, as the app does (a processEvents polling loop would itself cost CPU).
    loop = QEventLoop()
    window.state.trainingFinished.connect(lambda _run: loop.quit())
    started = time.perf_counter()
    panel.train()
    loop.exec()
    while window.controller.running:  # the worker thread winding down after its last event
        app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 10)
    wall = time.perf_counter() - started
    run = window.state.runs[-1]
    assert run.status == "completed", run.message
    samples = last["event"].samples_seen
    core_seconds = sum(h["epoch_seconds"] for h in run.history)  # the core's clock, as the CLI's figure
    # The wall clock from the click to the end also counts building the trainer (scaling the images) and the
    # worker's own aggregation, which the core's clock leaves out: the stricter figure, the one compared.
    print(
        f"    gui: {samples / core_seconds:,.0f} samples/s by the core's clock, {samples / wall:,.0f} by the wall"
    )
    return samples / wall


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
    cli, gui = [], []
    for i in range(args.repeat):
        cli.append(cli_rate(args))
        gui.append(gui_rate(app, window, args))
        print(f"round {i + 1}: cli {cli[-1]:,.0f} samples/s, gui {gui[-1]:,.0f} samples/s", flush=True)
    window.close()
    ratios = [g / c for g, c in zip(gui, cli, strict=True)]
    print("ratio gui/cli per round: " + ", ".join(f"{r:.2f}" for r in ratios))
    ratio = statistics.median(ratios)
    print(f"median cli {statistics.median(cli):,.0f} samples/s, gui {statistics.median(gui):,.0f} samples/s, "
          f"median ratio gui/cli {ratio:.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
