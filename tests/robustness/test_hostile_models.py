"""Hostile model files through `core.model_io.load`: each is refused with a clear ModelError and nothing runs.

The starting point is a real model (a 784-32-10 network trained for one epoch on 1,000 MNIST images) saved by
`model_io.save`. Its members are then replaced one at a time: pickled object arrays whose `__reduce__` would
create a marker file, wrong shapes and dtypes, a missing or non-JSON meta, NaN weights, a .npy header that claims
2 GB, a zip directory that claims 2 GB, a member named to escape the folder, and so on. Every load must raise
ModelError whose one-line message names the file; no marker file may ever appear; and loading may allocate at most
a small multiple of the file's size, whatever the file claims.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import tracemalloc
import zipfile

import numpy as np
import pytest

from core import datasets, model_io
from core.model_io import Model, ModelError
from core.training import TrainConfig, Trainer

MEMORY_FACTOR = 4
MEMORY_CONSTANT = 1 << 20


class Payload:
    """Pickles as a call to open(marker, "w"): unpickling it creates the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def pickled(marker) -> np.ndarray:
    array = np.empty(1, dtype=object)
    array[0] = Payload(marker)
    return array


def npy(array) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asanyarray(array), allow_pickle=True)
    return buf.getvalue()


def forged(shape: tuple, descr: str = "<f4", data: bytes = b"\x00" * 64) -> bytes:
    """A .npy header claiming `shape` with only `data` behind it."""
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data


def archive(members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def damage_deflate(data: bytes, member: str) -> bytes:
    """Overwrite bytes in the middle of `member`'s compressed data (past its .npy header)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo(member)
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + name_len + extra_len
    out = bytearray(data)
    middle = start + info.compress_size // 2
    out[middle : middle + 64] = bytes(range(64))
    return bytes(out)


def claim_size(data: bytes, member: str, size: int) -> bytes:
    """Rewrite the zip's central directory so `member` claims `size` uncompressed bytes."""
    out = bytearray(data)
    name = member.encode()
    at = out.find(b"PK\x01\x02" + b"", 0)
    while at != -1:
        name_len = struct.unpack_from("<H", out, at + 28)[0]
        if bytes(out[at + 46 : at + 46 + name_len]) == name:
            struct.pack_into("<I", out, at + 24, size)
            return bytes(out)
        at = out.find(b"PK\x01\x02", at + 4)
    raise AssertionError(f"no member {member}")


@pytest.fixture(scope="module")
def good_model(tmp_path_factory):
    """A real trained model, its file, and its members as .npy bytes."""
    ds = datasets.load("mnist")
    config = TrainConfig(hidden=(32,), epochs=1, train_limit=1000, batch_size=100, seed=3)
    trainer = Trainer(config, ds)
    trainer.fit()
    model = Model.from_trainer(trainer, ds)
    path = tmp_path_factory.mktemp("good") / "model.npz"
    model_io.save(path, model)
    with zipfile.ZipFile(path) as zf:
        members = {info.filename: zf.read(info) for info in zf.infolist()}
    meta = json.loads(str(np.load(path)["meta"]))
    return model, path, members, meta


def hostile_cases(members: dict[str, bytes], meta: dict, marker) -> dict[str, bytes]:
    m = members
    w0 = np.load(io.BytesIO(m["W0.npy"]))
    w1 = np.load(io.BytesIO(m["W1.npy"]))

    def raw_meta(text: str) -> bytes:
        return archive({**m, "meta.npy": npy(np.array(text))})

    def with_meta(**changes):
        new = {k: v for k, v in meta.items() if k not in changes or changes[k] is not ...}
        new.update({k: v for k, v in changes.items() if v is not ...})
        return archive({**m, "meta.npy": npy(np.array(json.dumps(new)))})

    nan_w0 = w0.copy()
    nan_w0[3, 5] = np.nan
    inf_b1 = np.load(io.BytesIO(m["b1.npy"])).copy()
    inf_b1[0] = np.inf
    without = lambda name: archive({k: v for k, v in m.items() if k != name})  # noqa: E731
    cases = {
        "pickled object meta": archive({**m, "meta.npy": npy(pickled(marker))}),
        "pickled object W0": archive({**m, "W0.npy": npy(pickled(marker))}),
        "pickled object b1": archive({**m, "b1.npy": npy(pickled(marker))}),
        "an extra pickled member": archive({**m, "evil.npy": npy(pickled(marker))}),
        "a raw pickle as W1": archive({**m, "W1.npy": __import__("pickle").dumps(Payload(marker))}),
        "W0 with 100 inputs": archive({**m, "W0.npy": npy(w0[:100])}),
        "W1 not following W0": archive({**m, "W1.npy": npy(w1[:20])}),
        "b0 of the wrong length": archive({**m, "b0.npy": npy(np.zeros(31, np.float32))}),
        "W0 three-dimensional": archive({**m, "W0.npy": npy(w0.reshape(784, 4, 8))}),
        "W0 float64": archive({**m, "W0.npy": npy(w0.astype(np.float64))}),
        "W0 int32": archive({**m, "W0.npy": npy(w0.astype(np.int32))}),
        "W0 a scalar": archive({**m, "W0.npy": npy(np.float32(1))}),
        "missing meta": without("meta.npy"),
        "missing W1": without("W1.npy"),
        "missing b1 only": without("b1.npy"),
        "meta that is not JSON": archive({**m, "meta.npy": npy(np.array("{format_version: 1, oops"))}),
        "meta a JSON list": archive({**m, "meta.npy": npy(np.array("[1, 2, 3]"))}),
        "meta as bytes": archive({**m, "meta.npy": npy(np.array(json.dumps(meta).encode()))}),
        "meta as numbers": archive({**m, "meta.npy": npy(np.arange(5))}),
        "meta two-dimensional": archive({**m, "meta.npy": npy(np.array([["{}"]]))}),
        "meta without config": with_meta(config=...),
        "meta without classes": with_meta(classes=...),
        "meta without format_version": with_meta(format_version=...),
        "format_version 99": with_meta(format_version=99),
        "format_version '1'": with_meta(format_version="1"),
        "format_version true": with_meta(format_version=True),
        "three classes for ten outputs": with_meta(classes=["a", "b", "c"]),
        "config with a negative learning rate": with_meta(config={**meta["config"], "lr": -1}),
        "config with an unknown key": with_meta(config={**meta["config"], "exec": "rm -rf /"}),
        "config hidden not matching W0": with_meta(config={**meta["config"], "hidden": [64]}),
        "config a string": with_meta(config="relu"),
        "NaN in W0": archive({**m, "W0.npy": npy(nan_w0)}),
        "infinity in b1": archive({**m, "b1.npy": npy(inf_b1)}),
        "2 GB .npy header claim": archive({**m, "W0.npy": forged((784, 700_000))}),
        "2**62-element header claim": archive({**m, "W1.npy": forged((2**31, 2**31))}),
        "negative shape claim": archive({**m, "b0.npy": forged((-32,))}),
        "2 GB zip directory claim": claim_size(archive(m), "W0.npy", 0x7FFF_FFFF),
        "huge meta string claim": archive({**m, "meta.npy": forged((), "<U500000000")}),
        "member escaping the folder": archive(
            {**{k: v for k, v in m.items() if k != "W0.npy"}, "../W0.npy": m["W0.npy"]}
        ),
        "a thousand members": archive({**m, **{f"x{i}.npy": m["b1.npy"] for i in range(1000)}}),
        "newer .npy format": archive({**m, "b0.npy": b"\x93NUMPY\x03\x00" + m["b0.npy"][8:]}),
        "header that trips NumPy's parser": archive({**m, "b0.npy": forged((32,), "'''")}),
        "header with an unhashable key": archive(
            {**m, "b0.npy": forged((32,)).replace(b"{'descr'", b"{[1]: 0, 'descr'")}
        ),
        "header with a bad dtype string": archive({**m, "b0.npy": forged((32,), ",f4")}),
        "deflated W0 with damaged compressed data": damage_deflate(
            archive(m, zipfile.ZIP_DEFLATED), "W0.npy"
        ),
        "deflated meta with damaged compressed data": damage_deflate(
            archive({**m, "meta.npy": npy(np.array(json.dumps(meta) * 50))}, zipfile.ZIP_DEFLATED), "meta.npy"
        ),
        "a text file": b"this is not a model\n" * 10,
        "an empty file": b"",
        "half of a real model": archive(m)[: len(archive(m)) // 2],
        "a gzip file": __import__("gzip").compress(b"\x00" * 1000),
        "a zip holding nothing": archive({}),
        # malformed shapes inside the meta: each once ended in a traceback (RecursionError, OverflowError, a
        # ValueError from the JSON reader) or loaded and failed later, when the app or `evaluate` used it
        "meta nested 200,000 brackets deep": raw_meta("[" * 200_000 + "]" * 200_000),
        "meta objects nested 200,000 deep": raw_meta('{"a":' * 200_000 + "1" + "}" * 200_000),
        "config hidden nested 100,000 deep": raw_meta(
            json.dumps(meta).replace('"config": {', '"config": {"hidden": ' + "[" * 100_000 + "]" * 100_000 + ", ", 1)
        ),
        "history nested 900 deep": with_meta(history=[{"epoch": json.loads("[" * 900 + "]" * 900)}]),
        "a 5,000-digit format_version": raw_meta(
            json.dumps(meta).replace('"format_version": 1', '"format_version": ' + "9" * 5000, 1)
        ),
        "a 400-digit learning rate": with_meta(config={**meta["config"], "lr": 10**400}),
        "a 100,000-character learning rate": with_meta(config={**meta["config"], "lr": "1" * 100_000}),
        "history with text for a loss": with_meta(history=[{**meta["history"][0], "test_loss": "low"}]),
        "history with a 400-digit accuracy": with_meta(history=[{**meta["history"][0], "test_accuracy": 10**400}]),
        "history with a list for an accuracy": with_meta(history=[{**meta["history"][0], "train_accuracy": [1]}]),
        "an unknown input scaling": with_meta(preprocessing={**meta["preprocessing"], "scaling": ["unit"]}),
        "standard scaling without mean and std": with_meta(preprocessing={"scaling": "standard"}),
        "standard scaling with std 0": with_meta(preprocessing={"scaling": "standard", "mean": 0.1, "std": 0}),
        "a text mean": with_meta(preprocessing={**meta["preprocessing"], "mean": "0.1"}),
        "class names with line breaks": with_meta(classes=[f"digit\n{k}" for k in range(10)]),
        "a class name of 100,000 characters": with_meta(classes=["x" * 100_000] + meta["classes"][1:]),
        "a dataset name that is a number": with_meta(dataset=7),
    }
    return cases


def test_hostile_model_files_are_refused_and_run_nothing(good_model, tmp_path, figures):
    model, path, members, meta = good_model
    loaded = model_io.load(path)  # the untouched file loads and predicts as saved
    for a, b in zip(loaded.network.weights, model.network.weights, strict=True):
        np.testing.assert_array_equal(a, b)

    # the payload is live: NumPy with allow_pickle=True really runs it (in a scratch folder)
    control = tmp_path / "control-marker"
    np.load(io.BytesIO(npy(pickled(control))), allow_pickle=True)
    assert control.exists()

    marker = tmp_path / "pwned"
    worst, messages = (0, 0, ""), {}
    for name, data in hostile_cases(members, meta, marker).items():
        target = tmp_path / "hostile" / f"{len(messages):02d}.npz"
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(data)
        tracemalloc.start()
        try:
            with pytest.raises(ModelError) as info:
                model_io.load(target)
        except BaseException as e:
            raise AssertionError(f"'{name}': {type(e).__name__}: {e}") from e
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        message = str(info.value)
        short = message.replace(str(target), "")
        assert str(target) in message and "\n" not in short and len(short) < 400, f"'{name}': {message}"
        assert peak <= MEMORY_FACTOR * len(data) + MEMORY_CONSTANT, f"'{name}': peak {peak} bytes"
        if peak > worst[0]:
            worst = (peak, len(data), name)
        assert not marker.exists(), f"'{name}' ran its pickle payload"
        messages[name] = message.removeprefix(f"model file {target} ")
    for special in (tmp_path, tmp_path / "does-not-exist.npz"):
        with pytest.raises(ModelError):
            model_io.load(special)
    figures(
        f"{len(messages) + 2} hostile model files refused with ModelError; 0 payloads ran (marker never created)"
    )
    figures(
        f"largest allocation while refusing: {worst[0] / 1024:.0f} KB for the {worst[1] / 1024:.0f} KB file "
        f"'{worst[2]}' (allowed {MEMORY_FACTOR} x the file + 1 MB, whatever its headers claim)"
    )
    for name in ("pickled object meta", "2 GB .npy header claim", "meta that is not JSON", "NaN in W0"):
        figures(f"  {name}: {messages[name]}")


def deeply_nested_model(good_model, folder):
    _model, _path, members, _meta = good_model
    path = folder / "deep.npz"
    path.write_bytes(archive({**members, "meta.npy": npy(np.array("[" * 200_000 + "]" * 200_000))}))
    return path


def test_evaluate_refuses_a_deeply_nested_meta_in_one_line_with_exit_2(good_model, tmp_path):
    path = deeply_nested_model(good_model, tmp_path)
    for command in (["-m", "core.cli"], ["-m", "explorer.app"]):
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
        done = subprocess.run(
            [sys.executable, *command, "evaluate", str(path)], capture_output=True, text=True, timeout=120, env=env
        )
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr and done.stdout == ""
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "nested too deeply" in lines[0] and str(path) in lines[0], done.stderr


def test_the_app_refuses_a_deeply_nested_meta_with_one_sentence(good_model, tmp_path):
    from core.model_io import ModelError
    from explorer.actions import _read_model  # the job behind File > Load model
    from explorer.jobs import sentence as runner_sentence  # how its runner words a failure for the user

    path = deeply_nested_model(good_model, tmp_path)
    with pytest.raises(ModelError) as refused:
        _read_model(str(path), "mnist", lambda *_: None)
    sentence = runner_sentence(refused.value)
    assert "nested too deeply" in sentence and "\n" not in sentence and sentence.endswith(".")
