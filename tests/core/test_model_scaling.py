"""Model.scale and Model.input_range: the model's own input scaling, the one path every view goes through."""

from __future__ import annotations

import numpy as np
import pytest

from core.model_io import Model
from core.network import init_network
from core.preprocess import fit_scaling, scale_inputs
from core.readers import IMAGE_SHAPE, N_PIXELS
from core.training import TrainConfig


def digits(n=20, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, *IMAGE_SHAPE), dtype=np.uint8)


def model_with(scaling: str, dtype=np.float32) -> Model:
    """A model whose preprocessing was fitted, as a Trainer fits it, on a training set of random digits."""
    cfg = TrainConfig(hidden=(8,), scaling=scaling, epochs=1)
    net = init_network([N_PIXELS, 8, 10], "relu", "softmax", "he", True, rng=1, dtype=dtype)
    prep = fit_scaling(digits(200, seed=1), scaling)
    return Model(
        network=net, config=cfg, dataset="mnist", classes=[str(i) for i in range(10)], preprocessing=prep
    )


def test_image_shape_is_mnists():
    assert IMAGE_SHAPE == (28, 28)
    assert N_PIXELS == 784


@pytest.mark.parametrize("scaling", ["unit", "rashid", "standard"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scale_is_scale_inputs_with_the_models_own_statistics(scaling, dtype):
    model = model_with(scaling, dtype)
    images = digits()
    expected = scale_inputs(images, scaling, fit_scaling(digits(200, seed=1), scaling), dtype)
    x = model.scale(images)
    assert x.dtype == np.dtype(dtype)
    assert x.shape == (20, N_PIXELS)
    np.testing.assert_array_equal(x, expected)
    # the same inputs from flattened images and, one at a time, from a single image
    np.testing.assert_array_equal(model.scale(images.reshape(-1, N_PIXELS)), expected)
    np.testing.assert_array_equal(model.scale(images[3]), expected[3:4])


def test_scale_uses_the_files_scaling_over_the_config():
    # a model file's preprocessing names the scaling its inputs were trained with; it wins over the config's
    model = model_with("rashid")
    model.config = TrainConfig(hidden=(8,), scaling="unit", epochs=1)
    assert model.scaling == "rashid"
    assert model.scale(np.zeros((1, *IMAGE_SHAPE), np.uint8)).min() == pytest.approx(0.01)


def test_scale_falls_back_on_the_config_when_the_file_names_no_scaling():
    model = model_with("unit")
    model.preprocessing = {"mean": 0.0, "std": 1.0}
    model.config = TrainConfig(hidden=(8,), scaling="rashid", epochs=1)
    assert model.scaling == "rashid"
    assert model.input_range() == pytest.approx((0.01, 1.0))


def test_scale_refuses_images_of_another_shape():
    model = model_with("unit")
    with pytest.raises(ValueError, match="28, 28"):
        model.scale(np.zeros((4, 27, 27), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        model.scale(np.zeros((4, 28, 28), np.float32))


@pytest.mark.parametrize(
    ("scaling", "expected"),
    [
        ("unit", (0.0, 1.0)),
        ("rashid", (0.01, 1.0)),
        ("standard", None),  # (0 - mean) / std .. (1 - mean) / std, from the fitted statistics
    ],
)
def test_input_range_is_a_black_and_a_white_pixel_scaled(scaling, expected):
    model = model_with(scaling)
    lo, hi = model.input_range()
    if expected is None:
        mean, std = model.preprocessing["mean"], model.preprocessing["std"]
        assert 0.2 < mean < 0.8 and std > 0  # random digits: a real fit, not the unit defaults
        expected = (-mean / std, (1 - mean) / std)
    assert (lo, hi) == pytest.approx(expected)
    assert lo < hi
    # every scaled input lies in it, and a black and a white pixel reach its ends
    x = model.scale(
        np.stack([np.zeros(IMAGE_SHAPE, np.uint8), np.full(IMAGE_SHAPE, 255, np.uint8), digits(1)[0]])
    )
    assert x.min() == pytest.approx(lo, rel=1e-6) and x.max() == pytest.approx(hi, rel=1e-6)
    assert np.all((x >= np.float32(lo)) & (x <= np.float32(hi)))
