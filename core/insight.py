"""Looking inside a trained network: back queries, weight templates, the confusion matrix, errors and saliency.

Arrays in, arrays out, NumPy only. A network here is anything with ``weights`` (list of ``W_i`` of shape
(inputs, outputs)), ``biases`` (list of ``b_i`` of shape (outputs,) or ``None``), ``activation`` (hidden layers:
"sigmoid" | "tanh" | "relu" | "leaky-relu") and ``output`` ("softmax" | "sigmoid"); it computes
``a(i+1) = act_i(a(i) @ W_i + b_i)`` from the scaled input ``a(0)``, with the output function on the last layer.

The math
--------
**Rashid's back query** (*Make Your Own Neural Network*, 2016) runs a label backwards through an all-sigmoid
network. Start from the target vector ``t`` (0.99 for the label, 0.01 elsewhere) as the final layer's output.
The sigmoid's inverse, the logit ``z = ln(y / (1 - y))``, gives that layer's input signal ``z``. The transposed
weights carry it back, ``y_prev = W @ z`` (``W`` of shape (inputs, outputs)), giving the previous layer's output,
which is squeezed back into the sigmoid's open range: ``y <- (y - min y) / max(y - min y) * 0.98 + 0.01``.
Repeat (logit, multiply by ``W``, rescale) down to the 784 inputs; the input layer's output is rescaled the same
way. Biases are ignored, as in the book, whose networks have none.

**Optimised input** works for any network: gradient ascent on the input ``x`` to maximise
``log p(label | x) - l2 * ||x||^2``, each step projected back into the input range ``[lo, hi]``. Steps follow
Adam's normalised update, so one learning rate fits networks whose gradients differ by orders of magnitude.

**Log-probability.** For a softmax output ``p = softmax(z)``, ``d log p_k / dz = e_k - p``. For a sigmoid output
``s = sigmoid(z)`` the outputs are normalised to ``p_j = s_j / sum(s)``, so that raising one label means lowering
the others, and ``d log p_k / dz_j = [j = k] (1 - s_k) - s_j (1 - s_j) / sum(s)``. The input gradient
``d log p_k / dx`` follows by the chain rule through the hidden layers; it is the **saliency** of label ``k``
for one image, and averaged over the test images of a label it is the **mean input gradient**.

**Linearised template.** Dropping the nonlinearities and biases, the network is the single matrix
``W0 @ W1 @ ... @ W_last`` of shape (784, classes); its column ``k`` is what label ``k`` looks for. For a network
without hidden layers that is exactly the weight column. ``unit_label_strength`` applies the same linearisation
to the layers after the first hidden one: how strongly each first-layer unit feeds each label.

**Confusion matrix** ``C[t, p]`` counts the test images of true class ``t`` predicted as ``p``; per class, the
recall (the class's accuracy) is ``C[k, k] / sum_p C[k, p]`` and the precision ``C[k, k] / sum_t C[t, k]``.
"""

from __future__ import annotations

import numpy as np

from core.convnet import is_convolutional
from core.network import forward_layers, log_prob_gradient, output_function

RASHID_LOW, RASHID_HIGH = 0.01, 0.99
_CHUNK = 2048


# --- forward and backward: core.network's one numeric path ---------------------------------------------------------
def forward(net, x: np.ndarray) -> np.ndarray:
    """The network's outputs (softmax probabilities or sigmoid outputs) for scaled inputs ``x`` (N, 784)."""
    if is_convolutional(net):
        return net.forward(x)
    return output_function(forward_layers(net, np.atleast_2d(x))[1], net.output)


def input_gradient(net, x: np.ndarray, label) -> np.ndarray:
    """Gradient of log p(label) with respect to the scaled inputs; ``label`` one int or one per row."""
    x = np.atleast_2d(np.asarray(x))
    labels = np.broadcast_to(np.asarray(label, dtype=np.intp), (len(x),))
    parts = [
        log_prob_gradient(net, x[s : s + _CHUNK], labels[s : s + _CHUNK]) for s in range(0, len(x), _CHUNK)
    ]
    return np.concatenate(parts) if parts else np.zeros((0, x.shape[1]), dtype=net.dtype)


# --- back queries ------------------------------------------------------------------------------------------------
def _logit(y: np.ndarray) -> np.ndarray:
    return np.log(y / (1 - y))


def _rescale(y: np.ndarray) -> np.ndarray:
    """Rashid's squeeze into 0.01..0.99: subtract the minimum, divide by the maximum, times 0.98, plus 0.01."""
    y = y - y.min()
    top = y.max()
    if top <= 0:  # a constant signal carries no picture; the middle of the range says so honestly
        return np.full_like(y, 0.5)
    return y / top * (RASHID_HIGH - RASHID_LOW) + RASHID_LOW


def back_query_applies(net) -> str:
    """Empty when Rashid's back query applies to ``net``; otherwise one sentence saying why not."""
    if is_convolutional(net):
        return (
            "Rashid's back query runs a label backwards through sigmoid dense layers, and a convolutional network "
            "has filters and max pooling, which cannot be inverted; the optimised input below works for it."
        )
    hidden = len(net.weights) > 1
    if net.output != "sigmoid" or (hidden and net.activation != "sigmoid"):
        kind = (
            f"{net.activation} hidden layers and a {net.output} output"
            if hidden
            else f"a {net.output} output"
        )
        return (
            f"Rashid's back query inverts sigmoids, and this network has {kind}; "
            "the optimised input below works for any network."
        )
    return ""


def back_query(net, label: int, n_classes: int | None = None) -> np.ndarray:
    """Rashid's back query of ``label``: the (784,) input, in 0.01..0.99, the network 'imagines' for it.

    Raises ValueError when a layer is not a sigmoid (the logit only inverts a sigmoid).
    """
    if is_convolutional(net):
        raise ValueError(back_query_applies(net))
    n_classes = n_classes or net.weights[-1].shape[1]
    if not 0 <= label < n_classes:
        raise ValueError(f"label {label} is not one of the {n_classes} classes")
    return _back_query_columns(net, [label], n_classes)[:, 0]


def back_queries(net, n_classes: int | None = None) -> np.ndarray:
    """Every label's back query, (classes, 784)."""
    if is_convolutional(net):
        raise ValueError(back_query_applies(net))
    n_classes = n_classes or net.weights[-1].shape[1]
    return _back_query_columns(net, list(range(n_classes)), n_classes).T


def _back_query_columns(net, labels, n_classes: int) -> np.ndarray:
    """The back queries of ``labels`` as the columns of one (784, len(labels)) array: one matrix product per
    layer for all of them, each column rescaled on its own exactly as a single back query would be."""
    why = back_query_applies(net)
    if why:
        raise ValueError(why)
    targets = np.full((n_classes, len(labels)), RASHID_LOW)
    targets[labels, np.arange(len(labels))] = RASHID_HIGH
    signal = _logit(targets)  # the final layer's input signal, one column per label
    for i in range(len(net.weights) - 1, -1, -1):
        outputs = np.asarray(net.weights[i], dtype=np.float64) @ signal  # the previous layer's outputs
        outputs = np.stack([_rescale(column) for column in outputs.T], axis=1)
        if i == 0:
            return outputs
        signal = _logit(outputs)
    raise AssertionError("unreachable")


def optimised_input(
    net,
    label: int,
    steps: int = 200,
    l2: float = 0.01,
    lo: float = 0.0,
    hi: float = 1.0,
    rng: np.random.Generator | None = None,
    lr: float = 0.02,
) -> np.ndarray:
    """The (784,) input in [lo, hi] that maximises log p(label) - l2 * ||x||^2: `optimised_inputs` of one label."""
    return optimised_inputs(net, [label], steps, l2, lo, hi, rng, lr)[0]


def optimised_inputs(net, labels, steps: int = 200, l2: float = 0.01, lo: float = 0.0, hi: float = 1.0,
                     rng: np.random.Generator | None = None, lr: float = 0.02, same_start: bool = False,
                     on_step=None) -> np.ndarray:  # fmt: skip
    """Each label's optimised input, (len(labels), 784), by projected gradient ascent on all of them at once.

    Row k maximises log p(labels[k]) - l2 * ||x||^2 in [lo, hi], on its own (the rows never mix), so one batched
    gradient per step does the work of len(labels) single ones: for a CNN, ten labels cost twice one, not ten
    times. Each row starts from the middle of the range plus a little noise from ``rng`` (drawn row after row,
    as separate calls would draw them; ``same_start``: every row from the one start a fresh call would use) and
    takes ``steps`` Adam steps of size ``lr * (hi - lo)``. ``on_step(t, steps)`` hears of each step.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    labels = np.asarray(labels, dtype=np.intp)
    n_inputs = _n_inputs(net)
    span = float(hi - lo)
    rows = 1 if same_start else len(labels)
    noise = np.broadcast_to(rng.standard_normal((rows, n_inputs)), (len(labels), n_inputs))
    x = np.clip((lo + hi) / 2 + 0.01 * span * noise, lo, hi)
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for t in range(1, int(steps) + 1):
        grad = log_prob_gradient(net, x, labels).astype(np.float64) - 2 * l2 * x
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad * grad
        step = (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
        x = np.clip(x + lr * span * step, lo, hi)
        if on_step is not None:
            on_step(t, int(steps))
    return x


# --- weights -------------------------------------------------------------------------------------------------------
def linear_template(net) -> np.ndarray:
    """The linearised network W0 @ W1 @ ... as (classes, 784): row k is what label k looks for. MLPs only."""
    _mlp_only(net, "The linear template")
    product = np.asarray(net.weights[-1], dtype=np.float64)
    for w in reversed(net.weights[:-1]):  # right to left: every product stays (units, classes), small
        product = np.asarray(w, dtype=np.float64) @ product
    return product.T


def unit_label_strength(net) -> np.ndarray:
    """(units of the first hidden layer, classes): each unit's outgoing weight to each label, through the
    linearised rest of the network (W1 @ W2 @ ...). Empty (0, classes) for a network without hidden layers.
    MLPs only."""
    _mlp_only(net, "The unit-label strength")
    if len(net.weights) < 2:
        return np.zeros((0, net.weights[-1].shape[1]))
    product = np.asarray(net.weights[-1], dtype=np.float64)
    for w in reversed(net.weights[1:-1]):  # right to left, as in linear_template
        product = np.asarray(w, dtype=np.float64) @ product
    return product


def _n_inputs(net) -> int:
    return net.n_inputs if is_convolutional(net) else net.weights[0].shape[0]


def _mlp_only(net, what: str) -> None:
    if is_convolutional(net):
        raise ValueError(
            f"{what} multiplies the dense weight matrices of an MLP; a convolutional network has filters instead "
            "(see its filters and feature maps)."
        )


def mean_input_gradient(net, x: np.ndarray, labels: np.ndarray, label: int) -> np.ndarray:
    """The mean over the rows of ``x`` whose label is ``label`` of d log p(label) / dx; (784,) zeros if none."""
    rows = np.flatnonzero(np.asarray(labels) == label)
    if rows.size == 0:
        return np.zeros(_n_inputs(net))
    total = np.zeros(_n_inputs(net))
    for s in range(0, rows.size, _CHUNK):
        chunk = rows[s : s + _CHUNK]
        total += log_prob_gradient(net, x[chunk], np.full(chunk.size, label)).sum(axis=0, dtype=np.float64)
    return total / rows.size


def mean_input_gradients(net, x: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Every label's mean input gradient in one pass over ``x``: (classes, 784); row k as mean_input_gradient."""
    labels = np.asarray(labels, dtype=np.intp)
    totals = np.zeros((n_classes, _n_inputs(net)))
    for s in range(0, len(x), _CHUNK):
        grads = log_prob_gradient(net, x[s : s + _CHUNK], labels[s : s + _CHUNK])
        np.add.at(totals, labels[s : s + _CHUNK], grads.astype(np.float64))
    counts = np.bincount(labels, minlength=n_classes)[:, None]
    return np.divide(totals, counts, out=np.zeros_like(totals), where=counts > 0)


def saliency(net, x_one: np.ndarray, label: int) -> np.ndarray:
    """The input gradient of log p(label) for one scaled image (784,): which pixels would raise or lower it."""
    return log_prob_gradient(net, np.asarray(x_one).reshape(1, -1), np.array([label]))[0]


# --- errors --------------------------------------------------------------------------------------------------------
def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """C[t, p]: how many images of true class t were predicted as p."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{y_true.shape[0]} true labels but {y_pred.shape[0]} predictions")
    if y_true.size and (min(y_true.min(), y_pred.min()) < 0 or max(y_true.max(), y_pred.max()) >= n_classes):
        raise ValueError(f"labels must lie in 0..{n_classes - 1}")
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes).reshape(
        n_classes, n_classes
    )


def class_metrics(confusion: np.ndarray) -> dict[str, np.ndarray]:
    """Per class: ``recall`` (= the class's accuracy), ``precision``, ``support``; NaN where undefined."""
    confusion = np.asarray(confusion, dtype=np.float64)
    hits = np.diag(confusion)
    actual = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(actual > 0, hits / actual, np.nan)
        precision = np.where(predicted > 0, hits / predicted, np.nan)
    return {"recall": recall, "precision": precision, "support": actual.astype(np.int64)}


def misclassified(probs: np.ndarray, y_true: np.ndarray) -> np.ndarray:
    """Indices of the wrongly predicted rows, the most confident mistakes (highest predicted probability) first."""
    probs = np.asarray(probs)
    predicted = probs.argmax(axis=1)
    wrong = np.flatnonzero(predicted != np.asarray(y_true))
    confidence = probs[wrong, predicted[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")]


def scorecard(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[int, int]:
    """(right, total), Rashid's scorecard."""
    y_true = np.asarray(y_true)
    return int(np.count_nonzero(y_true == np.asarray(y_pred))), int(y_true.size)
