"""The File menu's model and export actions on the real main window (file dialogs and the message box patched)."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest
from PySide6.QtWidgets import QWidget

from core import datasets
from core.datasets import FASHION_CLASSES
from core.model_io import save
from explorer import actions
from explorer.app import build_window
from tests.explorer.test_export import NAMED, assert_real_png
from tests.explorer.trained_models import trained


@pytest.fixture
def window(qtbot):
    window = build_window()
    qtbot.addWidget(window)
    return window


@pytest.fixture
def messages(monkeypatch):
    """The sentences the actions show the user, instead of message boxes."""
    shown: list[str] = []
    monkeypatch.setattr(actions, "warn", lambda parent, text: shown.append(text))
    return shown


def _controls(window) -> dict:
    def find(name):
        return window.findChild(QWidget, name)

    return {
        "hidden": find("hiddenLayersEdit").text(),
        "lr": find("learningRateSpin").value(),
        "batch": find("batchSizeSpin").value(),
        "epochs": find("epochsSpin").value(),
        "limit": find("trainLimitSpin").value(),
        "seed": find("seedSpin").value(),
    }


def _snapshot(state) -> tuple:
    """What must not change: the same runs (and their epochs), config, dataset, model and selection."""
    runs = tuple((id(run), len(run.history), len(run.snapshots)) for run in state.runs)
    return runs, id(state.config), id(state.dataset), id(state.model), id(state.selected_run)


def test_save_and_load_round_trip_model_settings_and_history(qtbot, tmp_path, monkeypatch, messages):
    model = trained("relu")
    first = build_window()
    qtbot.addWidget(first)
    first.state.add_loaded_run(model, "trained here")
    monkeypatch.setattr(actions, "ask_save_model", lambda parent, suggested: str(tmp_path / "digits"))
    actions.save_model(first)
    path = tmp_path / "digits.npz"  # the suffix is added
    qtbot.waitUntil(path.exists, timeout=20_000)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left behind

    # A fresh app, still on its default settings (512 hidden units, rmsprop ...), loads the file.
    second = build_window()
    qtbot.addWidget(second)
    state = second.state
    assert state.config != model.config
    monkeypatch.setattr(actions, "ask_open_model", lambda parent: str(path))
    actions.load_model(second)
    qtbot.waitUntil(lambda: len(state.runs) == 1, timeout=20_000)
    assert messages == []
    run = state.runs[0]
    assert run.status == "loaded" and run.name == "digits"
    assert state.config == model.config
    assert _controls(second) == {"hidden": "32", "lr": pytest.approx(0.001), "batch": 64, "epochs": 2,
                                 "limit": 3000, "seed": 0}  # fmt: skip
    assert run.history == model.history
    loaded = state.model
    for got, want in zip(loaded.network.weights + loaded.network.biases,
                         model.network.weights + model.network.biases, strict=True):  # fmt: skip
        np.testing.assert_array_equal(got, want)
    # the insight panels' model is the loaded one, and training can continue from it
    assert state.selected_run is run and run.model is loaded
    assert second.control_panel.continue_check.isEnabled()
    probs = loaded.predict_proba(datasets.load("mnist").test_images[:200])
    np.testing.assert_allclose(probs, model.predict_proba(datasets.load("mnist").test_images[:200]))


def test_corrupt_model_file_says_why_and_changes_nothing(window, qtbot, tmp_path, monkeypatch, messages):
    window.state.add_loaded_run(trained("relu"), "kept")
    before = _snapshot(window.state)
    controls = _controls(window)
    good = tmp_path / "good.npz"
    save(good, trained("relu"))
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"PK\x03\x04 this is not a model")
    for bad in (truncated, garbage):
        monkeypatch.setattr(actions, "ask_open_model", lambda parent, bad=bad: str(bad))
        count = len(messages)
        actions.load_model(window)
        qtbot.waitUntil(lambda count=count: len(messages) == count + 1, timeout=20_000)
        assert bad.name in messages[-1]
        assert "\n" not in messages[-1]
        assert _snapshot(window.state) == before
        assert _controls(window) == controls


def test_model_for_another_dataset_switches_to_it(window, qtbot, tmp_path, monkeypatch, messages):
    if datasets.find("fashion-mnist") is None:
        pytest.skip("Fashion-MNIST is not installed")
    digits = trained("relu")
    fashion = dataclasses.replace(
        digits, dataset="fashion-mnist", classes=list(FASHION_CLASSES),
        config=dataclasses.replace(digits.config, dataset="fashion-mnist"),
    )  # fmt: skip
    path = tmp_path / "fashion.npz"
    save(path, fashion)
    actions.load_model(window, str(path))
    qtbot.waitUntil(lambda: len(window.state.runs) == 1, timeout=60_000)
    assert messages == []
    assert window.state.dataset.name == "fashion-mnist"
    assert window.state.model.classes == list(FASHION_CLASSES)


def test_model_whose_dataset_cannot_be_loaded_changes_nothing(window, qtbot, tmp_path, messages):
    digits = trained("relu")
    elsewhere = dataclasses.replace(
        digits,
        dataset="lost-digits",
        config=dataclasses.replace(digits.config, dataset=str(tmp_path / "gone")),
    )
    path = tmp_path / "lost.npz"
    save(path, elsewhere)
    before = _snapshot(window.state)
    actions.load_model(window, str(path))
    qtbot.waitUntil(lambda: len(messages) == 1, timeout=20_000)
    assert "lost-digits" in messages[0] and "nothing was changed" in messages[0]
    assert _snapshot(window.state) == before


def test_save_without_a_model_or_where_a_file_blocks_the_folder_says_so(window, tmp_path, monkeypatch, messages):
    monkeypatch.setattr(
        actions, "ask_save_model", lambda parent, suggested: pytest.fail("no dialog expected")
    )
    assert actions.save_model(window) is None
    assert "no model to save" in messages[-1]
    window.state.add_loaded_run(trained("relu"), "trained")
    (tmp_path / "taken").write_text("x")
    assert actions.save_model(window, str(tmp_path / "taken" / "m.npz")) is None
    assert "is a file" in messages[-1]
    assert (tmp_path / "taken").read_text() == "x"


@pytest.mark.skipif(not hasattr(os, "fchmod"), reason="file modes are POSIX")
def test_saves_and_exports_create_new_folders_with_the_umasks_mode(window, qtbot, tmp_path, monkeypatch, messages):
    window.state.add_loaded_run(trained("sigmoid"), "rashid")
    old = os.umask(0o022)
    try:
        model = tmp_path / "models" / "new" / "m.npz"
        actions.save_model(window, str(model))
        qtbot.waitUntil(model.exists, timeout=20_000)
        actions.export_figures(window, str(tmp_path / "figs" / "a"))
        qtbot.waitUntil(lambda: (tmp_path / "figs" / "a" / "report.html").exists(), timeout=60_000)
        report = tmp_path / "reports" / "b" / "report.html"
        actions.export_report(window, str(report))
        qtbot.waitUntil(report.exists, timeout=60_000)
        metrics = actions.export_run_metrics(window, str(tmp_path / "metrics" / "c"))
    finally:
        os.umask(old)
    files = [model, report, *metrics, *(tmp_path / "figs" / "a").iterdir()]
    assert len(files) == 4 + len(NAMED) and messages == []
    assert {str(p): oct(p.stat().st_mode & 0o777) for p in files} == {str(p): "0o644" for p in files}


def test_export_figures_and_report_actions(window, qtbot, tmp_path, monkeypatch, messages):
    window.state.add_loaded_run(trained("sigmoid"), "rashid")
    monkeypatch.setattr(actions, "ask_folder", lambda parent, caption: str(tmp_path / "figures"))
    (tmp_path / "figures").mkdir()
    actions.export_figures(window)
    qtbot.waitUntil(lambda: (tmp_path / "figures" / "report.html").exists(), timeout=60_000)
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == sorted(NAMED)
    assert_real_png(tmp_path / "figures" / "misclassified.png")

    monkeypatch.setattr(actions, "ask_report_path", lambda parent: str(tmp_path / "alone"))
    actions.export_report(window)
    report = tmp_path / "alone.html"
    qtbot.waitUntil(report.exists, timeout=60_000)
    html = report.read_text()
    assert html.count("data:image/png;base64,") >= 23 and "rashid" in html
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alone.html", "figures"]  # nothing else beside it
    assert messages == []


def test_export_run_metrics_action(window, tmp_path, monkeypatch, messages):
    assert actions.export_run_metrics(window, str(tmp_path)) == []
    assert "no run" in messages[-1]
    window.state.add_loaded_run(trained("relu"), "my run")
    monkeypatch.setattr(actions, "ask_folder", lambda parent, caption: str(tmp_path))
    written = actions.export_run_metrics(window)
    assert [p.name for p in written] == ["my_run_batches.csv", "my_run_epochs.csv"]
    assert len(written[1].read_text().splitlines()) == 1 + len(trained("relu").history)


def test_export_shows_its_progress_then_what_it_wrote(window, qtbot, tmp_path, messages):
    window.state.add_loaded_run(trained("sigmoid"), "rashid")
    status: list[str] = []
    window.state.statusMessage.connect(status.append)
    runner = actions.export_figures(window, str(tmp_path / "figures"))
    qtbot.waitUntil(lambda: not runner.busy, timeout=60_000)
    assert messages == []
    steps = [text for text in status if text.startswith("Exporting the figures: ")]
    assert steps and steps[0] == "Exporting the figures: back query of 0… 0%"  # the first report always shows
    percents = [int(text.rsplit(" ", 1)[1].rstrip("%")) for text in steps]
    assert percents == sorted(percents) and all(0 <= p < 100 for p in percents)
    assert status[-1] == f"Exported {len(NAMED)} files to {tmp_path / 'figures'}."


def test_a_failing_export_is_one_sentence(window, qtbot, tmp_path, monkeypatch, messages):
    from explorer import figures

    def broken(*args, **kwargs):
        raise MemoryError("not enough memory to draw the confusion matrix\nwhile allocating 3 GB")

    monkeypatch.setattr(figures, "render_files", broken)
    window.state.add_loaded_run(trained("sigmoid"), "rashid")
    actions.export_figures(window, str(tmp_path / "figures"))
    qtbot.waitUntil(lambda: len(messages) == 1, timeout=60_000)
    assert messages == ["Not enough memory to draw the confusion matrix."]
    assert list((tmp_path / "figures").iterdir()) == []  # nothing half-written
