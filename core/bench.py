"""`mnist-explorer bench`: how fast the core trains and predicts on this machine, on real MNIST.

Two shapes: the keras-dense512 network (784-512-10, RMSprop, batch 128) and Rashid's (784-200-10 sigmoid, SGD,
batch 1). Training is timed through `Trainer.fit_iter`, exactly what `train` runs, for a few seconds each;
inference through `Network.forward` on the test images, in chunks of 1,000 and (Rashid's query) one at a time.
"""

from __future__ import annotations

import os
import platform
import time
from contextlib import nullcontext

import numpy as np

SHAPES = (("keras-dense512", 1000), ("rashid", 1))  # recipe, inference batch (besides chunks of 1,000)


def _train_rate(recipe: str, data, seconds: float) -> dict:
    from core import recipes
    from core.training import BatchEvent, Trainer

    trainer = Trainer(recipes.config(recipe, epochs=1), data)
    events = trainer.fit_iter()
    start = None
    first_seen = 0
    samples = 0
    elapsed = 0.0
    try:
        for event in events:
            if not isinstance(event, BatchEvent):
                continue
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
    }, trainer.network


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
            train, net = _train_rate(recipe, data, seconds)
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
            f"  training   {t['samples_per_second']:>12,.0f} samples/s  ({t['samples']:,} in {t['seconds']:.1f} s)"
        )
        for inf in r["inference"]:
            print(
                f"  inference  {inf['samples_per_second']:>12,.0f} samples/s  (batch {inf['batch_size']}, "
                f"{inf['samples']:,} in {inf['seconds']:.1f} s)"
            )
