"""What the app remembers between launches: an INI file in the user's config folder (`core.paths.config_dir()`,
i.e. `MNIST_EXPLORER_CONFIG_DIR` when set, so tests never touch the real one).

Keys: `dataset` (the last dataset: "mnist", "fashion-mnist" or a path), `datasets/extra` (folders and files the
user opened), `recipe`, `config` (the last configuration as JSON), `window/geometry`, `window/state`, and
`splitters/<name>` (each splitter's sizes), `training/threads` (BLAS threads for new runs; 0 = automatic),
`insight/abstain_threshold` (the confidence under which the network says "not sure": Errors and Draw tabs).
"""

from __future__ import annotations

import json
from dataclasses import asdict

from PySide6.QtCore import QSettings

from core.paths import config_dir

SETTINGS_FILE = "settings.ini"
THREADS_KEY = "training/threads"


def open_settings() -> QSettings:
    folder = config_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return QSettings(str(folder / SETTINGS_FILE), QSettings.Format.IniFormat)


def thread_setting() -> int:
    """The user's BLAS thread count for new runs: 0 = automatic (the core follows the free cores)."""
    try:
        return max(0, int(open_settings().value(THREADS_KEY, 0)))
    except (TypeError, ValueError):
        return 0


ABSTAIN_KEY = "insight/abstain_threshold"


def abstain_setting() -> float:
    """The confidence threshold (0..1) under which the network abstains; core.abstain's default if unset."""
    from core.abstain import DEFAULT_THRESHOLD

    try:
        value = float(open_settings().value(ABSTAIN_KEY, DEFAULT_THRESHOLD))
    except (TypeError, ValueError):
        return DEFAULT_THRESHOLD
    return min(max(value, 0.0), 1.0) if value == value else DEFAULT_THRESHOLD  # NaN: the default


def save_abstain_setting(value: float) -> float:
    """Keep the threshold (clipped to 0..1) for the next launch; returns what was kept."""
    value = min(max(float(value), 0.0), 1.0)
    _kept_settings().setValue(ABSTAIN_KEY, value)
    return value


_KEPT: dict[str, QSettings] = {}


def _kept_settings() -> QSettings:
    """One QSettings per file kept open, for a value a slider changes at every step: a new QSettings writes the
    file when it goes away (17 ms a step); this one is written by Qt from the event loop, and other QSettings of
    the same file in this process see its values at once."""
    path = str(config_dir() / SETTINGS_FILE)
    if path not in _KEPT:
        _KEPT[path] = open_settings()
    return _KEPT[path]


def config_to_json(config) -> str:
    return json.dumps(asdict(config))


def config_from_json(text: str | None):
    """The saved TrainConfig, or None when there is none or it no longer validates (a newer or older app)."""
    if not text:
        return None
    from core.training import TrainConfig

    try:
        data = json.loads(text)
        config = TrainConfig.from_dict(data)
        config.validate()
        return config
    except (ValueError, TypeError, KeyError):
        return None


def string_list(settings: QSettings, key: str) -> list[str]:
    """A list saved with `setValue(key, [...])`; INI files give back a str for one item and None for none."""
    value = settings.value(key)
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value]
