"""core.projection on a small MLP trained for a few seconds on the bundled MNIST: the map keeps the digits apart,
a map started from the previous epoch's stays where it was when the weights barely change, the same seed gives
the same map, and the cache keeps each epoch's map once and within its limit."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from core import datasets, projection
from core.model_io import Model
from core.training import TrainConfig, Trainer

# A short schedule: the tests map 1,500 images, where this converges well within a few seconds.
QUICK = projection.Schedule(exaggerated=100, main=150, continued=60)
N_IMAGES = 1500


@functools.cache
def _mnist():
    return datasets.load("mnist")


@functools.cache
def _trained() -> Model:
    """A 784-64-10 ReLU network trained on 4,000 MNIST digits for 3 epochs (about 94% on the test images)."""
    dataset = _mnist()
    trainer = Trainer(TrainConfig(hidden=(64,), epochs=3, train_limit=4000, batch_size=64, seed=0), dataset)
    trainer.fit()
    return Model.from_trainer(trainer, dataset)


@pytest.fixture
def model() -> Model:
    return _trained()


@pytest.fixture
def test_split():
    dataset = _mnist()
    return dataset.test_images, dataset.test_labels


def _indices():
    return projection.sample_indices(10_000, N_IMAGES, seed=0)


def test_layers_of_an_mlp_are_its_hidden_layers_then_the_output(model, test_split):
    images, _ = test_split
    assert projection.layer_names(model, images) == ["hidden 1 (64)", "output (10 classes)"]
    name, hidden, probs = projection.layer_activations(model, images[:2500], 0, chunk=1000)
    assert name == "hidden 1 (64)" and hidden.shape == (2500, 64) and probs.shape == (2500, 10)
    x = model.scale(images[:2500])
    expected = np.maximum(
        x @ model.network.weights[0] + model.network.biases[0], 0
    )  # ReLU of the first layer
    np.testing.assert_allclose(hidden, expected, rtol=1e-4, atol=1e-5)
    name, output, _ = projection.layer_activations(model, images[:5], 1)
    np.testing.assert_allclose(
        np.exp(output), model.predict_proba(images[:5]), rtol=1e-5
    )  # log-probabilities


def test_map_shapes_and_contents(model, test_split):
    images, labels = test_split
    indices = _indices()
    layer_map = projection.map_model(model, images, labels, 0, "tsne", indices, schedule=QUICK)
    assert layer_map.coords.shape == (N_IMAGES, 2) and layer_map.coords.dtype == np.float32
    assert np.isfinite(layer_map.coords).all()
    np.testing.assert_array_equal(layer_map.indices, indices)
    np.testing.assert_array_equal(layer_map.labels, labels[indices])
    expected = model.predict_proba(images[indices]).argmax(axis=1)
    np.testing.assert_array_equal(layer_map.predicted, expected)
    assert layer_map.layer == "hidden 1 (64)" and layer_map.method == "tsne"
    assert layer_map.nbytes == N_IMAGES * (8 + 4 + 1 + 1)


def test_the_digits_stay_apart_in_the_tsne_map(model, test_split):
    """Separation: the 10 nearest neighbours of a point in the 2-D map mostly share its label (1/10 would be a
    random cloud), nearly as often as in the layer itself, and far more often than in the PCA map."""
    images, labels = test_split
    indices = _indices()
    tsne = projection.map_model(model, images, labels, 0, "tsne", indices, schedule=QUICK)
    pca = projection.map_model(model, images, labels, 0, "pca", indices)
    hidden = projection.layer_activations(model, images[indices], 0)[1]
    in_layer = projection.knn_agreement(hidden, labels[indices])
    assert tsne.agreement >= 0.85
    assert tsne.agreement >= in_layer - 0.05
    assert tsne.agreement > pca.agreement + 0.2


def test_knn_agreement_of_known_layouts():
    labels = np.repeat(np.arange(4), 25)
    apart = np.column_stack([labels * 100.0, np.tile(np.arange(25.0), 4)])  # four far-apart columns
    assert projection.knn_agreement(apart, labels, k=5) == 1.0
    shuffled = np.random.default_rng(0).permutation(labels)
    assert projection.knn_agreement(apart, shuffled, k=5) < 0.5


def _nudged(model: Model, scale: float, seed: int = 1) -> Model:
    """The model with every weight changed by a relative `scale` of noise: "the weights barely change"."""
    rng = np.random.default_rng(seed)
    network = model.network.copy()
    for w in network.weights:
        w += (scale * np.abs(w).mean() * rng.standard_normal(w.shape)).astype(w.dtype)
    return Model(network, model.config, model.dataset, model.classes, model.preprocessing, model.history)


def test_a_map_started_from_the_previous_epoch_stays_close(model, test_split):
    images, labels = test_split
    indices = _indices()
    first = projection.map_model(model, images, labels, 0, "tsne", indices, schedule=QUICK)
    later = _nudged(model, 1e-3)
    continued = projection.map_model(
        later, images, labels, 0, "tsne", indices, previous=first, schedule=QUICK
    )
    spread = np.linalg.norm(first.coords - first.coords.mean(axis=0), axis=1).mean()
    moved = np.linalg.norm(continued.coords - first.coords, axis=1)
    assert np.median(moved) < 0.05 * spread  # the points stay where they were
    assert continued.agreement >= 0.85
    # The map follows the map it starts from, whatever its orientation: started from the mirror image, it stays
    # the mirror image (far from the first map), so the epochs of a run stay in one frame.
    mirrored = projection.LayerMap(first.coords * np.float32([-1, 1]), first.indices, first.labels,
                                   first.predicted, first.layer, "tsne", first.agreement)  # fmt: skip
    followed = projection.map_model(
        later, images, labels, 0, "tsne", indices, previous=mirrored, schedule=QUICK
    )
    assert np.median(np.linalg.norm(followed.coords - mirrored.coords, axis=1)) < 0.05 * spread
    assert np.median(np.linalg.norm(followed.coords - first.coords, axis=1)) > 0.5 * spread


def test_pca_maps_are_rotated_onto_the_previous_one(model, test_split):
    images, labels = test_split
    indices = _indices()
    first = projection.map_model(model, images, labels, 0, "pca", indices)
    flipped = projection.LayerMap(-first.coords[:, ::-1].copy(), first.indices, first.labels, first.predicted,
                                  first.layer, "pca", first.agreement)  # fmt: skip
    aligned = projection.map_model(model, images, labels, 0, "pca", indices, previous=flipped)
    np.testing.assert_allclose(aligned.coords, flipped.coords, atol=1e-3 * np.abs(first.coords).max())


def test_the_same_seed_gives_the_same_map(model, test_split):
    images, labels = test_split
    indices = _indices()[:600]
    one = projection.map_model(model, images, labels, 0, "tsne", indices, seed=3, schedule=QUICK)
    two = projection.map_model(model, images, labels, 0, "tsne", indices, seed=3, schedule=QUICK)
    np.testing.assert_array_equal(one.coords, two.coords)
    np.testing.assert_array_equal(
        projection.sample_indices(10_000, 2000, 5), projection.sample_indices(10_000, 2000, 5)
    )


def test_sample_indices():
    everything = projection.sample_indices(100, 0)
    np.testing.assert_array_equal(everything, np.arange(100))
    assert projection.sample_indices(100, 500).size == 100
    some = projection.sample_indices(10_000, 2000, seed=1)
    assert some.size == 2000 and np.all(np.diff(some) > 0) and some.dtype == np.int32


def test_bad_requests_say_what_is_wrong(model, test_split):
    images, labels = test_split
    with pytest.raises(ValueError, match="Unknown map method"):
        projection.project(np.zeros((5, 3)), "umap")
    with pytest.raises(ValueError, match="layer 5 does not exist"):
        projection.map_model(model, images, labels, 5, "pca", np.arange(20))
    with pytest.raises(ValueError, match="previous map has shape"):
        projection.project(np.zeros((5, 3)), "pca", previous=np.zeros((4, 2)))


def _fake_map(n=10) -> projection.LayerMap:
    return projection.LayerMap(np.zeros((n, 2), np.float32), np.arange(n, dtype=np.int32), np.zeros(n, np.uint8),
                               np.zeros(n, np.uint8), "hidden 1", "tsne", 1.0)  # fmt: skip


def test_cache_finds_the_nearest_epoch_earlier_first_and_keeps_its_limit():
    cache = projection.MapCache(limit=4)
    for epoch in (2, 4, 6):
        cache.put(("run 1", 0, "tsne", 0, epoch), _fake_map())
    cache.put(("run 2", 0, "tsne", 0, 5), _fake_map())
    assert cache.nearest(("run 1", 0, "tsne", 0, 5))[0] == 4  # 4 and 6 are as near: the earlier one
    assert cache.nearest(("run 1", 0, "tsne", 0, 1))[0] == 2
    assert cache.nearest(("run 1", 1, "tsne", 0, 3)) is None  # another layer is another chain
    assert cache.nearest(("run 1", 0, "pca", 0, 3)) is None
    cache.get(("run 1", 0, "tsne", 0, 2))  # used: kept over the least recently used (epoch 4)
    cache.put(("run 1", 0, "tsne", 0, 8), _fake_map())
    assert len(cache) == 4 and cache.get(("run 1", 0, "tsne", 0, 4)) is None
    assert cache.get(("run 1", 0, "tsne", 0, 2)) is not None
    assert cache.nbytes == 4 * _fake_map().nbytes
    cache.drop_run("run 1")
    assert len(cache) == 1
