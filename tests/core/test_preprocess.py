"""Input scaling and target encoding against values worked out by hand."""

import numpy as np
import pytest

from core.preprocess import background_value, encode_targets, fit_scaling, scale_inputs

PIXELS = np.array([[[0, 51], [255, 102]]], dtype=np.uint8)  # 51 / 255 = 0.2, 102 / 255 = 0.4


def test_unit_scaling():
    x = scale_inputs(PIXELS, "unit")
    assert x.shape == (1, 4) and x.dtype == np.float32
    np.testing.assert_allclose(x, [[0.0, 0.2, 1.0, 0.4]], rtol=1e-6)


def test_rashid_scaling():
    # x / 255 * 0.99 + 0.01: 0 -> 0.01, 51 -> 0.208, 255 -> 1.0, 102 -> 0.406
    x = scale_inputs(PIXELS, "rashid", dtype=np.float64)
    assert x.dtype == np.float64
    np.testing.assert_allclose(x, [[0.01, 0.208, 1.0, 0.406]], rtol=1e-12)
    assert background_value("rashid") == pytest.approx(0.01)


def test_standard_scaling_uses_the_training_sets_mean_and_std():
    train = np.array([[[0, 255], [0, 255]], [[51, 51], [51, 51]]], dtype=np.uint8)
    # values / 255: 0, 1, 0, 1, 0.2 x4 -> mean 2.8 / 8 = 0.35; mean square 2.16 / 8 = 0.27 -> var 0.27 - 0.1225
    stats = fit_scaling(train, "standard")
    assert stats["mean"] == pytest.approx(0.35) and stats["std"] == pytest.approx(np.sqrt(0.1475))
    x = scale_inputs(train, "standard", stats)
    assert x.mean() == pytest.approx(0.0, abs=1e-6) and x.std() == pytest.approx(1.0, rel=1e-5)
    assert background_value("standard", stats) == pytest.approx(-0.35 / np.sqrt(0.1475))
    assert fit_scaling(train, "unit") == {"scaling": "unit", "mean": 0.0, "std": 1.0}


def test_standard_scaling_on_real_mnist_matches_a_direct_computation():
    from core.datasets import load

    images = load("mnist").train_images[:2000]
    stats = fit_scaling(images, "standard")
    direct = images.astype(np.float64) / 255
    assert stats["mean"] == pytest.approx(direct.mean(), rel=1e-12)
    assert stats["std"] == pytest.approx(direct.std(), rel=1e-12)


def test_a_single_image_and_bad_inputs():
    assert scale_inputs(PIXELS[0], "unit").shape == (1, 4)
    with pytest.raises(ValueError, match="must be uint8"):
        scale_inputs(PIXELS.astype(np.float32), "unit")
    with pytest.raises(ValueError, match="Unknown input scaling 'minmax'"):
        scale_inputs(PIXELS, "minmax")
    with pytest.raises(ValueError, match="needs the training set's statistics"):
        scale_inputs(PIXELS, "standard")


def test_targets():
    np.testing.assert_array_equal(encode_targets([2, 0], 3, "onehot"), [[0, 0, 1], [1, 0, 0]])
    np.testing.assert_allclose(encode_targets([1], 3, "rashid"), [[0.01, 0.99, 0.01]], rtol=1e-6)
    assert encode_targets([1], 3, "onehot", np.float64).dtype == np.float64
    with pytest.raises(ValueError, match="Labels must lie in 0..2"):
        encode_targets([3], 3, "onehot")
    with pytest.raises(ValueError, match="Unknown target encoding"):
        encode_targets([1], 3, "soft")
