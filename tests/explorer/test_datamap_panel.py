"""The Data map tab: the map and the suspects of a tiny real run, the epoch slider, a click that opens the image
in the Dataset tab, and the record coming back after a restart."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt

from core import datasets
from core.training import TrainConfig, Trainer
from explorer.panels.datamap import DataMapPanel
from explorer.state import AppState
from explorer.training_feed import model_for_epoch

TIMEOUT = 60_000


def train_into(state: AppState, epochs: int = 3):
    """A tiny real run delivered to the state as the training controller delivers one."""
    data = state.dataset
    cfg = TrainConfig(hidden=(32,), epochs=epochs, batch_size=64, train_limit=1500, seed=2)
    run = state.new_run(cfg)
    state.begin_training(run)
    trainer = Trainer(cfg, data)
    for event in trainer.fit_iter():
        if hasattr(event, "dynamics"):
            state.add_epoch(run, event, model_for_epoch(event.network, trainer, cfg, data))
    state.end_run(run, "completed")
    return run


def shown_panel(qtbot, state) -> DataMapPanel:
    panel = DataMapPanel(state)
    qtbot.addWidget(panel)
    panel.resize(1100, 700)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def test_the_tab_draws_the_map_and_lists_suspects_and_follows_the_epoch(qtbot):
    state = AppState()
    state.set_dataset(datasets.load("mnist"))
    run = train_into(state)
    panel = shown_panel(qtbot, state)
    qtbot.waitUntil(lambda: panel.result is not None and panel.result.upto == 3, timeout=TIMEOUT)
    image = panel.map_image.image
    assert image is not None and image.shape[2] == 4 and (image[..., 3] > 0).sum() > 100  # many cells drawn
    assert panel.objectName() == "dataMapPanel"
    found = panel.result.suspects
    assert panel.gallery.count() == len(found.indices) == 60
    assert "3 epochs" in panel.caption.text() and "1,500 training images" in panel.caption.text()
    rings = panel.suspect_rings.getData()
    assert len(rings[0]) == 60
    # the slider: epoch 1 alone
    state.select_epoch(1)
    qtbot.waitUntil(lambda: panel.result.upto == 1, timeout=TIMEOUT)
    assert panel.result.data_map.epochs == 1 and "over 1 epochs" in panel.caption.text()
    assert run.dynamics.epochs == (1, 2, 3)


def test_pointing_at_the_map_reads_an_image_and_a_click_selects_a_suspect(qtbot):
    state = AppState()
    state.set_dataset(datasets.load("mnist"))
    train_into(state)
    panel = shown_panel(qtbot, state)
    qtbot.waitUntil(lambda: panel.result is not None, timeout=TIMEOUT)
    dm = panel.result.data_map
    target = int(panel.result.suspects.indices[0])
    view = panel.plot.getPlotItem().getViewBox()
    scene_point = view.mapViewToScene(QPointF(float(dm.variability[target]), float(dm.confidence[target])))
    panel._on_mouse_moved(scene_point)
    assert panel.readout.text().startswith(f"Training image {target:,}:") and "label" in panel.readout.text()
    assert not panel.hover_image.pixmap().isNull()  # the image under the mouse
    seen = []
    state.imageSelected.connect(lambda split, index: seen.append((split, index)))
    rect = panel.gallery.visual_rect(2)
    qtbot.mouseClick(panel.gallery.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert seen == [("train", int(panel.result.suspects.indices[2]))]
    assert state.selected_image == ("train", int(panel.result.suspects.indices[2]))


def test_in_the_window_a_click_opens_the_dataset_tab_on_that_image(qtbot):
    from tests.explorer.gui_helpers import find, open_window

    win = open_window(qtbot)
    qtbot.waitUntil(lambda: win.state.dataset is not None, timeout=TIMEOUT)
    train_into(win.state, epochs=2)
    tabs = win.tabs
    panel = find(win, "dataMapPanel")
    tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: panel.result is not None, timeout=TIMEOUT)
    index = int(panel.result.suspects.indices[0])
    rect = panel.gallery.visual_rect(0)
    qtbot.mouseClick(panel.gallery.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert tabs.currentWidget().objectName() == "datasetPanel"
    assert tabs.currentWidget().current_index == index


def test_a_run_without_a_record_says_so_and_a_restored_run_brings_it_back(qtbot, tmp_path):
    state = AppState()
    state.set_dataset(datasets.load("mnist"))
    state.open_run_store(tmp_path)
    run = train_into(state, epochs=2)
    expected = run.dynamics.matrix("probability")
    assert state.close_run_store()
    assert (tmp_path / str(run.run_id) / "dynamics.npz").is_file()
    again = AppState()
    again.set_dataset(datasets.load("mnist"))
    again.open_run_store(tmp_path)
    restored = again.runs[-1]
    panel = shown_panel(qtbot, again)
    again.select_run(restored)
    qtbot.waitUntil(lambda: panel.result is not None, timeout=TIMEOUT)
    np.testing.assert_allclose(panel.result.data_map.confidence, np.nanmean(expected.astype(np.float32), axis=1),
                               rtol=1e-5)  # fmt: skip
    assert again.close_run_store()
    plain = AppState()
    no_record = plain.new_run(TrainConfig())
    plain.select_run(no_record)
    plain.add_epoch(no_record, _numbers_only(), None)
    other = shown_panel(qtbot, plain)
    assert other.result is None and "no per-image record" in other.caption.text()


def _numbers_only():
    import types

    return types.SimpleNamespace(epoch=1, epochs=1, test_accuracy=0.5, train_loss=0.3, epoch_seconds=0.1)
