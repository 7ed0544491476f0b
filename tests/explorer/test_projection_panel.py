"""The hidden-layer map tab on a real run (a 784-32-10 network trained for three short epochs on MNIST): it draws
a dot per image in its label's colour with the wrong ones ringed, follows the epoch slider (each epoch's map once,
started from the nearest one), and hover, click and a drawn loop show the right images; the export writes
projection.csv."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from core import projection
from explorer.panels import projection_data
from explorer.state import AppState

QUICK = projection.Schedule(exaggerated=100, main=150, continued=60)
SAMPLE = 2000


@pytest.fixture(scope="module")
def mnist():
    from core.datasets import load

    return load("mnist")


@pytest.fixture(scope="module")
def epochs(mnist):
    """(EpochEvent, Model) for each of 3 epochs of a small ReLU network trained on 3,000 digits."""
    from core.model_io import Model
    from core.training import EpochEvent, TrainConfig, Trainer

    trainer = Trainer(TrainConfig(hidden=(32,), epochs=3, train_limit=3000, batch_size=64, seed=0), mnist)
    found = []
    for event in trainer.fit_iter():
        if isinstance(event, EpochEvent):
            model = Model.from_trainer(trainer, mnist)
            model.network = event.network
            found.append((event, model))
    return found


@pytest.fixture
def panel(qtbot, mnist, epochs, monkeypatch):
    from explorer.panels.projection import ProjectionPanel

    monkeypatch.setattr(projection_data, "SCHEDULE", QUICK)
    state = AppState()
    state.set_dataset(mnist)
    run = state.new_run(epochs[0][1].config)
    for event, model in epochs:
        state.add_epoch(run, event, model)
    state.end_run(run, "completed")
    widget = ProjectionPanel(state)
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    qtbot.waitExposed(widget)
    widget.sample_combo.setCurrentIndex(widget.sample_combo.findData(SAMPLE))
    _wait_map(qtbot, widget, 3)
    yield widget
    widget.shutdown()


def _wait_map(qtbot, panel, epoch: int) -> None:
    def shown():
        assert panel.layer_map is not None and panel.key[-1] == epoch
        assert panel.cache.get(panel.key) is panel.layer_map
        assert not panel.busy

    qtbot.waitUntil(shown, timeout=120_000)


def _viewport_point(panel, position: int) -> QPoint:
    view = panel.map_view
    return view.plot.mapFromScene(view.scene_point(position))


def test_the_panel_draws_a_dot_per_image_coloured_by_label_and_rings_the_wrong(panel, mnist, epochs):
    layer_map = panel.layer_map
    indices = projection.sample_indices(10_000, SAMPLE, seed=0)
    np.testing.assert_array_equal(layer_map.indices, indices)
    view = panel.map_view
    assert view.point_count() == SAMPLE
    labels = mnist.test_labels[indices]
    assert view.shown_counts() == np.bincount(labels, minlength=10).tolist()
    model = epochs[-1][1]
    wrong = model.predict_proba(mnist.test_images[indices]).argmax(axis=1) != labels
    assert len(view.ring_item.data) == int(wrong.sum()) > 0
    assert [panel.layer_combo.itemText(i) for i in range(panel.layer_combo.count())] == [
        "hidden 1 (32)",
        "output (10 classes)",
    ]
    assert view.legend_names() == [str(k) for k in range(10)] + ["wrong"]
    assert "●</span>&nbsp;9" in view.legend.text()
    assert "Epoch 3" in panel.status_label.text() and "nearest neighbours" in panel.status_label.text()
    assert layer_map.agreement > 0.6  # the digits keep apart even after three short epochs


def test_the_epoch_slider_changes_the_map_and_each_epoch_is_computed_once(qtbot, panel):
    third = panel.layer_map
    panel.state.select_epoch(1)
    # while epoch 1's map is computed, epoch 3's stays on screen and the line says so
    assert panel.layer_map is third and panel.shown_epoch == 3
    assert "Computing the map of epoch 1" in panel.status_label.text()
    assert "Showing epoch 3's map meanwhile" in panel.status_label.text()
    _wait_map(qtbot, panel, 1)
    assert panel.shown_epoch == 1
    first = panel.layer_map
    assert first is not third and first.started_from == 3  # started from the map already there
    assert not np.array_equal(first.predicted, third.predicted)
    assert not np.allclose(first.coords, third.coords)
    assert "Epoch 1" in panel.status_label.text()
    panel.state.select_epoch(3)  # back: the cached map at once, no job
    assert panel.layer_map is third and not panel.busy
    panel.layer_combo.setCurrentIndex(1)  # another layer is another map
    qtbot.waitUntil(lambda: panel.layer_map is not None and panel.layer_map.layer == "output (10 classes)",
                    timeout=120_000)  # fmt: skip


def test_hover_shows_the_image_under_the_mouse(qtbot, panel, mnist):
    layer_map = panel.layer_map
    position = int(np.argmax(layer_map.coords[:, 0]))  # the rightmost dot: nothing lies beyond it
    qtbot.mouseMove(panel.map_view.plot.viewport(), _viewport_point(panel, position))
    qtbot.waitUntil(lambda: panel.map_view.hover_label.isVisible())
    index = int(layer_map.indices[position])
    assert panel.map_view.hovered_position == position
    assert panel.map_view.hover_label.text.text().startswith(f"#{index:,}: {mnist.test_labels[index]}")
    shown = panel.map_view.hover_label.picture.pixmap().toImage()
    assert shown.width() == 3 * 28
    assert shown.pixelColor(3 * 14, 3 * 14).value() == mnist.test_images[index][14, 14]


def test_click_opens_the_image_with_its_answer_at_every_epoch(qtbot, panel, mnist, epochs):
    layer_map = panel.layer_map
    position = int(np.argmin(layer_map.coords[:, 1]))  # the lowest dot
    qtbot.mouseClick(
        panel.map_view.plot.viewport(), Qt.MouseButton.LeftButton, pos=_viewport_point(panel, position)
    )
    index = int(layer_map.indices[position])
    assert panel.picked == index
    np.testing.assert_array_equal(panel.image_view.image(), mnist.test_images[index])
    assert f"Test image {index:,}" in panel.image_view.title_label.text()
    qtbot.waitUntil(lambda: panel.epochs_table.columnCount() == 3, timeout=20_000)
    for column, (_, model) in enumerate(epochs):
        answer = int(model.predict_proba(mnist.test_images[index : index + 1]).argmax())
        assert panel.epochs_table.item(0, column).text() == str(answer)
    assert panel.epochs_table.horizontalHeaderItem(2).text() == "3"


def test_a_drawn_loop_lists_its_images(qtbot, panel, mnist):
    layer_map = panel.layer_map
    coords = layer_map.coords
    centre = coords[layer_map.labels == 0].mean(axis=0)  # round the middle of the zeros' island
    radius = 0.15 * np.ptp(coords, axis=0).max()
    angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    loop = centre + radius * np.column_stack([np.cos(angles), np.sin(angles)])
    chosen = panel.map_view.select_polygon(loop)
    expected = np.flatnonzero(np.hypot(*(coords - centre).T) < radius * 0.99)  # well inside the 24-gon
    assert set(expected.tolist()) <= set(chosen.tolist())
    assert chosen.size > 10
    order = chosen[np.argsort(~layer_map.wrong[chosen], kind="stable")]  # the wrong ones listed first
    np.testing.assert_array_equal(panel.selected, layer_map.indices[order])
    grid = panel.selection_grid
    np.testing.assert_array_equal(grid.shown_indices(), order)
    assert f"{chosen.size:,} images in the loop" in panel.selection_label.text()
    first = int(grid.shown_indices()[0])
    rect = grid.visual_rect(grid.row_of(first))
    qtbot.mouseClick(grid.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert panel.picked == int(layer_map.indices[first])


def test_the_map_exports_with_one_row_per_image(panel, tmp_path):
    from explorer.export import export_widget

    written = export_widget(panel.map_view, tmp_path / "projection.png", 1, panel._export_data)
    assert {p.name for p in written} >= {"projection.png", "projection.csv"}
    with open(tmp_path / "projection.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:5] == ["index", "x", "y", "label", "predicted"]
    assert len(rows) == SAMPLE + 1
    layer_map = panel.layer_map
    assert [int(r[0]) for r in rows[1:]] == layer_map.indices.tolist()
    assert [int(r[4]) for r in rows[1:]] == layer_map.predicted.tolist()


def test_the_command_line_export_writes_the_map(mnist, epochs, tmp_path):
    from explorer.export_files import export_all

    export_all(epochs[-1][1], mnist, tmp_path)
    with open(tmp_path / "projection.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:5] == ["index", "x", "y", "label", "predicted"]
    assert len(rows) == 2000 + 1
    assert (tmp_path / "projection.png").stat().st_size > 10_000
    assert "Hidden-layer map" in (tmp_path / "report.html").read_text()


def test_a_removed_run_takes_its_maps_with_it(panel):
    run = panel.state.selected_run
    assert any(key[0] == run.run_id for key in panel.cache.stored_keys())
    panel.state.remove_run(run)
    assert not any(key[0] == run.run_id for key in panel.cache.stored_keys())
    assert panel.map_view.point_count() == 0 and "Train a model" in panel.status_label.text()


def test_the_panel_says_what_to_do_without_a_model(qtbot):
    from explorer.panels.projection import ProjectionPanel

    widget = ProjectionPanel(AppState())
    qtbot.addWidget(widget)
    assert "Train a model" in widget.status_label.text()
    assert widget.map_view.point_count() == 0
    assert widget.objectName() == "projectionPanel"
