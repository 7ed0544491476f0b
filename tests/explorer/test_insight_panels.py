"""The back-query, weights and errors panels and the epoch slider, driven through their widgets on real MNIST runs."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from core import insight
from core.preprocess import scale_inputs
from explorer.state import AppState
from explorer.widgets.epoch_slider import EpochSlider

pytestmark = pytest.mark.slow


# --- real training runs, shared by the tests (the core's trainer, no Qt) ---------------------------------------
@pytest.fixture(scope="module")
def mnist():
    from core.datasets import load

    return load("mnist")


def _train(dataset, recipe, **overrides):
    """[(EpochEvent, Model)] per epoch, as the app's worker builds them."""
    from core.model_io import Model
    from core.recipes import config
    from core.training import EpochEvent, Trainer

    cfg = config(recipe, **overrides)
    trainer = Trainer(cfg, dataset)
    epochs = []
    for event in trainer.fit_iter():
        if isinstance(event, EpochEvent):
            model = Model(
                network=event.network,
                config=cfg,
                dataset=dataset.name,
                classes=[str(c) for c in dataset.class_names],
                preprocessing=dict(trainer.preprocessing),
                history=[dict(h) for h in trainer.history],
            )
            epochs.append((event, model))
    return epochs


@pytest.fixture(scope="module")
def rashid_epochs(mnist):
    return _train(mnist, "rashid", epochs=2, train_limit=3000)


@pytest.fixture(scope="module")
def dense_epochs(mnist):
    return _train(mnist, "keras-dense512", epochs=1, train_limit=6000)


def _state_with(dataset, epochs) -> AppState:
    state = AppState()
    state.set_dataset(dataset)
    run = state.new_run(epochs[0][1].config)
    for event, model in epochs:
        state.add_epoch(run, event, model)
    return state


def _click_grid(qtbot, grid, image_index: int) -> None:
    rect = grid.visual_rect(grid.row_of(image_index))
    qtbot.mouseClick(grid.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def _x(model, images):
    prep = model.preprocessing
    return scale_inputs(images, prep["scaling"], prep, np.float32)


# --- back queries -----------------------------------------------------------------------------------------------
def test_backquery_panel_empty_state(qtbot):
    from explorer.panels.backquery import BackQueryPanel

    panel = BackQueryPanel(AppState())
    qtbot.addWidget(panel)
    assert panel.objectName() == "backQueryPanel"
    assert panel.images is None and panel.grid.count() == 0
    assert "Train a model" in panel.grid.empty_label.text()


def test_backquery_panel_follows_the_epoch_slider(qtbot, mnist):
    """Train 2 epochs with the app's worker; moving the slider to 1 shows epoch 1's back queries."""
    from core.recipes import config
    from explorer.panels.backquery import BackQueryPanel
    from explorer.worker import TrainingController

    state = AppState()
    state.set_dataset(mnist)
    panel = BackQueryPanel(state)
    slider = EpochSlider(state)
    qtbot.addWidget(panel)
    qtbot.addWidget(slider)
    controller = TrainingController(state)
    with qtbot.waitSignal(state.trainingFinished, timeout=300_000):
        controller.start(config("rashid", epochs=2, train_limit=2000), mnist)
    run = state.selected_run
    assert run.status == "completed" and len(run.snapshots) == 2
    assert slider.slider.objectName() == "epochSlider"
    assert (slider.slider.maximum(), slider.slider.value()) == (2, 2)
    assert panel.method == "backquery"
    epoch2 = insight.back_queries(run.snapshots[1].network)
    np.testing.assert_allclose(panel.images, epoch2)

    slider.slider.setFocus()
    qtbot.keyClick(slider.slider, Qt.Key.Key_Left)  # the user moves the slider to epoch 1
    assert state.selected_epoch == 1 and not state.follow_latest
    epoch1_net = run.snapshots[0].network
    np.testing.assert_allclose(panel.images, insight.back_queries(epoch1_net))
    assert not np.allclose(panel.images, epoch2)
    np.testing.assert_allclose(panel.probs, epoch1_net.forward(panel.images.astype(np.float32)), rtol=1e-5)
    assert "1 of 2" in slider.value_label.text()

    # the captions say what the network sees in each picture; a click enlarges one with its ten bars
    predicted = panel.probs.argmax(axis=1)
    assert panel.grid.model.caption(3).startswith(f"3: sees {predicted[3]} ")
    _click_grid(qtbot, panel.grid, 3)
    assert panel.selected_label == 3
    np.testing.assert_allclose(panel.large_view.image(), panel.images[3].reshape(28, 28))
    np.testing.assert_allclose(panel.bars.probabilities(), panel.probs[3], rtol=1e-6)


def test_backquery_panel_uses_the_optimised_input_for_relu_networks(qtbot, mnist, dense_epochs):
    from explorer.panels.backquery import BackQueryPanel, compute_optimised

    state = _state_with(mnist, dense_epochs)
    panel = BackQueryPanel(state)
    qtbot.addWidget(panel)
    assert panel.method == "optimised"
    assert panel.images is None  # hidden: the optimisation waits until the panel is shown
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.notice.isVisible()
    assert "sigmoid" in panel.notice.text() and "optimised input" in panel.notice.text()
    assert not panel.method_combo.model().item(0).isEnabled()
    qtbot.waitUntil(lambda: panel.images is not None and not panel.busy, timeout=120_000)
    net = state.model.network
    assert panel.images.shape == (10, 784)
    assert panel.images.min() >= 0.0 and panel.images.max() <= 1.0  # unit scaling: the input range is 0..1
    expected = compute_optimised(net, 10, panel.steps_spin.value(), panel.l2_spin.value(), 0.0, 1.0)
    np.testing.assert_allclose(panel.images, expected["images"], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(panel.probs, net.forward(panel.images.astype(np.float32)), rtol=1e-5)
    # a stronger penalty gives a fainter picture, computed again in the worker
    before = np.abs(panel.images).sum()
    panel.l2_spin.setValue(0.2)
    qtbot.waitUntil(lambda: not panel.busy and np.abs(panel.images).sum() < before, timeout=120_000)


def test_backquery_method_follows_the_selected_run_unless_the_user_chose(qtbot, mnist, rashid_epochs, dense_epochs):
    from explorer.panels.backquery import BackQueryPanel

    state = _state_with(mnist, dense_epochs)  # a ReLU run first, as in the issue
    relu_run = state.selected_run
    sigmoid_run = state.new_run(rashid_epochs[0][1].config)
    for event, model in rashid_epochs:
        state.add_epoch(sigmoid_run, event, model)
    panel = BackQueryPanel(state)
    qtbot.addWidget(panel)
    panel.resize(1000, 700)
    panel.show()
    qtbot.waitExposed(panel)

    def shows(method):
        return panel.method == method and panel.method_combo.currentData() == method

    assert shows("backquery") and "Rashid's method, because this network is all sigmoid" in panel.notice.text()
    state.select_run(relu_run)
    assert shows("optimised") and "has relu layers, not all sigmoid" in panel.notice.text()
    state.select_run(sigmoid_run)  # back to the sigmoid run: back to Rashid's method, without a click
    assert shows("backquery")
    np.testing.assert_allclose(panel.images, insight.back_queries(sigmoid_run.snapshots[-1].network))
    assert panel.bars.shows_activations()  # a sigmoid output: activations, not percentages

    # the user picks the optimised input for the sigmoid run: kept for that run, not for the others
    panel.method_combo.showPopup()
    optimised_row = panel.method_combo.findData("optimised")
    index = panel.method_combo.view().model().index(optimised_row, 0)
    qtbot.mouseClick(
        panel.method_combo.view().viewport(), Qt.MouseButton.LeftButton,
        pos=panel.method_combo.view().visualRect(index).center(),
    )  # fmt: skip
    assert shows("optimised") and "as you chose for this run" in panel.notice.text()
    state.select_run(relu_run)
    assert shows("optimised") and "you chose" not in panel.notice.text()
    state.select_run(sigmoid_run)
    assert shows("optimised") and "as you chose for this run" in panel.notice.text()
    state.select_epoch(1)  # another epoch of the same run keeps the choice
    assert shows("optimised")
    qtbot.waitUntil(lambda: panel.images is not None and not panel.busy, timeout=120_000)
    panel.shutdown()


# --- weights ----------------------------------------------------------------------------------------------------
def test_weights_panel_templates_units_and_gradients(qtbot, mnist, dense_epochs):
    from explorer.panels.weights import WeightsPanel

    state = _state_with(mnist, dense_epochs)
    panel = WeightsPanel(state)
    qtbot.addWidget(panel)
    panel.resize(1200, 800)
    panel.show()
    qtbot.waitExposed(panel)
    qtbot.waitUntil(lambda: panel.templates is not None, timeout=60_000)  # computed in a worker
    net = state.model.network
    w0, w1 = (np.asarray(w, dtype=np.float64) for w in net.weights)
    np.testing.assert_allclose(panel.heatmap.data(), (w0 @ w1)[:, 0].reshape(28, 28), rtol=1e-6)
    low, high = panel.heatmap.levels()
    assert low == pytest.approx(-high) and high == pytest.approx(np.abs(w0 @ w1[:, 0]).max(), rel=1e-6)

    # choosing label 7 sorts the 512 units by their outgoing weight to 7, strongest first
    panel.label_combo.setCurrentIndex(7)
    np.testing.assert_allclose(panel.heatmap.data(), (w0 @ w1)[:, 7].reshape(28, 28), rtol=1e-6)
    assert "first-layer unit looks for, sorted by its link to 7" in panel.caption.text()
    order = panel.gallery.order()
    assert sorted(order) == list(range(512))
    assert np.all(np.diff(w1[order, 7]) <= 0)
    # 512 tiles are noise at their size: the gallery shows the 64 strongest (8 columns of 28+2 pixels) and
    # offers the rest; all 512 are coloured in a worker and drawn when they come back: 23 columns
    assert list(panel.gallery.shown_order()) == list(order[:64])
    assert panel.gallery.header.isVisible() and panel.gallery.count_label.text() == "64 of 512 shown"
    mosaic = panel.gallery.image_item.image
    assert mosaic is not None and mosaic.shape == (8 * 30 - 2, 8 * 30 - 2, 3)
    panel.gallery.show_combo.setCurrentIndex(panel.gallery.show_combo.findData(0))
    panel.gallery.show_combo.activated.emit(panel.gallery.show_combo.currentIndex())
    qtbot.waitUntil(lambda: not panel.busy, timeout=60_000)
    mosaic = panel.gallery.image_item.image
    assert mosaic is not None and mosaic.shape == (23 * 30 - 2, 23 * 30 - 2, 3)
    assert len(panel.gallery.shown_order()) == 512

    # clicking a unit in the gallery shows its weights large with its strongest links
    unit = int(order[5])
    centre = panel.gallery.tile_centre(unit)
    scene = panel.gallery.view_box.mapViewToScene(centre)
    qtbot.mouseClick(
        panel.gallery.graphics.viewport(),
        Qt.MouseButton.LeftButton,
        pos=panel.gallery.graphics.mapFromScene(scene),
    )
    assert panel.unit == unit
    np.testing.assert_allclose(panel.unit_heatmap.data(), w0[:, unit].reshape(28, 28), rtol=1e-6)
    strongest = int(np.argmax(np.abs(w1[unit])))
    assert f"{w1[unit, strongest]:+.3f}" in panel.unit_links.text()

    # the second view: the mean input gradient over the test images of the label
    panel.view_combo.setCurrentIndex(panel.view_combo.findData("gradient"))
    qtbot.waitUntil(lambda: panel.gradients is not None, timeout=120_000)
    x = _x(state.model, mnist.test_images)
    expected = insight.mean_input_gradient(net, x, mnist.test_labels, 7)
    np.testing.assert_allclose(panel.heatmap.data().ravel(), expected, rtol=1e-4, atol=1e-7)


def test_weights_panel_for_a_network_without_hidden_layers(qtbot, mnist):
    from explorer.panels.weights import WeightsPanel

    epochs = _train(mnist, "keras-dense512", hidden=(), epochs=1, train_limit=2000)
    state = _state_with(mnist, epochs)
    panel = WeightsPanel(state)
    qtbot.addWidget(panel)
    assert panel.templates is None  # hidden: nothing is computed until the panel is shown
    panel.show()
    qtbot.waitExposed(panel)
    qtbot.waitUntil(lambda: panel.templates is not None, timeout=60_000)
    w = np.asarray(state.model.network.weights[0], dtype=np.float64)
    panel.set_label(4)
    np.testing.assert_allclose(panel.heatmap.data(), w[:, 4].reshape(28, 28), rtol=1e-6)
    assert panel.view_combo.itemText(0) == "Weight column"
    qtbot.waitUntil(lambda: "no hidden layers" in panel.gallery.empty_label.text())


# --- errors -----------------------------------------------------------------------------------------------------
def test_errors_panel_matrix_cells_and_mistakes(qtbot, mnist, dense_epochs):
    from explorer.panels.errors import ErrorsPanel

    state = _state_with(mnist, dense_epochs)
    panel = ErrorsPanel(state)
    qtbot.addWidget(panel)
    panel.resize(1300, 900)
    panel.show()
    qtbot.waitExposed(panel)
    qtbot.waitUntil(lambda: panel.confusion is not None, timeout=120_000)
    model, labels = state.model, mnist.test_labels
    probs = model.predict_proba(mnist.test_images)
    predicted = probs.argmax(axis=1)
    expected = np.zeros((10, 10), int)
    np.add.at(expected, (labels.astype(int), predicted), 1)  # an independent count
    np.testing.assert_array_equal(panel.confusion, expected)
    np.testing.assert_array_equal(panel.matrix_view.matrix(), expected)
    assert panel.confusion.sum() == 10_000
    right = int((predicted == labels).sum())
    assert panel.scorecard.text() == f"{right:,} / 10,000 right ({right / 100:.2f}%)"
    assert panel.matrix_view.cell_text(3, 3) == f"{expected[3, 3]:,}"
    assert panel.metrics_table.item(3, 2).text() == f"{100 * expected[3, 3] / expected[3].sum():.1f}%"

    # click the cell with the most mistakes: the grid below lists exactly its images
    off = expected - np.diag(np.diag(expected))
    true, pred = np.unravel_index(np.argmax(off), off.shape)
    view = panel.matrix_view
    qtbot.mouseClick(view.plot_widget.viewport(), Qt.MouseButton.LeftButton, pos=view.cell_centre(true, pred))
    assert panel.cell == (true, pred)
    members = np.flatnonzero((labels == true) & (predicted == pred))
    assert sorted(panel.cell_grid.shown_indices()) == sorted(members)
    assert panel.cell_grid.count() == expected[true, pred] > 0
    assert panel.lists.currentWidget() is panel.cell_grid

    # the misclassified list: every mistake, the most confident first
    shown = panel.wrong_grid.shown_indices()
    assert sorted(shown) == sorted(np.flatnonzero(predicted != labels))
    confidence = probs[shown, predicted[shown]]
    assert np.all(np.diff(confidence) <= 1e-7)

    # clicking a mistake shows its ten probabilities and its saliency map
    panel.lists.setCurrentWidget(panel.wrong_grid)
    index = int(shown[2])
    _click_grid(qtbot, panel.wrong_grid, index)
    assert panel.selected_image == index
    np.testing.assert_allclose(panel.bars.probabilities(), probs[index], rtol=1e-5)
    saliency = insight.saliency(model.network, _x(model, mnist.test_images[index])[0], predicted[index])
    np.testing.assert_allclose(panel.saliency_view.data().ravel(), saliency, rtol=1e-5, atol=1e-8)

    # row percentages: the cells read as a share of the true class
    panel.normalise_check.setChecked(True)
    assert view.cell_text(true, pred) == f"{100 * expected[true, pred] / expected[true].sum():.1f}"


def test_errors_panel_labels_sigmoid_outputs_as_activations(qtbot, mnist, rashid_epochs, dense_epochs):
    from explorer.panels.errors import ErrorsPanel

    state = _state_with(mnist, rashid_epochs)
    panel = ErrorsPanel(state)
    qtbot.addWidget(panel)
    panel.resize(1300, 900)
    panel.show()
    qtbot.waitExposed(panel)
    qtbot.waitUntil(lambda: panel.confusion is not None, timeout=120_000)
    first = int(panel.wrong_order[0])
    outputs = state.model.predict_proba(mnist.test_images[first][None])[0]
    assert outputs.sum() > 1.01 or outputs.sum() < 0.99  # sigmoid outputs: no distribution, so no percentages
    caption = panel.wrong_grid.model.caption(first)
    assert "%" not in caption and caption.endswith(f"{outputs.max():.2f}")
    assert panel.bars.shows_activations() and "%" not in panel.bars.summary()
    assert "output" in panel.saliency_view.title_label.text() and "%" not in panel.saliency_view.title_label.text()
    assert "sigmoid output activations" in panel.notice.text()

    dense = state.new_run(dense_epochs[0][1].config)  # a softmax run: probabilities, as percentages
    for event, model in dense_epochs:
        state.add_epoch(dense, event, model)
    qtbot.waitUntil(lambda: panel.model is state.model and not panel.busy and panel.probs is not None, timeout=120_000)
    qtbot.waitUntil(lambda: panel.wrong_grid.model.caption(int(panel.wrong_order[0])).endswith("%"), timeout=60_000)
    assert not panel.bars.shows_activations() and panel.bars.summary().endswith("%)")
    assert "are its probabilities" in panel.notice.text() and "sigmoid" not in panel.notice.text()


def test_errors_panel_says_why_for_another_dataset(qtbot, mnist, dense_epochs):
    from dataclasses import replace

    from explorer.panels.errors import ErrorsPanel

    state = _state_with(mnist, dense_epochs)
    state.set_dataset(replace(mnist, name="my-digits"))
    panel = ErrorsPanel(state)
    qtbot.addWidget(panel)
    assert "trained on mnist" in panel.scorecard.text()
    assert panel.confusion is None


# --- the epoch slider -------------------------------------------------------------------------------------------
def test_epoch_slider_follows_new_epochs_until_the_user_moves_it(qtbot, mnist, rashid_epochs):
    state = AppState()
    state.set_dataset(mnist)
    slider = EpochSlider(state)
    qtbot.addWidget(slider)
    assert not slider.slider.isEnabled() and slider.value_label.text() == "no epochs yet"
    run = state.new_run(rashid_epochs[0][1].config)
    seen = []
    state.modelChanged.connect(seen.append)
    event1, model1 = rashid_epochs[0]
    event2, model2 = rashid_epochs[1]
    state.add_epoch(run, event1, model1)
    assert (slider.slider.maximum(), slider.slider.value()) == (1, 1) and seen[-1] is model1
    state.add_epoch(run, event2, model2)
    assert slider.slider.value() == 2 and seen[-1] is model2 and state.follow_latest
    assert slider.value_label.text() == "2 of 2 (latest)"

    slider.slider.setValue(1)  # the user pins epoch 1
    assert state.model is model1 and seen[-1] is model1 and not state.follow_latest
    state.add_epoch(run, event2, model2)  # a third epoch ends: the selection stays
    assert state.selected_epoch == 1 and state.model is model1
    assert (slider.slider.maximum(), slider.slider.value()) == (3, 1)
    slider.step(+1)
    slider.step(+1)  # back at the newest epoch: follow again
    assert state.selected_epoch == 3 and state.follow_latest

    # selecting another run shows its newest epoch, not the epoch number of the previous one
    other = state.new_run(rashid_epochs[0][1].config)
    assert state.model is None and slider.value_label.text() == "no epochs yet"
    state.add_epoch(other, event1, model1)
    state.select_run(run)
    assert state.selected_epoch == 3 and slider.slider.value() == 3
    state.select_run(other)
    assert state.selected_epoch == 1 and state.model is model1


def test_main_window_has_the_slider_and_the_panels(qtbot):
    from PySide6.QtWidgets import QSlider, QToolBar

    from explorer.app import build_window

    window = build_window()
    qtbot.addWidget(window)
    toolbar = window.findChild(QToolBar, "mainToolBar")
    assert toolbar.findChild(QSlider, "epochSlider") is not None
    names = [panel.objectName() for panel in window.panels]
    ours = [name for name in names if name in ("backQueryPanel", "weightsPanel", "errorsPanel")]
    assert ours == ["backQueryPanel", "weightsPanel", "errorsPanel"]
