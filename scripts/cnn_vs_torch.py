"""One epoch of the keras-convnet recipe in our NumPy core against PyTorch CPU, the same layers, optimizer and batches.

    python scripts/cnn_vs_torch.py               # a whole epoch (469 batches of 128) each, 2 threads
    python scripts/cnn_vs_torch.py --batches 50  # a quick look

Both train Conv 32 3x3 + ReLU, max pool 2, Conv 64 3x3 + ReLU, max pool 2, flatten, dropout 0.5, Dense 10 softmax
with cross-entropy and Adam (lr 0.001) on the same shuffled MNIST batches of 128, in float32 with 2 threads
(`torch.set_num_threads`, and threadpoolctl for our OpenBLAS), one after the other in this process. It prints
both training times, the ratio and each model's test accuracy after the epoch. Needs `pip install torch`; it is
not a test. On a shared machine the times are upper bounds: run it twice and keep the lower.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import recipes  # noqa: E402
from core.conv_training import ConvStep, new_network  # noqa: E402
from core.datasets import load  # noqa: E402
from core.optimizers import make_optimizer  # noqa: E402


def ours(x, y, order, batch, xt, yt, threads):
    cfg = recipes.config("keras-convnet")
    net = new_network(cfg, 10, (28, 28), np.random.default_rng(0), np.float32)
    step, opt = ConvStep(net, batch), make_optimizer("adam", eps=1e-7)
    table, rng = np.eye(10, dtype=np.float32), np.random.default_rng(1)
    with threadpool_limits(threads, user_api="blas"):
        start = time.perf_counter()
        for lo in range(0, len(order), batch):
            idx = order[lo : lo + batch]
            step.gradients(net, x[idx], y[idx], table[y[idx]], rng, "cross-entropy", 0.0)
            opt.step(net.params, step.grads, cfg.lr)
        seconds = time.perf_counter() - start
        accuracy = float(np.mean(net.predict(xt) == yt))
    return seconds, accuracy


def torch_side(x, y, order, batch, xt, yt, threads):
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10),
    )  # fmt: skip
    opt = torch.optim.Adam(model.parameters(), lr=0.001, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    xs, ys = torch.from_numpy(x.reshape(-1, 1, 28, 28)), torch.from_numpy(y.astype(np.int64))
    start = time.perf_counter()
    model.train()
    for lo in range(0, len(order), batch):
        idx = torch.from_numpy(order[lo : lo + batch])
        opt.zero_grad(set_to_none=True)
        loss_fn(model(xs[idx]), ys[idx]).backward()
        opt.step()
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(xt.reshape(-1, 1, 28, 28))).argmax(1).numpy()
    return seconds, float(np.mean(pred == yt))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=0, help="train only this many batches (0: one epoch)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    ds = load("mnist")
    x = (ds.train_images.reshape(-1, 784) / np.float32(255)).astype(np.float32)
    xt = (ds.test_images.reshape(-1, 784) / np.float32(255)).astype(np.float32)
    y, yt = ds.train_labels.astype(np.intp), ds.test_labels
    order = np.random.default_rng(0).permutation(len(x))
    if args.batches:
        order = order[: args.batches * 128]
    print(f"keras-convnet, {len(order)} images in batches of 128, {args.threads} threads")
    t_ours, acc_ours = ours(x, y, order, 128, xt, yt, args.threads)
    print(f"ours (NumPy):  {t_ours:7.2f} s   test accuracy {acc_ours:.4f}", flush=True)
    t_torch, acc_torch = torch_side(x, y, order, 128, xt, yt, args.threads)
    print(f"PyTorch (CPU): {t_torch:7.2f} s   test accuracy {acc_torch:.4f}")
    print(f"ratio ours / PyTorch: {t_ours / t_torch:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
