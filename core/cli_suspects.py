"""`mnist-explorer suspects`: train with the per-image record on, then print the training images most likely
mislabelled, most suspect first (core/cartography.py ranks them by the area under the margin).

The default is the keras-dense512 recipe for 15 epochs: about a minute on two cores for MNIST's 60,000 images,
and enough epochs for the margins' history to separate flipped labels from hard digits
(scripts/suspects_benchmark.py). `--json` prints `{"indices", "labels", "suggested", "scores"}` in rank order,
indices 0-based into the training split in the IDX files' order; the progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys

from core.cli_options import UsageError, _number

DEFAULT_RECIPE = "keras-dense512"
DEFAULT_EPOCHS = 15  # with the default recipe; another recipe keeps its own unless --epochs is given
DEFAULT_TOP = 20


def add_parser(sub) -> None:
    p = sub.add_parser("suspects", help="the training images most likely mislabelled, ranked")
    p.add_argument("--dataset", help="mnist, fashion-mnist, or a folder or file path (default: mnist)")
    p.add_argument("--recipe", help=f"the training to learn from (default: {DEFAULT_RECIPE}, "
                                    f"{DEFAULT_EPOCHS} epochs)")  # fmt: skip
    p.add_argument("--top", type=_number(int, 1, "a whole number"), default=DEFAULT_TOP, metavar="N",
                   help=f"how many to list (default {DEFAULT_TOP})")  # fmt: skip
    p.add_argument("--epochs", type=_number(int, 2, "a whole number"), help="epochs to train (at least 2)")
    p.add_argument("--seed", type=_number(int, 0, "a whole number"))
    p.add_argument("--method", default="aum", choices=("aum", "confidence", "last-probability", "forgetting"),
                   help="the ranking (default aum: the area under the margin)")  # fmt: skip
    # for tests and quick looks: train on the first N images only
    p.add_argument("--train-limit", type=_number(int, 0, "a whole number"), help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true", help="print JSON on stdout (progress on stderr)")


def _config(args):
    from core import recipes

    recipe = args.recipe or DEFAULT_RECIPE
    overrides = {"dataset": args.dataset or "mnist"}
    if args.epochs is not None or not args.recipe:
        overrides["epochs"] = args.epochs or DEFAULT_EPOCHS
    for name in ("seed", "train_limit"):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    return recipes.config(recipe, **overrides)


def cmd_suspects(args) -> int:
    from core import cartography, datasets
    from core.cli_train import Progress
    from core.training import EpochEvent, Trainer

    cfg = _config(args)
    data = datasets.load(cfg.dataset)
    if data.n_train == 0:
        raise UsageError(f"dataset {data.name} ({data.source}) has no training images to rank")
    progress = Progress(sys.stderr)
    print(f"training {args.recipe or DEFAULT_RECIPE} for {cfg.epochs} epochs on {data.name} to rank its "
          "training images", file=sys.stderr, flush=True)  # fmt: skip
    dynamics = None
    try:
        for event in Trainer(cfg, data).fit_iter():
            if isinstance(event, EpochEvent):
                dynamics = event.dynamics
                progress.epoch(event)
            else:
                progress.batch(event)
    finally:
        progress.clear()
    found = cartography.suspects(dynamics, top=args.top, method=args.method)
    if args.json:
        print(json.dumps(found.as_json()))
        return 0
    _print_table(found, data.class_names, cfg.epochs)
    return 0


def _print_table(found, names, epochs: int) -> None:
    width = max(9, *(len(str(n)) for n in names))
    print(f"The {len(found.indices)} training images most likely mislabelled ({found.method} over {epochs} "
          "epochs; lowest first):")  # fmt: skip
    what = {"aum": "the mean of log p(given) - log p(best other): below 0, another label usually won",
            "confidence": "the mean probability of the given label",
            "last-probability": "the probability of the given label at the last epoch",
            "forgetting": "minus the times it was forgotten (never learned: epochs + 1)"}[found.method]  # fmt: skip
    print(f"score: {what}")
    print(f"{'rank':>4}  {'index':>6}  {'given':<{width}}  {'suggested':<{width}}  {'score':>8}")
    for rank, (i, label, suggested, score) in enumerate(
        zip(found.indices, found.labels, found.suggested, found.scores, strict=True), start=1
    ):
        print(f"{rank:>4}  {int(i):>6}  {names[label]:<{width}}  {names[suggested]:<{width}}  {score:>8.3f}")
