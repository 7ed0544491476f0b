"""Where MNIST Explorer keeps the user's files: downloaded datasets, the decoded-array cache, and settings.

Each folder comes from an environment variable when it is set (tests point them at temp dirs), otherwise from
`platformdirs` under the app name "mnist-explorer". The functions only resolve paths; callers create folders when
they first write to them.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "mnist-explorer"

DATA_DIR_ENV = "MNIST_EXPLORER_DATA_DIR"  # downloaded datasets
CACHE_DIR_ENV = "MNIST_EXPLORER_CACHE_DIR"  # decoded-array cache
CONFIG_DIR_ENV = "MNIST_EXPLORER_CONFIG_DIR"  # settings INI file, extra dataset folders


def _resolve(env_var: str, default: Path) -> Path:
    value = os.environ.get(env_var, "").strip()
    return Path(value).expanduser() if value else default


def data_dir() -> Path:
    """The user's data folder: downloaded datasets live here, one subfolder per dataset."""
    return _resolve(DATA_DIR_ENV, platformdirs.user_data_path(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    """The user's cache folder: decoded arrays that can be rebuilt from their sources at any time."""
    return _resolve(CACHE_DIR_ENV, platformdirs.user_cache_path(APP_NAME, appauthor=False))


def config_dir() -> Path:
    """The user's config folder: the app's settings and the list of extra dataset folders."""
    return _resolve(CONFIG_DIR_ENV, platformdirs.user_config_path(APP_NAME, appauthor=False))
