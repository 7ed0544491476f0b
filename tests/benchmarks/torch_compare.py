"""Benchmark: one keras-dense512 epoch in PyTorch (CPU) and in our NumPy core, alternately, a few rounds.

The same work on both sides: 784-512 ReLU, 10 softmax, cross-entropy, RMSprop (lr 1e-3, rho 0.9, eps 1e-7),
batch 128, float32, all 60,000 MNIST training images in a new random order, Glorot-uniform weights and zero
biases. Each round trains one fresh epoch on each side (the order alternates between rounds, so neither always
runs on a warm cache), prints both times and their ratio, and each side's test accuracy after its epoch, so
the two are seen doing the same job. Our side is timed through `Trainer.fit_iter` up to its last batch, which is
what `mnist-explorer train` runs; the per-epoch test evaluation is not timed on either side.

    python tests/benchmarks/torch_compare.py [--rounds 3] [--threads N]

PyTorch is not a dependency of the project: without it the script says so and exits 0. This file is not a
test (pytest collects only test_*.py); it times things, and tests never do.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core import datasets, recipes  # noqa: E402
from core.training import Trainer  # noqa: E402


def ours_epoch(data, seed: int) -> tuple[float, float]:
    """Seconds for one keras-dense512 epoch through our trainer, and the test accuracy after it."""
    cfg = recipes.config("keras-dense512", epochs=1, seed=seed)
    trainer = Trainer(cfg, data)
    events = trainer.fit_iter()
    start = time.perf_counter()
    seconds = None
    for event in events:
        if type(event).__name__ == "BatchEvent" and event.batch == event.batches:
            seconds = time.perf_counter() - start
    return seconds, trainer.evaluate("test")["accuracy"]


def torch_epoch(torch, x_train, y_train, x_test, y_test, seed: int) -> tuple[float, float]:
    """Seconds for the same epoch in PyTorch, and the test accuracy after it."""
    nn = torch.nn
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 10))
    for layer in (model[0], model[2]):
        nn.init.xavier_uniform_(layer.weight)
        nn.init.zeros_(layer.bias)
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    order = torch.randperm(len(x_train))
    for i in range(0, len(x_train), 128):
        idx = order[i : i + 128]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x_train[idx]), y_train[idx])
        loss.backward()
        opt.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
    return seconds, accuracy


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, default=0, help="threads for both sides (0: each one's default)"
    )
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed; skipping the comparison (pip install torch to run it).")
        return 0
    from threadpoolctl import threadpool_info, threadpool_limits

    data = datasets.load("mnist")
    x_train = torch.from_numpy(data.train_images.reshape(-1, 784).astype(np.float32) / 255)
    y_train = torch.from_numpy(data.train_labels.astype(np.int64))
    x_test = torch.from_numpy(data.test_images.reshape(-1, 784).astype(np.float32) / 255)
    y_test = torch.from_numpy(data.test_labels.astype(np.int64))
    if args.threads:
        torch.set_num_threads(args.threads)
        threadpool_limits(args.threads)
    blas = ", ".join(
        f"{i['internal_api']} {i['version']} ({i['num_threads']} threads)" for i in threadpool_info()
    )
    env = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ}
    print(f"torch {torch.__version__} ({torch.get_num_threads()} threads); numpy {np.__version__}: {blas}")
    print(f"environment: {env or 'no OPENBLAS_* overrides'}")
    print("one epoch: 60,000 images, 784-512-10, RMSprop lr 1e-3, batch 128, float32")
    ratios = []
    for r in range(args.rounds):
        sides = ["torch", "ours"] if r % 2 == 0 else ["ours", "torch"]
        times = {}
        for side in sides:
            if side == "torch":
                times[side] = torch_epoch(torch, x_train, y_train, x_test, y_test, seed=r)
            else:
                times[side] = ours_epoch(data, seed=r)
        (t_ours, a_ours), (t_torch, a_torch) = times["ours"], times["torch"]
        ratios.append(t_ours / t_torch)
        print(
            f"round {r + 1}: torch {t_torch:6.2f} s (test acc {a_torch:.4f})   "
            f"ours {t_ours:6.2f} s (test acc {a_ours:.4f})   ours/torch {t_ours / t_torch:.2f}x"
        )
    print(f"median ours/torch time ratio over {args.rounds} rounds: {float(np.median(ratios)):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
