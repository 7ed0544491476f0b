"""Small pieces of the control panel: the learning-rate spin box, the combo and spin box factories, parsing of
the hidden-layer field, the fields-to-configuration rule, and the one-line summary the runs list shows."""

from __future__ import annotations

import math
from dataclasses import replace

from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QSpinBox

from core import layer_spec, recipes
from core.layer_spec import ConfigError
from core.readers import N_PIXELS

MAX_UNITS = 8192  # per hidden layer; a 784-8192-8192-10 network already takes minutes an epoch on two cores
MAX_LAYERS = 8  # dense ones
MAX_FILTERS = 512  # per conv layer: 512 filters of 26 x 26 on a batch of 128 already take 170 MB
MAX_TOKENS = 16  # layers of every kind

# The output layer and loss go together; these are the pairs the core implements, in the order people use them.
TIPS = {
    "recipe": "A named configuration from the literature; choosing one fills every field. keras-dense512 "
    "(Chollet's 784-512-10, RMSprop, 97.8%) is a fast, strong start; rashid is the classic sigmoid network.",
    "hidden": "The hidden layers, comma-separated. Dense layers are unit counts: 512 (one layer) or 256,128 (two); "
    "100 to 512 units reach 97-98% on MNIST. Convolutional layers come first: c32k3 = 32 filters of 3x3 "
    "(c32k3s pads to keep the size), p2 = 2x2 max pooling, d0.5 = dropout of half the units; e.g. "
    "c32k3,p2,c64k3,p2,512 (Keras's convnet, ~99%). Empty = no hidden layer.",
    "activation": "The hidden layers' non-linearity. relu trains fastest; sigmoid is Rashid's classic (use it for "
    "back queries); tanh and leaky-relu are in between.",
    "output": "The output layer and the loss it is trained with. softmax + cross-entropy is the standard; "
    "sigmoid + squared error is Rashid's network (with targets 0.01/0.99).",
    "optimizer": "How the weights move down the gradient. rmsprop or adam with lr 0.001 work almost always; "
    "sgd needs a larger rate (0.1); momentum/nesterov (lr 0.01-0.05) are sgd that keeps its speed.",
    "lr": "Learning rate: the size of each step. 0.001 for rmsprop/adam, 0.1 for sgd, 0.01-0.05 for momentum. "
    "Too high and the loss explodes (the run stops with a message); too low and it crawls. Arrows step 1-2-5.",
    "batch": "Images per weight update. 32-128 is the usual range: smaller batches give noisier but more updates; "
    "1 is Rashid's one-at-a-time; 'all' is full-batch gradient descent.",
    "epochs": "Passes over the training images. 5 reach ~98% with keras-dense512; watch the test curve flatten "
    "(or rise, for the loss) to see when more stops helping.",
    "limit": "Train on only the first N training images ('all' = every one). 2,000 trains in seconds and still "
    "reaches ~90%: handy for trying settings quickly. Testing always uses the whole test split.",
    "rotation": "Augmentation: rotate each training image by a random angle up to ± this many degrees, a new "
    "angle every epoch. 10° helps a little against overfitting; 0 = off. Test images are never rotated.",
    "seed": "Seeds the initial weights, the shuffling and the augmentation: the same seed and settings give the "
    "same run. Change it to see how much of a difference is luck.",
    "continue": "Start the next run from the selected run's weights instead of fresh random ones, to train it "
    "further (the layers must match). Its curves continue where that run ended.",
}

OUTPUT_LOSS_PAIRS = [
    ("softmax", "cross-entropy", "softmax + cross-entropy"),
    ("sigmoid", "mse", "sigmoid + squared error (Rashid)"),
    ("sigmoid", "cross-entropy", "sigmoid + binary cross-entropy"),
    ("softmax", "mse", "softmax + squared error"),
]


HIDDEN_EXAMPLE = "write sizes like 512 or 256,128, or conv layers like c32k3,p2,c64k3,p2,512"


def parse_hidden(text: str) -> tuple[tuple[int | str, ...] | None, str]:
    """'512' or '256, 128' -> ((256, 128), ""); 'c32k3,p2,128' -> (("c32k3", "p2", 128), "") (the notation of
    core.layer_spec); bad text -> (None, one sentence saying what is wrong).

    An empty field means no hidden layer at all (784-10, a linear classifier), which is a fair model too.
    """
    parts = [p.strip() for p in text.replace(";", ",").replace(" ", ",").split(",") if p.strip()]
    tokens: list[int | str] = []
    for part in parts:
        if part.isdigit():
            tokens.append(int(part))
            continue
        try:
            tokens.append(layer_spec.parse_token(part))
        except ConfigError as exc:
            if "is not a layer" not in str(exc):  # a known kind of layer with a bad value: the core says which
                return None, _sentence(exc)
            return None, f"Hidden layers: '{part}' is not a whole number or a layer; {HIDDEN_EXAMPLE}."
    sizes = [t for t in tokens if isinstance(t, int)]
    if any(n < 1 for n in sizes):
        return None, f"Hidden layers: every layer needs at least 1 unit; {HIDDEN_EXAMPLE}."
    if any(n > MAX_UNITS for n in sizes):
        return None, f"Hidden layers: at most {MAX_UNITS:,} units a layer; 512 is plenty for MNIST."
    if len(sizes) > MAX_LAYERS:
        return None, f"Hidden layers: at most {MAX_LAYERS} layers; one or two are plenty for MNIST."
    filters = [layer_spec.conv_args(t)[0] for t in tokens if isinstance(t, str) and t.startswith("c")]
    if any(n > MAX_FILTERS for n in filters):
        return None, f"Hidden layers: at most {MAX_FILTERS} filters a conv layer; 32 or 64 are plenty for MNIST."
    if len(tokens) > MAX_TOKENS:
        return None, f"Hidden layers: at most {MAX_TOKENS} layers in all; LeNet-5 needs six."
    try:
        layer_spec.check_hidden(tuple(tokens))  # the order (conv and pool before dense) and the image's size
    except ConfigError as exc:
        return None, _sentence(exc)
    return tuple(tokens), ""


def _sentence(exc: Exception) -> str:
    text = str(exc)
    return f"Hidden layers: {text[:1].lower()}{text[1:]}"


def format_hidden(hidden) -> str:
    return layer_spec.format_hidden(tuple(t if isinstance(t, str) else int(t) for t in hidden))


class LearningRateSpin(QDoubleSpinBox):
    """A spin box for values that span decades (0.0001 .. 1000): arrows step along 1-2-5 per decade, the text
    shows as many digits as the value needs, and 0 is allowed so the panel can say why it is not a valid rate."""

    STEPS = (1.0, 2.0, 5.0)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setDecimals(8)
        self.setRange(0.0, 10_000.0)
        self.setKeyboardTracking(False)

    def textFromValue(self, value: float) -> str:
        return f"{value:.6g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text.replace(",", "."))
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        stripped = text.strip()
        if stripped in ("", ".", "-", "e", "E"):
            return QValidator.State.Intermediate, text, pos
        try:
            value = float(stripped.replace(",", "."))
        except ValueError:
            if stripped[-1:] in "eE-+" and stripped[:-1]:
                return QValidator.State.Intermediate, text, pos
            return QValidator.State.Invalid, text, pos
        if value < self.minimum() or value > self.maximum():
            return QValidator.State.Intermediate, text, pos
        return QValidator.State.Acceptable, text, pos

    def stepBy(self, steps: int) -> None:
        value = self.value()
        for _ in range(abs(steps)):
            value = self._next(value, up=steps > 0)
        self.setValue(value)

    def _next(self, value: float, up: bool) -> float:
        if value <= 0:
            return 1e-4 if up else 0.0
        decade = math.floor(math.log10(value) + 1e-9)
        ladder = [m * 10.0**d for d in (decade - 1, decade, decade + 1) for m in self.STEPS]
        if up:
            bigger = [v for v in ladder if v > value * (1 + 1e-9)]
            return min(bigger[0], self.maximum())
        smaller = [v for v in ladder if v < value * (1 - 1e-9)]
        return smaller[-1] if smaller and smaller[-1] >= 1e-6 else 0.0


def config_summary(config, n_classes: int = 10) -> str:
    """'784-512-10 relu · rmsprop lr 0.001 · batch 128 · 5 epochs' plus the extras that differ from plain."""
    sizes = "-".join(str(n) for n in (N_PIXELS, *config.hidden, n_classes))
    parts = [
        f"{sizes} {config.activation}/{config.output}",
        f"{config.optimizer} lr {config.lr:g}",
        f"batch {config.batch_size or 'all'}",
        f"{config.epochs} epoch{'s' if config.epochs != 1 else ''}",
    ]
    if config.train_limit:
        parts.append(f"{config.train_limit:,} images")
    if config.augment != "off" and config.rotate:
        parts.append(f"±{config.rotate:g}°")
    if config.dropout:
        parts.append(f"dropout {config.dropout:g}")
    return " · ".join(parts)


def format_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "–"
    seconds = int(round(max(seconds, 0.0)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _same(mine, value) -> bool:
    if isinstance(value, (tuple, list)):
        return tuple(mine or ()) == tuple(value)
    if isinstance(value, float):
        return mine is not None and abs(float(mine) - value) <= 1e-12 * max(1.0, abs(value))
    return mine == value


def matches_recipe(config, recipe_name: str) -> bool:
    """Whether `config` has every setting the recipe names (dataset, size limit and seed are not the recipe's)."""
    recipe = recipes.RECIPES.get(recipe_name)
    return recipe is not None and all(_same(getattr(config, k, None), v) for k, v in recipe.settings.items())


def closest_recipe(config) -> str:
    """The recipe `config` matches, or else the one it shares the largest share of settings with."""

    def share(name: str) -> float:
        settings = recipes.RECIPES[name].settings
        return sum(_same(getattr(config, k, None), v) for k, v in settings.items()) / max(1, len(settings))

    return max(recipes.names(), key=share)


def compact(box: QComboBox) -> None:
    """Long item texts must not widen the panel: the popup still shows them in full."""
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    box.setMinimumContentsLength(10)


def make_combo(name: str, items, tip: str) -> QComboBox:
    """A compact combo box of (data, text) items."""
    box = QComboBox(objectName=name, toolTip=tip)
    compact(box)
    for data, text in items:
        box.addItem(text, data)
    return box


def make_spin(name: str, lo: int, hi: int, tip: str, step=1, special=None, suffix="") -> QSpinBox:
    box = QSpinBox(objectName=name, toolTip=tip, minimum=lo, maximum=hi, singleStep=step, suffix=suffix)
    box.setKeyboardTracking(False)  # typing "2000" publishes once, not for 2, 20, 200 and 2000
    box.setGroupSeparatorShown(True)
    if special:
        box.setSpecialValueText(special)
    return box


def config_from_fields(base, *, dataset, hidden, activation, output_loss, optimizer, lr, batch_size, epochs,
                       train_limit, rotate, seed):  # fmt: skip
    """The configuration the control panel's fields describe, on top of `base` (which keeps every setting the
    panel does not show). `hidden` None or `lr` <= 0 (invalid fields) keep the base's value; the rotation turns
    augmentation on ("random") or off, keeping a recipe's own kind (Rashid's copies, shifts) where it can."""
    output, loss = output_loss.split("|")
    # Rashid's update rule is defined for sigmoid outputs with squared error only; another pair means the true gradient.
    backprop = base.backprop if (output, loss) == ("sigmoid", "mse") else "gradient"
    augment = base.augment
    if rotate > 0 and augment == "off":
        augment = "random"
    elif rotate == 0 and (augment == "rashid" or (augment == "random" and not getattr(base, "shift", 0))):
        augment = "off"
    return replace(
        base,
        dataset=dataset or base.dataset,
        hidden=hidden if hidden is not None else base.hidden,
        activation=activation,
        output=output,
        loss=loss,
        optimizer=optimizer,
        lr=lr if lr > 0 else base.lr,
        batch_size=batch_size,
        epochs=epochs,
        train_limit=train_limit,
        rotate=rotate,
        augment=augment,
        backprop=backprop,
        seed=seed,
    )
