"""`mnist-explorer train`: build the config from a recipe and overrides, train with a progress line, summarise.

On a terminal the progress line updates in place (at most ten times a second); piped, it prints one plain line
per epoch. With `--json` the progress goes to stderr and stdout holds only the JSON summary, printed last.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from core.cli_options import TRAIN_OPTIONS, UsageError

REFRESH_SECONDS = 0.1  # the live line's fastest update rate


def _fmt_time(seconds: float) -> str:
    seconds = int(round(max(seconds, 0.0)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """Writes training progress: a live line on a terminal, one line per epoch otherwise."""

    def __init__(self, stream, live: bool | None = None, quiet: bool = False):
        self.stream = stream
        self.live = stream.isatty() if live is None else live
        self.quiet = quiet
        self.last = 0.0
        self.width = 0

    def batch(self, ev) -> None:
        if self.quiet or not self.live:
            return
        now = time.monotonic()
        if now - self.last < REFRESH_SECONDS and ev.batch != ev.batches:
            return
        self.last = now
        done = (ev.epoch - 1) * ev.batches + ev.batch
        left = ev.elapsed / done * (ev.total_batches - done) if done else 0.0
        rate = ev.samples_seen / ev.elapsed if ev.elapsed > 0 else 0.0
        # the epoch's running figures: one batch's (of a single sample, for Rashid) would only flicker
        loss, accuracy = getattr(ev, "running_loss", ev.loss), getattr(ev, "running_accuracy", ev.accuracy)
        line = (
            f"epoch {ev.epoch}  batch {ev.batch}/{ev.batches}  loss {loss:.4f}  "
            f"accuracy {accuracy:.2%}  {rate:,.0f} samples/s  {_fmt_time(left)} left"
        )
        self.stream.write("\r" + line.ljust(self.width))
        self.stream.flush()
        self.width = len(line)

    def epoch(self, ev) -> None:
        if self.quiet:
            return
        test = (
            f"test loss {ev.test_loss:.4f} accuracy {ev.test_accuracy:.2%}"
            if ev.test_accuracy is not None
            else "no test split"
        )
        line = (
            f"epoch {ev.epoch}/{ev.epochs}: train loss {ev.train_loss:.4f} accuracy {ev.train_accuracy:.2%}, "
            f"{test}, {ev.epoch_seconds:.1f} s, {ev.samples_per_second:,.0f} samples/s"
        )
        if self.live:
            self.stream.write("\r" + " " * self.width + "\r")
            self.width = 0
        self.stream.write(line + "\n")
        self.stream.flush()

    def clear(self) -> None:
        if self.live and self.width and not self.quiet:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
            self.width = 0


def overrides_from(args) -> dict:
    """The TrainConfig fields the user set on the command line."""
    out = {}
    for _flag, name, _kw in TRAIN_OPTIONS:
        value = getattr(args, name, None)
        if value is not None:
            out[name] = value
    if args.dataset is not None:
        out["dataset"] = args.dataset
    return out


def _check_save_path(path: str | None) -> None:
    if not path:
        return
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"--save {path} is a folder; give a file name such as {target / 'model.npz'}")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"--save {path}: folder {folder} does not exist; create it first")


def cmd_train(args) -> int:
    from core import datasets, model_io, recipes

    cfg = recipes.config(args.recipe, **_train_overrides(args))
    _check_save_path(args.save)
    data = datasets.load(cfg.dataset)
    if data.n_train == 0:
        raise UsageError(f"dataset {data.name} ({data.source}) has no training images")
    for warning in getattr(data, "warnings", []) or []:
        if not args.quiet:
            print(f"note: {warning}", file=sys.stderr)
    trainer, last_epoch, samples, wall_seconds = _fit(args, cfg, data)
    history = [dict(h) for h in trainer.history]
    train_seconds = sum(float(h.get("epoch_seconds", 0.0)) for h in history) or wall_seconds
    saved = None
    if args.save:
        model_io.save(args.save, model_io.Model.from_trainer(trainer, data))
        saved = str(Path(args.save).resolve())
    summary = {
        "dataset": data.name,
        "dataset_source": str(data.source),
        "recipe": args.recipe,
        "config": cfg.to_dict(),
        "epochs": len(history),
        "test_accuracy": last_epoch.test_accuracy if last_epoch else None,
        "test_loss": last_epoch.test_loss if last_epoch else None,
        "train_accuracy": last_epoch.train_accuracy if last_epoch else None,
        "train_loss": last_epoch.train_loss if last_epoch else None,
        "train_seconds": train_seconds,
        "wall_seconds": wall_seconds,
        "samples_per_second": samples / train_seconds if train_seconds > 0 else None,
        "samples": samples,
        "n_train": int(min(data.n_train, cfg.train_limit or data.n_train)),
        "n_test": int(data.n_test),
        "history": history,
        "saved": saved,
    }
    _print_summary(args, summary)
    return 0


def _train_overrides(args) -> dict:
    """The settings given on the command line, with the ones they imply (--rotate alone: random rotations)."""
    from core import recipes

    overrides = overrides_from(args)
    if overrides.get("rotate") and "augment" not in overrides:
        base = recipes.get(args.recipe).settings.get("augment", "off") if args.recipe else "off"
        if base == "off":  # --rotate alone means: random rotations up to that angle
            overrides["augment"] = "random"
    if ("output" in overrides or "loss" in overrides) and "backprop" not in overrides:
        base = recipes.config(args.recipe) if args.recipe else None
        output = overrides.get("output", getattr(base, "output", "softmax"))
        loss = overrides.get("loss", getattr(base, "loss", "cross-entropy"))
        # Rashid's rule is for sigmoid + mse only: anything else uses the true gradient
        if (output, loss) != ("sigmoid", "mse"):
            overrides["backprop"] = "gradient"
    return overrides


def _fit(args, cfg, data):
    """Train with a progress line; (trainer, its last EpochEvent or None, samples seen, wall seconds)."""
    from core.training import BatchEvent, EpochEvent, Trainer

    progress = Progress(sys.stderr if args.json else sys.stdout, quiet=args.quiet)
    last_epoch = None
    samples = 0
    wall_start = time.perf_counter()
    trainer = Trainer(cfg, data)
    try:
        for event in trainer.fit_iter():  # the trainer caps BLAS threads itself (config.threads)
            if isinstance(event, BatchEvent):
                samples = event.samples_seen
                progress.batch(event)
            elif isinstance(event, EpochEvent):
                last_epoch = event
                progress.epoch(event)
    finally:
        progress.clear()
    return trainer, last_epoch, samples, time.perf_counter() - wall_start


def _print_summary(args, summary: dict) -> None:
    """The summary as one JSON line (--json), or as two or three lines for a person (nothing with --quiet)."""
    if args.json:
        print(json.dumps(summary, default=_jsonable))
    elif not args.quiet:
        if summary["test_accuracy"] is not None:
            print(f"test accuracy {summary['test_accuracy']:.4f}, test loss {summary['test_loss']:.4f}")
        speed = summary["samples_per_second"]
        print(f"trained in {_fmt_time(summary['train_seconds'])} ({speed:,.0f} samples/s)")
        if summary["saved"]:
            print(f"saved {summary['saved']}")


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
