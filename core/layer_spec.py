"""The hidden-layer notation: `512,256` for dense layers, `c32k3,p2,c64k3,p2,512` with convolutions.

`TrainConfig.hidden` is a tuple of tokens, one a layer, between the 28 x 28 input and the output layer:

    512       a dense layer of 512 units (an int; every MLP config and model file holds only these)
    c32k3     a 2-D convolution, 32 filters of 3 x 3, stride 1, "valid" padding (28 x 28 -> 26 x 26)
    c32k5s    the same with "same" padding (zeros around the input keep 28 x 28; the kernel size must be odd)
    p2        2 x 2 max pooling, stride 2 (an odd size loses its last row and column, as in Keras: 11 -> 5)
    d0.5      dropout of rate 0.5 (inverted: kept units are scaled by 1 / (1 - rate) while training)

Conv and dense hidden layers use the config's activation. A flatten is implied before the first dense layer (and
before the output layer); a conv or pool token cannot follow a dense one. Any string token makes the network a
`core.convnet.ConvNetwork`; all-int hidden tuples stay the MLP `core.network.Network`.
"""

from __future__ import annotations

import re

import numpy as np


class ConfigError(ValueError):
    """A bad configuration value; the message says which and what to do, in one sentence. (Defined here, below
    core.config, which re-exports it, so that config can import this module without a cycle.)"""

_CONV = re.compile(r"^c(\d{1,4})k(\d{1,2})(s?)$")
_POOL = re.compile(r"^p(\d{1,2})$")
_DROP = re.compile(r"^d(0?\.\d+|0)$")
_DENSE = re.compile(r"^\d{1,6}$")
NOTATION_HELP = (
    "dense widths such as 512,256; c32k3 = 32 filters of 3x3 (c32k3s keeps the size), p2 = 2x2 max pool, "
    "d0.5 = dropout, e.g. c32k3,p2,c64k3,p2,512"
)


def parse_token(token) -> int | str:
    """One layer token, normalised (an int width, or a string such as "c32k3"); ConfigError if malformed."""
    if isinstance(token, int | np.integer) and not isinstance(token, bool):
        if token < 1:
            raise ConfigError(f"Every dense layer needs at least 1 unit; got {token}.")
        return int(token)
    text = str(token).strip().lower()
    if _DENSE.match(text):
        return parse_token(int(text))
    conv, pool, drop = _CONV.match(text), _POOL.match(text), _DROP.match(text)
    if conv:
        filters, kernel, same = int(conv[1]), int(conv[2]), conv[3]
        if filters < 1 or kernel < 1:
            raise ConfigError(f"The layer {text!r} needs at least 1 filter of at least 1 x 1.")
        if same and kernel % 2 == 0:
            raise ConfigError(f"The layer {text!r} asks for same padding, which needs an odd kernel size such as 3.")
        return f"c{filters}k{kernel}{same}"
    if pool:
        if int(pool[1]) != 2:
            raise ConfigError(f"The layer {text!r} is not supported; max pooling is 2 x 2 only (write p2).")
        return "p2"
    if drop:
        return f"d{float(drop[1]):g}"
    raise ConfigError(f"{str(token)[:40]!r} is not a layer; write {NOTATION_HELP}.")


def parse_hidden(text: str) -> tuple:
    """What goes into `TrainConfig.hidden` for the layer field's text, e.g. "c32k3,p2,512" -> ("c32k3", "p2", 512).
    An empty text means no hidden layer. ConfigError (one sentence) for a malformed token or order."""
    tokens = [t for t in re.split(r"[,\s]+", str(text).strip()) if t]
    hidden = tuple(parse_token(t) for t in tokens)
    check_hidden(hidden)
    return hidden


def format_hidden(hidden) -> str:
    """The layer field's text for `TrainConfig.hidden`: (32, "p2") -> "32,p2"; () -> ""."""
    return ",".join(str(t) for t in hidden)


def is_layered(hidden) -> bool:
    """True if `hidden` holds any conv, pool or dropout token: the network is then a ConvNetwork."""
    return any(isinstance(t, str) for t in hidden)


def conv_args(token: str) -> tuple[int, int, str]:
    """(filters, kernel, padding) of a normalised conv token: "c32k3s" -> (32, 3, "same")."""
    m = _CONV.match(token)
    return int(m[1]), int(m[2]), "same" if m[3] else "valid"


def check_hidden(hidden, image_size: int = 28) -> None:
    """ConfigError if a token is malformed, a conv or pool follows a dense layer, or the image shrinks to nothing."""
    size, dense_seen = image_size, False
    for token in hidden:
        t = parse_token(token)
        if t != token:
            raise ConfigError(f"The layer {token!r} should be written {t!r}.")
        if isinstance(t, int):
            dense_seen = True
        elif t[0] in "cp" and dense_seen:
            raise ConfigError(f"The layer {t!r} follows a dense layer; put conv and pool layers before the dense ones.")
        elif t[0] == "c":
            _, kernel, padding = conv_args(t)
            size = size if padding == "same" else size - kernel + 1
        elif t == "p2":
            size //= 2
        if size < 1:
            raise ConfigError(f"The layers up to {t!r} shrink the {image_size} x {image_size} image to nothing; use fewer or smaller ones.")
