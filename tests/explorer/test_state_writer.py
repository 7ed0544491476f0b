"""AppState is the only writer of the app's state (issue: "one state"): no other module of the app assigns the
state's attributes or a run's status, or emits the state's signals. Read from the sources, so a new module that
breaks the rule fails here, as an import-linter contract fails for an import."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import Signal

from explorer.state import AppState

EXPLORER = Path(__file__).resolve().parents[2] / "explorer"
SIGNALS = sorted(name for name, value in vars(AppState).items() if isinstance(value, Signal))
ATTRIBUTES = ("dataset", "config", "config_error", "runs", "selected_run", "selected_epoch", "follow_latest",
              "selected_image", "run_store", "disk_usage", "training", "paused")  # fmt: skip


def offending_lines(pattern: re.Pattern) -> list[str]:
    found = []
    for path in sorted(EXPLORER.rglob("*.py")):
        if path.name == "state.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                found.append(f"{path.relative_to(EXPLORER.parent)}:{number}: {line.strip()}")
    return found


def test_the_state_has_the_signals_this_test_knows():
    assert {"runsChanged", "trainingStarted", "trainingFinished", "statusMessage"} <= set(SIGNALS)


def test_no_other_module_emits_the_state_s_signals():
    pattern = re.compile(r"state\.(" + "|".join(SIGNALS) + r")\.emit\(")
    assert offending_lines(pattern) == []


def test_no_other_module_assigns_the_state_s_attributes_or_a_run_s_status():
    attributes = re.compile(r"\bstate\.(" + "|".join(ATTRIBUTES) + r")\s*=[^=]")
    status = re.compile(r"\brun\.status\s*=[^=]")
    assert offending_lines(attributes) == []
    assert offending_lines(status) == []
