"""Model files: save then load gives the same model; anything else is refused with a clear ModelError."""

from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np
import pytest

from core import model_io
from core.model_io import Model, ModelError
from core.network import init_network
from core.training import TrainConfig


def make_model(hidden=(16, 8), use_bias=True, activation="relu", output="softmax", scaling="unit") -> Model:
    cfg = TrainConfig(
        hidden=hidden, activation=activation, output=output, use_bias=use_bias, scaling=scaling, epochs=2
    )
    net = init_network([784, *hidden, 10], activation, output, "he", use_bias, rng=1, dtype=np.float32)
    if use_bias:
        for b in net.biases:
            b[:] = np.random.default_rng(2).normal(size=b.shape)
    history = [
        {"epoch": 1, "train_loss": 0.5, "train_accuracy": 0.8, "test_loss": 0.4, "test_accuracy": 0.85},
        {"epoch": 2, "train_loss": 0.3, "train_accuracy": 0.9, "test_loss": 0.35, "test_accuracy": 0.875},
    ]
    return Model(
        network=net,
        config=cfg,
        dataset="mnist",
        classes=[str(i) for i in range(10)],
        preprocessing={"scaling": scaling, "mean": 0.1307, "std": 0.3081},
        history=history,
    )


def images(n=50, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 28, 28), dtype=np.uint8)


def arrays_of(path) -> dict:
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def write_npz(path, arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {
            "use_bias": False,
            "activation": "sigmoid",
            "output": "sigmoid",
            "scaling": "rashid",
            "hidden": (20,),
        },
        {"scaling": "standard", "hidden": ()},
    ],
)
def test_round_trip_gives_identical_predictions_config_and_history(tmp_path, kwargs):
    model = make_model(**kwargs)
    path = tmp_path / "model.npz"
    model_io.save(path, model)
    loaded = model_io.load(path)
    x = images()
    np.testing.assert_array_equal(loaded.predict_proba(x), model.predict_proba(x))
    assert loaded.config == model.config
    assert loaded.history == model.history
    assert loaded.classes == model.classes and loaded.dataset == "mnist"
    assert loaded.preprocessing == model.preprocessing
    assert loaded.network.layer_sizes == model.network.layer_sizes
    for w0, w1 in zip(model.network.weights, loaded.network.weights, strict=True):
        assert w1.dtype == np.float32
        np.testing.assert_array_equal(w0, w1)
    if not model.config.use_bias:
        assert all(b is None for b in loaded.network.biases)
        assert not any(k.startswith("b") for k in arrays_of(path))  # no biases: no bi members at all


def test_file_layout_follows_the_design(tmp_path):
    path = tmp_path / "m.npz"
    model_io.save(path, make_model())
    arrays = arrays_of(path)
    assert sorted(arrays) == ["W0", "W1", "W2", "b0", "b1", "b2", "meta"]
    assert arrays["W0"].shape == (784, 16) and arrays["b1"].shape == (8,) and arrays["W2"].shape == (8, 10)
    meta = json.loads(str(arrays["meta"]))
    for key in ("format_version", "config", "dataset", "classes", "preprocessing", "history"):
        assert key in meta
    assert meta["format_version"] == model_io.FORMAT_VERSION
    assert meta["config"]["hidden"] == [16, 8]


def test_save_is_atomic_and_keeps_the_previous_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    model_io.save(path, make_model())
    before = path.read_bytes()

    def broken_savez(f, **arrays):
        f.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(ModelError, match="No space left"):
        model_io.save(path, make_model(hidden=(4,)))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]  # no temp file left behind


def test_save_into_a_missing_folder_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="cannot write"):
        model_io.save(tmp_path / "nope" / "m.npz", make_model())


def refused(path, *words):
    with pytest.raises(ModelError) as info:
        model_io.load(path)
    message = str(info.value)
    assert str(path) in message
    for word in words:
        assert word in message, message
    assert "\n" not in message
    return message


def saved_arrays(tmp_path):
    path = tmp_path / "good.npz"
    model_io.save(path, make_model())
    return arrays_of(path)


def test_missing_file(tmp_path):
    refused(tmp_path / "absent.npz", "does not exist")


def test_not_a_zip(tmp_path):
    path = tmp_path / "junk.npz"
    path.write_bytes(b"this is not a model" * 100)
    refused(path, "not a model file")


def test_truncated_file(tmp_path):
    path = tmp_path / "m.npz"
    model_io.save(path, make_model())
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 30):
        path.write_bytes(data[:cut])
        refused(path)


def test_corrupted_bytes_inside_an_array(tmp_path):
    path = tmp_path / "m.npz"
    model_io.save(path, make_model())
    data = bytearray(path.read_bytes())
    data[2000:2100] = bytes(100)  # inside W0's data: the zip CRC no longer matches
    path.write_bytes(bytes(data))
    refused(path)


def test_pickled_object_array_is_refused_without_running_it(tmp_path):
    arrays = saved_arrays(tmp_path)
    arrays["meta"] = np.array([{"format_version": 1}], dtype=object)
    path = tmp_path / "pickled.npz"
    with open(path, "wb") as f:
        np.savez(f, **arrays)  # an object array is pickled into the file
    refused(path, "pickled")


def test_mis_shaped_weights(tmp_path):
    arrays = saved_arrays(tmp_path)
    arrays["W1"] = np.zeros((9, 8), np.float32)  # W0 gives 16 outputs
    write_npz(tmp_path / "bad.npz", arrays)
    refused(tmp_path / "bad.npz", "W1", "does not follow")
    arrays = saved_arrays(tmp_path)
    arrays["W0"] = np.zeros((100, 16), np.float32)
    write_npz(tmp_path / "bad2.npz", arrays)
    refused(tmp_path / "bad2.npz", "784")
    arrays = saved_arrays(tmp_path)
    arrays["b0"] = np.zeros(3, np.float32)
    write_npz(tmp_path / "bad3.npz", arrays)
    refused(tmp_path / "bad3.npz", "b0")


def test_wrong_dtype_and_missing_bias(tmp_path):
    arrays = saved_arrays(tmp_path)
    arrays["W0"] = arrays["W0"].astype(np.float64)
    write_npz(tmp_path / "f64.npz", arrays)
    refused(tmp_path / "f64.npz", "float32")
    arrays = saved_arrays(tmp_path)
    del arrays["b1"]
    write_npz(tmp_path / "nob1.npz", arrays)
    refused(tmp_path / "nob1.npz", "b1")


def test_missing_meta(tmp_path):
    arrays = saved_arrays(tmp_path)
    del arrays["meta"]
    write_npz(tmp_path / "nometa.npz", arrays)
    refused(tmp_path / "nometa.npz", "no 'meta'")


def test_meta_not_json(tmp_path):
    arrays = saved_arrays(tmp_path)
    arrays["meta"] = np.array("{not json")
    write_npz(tmp_path / "m.npz", arrays)
    refused(tmp_path / "m.npz", "not valid JSON")


def test_meta_without_required_keys(tmp_path):
    arrays = saved_arrays(tmp_path)
    meta = json.loads(str(arrays["meta"]))
    del meta["history"], meta["classes"]
    arrays["meta"] = np.array(json.dumps(meta))
    write_npz(tmp_path / "m.npz", arrays)
    refused(tmp_path / "m.npz", "classes", "history")


def test_wrong_format_version(tmp_path):
    arrays = saved_arrays(tmp_path)
    meta = json.loads(str(arrays["meta"]))
    meta["format_version"] = 99
    arrays["meta"] = np.array(json.dumps(meta))
    write_npz(tmp_path / "m.npz", arrays)
    refused(tmp_path / "m.npz", "format_version 99", "newer")


def test_nan_weights(tmp_path):
    arrays = saved_arrays(tmp_path)
    arrays["W1"][0, 0] = np.nan
    write_npz(tmp_path / "m.npz", arrays)
    refused(tmp_path / "m.npz", "NaN")


def test_config_that_disagrees_with_the_weights(tmp_path):
    arrays = saved_arrays(tmp_path)
    meta = json.loads(str(arrays["meta"]))
    meta["config"]["hidden"] = [16]
    arrays["meta"] = np.array(json.dumps(meta))
    write_npz(tmp_path / "m.npz", arrays)
    refused(tmp_path / "m.npz", "hidden")


def test_invalid_config_value(tmp_path):
    arrays = saved_arrays(tmp_path)
    meta = json.loads(str(arrays["meta"]))
    meta["config"]["activation"] = "banana"
    arrays["meta"] = np.array(json.dumps(meta))
    write_npz(tmp_path / "m.npz", arrays)
    refused(tmp_path / "m.npz", "config")


def forged_member(name: str, header_shape: tuple, payload: bytes) -> bytes:
    """A .npy member whose header claims `header_shape` float32 but holds only `payload`."""
    buf = io.BytesIO()
    header = {"descr": "<f4", "fortran_order": False, "shape": header_shape}
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue() + payload


def test_forged_header_claiming_a_huge_array_is_refused_before_allocating(tmp_path):
    good = tmp_path / "good.npz"
    model_io.save(good, make_model())
    path = tmp_path / "forged.npz"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "W0.npy":  # claims 784 x 2**31 floats (6 TB)
                data = forged_member("W0", (784, 2**31), data[128:])
            dst.writestr(info.filename, data)
    refused(path, "W0")


def test_member_claiming_more_than_the_size_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(model_io, "MAX_MEMBER_BYTES", 1000)
    path = tmp_path / "m.npz"
    model_io.save(path, make_model())
    refused(path, "claims")


def test_unexpected_member(tmp_path):
    arrays = saved_arrays(tmp_path)
    arrays["evil"] = np.zeros(3, np.float32)
    write_npz(tmp_path / "m.npz", arrays)
    refused(tmp_path / "m.npz", "evil")


def test_directory_is_not_a_model(tmp_path):
    os.mkdir(tmp_path / "dir.npz")
    refused(tmp_path / "dir.npz", "not a file")
