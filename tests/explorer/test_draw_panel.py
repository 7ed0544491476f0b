"""The draw panel: strokes drawn with real mouse events, prepared like MNIST, classified live, pictures opened."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen

from core import insight
from explorer.figures import backquery
from explorer.panels import draw
from explorer.panels.draw import NO_MODEL, DrawPanel
from explorer.state import AppState
from explorer.widgets.canvas import CANVAS_SIDE
from tests.explorer.trained_models import trained


def _com(image: np.ndarray) -> tuple[float, float]:
    image = image.astype(np.float64)
    rows, cols = np.indices(image.shape)
    return (rows * image).sum() / image.sum(), (cols * image).sum() / image.sum()


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return rows[0], cols[0], rows[-1] + 1, cols[-1] + 1


@pytest.fixture
def panel(qtbot):
    state = AppState()
    panel = DrawPanel(state)
    panel.resize(900, 560)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def _widget_point(canvas, x: float, y: float) -> QPoint:
    """The widget position of canvas pixel (x, y)."""
    rect = canvas.canvas_rect()
    scale = rect.width() / CANVAS_SIDE
    return QPoint(round(rect.left() + x * scale), round(rect.top() + y * scale))


def stroke(qtbot, canvas, points) -> None:
    """Press at the first point, move through the rest, release at the last: one stroke."""
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=_widget_point(canvas, *points[0]))
    for point in points[1:]:
        qtbot.mouseMove(canvas, _widget_point(canvas, *point))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=_widget_point(canvas, *points[-1]))


def test_stroke_is_prepared_like_mnist(panel, qtbot):
    canvas = panel.canvas
    # An "L" in the top-left corner of the canvas: down from (40, 30) to (40, 130), then right to (110, 130).
    stroke(qtbot, canvas, [(40, 30), (40, 60), (40, 100), (40, 130), (70, 130), (110, 130)])
    pixels = canvas.pixels()
    radius = canvas.pen_width / 2
    # the ink lies where the pointer went, widened by the pen's radius (to a pixel or two of mapping)
    top, left, bottom, right = _bbox(pixels >= 0.1 * pixels.max())
    scale = canvas.canvas_rect().width() / CANVAS_SIDE
    slack = 1 + 1 / scale
    for got, want in ((top, 30 - radius), (left, 40 - radius), (bottom, 130 + radius), (right, 110 + radius)):
        assert abs(got - want) <= slack + 1, (got, want)

    image = panel.prepared.image
    assert image.dtype == np.uint8 and image.shape == (28, 28)
    # Independently: the ink's box fitted so its longer side is 20, aspect kept ...
    height, width = bottom - top, right - left
    long_side = max(height, width)
    expected = (round(height * 20 / long_side), round(width * 20 / long_side))
    r0, c0, r1, c1 = _bbox(image > 0)
    assert (r1 - r0, c1 - c0) == expected
    # ... and placed so its centre of mass is within half a pixel of MNIST's (14, 14).
    com_row, com_col = _com(image)
    assert abs(com_row - 14) <= 0.5 and abs(com_col - 14) <= 0.5
    assert image.max() == 255
    # The panel shows exactly this input.
    np.testing.assert_array_equal(panel.input_view.image(), image)


def test_prediction_appears_and_matches_the_model(panel, qtbot):
    model = trained("sigmoid")
    panel.state.add_loaded_run(model, "rashid")
    stroke(qtbot, panel.canvas, [(140, 40), (140, 100), (140, 160), (140, 230)])  # a "1"
    probs = panel.bars.probabilities()
    outputs = model.predict_proba(panel.prepared.image[None])[0].astype(np.float64)
    # a sigmoid output layer: its activations as they are, labelled as activations, never as percentages
    np.testing.assert_allclose(probs, outputs, rtol=1e-6)
    assert panel.bars.shows_activations()
    top = int(np.argmax(probs))
    assert f"<b>{model.classes[top]}</b> (output {outputs[top]:.2f})" in panel.prediction_label.text()
    assert "%" not in panel.prediction_label.text() and "%" not in panel.bars.summary()
    assert "sigmoid output activations" in panel.caption.text()
    # the back query of the guess, Rashid's (an all-sigmoid network): computed at once
    expected = insight.back_query(model.network, top, 10).reshape(28, 28)
    np.testing.assert_allclose(panel.query_view.image(), expected)
    assert "Back query" in panel.query_view.title_label.text()


def test_optimised_input_comes_from_a_worker(panel, qtbot):
    model = trained("relu")
    panel.state.add_loaded_run(model, "relu")
    stroke(qtbot, panel.canvas, [(90, 60), (190, 60), (150, 140), (120, 230)])  # a "7"
    top = panel.bars.top_class()
    assert top is not None
    # softmax outputs are probabilities: they sum to 1 and are shown as percentages
    assert panel.bars.probabilities().sum() == pytest.approx(1.0) and not panel.bars.shows_activations()
    assert panel.prediction_label.text().endswith("%)")
    qtbot.waitUntil(lambda: panel.query_view.image() is not None, timeout=30_000)
    expected, kind = backquery(model, top)
    assert kind == "optimised input"
    np.testing.assert_allclose(panel.query_view.image(), expected.reshape(28, 28))


def test_without_a_model_the_canvas_still_works(panel, qtbot):
    assert panel.bars.summary() == NO_MODEL
    stroke(qtbot, panel.canvas, [(100, 100), (180, 180)])
    assert not panel.prepared.empty
    assert panel.input_view.image() is not None
    assert panel.bars.probabilities() is None
    assert panel.bars.summary() == NO_MODEL


def test_moves_do_not_recompute_each_time(panel, qtbot, monkeypatch):
    calls = []
    real = draw.prepare_digit
    monkeypatch.setattr(draw, "prepare_digit", lambda image: calls.append(1) or real(image))
    points = [(60 + 3 * i, 80 + 2 * i) for i in range(40)]
    qtbot.mousePress(panel.canvas, Qt.MouseButton.LeftButton, pos=_widget_point(panel.canvas, *points[0]))
    for point in points[1:]:
        qtbot.mouseMove(panel.canvas, _widget_point(panel.canvas, *point))
    assert calls == []  # 39 moves within one event-loop turn: the throttle has not fired yet
    qtbot.waitUntil(lambda: len(calls) == 1, timeout=2000)  # then one recomputation, not 39
    qtbot.mouseRelease(panel.canvas, Qt.MouseButton.LeftButton, pos=_widget_point(panel.canvas, *points[-1]))
    assert len(calls) == 2  # and one when the stroke ends


def test_undo_and_clear(panel, qtbot):
    canvas = panel.canvas
    stroke(qtbot, canvas, [(60, 60), (200, 60)])
    after_first = canvas.pixels()
    stroke(qtbot, canvas, [(60, 200), (200, 200)])
    assert not np.array_equal(canvas.pixels(), after_first)
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_array_equal(canvas.pixels(), after_first)
    qtbot.keyClick(canvas, Qt.Key.Key_Delete)
    assert canvas.is_blank() and panel.prepared.empty and panel.input_view.image() is None
    panel.undo_button.click()  # a clear can be undone too
    np.testing.assert_array_equal(canvas.pixels(), after_first)


def test_open_a_dark_on_light_picture(panel, qtbot, tmp_path, monkeypatch):
    photo = QImage(300, 400, QImage.Format.Format_RGB32)
    photo.fill(QColor(225, 222, 215))  # off-white paper
    painter = QPainter(photo)
    painter.setPen(QPen(QColor(30, 30, 40), 24, Qt.PenStyle.SolidLine, Qt.PenCapStyle.FlatCap))
    painter.drawLine(QPointF(150, 80), QPointF(150, 320))  # a dark "1", 240 tall and 24 wide
    painter.end()
    path = tmp_path / "one.png"
    assert photo.save(str(path))
    monkeypatch.setattr(draw, "ask_open_image", lambda parent: str(path))
    panel.open_button.click()
    assert panel.message_label.text() == ""
    image = panel.prepared.image
    r0, c0, r1, c1 = _bbox(image > 0)
    assert r1 - r0 == 20 and c1 - c0 == 2  # 240 x 24 kept at 10:1 -> 20 x 2
    com_row, com_col = _com(image)
    assert abs(com_row - 14) <= 0.5 and abs(com_col - 14) <= 0.5
    assert image[r0:r1, c0:c1].min() > 200  # the ink became bright and the paper black
    assert image.sum() <= 255 * 40 * 1.01


def test_unreadable_picture_gives_one_sentence_and_keeps_the_drawing(panel, qtbot, tmp_path, monkeypatch):
    stroke(qtbot, panel.canvas, [(80, 80), (200, 200)])
    before = panel.canvas.pixels()
    bad = tmp_path / "not-a-picture.png"
    bad.write_bytes(b"\x89PNG but then nothing")
    monkeypatch.setattr(draw, "ask_open_image", lambda parent: str(bad))
    panel.open_button.click()
    text = panel.message_label.text()
    assert "not-a-picture.png" in text and text.count(".") >= 1 and "\n" not in text
    np.testing.assert_array_equal(panel.canvas.pixels(), before)


def test_model_change_drops_stale_back_query(panel, qtbot):
    panel.state.add_loaded_run(trained("relu"), "relu")
    stroke(qtbot, panel.canvas, [(140, 40), (140, 230)])
    sigmoid = trained("sigmoid")
    panel.state.add_loaded_run(sigmoid, "rashid")  # before the relu network's optimised input returns
    top = panel.bars.top_class()
    expected = insight.back_query(sigmoid.network, top, 10).reshape(28, 28)
    np.testing.assert_allclose(panel.query_view.image(), expected)
    qtbot.wait(300)
    np.testing.assert_allclose(panel.query_view.image(), expected)  # still the current model's
    # and the bars are the current (sigmoid) model's outputs, labelled as activations
    outputs = sigmoid.predict_proba(panel.prepared.image[None])[0].astype(np.float64)
    np.testing.assert_allclose(panel.bars.probabilities(), outputs, rtol=1e-6)
    assert panel.bars.shows_activations()
