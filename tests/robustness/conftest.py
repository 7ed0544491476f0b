"""Figures for the robustness tests: each test records what it tried and survived, and the end of the run prints
them all in one block ("What it survives"), whether or not pytest captures output (`-s` is not needed)."""

from __future__ import annotations

import time

import pytest

_FIGURES: list[tuple[str, str]] = []  # (test name, one line of figures), in the order they were recorded
_STARTED = time.perf_counter()


@pytest.fixture
def figures(request):
    """`figures("1,234 inputs tried, ...")` records one line under this test's name for the end-of-run summary."""

    def record(line: str) -> None:
        _FIGURES.append((request.node.name, line))

    return record


def pytest_terminal_summary(terminalreporter):
    if not _FIGURES:
        return
    terminalreporter.section("What it survives (tests/robustness figures)")
    last = None
    for name, line in _FIGURES:
        if name != last:
            terminalreporter.write_line(name)
            last = name
        terminalreporter.write_line(f"    {line}")
    terminalreporter.write_line(f"robustness run: {time.perf_counter() - _STARTED:.0f} s wall clock")
