"""core.digit: MNIST-style preparation of drawn and photographed digits, checked on hand-made arrays."""

import math

import numpy as np
import pytest

from core.digit import (
    CENTRE,
    area_matrix,
    fitted_shape,
    ink_bbox,
    is_dark_on_light,
    prepare_digit,
    resample_area,
    to_grey,
)


def _com(image):
    """Centre of mass computed by hand (not through scipy) as the tests' independent reference."""
    image = image.astype(np.float64)
    rows, cols = np.indices(image.shape)
    return (rows * image).sum() / image.sum(), (cols * image).sum() / image.sum()


def _bbox(image):
    rows = np.flatnonzero(image.any(axis=1))
    cols = np.flatnonzero(image.any(axis=0))
    return rows[0], cols[0], rows[-1] + 1, cols[-1] + 1


def test_small_off_centre_square_ends_centred_and_fills_the_box():
    canvas = np.zeros((100, 100), dtype=np.uint8)
    canvas[5:15, 70:80] = 255  # a 10x10 square near the top-right corner
    prepared = prepare_digit(canvas)
    assert not prepared.empty and not prepared.inverted
    assert prepared.bbox == (5, 70, 15, 80)
    image = prepared.image
    top, left, bottom, right = _bbox(image)
    assert (bottom - top, right - left) == (20, 20)  # scaled up to fill the 20x20 box
    assert image[top:bottom, left:right].min() == 255  # a full square stays a full square
    # The 20-pixel square's centre of mass is 9.5 from its corner; 14 - 9.5 = 4.5 rounds (half up) to 5.
    assert (top, left) == (5, 5)
    com_row, com_col = _com(image)
    assert abs(com_row - CENTRE) <= 0.5 and abs(com_col - CENTRE) <= 0.5


def test_tall_bar_keeps_its_aspect():
    canvas = np.zeros((200, 300), dtype=np.float64)
    canvas[40:140, 200:225] = 1.0  # 100 tall, 25 wide: aspect 4:1
    image = prepare_digit(canvas).image
    top, left, bottom, right = _bbox(image)
    assert (bottom - top, right - left) == (20, 5)
    assert image[top:bottom, left:right].min() == 255
    com_row, com_col = _com(image)
    assert abs(com_row - CENTRE) <= 0.5 and abs(com_col - CENTRE) <= 0.5


def test_uneven_mass_is_centred_by_mass_not_by_box():
    # An upside-down "T": its bottom bar pulls the centre of mass down, so the box sits above the middle.
    canvas = np.zeros((40, 40))
    canvas[0:20, 9:11] = 1.0
    canvas[18:20, 0:20] = 1.0
    prepared = prepare_digit(canvas)
    # Independent computation: the crop is exactly 20x20, so the fitted image is the crop itself.
    crop = canvas[0:20, 0:20]
    com_row, com_col = _com(crop)
    expected = (math.floor(CENTRE - com_row + 0.5), math.floor(CENTRE - com_col + 0.5))
    assert prepared.offset == expected
    expected_image = np.zeros((28, 28))
    expected_image[expected[0] : expected[0] + 20, expected[1] : expected[1] + 20] = crop
    np.testing.assert_array_equal(prepared.image, (expected_image * 255).astype(np.uint8))
    got_row, got_col = _com(prepared.image)
    assert abs(got_row - CENTRE) <= 0.5 and abs(got_col - CENTRE) <= 0.5
    assert expected[0] < 4  # higher than centring the 20-pixel box would put it (28 - 20) / 2 = 4


def test_area_averaging_matches_block_means():
    rng = np.random.default_rng(3)
    image = rng.random((60, 40))
    small = resample_area(image, (20, 10))  # exact 3x4 blocks
    blocks = image.reshape(20, 3, 10, 4).mean(axis=(1, 3))
    np.testing.assert_allclose(small, blocks, rtol=1e-12)
    # Any ratio keeps the mean brightness (each output pixel is a weighted mean of what it covers).
    odd = resample_area(image, (17, 13))
    assert odd.mean() == pytest.approx(image.mean(), rel=1e-12)
    np.testing.assert_allclose(area_matrix(7, 3).sum(axis=1), 1.0)


def test_fitted_shape_keeps_aspect():
    assert fitted_shape(100, 100) == (20, 20)
    assert fitted_shape(280, 140) == (20, 10)
    assert fitted_shape(10, 3) == (20, 6)
    assert fitted_shape(1, 500) == (1, 20)


def test_dark_on_light_picture_is_inverted():
    paper = np.full((50, 50), 230, dtype=np.uint8)
    paper[10:40, 20:26] = 20  # a dark vertical stroke: a "1"
    assert is_dark_on_light(paper)
    prepared = prepare_digit(paper)
    assert prepared.inverted
    image = prepared.image
    top, left, bottom, right = _bbox(image)
    assert (bottom - top, right - left) == (20, 4)
    assert image[top:bottom, left:right].min() == 255  # paper grey is removed, the ink is full white
    assert image.sum() == 255 * 80  # nothing but the stroke: the paper became black


def test_light_on_dark_is_not_inverted_and_rgb_is_accepted():
    rgb = np.zeros((30, 30, 3), dtype=np.uint8)
    rgb[5:25, 12:18] = (255, 255, 255)
    assert not is_dark_on_light(rgb)
    prepared = prepare_digit(rgb)
    assert not prepared.inverted and not prepared.empty
    np.testing.assert_allclose(to_grey(rgb)[10, 15], 1.0)


def test_blank_image_is_empty():
    prepared = prepare_digit(np.zeros((64, 64)))
    assert prepared.empty
    assert prepared.image.shape == (28, 28) and prepared.image.dtype == np.uint8
    assert not prepared.image.any()


def test_faint_noise_below_threshold_is_not_ink():
    canvas = np.zeros((50, 50))
    canvas[20:30, 20:30] = 1.0
    canvas[0, 0] = 0.05  # a speck of dust at 5% of the ink
    assert ink_bbox(canvas) == (20, 20, 30, 30)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError):
        prepare_digit(np.zeros((2, 3, 5)))
    with pytest.raises(ValueError):
        prepare_digit(np.zeros((0, 0)))
