"""Shared test setup: Qt renders offscreen, and the app's data, cache and settings folders point at temp dirs."""

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Keep tests out of the real user's folders: a shared cache (fast reloads) but private settings."""
    cache = tmp_path_factory.getbasetemp() / "user-cache"
    cache.mkdir(exist_ok=True)
    monkeypatch.setenv("MNIST_EXPLORER_CACHE_DIR", str(cache))
    monkeypatch.setenv("MNIST_EXPLORER_DATA_DIR", str(tmp_path_factory.mktemp("user-data")))
    monkeypatch.setenv("MNIST_EXPLORER_CONFIG_DIR", str(tmp_path_factory.mktemp("user-config")))
