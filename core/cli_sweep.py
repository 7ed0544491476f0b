"""`mnist-explorer sweep`: a grid or random search of `train` settings, trained in parallel on Dask.

Everything the user typed is checked first (keys, values, every run's settings, the dataset, the output folder):
a mistake is one sentence and exit status 2 before any cluster starts. Then the runs train on a local cluster of
`--workers` processes (default: the cores) or on the cluster at `--scheduler`; a progress line shows the runs done
and the time left, one line per finished run follows, and `--json` prints `{"runs": [...]}` last on stdout.
Exit status 0 when every run completed or diverged (a result of its settings), 1 when a run failed.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from core.cli_options import UsageError, _number

REFRESH_SECONDS = 0.5


def add_parser(sub) -> None:
    p = sub.add_parser("sweep", help="train a grid (or random search) of settings in parallel on Dask")
    p.add_argument("--recipe", help="the base settings (see `mnist-explorer recipes`); default: the defaults")
    p.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2",
                   help="a setting and its values, e.g. lr=0.1,0.01 or hidden=128,512/256; repeat for more keys")  # fmt: skip
    p.add_argument("--random", type=_number(int, 1, "a whole number"), default=0, metavar="N",
                   help="draw N random points from the --range settings")  # fmt: skip
    p.add_argument("--range", action="append", default=[], metavar="KEY=LOW:HIGH[:log]",
                   help="a numeric setting's range for --random, e.g. lr=0.0001:0.1:log")  # fmt: skip
    p.add_argument("--dataset", help="mnist, fashion-mnist, or a folder or file path (sent to the workers once)")
    p.add_argument("--epochs", type=_number(int, 1, "a whole number"))
    p.add_argument("--train-limit", dest="train_limit", type=_number(int, 0, "a whole number"), metavar="N")
    p.add_argument("--seed", type=_number(int, 0, "a whole number"), help="training seed (and the draws')")
    p.add_argument("--out", metavar="DIR", help="new or empty folder for the model files and sweep.json "
                   "(default: ./sweep-DATE-TIME)")  # fmt: skip
    p.add_argument("--workers", type=_number(int, 1, "a whole number"), metavar="N",
                   help="local worker processes (default: the cores)")  # fmt: skip
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="use this Dask cluster instead")
    p.add_argument("--json", action="store_true", help="print {\"runs\": [...]} last on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def _out_folder(text: str | None) -> Path:
    folder = Path(text) if text else Path(f"sweep-{time.strftime('%Y%m%d-%H%M%S')}")
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--out {folder} is a file; give a new or empty folder.")
    if folder.is_dir() and any(folder.iterdir()):
        raise UsageError(f"--out {folder} is not empty; give a new or empty folder so nothing in it is overwritten.")
    return folder


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create --out {folder}: {exc.strerror or exc}.") from None


def prepare(args):
    """(plan, dataset key, the user's own dataset or None): every check that can fail before the cluster."""
    from core import datasets, sweep

    grid = sweep.parse_grid(args.grid)
    ranges = sweep.parse_ranges(args.range)
    base = {k: getattr(args, k) for k in ("epochs", "train_limit", "seed") if getattr(args, k) is not None}
    key = args.dataset or (dict(_recipe_settings(args.recipe)).get("dataset") or "mnist")
    user_dataset = None
    if datasets._canonical(key) is None:  # a path: read here, sent to the workers once
        user_dataset = datasets.load(key)
        if user_dataset.n_train == 0:
            raise UsageError(f"dataset {user_dataset.name} ({user_dataset.source}) has no training images.")
    elif not args.scheduler and datasets.find(datasets._canonical(key)) is None:
        datasets.load(key)  # raises DatasetError: where it looked and how to get it
    base["dataset"] = key
    plan = sweep.plan(args.recipe, base, grid, ranges, args.random, args.seed or 0)
    return plan, key, user_dataset


def _recipe_settings(recipe: str | None) -> dict:
    from core import recipes

    return recipes.get(recipe).settings if recipe else {}


class SweepProgress:
    """A live line (runs done, training, failed, time left) on a terminal; one line per finished run always."""

    def __init__(self, stream, total: int, quiet: bool = False):
        self.stream, self.total, self.quiet = stream, total, quiet
        self.live = stream.isatty()
        self.width, self.last = 0, 0.0

    def line(self, runner) -> str:
        from core.cli_train import _fmt_time

        left = runner.seconds_left()
        failed = f", {runner.failed} failed" if runner.failed else ""
        when = f", {_fmt_time(left)} left" if left is not None else ""
        training = f"{len(runner.fractions)} training" if runner.fractions or runner.done else "waiting for the workers"
        return f"sweep: {runner.done}/{self.total} runs done, {training}{failed}{when}"

    def update(self, runner) -> None:
        now = time.monotonic()
        if self.quiet or not self.live or now - self.last < REFRESH_SECONDS:
            return
        self.last = now
        text = self.line(runner)
        self.stream.write("\r" + text.ljust(self.width))
        self.stream.flush()
        self.width = len(text)

    def result(self, result: dict) -> None:
        if self.quiet:
            return
        self.clear()
        n = result["index"] + 1
        if result["status"] == "completed":
            accuracy = result.get("test_accuracy")
            what = f"test accuracy {accuracy:.2%}" if accuracy is not None else "no test split"
            what += f" in {result.get('seconds', 0.0):.1f} s on {result['worker']}"
        else:
            what = f"{result['status']}: {result.get('error', '')}"
        self.stream.write(f"run {n}/{self.total} {result['label']}: {what}\n")
        self.stream.flush()

    def clear(self) -> None:
        if self.live and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.width = 0


def cmd_sweep(args) -> int:
    from core.cli_train import _jsonable
    from core.sweep_dask import SweepRunner, public_result

    plan, key, user_dataset = prepare(args)
    out = _out_folder(args.out)
    stream = sys.stderr if args.json else sys.stdout
    progress = SweepProgress(stream, len(plan), args.quiet)
    runner = SweepRunner(plan, key, out, workers=args.workers, scheduler=args.scheduler,
                         on_progress=progress.update, on_result=progress.result, user_dataset=user_dataset)  # fmt: skip
    try:
        runner.connect()  # an unreachable scheduler is one sentence, and leaves no folder behind
        _make_folder(out)
        if not args.quiet:
            where = args.scheduler or f"a local cluster of {runner.n_workers} worker processes"
            print(f"sweep of {len(plan)} runs on {where}; results in {out}", file=stream)
        runner.run()
    except KeyboardInterrupt:
        progress.clear()
        print(f"interrupted: {runner.done} of {len(plan)} runs are in {out / 'sweep.json'}", file=sys.stderr)
        return 130
    finally:
        runner.close()
    progress.clear()
    results = sorted(runner.results, key=lambda r: r["index"])
    if args.json:
        print(json.dumps({"runs": [public_result(r) for r in results]}, default=_jsonable))
    elif not args.quiet:
        _print_table(results)
        print(f"summary: {out / 'sweep.json'}")
    return 1 if any(r["status"] == "failed" for r in results) else 0


def _print_table(results: list[dict]) -> None:
    """The runs, best first."""
    ranked = sorted(results, key=lambda r: -(r.get("test_accuracy") or -1.0))
    print("best first:")
    for r in ranked:
        accuracy = r.get("test_accuracy")
        text = f"{accuracy:.4f}" if accuracy is not None else r["status"]
        print(f"  {text:<10} {r['label']}")
