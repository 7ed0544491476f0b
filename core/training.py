"""Training: the configuration, and the trainer whose `fit_iter()` yields progress after every batch.

One epoch shuffles the training records and cuts them into mini-batches of `batch_size` (1 is Rashid's online
learning, 0 or the set's size is plain gradient descent). Each batch is augmented if asked
(`core.augment.augment_batch`, a chunk of records at a time), its loss and gradients are computed
(`core.network.loss_and_deltas` and `grads_from_deltas`, with L2 added to the gradients; with backprop="rashid"
Rashid's update directions instead of the true gradient, on every path), and the optimizer takes
one step (`core.optimizers`) with the schedule's learning rate. The inputs are scaled once, up front, into one float
array; a batch is gathered from it by a permuted index into preallocated buffers, so the hot loop makes no copies.
At batch size 1 with plain SGD each layer is updated by one in-place BLAS rank-1 update (ger), without forming
gradient arrays.

Reported losses are the data loss (without the L2 term). A loss or gradient that is not finite stops the run with
`DivergenceError` before the step is applied, so `trainer.network` keeps the last good weights. The same seed gives
the same weights and curves.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from core import conv_training
from core.augment import augment_batch
from core.config import ConfigError, TrainConfig  # noqa: F401  (ConfigError is part of this module's API)
from core.convnet import forward_loss as conv_forward_loss
from core.convnet import is_convolutional
from core.events import BatchEvent, EpochEvent  # noqa: F401  (part of this module's API)
from core.layer_spec import is_layered
from core.network import (
    Network,
    Workspace,
    forward_loss,
    grads_from_deltas,
    init_network,
    loss_and_deltas,
)
from core.optimizers import Schedule, make_optimizer, sgd_rank_one_update
from core.preprocess import background_value, encode_targets, fit_scaling, scale_inputs
from core.threads import BlasThreads
from core.training_record import TrainingRecord


class DivergenceError(RuntimeError):
    """The loss became NaN or infinite; the message names the epoch and batch and suggests a lower learning rate."""


class Trainer:
    """Trains a network on a dataset (anything with uint8 train_images/test_images (N, H, W), labels and
    class_names, such as `core.datasets.Dataset`). Pass `network` to continue training from given weights
    (they are copied; its layer sizes, activation, output and biases must match the config)."""

    def __init__(
        self, config: TrainConfig, dataset, network: Network | None = None, reserve_cores: float = 0.0
    ):
        config.validate()
        self.reserve_cores = reserve_cores  # cores the BLAS threads leave free (the app's GUI thread)
        self.config = config
        self.dataset = dataset
        dtype = np.dtype(config.dtype)
        limit = config.train_limit or None
        images = np.asarray(dataset.train_images)[:limit]
        if len(images) == 0:
            raise ConfigError(
                f"The dataset {getattr(dataset, 'name', '')!r} has no training images; choose one that does."
            )
        self.image_shape = images.shape[1:]
        self.n_classes = len(dataset.class_names)
        self.preprocessing = fit_scaling(images, config.scaling)
        self.background = background_value(config.scaling, self.preprocessing)
        self._x = scale_inputs(images, config.scaling, self.preprocessing, dtype)
        self._y = np.asarray(dataset.train_labels)[:limit].astype(np.intp)
        self._target_table = encode_targets(np.arange(self.n_classes), self.n_classes, config.targets, dtype)
        test_images = np.asarray(dataset.test_images)
        if len(test_images):
            self._x_test = scale_inputs(test_images, config.scaling, self.preprocessing, dtype)
            self._y_test = np.asarray(dataset.test_labels).astype(np.intp)
        else:
            self._x_test = self._y_test = None
        top = max(int(y.max()) if y is not None and y.size else 0 for y in (self._y, self._y_test))
        if top >= self.n_classes:
            raise ConfigError(
                f"The dataset has labels up to {top} but only {self.n_classes} class names; fix its labels."
            )
        sizes = [self._x.shape[1], *config.hidden, self.n_classes]
        init_seed, self._order_seed, self._noise_seed = np.random.SeedSequence(config.seed).spawn(3)
        if is_layered(config.hidden):  # a convolutional network (core.conv_training)
            network = (conv_training.new_network(config, self.n_classes, self.image_shape, np.random.default_rng(init_seed), dtype)
                       if network is None else conv_training.check_network(network, config, self.n_classes, self.image_shape))  # fmt: skip
        elif network is None:
            network = init_network(
                sizes,
                config.activation,
                config.output,
                config.init,
                config.use_bias,
                np.random.default_rng(init_seed),
                dtype,
            )
        else:
            _check_network(network, sizes, config)
            network = network.astype(dtype)
        self.network: Network = network
        self._augmenting = config.augment != "off" or config.shift > 0 or config.elastic > 0
        self.history: list[dict] = []
        self._x_buf = None  # where batches are gathered
        self._stop_requested = False
        # each training image's probability of its label at every epoch, from the training pass's own outputs
        self.record = TrainingRecord(self._y, self.n_classes)
        self._rows = None  # the training-split indices of the batch being trained (`_epoch_batches`)

    def stop(self) -> None:
        """Ask `fit_iter` to end after the current batch, handing over the weights trained so far as a last,
        partial EpochEvent (its test figures with those weights). Safe to call from another thread."""
        self._stop_requested = True

    # --- evaluation ---

    def evaluate(self, split: str = "test") -> dict | None:
        """{"loss", "accuracy"} of the current weights on the "test" or "train" split (None if it is empty)."""
        x, y = (self._x_test, self._y_test) if split == "test" else (self._x, self._y)
        if x is None:
            return None
        with np.errstate(over="ignore", invalid="ignore"):
            loss_fn = conv_forward_loss if is_convolutional(self.network) else forward_loss
            loss, outputs = loss_fn(self.network, x, self._target_table[y], self.config.loss)
        return {"loss": float(loss), "accuracy": float(np.mean(np.argmax(outputs, axis=1) == y))}

    def fit(self) -> list[dict]:
        """Train to the end; return the history."""
        for _ in self.fit_iter():
            pass
        return self.history

    # --- the loop ---

    def fit_iter(self) -> Iterator[BatchEvent | EpochEvent]:
        """Train, yielding a BatchEvent after every batch and an EpochEvent at the end of every epoch.

        An EpochEvent's train loss and accuracy are the running averages over the epoch's batches (each computed
        before that batch's update, with dropout), not a separate pass over the training set; its test numbers are
        a full pass over the test set with the epoch's final weights. The consumer may stop at any yield (`close()`
        the generator): `network` then holds the weights after the last completed batch. Raises DivergenceError if
        the loss or a gradient becomes NaN or infinite; `network` then holds the last good weights.
        """
        with BlasThreads(self._largest_product(), self.config.threads, self.reserve_cores) as blas:
            yield from self._run(blas)

    def _largest_product(self) -> int:
        """Multiply-adds in a batch's largest matrix product: what decides whether BLAS threads can pay."""
        n = len(self._x) * (3 if self.config.augment == "rashid" else 1)
        batch = min(self.config.batch_size or n, n, _CHUNK)
        if is_convolutional(self.network):
            return conv_training.largest_product(self.network, batch)
        sizes = self.network.layer_sizes
        return max(batch * a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))

    def _run(self, blas: BlasThreads):
        cfg = self.config
        n_samples = len(self._x) * (3 if cfg.augment == "rashid" else 1)
        batch_size = min(cfg.batch_size or n_samples, n_samples)
        batches = -(-n_samples // batch_size)
        total = batches * cfg.epochs
        schedule = Schedule(
            cfg.schedule, cfg.lr, batches, total, cfg.lr_decay, cfg.lr_decay_epochs, cfg.lr_min
        )
        loop = self._buffers(batch_size)
        order_rng = np.random.default_rng(self._order_seed)
        noise_rng = np.random.default_rng(self._noise_seed)
        step, seen, active = 0, 0, 0.0
        resumed = time.perf_counter()
        for epoch in range(1, cfg.epochs + 1):
            epoch_start, loss_sum, correct_sum, epoch_seen = active, 0.0, 0.0, 0
            for b, (x, y) in enumerate(self._epoch_batches(batch_size, order_rng, noise_rng)):
                lr = schedule(step)
                loss, correct = self._train_batch(loop, x, y, lr, noise_rng, (epoch, b + 1))
                n = len(y)
                step, seen, epoch_seen = step + 1, seen + n, epoch_seen + n
                loss_sum += loss * n
                correct_sum += correct
                now = time.perf_counter()
                active += now - resumed
                yield BatchEvent(epoch, b + 1, batches, loss, correct / n, lr, seen, active, total,
                                 loss_sum / epoch_seen, correct_sum / epoch_seen, blas.update(now))  # fmt: skip
                resumed = time.perf_counter()
                if self._stop_requested and b + 1 < batches:  # stopped mid-epoch: hand over what it has
                    x = epoch - 1 + (b + 1) / batches
                    yield self._end_epoch(epoch, loss_sum, correct_sum, epoch_seen, epoch_start, active, resumed, lr, x)
                    return
            event = self._end_epoch(epoch, loss_sum, correct_sum, epoch_seen, epoch_start, active, resumed, lr)
            active = event.elapsed
            yield event
            if self._stop_requested:
                return
            resumed = time.perf_counter()

    def _buffers(self, batch_size: int) -> _Loop:
        """What every batch reuses: the optimizer, the workspace, the gradient arrays, the targets' buffer."""
        cfg, net = self.config, self.network
        optimizer = make_optimizer(cfg.optimizer, cfg.momentum, cfg.rho, cfg.beta1, cfg.beta2, cfg.eps)
        if is_convolutional(net):  # its buffers and gradients: core.conv_training.ConvStep
            step = conv_training.ConvStep(net, batch_size)
            return _Loop(optimizer, step, step.grads, net.params, np.empty((batch_size, self.n_classes), net.dtype), False)
        ws = Workspace(net.layer_sizes, min(batch_size, _CHUNK), net.dtype, net.use_bias, cfg.dropout > 0)
        grads = ws.grads_W + [g for g in ws.grads_b if g is not None]
        if batch_size > _CHUNK:  # big batches are computed a chunk at a time and their gradients summed
            grads = [np.empty_like(g) for g in grads]
        return _Loop(optimizer=optimizer, workspace=ws, grads=grads,
                     params=net.weights + [b for b in net.biases if b is not None],
                     targets=np.empty((batch_size, self.n_classes), net.dtype),
                     online_sgd=batch_size == 1 and cfg.optimizer == "sgd")  # fmt: skip

    def _train_batch(self, loop: _Loop, x, y, lr: float, rng, where) -> tuple[float, int]:
        """One update from the batch (x, y): its loss (before the update) and how many it got right. Raises
        DivergenceError, before the update, if the loss or a gradient is not finite (`where`: epoch, batch)."""
        cfg, net, ws = self.config, self.network, loop.workspace
        t = np.take(self._target_table, y, axis=0, out=loop.targets[: len(y)])
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is caught just below
            if loop.online_sgd:  # Rashid's online learning: no gradient arrays, one rank-1 update per layer
                loss, inputs, deltas, out = loss_and_deltas(net, x, t, cfg.loss, cfg.dropout, rng, ws, cfg.backprop)
                finite = math.isfinite(loss) and _outer_products_finite(inputs, deltas)
                correct = int(out[0].argmax() == y[0])
                self.record.observe(self._rows, out)
            else:
                loss, correct = self._gradients(x, y, t, rng, ws, loop.grads)
                finite = math.isfinite(loss) and _finite(loop.grads)
        if not finite:
            raise DivergenceError(_divergence_message(*where, loss, lr))
        if loop.online_sgd:
            sgd_rank_one_update(net.weights, net.biases, inputs, deltas, lr, cfg.l2)
        else:
            loop.optimizer.step(loop.params, loop.grads, lr)
        return loss, correct

    def _end_epoch(self, epoch, loss_sum, correct_sum, seen, epoch_start, active, resumed, lr, x=None):
        """The epoch's EpochEvent, appended to the history: the running train figures over its `seen` samples,
        the test split with the weights now, and its times (`active` training seconds before the last resume).
        With `x` (epochs trained, e.g. 1.33) it is the partial epoch of a stopped run."""
        train_seconds = active + time.perf_counter() - resumed - epoch_start
        test = self.evaluate("test")
        elapsed = active + time.perf_counter() - resumed
        event = EpochEvent(
            epoch=epoch,
            epochs=self.config.epochs,
            train_loss=loss_sum / seen,
            train_accuracy=correct_sum / seen,
            test_loss=None if test is None else test["loss"],
            test_accuracy=None if test is None else test["accuracy"],
            epoch_seconds=elapsed - epoch_start,
            elapsed=elapsed,
            samples_per_second=seen / train_seconds if train_seconds > 0 else 0.0,
            network=self.network.copy(),
            lr=lr,
            partial=x is not None,
            x=float(epoch if x is None else x),
            dynamics=self.record.end_epoch(epoch),
        )
        self.history.append(event.as_dict())
        return event

    def _gradients(self, x, y, t, rng, ws, grads):
        """Fill `grads` with the batch's gradients (L2 included); return its mean data loss and how many it got
        right. A batch bigger than the workspace is done a chunk at a time, the chunks' gradients weighted by
        their share of the batch."""
        cfg, net, n = self.config, self.network, len(y)
        if isinstance(ws, conv_training.ConvStep):
            observe = lambda out, part=None: self.record.observe(self._rows, out, part)  # noqa: E731
            return ws.gradients(net, x, y, t, rng, cfg.loss, cfg.l2, observe)
        if n <= ws.batch:
            loss, inputs, deltas, out = loss_and_deltas(
                net, x, t, cfg.loss, cfg.dropout, rng, ws, cfg.backprop
            )
            grads_from_deltas(net, inputs, deltas, cfg.l2, ws)
            self.record.observe(self._rows, out)
            return loss, int(np.count_nonzero(out.argmax(1) == y))
        total_loss, correct = 0.0, 0
        chunk_grads = ws.grads_W + [g for g in ws.grads_b if g is not None]
        for start in range(0, n, ws.batch):
            part = slice(start, start + ws.batch)
            loss, inputs, deltas, out = loss_and_deltas(
                net, x[part], t[part], cfg.loss, cfg.dropout, rng, ws, cfg.backprop
            )
            grads_from_deltas(net, inputs, deltas, 0.0, ws)
            self.record.observe(self._rows, out, part)
            share = len(out) / n
            for g, c in zip(grads, chunk_grads, strict=True):
                if start == 0:
                    np.multiply(c, share, out=g)
                else:
                    c *= share
                    g += c
            total_loss += loss * share
            correct += int(np.count_nonzero(out.argmax(1) == y[part]))
        if cfg.l2 > 0:
            for g, w in zip(grads, net.weights, strict=False):  # the weights come first in `grads`
                g += cfg.l2 * w
        return total_loss, correct

    def _epoch_batches(self, batch_size, order_rng, noise_rng):
        """(inputs, labels) of each batch of one epoch: a shuffled pass over the records, augmented if asked.

        Without augmentation a batch is gathered by index into a preallocated buffer. With it, records are
        augmented a chunk at a time (a whole number of batches, so no batch straddles two chunks); Rashid's scheme
        expands each record into three consecutive samples.
        """
        cfg = self.config
        n = len(self._x)
        order = order_rng.permutation(n) if cfg.shuffle else np.arange(n)
        if not self._augmenting and batch_size >= n:  # plain gradient descent: the order does not matter
            self._rows = np.arange(n)
            yield self._x, self._y
            return
        if not self._augmenting:
            if self._x_buf is None or len(self._x_buf) < batch_size:
                self._x_buf = np.empty((batch_size, self._x.shape[1]), self._x.dtype)
            x_buf = self._x_buf
            for lo in range(0, n, batch_size):
                idx = self._rows = order[lo : lo + batch_size]
                yield np.take(self._x, idx, axis=0, out=x_buf[: len(idx)]), self._y[idx]
            return
        copies = 3 if cfg.augment == "rashid" else 1
        h, w = self.image_shape
        per_chunk = batch_size * max(1, -(-_AUGMENT_CHUNK // batch_size))  # records; a multiple of batch_size
        for start in range(0, n, per_chunk):
            idx = order[start : start + per_chunk]
            parts = [
                augment_batch(
                    self._x[idx[k : k + _AUGMENT_CHUNK]].reshape(-1, h, w), cfg, noise_rng, self.background
                )
                for k in range(0, len(idx), _AUGMENT_CHUNK)
            ]
            x = (parts[0] if len(parts) == 1 else np.concatenate(parts)).reshape(-1, h * w)
            y = np.repeat(self._y[idx], copies) if copies > 1 else self._y[idx]
            rows = np.repeat(idx, copies) if copies > 1 else idx
            for lo in range(0, len(x), batch_size):
                self._rows = rows[lo : lo + batch_size]
                yield x[lo : lo + batch_size], y[lo : lo + batch_size]


@dataclass
class _Loop:
    """The training loop's reused objects (`Trainer._buffers`)."""

    optimizer: object
    workspace: Workspace
    grads: list
    params: list
    targets: np.ndarray
    online_sgd: bool


_AUGMENT_CHUNK = 512  # records augmented per call
_CHUNK = 4096  # the largest batch computed in one piece; bigger ones are summed chunk by chunk


def _divergence_message(epoch, batch, loss, lr) -> str:
    what = (
        "the loss became infinite"
        if math.isinf(loss)
        else "the loss became NaN"
        if math.isnan(loss)
        else "a gradient became infinite or NaN"
    )
    return f"Training diverged at epoch {epoch}, batch {batch}: {what}. Try a learning rate ten times smaller ({lr / 10:g})."


def _outer_products_finite(inputs, deltas) -> bool:
    """True if every a_i d_i^T is finite: |a_j d_k| <= |a| |d|, so a finite, small-enough product of norms suffices."""
    for a, d in zip(inputs, deltas, strict=True):
        bound = float(np.vdot(a, a)) * float(np.vdot(d, d))
        if not bound < 1e70:  # (3.4e38)^2 is float32's limit for the squared product; NaN fails too
            return False
    return True


def _finite(arrays) -> bool:
    """True if every array is finite: one inf or NaN makes the sum inf or NaN (one pass each, no copies)."""
    return all(math.isfinite(float(a.sum())) for a in arrays)


def _check_network(network: Network, sizes: list[int], config: TrainConfig) -> None:
    if network.layer_sizes != list(sizes):
        raise ConfigError(
            f"The given network's layer sizes {network.layer_sizes} do not match the config's {sizes}; train a new network or change hidden."
        )
    if network.activation != config.activation or network.output != config.output:
        raise ConfigError(
            f"The given network uses {network.activation}/{network.output} but the config says {config.activation}/{config.output}; make them agree."
        )
    if network.use_bias != config.use_bias:
        raise ConfigError(
            f"The given network {'has' if network.use_bias else 'has no'} biases but the config's use_bias is {config.use_bias}; make them agree."
        )
