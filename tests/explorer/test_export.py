"""Figure export: attach_export on real widgets, export_all's files checked against core.insight, the headless CLI."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QToolButton

from core import insight
from core.model_io import save
from core.preprocess import scaling_table
from explorer import export, export_files
from explorer.figures import OPTIMISED_L2, OPTIMISED_STEPS
from explorer.state import AppState
from explorer.widgets.prob_bars import ProbabilityBars
from tests.explorer.trained_models import mnist, trained

ROOT = Path(__file__).resolve().parents[2]
NAMED = (
    [f"backquery_{k}.{ext}" for k in range(10) for ext in ("png", "npy")]
    + [f"weights_{k}.{ext}" for k in range(10) for ext in ("png", "npy")]
    + ["confusion.png", "confusion.csv", "misclassified.png", "misclassified.csv"]
    + ["curves.png", "curves.svg", "curves.csv", "report.html"]
    + ["abstain.png", "abstain.csv", "units.png", "units.csv"]
    + ["robustness.png", "robustness.csv"]
    + ["projection.png", "projection.csv"]
)


def assert_real_png(path: Path, size: tuple[int, int] | None = None) -> QImage:
    """A PNG that Qt reads back, of the given pixel size, and not a single colour."""
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
    image = QImage(str(path))
    assert not image.isNull(), path
    if size is not None:
        assert (image.width(), image.height()) == size, path
    rgb = image.convertToFormat(QImage.Format.Format_RGB32)
    pixels = np.frombuffer(rgb.constBits(), dtype=np.uint32, count=rgb.width() * rgb.height())
    assert len(np.unique(pixels)) > 2, f"{path} is blank"
    return image


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def plot(qtbot):
    widget = pg.PlotWidget()
    widget.resize(400, 300)
    widget.plot([1, 2, 3, 4], [0.9, 0.5, 0.3, 0.2], pen="r")
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


# --- attach_export ----------------------------------------------------------------------------------------------------
def test_plot_exports_png_at_each_scale_and_its_csv(plot, tmp_path):
    columns = {"epoch": [1, 2, 3, 4], "loss": [0.9, 0.5, 0.3, 0.2]}
    button = export.attach_export(plot, "curves", lambda: columns)
    assert isinstance(button, QToolButton)
    assert [a.text() for a in button.export_actions] == ["Export figure…", "Copy to clipboard"]
    # pyqtgraph's right-click menu carries our two entries
    assert plot.scene().contextMenu == button.export_actions
    base = None
    for scale in (1, 2, 4):
        written = export.export_widget(plot, tmp_path / f"curves{scale}.png", scale, lambda: columns)
        assert [p.name for p in written] == [f"curves{scale}.png", f"curves{scale}.csv"]
        image = assert_real_png(written[0])
        if base is None:
            base = (image.width(), image.height())
            assert abs(base[0] - plot.width()) <= 2 and abs(base[1] - plot.height()) <= 2
        assert (image.width(), image.height()) == (base[0] * scale, base[1] * scale)
        rows = read_csv(written[1])
        assert [float(r["loss"]) for r in rows] == columns["loss"]


def test_plot_exports_svg(plot, tmp_path):
    export.attach_export(plot, "curves")
    (path,) = export.export_widget(plot, tmp_path / "curves.svg")
    root = ElementTree.parse(path).getroot()
    assert root.tag.endswith("svg")
    assert any(el.tag.endswith(("path", "polyline")) for el in root.iter())


def test_export_action_asks_where_and_writes_png_and_npy(qtbot, tmp_path, monkeypatch):
    bars = ProbabilityBars()
    probs = np.array([0.01, 0.02, 0.9, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01])
    bars.set_probabilities(probs, [str(k) for k in range(10)], true_label=2)
    bars.resize(300, 240)
    qtbot.addWidget(bars)
    bars.show()
    qtbot.waitExposed(bars)
    button = export.attach_export(bars, "probabilities", lambda: probs)
    asked = {}

    def fake_dialog(parent, caption, start, filters):
        asked["filters"] = filters
        return str(tmp_path / "probs.png"), "PNG image, 2x size (*.png)"

    monkeypatch.setattr(export, "ask_save_path", fake_dialog)
    button.export_actions[0].trigger()
    assert not any("SVG" in f for f in asked["filters"])  # a painted widget is not a plot: PNG only
    assert_real_png(tmp_path / "probs.png", (600, 480))
    np.testing.assert_array_equal(np.load(tmp_path / "probs.npy"), probs)


def test_copy_to_clipboard_puts_the_figure_there(plot):
    button = export.attach_export(plot, "curves")
    button.export_actions[1].trigger()
    image = QGuiApplication.clipboard().image()
    assert not image.isNull()
    assert abs(image.width() - 2 * plot.width()) <= 4


def _right_click(target) -> None:
    """The context-menu event a right-click sends (offscreen, QTest's clicks do not synthesise it)."""
    from PySide6.QtCore import QCoreApplication, QPoint
    from PySide6.QtGui import QContextMenuEvent

    pos = QPoint(target.width() // 2, target.height() // 2)
    QCoreApplication.sendEvent(
        target, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, target.mapToGlobal(pos))
    )


def test_right_click_menus(qtbot, monkeypatch):
    from PySide6.QtWidgets import QVBoxLayout, QWidget

    from explorer.widgets.image_view import ImageView

    shown = []
    monkeypatch.setattr(export, "show_menu", lambda widget, actions, pos: shown.append((widget, actions)))
    holder = QWidget()
    holder.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    holder.customContextMenuRequested.connect(lambda pos: shown.append((holder, None)))
    view = ImageView(holder)
    view.set_image(np.arange(784, dtype=np.uint8).reshape(28, 28))
    plot = pg.PlotWidget(holder)
    layout = QVBoxLayout(holder)
    layout.addWidget(view)
    layout.addWidget(plot)
    qtbot.addWidget(holder)
    holder.resize(300, 500)
    holder.show()
    qtbot.waitExposed(holder)
    view_button = export.attach_export(view, "input")
    export.attach_export(plot, "curves")
    # on the image (a pyqtgraph view inside a plain widget), the event reaches the figure's own menu
    _right_click(view.graphics.viewport())
    assert shown == [(view, view_button.export_actions)]
    # on a plot, pyqtgraph's menu carries the entries and nothing reaches the parent's menu
    _right_click(plot.viewport())
    assert len(shown) == 1


def test_export_into_a_missing_folder_creates_it(plot, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(export, "warn", lambda parent, text: shown.append(text))
    target = tmp_path / "figs" / "new" / "curves.png"
    monkeypatch.setattr(export, "ask_save_path", lambda *a: (str(target), "PNG image, 1x size (*.png)"))
    written = export.export_dialog(plot, "curves", lambda: {"x": [1]})
    assert shown == [] and written == [target, target.with_suffix(".csv")]
    assert_real_png(target)


def test_export_where_a_file_blocks_the_folder_says_so(plot, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(export, "warn", lambda parent, text: shown.append(text))
    (tmp_path / "taken").write_text("x")
    target = tmp_path / "taken" / "inside" / "curves.png"
    monkeypatch.setattr(export, "ask_save_path", lambda *a: (str(target), "PNG image, 1x size (*.png)"))
    assert export.export_dialog(plot, "curves", lambda: {"x": [1]}) == []
    assert len(shown) == 1 and "is a file" in shown[0] and "\n" not in shown[0]
    assert (tmp_path / "taken").read_text() == "x"


def test_cancelled_dialog_writes_nothing(plot, tmp_path, monkeypatch):
    monkeypatch.setattr(export, "ask_save_path", lambda *a: ("", ""))
    assert export.export_dialog(plot, "curves") == []
    assert list(tmp_path.iterdir()) == []


# --- export_all -----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sigmoid_export(tmp_path_factory):
    model = trained("sigmoid")
    outdir = tmp_path_factory.mktemp("export") / "figures" / "new"  # missing with its parent: created
    old = os.umask(0o022)
    try:
        written = export_files.export_all(model, mnist(), outdir)
    finally:
        os.umask(old)
    return model, outdir, written


def test_exported_files_get_the_umasks_ordinary_mode(sigmoid_export):
    _model, outdir, written = sigmoid_export
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in written} == {p.name: "0o644" for p in written}


def test_export_all_writes_every_named_file(sigmoid_export):
    model, outdir, written = sigmoid_export
    assert sorted(p.name for p in written) == sorted(NAMED)
    for name in NAMED:
        if name.endswith(".png"):
            assert_real_png(outdir / name)
    assert not [p for p in outdir.iterdir() if p.name.startswith(".")]  # no temp files left


def test_exported_backqueries_and_weights_equal_core_insight(sigmoid_export):
    model, outdir, _ = sigmoid_export
    templates = insight.linear_template(model.network)
    for label in range(10):
        expected = insight.back_query(model.network, label, 10).reshape(28, 28)
        np.testing.assert_array_equal(np.load(outdir / f"backquery_{label}.npy"), expected)
        np.testing.assert_array_equal(
            np.load(outdir / f"weights_{label}.npy"), templates[label].reshape(28, 28)
        )


def test_exported_confusion_and_mistakes_match_the_predictions(sigmoid_export):
    model, outdir, _ = sigmoid_export
    dataset = mnist()
    probs = model.predict_proba(dataset.test_images)
    predicted = probs.argmax(axis=1)
    expected = np.zeros((10, 10), dtype=int)
    for t, p in zip(dataset.test_labels, predicted, strict=True):  # counted by hand, not with insight
        expected[t, p] += 1
    rows = read_csv(outdir / "confusion.csv")
    got = np.array([[int(row[f"predicted {j}"]) for j in range(10)] for row in rows])
    np.testing.assert_array_equal(got, expected)
    mistakes = read_csv(outdir / "misclassified.csv")
    assert len(mistakes) == int((predicted != dataset.test_labels).sum())
    confidences = [float(m["confidence"]) for m in mistakes]
    assert confidences == sorted(confidences, reverse=True)
    for m in mistakes[:50]:
        i = int(m["index"])
        assert int(m["true"]) == dataset.test_labels[i] != int(m["predicted"]) == predicted[i]
        assert float(m["confidence"]) == pytest.approx(float(probs[i, predicted[i]]))


def test_exported_curves_and_report(sigmoid_export):
    model, outdir, _ = sigmoid_export
    rows = read_csv(outdir / "curves.csv")
    assert [float(r["test_accuracy"]) for r in rows] == [h["test_accuracy"] for h in model.history]
    ElementTree.parse(outdir / "curves.svg")
    html = (outdir / "report.html").read_text()
    # every image is embedded or a file that exists; nothing is fetched from elsewhere
    for ref in re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", html):
        assert ref.startswith("data:image/png;base64,") or (outdir / ref).exists(), ref
    assert html.count("data:image/png;base64,") >= 23  # curves, confusion, mistakes, 10 + 10 tiles
    for key, value in (
        ("lr", "1.5"),
        ("loss", "mse"),
        ("init", "rashid"),
        ("seed", "1"),
        ("train_limit", "2000"),
    ):
        assert re.search(rf"<th class='k'>{key}</th><td class='k'>{re.escape(value)}</td>", html), key
    assert "mnist" in html and "app version" in html
    assert f"{100 * model.history[-1]['test_accuracy']:.2f}%" in html


def test_relu_network_exports_its_optimised_input(tmp_path):
    model = trained("relu")
    export_files.export_all(model, None, tmp_path)  # no dataset: the model's own figures only
    assert not (tmp_path / "confusion.png").exists()
    table = scaling_table(model.preprocessing["scaling"], model.preprocessing, np.float64)
    expected = insight.optimised_inputs(
        model.network, range(10), steps=OPTIMISED_STEPS, l2=OPTIMISED_L2, lo=table[0], hi=table[255],
        rng=np.random.default_rng(0), same_start=True,
    )[3]  # fmt: skip
    np.testing.assert_array_equal(np.load(tmp_path / "backquery_3.npy"), expected.reshape(28, 28))
    alone = insight.optimised_input(
        model.network, 3, steps=OPTIMISED_STEPS, l2=OPTIMISED_L2, lo=table[0], hi=table[255],
        rng=np.random.default_rng(0),
    )  # fmt: skip
    np.testing.assert_allclose(expected, alone, atol=1e-3)  # the batch does what ten single optimisations do
    assert "Optimised input" in (tmp_path / "report.html").read_text()


def test_bad_folders_get_one_sentence(tmp_path):
    model = trained("relu")
    a_file = tmp_path / "taken"
    a_file.write_text("x")
    with pytest.raises(export_files.ExportError, match="is a file, not a folder"):
        export_files.export_all(model, None, a_file)
    with pytest.raises(export_files.ExportError, match="part of that path is a file"):
        export_files.export_all(model, None, a_file / "no" / "such" / "folder")
    assert a_file.read_text() == "x"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into read-only folders")
def test_read_only_folder_gets_one_sentence(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(export_files.ExportError, match="read-only"):
            export_files.export_all(trained("relu"), None, folder)
    finally:
        folder.chmod(0o700)


def test_run_metrics_export_as_csv(tmp_path):
    state = AppState()
    run = state.add_loaded_run(trained("relu"), "my run")
    run.batch_x, run.batch_loss = [0.5, 1.0], [0.8, 0.4]
    run.batch_accuracy, run.batch_lr = [0.7, 0.85], [0.001, 0.001]
    batches, epochs = export_files.export_run_metrics(run, tmp_path)
    assert [float(r["loss"]) for r in read_csv(batches)] == [0.8, 0.4]
    assert [float(r["train_loss"]) for r in read_csv(epochs)] == [h["train_loss"] for h in run.history]


# --- the command --------------------------------------------------------------------------------------------------
def _headless_env(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def test_cli_export_works_without_a_display(tmp_path):
    model_path = tmp_path / "model.npz"
    save(model_path, trained("sigmoid"))
    outdir = tmp_path / "out"
    cmd = [sys.executable, "-m", "explorer.app", "export", str(model_path), str(outdir)]
    result = subprocess.run(cmd, env=_headless_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in outdir.iterdir()) == sorted(NAMED)
    assert_real_png(outdir / "confusion.png")


@pytest.mark.skipif(not hasattr(os, "fchmod"), reason="file modes are POSIX")
@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600)])
def test_cli_export_creates_a_new_folder_and_files_get_the_umasks_mode(tmp_path, umask, mode):
    model_path = tmp_path / "model.npz"
    save(model_path, trained("sigmoid"))
    outdir = tmp_path / "figs" / "run 1"  # neither exists yet
    env = {**_headless_env(tmp_path), "DISPLAY": ":99999", "QT_QPA_PLATFORM": "xcb"}  # a display that fails
    cmd = [sys.executable, "-m", "explorer.app", "export", str(model_path), str(outdir)]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, umask=umask)
    assert result.returncode == 0, result.stderr
    files = sorted(outdir.iterdir())
    assert sorted(p.name for p in files) == sorted(NAMED)
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in files} == {p.name: oct(mode) for p in files}


def test_cli_export_of_a_corrupt_model_is_one_line_and_status_2(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    cmd = [sys.executable, "-m", "explorer.app", "export", str(bad), str(tmp_path / "out")]
    result = subprocess.run(cmd, env=_headless_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "bad.npz" in result.stderr
    assert not (tmp_path / "out").exists()
