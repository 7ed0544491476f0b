"""Model files of convolutional networks: the round trip, the documented layout, and what is refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core import model_io
from core.convnet import ConvNetwork, init_convnet
from core.model_io import Model, ModelError
from core.training import TrainConfig

HIDDEN = ("c4k3", "p2", "c6k3s", "p2", "d0.5", 12)


def make_model(hidden=HIDDEN, dropout=0.0) -> Model:
    cfg = TrainConfig(hidden=hidden, dropout=dropout, epochs=1)
    net = init_convnet(hidden, 10, dropout=dropout, rng=1)
    for p in net.params[1::2]:
        p[:] = np.random.default_rng(2).normal(size=p.shape)
    return Model(network=net, config=cfg, dataset="mnist", classes=[str(i) for i in range(10)],
                 preprocessing={"scaling": "unit"}, history=[{"epoch": 1, "test_accuracy": 0.5}])  # fmt: skip


def arrays_and_meta(path):
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return arrays, json.loads(str(arrays["meta"]))


def rewrite(path, arrays, meta=None):
    if meta is not None:
        arrays["meta"] = np.array(json.dumps(meta))
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def refused(path, *words):
    with pytest.raises(ModelError) as info:
        model_io.load(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    for word in words:
        assert word in message, message


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_round_trip_gives_the_same_network_and_predictions(tmp_path, dropout):
    model = make_model(dropout=dropout)
    model_io.save(tmp_path / "cnn.npz", model)
    back = model_io.load(tmp_path / "cnn.npz")
    assert isinstance(back.network, ConvNetwork) and back.config == model.config
    assert [layer.kind for layer in back.network.layers] == [layer.kind for layer in model.network.layers]
    for a, b in zip(back.network.params, model.network.params, strict=True):
        np.testing.assert_array_equal(a, b)
    images = np.random.default_rng(0).integers(0, 256, (20, 28, 28), dtype=np.uint8)
    np.testing.assert_array_equal(back.predict_proba(images), model.predict_proba(images))


def test_file_layout_is_the_documented_one(tmp_path):
    model_io.save(tmp_path / "cnn.npz", make_model())
    arrays, meta = arrays_and_meta(tmp_path / "cnn.npz")
    shapes = {k: v.shape for k, v in arrays.items() if k != "meta"}
    assert shapes == {"W0": (3, 3, 1, 4), "b0": (4,), "W1": (3, 3, 4, 6), "b1": (6,),
                      "W2": (6 * 6 * 6, 12), "b2": (12,), "W3": (12, 10), "b3": (10,)}  # fmt: skip
    assert meta["layers"] == [
        {"type": "conv", "filters": 4, "kernel": 3, "padding": "valid"},
        {"type": "pool", "size": 2},
        {"type": "conv", "filters": 6, "kernel": 3, "padding": "same"},
        {"type": "pool", "size": 2},
        {"type": "dropout", "rate": 0.5},
        {"type": "flatten"},
        {"type": "dense", "units": 12},
        {"type": "dense", "units": 10},
    ]
    assert meta["config"]["hidden"] == list(HIDDEN)
    assert all(a.dtype == np.float32 for k, a in arrays.items() if k != "meta")


def test_an_unknown_layer_type_is_refused_with_one_sentence(tmp_path):
    path = tmp_path / "cnn.npz"
    model_io.save(path, make_model())
    arrays, meta = arrays_and_meta(path)
    meta["layers"][1] = {"type": "avgpool", "size": 2}
    rewrite(path, arrays, meta)
    refused(path, "unknown type 'avgpool'", "conv, pool, flatten, dropout, dense")


def test_layers_shapes_and_values_that_disagree_are_refused(tmp_path):
    path = tmp_path / "cnn.npz"
    model_io.save(path, make_model())
    arrays, meta = arrays_and_meta(path)
    arrays["W1"] = np.zeros((5, 5, 4, 6), np.float32)
    rewrite(path, arrays)
    refused(path, "W1", "(3, 3, 4, 6)")
    arrays, meta = arrays_and_meta(path)
    arrays["W1"] = np.full((3, 3, 4, 6), np.nan, np.float32)
    rewrite(path, arrays)
    refused(path, "non-finite")
    model_io.save(path, make_model())
    arrays, meta = arrays_and_meta(path)
    meta["layers"][0]["filters"] = 5
    rewrite(path, arrays, meta)
    refused(path, "do not match its config")
    model_io.save(path, make_model())
    arrays, meta = arrays_and_meta(path)
    del meta["layers"]  # 4-D weights in what now claims to be an MLP
    rewrite(path, arrays, meta)
    refused(path, "4-D")
    model_io.save(path, make_model())
    arrays, meta = arrays_and_meta(path)
    meta["config"]["hidden"] = [16]
    rewrite(path, arrays, meta)
    refused(path, "MLP")


def test_mlp_files_still_load_as_mlps(tmp_path):
    from core.network import Network, init_network

    cfg = TrainConfig(hidden=(16,))
    model = Model(init_network([784, 16, 10], rng=0), cfg, "mnist", [str(i) for i in range(10)], {"scaling": "unit"})
    model_io.save(tmp_path / "mlp.npz", model)
    _, meta = arrays_and_meta(tmp_path / "mlp.npz")
    assert "layers" not in meta and meta["layer_sizes"] == [784, 16, 10]
    assert isinstance(model_io.load(tmp_path / "mlp.npz").network, Network)
