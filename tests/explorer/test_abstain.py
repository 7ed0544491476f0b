""" "I don't know": the Errors tab's accuracy-coverage curve and threshold, the Draw tab's "not sure", and the
threshold kept between launches; driven through the widgets with small real models on MNIST."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.state import AppState
from tests.explorer.trained_models import mnist, trained

pytestmark = pytest.mark.slow


def _errors_panel(qtbot, state):
    from explorer.panels.errors import ErrorsPanel

    panel = ErrorsPanel(state)
    qtbot.addWidget(panel)
    panel.resize(1300, 850)
    panel.show()
    qtbot.waitExposed(panel)
    qtbot.waitUntil(lambda: panel.probs is not None, timeout=60_000)
    panel.lists.setCurrentWidget(panel.abstain_view)
    return panel


def _expected(model, threshold: float, normalise: bool = False):
    """Coverage and accuracy at `threshold`, computed here from the model's outputs."""
    dataset = mnist()
    outputs = model.predict_proba(dataset.test_images).astype(np.float64)
    if normalise:
        outputs = outputs / outputs.sum(axis=1, keepdims=True)
    conf = outputs.max(axis=1)
    answered = conf >= threshold
    right = outputs.argmax(axis=1) == dataset.test_labels
    return answered.mean(), right[answered].mean(), answered.sum()


def test_the_threshold_moves_the_reading_and_the_marker(qtbot):
    state = AppState()
    state.set_dataset(mnist())
    model = trained("relu")
    state.add_loaded_run(model, "relu")
    state.set_abstain_threshold(0.9)
    panel = _errors_panel(qtbot, state)
    view = panel.abstain_view
    assert panel.lists.tabText(panel.lists.currentIndex()) == "I don't know"
    coverage, accuracy, _ = _expected(model, 0.9)
    assert view.reading_label.text() == (
        f"At 90% confidence it answers {100 * coverage:.1f}% of the digits and gets {100 * accuracy:.1f}% of "
        "those right."
    )
    assert view.spin.value() == pytest.approx(90.0) and view.slider.value() == 900
    x, y = view.marker.getData()
    assert x[0] == pytest.approx(100 * coverage) and y[0] == pytest.approx(100 * accuracy)
    assert 0.0 < coverage < 1.0 and accuracy > 0.9  # a real trade: some digits left out

    # the slider: half as sure answers more and gets fewer right; the state (and Draw) follow
    view.slider.setValue(500)
    assert state.abstain_threshold == pytest.approx(0.5)
    assert view.spin.value() == pytest.approx(50.0)
    coverage50, accuracy50, _ = _expected(model, 0.5)
    assert f"At 50% confidence it answers {100 * coverage50:.1f}% of the digits" in view.reading_label.text()
    assert coverage50 > coverage and accuracy50 < accuracy
    # the curve behind it is the exported data: threshold, coverage, accuracy
    columns = view.data()
    i = columns["threshold"].index(0.5)
    assert columns["coverage"][i] == pytest.approx(coverage50) and columns["accuracy"][i] == pytest.approx(
        accuracy50
    )
    # the spin box too
    view.spin.setValue(97.5)
    assert state.abstain_threshold == pytest.approx(0.975) and view.slider.value() == 975
    assert view.reading_label.text().startswith("At 97.5% confidence it answers")


def test_sigmoid_outputs_are_normalised_and_said_so(qtbot):
    state = AppState()
    state.set_dataset(mnist())
    model = trained("sigmoid")
    state.add_loaded_run(model, "rashid")
    state.set_abstain_threshold(0.6)
    panel = _errors_panel(qtbot, state)
    coverage, accuracy, _ = _expected(model, 0.6, normalise=True)
    view = panel.abstain_view
    assert view.reading_label.text().startswith(
        f"At a normalised confidence of 0.60 it answers {100 * coverage:.1f}% of the digits and gets "
        f"{100 * accuracy:.1f}%"
    )
    assert "divided by the sum of its outputs" in view.detail_label.text()


def test_draw_says_not_sure_under_the_threshold(qtbot):
    from explorer.panels.draw import DrawPanel, picture_to_canvas

    state = AppState()
    model = trained("relu")
    state.add_loaded_run(model, "relu")
    panel = DrawPanel(state)
    qtbot.addWidget(panel)
    panel.show()
    # a test digit put on the canvas, as the Open picture button does
    panel.canvas.set_pixels(picture_to_canvas(mnist().test_images[0]))
    panel.update_prediction()
    probs = model.predict_proba(panel.prepared.image[None])[0].astype(np.float64)
    order = np.argsort(-probs)
    top = float(probs[order[0]])
    state.set_abstain_threshold(max(0.0, top - 0.05))
    assert panel.prediction_label.text().startswith(f"The network thinks: <b>{order[0]}</b>")
    state.set_abstain_threshold(min(1.0, top + 0.001))  # just above its confidence: it abstains at once
    text = panel.prediction_label.text()
    assert text.startswith("<b>Not sure</b>")
    assert f"maybe <b>{order[0]}</b> ({100 * probs[order[0]]:.1f}%) or <b>{order[1]}</b>" in text


def test_the_threshold_survives_a_new_window(qtbot):
    from explorer.app import build_window
    from explorer.widgets.abstain_view import AbstainView

    window = build_window()
    qtbot.addWidget(window)
    view = window.findChild(AbstainView, "abstainView")
    view.slider.setValue(730)
    assert window.state.abstain_threshold == pytest.approx(0.73)
    window.close()
    again = build_window()
    qtbot.addWidget(again)
    assert again.state.abstain_threshold == pytest.approx(0.73)
    view = again.findChild(AbstainView, "abstainView")
    assert view.spin.value() == pytest.approx(73.0) and view.slider.value() == 730


def test_export_writes_the_curve_and_the_units(tmp_path):
    import csv

    from core import units
    from explorer.export_files import export_all

    model, dataset = trained("relu"), mnist()
    written = {p.name for p in export_all(model, dataset, tmp_path)}
    assert {"abstain.png", "abstain.csv", "units.png", "units.csv"} <= written
    rows = list(csv.DictReader((tmp_path / "abstain.csv").open()))
    assert list(rows[0]) == ["threshold", "coverage", "accuracy"] and len(rows) == 101
    at90 = next(r for r in rows if float(r["threshold"]) == 0.9)
    coverage, accuracy, _ = _expected(model, 0.9)
    assert float(at90["coverage"]) == pytest.approx(coverage) and float(at90["accuracy"]) == pytest.approx(
        accuracy
    )
    # units.csv: every first-layer unit, its 16 most exciting test images and the accuracy without it
    units_rows = list(csv.DictReader((tmp_path / "units.csv").open()))
    assert len(units_rows) == 32
    x = model.scale(dataset.test_images)
    order, _ = units.top_images(model.network, x, 0, 5)
    assert units_rows[5]["top_images"] == " ".join(str(i) for i in order)
    without = units.silence_effect(model.network, x, dataset.test_labels, [(0, 5)]).accuracy_after
    assert float(units_rows[5]["accuracy_without"]) == pytest.approx(without)
    report = (tmp_path / "report.html").read_text()
    assert "<h2>I don't know: answering only when sure</h2>" in report and "What the units answer to" in report
