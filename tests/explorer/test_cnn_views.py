"""Convolutional networks in the app (issue 15), driven through the real widgets on tiny CNNs trained on MNIST:
the layer field's notation and its sentence, the Weights tab's filters and feature maps (against core.convnet),
the epoch slider, Draw's feature maps, back query, errors, the dataset view and the export."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from PySide6.QtWidgets import QLineEdit, QPushButton

from core import insight
from core.convnet import conv_filters, feature_maps, is_convolutional
from explorer.state import AppState
from tests.explorer.gui_helpers import find, open_window, quick_settings, wait_finished
from tests.explorer.trained_models import mnist

pytestmark = pytest.mark.slow

TINY = "c4k3,p2,16"  # 4 filters of 3x3 (26x26 maps), 2x2 pooling (13x13), 16 dense units: trains in a second


@functools.cache
def cnn_epochs() -> list:
    """[(EpochEvent, Model)] of a two-epoch run of c4k3,p2,c6k3,16 on 600 images, as the app's worker builds them."""
    from core.model_io import Model
    from core.training import EpochEvent, TrainConfig, Trainer

    dataset = mnist()
    config = TrainConfig(hidden=("c4k3", "p2", "c6k3", 16), epochs=2, train_limit=600, batch_size=32, seed=0)
    trainer = Trainer(config, dataset)
    epochs = []
    for event in trainer.fit_iter():
        if isinstance(event, EpochEvent):
            model = Model(network=event.network, config=config, dataset=dataset.name,
                          classes=[str(c) for c in dataset.class_names], preprocessing=dict(trainer.preprocessing),
                          history=[dict(h) for h in trainer.history])  # fmt: skip
            epochs.append((event, model))
    return epochs


def state_with_cnn() -> AppState:
    state = AppState()
    state.set_dataset(mnist())
    epochs = cnn_epochs()
    run = state.new_run(epochs[0][1].config)
    for event, model in epochs:
        state.add_epoch(run, event, model)
    return state


def core_maps(model, image) -> list:
    """The core's feature maps of one uint8 image: [(name, (C, H, W))]."""
    return [(name, maps[0]) for name, maps in feature_maps(model.network, model.scale(image[None]))]


def shown(panel, qtbot) -> None:
    qtbot.addWidget(panel)
    panel.resize(1300, 850)
    panel.show()
    qtbot.waitExposed(panel)


# --- the layer field ----------------------------------------------------------------------------------------------
def test_the_layer_field_takes_the_conv_notation_and_says_what_is_wrong(qtbot):
    win = open_window(qtbot)
    hidden = find(win, "hiddenLayersEdit", QLineEdit)
    train = find(win, "trainButton", QPushButton)
    message = find(win, "configMessage")
    assert (
        "c32k3" in hidden.toolTip()
        and "p2" in hidden.toolTip()
        and "c32k3,p2,c64k3,p2,512" in hidden.toolTip()
    )
    hidden.setText("C32K3, p2 ,c64k3,p2,512")
    assert win.state.config.hidden == ("c32k3", "p2", "c64k3", "p2", 512)
    assert win.state.config_error == "" and train.isEnabled()
    for text, says in (
        ("c32k3,p3", "max pooling is 2 x 2 only (write p2)"),
        ("16,c4k3", "follows a dense layer; put conv and pool layers before the dense ones"),
        ("c8x3", "'c8x3' is not a whole number or a layer; write sizes like 512"),
        ("c8k5,p2,c8k5,p2,c8k5", "shrink the 28 x 28 image to nothing"),
    ):
        hidden.setText(text)
        assert says in message.text() and message.isVisible(), text
        assert message.text().startswith("Hidden layers: ") and message.text().count(". ") == 0, (
            message.text()
        )
        assert not train.isEnabled() and says in win.state.config_error
        assert hidden.property("invalid") is True
        runs = len(win.state.runs)
        win.control_panel.train()  # what Train and Ctrl+T call: refused, no run starts
        assert len(win.state.runs) == runs and not win.state.training
    hidden.setText(TINY)
    assert win.state.config.hidden == ("c4k3", "p2", 16) and train.isEnabled()


def test_the_recipes_combo_lists_every_recipe_with_conv_layers(qtbot):
    from core import recipes
    from core.layer_spec import is_layered

    win = open_window(qtbot)
    combo = find(win, "recipeCombo")
    listed = [combo.itemData(i) for i in range(combo.count())]
    conv = [name for name in recipes.names() if is_layered(recipes.RECIPES[name].settings.get("hidden", ()))]
    assert set(conv) <= set(listed)
    for name in conv:  # choosing one fills the layer field with its notation, valid
        combo.setCurrentIndex(combo.findData(name))
        combo.activated.emit(combo.currentIndex())
        text = find(win, "hiddenLayersEdit", QLineEdit).text()
        assert (
            win.state.config_error == ""
            and "c" in text
            and win.state.config.hidden == recipes.config(name).hidden
        )


# --- training through the Train button, the Weights tab ---------------------------------------------------------
def test_train_a_tiny_cnn_and_see_its_filters_and_feature_maps(qtbot):
    win = open_window(qtbot)
    quick_settings(win, train_limit=500, epochs=1, batch_size=32, hidden=TINY)
    find(win, "trainButton", QPushButton).click()
    wait_finished(qtbot, win)
    run = win.state.selected_run
    assert run.status == "completed" and len(run.snapshots) == 1
    model = win.state.model
    assert is_convolutional(model.network)
    panel = find(win, "weightsPanel")
    win.tabs.setCurrentWidget(panel)
    view = panel.conv_view
    assert panel.pages.currentWidget() is view and "filters" in panel.caption.text()
    qtbot.waitUntil(lambda: view.model is model and not view.busy, timeout=60_000)

    # the filters: one tile per filter, the numbers behind them the core's
    expected = conv_filters(model.network)
    assert len(expected) == 1 and expected[0].shape == (4, 1, 3, 3)
    assert view.layer_combo.count() == 1 and "4 filters 3×3" in view.layer_combo.currentText()
    assert len(view.gallery.shown_order()) == 4
    np.testing.assert_array_equal(view.shown_filters(), expected[0][:, 0])
    tiles = view.gallery._tiles  # what the gallery draws: each weight a square of 8 x 8 gallery pixels
    assert tiles.shape == (4, 24, 24)
    np.testing.assert_array_equal(tiles[:, ::8, ::8], expected[0][:, 0])
    view.select_filter(2)
    np.testing.assert_array_equal(view.filter_heatmap.data(), expected[0][2, 0])

    # the feature maps of test image 0, then of the image picked in the Dataset tab, then of the spin box's
    dataset = win.state.dataset
    maps = core_maps(model, dataset.test_images[0])
    assert (
        view.feature_view.layer_names()
        == [name for name, _ in maps]
        == ["conv 1 (4 x 26 x 26)", "pool 1 (4 x 13 x 13)"]
    )
    np.testing.assert_allclose(view.feature_view.shown_maps(), maps[0][1], rtol=1e-6)
    assert len(view.feature_view.gallery.shown_order()) == 4
    win.state.select_image("train", 7)
    qtbot.waitUntil(
        lambda: view.image is not None and np.array_equal(view.image, dataset.train_images[7]), timeout=30_000
    )
    view.feature_view.layer_combo.setCurrentIndex(1)
    np.testing.assert_allclose(
        view.feature_view.shown_maps(), core_maps(model, dataset.train_images[7])[1][1], rtol=1e-6
    )
    assert "Train image 7" in view.input_view.title_label.text()
    find(win, "convImageSpin").setValue(3)
    qtbot.waitUntil(lambda: np.array_equal(view.image, dataset.test_images[3]), timeout=30_000)
    np.testing.assert_allclose(
        view.feature_view.shown_maps(), core_maps(model, dataset.test_images[3])[1][1], rtol=1e-6
    )


def test_the_weights_tab_follows_the_epoch_slider_and_deeper_layers(qtbot):
    from explorer.panels.weights import WeightsPanel

    state = state_with_cnn()
    panel = WeightsPanel(state)
    shown(panel, qtbot)
    view = panel.conv_view
    run = state.selected_run
    last, first = run.snapshots[1], run.snapshots[0]
    qtbot.waitUntil(lambda: view.model is last and not view.busy, timeout=60_000)
    assert view.layer_combo.count() == 2 and "6 filters 3×3 on 4 channels" in view.layer_combo.itemText(1)
    view.layer_combo.setCurrentIndex(1)  # conv 2: 6 filters, each with a 3x3 slice per input channel
    assert view.channel_spin.isEnabled() and view.channel_spin.maximum() == 3
    view.channel_spin.setValue(2)
    np.testing.assert_array_equal(view.shown_filters(), conv_filters(last.network)[1][:, 2])
    assert len(view.gallery.shown_order()) == 6

    state.select_epoch(1)  # the slider: epoch 1's filters replace epoch 2's
    qtbot.waitUntil(lambda: view.model is first and not view.busy, timeout=60_000)
    np.testing.assert_array_equal(view.shown_filters(), conv_filters(first.network)[1][:, 2])
    assert not np.array_equal(conv_filters(first.network)[1], conv_filters(last.network)[1])
    np.testing.assert_allclose(
        view.feature_view.shown_maps(), core_maps(first, mnist().test_images[0])[0][1], rtol=1e-6
    )


def test_an_mlp_after_a_cnn_brings_the_templates_back(qtbot):
    from explorer.panels.weights import WeightsPanel
    from tests.explorer.trained_models import trained

    state = state_with_cnn()
    panel = WeightsPanel(state)
    shown(panel, qtbot)
    qtbot.waitUntil(lambda: panel.conv_view.model is not None and not panel.busy, timeout=60_000)
    state.add_loaded_run(trained("relu"), "an MLP")
    qtbot.waitUntil(lambda: panel.model is state.model and not panel.busy, timeout=60_000)
    assert panel.pages.currentIndex() == 0 and panel.templates.shape == (10, 784)
    assert panel.conv_view.model is None and panel.conv_view.gallery.shown_order().size == 0


# --- Draw, back query, errors, dataset -------------------------------------------------------------------------
def test_draw_shows_the_feature_maps_of_the_drawn_digit(qtbot):
    from explorer.panels.draw import DrawPanel

    state = state_with_cnn()
    panel = DrawPanel(state)
    shown(panel, qtbot)
    maps_view = find(panel, "drawFeatureMaps")
    assert maps_view.isVisible()
    pixels = np.zeros((280, 280), np.uint8)
    pixels[50:230, 125:155] = 255  # a "1"
    panel.canvas.set_pixels(pixels)
    panel.update_prediction()
    top = int(np.argmax(state.model.predict_proba(panel.prepared.image[None])[0]))
    assert f"<b>{top}</b>" in panel.prediction_label.text()  # the guess (or "not sure: maybe <b>1</b>")
    qtbot.waitUntil(lambda: maps_view.shown_maps() is not None and not maps_view.busy, timeout=30_000)
    expected = core_maps(state.model, panel.prepared.image)
    assert maps_view.layer_names() == [name for name, _ in expected]
    np.testing.assert_allclose(maps_view.shown_maps(), expected[0][1], rtol=1e-6)
    np.testing.assert_allclose(
        panel.probabilities, state.model.predict_proba(panel.prepared.image[None])[0], rtol=1e-6
    )

    from tests.explorer.trained_models import trained

    state.add_loaded_run(trained("relu"), "an MLP")  # an MLP has no feature maps: the strip goes
    assert not maps_view.isVisible() and "<b>" in panel.prediction_label.text()


def test_back_query_tab_says_why_and_optimises_the_input_of_a_cnn(qtbot):
    from explorer.panels.backquery import BackQueryPanel

    state = state_with_cnn()
    panel = BackQueryPanel(state)
    panel.steps_spin.setValue(20)
    shown(panel, qtbot)
    notice = panel.notice.text()
    assert "optimised input" in notice and "convolutional" in notice and notice.count(". ") == 0
    assert not panel.method_combo.model().item(0).isEnabled()  # Rashid's back query: not for a CNN
    assert panel.method == "optimised"
    qtbot.waitUntil(lambda: panel.images is not None and not panel.busy, timeout=120_000)
    assert panel.images.shape == (10, 784)
    np.testing.assert_allclose(
        panel.probs, state.model.network.forward(panel.images.astype(np.float32)), rtol=1e-5
    )


def test_errors_tab_and_saliency_of_a_cnn(qtbot):
    from explorer.panels.errors import ErrorsPanel

    state = state_with_cnn()
    panel = ErrorsPanel(state)
    shown(panel, qtbot)
    qtbot.waitUntil(lambda: panel.confusion is not None, timeout=120_000)
    model, dataset = state.model, mnist()
    predicted = model.predict_proba(dataset.test_images).argmax(axis=1)
    assert panel.confusion.sum() == 10_000 and np.trace(panel.confusion) == int(
        (predicted == dataset.test_labels).sum()
    )
    index = int(np.flatnonzero(predicted != dataset.test_labels)[0])
    panel.select_image(index)
    saliency = insight.saliency(model.network, model.scale(dataset.test_images[index])[0], predicted[index])
    np.testing.assert_allclose(panel.saliency_view.data().ravel(), saliency, rtol=1e-5, atol=1e-8)
    assert "wrong" in panel.image_view.title_label.text()


def test_dataset_tab_predicts_with_a_cnn(qtbot):
    from explorer.panels.dataset import DatasetPanel

    state = state_with_cnn()
    panel = DatasetPanel(state)
    shown(panel, qtbot)
    state.select_image("test", 5)
    qtbot.waitUntil(lambda: panel.current_index == 5, timeout=30_000)
    probs = state.model.predict_proba(mnist().test_images[5][None])[0]
    assert f"The network says {int(np.argmax(probs))}" in panel.prediction_label.text()
    np.testing.assert_allclose(panel.prob_bars.probabilities(), probs, rtol=1e-5)


# --- export ---------------------------------------------------------------------------------------------------------
def test_export_writes_the_filters_and_feature_maps_and_says_why_templates_are_missing(tmp_path):
    from explorer.export_files import export_all

    model, dataset = cnn_epochs()[-1][1], mnist()
    written = {p.name for p in export_all(model, dataset, tmp_path)}
    for i in (1, 2):
        assert {f"filters_conv{i}.png", f"filters_conv{i}.npy", f"feature_maps_conv{i}.png",
                f"feature_maps_conv{i}.npy"} <= written  # fmt: skip
    assert not any(name.startswith("weights_") for name in written)
    filters = conv_filters(model.network)
    np.testing.assert_array_equal(np.load(tmp_path / "filters_conv2.npy"), filters[1])
    maps = [m for name, m in core_maps(model, dataset.test_images[0]) if name.startswith("conv")]
    np.testing.assert_allclose(np.load(tmp_path / "feature_maps_conv1.npy"), maps[0], rtol=1e-6)
    np.testing.assert_allclose(np.load(tmp_path / "feature_maps_conv2.npy"), maps[1], rtol=1e-6)
    report = (tmp_path / "report.html").read_text()
    assert (
        "784-c4k3-p2-c6k3-16-10" in report and "conv 2 filters" in report and "conv 1 feature maps" in report
    )
    assert "weight templates (weights_&lt;label&gt;.*) are left out" in report
