"""The Robustness tab, driven through its widgets on real (small) MNIST runs."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import Qt

from explorer.state import AppState

N_TEST = 1000  # the first 1,000 test digits: the tab's work is the same, in a tenth of the time


@pytest.fixture(scope="module")
def small_mnist():
    from core.datasets import load

    mnist = load("mnist")
    return replace(mnist, test_images=mnist.test_images[:N_TEST], test_labels=mnist.test_labels[:N_TEST])


def _train(dataset, **fields):
    """[(EpochEvent, Model)] per epoch, as the app's worker builds them."""
    from core.model_io import Model
    from core.training import EpochEvent, TrainConfig, Trainer

    cfg = TrainConfig(hidden=(32,), train_limit=2000, batch_size=64, **fields)
    trainer = Trainer(cfg, dataset)
    epochs = []
    for event in trainer.fit_iter():
        if isinstance(event, EpochEvent):
            classes = [str(c) for c in dataset.class_names]
            model = Model(event.network, cfg, dataset.name, classes, dict(trainer.preprocessing),
                          [dict(h) for h in trainer.history])  # fmt: skip
            epochs.append((event, model))
    return epochs


@pytest.fixture(scope="module")
def plain_epochs(small_mnist):
    return _train(small_mnist, epochs=2, seed=0)


@pytest.fixture(scope="module")
def rotated_epochs(small_mnist):
    return _train(small_mnist, epochs=1, seed=1, augment="random", rotate=30.0)


def _add_run(state, epochs, name):
    run = state.new_run(epochs[0][1].config, name=name, kept=False)
    for event, model in epochs:
        state.add_epoch(run, event, model)
    state.end_run(run, "completed")
    return run


def _panel(qtbot, state):
    from explorer.panels.robustness import RobustnessPanel

    panel = RobustnessPanel(state)
    qtbot.addWidget(panel)
    panel.resize(1000, 760)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def _wait_idle(qtbot, panel, curves: int):
    qtbot.waitUntil(lambda: not panel.busy and len(panel.drawn_curves()) == curves, timeout=120_000)


def _accuracy_of(panel, name_part: str) -> np.ndarray:
    (curve,) = [c for c in panel.drawn_curves() if name_part in c.name()]
    return np.asarray(curve.getData()[1])


def test_empty_tab_says_what_to_do(qtbot, small_mnist):
    state = AppState()
    state.set_dataset(small_mnist)
    panel = _panel(qtbot, state)
    assert panel.objectName() == "robustnessPanel"
    assert panel.drawn_curves() == []
    assert panel.notice.text().startswith("Robustness: train a run")


def test_two_ticked_runs_give_two_curves(qtbot, small_mnist, plain_epochs, rotated_epochs):
    state = AppState()
    state.set_dataset(small_mnist)
    plain = _add_run(state, plain_epochs, "plain")
    rotated = _add_run(state, rotated_epochs, "rotated")
    assert plain.visible and rotated.visible  # a new run and the one selected before it are ticked
    panel = _panel(qtbot, state)
    _wait_idle(qtbot, panel, 2)
    names = [c.name() for c in panel.drawn_curves()]
    assert names == ["plain (last epoch, 2)", "rotated (epoch 1)"]
    colours = {c.opts["pen"].color().name() for c in panel.drawn_curves()}
    assert colours == {plain.colour, rotated.colour}
    # amount 0 is each run's test accuracy at that epoch, in percent
    assert _accuracy_of(panel, "plain")[0] == pytest.approx(100 * plain.history[-1]["test_accuracy"])
    assert _accuracy_of(panel, "rotated")[0] == pytest.approx(100 * rotated.history[-1]["test_accuracy"])
    x = panel.drawn_curves()[0].getData()[0]
    assert x.tolist() == [0, 5, 10, 15, 20, 25, 30, 35, 40, 45]
    # unticking one leaves one curve; a perturbation already seen for it draws at once from the cache
    state.set_run_visible(plain, False)
    _wait_idle(qtbot, panel, 1)
    assert [c.name() for c in panel.drawn_curves()] == ["rotated (epoch 1)"]
    panel.set_perturbation("shift")
    _wait_idle(qtbot, panel, 1)
    assert panel.drawn_curves()[0].getData()[0].tolist() == [0, 1, 2, 3, 4]
    panel.set_perturbation("rotation")
    assert len(panel.drawn_curves()) == 1 and not panel.job.busy  # from the cache, no job
    data = panel._plot_data()
    assert set(data) == {"run", "epoch", "perturbation", "amount", "accuracy"} and len(data["amount"]) == 10


def test_the_epoch_slider_changes_the_selected_runs_curve(qtbot, small_mnist, plain_epochs, rotated_epochs):
    from explorer.widgets.epoch_slider import EpochSlider

    state = AppState()
    state.set_dataset(small_mnist)
    _add_run(state, rotated_epochs, "rotated")
    plain = _add_run(state, plain_epochs, "plain")
    panel = _panel(qtbot, state)
    slider = EpochSlider(state)
    qtbot.addWidget(slider)
    _wait_idle(qtbot, panel, 2)
    at_two = _accuracy_of(panel, "plain (epoch 2)")
    other = _accuracy_of(panel, "rotated")
    slider.slider.setValue(1)  # as a drag of the slider does
    assert state.selected_epoch == 1
    qtbot.waitUntil(lambda: any("plain (epoch 1)" in c.name() for c in panel.drawn_curves()), timeout=120_000)
    _wait_idle(qtbot, panel, 2)
    at_one = _accuracy_of(panel, "plain (epoch 1)")
    assert at_one[0] == pytest.approx(100 * plain.history[0]["test_accuracy"])
    assert not np.array_equal(at_one, at_two)
    # the other run stays at its last epoch
    np.testing.assert_array_equal(_accuracy_of(panel, "rotated"), other)
    slider.slider.setValue(2)
    assert "plain (epoch 2)" in [c.name() for c in panel.drawn_curves()]  # cached: drawn at once
    assert not panel.job.busy


def test_the_flips_grid_shows_digits_whose_answer_changed(qtbot, small_mnist, plain_epochs):
    state = AppState()
    state.set_dataset(small_mnist)
    run = _add_run(state, plain_epochs, "plain")
    panel = _panel(qtbot, state)
    _wait_idle(qtbot, panel, 1)
    panel.amount_combo.setCurrentIndex(panel.amount_combo.findData(30.0))
    panel.amount_combo.activated.emit(panel.amount_combo.currentIndex())
    qtbot.waitUntil(lambda: not panel.busy and panel.flips_grid.count() > 0, timeout=60_000)
    model = run.snapshots[-1]
    curve = panel.cache.get(panel.chosen.key)
    flips = curve.flips(30)
    assert panel.flips_grid.count() == flips.size > 0
    before = model.predict(small_mnist.test_images)
    labels = small_mnist.test_labels
    assert np.all(before[flips] == labels[flips])  # right on the plain digits
    # the grid shows each flipped digit turned as the network saw it, and that picture is now answered wrong
    shown = panel.flips_grid.model.images
    assert shown.shape == (flips.size, 28, 28)
    after = model.predict(shown)
    assert np.mean(after != labels[flips]) > 0.95  # the uint8 round trip may move a near tie or two
    assert not np.array_equal(shown[0], small_mnist.test_images[flips[0]])
    caption = panel.flips_grid.model.caption(0)
    assert caption.startswith(f"{labels[flips[0]]} → ") and f"#{flips[0]}" in caption
    assert f"{flips.size:,} of the" in panel.flips_label.text()
    # clicking the plot near 10 degrees lists that amount's flips
    item = panel.plot.getPlotItem()
    point = item.vb.mapViewToScene(item.vb.mapFromView(item.vb.viewRect().center()))
    view_point = panel.plot.mapFromScene(point)
    x_of = item.vb.mapSceneToView(point).x()
    qtbot.mouseClick(panel.plot.viewport(), Qt.MouseButton.LeftButton, pos=view_point)
    expected = min((panel.amount_combo.itemData(i) for i in range(panel.amount_combo.count())),
                   key=lambda a: abs(a - x_of))  # fmt: skip
    qtbot.waitUntil(lambda: panel.amount_combo.currentData() == expected, timeout=5_000)


def test_export_writes_the_robustness_figure_and_its_data(tmp_path, small_mnist, plain_epochs):
    import csv

    from explorer.export_files import export_all

    model = plain_epochs[-1][1]
    written = {p.name for p in export_all(model, small_mnist, tmp_path)}
    assert {"robustness.png", "robustness.csv", "report.html"} <= written
    with open(tmp_path / "robustness.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["perturbation", "amount", "accuracy"]
    assert {r["perturbation"] for r in rows} == {"rotation", "shift", "noise", "thickness"}
    firsts = [r for i, r in enumerate(rows) if i == 0 or rows[i - 1]["perturbation"] != r["perturbation"]]
    accuracy = float(np.mean(model.predict(small_mnist.test_images) == small_mnist.test_labels))
    assert all(r["amount"] == "0" and float(r["accuracy"]) == pytest.approx(accuracy) for r in firsts)
    assert (tmp_path / "robustness.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (tmp_path / "report.html").read_text()
    assert "<h2>Robustness</h2>" in report and "test accuracy against rotation" in report
