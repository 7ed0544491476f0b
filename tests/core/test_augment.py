"""Augmentation: the vectorised rotation equals scipy.ndimage.rotate image by image; shifts, elastic fields and the
schemes do what they say."""

from types import SimpleNamespace

import numpy as np
import pytest
from scipy import ndimage

from core.augment import _gaussian_matrix, augment_batch, elastic_fields, rotate, transform
from core.preprocess import scale_inputs


@pytest.fixture(scope="module")
def digits():
    from core.datasets import load

    return scale_inputs(load("mnist").train_images[:64], "rashid").reshape(-1, 28, 28)


def settings(**kw):
    base = dict(augment="off", rotate=0.0, shift=0, elastic=0.0, elastic_sigma=4.0)
    return SimpleNamespace(**{**base, **kw})


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rotate_equals_scipy_rotate_per_image(digits, dtype):
    images = digits.astype(dtype)
    angles = np.random.default_rng(0).uniform(-180, 180, len(images))
    angles[:8] = [0, 90, -90, 180, 45, -10, 10, 1e-3]
    out = rotate(images, angles, order=1, cval=0.01)
    assert out.shape == images.shape and out.dtype == dtype
    for img, angle, got in zip(images, angles, out, strict=True):
        expected = ndimage.rotate(img, angle, reshape=False, order=1, cval=0.01)
        np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    np.testing.assert_array_equal(out[0], images[0])  # 0 degrees: untouched


def test_rotate_on_odd_non_square_random_images_and_other_orders():
    rng = np.random.default_rng(1)
    images = rng.random((5, 17, 23))
    angles = [3.0, -33.0, 90.0, 137.5, -179.0]
    for order in (0, 1, 3):
        out = rotate(images, angles, order=order, cval=-0.5)
        for img, angle, got in zip(images, angles, out, strict=True):
            expected = ndimage.rotate(img, angle, reshape=False, order=order, cval=-0.5)
            np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    single = rotate(images, 30.0)  # one angle for all
    np.testing.assert_allclose(single[2], ndimage.rotate(images[2], 30.0, reshape=False, order=1), atol=1e-12)


def test_a_positive_angle_turns_counter_clockwise_like_scipy():
    img = np.zeros((5, 5))
    img[0, 2] = 1.0  # top centre
    out = rotate(img[None], [90.0])[0]
    assert out[2, 0] == pytest.approx(1.0)  # now at the left centre, as ndimage.rotate puts it
    assert ndimage.rotate(img, 90.0, reshape=False, order=1)[2, 0] == pytest.approx(1.0)


def test_whole_pixel_shifts_move_the_image_and_fill_the_background(digits):
    img = digits[:1]
    out = transform(img, shifts=[[2, -3]], cval=0.01)[0]
    expected = np.full((28, 28), 0.01, np.float32)
    expected[2:, :-3] = img[0, :-2, 3:]
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_random_shifts_are_each_one_of_the_allowed_whole_pixel_shifts(digits):
    out = augment_batch(digits[:20], settings(shift=2), np.random.default_rng(3), cval=0.01)
    seen = set()
    for img, got in zip(digits[:20], out, strict=True):
        matches = [
            (dy, dx)
            for dy in range(-2, 3)
            for dx in range(-2, 3)
            if np.allclose(got, transform(img[None], shifts=[[dy, dx]], cval=0.01)[0], atol=1e-6)
        ]
        assert matches, "every output is the input shifted by at most 2 pixels"
        seen.add(matches[0])
    assert len(seen) > 3


def test_random_rotations_stay_within_the_angle_and_differ_per_sample(digits):
    out = augment_batch(
        digits[:16], settings(augment="random", rotate=15.0), np.random.default_rng(4), cval=0.01
    )
    grid = np.linspace(-15, 15, 301)
    for img, got in zip(digits[:16], out, strict=True):
        errors = [np.abs(rotate(img[None], [a], cval=0.01)[0] - got).max() for a in grid]
        assert min(errors) < 0.02  # some angle in -15..15 (to 0.1 degree) reproduces it
    assert not np.allclose(out[0], digits[0])
    again = augment_batch(
        digits[:16], settings(augment="random", rotate=15.0), np.random.default_rng(4), cval=0.01
    )
    np.testing.assert_array_equal(out, again)  # same seed, same batch


def test_rashids_scheme_gives_each_image_and_its_two_rotations(digits):
    out = augment_batch(
        digits[:5], settings(augment="rashid", rotate=10.0), np.random.default_rng(0), cval=0.01
    )
    assert out.shape == (15, 28, 28)
    for k in range(5):
        np.testing.assert_array_equal(out[3 * k], digits[k])
        for sign, got in ((1, out[3 * k + 1]), (-1, out[3 * k + 2])):
            expected = ndimage.rotate(digits[k], sign * 10.0, reshape=False, order=1, cval=0.01)
            np.testing.assert_allclose(got, expected, atol=1e-5)


def test_off_returns_the_batch_itself_and_the_default_background_is_the_batch_minimum(digits):
    batch = digits[:4]
    assert augment_batch(batch, settings(), np.random.default_rng(0)) is batch
    out = augment_batch(digits[:4], settings(shift=14), np.random.default_rng(0))
    assert out.min() == pytest.approx(0.01)  # shifted-in background is Rashid's scaled 0
    with pytest.raises(ValueError, match="Unknown augmentation"):
        augment_batch(digits[:4], settings(augment="flip"), np.random.default_rng(0))


def test_elastic_fields_are_gaussian_smoothed_noise():
    rng = np.random.default_rng(5)
    fields = elastic_fields(3, (28, 28), alpha=34.0, sigma=4.0, rng=rng)
    noise = np.random.default_rng(5).uniform(-1, 1, (3, 2, 28, 28))
    expected = 34.0 * ndimage.gaussian_filter(noise, sigma=(0, 0, 4.0, 4.0), mode="constant", truncate=4.0)
    np.testing.assert_allclose(fields, expected, atol=1e-10)
    assert _gaussian_matrix(28, 4.0).shape == (28, 28)


def test_elastic_distortion_is_mild_bounded_and_reproducible(digits):
    cfg = settings(elastic=34.0, elastic_sigma=4.0)
    out = augment_batch(digits[:8], cfg, np.random.default_rng(6), cval=0.01)
    again = augment_batch(digits[:8], cfg, np.random.default_rng(6), cval=0.01)
    np.testing.assert_array_equal(out, again)
    assert out.min() >= 0.01 - 1e-6 and out.max() <= 1.0 + 1e-6  # linear interpolation never overshoots
    change = np.abs(out - digits[:8]).mean(axis=(1, 2))
    assert np.all(change > 0.005) and np.all(change < 0.2)
    # the ink moves but is mostly kept: total intensity changes by well under a third
    ink_before, ink_after = (digits[:8] - 0.01).sum(axis=(1, 2)), (out - 0.01).sum(axis=(1, 2))
    assert np.all(np.abs(ink_after / ink_before - 1) < 0.33)


def test_rotating_uint8_images_rounds_like_scipy():
    from core.datasets import load

    images = load("mnist").train_images[:20]
    angles = np.random.default_rng(2).uniform(-90, 90, 20)
    out = rotate(images, angles)
    assert out.dtype == np.uint8
    for img, angle, got in zip(images, angles, out, strict=True):
        np.testing.assert_array_equal(got, ndimage.rotate(img, angle, reshape=False, order=1))
