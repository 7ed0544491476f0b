"""What the command line's parsers share: the program name, the one-line usage error, and the `train` options
(also `sweep`'s base), each mapped to its TrainConfig field. `core.cli` builds the parsers; `core.cli_train` runs
`train`; both import from here, so neither imports the other at load time."""

from __future__ import annotations

import argparse

import numpy as np

from core.layer_spec import ConfigError, parse_hidden

PROG = "mnist-explorer"
EXIT_BAD_INPUT = 2


class UsageError(Exception):
    """Bad input from the user: printed as one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but an error becomes one line on stderr and exit 2 (through UsageError), never a usage dump."""

    def error(self, message):
        raise UsageError(f"{self.prog}: error: {message} (see `{self.prog} --help`)")


def _hidden(text: str) -> tuple[int | str, ...]:
    text = text.strip()
    if text.lower() in ("", "none", "0"):
        return ()
    try:
        sizes = parse_hidden(text)  # dense widths, and conv, pool and dropout layers (core/layer_spec.py)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {str(exc).rstrip('.')}") from None
    if any(isinstance(n, int) and (n <= 0 or n > 16384) for n in sizes):
        raise argparse.ArgumentTypeError(f"{text!r}: every layer width must be between 1 and 16384")
    return sizes


def _number(kind, lo=None, what="a number"):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if kind is float and not np.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if lo is not None and value < lo:
            raise argparse.ArgumentTypeError(f"{text!r} must be at least {lo}")
        return value

    return parse


# train options: (flag, TrainConfig field, argparse keywords). A flag whose field TrainConfig lacks is not offered.
TRAIN_OPTIONS = [
    ("--hidden", "hidden", {"type": _hidden, "metavar": "N,N", "help": "hidden layers: widths such as 512,256, or with conv (c32k3, c32k3s = same padding), pool (p2) and dropout (d0.5) layers, e.g. c32k3,p2,c64k3,p2,512"}),
    ("--activation", "activation", {"help": "hidden activation: sigmoid, tanh, relu, leaky-relu"}),
    ("--output", "output", {"help": "output layer: softmax or sigmoid"}),
    ("--loss", "loss", {"help": "cross-entropy or mse"}),
    ("--init", "init", {"help": "weight initialisation: he, glorot, rashid"}),
    (
        "--bias",
        "use_bias",
        {"action": argparse.BooleanOptionalAction, "help": "use biases (--no-bias: none)"},
    ),
    ("--optimizer", "optimizer", {"help": "sgd, momentum, nesterov, rmsprop, adam"}),
    ("--lr", "lr", {"type": _number(float, 0.0), "help": "learning rate"}),
    ("--momentum", "momentum", {"type": _number(float, 0.0), "help": "momentum (momentum, nesterov)"}),
    ("--schedule", "schedule", {"help": "learning-rate schedule: constant, step, exponential, cosine"}),
    ("--lr-min", "lr_min", {"type": _number(float, 0.0), "help": "cosine schedule: the final learning rate"}),
    ("--batch-size", "batch_size", {"type": _number(int, 0, "a whole number"), "help": "0: the whole set"}),
    ("--epochs", "epochs", {"type": _number(int, 1, "a whole number")}),
    ("--l2", "l2", {"type": _number(float, 0.0), "help": "L2 weight penalty"}),
    ("--dropout", "dropout", {"type": _number(float, 0.0), "help": "dropout rate of the hidden layers"}),
    ("--scaling", "scaling", {"help": "input scaling: unit (0..1), rashid (0.01..1.00), standard"}),
    ("--targets", "targets", {"help": "target encoding: onehot or rashid (0.01/0.99)"}),
    ("--augment", "augment", {"help": "off, random (new random angles and shifts each epoch), rashid"}),
    ("--rotate", "rotate", {"type": _number(float, 0.0), "metavar": "DEGREES", "help": "rotation range"}),
    ("--shift", "shift", {"type": _number(int, 0, "a whole number"), "metavar": "PIXELS"}),
    ("--elastic", "elastic", {"type": _number(float, 0.0), "help": "elastic distortion strength"}),
    (
        "--backprop",
        "backprop",
        {"help": "gradient (the true gradient) or rashid (Rashid's rule; sigmoid + mse)"},
    ),
    ("--seed", "seed", {"type": _number(int, 0, "a whole number")}),
    ("--train-limit", "train_limit", {"type": _number(int, 0, "a whole number"), "metavar": "N"}),
    ("--threads", "threads", {"type": _number(int, 0, "a whole number"), "metavar": "N"}),
    ("--dtype", "dtype", {"help": "float32 or float64"}),
]


