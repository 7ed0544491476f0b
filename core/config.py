"""The training configuration: one dataclass with commented defaults, and its validation.

`TrainConfig` holds every knob of a run (network, optimizer, schedule, preprocessing, augmentation, data, seed);
`validate()` checks each value and raises `ConfigError` with one plain sentence that says what to do instead.
It round-trips through JSON with `to_dict()` / `from_dict()`, which is how model files store it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from core.augment import SCHEMES
from core.layer_spec import ConfigError, check_hidden, is_layered
from core.network import ACTIVATIONS, BACKPROPS, INITS, LOSSES, OUTPUTS, RASHID_BACKPROP_NEEDS
from core.optimizers import OPTIMIZERS, SCHEDULES
from core.preprocess import SCALINGS, TARGETS


@dataclass
class TrainConfig:
    dataset: str = "mnist"  # "mnist", "fashion-mnist", or a folder or file path
    # hidden layers: ints are dense widths; () trains a single softmax/sigmoid layer; strings such as "c32k3", "p2",
    # "d0.5" are conv, pool and dropout layers (core.layer_spec) and make the network a ConvNetwork
    hidden: tuple[int | str, ...] = (512,)
    activation: str = "relu"  # hidden layers: "sigmoid" | "tanh" | "relu" | "leaky-relu"
    output: str = "softmax"  # "softmax" | "sigmoid"
    loss: str = "cross-entropy"  # "cross-entropy" | "mse" (1/2 the squared error, as Rashid)
    # "gradient" (the true gradient) | "rashid" (Rashid's rule: the raw output errors t - o are sent back through
    # the weights, the sigmoid derivative applied only where each update is formed; sigmoid output + mse only)
    backprop: str = "gradient"
    use_bias: bool = True  # Rashid's network has no biases
    init: str = "glorot"  # "he" | "glorot" | "rashid" (normal(0, 1/sqrt(inputs)))
    optimizer: str = "rmsprop"  # "sgd" | "momentum" | "nesterov" | "rmsprop" | "adam"
    lr: float = 0.001  # learning rate (the schedule's starting value)
    momentum: float = 0.9  # momentum / nesterov
    rho: float = 0.9  # rmsprop: decay of the mean square
    beta1: float = 0.9  # adam: decay of the mean
    beta2: float = 0.999  # adam: decay of the mean square
    eps: float = 1e-7  # rmsprop / adam: added to the root mean square
    schedule: str = "constant"  # "constant" | "step" | "exponential" | "cosine"
    lr_decay: float = 0.5  # step / exponential: the factor per lr_decay_epochs epochs
    lr_decay_epochs: int = 1  # step / exponential: epochs per factor
    lr_min: float = 0.0  # cosine: the learning rate at the end of the run
    batch_size: int = 128  # 1 = online learning (Rashid); 0 = the whole training set (plain gradient descent)
    epochs: int = 5
    l2: float = 0.0  # weight decay: adds l2/2 * sum(W^2) to the loss
    dropout: float = 0.0  # probability of dropping each hidden unit during training (inverted dropout)
    scaling: str = "unit"  # inputs: "unit" (0..1) | "rashid" (0.01..1.00) | "standard" (mean 0, std 1)
    targets: str = "onehot"  # "onehot" | "rashid" (0.01 / 0.99)
    augment: str = "off"  # rotations: "off" | "random" (within +/- rotate) | "rashid" (+/- rotate copies)
    rotate: float = 0.0  # degrees, 0..180
    shift: int = 0  # random shifts of up to this many pixels in each direction (0 = off)
    elastic: float = 0.0  # elastic distortion strength alpha in pixels (Simard: 34; 0 = off)
    elastic_sigma: float = 4.0  # smoothness of the elastic distortion, pixels
    shuffle: bool = True  # shuffle the training records every epoch
    seed: int = 0  # the same seed gives the same weights and curves
    train_limit: int = 0  # use only the first N training images (0 = all)
    dtype: str = "float32"  # "float32" | "float64"
    threads: int = 0  # cap on BLAS threads while training (0 = automatic: BLAS default; 1 for small batches)

    def __post_init__(self):
        if isinstance(self.hidden, list):
            self.hidden = tuple(self.hidden)

    def to_dict(self) -> dict:
        """JSON-able (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """The config stored as `d` (e.g. read from JSON), validated; unknown keys are refused, and a missing key
        takes its default (so configs saved before a field existed still load)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(
                f"Unknown setting(s) {', '.join(unknown)}; the known settings are {', '.join(known)}."
            )
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        config = cls(**values)
        config.validate()
        return config

    def validate(self) -> None:
        """Raise ConfigError (one plain sentence) for the first bad value."""
        for name, choices in _CHOICES.items():
            if getattr(self, name) not in choices:
                raise ConfigError(
                    f"Unknown {name} {getattr(self, name)!r}; choose one of {', '.join(choices)}."
                )
        if not isinstance(self.hidden, tuple | list) or not all(_is_int(h) or isinstance(h, str) for h in self.hidden):
            raise ConfigError(
                f"Hidden layer sizes must be whole numbers such as (512,) or (128, 64), not {self.hidden!r}."
            )
        if any(_is_int(h) and h < 1 for h in self.hidden):
            raise ConfigError(f"Every hidden layer needs at least 1 unit; got {tuple(self.hidden)}.")
        check_hidden(self.hidden)  # conv, pool and dropout tokens (core.layer_spec)
        for name, rule, hint in _NUMBERS:
            _check_number(name, getattr(self, name), rule, hint)
        for name, low, high, hint in _WHOLE_NUMBERS:
            value = getattr(self, name)
            if not _is_int(value) or value < low or (high is not None and value > high):
                rule = f"of at least {low}" if high is None else f"from {low} to {high}"
                raise ConfigError(
                    f"{name} must be a whole number {rule}, not {value!r}" + (f"; {hint}." if hint else ".")
                )
        if not isinstance(self.use_bias, bool) or not isinstance(self.shuffle, bool):
            raise ConfigError("use_bias and shuffle must be true or false.")
        if self.schedule == "cosine" and self.lr_min >= self.lr:
            raise ConfigError(
                f"lr_min ({self.lr_min}) must be smaller than lr ({self.lr}) for the cosine schedule."
            )
        if self.backprop == "rashid" and (self.output, self.loss) != ("sigmoid", "mse"):
            raise ConfigError(RASHID_BACKPROP_NEEDS)
        if is_layered(self.hidden) and (self.backprop != "gradient" or not self.use_bias):
            raise ConfigError(
                "Networks with conv, pool or dropout layers train with the true gradient and biases; "
                "set backprop to 'gradient' and use_bias to true."
            )
        if self.augment == "off" and self.rotate > 0:
            raise ConfigError(
                f"rotate is {self.rotate} degrees but augment is 'off'; set augment to 'random' or 'rashid', or rotate to 0."
            )
        if self.augment == "rashid" and self.rotate == 0:
            raise ConfigError(
                "Rashid's augmentation needs an angle: set rotate to a number of degrees such as 10."
            )


_CHOICES = {
    "activation": ACTIVATIONS,
    "output": OUTPUTS,
    "loss": LOSSES,
    "backprop": BACKPROPS,
    "init": INITS,
    "optimizer": OPTIMIZERS,
    "schedule": SCHEDULES,
    "scaling": SCALINGS,
    "targets": TARGETS,
    "augment": SCHEMES,
    "dtype": ("float32", "float64"),
}
_NUMBERS = [  # name, allowed interval, what to try
    ("lr", "(0, inf)", "try 0.001 (Adam, RMSprop) or 0.1 (SGD)"),
    ("momentum", "[0, 1)", "0.9 is usual"),
    ("rho", "[0, 1)", "0.9 is usual"),
    ("beta1", "[0, 1)", "0.9 is usual"),
    ("beta2", "[0, 1)", "0.999 is usual"),
    ("eps", "(0, inf)", "1e-7 is usual"),
    ("lr_decay", "(0, 1]", "try 0.5"),
    ("lr_min", "[0, inf)", "0 is usual"),
    ("l2", "[0, inf)", "try 1e-4, or 0 for none"),
    ("dropout", "[0, 1)", "try 0.2, or 0 for none"),
    ("rotate", "[0, 180]", "try 10"),
    ("elastic", "[0, inf)", "try 34, or 0 for none"),
    ("elastic_sigma", "(0, inf)", "try 4"),
]
_WHOLE_NUMBERS = [  # name, smallest, largest (None: no limit), what to try
    ("lr_decay_epochs", 1, None, ""),
    ("batch_size", 0, None, "use 1 for online learning or 0 for the whole training set"),
    ("epochs", 1, None, ""),
    ("shift", 0, 14, "try 2, or 0 for none"),
    ("seed", 0, None, ""),
    ("train_limit", 0, None, "0 uses every training image"),
    ("threads", 0, None, "0 chooses automatically"),
]


def _is_int(v) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool)


def _check_number(name, value, rule, hint):
    """`rule` is an interval such as "[0, 1)" or "(0, inf)"."""
    low, high = (float(v) for v in rule[1:-1].split(","))
    ok = isinstance(value, int | float | np.floating | np.integer) and not isinstance(value, bool)
    ok = ok and math.isfinite(value) and (value > low if rule[0] == "(" else value >= low)
    ok = ok and (value < high if rule[-1] == ")" else value <= high)
    if not ok:
        words = [("greater than " if rule[0] == "(" else "at least ") + f"{low:g}"]
        if high != math.inf:
            words.append(("below " if rule[-1] == ")" else "at most ") + f"{high:g}")
        raise ConfigError(f"{name} must be {' and '.join(words)}, not {value!r}; {hint}.")
