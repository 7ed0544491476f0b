"""Sweeps: the list of runs a grid (`--grid KEY=V1,V2,...`) or a random search (`--random N --range
KEY=LOW:HIGH[:log]`) makes from a base recipe, and the summary a sweep writes. No Dask here: this module only
plans and records, so that a bad key or value is one sentence before any cluster starts; `core.sweep_dask`
trains the plan on a Dask cluster.

Grid and range keys are the `train` options (`lr`, `hidden`, `batch-size`, `dropout`, `optimizer`, `rotate`,
`epochs`, ...), spelt as the flag without its dashes (`batch_size` works too), and each value is parsed by the
same function as the flag's, then every run's whole configuration is validated by `TrainConfig`. In a grid the
values of one key are separated by commas, so the layers of one `hidden` value are separated by `/`:
`--grid hidden=128,512/256` is two runs, one hidden layer of 128 and two layers of 512 and 256.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from core.cli_options import TRAIN_OPTIONS

MAX_RUNS = 1000  # a typo such as --random 100000 is refused rather than queued for a week
SUMMARY_NAME = "sweep.json"
FORMAT = "mnist-explorer-sweep"
VERSION = 1
NOT_SWEPT = {"threads": "a sweep trains every run with one BLAS thread per worker"}


class SweepError(ValueError):
    """A bad sweep request (key, value, range, folder, scheduler): one sentence that says what to do."""


@dataclass
class SweepPlan:
    """The runs of a sweep: `configs[i]` is run i's full TrainConfig, `overrides[i]` what the sweep set for it."""

    recipe: str | None
    configs: list  # core.config.TrainConfig
    overrides: list[dict]
    keys: list[str] = field(default_factory=list)  # the TrainConfig fields the sweep varies, in order

    def label(self, index: int) -> str:
        """"lr=0.01 hidden=128": what run `index` varies, as the user wrote the keys."""
        return run_label(self.overrides[index], self.keys)

    def __len__(self) -> int:
        return len(self.configs)


def _option_table() -> dict[str, tuple[str, dict]]:
    """key -> (TrainConfig field, the flag's argparse keywords), for every `train` option TrainConfig has."""
    from core.config import TrainConfig

    known = {f.name for f in fields(TrainConfig)}
    return {flag[2:]: (name, kw) for flag, name, kw in TRAIN_OPTIONS if name in known}


def key_names() -> list[str]:
    """The keys a grid or range accepts (flag spelling, without dashes)."""
    return [key for key, (name, _kw) in _option_table().items() if name not in NOT_SWEPT]


def flag_of(name: str) -> str:
    """The flag spelling of a TrainConfig field ("batch_size" -> "batch-size")."""
    for key, (field_name, _kw) in _option_table().items():
        if field_name == name:
            return key
    return name


def _field_of(option: str, text: str) -> tuple[str, dict]:
    key = text.strip().lstrip("-").replace("_", "-")
    table = _option_table()
    if key not in table:
        raise SweepError(
            f"{option} {text!r}: there is no setting {key!r}; use one of {', '.join(key_names())}."
        )
    name, kw = table[key]
    if name in NOT_SWEPT:
        raise SweepError(f"{option} {key}: {NOT_SWEPT[name]}, so it cannot be swept.")
    return name, kw


def _parse_value(option: str, key: str, name: str, kw: dict, text: str):
    text = text.strip()
    if not text:
        raise SweepError(f"{option} {key}: a value is empty; write e.g. {option} {key}=V1,V2.")
    if name == "hidden":
        text = text.replace("/", ",")  # one value's layers: 512/256
    if kw.get("action") is argparse.BooleanOptionalAction:
        words = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False,
                 "0": False}  # fmt: skip
        if text.lower() not in words:
            raise SweepError(f"{option} {key}={text}: write true or false.")
        return words[text.lower()]
    parse = kw.get("type")
    if parse is None:
        return text
    try:
        return parse(text)
    except (argparse.ArgumentTypeError, ValueError) as exc:
        if name == "hidden":  # the flag's own hint writes layers with commas, which here separate values
            raise SweepError(f"{option} {key}={text.replace(',', '/')}: write each value as layer widths "
                             f"separated by /, such as {key}=128,512/256.") from None  # fmt: skip
        raise SweepError(f"{option} {key}={text}: {str(exc).rstrip('.')}.") from None


def parse_grid(items: list[str]) -> dict[str, list]:
    """`["lr=0.1,0.01", "hidden=128,512/256"]` -> {"lr": [0.1, 0.01], "hidden": [(128,), (512, 256)]}."""
    grid: dict[str, list] = {}
    for item in items or []:
        key, sep, values = item.partition("=")
        if not sep:
            raise SweepError(f"--grid {item!r} has no '='; write it as KEY=V1,V2 such as --grid lr=0.1,0.01.")
        name, kw = _field_of("--grid", key)
        if name in grid:
            raise SweepError(f"--grid {key.strip()} is given twice; put all its values in one --grid.")
        parsed = [_parse_value("--grid", key.strip(), name, kw, v) for v in values.split(",")]
        grid[name] = list(dict.fromkeys(parsed))  # a value written twice is one run, not two
    return grid


@dataclass(frozen=True)
class Range:
    low: float
    high: float
    log: bool
    whole: bool  # draw whole numbers (hidden widths, batch sizes, epochs)


def parse_ranges(items: list[str]) -> dict[str, Range]:
    """`["lr=1e-4:1e-1:log", "hidden=32:512"]` -> {"lr": Range(...), "hidden": Range(...)}: numeric keys only."""
    from core.config import TrainConfig

    defaults = TrainConfig()
    ranges: dict[str, Range] = {}
    for item in items or []:
        key, sep, spec = item.partition("=")
        parts = spec.split(":")
        if not sep or len(parts) not in (2, 3) or (len(parts) == 3 and parts[2].strip() != "log"):
            raise SweepError(f"--range {item!r}: write it as KEY=LOW:HIGH or KEY=LOW:HIGH:log, such as "
                             "--range lr=0.0001:0.1:log.")  # fmt: skip
        name, kw = _field_of("--range", key)
        default = getattr(defaults, name)
        if name != "hidden" and (isinstance(default, bool) or not isinstance(default, int | float)):
            raise SweepError(f"--range {key.strip()}: only numeric settings take a range; use --grid for it.")
        whole = name == "hidden" or isinstance(default, int)
        low, high = (_parse_bound(key.strip(), p, whole) for p in parts[:2])
        log = len(parts) == 3
        if not low <= high or (log and low <= 0):
            rule = "0 < LOW <= HIGH for a log range" if log else "LOW <= HIGH"
            raise SweepError(f"--range {item}: the bounds must satisfy {rule}.")
        if name in ranges:
            raise SweepError(f"--range {key.strip()} is given twice; give one range per setting.")
        ranges[name] = Range(low, high, log, whole)
    return ranges


def _parse_bound(key: str, text: str, whole: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SweepError(f"--range {key}: {text!r} is not a number.") from None
    if not math.isfinite(value) or (whole and value != int(value)):
        kind = "a whole number" if whole else "a finite number"
        raise SweepError(f"--range {key}: {text!r} is not {kind}.")
    return value


def draw(ranges: dict[str, Range], n: int, seed: int = 0) -> list[dict]:
    """`n` random points in `ranges` (log-uniform for log ranges), reproducible for a seed; floats rounded to
    three significant digits so the run names stay readable."""
    rng = np.random.default_rng(seed)
    points = []
    for _ in range(n):
        point = {}
        for name, r in ranges.items():
            if r.log:
                value = math.exp(rng.uniform(math.log(r.low), math.log(r.high)))
            else:
                value = rng.uniform(r.low, r.high)
            if r.whole:
                value = int(round(value))
                value = (value,) if name == "hidden" else value
            else:
                value = float(f"{value:.3g}")
            point[name] = value
        points.append(point)
    return points


def run_label(overrides: dict, keys: list[str]) -> str:
    """"lr=0.01 hidden=512,256": the swept settings of one run."""
    parts = []
    for name in keys:
        value = overrides.get(name)
        if isinstance(value, tuple | list):
            value = ",".join(str(v) for v in value) or "none"
        parts.append(f"{flag_of(name)}={value}")
    return " ".join(parts) or "base"


def _implied(recipe_settings: dict, overrides: dict) -> dict:
    """The settings a run's overrides imply, as `train` reads them (--rotate alone: random rotations)."""
    out = dict(overrides)
    if out.get("rotate") and "augment" not in out and recipe_settings.get("augment", "off") == "off":
        out["augment"] = "random"
    if ("output" in out or "loss" in out) and "backprop" not in out:
        output = out.get("output", recipe_settings.get("output", "softmax"))
        loss = out.get("loss", recipe_settings.get("loss", "cross-entropy"))
        if (output, loss) != ("sigmoid", "mse"):
            out["backprop"] = "gradient"  # Rashid's rule is for sigmoid + mse only
    return out


def plan(recipe: str | None, base: dict, grid: dict[str, list] | None = None,
         ranges: dict[str, Range] | None = None, n_random: int = 0, seed: int = 0) -> SweepPlan:  # fmt: skip
    """Every run: the recipe, then `base` (--epochs, --train-limit, --dataset, --seed), then the grid's point
    crossed with the random draws. Every run's config is validated here; threads is 1 (one BLAS thread per
    worker process, so runs on the same machine do not fight for its cores)."""
    from core import recipes
    from core.config import ConfigError

    grid, ranges = grid or {}, ranges or {}
    if ranges and n_random < 1:
        raise SweepError("--range needs --random N: how many random points to draw.")
    if n_random and not ranges:
        raise SweepError("--random N needs at least one --range KEY=LOW:HIGH to draw from.")
    clash = sorted(set(grid) & set(ranges))
    if clash:
        raise SweepError(f"{flag_of(clash[0])} has both a --grid and a --range; give it one or the other.")
    points = [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]
    draws = draw(ranges, n_random, seed) if ranges else [{}]
    count = len(points) * len(draws)
    if count > MAX_RUNS:
        raise SweepError(f"that sweep has {count:,} runs, more than {MAX_RUNS:,}; use fewer values or --random.")
    if not grid and not ranges:
        raise SweepError("nothing to sweep: give --grid KEY=V1,V2 (such as --grid lr=0.1,0.01) or --random N "
                         "with --range KEY=LOW:HIGH.")  # fmt: skip
    settings = dict(recipes.get(recipe).settings) if recipe else {}
    keys = [*grid, *ranges]
    configs, overrides = [], []
    for point in points:
        for random_point in draws:
            swept = {**point, **random_point}
            try:
                config = recipes.config(recipe, **_implied(settings, {**base, **swept, "threads": 1}))
            except ConfigError as exc:
                label = run_label(swept, keys)
                raise SweepError(f"the run {label}: {str(exc).rstrip('.')}.") from None
            configs.append(config)
            overrides.append(swept)
    return SweepPlan(recipe, configs, overrides, keys)


# --- the summary file -------------------------------------------------------------------------------------------
def write_summary(folder: Path, summary: dict) -> Path:
    """`folder`/sweep.json, atomically: a reader (or a crash) sees the previous whole file or this one."""
    from core.atomic import write_atomic

    text = json.dumps(summary, indent=1, default=_jsonable, allow_nan=True).encode()
    return write_atomic(Path(folder) / SUMMARY_NAME, lambda f: f.write(text))


def read_summary(path: str | Path) -> tuple[Path, dict]:
    """(folder, summary) of a sweep folder or its sweep.json; SweepError with one sentence otherwise."""
    path = Path(path)
    file = path / SUMMARY_NAME if path.is_dir() else path
    try:
        summary = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SweepError(f"cannot read {file}: {exc.strerror or exc}; choose a sweep's folder (it holds "
                         f"{SUMMARY_NAME}).") from None  # fmt: skip
    except (ValueError, RecursionError):
        raise SweepError(f"{file} is not a sweep summary (not valid JSON).") from None
    if not isinstance(summary, dict) or summary.get("format") != FORMAT or not isinstance(summary.get("runs"), list):
        raise SweepError(f"{file} is not a sweep summary written by `mnist-explorer sweep`.")
    if not all(isinstance(r, dict) and isinstance(r.get("config"), dict) for r in summary["runs"]):
        raise SweepError(f"{file} is damaged: a run in it has no settings.")
    return file.parent, summary


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    return str(value)
