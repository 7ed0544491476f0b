"""Save and load a trained model as a `.npz` file that holds only numbers and one JSON string.

The file (format_version 1) holds, as plain `.npy` members of a zip archive:

* ``W0, W1, ...``: float32 weights, ``Wi`` of shape (inputs, outputs); ``a(i+1) = act_i(a(i) @ Wi + bi)``.
* ``b0, b1, ...``: float32 biases of shape (outputs,). A network trained without biases (Rashid's) has **no**
  ``bi`` members at all, and loading such a file gives a network whose biases are ``None``; a file holds either
  every ``bi`` or none.
* ``meta``: a 0-d unicode array holding a JSON object with ``format_version``, ``config`` (the full
  `TrainConfig` as a dict), ``dataset``, ``classes``, ``preprocessing`` (the `fit_scaling` result),
  ``history`` (one dict per epoch), and, for readers in other languages, ``layer_sizes``, ``activation``,
  ``output`` and ``use_bias``.

Loading never runs code (``allow_pickle=False``) and reads every array header before any data, so a forged
header cannot make it allocate more than the file really holds. Anything it does not understand is refused with
a `ModelError` whose message names the file and the problem, in one line of at most a few hundred characters;
whatever a malformed file makes the reader raise (a meta nested 200,000 brackets deep, a 5,000-digit number)
becomes that `ModelError` too, never a traceback.
"""

from __future__ import annotations

import json
import math
import re
import tokenize
import zipfile
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from core import conv_io
from core.atomic import write_atomic
from core.convnet import is_convolutional
from core.model_meta import FORMAT_VERSION, check_meta, check_preprocessing
from core.network import Network
from core.preprocess import input_range, scale_inputs
from core.readers import IMAGE_SHAPE, N_PIXELS
from core.training import TrainConfig

N_INPUTS = N_PIXELS  # the first layer takes one input per pixel
MAX_MEMBER_BYTES = (
    512 * 2**20
)  # one array: far above any network this app trains (784-8192-8192-10 is 280 MB)
MAX_TOTAL_BYTES = 1024 * 2**20
MAX_META_BYTES = 64 * 2**20  # the JSON string, 4 bytes a character in a unicode array
MAX_LAYERS = 64
MAX_PROBLEM_CHARS = 300  # a message quotes at most this much of what the file holds
_MEMBER = re.compile(r"^(?:(W|b)(\d{1,3})|meta)\.npy$")
# what reading a damaged member can raise: NumPy's .npy header parser evaluates the header text, so a corrupt
# header surfaces as SyntaxError, tokenize.TokenError, TypeError or RecursionError, not only ValueError
_DAMAGED = (
    ValueError, TypeError, SyntaxError, RecursionError, tokenize.TokenError,
    OSError, EOFError, zipfile.BadZipFile, zlib.error,
)  # fmt: skip


class ModelError(ValueError):
    """A model file that cannot be read or written; the message names the file and what is wrong."""


@dataclass
class Model:
    """A trained network with everything needed to use it again: its config, classes and input scaling."""

    network: Network
    config: TrainConfig
    dataset: str
    classes: list[str]
    preprocessing: dict
    history: list[dict] = field(default_factory=list)

    @classmethod
    def from_trainer(cls, trainer, dataset) -> Model:
        """The model a `Trainer` has trained on `dataset` (its current weights, a copy)."""
        return cls(
            network=trainer.network.copy(),
            config=trainer.config,
            dataset=dataset.name,
            classes=[str(c) for c in dataset.class_names],
            preprocessing=dict(trainer.preprocessing),
            history=[dict(h) for h in trainer.history],
        )

    @property
    def scaling(self) -> str:
        """The input scaling the model was trained with (files that predate the key name it in their config)."""
        return (self.preprocessing or {}).get("scaling", self.config.scaling)

    def scale(self, images_uint8: np.ndarray) -> np.ndarray:
        """The network's inputs (N, 784), in its weights' dtype, for uint8 images (N, 28, 28), (N, 784) or one
        (28, 28) image: the model's own input scaling with its training set's statistics."""
        images = _as_images(images_uint8)
        dtype = self.network.dtype
        return scale_inputs(images, self.scaling, stats=self.preprocessing or None, dtype=dtype)

    def input_range(self) -> tuple[float, float]:
        """The scaled values of a black and a white pixel, lowest first: the range every input lies in."""
        return input_range(self.scaling, self.preprocessing or None)

    def predict_proba(self, images_uint8: np.ndarray, chunk: int = 10_000) -> np.ndarray:
        """Class probabilities (or sigmoid outputs) for uint8 images (N, 28, 28) or (N, 784)."""
        images = _as_images(images_uint8)
        outputs = [
            self.network.forward(self.scale(images[i : i + chunk])) for i in range(0, len(images), chunk)
        ]
        if not outputs:
            return np.zeros((0, len(self.classes)), dtype=self.network.dtype)
        return np.concatenate(outputs)

    def predict(self, images_uint8: np.ndarray) -> np.ndarray:
        """The predicted label of each image."""
        return np.argmax(self.predict_proba(images_uint8), axis=1)


def _as_images(images_uint8: np.ndarray) -> np.ndarray:
    """Images as (N, 28, 28): from (N, 28, 28), (N, 784) or one (28, 28) image; any other shape is refused."""
    images = np.asarray(images_uint8)
    if images.shape == IMAGE_SHAPE:
        images = images[None]
    elif images.ndim == 2 and images.shape[1] == N_INPUTS:
        images = images.reshape(-1, *IMAGE_SHAPE)
    if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"expected images of shape (N, 28, 28), got {images.shape}")
    return images


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store a {type(value).__name__} in a model file")


def _meta_of(model: Model) -> dict:
    net = model.network
    if is_convolutional(net):  # its layers (core/conv_io.py) instead of layer_sizes
        return {**_common_meta(model), "layers": conv_io.describe(net), "activation": net.activation,
                "output": net.output, "use_bias": True}  # fmt: skip
    return {**_common_meta(model),
        "layer_sizes": [int(net.weights[0].shape[0])] + [int(w.shape[1]) for w in net.weights],
        "activation": net.activation,
        "output": net.output,
        "use_bias": any(b is not None for b in net.biases),
    }  # fmt: skip


def _common_meta(model: Model) -> dict:
    return {
        "format_version": FORMAT_VERSION,
        "app": "mnist-explorer",
        "config": asdict(model.config),
        "dataset": str(model.dataset),
        "classes": [str(c) for c in model.classes],
        "preprocessing": dict(model.preprocessing),
        "history": [dict(h) for h in model.history],
    }


def save(path: str | Path, model: Model) -> None:
    """Write `model` to `path` atomically: a temp file in the same folder, fsync, then os.replace.

    On any failure nothing is left behind and a previous file at `path` is untouched.
    """
    path = Path(path)
    net = model.network
    biases = [] if is_convolutional(net) else list(net.biases)
    if any(b is None for b in biases) and any(b is not None for b in biases):
        raise ModelError(f"cannot save {path}: some layers have biases and some do not")
    arrays = conv_io.arrays(net) if is_convolutional(net) else {}
    for i, w in enumerate([] if is_convolutional(net) else net.weights):
        arrays[f"W{i}"] = np.ascontiguousarray(w, dtype=np.float32)
        if biases[i] is not None:
            arrays[f"b{i}"] = np.ascontiguousarray(biases[i], dtype=np.float32)
    try:
        meta_text = json.dumps(_meta_of(model), default=_jsonable, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"cannot save {path}: {exc}") from None
    arrays["meta"] = np.array(meta_text)
    try:
        write_atomic(path, lambda f: np.savez(f, **arrays), durable=True)
    except OSError as exc:
        raise ModelError(f"cannot write model file {path}: {exc.strerror or exc}") from None


def _read_headers(path: Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shape and dtype of every member, read from the zip directory and the .npy headers only."""
    fail = _failer(path)
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        fail("is not a model file (not a .npz archive, or damaged); train and save a model with `--save`")
    except OSError as exc:
        fail(f"cannot be read: {exc.strerror or exc}")
    headers = {}
    with zf:
        infos = zf.infolist()
        if len(infos) > 2 * MAX_LAYERS + 1:
            fail(f"holds {len(infos)} arrays, more than any model")
        if sum(i.file_size for i in infos) > MAX_TOTAL_BYTES:
            fail("claims more than 1 GiB of data: not a model this app writes")
        for info in infos:
            match = _MEMBER.match(info.filename)
            if not match:
                fail(f"holds an unexpected member {info.filename!r}")
            name = info.filename[:-4]
            limit = MAX_META_BYTES if name == "meta" else MAX_MEMBER_BYTES
            if info.file_size > limit:
                fail(f"array {name} claims {info.file_size} bytes, more than a model array can hold")
            try:
                with zf.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    if version == (1, 0):
                        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
                    elif version == (2, 0):
                        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
                    else:
                        fail(f"array {name} uses .npy format {version}, which model files do not use")
                    offset = f.tell()
            except _DAMAGED as exc:
                fail(f"array {name} is damaged ({type(exc).__name__}: {exc})")
            if dtype.hasobject:
                fail(f"array {name} holds pickled Python objects, which are refused (they could run code)")
            if len(shape) > 4 or any(d < 0 for d in shape):  # 4: a conv layer's (k, k, C, F)
                fail(f"array {name} has an unexpected shape {shape}")
            if math.prod(shape) * dtype.itemsize != info.file_size - offset:
                fail(f"array {name} is truncated or its header does not match its data")
            headers[name] = (tuple(shape), dtype)
    return headers


def _failer(path: Path):
    def fail(problem: str):
        problem = " ".join(str(problem).split())  # one line, whatever the file put into the message
        if len(problem) > MAX_PROBLEM_CHARS:
            problem = problem[: MAX_PROBLEM_CHARS - 1] + "…"
        raise ModelError(f"model file {path} {problem}")

    return fail


def load(path: str | Path) -> Model:
    """Read a model written by `save`; refuses anything else with a `ModelError` naming the file and problem."""
    path = Path(path)
    fail = _failer(path)
    try:
        return _load(path, fail)
    except ModelError:
        raise
    except MemoryError:
        fail("is too large to read with the memory this computer has free")
    except Exception as exc:  # noqa: BLE001 - the file is untrusted input: whatever it trips is a malformed file
        fail(f"is malformed ({type(exc).__name__}: {exc}); it was not written by this app or is damaged")


def _load(path: Path, fail) -> Model:
    if not path.exists():
        fail("does not exist; train one with `mnist-explorer train --save MODEL.npz`")
    if not path.is_file():
        fail("is not a file")
    n_layers, n_biases = _check_headers(fail, _read_headers(path))
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta_text = str(npz["meta"].reshape(-1)[0])
            weights = [npz[f"W{i}"] for i in range(n_layers)]
            biases = [npz[f"b{i}"] for i in range(n_layers)] if n_biases else [None] * n_layers
    except _DAMAGED as exc:
        fail(f"is damaged ({exc})")
    meta = check_meta(fail, meta_text)
    layered = "layers" in meta  # a ConvNetwork: core/conv_io.py checks its layers and arrays
    sizes = None if layered else _check_layers(fail, weights, biases, len(meta["classes"]))
    try:
        config = TrainConfig.from_dict(meta["config"])
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        fail(f"has an invalid config: {exc}")
    check_preprocessing(fail, meta["preprocessing"], config.scaling)
    if layered:
        network = conv_io.network_from_file(fail, meta["layers"], config, weights, biases, len(meta["classes"]))
    else:
        network = _mlp_from_file(fail, config, sizes, weights, biases, n_biases)
    return Model(
        network=network,
        config=config,
        dataset=meta["dataset"],
        classes=list(meta["classes"]),
        preprocessing=dict(meta["preprocessing"]),
        history=list(meta["history"]),
    )


def _mlp_from_file(fail, config, sizes, weights, biases, n_biases) -> Network:
    if tuple(config.hidden) != tuple(sizes[1:-1]):
        fail(f"has layers {sizes}, which do not match its config's hidden layers {list(config.hidden)}")
    if bool(config.use_bias) != bool(n_biases):
        fail("has biases that do not match its config's use_bias")
    return Network(weights=weights, biases=biases, activation=config.activation, output=config.output)


def _check_headers(fail, headers: dict) -> tuple[int, int]:
    """The number of weight and of bias arrays, once the members' names, dtypes and ranks are those of a model."""
    if "meta" not in headers:
        fail("has no 'meta' (the JSON description of the model); it was not written by this app")
    meta_shape, meta_dtype = headers["meta"]
    if meta_dtype.kind != "U" or meta_shape not in ((), (1,)):
        fail("has a 'meta' that is not a JSON string")
    n_layers = sum(1 for name in headers if name.startswith("W"))
    n_biases = sum(1 for name in headers if name.startswith("b"))
    if n_layers == 0:
        fail("holds no weights")
    for i in range(n_layers):
        if f"W{i}" not in headers:
            fail(f"lacks W{i} (it holds {n_layers} weight arrays, which must be W0..W{n_layers - 1})")
        if n_biases and f"b{i}" not in headers:
            fail(f"lacks b{i} (a model file holds every bias or none)")
    if n_biases not in (0, n_layers):
        fail(f"holds {n_biases} bias arrays for {n_layers} weight arrays")
    for name, (shape, dtype) in headers.items():
        if name != "meta" and dtype != np.dtype("<f4"):
            fail(f"array {name} is {dtype}, not float32")
        if name.startswith("W") and len(shape) not in (2, 4) or name.startswith("b") and len(shape) != 1:
            fail(f"array {name} has shape {shape}")
    return n_layers, n_biases


def _check_layers(fail, weights: list, biases: list, n_classes: int) -> list[int]:
    """The layer sizes, once the weights chain from 784 inputs to one output a class and every value is finite."""
    if any(w.ndim != 2 for w in weights):
        fail("has conv-shaped (4-D) weights but no 'layers' in its meta to describe them")
    sizes = [weights[0].shape[0]] + [w.shape[1] for w in weights]
    if sizes[0] != N_INPUTS:
        fail(f"has W0 of shape {weights[0].shape}: the first layer must take {N_INPUTS} inputs")
    for i in range(1, len(weights)):
        if weights[i].shape[0] != weights[i - 1].shape[1]:
            fail(
                f"has W{i} of shape {weights[i].shape}, which does not follow W{i - 1} {weights[i - 1].shape}"
            )
    if sizes[-1] != n_classes:
        fail(f"has {sizes[-1]} outputs but names {n_classes} classes")
    for i, b in enumerate(biases):
        if b is not None and b.shape != (weights[i].shape[1],):
            fail(f"has b{i} of shape {b.shape}; W{i} needs ({weights[i].shape[1]},)")
    for i in range(len(weights)):
        if not np.isfinite(weights[i]).all() or biases[i] is not None and not np.isfinite(biases[i]).all():
            fail(f"has non-finite values (NaN or infinity) in layer {i}: the run that wrote it had diverged")
    return sizes
