"""The headless commands of `mnist-explorer`: datasets, recipes, train, evaluate, bench.

`main(argv) -> int` never imports Qt. Bad input (an unknown option value, a missing or corrupt file, a diverging
run) ends with one line on stderr that says what is wrong and what to do, and exit status 2.
Run as `mnist-explorer SUBCOMMAND ...` or `python -m core.cli SUBCOMMAND ...`.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from core.cli_options import EXIT_BAD_INPUT, PROG, TRAIN_OPTIONS, UsageError, _number, _Parser


def _config_fields() -> set[str]:
    from dataclasses import fields

    from core.training import TrainConfig

    return {f.name for f in fields(TrainConfig)}


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Train and inspect a from-scratch NumPy network on MNIST.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("datasets", help="list the known datasets and where each is found")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("recipes", help="list the recipes and the accuracy their sources report")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("train", help="train headless with a progress line")
    p.add_argument("--dataset", help="mnist, fashion-mnist, or a folder or file path (default: mnist)")
    p.add_argument("--recipe", help="start from a named recipe (see `mnist-explorer recipes`)")
    known = _config_fields()
    for flag, name, kwargs in TRAIN_OPTIONS:
        if name in known:
            p.add_argument(flag, dest=name, default=None, **kwargs)
    p.add_argument("--save", metavar="MODEL.npz", help="save the trained model there")
    p.add_argument("--json", action="store_true", help="print a JSON summary last on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress output")

    p = sub.add_parser("evaluate", help="test accuracy, loss, per-class accuracy, confusion matrix")
    p.add_argument("model", metavar="MODEL.npz")
    p.add_argument("--dataset", help="evaluate on this dataset (default: the one the model was trained on)")
    p.add_argument("--robustness", action="store_true", help="add rotation, shift, noise, thickness curves")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("bench", help="time training and inference of the core on this machine")
    p.add_argument("--seconds", type=_number(float, 0.2), default=3.0, help="time per measurement")
    p.add_argument("--threads", type=_number(int, 0, "a whole number"), default=0, metavar="N")
    p.add_argument("--json", action="store_true", help="print JSON")

    from core.cli_sweep import add_parser as add_sweep_parser  # no Dask imported until a sweep runs

    add_sweep_parser(sub)
    from core.cli_suspects import add_parser as add_suspects_parser

    add_suspects_parser(sub)
    return parser


def _print_json(obj) -> None:
    print(json.dumps(obj, default=_jsonable))


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def cmd_datasets(args) -> int:
    from core.datasets import known_datasets

    rows = known_datasets()
    if args.json:
        _print_json(rows)
        return 0
    for row in rows:
        where = row.get("path") or "not found"
        if row.get("available"):
            counts = f"{row.get('n_train', '?')} train, {row.get('n_test', '?')} test"
            print(f"{row['name']:<15} available   {counts:<24} {where}")
        else:
            print(f"{row['name']:<15} missing     {'':<24} {row.get('how_to_get') or where}")
    return 0


def cmd_recipes(args) -> int:
    from core import recipes

    rows = [recipes.describe(name) for name in recipes.names()]
    if args.json:
        _print_json(rows)
        return 0
    for row in rows:
        print(f"{row['name']:<17} reports {row['reported_text']}")
        print(f"{'':<17} {row['summary']}")
        print(f"{'':<17} source: {row['source']}")
    return 0


def evaluate_model(model, dataset) -> dict:
    """Accuracy, loss, per-class accuracy and confusion matrix of `model` on `dataset`'s test split.

    The loss and the outputs come from `forward_loss`, the function the trainer's own evaluation uses, so the
    figures are those that training reported for the same weights.
    """
    from core.insight import class_metrics, confusion_matrix
    from core.network import forward_loss
    from core.preprocess import encode_targets

    n = len(model.classes)
    if dataset.n_classes != n:
        raise UsageError(
            f"the model predicts {n} classes but dataset {dataset.name} has {dataset.n_classes}; "
            "evaluate it on the dataset it was trained on"
        )
    if dataset.n_test == 0:
        raise UsageError(f"dataset {dataset.name} ({dataset.source}) has no test images to evaluate on")
    cfg, net = model.config, model.network
    x = model.scale(dataset.test_images)
    labels = dataset.test_labels.astype(np.int64)
    loss, outputs = forward_loss(net, x, encode_targets(labels, n, cfg.targets, net.dtype), cfg.loss)
    pred = outputs.argmax(axis=1)
    cm = confusion_matrix(labels, pred, n)
    per_class = np.nan_to_num(class_metrics(cm)["recall"])  # a class with no test images counts as 0
    return {
        "model_dataset": model.dataset,
        "dataset": dataset.name,
        "source": str(dataset.source),
        "n_test": int(dataset.n_test),
        "classes": list(model.classes),
        "test_accuracy": float((pred == labels).mean()),
        "test_loss": float(loss),
        "per_class_accuracy": [float(a) for a in per_class],
        "confusion_matrix": cm.tolist(),
    }


def cmd_evaluate(args) -> int:
    from core import datasets, model_io

    model = model_io.load(args.model)
    dataset = datasets.load(args.dataset or model.dataset)
    result = {"model": args.model, **evaluate_model(model, dataset)}
    if args.robustness:
        from core.cli_robustness import add_robustness

        add_robustness(result, model, dataset)
    if args.json:
        _print_json(result)
        return 0
    print(f"model {args.model}: {model.config.hidden} {model.config.activation}/{model.config.output}")
    print(f"dataset {result['dataset']} ({result['n_test']} test images from {result['source']})")
    print(f"test accuracy {result['test_accuracy']:.4f}   test loss {result['test_loss']:.4f}")
    width = max(5, max(len(c) for c in result["classes"]))
    print("per-class accuracy:")
    for name, acc in zip(result["classes"], result["per_class_accuracy"], strict=True):
        print(f"  {name:<{width}} {acc:.4f}")
    print("confusion matrix (rows: true class, columns: predicted):")
    cells = max(5, len(str(np.max(result["confusion_matrix"]))) + 1)
    print(" " * (width + 2) + "".join(f"{i:>{cells}}" for i in range(len(result["classes"]))))
    for name, row in zip(result["classes"], result["confusion_matrix"], strict=True):
        print(f"  {name:<{width}}" + "".join(f"{v:>{cells}}" for v in row))
    if args.robustness:
        from core.cli_robustness import print_robustness

        print_robustness(result)
    return 0


def cmd_bench(args) -> int:
    from core.bench import print_report, run_bench

    result = run_bench(seconds=args.seconds, threads=args.threads)
    if args.json:
        _print_json(result)
    else:
        print_report(result)
    return 0


def _known_errors() -> tuple[type[BaseException], ...]:
    from core.datasets import DatasetError
    from core.model_io import ModelError
    from core.recipes import RecipeError
    from core.sweep import SweepError
    from core.training import ConfigError, DivergenceError

    return (UsageError, DatasetError, ModelError, RecipeError, ConfigError, DivergenceError, SweepError)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
        if args.command == "train":
            from core.cli_train import cmd_train

            return cmd_train(args)
        if args.command == "sweep":
            from core.cli_sweep import cmd_sweep

            return cmd_sweep(args)
        if args.command == "suspects":
            from core.cli_suspects import cmd_suspects

            return cmd_suspects(args)
        return {
            "datasets": cmd_datasets,
            "recipes": cmd_recipes,
            "evaluate": cmd_evaluate,
            "bench": cmd_bench,
        }[args.command](args)
    except KeyboardInterrupt:
        _error_line("interrupted")
        return 130
    except MemoryError:
        _error_line("not enough memory; try smaller --hidden layers, a smaller --batch-size or --train-limit")
        return EXIT_BAD_INPUT
    except Exception as exc:
        if isinstance(exc, _known_errors()):
            _error_line(str(exc))
            return EXIT_BAD_INPUT
        raise


def _error_line(message: str) -> None:
    message = " ".join(str(message).split())  # one line, whatever the message held
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
    prefix = "" if message.startswith(PROG) else f"{PROG}: error: "
    print(prefix + message, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
