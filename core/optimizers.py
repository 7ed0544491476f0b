"""Optimizers (SGD, momentum, Nesterov, RMSprop, Adam) and learning-rate schedules.

Each optimizer updates its parameters in place from their gradients g, following Keras' update rules and defaults:

    sgd        w -= lr g
    momentum   v = m v - lr g;  w += v                                    (m = 0.9)
    nesterov   v = m v - lr g;  w += m v - lr g                           (Sutskever's form, as Keras)
    rmsprop    v = rho v + (1 - rho) g^2;  w -= lr g / (sqrt(v) + eps)    (rho = 0.9, eps = 1e-7)
    adam       m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  t += 1
               w -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)  (b1 = 0.9, b2 = 0.999, eps = 1e-7)

All state starts at zero. Adam's bias correction is folded into the step size, as Keras and the Adam paper's
"efficient version" do. The updates run in place with preallocated buffers, so a step makes no temporary
arrays. At batch size 1, plain SGD can skip the gradient arrays altogether (`sgd_rank_one_update`).

A schedule gives the learning rate for update number `step` (0-based), with E = steps per epoch:

    constant      lr
    step          lr * decay ** floor(step / (E * decay_epochs))          drops at epoch boundaries
    exponential   lr * decay ** (step / (E * decay_epochs))               the same, smoothly
    cosine        min_lr + (lr - min_lr) (1 + cos(pi * step / total)) / 2   from lr down to min_lr at the end
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam")
SCHEDULES = ("constant", "step", "exponential", "cosine")


def _axpy(a: float, x: np.ndarray, y: np.ndarray, tmp: np.ndarray) -> None:
    """y += a * x in place, through the buffer `tmp`. (NumPy rather than BLAS axpy: OpenBLAS runs axpy on several
    threads for large arrays, which costs more than it saves, and far more when the cores are busy.)"""
    np.multiply(x, a, out=tmp)
    y += tmp


class Optimizer(ABC):
    """Base class: `step(params, grads, lr)` updates each array of `params` in place.

    A subclass says how many state arrays each parameter needs (`n_state`, zeros, made on the first step; a
    scratch buffer included) and gives the elementwise update of one parameter (`_update(p, g, *state)`, reading
    the step's scalars from `self`). (Splitting big parameters into blocks updated on two threads was tried: on
    two cores it was 10% slower, as OpenBLAS's threads still spin on the second core after each product.)"""

    n_state = 1  # state arrays per parameter (a scratch buffer included)

    def step(self, params: list[np.ndarray], grads: list[np.ndarray], lr: float) -> None:
        """Apply one update with learning rate `lr`."""
        if getattr(self, "_state", None) is None:
            self._state = [tuple(np.zeros_like(p) for _ in range(self.n_state)) for p in params]
        self._prepare(lr)
        for p, g, state in zip(params, grads, self._state, strict=True):
            self._update(p, g, *state)

    def _prepare(self, lr: float) -> None:
        """Set this step's scalars (the learning rate, Adam's bias correction) before the updates run."""
        self.lr = lr

    @abstractmethod
    def _update(self, p, g, *state) -> None:
        """Update one parameter `p` (or a block of it) in place from its gradient `g` and its state."""


class SGD(Optimizer):
    def _update(self, p, g, tmp):
        _axpy(-self.lr, g, p, tmp)


@dataclass
class Momentum(Optimizer):
    momentum: float = 0.9
    nesterov: bool = False
    n_state = 2  # velocity, scratch

    def _update(self, p, g, v, tmp):
        m = self.momentum
        v *= m
        _axpy(-self.lr, g, v, tmp)  # tmp = -lr g
        if self.nesterov:
            p += tmp
            _axpy(m, v, p, tmp)
        else:
            p += v


@dataclass
class RMSprop(Optimizer):
    rho: float = 0.9
    eps: float = 1e-7
    n_state = 2  # mean square, scratch

    def _update(self, p, g, v, tmp):
        np.multiply(g, g, out=tmp)
        _move_towards(v, tmp, 1.0 - self.rho, tmp)  # v = rho v + (1 - rho) g^2
        _normalised_step(p, g, v, self.eps, self.lr, tmp)


@dataclass
class Adam(Optimizer):
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-7
    n_state = 3  # first moment, second moment, scratch
    t: int = 0

    def _prepare(self, lr):
        self.t += 1
        self.alpha = lr * math.sqrt(1.0 - self.beta2**self.t) / (1.0 - self.beta1**self.t)

    def _update(self, p, g, m, v, tmp):
        _move_towards(m, g, 1.0 - self.beta1, tmp)  # m = b1 m + (1 - b1) g
        np.multiply(g, g, out=tmp)
        _move_towards(v, tmp, 1.0 - self.beta2, tmp)  # v = b2 v + (1 - b2) g^2
        _normalised_step(p, m, v, self.eps, self.alpha, tmp)


def _move_towards(avg, value, rate: float, tmp) -> None:
    """avg += rate (value - avg) in place, the moving average's step, through the scratch array `tmp` (which may
    be `value` itself)."""
    np.subtract(value, avg, out=tmp)
    tmp *= rate
    avg += tmp


def _normalised_step(p, direction, mean_square, eps: float, size: float, tmp) -> None:
    """p -= size * direction / (sqrt(mean_square) + eps), through the scratch array `tmp`."""
    np.sqrt(mean_square, out=tmp)
    tmp += eps
    np.divide(direction, tmp, out=tmp)
    tmp *= size
    p -= tmp


_GER = {}  # BLAS ger by dtype (looking it up costs as much as a small update)


def _blas_ger(w):
    """BLAS ger for w's dtype (SciPy imported here, on first use: it adds a fifth of a second to the app's start)."""
    from scipy.linalg.blas import get_blas_funcs

    return get_blas_funcs("ger", (w,))


def sgd_rank_one_update(weights, biases, inputs, deltas, lr: float, l2: float = 0.0) -> None:
    """Plain SGD for one sample (batch size 1) without gradient arrays: W_i -= lr (a_i d_i^T + l2 W_i) and
    b_i -= lr d_i, where a_i (1, inputs) is layer i's input and d_i (1, outputs) its dL/dz. Each weight update is one
    in-place BLAS rank-1 update (ger): a single pass over W instead of forming the gradient and then subtracting."""
    for w, b, a, d in zip(weights, biases, inputs, deltas, strict=True):
        if l2 > 0:
            w *= 1.0 - lr * l2
        # W is C-ordered (in, out), so W.T is a Fortran-ordered (out, in) matrix that ger updates in place
        ger = _GER.get(w.dtype) or _GER.setdefault(w.dtype, _blas_ger(w))
        ger(-lr, d[0], a[0], a=w.T, overwrite_a=True)
        if b is not None:
            b -= lr * d[0]


def make_optimizer(name: str, momentum=0.9, rho=0.9, beta1=0.9, beta2=0.999, eps=1e-7) -> Optimizer:
    """The optimizer called `name`, with the given hyperparameters (each uses only its own)."""
    if name == "sgd":
        return SGD()
    if name in ("momentum", "nesterov"):
        return Momentum(momentum=momentum, nesterov=name == "nesterov")
    if name == "rmsprop":
        return RMSprop(rho=rho, eps=eps)
    if name == "adam":
        return Adam(beta1=beta1, beta2=beta2, eps=eps)
    raise ValueError(f"Unknown optimizer {name!r}; use one of {', '.join(OPTIMIZERS)}.")


@dataclass
class Schedule:
    kind: str = "constant"  # "constant" | "step" | "exponential" | "cosine"
    lr: float = 0.001  # the starting learning rate
    steps_per_epoch: int = 1  # updates per epoch
    total_steps: int = 1  # updates in the whole run (cosine ends here)
    decay: float = 0.5  # step / exponential: the factor per `decay_epochs` epochs
    decay_epochs: int = 1
    min_lr: float = 0.0  # cosine: the learning rate at the end

    def __post_init__(self):
        if self.kind not in SCHEDULES:
            raise ValueError(f"Unknown schedule {self.kind!r}; use one of {', '.join(SCHEDULES)}.")

    def __call__(self, step: int) -> float:
        """The learning rate for update number `step` (0-based)."""
        if self.kind == "constant":
            return self.lr
        period = max(1, self.steps_per_epoch * self.decay_epochs)
        if self.kind == "step":
            return self.lr * self.decay ** (step // period)
        if self.kind == "exponential":
            return self.lr * self.decay ** (step / period)
        progress = min(step, self.total_steps) / max(1, self.total_steps)
        return self.min_lr + 0.5 * (self.lr - self.min_lr) * (1.0 + math.cos(math.pi * progress))
