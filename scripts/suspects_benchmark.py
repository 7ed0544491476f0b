"""How well each suspects ranking finds labels we flipped on purpose.

Flips a share of the training labels (default 2% of MNIST's 60,000, each to another label drawn at random, with a
seed), trains once with the per-image record on, and prints, for each ranking, the precision at k (of the k most
suspect images, how many were flipped) and the recall at k (of the flipped images, how many are among the k),
for k = half, once and twice the number flipped; and the average precision over the whole ranking.

Rankings: the area under the margin (the suspects list's, core/cartography.py), the data map's confidence,
forgetting events, the probability of the label at the last epoch of the training pass, and the plain "lowest
probability of its label" from the final weights on the (noisy) training set. With --cross-val K it adds
confident learning's out-of-sample probability of the label (Northcutt et al. 2021, self-confidence ranking) from
K trainings, each on K-1 folds (K more trainings: K times the time).

    nice -n 5 python scripts/suspects_benchmark.py [--recipe keras-dense512] [--epochs 15] [--noise 0.02]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import cartography, datasets, recipes  # noqa: E402
from core.preprocess import scale_inputs  # noqa: E402
from core.training import Trainer  # noqa: E402


def flip_labels(labels: np.ndarray, share: float, n_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(noisy labels, the flipped indices): `share` of the labels, each moved to another label at random."""
    rng = np.random.default_rng(seed)
    flipped = np.sort(rng.choice(len(labels), int(round(share * len(labels))), replace=False))
    noisy = labels.copy()
    noisy[flipped] = (labels[flipped] + rng.integers(1, n_classes, len(flipped))) % n_classes
    return noisy, flipped


def train(cfg, data):
    trainer = Trainer(cfg, data)
    dynamics = None
    for event in trainer.fit_iter():
        dynamics = getattr(event, "dynamics", None) or dynamics
        if hasattr(event, "test_accuracy"):
            print(f"  epoch {event.epoch}/{event.epochs}: test accuracy {event.test_accuracy:.4f}, "
                  f"{event.epoch_seconds:.1f} s", file=sys.stderr, flush=True)  # fmt: skip
    return trainer, dynamics


def label_probability(net, x, labels) -> np.ndarray:
    p = net.forward(x)
    p = p / p.sum(axis=1, keepdims=True)
    return p[np.arange(len(labels)), labels]


def out_of_sample(cfg, data, noisy, folds: int, seed: int) -> np.ndarray:
    """Each image's probability of its (noisy) label from a network that did not train on it (K folds)."""
    rng = np.random.default_rng(seed + 1)
    fold = rng.integers(0, folds, len(noisy))
    result = np.empty(len(noisy), np.float32)
    for k in range(folds):
        print(f" fold {k + 1}/{folds}", file=sys.stderr, flush=True)
        held = fold == k
        part = replace(data, train_images=data.train_images[~held], train_labels=noisy[~held])
        trainer, _ = train(cfg, part)
        x = scale_inputs(data.train_images[held], cfg.scaling, trainer.preprocessing, trainer.network.dtype)
        result[held] = label_probability(trainer.network, x, noisy[held].astype(np.intp))
    return result


def average_precision(order: np.ndarray, flipped: np.ndarray) -> float:
    hit = np.isin(order, flipped)
    ranks = np.nonzero(hit)[0] + 1
    return float(np.mean(np.arange(1, len(ranks) + 1) / ranks)) if len(ranks) else 0.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--recipe", default="keras-dense512")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--noise", type=float, default=0.02, help="share of training labels flipped")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-limit", type=int, default=0)
    parser.add_argument("--cross-val", type=int, default=0, metavar="K", help="add confident learning (K folds)")
    args = parser.parse_args(argv)
    data = datasets.load(args.dataset)
    if args.train_limit:
        data = replace(data, train_images=data.train_images[: args.train_limit],
                       train_labels=data.train_labels[: args.train_limit])  # fmt: skip
    noisy, flipped = flip_labels(data.train_labels, args.noise, data.n_classes, args.seed)
    noisy_data = replace(data, train_labels=noisy)
    cfg = recipes.config(args.recipe, epochs=args.epochs, seed=args.seed, dataset=args.dataset)
    print(f"{len(flipped)} of {len(noisy)} labels flipped (seed {args.seed}); training {args.recipe}, "
          f"{args.epochs} epochs", file=sys.stderr)  # fmt: skip
    start = time.perf_counter()
    trainer, dyn = train(cfg, noisy_data)
    seconds = time.perf_counter() - start
    scores = {m: cartography.scores(dyn, m) for m in ("aum", "confidence", "forgetting", "last-probability")}
    scores["final-weights probability"] = label_probability(trainer.network, trainer._x, trainer._y)
    if args.cross_val:
        scores[f"confident learning ({args.cross_val}-fold)"] = out_of_sample(
            cfg, noisy_data, noisy, args.cross_val, args.seed
        )
    ks = [len(flipped) // 2, len(flipped), 2 * len(flipped)]
    print(f"\n{args.recipe}, {args.epochs} epochs, {len(flipped)} flipped of {len(noisy)} ({args.noise:.0%}), "
          f"seed {args.seed}; training {seconds:.0f} s\n")  # fmt: skip
    head = "| ranking | " + " | ".join(f"P@{k} | R@{k}" for k in ks) + " | AP |"
    print(head)
    print("|" + "---|" * (2 + 2 * len(ks)))
    for name, score in scores.items():
        order = cartography.ranking(score)
        cells = []
        for k in ks:
            precision, recall = cartography.precision_recall_at(order, flipped, k)
            cells += [f"{precision:.3f}", f"{recall:.3f}"]
        print(f"| {name} | " + " | ".join(cells) + f" | {average_precision(order, flipped):.3f} |")
    chance = len(flipped) / len(noisy)
    print(f"\nchance: precision {chance:.3f} at any k")
    return 0


if __name__ == "__main__":
    sys.exit(main())
