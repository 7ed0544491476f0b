"""The augmentation panel: the rotation preview against scipy, the batch preview through the trainer's own
function, the debounced slider, the shared augmentation setting, and the with/without-rotation experiment."""

import dataclasses

import numpy as np
import pytest
from PySide6.QtCore import Qt
from scipy import ndimage

import core.augment
import core.training
from core.datasets import load
from core.preprocess import background_value, fit_scaling, scale_inputs
from core.training import TrainConfig
from explorer.panels.augmentation import AugmentationPanel
from explorer.panels.augmentation_experiment import rotated_test_images
from explorer.state import AppState
from explorer.worker import TrainingController


@pytest.fixture(scope="module")
def mnist():
    return load("mnist")


@pytest.fixture
def panel(qtbot, mnist):
    state = AppState()
    state.set_dataset(mnist)
    state.set_config(TrainConfig(hidden=(16,), augment="random", rotate=10.0))
    widget = AugmentationPanel(state)
    widget.controller = TrainingController(state, widget)  # the experiment's runs go through the one controller
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def wait_render(qtbot, panel, before):
    qtbot.waitUntil(lambda: panel.render_count > before)


@pytest.mark.parametrize(("angle", "order", "cval"), [(12, 1, 0), (-33, 0, 0), (45, 3, 80), (-7, 5, 255)])
def test_rotated_preview_equals_scipy_rotate(qtbot, panel, mnist, angle, order, cval):
    panel.index_spin.setValue(123)
    panel.order_spin.setValue(order)
    panel.cval_spin.setValue(cval)
    panel.angle_slider.setValue(angle)
    qtbot.waitUntil(lambda: not panel._render_timer.isActive())
    original = mnist.train_images[123].astype(np.float64)
    expected = ndimage.rotate(original, angle, reshape=False, order=order, cval=cval)
    np.testing.assert_allclose(panel.rotated, expected, atol=1e-9)
    np.testing.assert_allclose(panel.rotated_view.image(), expected, atol=1e-9)
    np.testing.assert_array_equal(panel.original_view.image(), mnist.train_images[123])
    np.testing.assert_allclose(panel.difference_view.image(), expected - original, atol=1e-9)


def test_fast_slider_moves_render_once_at_the_final_angle(qtbot, panel, mnist):
    panel.index_spin.setValue(7)
    before = panel.render_count
    for value in range(-30, -10):  # 20 valueChanged in a row, as a fast drag delivers them
        panel.angle_slider.setValue(value)
    wait_render(qtbot, panel, before)
    qtbot.wait(150)  # long enough for any queued render to have run
    assert panel.render_count - before == 1
    assert panel.rotated_view.title_label.text().startswith("Rotated by -11°")
    expected = ndimage.rotate(mnist.train_images[7].astype(np.float64), -11, reshape=False, order=1)
    np.testing.assert_allclose(panel.rotated, expected, atol=1e-9)


def test_batch_preview_calls_the_trainers_own_augmentation(qtbot, panel, monkeypatch):
    # The trainer imports the very function the panel calls: one implementation, not two.
    assert core.training.augment_batch is core.augment.augment_batch
    calls = []
    original = core.augment.augment_batch

    def spy(images, config, rng, cval=None):
        result = original(images, config, rng, cval)
        calls.append((images, config, cval, result))
        return result

    monkeypatch.setattr(core.augment, "augment_batch", spy)
    qtbot.mouseClick(panel.new_batch_button, Qt.MouseButton.LeftButton)
    assert len(calls) == 1
    images, config, cval, result = calls[0]
    assert config is panel.state.config
    assert cval == background_value(
        config.scaling, fit_scaling(panel.state.dataset.train_images, config.scaling)
    )
    assert panel.batch is result
    assert panel.batch_grid.count() == len(result) == len(images)
    assert not np.allclose(result, images)  # random rotation changed them


def test_batch_preview_matches_the_trainers_function_for_the_same_seed(panel, mnist):
    for config in (
        TrainConfig(augment="random", rotate=20.0),
        TrainConfig(augment="rashid", rotate=10.0, scaling="rashid"),
    ):
        panel.state.set_config(config)
        panel.render_batch(np.random.default_rng(42))
        rng = np.random.default_rng(42)
        records = 24 // 3 if config.augment == "rashid" else 24
        picked = np.sort(rng.choice(60000, size=records, replace=False))
        stats = fit_scaling(mnist.train_images, config.scaling)
        scaled = scale_inputs(mnist.train_images[picked], config.scaling, stats).reshape(-1, 28, 28)
        expected = core.augment.augment_batch(scaled, config, rng, background_value(config.scaling, stats))
        np.testing.assert_array_equal(panel.batch, expected)
        assert len(panel.batch) == 24


def test_augmentation_setting_is_shared_through_the_state(qtbot, panel):
    state = panel.state
    published = []
    state.configChanged.connect(published.append)
    panel.mode_combo.setCurrentIndex(panel.mode_combo.findData("rashid"))
    assert (state.config.augment, state.config.rotate) == ("rashid", 10.0)
    panel.degrees_spin.setValue(15)
    assert (state.config.augment, state.config.rotate) == ("rashid", 15.0)
    panel.mode_combo.setCurrentIndex(panel.mode_combo.findData("off"))
    assert (state.config.augment, state.config.rotate) == ("off", 0.0)
    assert state.config.hidden == (16,)  # the rest of the configuration is untouched
    assert state.config_error == ""
    assert len(published) == 3
    # The control panel publishes a change: the panel shows it and does not publish back.
    published.clear()
    state.set_config(dataclasses.replace(state.config, augment="random", rotate=25.0))
    assert len(published) == 1
    assert panel.mode_combo.currentData() == "random"
    assert panel.degrees_spin.value() == 25
    assert panel.strip_title.text().startswith("At 9 angles from −25° to +25°")


def test_follows_the_selected_image(qtbot, panel, mnist):
    panel.state.select_image("test", 42)
    assert panel.split_combo.currentData() == "test"
    assert panel.index_spin.value() == 42
    np.testing.assert_array_equal(panel.original_view.image(), mnist.test_images[42])
    strip = panel.strip_grid.model.images
    expected = ndimage.rotate(mnist.test_images[42].astype(np.float64), 10.0, reshape=False, order=1)
    np.testing.assert_array_equal(strip[-1], np.clip(np.rint(expected), 0, 255).astype(np.uint8))


def test_rotated_test_set_matches_scipy(mnist):
    images = mnist.test_images[:40]
    turned = rotated_test_images(images, 10.0, seed=3)
    angles = np.random.default_rng(3).uniform(-10, 10, 40)
    for image, angle, got in zip(images, angles, turned, strict=True):
        expected = ndimage.rotate(image.astype(np.float64), angle, reshape=False, order=1, cval=0.0)
        assert np.abs(got.astype(int) - np.clip(np.rint(expected), 0, 255)).max() <= 1  # float32 rounding


def test_experiment_trains_both_runs_and_fills_the_table(qtbot, panel, mnist):
    experiment = panel.experiment
    experiment.limit_spin.setValue(1000)
    experiment.epochs_spin.setValue(2)
    qtbot.mouseClick(experiment.run_button, Qt.MouseButton.LeftButton)
    assert experiment.running and not experiment.run_button.isEnabled()
    qtbot.waitUntil(lambda: not experiment.running, timeout=180000)
    runs = panel.state.runs
    assert [r.name for r in runs] == ["experiment: without rotation", "experiment: with rotation ±10°"]
    assert [r.status for r in runs] == ["completed", "completed"]
    assert [len(r.history) for r in runs] == [2, 2]
    assert runs[0].config.augment == "off" and runs[1].config.augment == "random"
    assert runs[0].config.train_limit == 1000 and runs[1].config.epochs == 2
    assert len(runs[0].batch_x) > 0
    for row, run in enumerate(runs):
        assert experiment.results[row, 0] == pytest.approx(run.history[-1]["test_accuracy"], abs=1e-3)
        rotated = rotated_test_images(mnist.test_images, 10.0)
        reference = np.mean(run.model.predict(rotated) == mnist.test_labels)
        assert experiment.results[row, 1] == pytest.approx(reference)
        assert experiment.table.item(row, 1).text() == f"{100 * reference:.2f}%"
        x, y = experiment.curves[row].getData()
        np.testing.assert_allclose(y, [100 * h["test_accuracy"] for h in run.history])
    assert experiment.run_button.isEnabled()


def test_experiment_stop(qtbot, panel):
    experiment = panel.experiment
    experiment.limit_spin.setValue(20000)
    experiment.epochs_spin.setValue(5)
    qtbot.mouseClick(experiment.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(panel.state.runs and panel.state.runs[0].batch_x), timeout=60000)
    qtbot.mouseClick(experiment.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not experiment.running, timeout=60000)
    assert panel.state.runs[-1].status == "stopped"
    assert len(panel.state.runs) == 1  # the second run never started
    assert "Stopped" in experiment.status_label.text()


def test_a_hidden_panel_renders_nothing_until_it_is_shown(qtbot, mnist):
    state = AppState()
    state.set_dataset(mnist)
    state.set_config(TrainConfig(hidden=(16,), augment="random", rotate=10.0))
    widget = AugmentationPanel(state)  # never shown yet, as the app's tabs other than Training at start
    qtbot.addWidget(widget)
    state.set_config(TrainConfig(hidden=(16,), augment="random", rotate=20.0))
    assert widget.render_count == 0 and widget.rotated is None and widget.batch is None
    widget.show()
    qtbot.waitExposed(widget)
    assert widget.render_count == 1 and widget.rotated is not None and widget.batch is not None
    assert "20°" in widget.strip_title.text()  # the settings as they are now, not as they were
