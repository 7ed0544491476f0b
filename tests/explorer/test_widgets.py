"""The shared widgets: ImageGrid (virtualised thumbnails), ProbabilityBars, ImageView, driven offscreen."""

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from explorer.widgets.image_grid import CACHE_SIZE, ImageGrid
from explorer.widgets.image_view import ImageView
from explorer.widgets.prob_bars import ProbabilityBars


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (500, 28, 28), dtype=np.uint8)


def wait_laid_out(qtbot, grid, row):
    index = grid.model.index(row)
    qtbot.waitUntil(
        lambda: grid.view.visualRect(index).isValid() and not grid.view.visualRect(index).isEmpty()
    )


def test_grid_counts_filters_and_empty_state(qtbot, images):
    grid = ImageGrid()
    qtbot.addWidget(grid)
    grid.set_images(images, [f"c{i}" for i in range(len(images))])
    assert grid.count() == 500
    grid.set_indices([5, 7, 11])
    assert grid.count() == 3
    assert grid.model.data(grid.model.index(1), Qt.ItemDataRole.DisplayRole) == "c7"
    assert grid._stack.currentWidget() is grid.view
    grid.set_empty_message("Nothing here")
    grid.set_indices([])
    assert grid.count() == 0
    assert grid._stack.currentWidget() is grid.empty_label
    assert grid.empty_label.text() == "Nothing here"
    with pytest.raises(ValueError):
        grid.set_indices([500])
    with pytest.raises(ValueError):
        grid.set_images(images, ["too few"])


def test_grid_click_emits_the_image_index(qtbot, images):
    grid = ImageGrid()
    qtbot.addWidget(grid)
    grid.resize(500, 400)
    grid.show()
    qtbot.waitExposed(grid)
    grid.set_images(images)
    grid.set_indices(np.arange(100, 200, 2))  # row r shows image 100 + 2r
    wait_laid_out(qtbot, grid, 6)
    rect = grid.visual_rect(6)
    with qtbot.waitSignal(grid.imageClicked) as blocker:
        qtbot.mouseClick(grid.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == [112]


def test_grid_thumbnail_shows_the_pixels_and_the_mark(qtbot, images):
    grid = ImageGrid(thumbnail_size=56)
    qtbot.addWidget(grid)
    marks = np.zeros(len(images), bool)
    marks[3] = True
    grid.set_images(images, marks=marks)
    pixmap = grid.model.data(grid.model.index(3), Qt.ItemDataRole.DecorationRole)
    assert pixmap.width() == 56
    picture = pixmap.toImage()
    # 56 / 28 = 2 screen pixels per image pixel, nearest neighbour: pixel (row 10, col 4) is at (x 9, y 21).
    assert picture.pixelColor(9, 21).red() == images[3][10, 4]
    right = picture.pixelColor(55, 0)  # the corner mark: green for right
    assert (right.green(), right.red()) == (0xA0, 0x2C)
    wrong = grid.model.data(grid.model.index(4), Qt.ItemDataRole.DecorationRole).toImage().pixelColor(55, 0)
    assert (wrong.red(), wrong.green()) == (0xD6, 0x27)
    grid.set_marks(None)
    unmarked = (
        grid.model.data(grid.model.index(4), Qt.ItemDataRole.DecorationRole).toImage().pixelColor(55, 0)
    )
    assert unmarked.red() == unmarked.green() == unmarked.blue() == images[4][0, 27]


def test_grid_pixmap_cache_is_bounded(qtbot):
    grid = ImageGrid()
    qtbot.addWidget(grid)
    many = np.zeros((CACHE_SIZE + 200, 28, 28), np.uint8)
    grid.set_images(many)
    for row in range(len(many)):
        grid.model.data(grid.model.index(row), Qt.ItemDataRole.DecorationRole)
    assert len(grid.model._cache) == CACHE_SIZE


def test_probability_bars(qtbot):
    bars = ProbabilityBars()
    qtbot.addWidget(bars)
    assert bars.top_class() is None
    assert "Train a model" in bars.summary()
    probs = np.array([0.05, 0.05, 0.1, 0.6, 0.05, 0.05, 0.02, 0.03, 0.03, 0.02])
    bars.set_probabilities(probs, [str(i) for i in range(10)], true_label=5)
    assert bars.top_class() == 3
    assert bars.summary() == "3 (60.0%)"
    np.testing.assert_allclose(bars.probabilities(), probs)
    bars.resize(300, 240)
    assert not bars.grab().toImage().isNull()
    with pytest.raises(ValueError):
        bars.set_probabilities(probs[:5], [str(i) for i in range(10)])


def test_probability_bars_label_sigmoid_outputs_as_activations(qtbot):
    bars = ProbabilityBars()
    qtbot.addWidget(bars)
    bars.resize(320, 260)
    outputs = np.array([0.02, 0.05, 0.1, 0.93, 0.01, 0.2, 0.02, 0.03, 0.01, 0.04])  # sums to 1.41
    bars.set_probabilities(outputs, [str(i) for i in range(10)], activations=True)
    assert bars.shows_activations() and bars.summary() == "3 (output 0.93)"
    assert "need not sum to 1" in bars.toolTip()
    sigmoid = bars.grab().toImage()
    bars.set_probabilities(outputs / outputs.sum(), [str(i) for i in range(10)])
    assert not bars.shows_activations() and bars.summary() == "3 (66.0%)"
    assert sigmoid != bars.grab().toImage()  # the note line and the values are drawn differently


def test_image_view_shows_the_image_and_the_value_under_the_mouse(qtbot, images):
    view = ImageView(title="test")
    qtbot.addWidget(view)
    view.resize(300, 320)
    view.show()
    qtbot.waitExposed(view)
    assert view.empty_label.isVisible()
    view.set_image(images[0])
    assert not view.empty_label.isVisible()
    np.testing.assert_array_equal(view.image_item.image, images[0])
    assert view.image_item.levels.tolist() == [0, 255]
    # The pixel in column 3, row 5 (the view puts row 0 at the top, as the array is stored).
    scene_pos = view.view_box.mapViewToScene(QPointF(3.5, 5.5))
    view._on_mouse_moved(scene_pos)
    assert view.value_label.text() == f"x 3, y 5: {images[0][5, 3]}"
    floats = np.linspace(-1, 1, 28 * 28).reshape(28, 28)
    view.set_image(floats, levels=(-1, 1), cmap="CET-D1")
    assert view.value_at(0, 0) == "x 0, y 0: -1.000"
    assert view.value_at(28, 0) == ""
    view.set_image(None)
    assert view.empty_label.isVisible()
    with pytest.raises(ValueError):
        view.set_image(np.zeros(5))


def test_grid_arrow_keys_browse(qtbot, images):
    grid = ImageGrid()
    qtbot.addWidget(grid)
    grid.resize(500, 400)
    grid.show()
    qtbot.waitExposed(grid)
    grid.set_images(images)
    grid.set_indices([10, 20, 30, 40])
    wait_laid_out(qtbot, grid, 1)
    qtbot.mouseClick(grid.view.viewport(), Qt.MouseButton.LeftButton, pos=grid.visual_rect(0).center())
    grid.view.setFocus()
    with qtbot.waitSignal(grid.imageClicked) as blocker:
        qtbot.keyClick(grid.view, Qt.Key.Key_Right)
    assert blocker.args == [20]


def test_grid_resized_while_empty_fits_its_thumbnails_when_they_appear(qtbot, images):
    """The empty message is the stacked layout's current page while the grid is resized; the thumbnails' page
    must be laid out at the new size when it becomes current, not at the size it had before."""
    grid = ImageGrid()
    qtbot.addWidget(grid)
    grid.fit_columns(10, largest=120)
    grid.resize(300, 200)
    grid.show()
    qtbot.waitExposed(grid)
    grid.set_images(images[:20])  # the thumbnails' page is laid out at 300 px
    grid.set_indices([])  # back to the empty message
    grid.resize(1000, 400)
    qtbot.waitUntil(lambda: grid.width() == 1000)
    grid.set_indices(np.arange(20))
    assert grid._stack.currentWidget() is grid.view
    assert grid.view.geometry() == grid.contentsRect()
    wait_laid_out(qtbot, grid, 9)
    first, tenth = grid.visual_rect(0), grid.visual_rect(9)
    pixels = grid.view.iconSize().width()
    assert pixels > 60  # fitted to 1000 px: ten columns of ~(1000 - scrollbar) / 10
    assert tenth.top() == first.top(), "the ten fitted columns should share the first row"
    assert tenth.right() <= grid.view.viewport().width()
