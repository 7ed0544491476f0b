"""The dataset panel with the real MNIST (and Fashion-MNIST where installed) and a real, quickly trained model."""

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from core.datasets import Dataset, load
from core.model_io import Model
from core.training import TrainConfig, Trainer
from explorer.panels.dataset import DatasetPanel
from explorer.state import AppState
from explorer.widgets.class_stats import class_means

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(scope="module")
def mnist():
    return load("mnist")


@pytest.fixture(scope="module")
def model(mnist):
    """A real model: one epoch on 2,000 images (about 85% test accuracy, so it makes plenty of mistakes)."""
    config = TrainConfig(hidden=(32,), epochs=1, train_limit=2000, seed=1)
    trainer = Trainer(config, mnist)
    trainer.fit()
    return Model.from_trainer(trainer, mnist)


@pytest.fixture
def panel(qtbot, mnist):
    state = AppState()
    state.set_dataset(mnist)
    widget = DatasetPanel(state)
    qtbot.addWidget(widget)
    widget.resize(1100, 750)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def pick_label(panel, label):
    panel.label_combo.setCurrentIndex(panel.label_combo.findData(label))


def click_row(qtbot, panel, row):
    grid = panel.grid
    index = grid.model.index(row)
    qtbot.waitUntil(lambda: not grid.view.visualRect(index).isEmpty())
    rect = grid.visual_rect(row)
    qtbot.mouseClick(grid.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_grid_counts_for_every_label_filter(panel, mnist):
    assert panel.objectName() == "datasetPanel"
    assert panel.grid.count() == 60000
    counts = np.bincount(mnist.train_labels, minlength=10)
    for label in range(10):
        pick_label(panel, label)
        assert panel.grid.count() == counts[label]
        assert np.all(mnist.train_labels[panel.grid.shown_indices()] == label)
    pick_label(panel, -1)
    assert panel.grid.count() == 60000
    panel.split_combo.setCurrentIndex(panel.split_combo.findData("test"))
    assert panel.grid.count() == 10000
    pick_label(panel, 4)
    assert panel.grid.count() == np.sum(mnist.test_labels == 4)
    assert "982 of 10,000" in panel.count_label.text()


def test_click_opens_the_image_with_its_label(qtbot, panel, mnist):
    pick_label(panel, 7)
    expected = int(np.flatnonzero(mnist.train_labels == 7)[5])
    with qtbot.waitSignal(panel.state.imageSelected) as blocker:
        click_row(qtbot, panel, 5)
    assert blocker.args == ["train", expected]
    assert panel.current_index == expected
    np.testing.assert_array_equal(panel.image_view.image(), mnist.train_images[expected])
    assert panel.image_caption.text() == f"Training set #{expected}: label 7"
    assert panel.prob_bars.top_class() is None  # no model yet: the bars show their empty message


def test_misclassified_filter_and_marks_with_a_trained_model(qtbot, panel, mnist, model):
    assert not panel.misclassified_check.isEnabled()
    run = panel.state.new_run(model.config, name="quick")
    panel.state.add_epoch(run, _epoch_event(), model)
    qtbot.waitUntil(lambda: panel.predictions is not None, timeout=60000)
    predicted = model.predict(mnist.train_images)
    wrong = predicted != mnist.train_labels
    np.testing.assert_array_equal(panel.predictions, predicted)
    assert panel.misclassified_check.isEnabled()
    panel.misclassified_check.setChecked(True)
    assert panel.grid.count() == wrong.sum() > 0
    pick_label(panel, 8)
    assert panel.grid.count() == np.sum(wrong & (mnist.train_labels == 8))
    np.testing.assert_array_equal(panel.grid.model._marks, ~wrong)
    # Click a mistake: the bars show the model's probabilities, and the top one is not the true label.
    shown = panel.grid.shown_indices()
    click_row(qtbot, panel, 0)
    assert panel.current_index == shown[0]
    expected = model.predict_proba(mnist.train_images[shown[0]][None])[0]
    np.testing.assert_allclose(panel.prob_bars.probabilities(), expected, rtol=1e-6)
    assert panel.prob_bars.top_class() != 8
    assert "wrong" in panel.prediction_label.text()


def test_sigmoid_outputs_are_labelled_as_activations(qtbot, panel, mnist):
    from tests.explorer.trained_models import trained

    sigmoid = trained("sigmoid")
    panel.state.add_loaded_run(sigmoid, "rashid")
    panel._show_image(7)
    outputs = sigmoid.predict_proba(mnist.train_images[7][None])[0]
    top = int(np.argmax(outputs))
    assert f"({'output'} {outputs[top]:.2f})" in panel.prediction_label.text()
    assert "%" not in panel.prediction_label.text() and panel.prob_bars.shows_activations()


def test_the_bars_ask_for_a_click_not_for_training_when_a_model_exists(qtbot, panel, model):
    assert "Train a model" in panel.prob_bars.summary() and "train a model" in panel.caption.text()
    panel.state.add_loaded_run(model, "trained")
    assert "Train a model" not in panel.prob_bars.summary() and "Click an image" in panel.prob_bars.summary()
    assert "train a model" not in panel.caption.text() and "it gets it wrong" in panel.caption.text()


def test_stale_predictions_are_dropped(qtbot, panel, mnist, model):
    import threading

    release = threading.Event()
    job = panel.predictions_job  # a prediction of the training split is in flight...
    job.submit(lambda: release.wait(20) and np.zeros(60000, np.int64))
    panel.split_combo.setCurrentIndex(panel.split_combo.findData("test"))  # ...when the split changes
    release.set()
    qtbot.waitUntil(lambda: job._task is None, timeout=20_000)  # its answer came back, and was dropped
    assert panel.predictions is None
    assert panel.grid.model._marks is None


def test_counts_and_means(qtbot, panel, mnist):
    heights = panel.counts_bars.opts["width"]
    np.testing.assert_array_equal(heights, np.bincount(mnist.train_labels, minlength=10))
    qtbot.waitUntil(lambda: panel.means_grid.count() == 10, timeout=20000)
    means = panel.means_grid.model.images
    reference = np.stack(
        [mnist.train_images[mnist.train_labels == c].astype(float).mean(0) for c in range(10)]
    )
    np.testing.assert_array_equal(means, np.clip(np.rint(reference), 0, 255).astype(np.uint8))
    np.testing.assert_allclose(
        class_means(mnist.train_images[:50], mnist.train_labels[:50], 10)[3],
        mnist.train_images[:50][mnist.train_labels[:50] == 3].mean(0),
    )


def test_empty_split_shows_a_message(qtbot, panel, mnist):
    no_test = Dataset(
        name="train-only",
        class_names=mnist.class_names,
        train_images=mnist.train_images[:300],
        train_labels=mnist.train_labels[:300],
        test_images=np.zeros((0, 28, 28), np.uint8),
        test_labels=np.zeros(0, np.uint8),
        source="memory",
    )
    panel.state.set_dataset(no_test)
    assert panel.grid.count() == 300
    panel.split_combo.setCurrentIndex(panel.split_combo.findData("test"))
    assert panel.grid.count() == 0
    assert panel.grid._stack.currentWidget() is panel.grid.empty_label
    assert "empty" in panel.grid.empty_label.text()
    assert panel.count_label.text().startswith("Showing 0 of 0")


@pytest.mark.skipif(not FASHION_DIR.exists(), reason="Fashion-MNIST is not installed")
def test_switching_to_fashion_mnist_shows_its_class_names(qtbot, panel):
    fashion = load("fashion-mnist")
    pick_label(panel, 3)
    panel.state.set_dataset(fashion)
    assert panel.grid.count() == 60000  # the filter was reset with the dataset
    names = [panel.label_combo.itemText(i).split(" (")[0] for i in range(1, 11)]
    assert names == list(fashion.class_names)
    first = panel.grid.model.data(panel.grid.model.index(0), Qt.ItemDataRole.DisplayRole)
    assert first == f"{fashion.class_names[fashion.train_labels[0]]}\n#0"
    click_row(qtbot, panel, 0)
    assert (
        panel.image_caption.text() == f"Training set #0: label {fashion.class_names[fashion.train_labels[0]]}"
    )
    axis_names = [name for _, name in panel.counts_plot.getAxis("left")._tickLevels[0]]
    assert axis_names == list(fashion.class_names)


def _epoch_event():
    from core.training import EpochEvent

    return EpochEvent(
        epoch=1,
        epochs=1,
        train_loss=0.5,
        train_accuracy=0.85,
        test_loss=0.5,
        test_accuracy=0.85,
        epoch_seconds=1.0,
        elapsed=1.0,
        samples_per_second=2000.0,
        network=None,
    )


def test_a_hidden_panel_predicts_only_when_shown(qtbot, mnist, model):
    state = AppState()
    state.set_dataset(mnist)
    panel = DatasetPanel(state)
    qtbot.addWidget(panel)
    run = state.new_run(model.config, name="quick")
    state.add_epoch(run, _epoch_event(), model)
    assert not panel.predictions_job.busy and panel.predictions is None
    panel.show()
    qtbot.waitUntil(lambda: panel.predictions is not None, timeout=60000)
    np.testing.assert_array_equal(panel.predictions, model.predict(mnist.train_images))
