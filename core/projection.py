"""The hidden-layer map: a 2-D picture of a layer's activations for the test images, aligned across epochs.

Method: t-SNE (openTSNE's FFT-accelerated version), with PCA offered beside it.

Why t-SNE. The map must show the digits apart, points of one label together. On the 512-unit hidden layer of
`keras-dense512` after 5 epochs (97.85% on the test set), the 10 nearest neighbours of a test image in the t-SNE
map share its label 95.3% of the time, as often as in the 512-dimensional layer itself (95.1%); in the map of
the first two principal components, 42.6%: a cloud where the ten digits overlap (scripts/measure_projection.py).
UMAP draws maps as good as t-SNE's, but umap-learn brings numba, whose first call compiles for tens of seconds,
and it has no simple way to continue an optimisation from a given map. openTSNE has: a `TSNEEmbedding` is
optimised from any starting positions, which is how the epochs are aligned (below); it is deterministic with a
seed, and its FFT-accelerated gradient maps 10,000 points in about 16 s of one core (a continued map 7-12 s).
PCA stays as the second method: linear and under a second, its distances mean what they say, but the digits
overlap in it.

Alignment across epochs. The first map of a run's layer starts from the PCA of the activations (openTSNE's
default start, which keeps global structure), with the usual early exaggeration. Every later epoch's map starts
from the map of the nearest epoch already computed (earlier preferred), is optimised without exaggeration for a
shorter schedule and scaled back to its starting map's size: where the weights barely changed the points barely
move, and as the network learns the clusters can be watched pulling apart. A PCA map is rotated (orthogonal
Procrustes) onto its neighbour's.

Cost (see README, "Hidden-layer map"): one map holds 2 float32 coordinates, an int32 index and two uint8 labels
per image, 140 KB for the 10,000 test images; `MapCache` keeps at most `MAX_MAPS` of them (16.8 MB), so a
15-epoch run's maps (2.1 MB a layer and method) stay in memory, and the least recently used go first past the
limit.

No Qt here; `map_model` runs in a worker of the app, in `mnist-explorer export`, and in the tests.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from core.network import forward_layers

METHODS = {"tsne": "t-SNE", "pca": "PCA"}  # key -> the name the user reads
PCA_DIMS = 50  # t-SNE's neighbours are searched in the first 50 principal components (the usual practice)
KNN_K = 10  # neighbours counted by knn_agreement
MAX_MAPS = 120  # maps MapCache keeps (140 KB each for 10,000 images: 16.8 MB at most)
EXAGGERATION = 12.0  # openTSNE's default early exaggeration
# The FFT grid has a point every 1/INTS_IN_INTERVAL units of the map, and a map of 10,000 images spans 100-150:
# 2 (openTSNE's default is 1) makes each iteration 2-3 times cheaper with the same neighbour agreement (0.933).
INTS_IN_INTERVAL = 2
CHUNK = 1000  # images per forward pass when collecting a layer's activations
WIDE_LAYER = 4096  # a layer wider than this (a convolution's feature maps) is randomly projected ...
RANDOM_DIMS = 512  # ... to this many dimensions before its principal components


@dataclass(frozen=True)
class Schedule:
    """t-SNE's iterations: a fresh map's exaggerated phase and its main phase; a map continued from a neighbour
    epoch's map runs only `continued` iterations (no exaggeration: its clusters are already formed)."""

    exaggerated: int = 250
    main: int = 400
    continued: int = 200
    perplexity: float = 30.0


SCHEDULE = Schedule()


@dataclass
class LayerMap:
    """One epoch's map of one layer: `coords[i]` is test image `indices[i]`."""

    coords: np.ndarray  # (n, 2) float32
    indices: np.ndarray  # (n,) int32, into the test split
    labels: np.ndarray  # (n,) uint8, the given labels
    predicted: np.ndarray  # (n,) uint8, the network's answers at this epoch
    layer: str  # the layer's name, as layer_names gives it
    method: str  # a METHODS key
    agreement: float  # knn_agreement of the map
    seconds: float = 0.0  # time taken to compute it
    started_from: int | None = None  # the epoch whose map it started from (None: a fresh map)
    total: int = 0  # how many test images the map's images were drawn from (0: unknown)

    @property
    def nbytes(self) -> int:
        return int(self.coords.nbytes + self.indices.nbytes + self.labels.nbytes + self.predicted.nbytes)

    @property
    def wrong(self) -> np.ndarray:
        return self.labels != self.predicted


# --- activations ------------------------------------------------------------------------------------------------
def _network_layers(network, x) -> list[tuple[str, np.ndarray]]:
    """(name, (N, d)) of each hidden layer: core.convnet's hidden_activations (MLPs and CNNs), else the MLP's own
    forward pass."""
    try:
        from core.convnet import hidden_activations as network_activations
    except ImportError:  # pragma: no cover - core.convnet ships with the app; kept for a core without it
        inputs = forward_layers(network, x)[0][1:]
        return [(f"hidden {i} ({a.shape[1]})", a) for i, a in enumerate(inputs, start=1)]
    return list(network_activations(network, x))


def _output_layer(probs: np.ndarray, output: str) -> tuple[str, np.ndarray]:
    """The output layer as a map sees it: softmax log-probabilities (the logits less each image's log-sum-exp),
    or a sigmoid layer's logits."""
    p = np.clip(np.asarray(probs, dtype=np.float64), 1e-12, 1.0)
    values = np.log(p) if output == "softmax" else np.log(p) - np.log1p(-np.minimum(p, 1 - 1e-12))
    return f"output ({probs.shape[1]} classes)", values


def layer_activations(model, images, layer: int, chunk: int = CHUNK):
    """(name, activations (N, d), probabilities (N, classes)) of layer number `layer` (hidden layers first, the
    output layer last) for uint8 `images`, computed a chunk of images at a time so a wide convolution layer
    never holds every layer of 10,000 images at once. A layer wider than WIDE_LAYER is reduced to RANDOM_DIMS
    by a fixed random projection (distances kept within a few percent, Johnson-Lindenstrauss)."""
    names, parts, probs, projector = None, [], [], None
    for start in range(0, len(images), chunk):
        part = np.asarray(images[start : start + chunk])
        p = model.predict_proba(part)
        layers = _network_layers(model.network, model.scale(part)) + [_output_layer(p, model.network.output)]
        if not 0 <= layer < len(layers):
            raise ValueError(f"The network has {len(layers)} layers to map; layer {layer} does not exist.")
        names = names or [name for name, _ in layers]
        a = np.asarray(layers[layer][1], dtype=np.float32).reshape(len(part), -1)
        if a.shape[1] > WIDE_LAYER:
            if projector is None:
                rng = np.random.default_rng(0)
                projector = (rng.standard_normal((a.shape[1], RANDOM_DIMS)) / np.sqrt(RANDOM_DIMS)).astype(
                    np.float32
                )
            a = a @ projector
        parts.append(a)
        probs.append(p)
    if names is None:
        raise ValueError("A map needs at least one image.")
    return names[layer], np.concatenate(parts), np.concatenate(probs)


def layer_names(model, images) -> list[str]:
    """The names of the layers a map can show (hidden layers, then the output), found on one image."""
    one = np.asarray(images[:1])
    layers = _network_layers(model.network, model.scale(one))
    return [name for name, _ in layers] + [_output_layer(model.predict_proba(one), model.network.output)[0]]


def sample_indices(n_images: int, size: int = 0, seed: int = 0) -> np.ndarray:
    """The test images a map shows: all of them (size 0 or >= n_images), else `size` of them drawn at random
    with `seed`, in increasing order (int32)."""
    if size <= 0 or size >= n_images:
        return np.arange(n_images, dtype=np.int32)
    chosen = np.random.default_rng(seed).choice(n_images, size=size, replace=False)
    return np.sort(chosen).astype(np.int32)


# --- the maps ---------------------------------------------------------------------------------------------------
def principal_components(features: np.ndarray, dims: int) -> np.ndarray:
    """The centred features projected on their first `dims` principal directions (float64), signs fixed so the
    largest loading of each direction is positive (the same data gives the same picture on every machine)."""
    x = np.asarray(features, dtype=np.float64)
    x = x - x.mean(axis=0)
    dims = min(dims, x.shape[1], max(x.shape[0] - 1, 1))
    covariance = x.T @ x  # (d, d): cheaper than an SVD of the (N, d) matrix when N >> d
    values, vectors = np.linalg.eigh(covariance)
    vectors = vectors[:, np.argsort(values)[::-1][:dims]]
    signs = np.sign(vectors[np.abs(vectors).argmax(axis=0), np.arange(vectors.shape[1])])
    return x @ (vectors * np.where(signs == 0, 1.0, signs))


def project(features, method: str = "tsne", previous: np.ndarray | None = None, seed: int = 0,
            n_jobs: int = 1, schedule: Schedule = SCHEDULE, progress: Callable | None = None) -> np.ndarray:  # fmt: skip
    """2-D coordinates (N, 2) float32 of `features` (N, d). `previous` (N, 2): a neighbour epoch's map of the same
    images, which this one starts from (t-SNE) or is rotated onto (PCA). `progress(done, total)` is called along
    the way; an exception raised from it ends the computation."""
    if method not in METHODS:
        raise ValueError(f"Unknown map method {method!r}; choose one of {', '.join(METHODS)}.")
    features = np.asarray(features)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"A map needs at least two images' activations, (N, d); got shape {features.shape}.")
    if previous is not None and np.shape(previous) != (len(features), 2):
        raise ValueError(f"The previous map has shape {np.shape(previous)}, not ({len(features)}, 2).")
    report = progress or (lambda done, total: None)
    if method == "pca":
        coords = principal_components(features, 2)
        if coords.shape[1] < 2:
            coords = np.column_stack([coords, np.zeros(len(coords))])
        if previous is not None:
            coords = _rotated_onto(coords, np.asarray(previous, dtype=np.float64))
        report(1, 1)
        return coords.astype(np.float32)
    return _tsne(principal_components(features, PCA_DIMS), previous, seed, n_jobs, schedule, report)


def _tsne(reduced, previous, seed, n_jobs, schedule, report) -> np.ndarray:
    from openTSNE import TSNEEmbedding, affinity, initialization

    n = len(reduced)
    perplexity = min(schedule.perplexity, max((n - 1) / 3.0, 1.0))  # openTSNE needs 3 * perplexity < n
    fresh = previous is None
    steps = [(schedule.exaggerated, EXAGGERATION, 0.5), (schedule.main, None, 0.8)] if fresh else [
        (schedule.continued, None, 0.8)]  # fmt: skip
    total = sum(s[0] for s in steps) + 1
    report(0, total)
    neighbours = affinity.PerplexityBasedNN(reduced, perplexity=perplexity, n_jobs=n_jobs, random_state=seed,
                                            verbose=False)  # fmt: skip
    report(1, total)
    start = initialization.pca(reduced, random_state=seed) if fresh else np.array(previous, dtype=np.float64)
    embedding = TSNEEmbedding(
        start, neighbours, n_jobs=n_jobs, random_state=seed, verbose=False, ints_in_interval=INTS_IN_INTERVAL
    )
    done = 1
    for iterations, exaggeration, momentum in steps:
        if iterations <= 0:
            continue

        def tick(iteration, _error, _embedding, base=done):
            report(base + iteration, total)

        embedding = embedding.optimize(n_iter=iterations, exaggeration=exaggeration, momentum=momentum,
                                       callbacks=tick, callbacks_every_iters=10)  # fmt: skip
        done += iterations
    report(total, total)
    coords = np.asarray(embedding, dtype=np.float64)
    if not fresh:
        # t-SNE keeps expanding a map it continues (about 6% per continuation): give the map its starting map's
        # size, so the points stay where the eye left them and only what changed moves.
        coords = _same_size(coords, np.asarray(previous, dtype=np.float64))
    return coords.astype(np.float32)


def _same_size(coords: np.ndarray, target: np.ndarray) -> np.ndarray:
    """`coords` scaled about its centre to `target`'s root-mean-square radius."""
    centre = coords.mean(axis=0)
    radius = np.sqrt(np.mean(np.sum((coords - centre) ** 2, axis=1)))
    wanted = np.sqrt(np.mean(np.sum((target - target.mean(axis=0)) ** 2, axis=1)))
    return (coords - centre) * (wanted / radius if radius > 0 else 1.0) + centre


def _rotated_onto(coords: np.ndarray, target: np.ndarray) -> np.ndarray:
    """`coords` rotated (or reflected) about its centre to lie as close as it can to `target`'s, keeping its
    shape and scale: PCA's axes may swap or flip from one epoch to the next."""
    from scipy.linalg import orthogonal_procrustes

    centre = coords.mean(axis=0)
    rotation, _ = orthogonal_procrustes(coords - centre, target - target.mean(axis=0))
    return (coords - centre) @ rotation + centre


def knn_agreement(coords, labels, k: int = KNN_K) -> float:
    """The share of each point's k nearest neighbours (in `coords`, any dimension) that carry its label: 1.0 when
    every digit keeps to its own kind, about 0.1 for ten labels scattered at random."""
    from scipy.spatial import cKDTree

    coords = np.asarray(coords, dtype=np.float64)
    labels = np.asarray(labels)
    k = min(k, len(coords) - 1)
    if k < 1:
        return float("nan")
    _, neighbours = cKDTree(coords).query(coords, k=k + 1)
    return float(np.mean(labels[neighbours[:, 1:]] == labels[:, None]))


def map_model(model, images, labels, layer: int = 0, method: str = "tsne", indices=None, previous=None,
              seed: int = 0, n_jobs: int = 1, schedule: Schedule = SCHEDULE, progress=None) -> LayerMap:  # fmt: skip
    """The map of layer number `layer` (an index into layer_names) of `model` for the test images `indices`
    (default: all). `previous` is a neighbour epoch's LayerMap of the same images and layer, or None."""
    start = time.perf_counter()
    indices = np.arange(len(images), dtype=np.int32) if indices is None else np.asarray(indices, np.int32)
    chosen = np.asarray(images)[indices]
    name, activations, probs = layer_activations(model, chosen, layer)
    predicted = probs.argmax(axis=1).astype(np.uint8)
    coords = project(activations, method, None if previous is None else previous.coords, seed, n_jobs, schedule,
                     progress)  # fmt: skip
    given = np.asarray(labels)[indices].astype(np.uint8)
    return LayerMap(coords=coords, indices=indices, labels=given, predicted=predicted, layer=name,
                    method=method, agreement=knn_agreement(coords, given), seconds=time.perf_counter() - start,
                    total=len(images))  # fmt: skip


# --- the cache --------------------------------------------------------------------------------------------------
@dataclass
class MapCache:
    """Each run's maps, computed once: key (run, layer, method, sample size, epoch) -> LayerMap. At most
    `limit` maps are kept (the least recently used go first). Thread-safe: a worker stores, the GUI reads."""

    limit: int = MAX_MAPS
    _maps: OrderedDict = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: tuple) -> LayerMap | None:
        with self._lock:
            found = self._maps.get(key)
            if found is not None:
                self._maps.move_to_end(key)
            return found

    def put(self, key: tuple, layer_map: LayerMap) -> None:
        with self._lock:
            self._maps[key] = layer_map
            self._maps.move_to_end(key)
            while len(self._maps) > self.limit:
                self._maps.popitem(last=False)

    def nearest(self, key: tuple) -> tuple[int, LayerMap] | None:
        """The map of the same run, layer, method and sample at the epoch nearest to key's (the last item),
        earlier preferred; (epoch, map) or None."""
        *chain, epoch = key
        with self._lock:
            epochs = [k[-1] for k in self._maps if list(k[:-1]) == chain and k[-1] != epoch]
            if not epochs:
                return None
            best = min(epochs, key=lambda e: (abs(e - epoch), e > epoch))
            return best, self._maps[(*chain, best)]

    def stored_keys(self) -> list[tuple]:
        with self._lock:
            return list(self._maps)

    def drop_run(self, run_key) -> None:
        with self._lock:
            for key in [k for k in self._maps if k[0] == run_key]:
                del self._maps[key]

    def __len__(self) -> int:
        return len(self._maps)

    @property
    def nbytes(self) -> int:
        with self._lock:
            return sum(m.nbytes for m in self._maps.values())
