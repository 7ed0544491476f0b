"""The trainer on real MNIST subsets: it learns, it is reproducible, it stops cleanly (a stopped run hands over its
partial epoch), it catches divergence. TrainConfig's own checks are in test_config.py."""

import json
import math

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from core.datasets import Dataset, load
from core.network import forward_loss
from core.training import BatchEvent, ConfigError, DivergenceError, EpochEvent, TrainConfig, Trainer


@pytest.fixture(scope="module")
def mnist():
    return load("mnist")


def subset(ds, n_train, n_test=500):
    return Dataset(
        name="mnist-subset",
        class_names=ds.class_names,
        train_images=ds.train_images[:n_train],
        train_labels=ds.train_labels[:n_train],
        test_images=ds.test_images[:n_test],
        test_labels=ds.test_labels[:n_test],
        source=ds.source,
    )


def config(**settings):
    """A TrainConfig for tests: one BLAS thread (correctness needs no more, and shared machines stay quick)."""
    settings.setdefault("threads", 1)
    return TrainConfig(**settings)


def run(trainer):
    events = list(trainer.fit_iter())
    return [e for e in events if isinstance(e, BatchEvent)], [e for e in events if isinstance(e, EpochEvent)]


@pytest.mark.parametrize(
    "settings",
    [
        dict(hidden=(64,), optimizer="rmsprop", lr=0.001, batch_size=32, epochs=3),  # Keras-like
        dict(
            hidden=(50,),
            activation="sigmoid",
            output="sigmoid",
            loss="mse",
            use_bias=False,
            init="rashid",
            optimizer="sgd",
            lr=0.1,
            batch_size=1,
            epochs=1,
            scaling="rashid",
            targets="rashid",
        ),  # Rashid's, online
        dict(
            hidden=(32, 32),
            activation="tanh",
            optimizer="adam",
            lr=0.002,
            batch_size=16,
            epochs=2,
            dropout=0.1,
            l2=1e-4,
        ),
    ],
)
def test_a_few_hundred_steps_lower_the_loss_and_raise_the_accuracy(mnist, settings):
    data = subset(mnist, 2000)
    trainer = Trainer(config(**settings), data)
    before = trainer.evaluate("test")
    batches, epochs = run(trainer)
    assert len(batches) >= 150
    after = trainer.evaluate("test")
    assert after["loss"] < 0.8 * before["loss"]
    assert before["accuracy"] < 0.3 and after["accuracy"] > 0.6
    first = np.mean([b.loss for b in batches[:20]])
    last = np.mean([b.loss for b in batches[-20:]])
    assert last < 0.7 * first
    assert epochs[-1].test_accuracy == pytest.approx(after["accuracy"])
    assert len(trainer.history) == len(epochs) == settings["epochs"]
    h = trainer.history[-1]
    assert h["epoch"] == settings["epochs"] and h["test_loss"] == pytest.approx(after["loss"])
    json.dumps(trainer.history)  # plain numbers


def test_events_count_batches_samples_and_running_averages(mnist):
    data = subset(mnist, 1000)
    trainer = Trainer(config(hidden=(16,), batch_size=300, epochs=2), data)
    batches, epochs = run(trainer)
    assert [(b.epoch, b.batch, b.batches, b.total_batches) for b in batches[:5]] == [
        (1, 1, 4, 8),
        (1, 2, 4, 8),
        (1, 3, 4, 8),
        (1, 4, 4, 8),
        (2, 1, 4, 8),
    ]
    assert [b.samples_seen for b in batches] == [300, 600, 900, 1000, 1300, 1600, 1900, 2000]
    # the last batch is short (100): the running average weighs batches by their size
    first_epoch = batches[:4]
    expected = sum(b.loss * n for b, n in zip(first_epoch, (300, 300, 300, 100), strict=True)) / 1000
    assert first_epoch[-1].running_loss == pytest.approx(expected)
    assert epochs[0].train_loss == pytest.approx(expected)
    assert epochs[0].train_accuracy == pytest.approx(first_epoch[-1].running_accuracy)
    assert all(b.lr == 0.001 for b in batches)
    assert all(b2.elapsed >= b1.elapsed for b1, b2 in zip(batches, batches[1:], strict=False))
    assert epochs[1].samples_per_second > 0 and epochs[1].epoch_seconds > 0


def test_whole_set_batches_are_plain_gradient_descent(mnist):
    trainer = Trainer(
        config(hidden=(10,), init="he", optimizer="sgd", lr=0.5, batch_size=0, epochs=30),
        subset(mnist, 500),
    )
    batches, _ = run(trainer)
    assert len(batches) == 30 and all(b.batches == 1 for b in batches)
    losses = [b.loss for b in batches]
    assert losses[-1] < 0.6 * losses[0]


def test_the_same_seed_gives_the_same_weights_and_curves(mnist):
    data = subset(mnist, 600)
    settings = dict(
        hidden=(20,), batch_size=50, epochs=2, dropout=0.2, augment="random", rotate=15.0, shift=2
    )
    runs = []
    for seed in (3, 3, 4):
        trainer = Trainer(config(seed=seed, **settings), data)
        batches, _ = run(trainer)
        runs.append((trainer.network, [b.loss for b in batches]))
    (a, la), (b, lb), (c, lc) = runs
    assert la == lb and la != lc
    for u, v in zip(a.weights + a.biases, b.weights + b.biases, strict=True):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a.weights[0], c.weights[0])


def test_rashid_augmentation_triples_the_epoch(mnist):
    data = subset(mnist, 100)
    plain = Trainer(config(hidden=(10,), batch_size=32, epochs=1), data)
    tripled = Trainer(config(hidden=(10,), batch_size=32, epochs=1, augment="rashid", rotate=10.0), data)
    (pb, _), (tb, te) = run(plain), run(tripled)
    assert pb[-1].samples_seen == 100 and len(pb) == 4
    assert tb[-1].samples_seen == 300 and len(tb) == 10 and tb[0].batches == 10
    assert te[0].train_accuracy * 300 == pytest.approx(round(te[0].train_accuracy * 300))


def test_online_learning_with_the_true_gradient_makes_the_hand_computed_update(mnist):
    # batch 1, SGD, sigmoid + squared error, no biases, backprop "gradient" (the default):
    # W += lr * ((t - o) o (1 - o)) a^T, layer by layer (Rashid's own rule: tests/core/test_rashid_backprop.py)
    data = subset(mnist, 1)
    cfg = config(
        hidden=(8,),
        activation="sigmoid",
        output="sigmoid",
        loss="mse",
        use_bias=False,
        init="rashid",
        optimizer="sgd",
        lr=0.1,
        batch_size=1,
        epochs=1,
        scaling="rashid",
        targets="rashid",
    )
    trainer = Trainer(cfg, data)
    w_ih, w_ho = (
        w.astype(np.float64).T for w in trainer.network.weights
    )  # Rashid's (outputs, inputs) layout
    inputs = (data.train_images[0].reshape(-1, 1) / 255.0 * 0.99) + 0.01
    targets = np.full((10, 1), 0.01)
    targets[data.train_labels[0]] = 0.99
    hidden = 1 / (1 + np.exp(-(w_ih @ inputs)))
    final = 1 / (1 + np.exp(-(w_ho @ hidden)))
    output_errors = targets - final
    # the true gradient sends back the output's o (1 - o) too; Rashid's book (backprop="rashid") leaves it out
    hidden_errors = w_ho.T @ (output_errors * final * (1 - final))
    w_ho += 0.1 * (output_errors * final * (1 - final)) @ hidden.T
    w_ih += 0.1 * (hidden_errors * hidden * (1 - hidden)) @ inputs.T
    run(trainer)
    np.testing.assert_allclose(trainer.network.weights[0].T, w_ih, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(trainer.network.weights[1].T, w_ho, rtol=1e-4, atol=1e-6)


DIVERGING = dict(
    hidden=(64, 64),
    activation="relu",
    init="he",
    scaling="standard",
    optimizer="sgd",
    lr=1000.0,
    batch_size=32,
    epochs=2,
)


def test_a_diverging_run_stops_naming_epoch_and_batch_and_keeps_the_last_good_weights(mnist):
    trainer = Trainer(config(**DIVERGING), subset(mnist, 2000))
    last_good, last_batch = None, None
    with pytest.raises(DivergenceError) as caught:
        for event in trainer.fit_iter():
            last_good, last_batch = trainer.network.copy(), event.batch
    message = str(caught.value)
    assert last_batch is not None
    assert f"Training diverged at epoch 1, batch {last_batch + 1}:" in message
    assert "learning rate ten times smaller" in message and ("infinite" in message or "NaN" in message)
    assert "\n" not in message
    for w, good in zip(
        trainer.network.weights + trainer.network.biases, last_good.weights + last_good.biases, strict=True
    ):
        assert np.all(np.isfinite(w))
        np.testing.assert_array_equal(w, good)


def test_closing_the_generator_early_leaves_a_usable_network(mnist):
    data = subset(mnist, 1000)
    trainer = Trainer(config(hidden=(32,), batch_size=50, epochs=3, threads=1), data)
    before = [lim["num_threads"] for lim in threadpool_info() if lim["user_api"] == "blas"]
    gen = trainer.fit_iter()
    for event in gen:
        if event.batch == 5:
            assert [lim["num_threads"] for lim in threadpool_info() if lim["user_api"] == "blas"] == [
                1
            ] * len(before)
            break
    gen.close()
    assert [lim["num_threads"] for lim in threadpool_info() if lim["user_api"] == "blas"] == before
    assert all(np.all(np.isfinite(w)) for w in trainer.network.weights)
    assert trainer.network.predict(trainer._x[:10]).shape == (10,)
    assert trainer.history == []
    result = trainer.evaluate()
    assert 0 <= result["accuracy"] <= 1 and math.isfinite(result["loss"])
    trainer.fit()  # and it can go on
    assert len(trainer.history) == 3


def test_training_further_starts_from_the_given_weights_without_changing_them(mnist):
    data = subset(mnist, 500)
    cfg = config(hidden=(16,), batch_size=50, epochs=1)
    first = Trainer(cfg, data)
    first.fit()
    given = first.network.copy()
    further = Trainer(cfg, data, network=given)
    assert further.evaluate() == first.evaluate()
    further.fit()
    np.testing.assert_array_equal(
        given.weights[0], first.network.weights[0]
    )  # the caller's copy is untouched
    assert not np.array_equal(further.network.weights[0], given.weights[0])
    with pytest.raises(ConfigError, match="layer sizes"):
        Trainer(config(hidden=(17,)), data, network=given)
    with pytest.raises(ConfigError, match="biases"):
        Trainer(config(hidden=(16,), use_bias=False), data, network=given)


def test_no_test_split_gives_none_and_train_limit_takes_the_first_images(mnist):
    data = subset(mnist, 400, n_test=0)
    trainer = Trainer(config(hidden=(8,), batch_size=100, epochs=1, train_limit=300), data)
    assert len(trainer._x) == 300
    np.testing.assert_array_equal(trainer._x[5], data.train_images[5].reshape(-1) / np.float32(255))
    _, epochs = run(trainer)
    assert epochs[0].test_loss is None and epochs[0].test_accuracy is None
    assert trainer.evaluate("test") is None


def test_float64_and_epoch_snapshots_are_copies(mnist):
    trainer = Trainer(config(hidden=(8,), batch_size=100, epochs=2, dtype="float64"), subset(mnist, 300))
    _, epochs = run(trainer)
    assert trainer.network.weights[0].dtype == np.float64
    assert not np.array_equal(epochs[0].network.weights[0], epochs[1].network.weights[0])
    np.testing.assert_array_equal(epochs[1].network.weights[0], trainer.network.weights[0])
    loss, _ = forward_loss(epochs[1].network, trainer._x_test, trainer._target_table[trainer._y_test])
    assert epochs[1].test_loss == pytest.approx(loss)


@pytest.mark.parametrize("schedule", ["step", "exponential", "cosine"])
def test_schedules_reach_the_events(mnist, schedule):
    trainer = Trainer(
        config(hidden=(8,), batch_size=100, epochs=2, lr=0.01, schedule=schedule, lr_decay=0.5),
        subset(mnist, 200),
    )
    batches, _ = run(trainer)
    lrs = [b.lr for b in batches]
    assert lrs[0] == 0.01 and lrs[-1] < 0.01
    if schedule == "step":
        assert lrs == [0.01, 0.01, 0.005, 0.005]


def test_a_dataset_without_training_images_is_refused(mnist):
    with pytest.raises(ConfigError, match="no training images"):
        Trainer(config(), subset(mnist, 0))


def test_automatic_threads_use_one_blas_thread_for_small_batches(mnist, monkeypatch):
    import core.threads

    monkeypatch.setattr(core.threads, "runnable_others", lambda: 0.0)  # a quiet machine at the start

    def blas_threads_during(cfg):
        gen = Trainer(cfg, subset(mnist, 300)).fit_iter()
        next(gen)
        inside = {lim["num_threads"] for lim in threadpool_info() if lim["user_api"] == "blas"}
        gen.close()
        return inside

    default = {lim["num_threads"] for lim in threadpool_info() if lim["user_api"] == "blas"}
    assert blas_threads_during(TrainConfig(hidden=(200,), batch_size=1, threads=0)) == {1}
    assert blas_threads_during(TrainConfig(hidden=(512,), batch_size=128, threads=0)) == default
    assert blas_threads_during(TrainConfig(hidden=(512,), batch_size=128, threads=2)) == {2}
    monkeypatch.setattr(core.threads, "runnable_others", lambda: 1.0)  # one other program busy at the start
    assert blas_threads_during(TrainConfig(hidden=(512,), batch_size=128, threads=0)) == {1}
    assert blas_threads_during(TrainConfig(hidden=(512,), batch_size=128, threads=2)) == {2}


def test_labels_beyond_the_class_names_are_refused(mnist):
    data = subset(mnist, 50)
    data.class_names = data.class_names[:5]  # labels go up to 9
    with pytest.raises(ConfigError, match="labels up to 9 but only 5 class names"):
        Trainer(TrainConfig(), data)


@pytest.mark.parametrize(
    "settings",
    [
        dict(optimizer="sgd", batch_size=1, dropout=0.3, l2=1e-3, use_bias=True, activation="tanh"),
        dict(
            optimizer="momentum",
            batch_size=1,
            activation="leaky-relu",
            output="sigmoid",
            loss="cross-entropy",
        ),
        dict(optimizer="nesterov", batch_size=7, schedule="cosine", output="softmax", loss="mse"),
        dict(optimizer="adam", batch_size=0, augment="rashid", rotate=10.0, scaling="standard"),
        dict(optimizer="rmsprop", batch_size=1, augment="random", rotate=30.0, shift=2, elastic=34.0),
        dict(optimizer="sgd", batch_size=5, augment="rashid", rotate=5.0, targets="rashid", dtype="float64"),
    ],
)
def test_every_path_of_the_loop_runs_and_stays_finite(mnist, settings):
    data = subset(mnist, 40, n_test=20)
    trainer = Trainer(config(hidden=(12, 6), epochs=2, lr=0.01, **settings), data)
    batches, epochs = run(trainer)
    copies = 3 if settings.get("augment") == "rashid" else 1
    assert batches[-1].samples_seen == 2 * 40 * copies
    assert all(math.isfinite(b.loss) for b in batches) and len(epochs) == 2
    assert all(np.all(np.isfinite(w)) for w in trainer.network.weights)


def test_batches_bigger_than_a_chunk_sum_their_chunks_gradients_exactly(mnist):
    from core.network import Workspace, loss_and_grads

    trainer = Trainer(
        config(hidden=(20,), batch_size=0, l2=1e-3, dropout=0.0, dtype="float64"), subset(mnist, 5000)
    )
    net = trainer.network
    x, y = trainer._x, trainer._y
    t = trainer._target_table[y]
    ws = Workspace(net.layer_sizes, 1000, net.dtype, True)  # five chunks
    grads = [np.empty_like(g) for g in ws.grads_W + ws.grads_b]
    loss, correct = trainer._gradients(x, y, t, None, ws, grads)
    whole_loss, gw, gb, out = loss_and_grads(net, x, t, "cross-entropy", l2=0.0)
    assert loss == pytest.approx(whole_loss, rel=1e-12)
    assert correct == np.count_nonzero(out.argmax(1) == y)
    for g, expected in zip(
        grads, [gw[0] + 1e-3 * net.weights[0], gw[1] + 1e-3 * net.weights[1], *gb], strict=True
    ):
        np.testing.assert_allclose(g, expected, rtol=1e-10, atol=1e-15)


def test_a_run_stopped_mid_epoch_hands_over_its_partial_epoch(mnist):
    data = subset(mnist, 600)
    trainer = Trainer(config(hidden=(32,), batch_size=50, epochs=3), data)  # 12 batches an epoch
    events = []
    for event in trainer.fit_iter():
        events.append(event)
        if isinstance(event, BatchEvent) and event.epoch == 2 and event.batch == 4:
            trainer.stop()
    last = events[-1]
    assert isinstance(last, EpochEvent) and last.partial and last.epoch == 2
    assert last.x == pytest.approx(1 + 4 / 12)
    assert sum(isinstance(e, BatchEvent) for e in events) == 12 + 4  # nothing trained after the stop
    # its figures: the running means of the epoch's 4 batches, the test split with the weights now
    batches = [e for e in events if isinstance(e, BatchEvent) and e.epoch == 2]
    assert last.train_loss == pytest.approx(np.mean([b.loss for b in batches]))
    assert last.test_accuracy == pytest.approx(trainer.evaluate("test")["accuracy"])
    for w, kept in zip(trainer.network.weights, last.network.weights, strict=True):
        np.testing.assert_array_equal(w, kept)
    assert trainer.history[-1]["partial"] == 1 and trainer.history[-1]["x"] == pytest.approx(4 / 3)
    assert "partial" not in trainer.history[0] and len(trainer.history) == 2


def test_a_stop_at_an_epoch_end_adds_no_partial_epoch(mnist):
    trainer = Trainer(config(hidden=(32,), batch_size=50, epochs=3), subset(mnist, 600))
    events = []
    for event in trainer.fit_iter():
        events.append(event)
        if isinstance(event, BatchEvent) and event.batch == event.batches and event.epoch == 1:
            trainer.stop()  # during the last batch: the epoch ends whole, then the run
    assert isinstance(events[-1], EpochEvent) and not events[-1].partial and events[-1].x == 1.0
    assert len(trainer.history) == 1 and "partial" not in trainer.history[0]
