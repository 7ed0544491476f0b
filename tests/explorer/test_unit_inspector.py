"""The Weights tab's unit inspector, driven through its widgets on real MNIST runs: the images that excite a unit
most, and silencing units, checked against computations made here with NumPy."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from PySide6.QtCore import Qt

from core import units
from explorer.state import AppState
from tests.explorer.trained_models import mnist

pytestmark = pytest.mark.slow


@functools.cache
def _epochs(hidden: tuple[int, ...], n_epochs: int):
    """[(EpochEvent, Model)] of a small ReLU network trained on 3,000 MNIST digits, as the app's worker builds them."""
    from core.model_io import Model
    from core.training import EpochEvent, TrainConfig, Trainer

    dataset = mnist()
    config = TrainConfig(hidden=hidden, epochs=n_epochs, train_limit=3000, batch_size=64, seed=0)
    trainer = Trainer(config, dataset)
    epochs = []
    for event in trainer.fit_iter():
        if isinstance(event, EpochEvent):
            model = Model(event.network, config, dataset.name, [str(c) for c in dataset.class_names],
                          dict(trainer.preprocessing), [dict(h) for h in trainer.history])  # fmt: skip
            epochs.append((event, model))
    return epochs


def _state(hidden=(32,), n_epochs=2) -> AppState:
    state = AppState()
    state.set_dataset(mnist())
    epochs = _epochs(hidden, n_epochs)
    run = state.new_run(epochs[0][1].config)
    for event, model in epochs:
        state.add_epoch(run, event, model)
    return state


def _panel(qtbot, state):
    from explorer.panels.weights import WeightsPanel

    panel = WeightsPanel(state)
    qtbot.addWidget(panel)
    panel.resize(1400, 850)
    panel.show()
    qtbot.waitExposed(panel)
    inspector = panel.inspector
    qtbot.waitUntil(
        lambda: inspector.prepared is not None and inspector.prepared.model is state.model, timeout=60_000
    )
    qtbot.waitUntil(lambda: not panel.busy and not inspector.busy, timeout=60_000)
    return panel, inspector


def _hidden(model, layer: int) -> np.ndarray:
    """The activations of a hidden layer for every test image, computed here: ReLU layers in float64."""
    a = model.scale(mnist().test_images).astype(np.float64)
    for w, b in zip(model.network.weights[: layer + 1], model.network.biases[: layer + 1], strict=True):
        a = np.maximum(a @ w.astype(np.float64) + b, 0)
    return a


def _answers(model, silent=()) -> np.ndarray:
    """The network's answers with the hidden units in `silent` ((layer, unit)) multiplied by 0 (float64)."""
    net = model.network
    a = model.scale(mnist().test_images).astype(np.float64)
    for i, (w, b) in enumerate(zip(net.weights, net.biases, strict=True)):
        z = a @ w.astype(np.float64) + b
        if i == len(net.weights) - 1:
            return z.argmax(axis=1)
        a = np.maximum(z, 0)
        for layer, unit in silent:
            if layer == i:
                a[:, unit] = 0


def _click_unit(qtbot, panel, unit: int) -> None:
    gallery = panel.gallery
    scene = gallery.view_box.mapViewToScene(gallery.tile_centre(unit))
    qtbot.mouseClick(
        gallery.graphics.viewport(), Qt.MouseButton.LeftButton, pos=gallery.graphics.mapFromScene(scene)
    )


def test_a_unit_shows_its_16_most_exciting_test_images(qtbot):
    state = _state()
    panel, inspector = _panel(qtbot, state)
    unit = int(panel.gallery.order()[3])
    _click_unit(qtbot, panel, unit)
    assert panel.unit == unit and inspector.unit == unit and inspector.unit_spin.value() == unit
    values = _hidden(state.model, 0)[:, unit]
    expected = sorted(range(len(values)), key=lambda i: (-values[i], i))[:16]
    shown = inspector.top_grid.shown_indices().tolist()
    # float32 in the app, float64 here: the same 16 images (order may swap only between near-equal values)
    assert sorted(shown) == sorted(expected)
    np.testing.assert_allclose(inspector.top[1], values[shown], rtol=1e-4)
    assert np.all(np.diff(inspector.top[1]) <= 0)
    label = str(mnist().test_labels[shown[0]])
    assert inspector.top_grid.model.caption(shown[0]) == f"{label} {values[shown[0]]:.2f}"
    assert f"Unit {unit}" in inspector.top_title.text() and "epoch 2" in inspector.top_title.text()

    # the spin box chooses a unit too
    inspector.unit_spin.setValue(7)
    values7 = _hidden(state.model, 0)[:, 7]
    assert sorted(inspector.top_grid.shown_indices().tolist()) == sorted(
        np.argsort(-values7, kind="stable")[:16]
    )

    # the epoch slider: epoch 1's network has other favourites
    state.select_epoch(1)
    qtbot.waitUntil(lambda: inspector.prepared.model is state.model, timeout=60_000)
    values1 = _hidden(state.model, 0)[:, 7]
    assert sorted(inspector.top_grid.shown_indices().tolist()) == sorted(
        np.argsort(-values1, kind="stable")[:16]
    )
    assert "epoch 1" in inspector.top_title.text()


def test_silencing_shows_what_the_network_loses_without_changing_the_run(qtbot):
    state = _state()
    panel, inspector = _panel(qtbot, state)
    model = state.model
    saved = [w.copy() for w in model.network.weights]
    inspector.set_unit(0, 5)
    # the strongest few units together, so that some answers surely change
    inspector.silence_edit.setText("0-11")
    inspector.silence_edit.editingFinished.emit()
    qtbot.waitUntil(lambda: inspector.effect is not None, timeout=60_000)
    effect = inspector.effect
    assert effect.units == [(0, u) for u in range(12)]
    labels = mnist().test_labels.astype(np.int64)
    before, after = _answers(model), _answers(model, effect.units)
    changed = np.flatnonzero(before != after)
    assert changed.size > 0
    np.testing.assert_array_equal(effect.changed, changed)
    assert inspector.changed_grid.shown_indices().tolist() == changed.tolist()
    i = int(changed[0])
    names = model.classes
    assert (
        inspector.changed_grid.model.caption(i) == f"{names[labels[i]]}: {names[before[i]]}→{names[after[i]]}"
    )
    table = inspector.accuracy_table
    assert table.rowCount() == 10
    for k in range(10):
        members = labels == k
        assert table.item(k, 1).text() == f"{100 * np.mean(before[members] == k):.1f}%"
        assert table.item(k, 2).text() == f"{100 * np.mean(after[members] == k):.1f}%"
    assert f"{100 * np.mean(after == labels):.2f}%" in inspector.loss_summary.text()
    assert f"{changed.size:,} digits change their answer" in inspector.loss_summary.text()

    # the switch adds the unit shown
    inspector.silence_check.setChecked(True)
    qtbot.waitUntil(lambda: inspector.effect is not None and (0, 5) in inspector.effect.units, timeout=60_000)
    inspector.silence_edit.setText("")
    inspector.silence_edit.editingFinished.emit()
    qtbot.waitUntil(
        lambda: inspector.effect is not None and inspector.effect.units == [(0, 5)], timeout=60_000
    )
    np.testing.assert_array_equal(
        inspector.effect.changed, np.flatnonzero(before != _answers(model, [(0, 5)]))
    )

    # a what-if: the run's weights, the model the other tabs draw and the core's own answer are untouched
    assert state.model is model
    for w, kept in zip(model.network.weights, saved, strict=True):
        np.testing.assert_array_equal(w, kept)
    core = units.silence_effect(model.network, model.scale(mnist().test_images), labels, [(0, 5)])
    np.testing.assert_array_equal(core.changed, inspector.effect.changed)
    assert "saved weights" in inspector.findChild(type(inspector.loss_summary), "silenceNote").text()

    # typing nonsense says so and keeps the last result
    inspector.silence_edit.setText("4, 99")
    inspector.silence_edit.editingFinished.emit()
    assert inspector.silence_message.text() == "The layer has units 0 to 31; 99 is outside that."
    inspector.silence_check.setChecked(False)
    assert inspector.effect.units == [(0, 5)]


def test_a_deeper_layer_is_chosen_in_the_layer_combo(qtbot):
    state = _state(hidden=(24, 16), n_epochs=1)
    panel, inspector = _panel(qtbot, state)
    assert [inspector.layer_combo.itemText(i) for i in range(2)] == [
        "hidden 1 (24 units)",
        "hidden 2 (16 units)",
    ]
    inspector.layer_combo.setCurrentIndex(1)
    qtbot.waitUntil(lambda: inspector.prepared is not None and inspector.prepared.layer == 1, timeout=60_000)
    inspector.unit_spin.setValue(9)
    values = _hidden(state.model, 1)[:, 9]
    assert sorted(inspector.top_grid.shown_indices().tolist()) == sorted(
        np.argsort(-values, kind="stable")[:16]
    )
    assert inspector.unit_spin.maximum() == 15
    # the gallery shows the first layer: a click there leaves the second layer's inspection alone
    _click_unit(qtbot, panel, 2)
    assert inspector.layer == 1 and inspector.unit == 9


def test_a_network_without_hidden_layers_says_so(qtbot):
    state = _state(hidden=(), n_epochs=1)
    from explorer.panels.weights import WeightsPanel

    panel = WeightsPanel(state)
    qtbot.addWidget(panel)
    panel.show()
    assert "no hidden layer" in panel.inspector.top_title.text()
    assert panel.inspector.top_grid.count() == 0
