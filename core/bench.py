"""`mnist-explorer bench`: how fast the core trains and predicts on this machine, on real MNIST.

Two shapes: the keras-dense512 network (784-512-10, RMSprop, batch 128) and Rashid's (784-200-10 sigmoid, SGD,
batch 1). Training is timed through `Trainer.fit_iter`, exactly what `train` runs, for a few seconds each;
inference through `Network.forward` on the test images, in chunks of 1,000 and (Rashid's query) one at a time.

For each shape it also times the floor: the matrix products of one epoch alone (each layer's forward product, the
backward products that carry dL/da down, and each weight gradient a^T dL/dz), on random arrays of the same shapes,
with the BLAS threads the training used. An epoch can never be faster than that; the epoch's time over the floor
says how much the rest (activations, the optimizer, gathering batches, Python) costs.
"""

from __future__ import annotations

import os
import platform
import time
from contextlib import nullcontext

import numpy as np

SHAPES = (("keras-dense512", 1000), ("rashid", 1))  # recipe, inference batch (besides chunks of 1,000)


def _train_rate(recipe: str, data, seconds: float, threads: int = 0) -> dict:
    from core import recipes
    from core.training import BatchEvent, Trainer

    trainer = Trainer(recipes.config(recipe, epochs=1, threads=threads or recipes.config(recipe).threads), data)
    events = trainer.fit_iter()
    start = None
    first_seen = 0
    samples = 0
    elapsed = 0.0
    used = 0
    try:
        for event in events:
            if not isinstance(event, BatchEvent):
                continue
            used = event.threads
            if start is None:  # the first batch pays for warm-up (allocations, caches): not timed
                start, first_seen = time.perf_counter(), event.samples_seen
                continue
            elapsed = time.perf_counter() - start
            samples = event.samples_seen - first_seen
            if elapsed >= seconds:
                break
    finally:
        events.close()
    cfg = trainer.config
    return {
        "recipe": recipe,
        "layers": [784, *cfg.hidden, data.n_classes],
        "batch_size": cfg.batch_size,
        "optimizer": cfg.optimizer,
        "samples": samples,
        "seconds": elapsed,
        "samples_per_second": samples / elapsed if elapsed > 0 else None,
        "threads": used,
        "epoch_samples": len(trainer._x) * (3 if cfg.augment == "rashid" else 1),
    }, trainer.network


def matmul_floor(sizes: list[int], batch: int, samples: int, threads: int, seconds: float) -> dict:
    """Seconds the matrix products of one epoch take alone (see the module docstring), with `threads` BLAS
    threads: a few seconds' worth of batches timed, scaled to the epoch's ceil(samples / batch) batches."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((a, b), dtype=np.float32) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    x = rng.random((batch, sizes[0]), dtype=np.float32)
    acts = [np.empty((batch, b), np.float32) for b in sizes[1:]]
    deltas = [np.empty((batch, b), np.float32) for b in sizes[1:]]
    grads = [np.empty_like(w) for w in weights]
    for d in deltas:
        d.fill(0.01)

    def one_batch():
        a = x
        for w, h in zip(weights, acts, strict=True):
            a = np.matmul(a, w, out=h)
        for i in range(len(weights) - 1, 0, -1):
            np.matmul(deltas[i], weights[i].T, out=deltas[i - 1])
        for a, d, g in zip([x, *acts[:-1]], deltas, grads, strict=True):
            np.matmul(a.T, d, out=g)

    with threadpool_limits(limits=max(threads, 1), user_api="blas"):
        for _ in range(3):  # warm-up
            one_batch()
        count, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds or count < 5:
            one_batch()
            count += 1
    batches = -(-samples // batch)
    return {"threads": max(threads, 1), "batches": batches, "seconds": elapsed / count * batches}


def _infer_rate(net, x: np.ndarray, batch: int, seconds: float) -> dict:
    net.forward(x[:batch])  # warm-up
    n = 0
    start = time.perf_counter()
    elapsed = 0.0
    while elapsed < seconds:
        i = n % len(x)
        chunk = x[i : i + batch]
        net.forward(chunk)
        n += len(chunk)
        elapsed = time.perf_counter() - start
    return {"batch_size": batch, "samples": n, "seconds": elapsed, "samples_per_second": n / elapsed}


def blas_info() -> list[dict]:
    """The BLAS / OpenMP libraries NumPy uses, with their thread counts (threadpoolctl)."""
    from threadpoolctl import threadpool_info

    keys = ("internal_api", "version", "num_threads", "threading_layer", "architecture", "filepath")
    return [{k: info.get(k) for k in keys} for info in threadpool_info()]


def run_bench(seconds: float = 3.0, threads: int = 0) -> dict:
    """Training and inference samples/s for the two shapes, with the machine's BLAS description."""
    from threadpoolctl import threadpool_limits

    from core import datasets
    from core.preprocess import scale_inputs

    data = datasets.load("mnist")
    results = []
    with threadpool_limits(limits=threads) if threads else nullcontext():
        for recipe, small_batch in SHAPES:
            train, net = _train_rate(recipe, data, seconds, threads)
            train["epoch_seconds"] = train["epoch_samples"] / train["samples_per_second"]
            if train["batch_size"] > 1:  # batch 1 trains by rank-1 updates, not matrix products: no such floor
                train["floor"] = matmul_floor(
                    train["layers"], train["batch_size"], train["epoch_samples"], train["threads"], seconds / 2
                )
                train["epoch_over_floor"] = train["epoch_seconds"] / train["floor"]["seconds"]
            x = scale_inputs(data.test_images, "unit", dtype=net.weights[0].dtype)
            inference = [_infer_rate(net, x, 1000, seconds / 2)]
            if small_batch != 1000:
                inference.append(_infer_rate(net, x, small_batch, seconds / 2))
            results.append({"train": train, "inference": inference})
        blas = blas_info()
    env = {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS_", "OMP_", "MKL_"))}
    return {
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()},
        "numpy": np.__version__,
        "blas": blas,
        "environment": env,
        "results": results,
    }


def print_report(result: dict) -> None:
    print(f"numpy {result['numpy']} on {result['machine']['cpus']} CPUs ({result['machine']['processor']})")
    for lib in result["blas"]:
        print(
            f"  {lib['internal_api']} {lib['version']}: {lib['num_threads']} threads, "
            f"{lib.get('architecture') or '?'} kernels, {lib.get('threading_layer') or ''}".rstrip(", ")
        )
    if result["environment"]:
        print("  environment: " + " ".join(f"{k}={v}" for k, v in result["environment"].items()))
    for r in result["results"]:
        t = r["train"]
        layers = "-".join(str(n) for n in t["layers"])
        print(f"{t['recipe']} ({layers}, {t['optimizer']}, batch {t['batch_size']}):")
        print(
            f"  training   {t['samples_per_second']:>12,.0f} samples/s  ({t['samples']:,} in {t['seconds']:.1f} s, "
            f"{t['threads']} BLAS thread{'s' if t['threads'] != 1 else ''})"
        )
        floor = t.get("floor")
        print(
            f"  epoch      {t['epoch_seconds']:>12.2f} s"
            + (
                f"          its matrix products alone {floor['seconds']:.2f} s (the floor): "
                f"{t['epoch_over_floor']:.2f}x"
                if floor
                else ""
            )
        )
        for inf in r["inference"]:
            print(
                f"  inference  {inf['samples_per_second']:>12,.0f} samples/s  (batch {inf['batch_size']}, "
                f"{inf['samples']:,} in {inf['seconds']:.1f} s)"
            )
