"""The convolutional network: layers against independent references, gradients against finite differences, the
layer notation's good and bad tokens, and the looking-inside functions."""

import numpy as np
import pytest
from scipy.signal import correlate

from core.config import ConfigError, TrainConfig
from core.conv_layers import Buffers, Conv, conv_forward, pool_backward, pool_forward
from core.convnet import (
    conv_filters,
    feature_maps,
    forward_loss,
    hidden_activations,
    im2col_bytes,
    init_convnet,
    is_convolutional,
    loss_and_grads,
)  # fmt: skip
from core.layer_spec import format_hidden, parse_hidden
from core.network import init_network, log_prob_gradient


@pytest.mark.parametrize("padding,k", [("valid", 3), ("same", 3), ("valid", 5), ("same", 5), ("valid", 1)])
def test_conv_forward_matches_scipy_correlate(padding, k):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 9, 8, 3))
    w = rng.normal(size=(k, k, 3, 4))
    b = rng.normal(size=4)
    z = conv_forward(Conv(w, b, padding), x, Buffers(), "c")
    mode = "same" if padding == "same" else "valid"
    for n in range(2):
        for f in range(4):
            # correlate over (H, W, C) with a kernel spanning all channels: the channel axis collapses to one
            ref = correlate(x[n], w[:, :, :, f], mode="valid" if mode == "valid" else "same")
            ref = ref[:, :, 0] if mode == "valid" else ref[:, :, 1]  # "same" centres the 3-channel axis on 1
            np.testing.assert_allclose(z[n, :, :, f], ref + b[f], rtol=1e-10, atol=1e-10)


def test_max_pool_matches_a_naive_loop_and_sends_the_gradient_to_one_maximum():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 7, 6, 3))
    x[0, 0, 0, 0] = x[0, 0, 1, 0] = x[0, 1, 0, 0] = x[0, 1, 1, 0] = 5.0  # a four-way tie
    buf = Buffers()
    out = pool_forward(x, buf, "p")
    assert out.shape == (2, 3, 3, 3)
    dout = rng.normal(size=out.shape)
    dx = pool_backward(x, out, dout, buf, "p")
    expect, expect_dx = np.empty_like(out), np.zeros_like(x)
    for n in range(2):
        for i in range(3):
            for j in range(3):
                for c in range(3):
                    window = x[n, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2, c]
                    expect[n, i, j, c] = window.max()
                    a, b = np.unravel_index(np.argmax(window), (2, 2))  # the first maximum
                    expect_dx[n, 2 * i + a, 2 * j + b, c] = dout[n, i, j, c]
    np.testing.assert_array_equal(out, expect)
    np.testing.assert_array_equal(dx, expect_dx)
    assert dx[:, 6].sum() == 0  # the odd last row gets nothing


def _numeric_grad(f, a, eps=1e-6):
    g = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        old = a[idx]
        a[idx] = old + eps
        up = f()
        a[idx] = old - eps
        down = f()
        a[idx] = old
        g[idx] = (up - down) / (2 * eps)
    return g


@pytest.mark.parametrize(
    "hidden,activation,output,loss",
    [
        (("c3k3", "p2", "c4k3s", "p2", 5), "relu", "softmax", "cross-entropy"),
        (("c2k5s", "c3k3", "p2"), "tanh", "softmax", "mse"),
        (("c2k3", "p2", 4), "sigmoid", "sigmoid", "cross-entropy"),
        (("c2k2", "p2", "d0", 3), "leaky-relu", "sigmoid", "mse"),
        (("c8k3", "c3k3s", "p2"), "relu", "softmax", "cross-entropy"),  # k k C = 72: one product for the batch
    ],
)
def test_gradients_match_finite_differences(hidden, activation, output, loss):
    rng = np.random.default_rng(2)
    net = init_convnet(hidden, 3, activation, output, "he", rng=3, dtype=np.float64, input_shape=(10, 10, 1))
    x = rng.random((4, 100))
    t = np.eye(3)[[0, 2, 1, 2]]
    value, _, grads = loss_and_grads(net, x, t, loss)
    grads = [g.copy() for g in grads]

    def f():
        return loss_and_grads(net, x, t, loss)[0]

    for p, g in zip(net.params, grads, strict=True):
        np.testing.assert_allclose(g, _numeric_grad(f, p), rtol=1e-5, atol=1e-8)
    assert value == pytest.approx(forward_loss(net, x, t, loss)[0])


def test_input_gradient_matches_finite_differences():
    rng = np.random.default_rng(4)
    net = init_convnet(("c3k3", "p2", 6), 4, "tanh", "softmax", "glorot", rng=5, dtype=np.float64,
                       input_shape=(8, 8, 1))  # fmt: skip
    x = rng.random((2, 64))
    labels = np.array([1, 3])
    g = log_prob_gradient(net, x, labels)

    def f():
        return sum(np.log(net.forward(x)[np.arange(2), labels]))

    np.testing.assert_allclose(g, _numeric_grad(f, x), rtol=1e-5, atol=1e-8)


def test_dropout_acts_only_in_training_and_scales_what_it_keeps():
    net = init_convnet(("d0.5", 7), 2, dtype=np.float64, rng=0, input_shape=(4, 4, 1))
    x = np.ones((3, 16))
    np.testing.assert_allclose(net.forward(x), net.forward(x))
    _, out1, _ = loss_and_grads(net, x, np.eye(2)[[0, 1, 0]], rng=np.random.default_rng(0))
    out1 = out1.copy()
    _, out2, _ = loss_and_grads(net, x, np.eye(2)[[0, 1, 0]], rng=np.random.default_rng(1))
    assert not np.allclose(out1, out2)


@pytest.mark.parametrize(
    "text,hidden",
    [
        ("512,256", (512, 256)),
        ("c32k3,p2,c64k3,p2,512", ("c32k3", "p2", "c64k3", "p2", 512)),
        (" C32K5S , p2 d0.25 10", ("c32k5s", "p2", "d0.25", 10)),
        ("", ()),
    ],
)
def test_parse_hidden_reads_good_tokens_and_formats_them_back(text, hidden):
    assert parse_hidden(text) == hidden
    assert parse_hidden(format_hidden(hidden)) == hidden
    TrainConfig(hidden=hidden).validate()


@pytest.mark.parametrize(
    "text,words",
    [
        ("c32", "is not a layer"),
        ("c32k3x", "is not a layer"),
        ("p3", "2 x 2 only"),
        ("c8k4s", "odd kernel"),
        ("512,c32k3", "follows a dense layer"),
        ("c8k9,c8k9,c8k9,c8k9", "shrink"),
        ("d1.5", "is not a layer"),
        ("0", "at least 1 unit"),
        ("512;256", "is not a layer"),
    ],
)
def test_parse_hidden_refuses_bad_tokens_with_one_sentence(text, words):
    with pytest.raises(ConfigError) as err:
        parse_hidden(text)
    message = str(err.value)
    assert words in message and "\n" not in message


def test_config_refuses_unnormalised_tokens_and_mlp_only_settings():
    with pytest.raises(ConfigError, match="should be written"):
        TrainConfig(hidden=("C32K3",)).validate()
    with pytest.raises(ConfigError, match="true gradient and biases"):
        TrainConfig(hidden=("c8k3",), use_bias=False).validate()
    config = TrainConfig.from_dict(TrainConfig(hidden=("c8k3", "p2", 32)).to_dict())
    assert config.hidden == ("c8k3", "p2", 32)


def test_looking_inside_names_shapes_and_the_mlp():
    net = init_convnet(("c4k3", "p2", "c6k3s", 16), 10, rng=0)
    x = np.random.default_rng(0).random((3, 784), dtype=np.float32)
    assert is_convolutional(net) and not is_convolutional(init_network([784, 10]))
    assert [f.shape for f in conv_filters(net)] == [(4, 1, 3, 3), (6, 4, 3, 3)]
    maps = feature_maps(net, x)
    assert [(name, a.shape) for name, a in maps] == [
        ("conv 1 (4 x 26 x 26)", (3, 4, 26, 26)),
        ("pool 1 (4 x 13 x 13)", (3, 4, 13, 13)),
        ("conv 2 (6 x 13 x 13)", (3, 6, 13, 13)),
    ]
    assert (maps[0][1] >= 0).all()  # after the ReLU
    hidden = hidden_activations(net, x)
    assert [name for name, _ in hidden][-1] == "dense 1 (16)" and hidden[-1][1].shape == (3, 16)
    mlp = init_network([784, 20, 12, 10], rng=0)
    assert [(n, a.shape) for n, a in hidden_activations(mlp, x)] == [("hidden 1 (20)", (3, 20)),
                                                                     ("hidden 2 (12)", (3, 12))]  # fmt: skip
    assert feature_maps(mlp, x) == [] and conv_filters(mlp) == []
    probs = net.forward(x)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(net.copy().forward(x), probs)
    assert net.astype(np.float64).dtype == np.float64


def test_im2col_buffers_of_the_keras_convnet_at_batch_128():
    net = init_convnet(("c32k3", "p2", "c64k3", "p2", "d0.5"), 10, rng=0)
    assert im2col_bytes(net, 128) == 128 * (26 * 26 * 9 * 1 + 11 * 11 * 9 * 32) * 4  # 20.9 MB
