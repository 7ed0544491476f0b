"""The multilayer perceptron: layers, activations, output/loss pairs, initialisers, forward and backward.

Layer i computes a(i+1) = f_i(a(i) @ W_i + b_i) from the scaled input a(0), with W_i of shape (inputs, outputs).
Hidden layers use one activation f:

    sigmoid     f(z) = 1 / (1 + exp(-z))        f' = a (1 - a)
    tanh        f(z) = tanh(z)                  f' = 1 - a^2
    relu        f(z) = max(z, 0)                f' = [a > 0]
    leaky-relu  f(z) = max(z, 0.01 z)           f' = 1 if a > 0 else 0.01

Every derivative is written in terms of the activation a itself, so backward needs no stored pre-activations.
The output layer and the loss (L is the mean over the N samples of a batch; t are the targets):

    softmax + cross-entropy   L = -sum_k t_k log p_k          dL/dz = p * sum(t) - t   (= p - t for one-hot)
    softmax + mse             L = 1/2 sum_k (p_k - t_k)^2     dL/dz = p * (g - sum(g p)),  g = p - t
    sigmoid + mse (Rashid)    L = 1/2 sum_k (o_k - t_k)^2     dL/dz = (o - t) o (1 - o)
    sigmoid + cross-entropy   L = -sum_k t log o + (1-t) log(1-o)   dL/dz = o - t

The squared error carries the 1/2 so that batch size 1, plain SGD and learning rate lr make exactly Rashid's update
W += lr * ((t - o) o (1 - o)) a^T for the output layer.

Backpropagation sends each layer's delta d_i = dL/dz_i back through the weights: with backprop="gradient" (the true
gradient) d_(i-1) = (d_i W_i^T) * f'(a_i). Rashid's book (backprop="rashid", sigmoid output + mse only) sends back the
raw errors instead: the output error is e = o - t (his -(t - o)), each layer passes e_(i-1) = e_i W_i^T, and the
derivative enters only where a layer's update is formed, d_i = e_i * f'(a_(i+1)). For his 784-200-10 network that is
hidden_errors = W^T (t - o) without the output's o (1 - o), so the hidden update is not the gradient of any loss.

log softmax is z - max(z) - log sum exp(z - max(z)) and the binary cross-entropy is computed from the logits as
softplus(z) - t z, so neither overflows. L2 adds l2/2 * sum(W^2) over the weights (not the biases) to the loss and
l2 * W to their gradients. Dropout is inverted: during training each hidden unit is kept with probability 1 - p and
scaled by 1 / (1 - p), so nothing changes at test time.

Initialisers (biases start at zero): "he" normal(0, sqrt(2 / inputs)); "glorot" uniform(+/- sqrt(6 / (inputs +
outputs))) (Keras' default); "rashid" normal(0, 1 / sqrt(inputs)) (`numpy.random.normal(0.0, pow(inputs, -0.5))`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_scipy_expit = None


def expit(z, out=None):
    """The logistic sigmoid 1 / (1 + exp(-z)), by scipy.special.expit, imported on first use (SciPy adds about a
    fifth of a second to the app's start, and a ReLU network never needs it)."""
    global _scipy_expit
    if _scipy_expit is None:
        from scipy.special import expit as _scipy_expit
    return _scipy_expit(z, out=out)


ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky-relu")
OUTPUTS = ("softmax", "sigmoid")
LOSSES = ("cross-entropy", "mse")
INITS = ("he", "glorot", "rashid")
BACKPROPS = ("gradient", "rashid")
LEAKY_SLOPE = 0.01


@dataclass
class Network:
    weights: list[np.ndarray]  # W_i, shape (inputs, outputs)
    biases: list[np.ndarray | None]  # b_i, shape (outputs,), or None when biases are off (Rashid)
    activation: str = "relu"  # hidden layers: "sigmoid" | "tanh" | "relu" | "leaky-relu"
    output: str = "softmax"  # "softmax" | "sigmoid"

    @property
    def layer_sizes(self) -> list[int]:
        """[inputs, hidden..., outputs], e.g. [784, 512, 10]."""
        return [int(self.weights[0].shape[0])] + [int(w.shape[1]) for w in self.weights]

    @property
    def dtype(self) -> np.dtype:
        return self.weights[0].dtype

    @property
    def use_bias(self) -> bool:
        return self.biases[0] is not None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Output probabilities (softmax) or sigmoid outputs, shape (N, classes), for scaled inputs (N, inputs)."""
        return output_function(forward_layers(self, x)[1], self.output)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The most likely class of each input, shape (N,)."""
        return np.argmax(self.forward(x), axis=1)

    def copy(self) -> Network:
        return self.astype(self.dtype)

    def astype(self, dtype) -> Network:
        """A copy (in another float type, or the same)."""
        return Network(
            weights=[w.astype(dtype, copy=True) for w in self.weights],
            biases=[None if b is None else b.astype(dtype, copy=True) for b in self.biases],
            activation=self.activation,
            output=self.output,
        )


def init_network(
    sizes, activation="relu", output="softmax", init="glorot", use_bias=True, rng=None, dtype=np.float32
):
    """A new network with layer sizes [inputs, hidden..., outputs] and random weights."""
    check_architecture(activation, output)
    if init not in INITS:
        raise ValueError(f"Unknown initialiser {init!r}; use one of {', '.join(INITS)}.")
    rng = np.random.default_rng(rng)
    weights, biases = [], []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        if init == "he":
            w = rng.normal(0.0, np.sqrt(2.0 / n_in), (n_in, n_out))
        elif init == "glorot":
            limit = np.sqrt(6.0 / (n_in + n_out))
            w = rng.uniform(-limit, limit, (n_in, n_out))
        else:
            w = rng.normal(0.0, n_in**-0.5, (n_in, n_out))
        weights.append(w.astype(dtype))
        biases.append(np.zeros(n_out, dtype) if use_bias else None)
    return Network(weights, biases, activation, output)


def check_architecture(
    activation: str, output: str, loss: str = "cross-entropy", backprop: str = "gradient"
) -> None:
    if activation not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {activation!r}; use one of {', '.join(ACTIVATIONS)}.")
    if output not in OUTPUTS:
        raise ValueError(f"Unknown output {output!r}; use one of {', '.join(OUTPUTS)}.")
    if loss not in LOSSES:
        raise ValueError(f"Unknown loss {loss!r}; use one of {', '.join(LOSSES)}.")
    if backprop not in BACKPROPS:
        raise ValueError(f"Unknown backprop {backprop!r}; use one of {', '.join(BACKPROPS)}.")
    if backprop == "rashid" and (output, loss) != ("sigmoid", "mse"):
        raise ValueError(RASHID_BACKPROP_NEEDS)


RASHID_BACKPROP_NEEDS = (
    "Rashid's backprop is defined only for a sigmoid output with the squared error (mse); "
    "set output to 'sigmoid' and loss to 'mse', or backprop to 'gradient'."
)


class Workspace:
    """Preallocated arrays for forward and backward passes on batches of up to `batch` samples.

    The trainer keeps one so that its hot loop allocates (almost) nothing; `loss_and_grads` makes a fresh one.
    """

    def __init__(self, sizes, batch: int, dtype, use_bias: bool, dropout: bool = False):
        outs = sizes[1:]
        self.acts = [np.empty((batch, n), dtype) for n in outs]  # hidden activations, then the output
        self.dropped = [np.empty((batch, n), dtype) for n in outs[:-1]] if dropout else None
        self.deltas = [np.empty((batch, n), dtype) for n in outs]  # dL/dz of each layer
        self.tmp = [np.empty((batch, n), dtype) for n in outs]
        self.grads_W = [np.empty((a, b), dtype) for a, b in zip(sizes[:-1], outs, strict=True)]
        self.grads_b = [np.empty(n, dtype) if use_bias else None for n in outs]
        self.batch = batch


def loss_and_grads(
    net: Network,
    x,
    targets,
    loss="cross-entropy",
    l2=0.0,
    dropout=0.0,
    rng=None,
    workspace=None,
    backprop="gradient",
):
    """Mean loss over the batch (plus the L2 term), dL/dW_i, dL/db_i (None without biases) and the outputs.

    With a `workspace` the gradients and outputs are views into its arrays, overwritten by the next call.
    With backprop="rashid" the "gradients" are Rashid's update directions (see the module docstring).
    """
    value, inputs, deltas, outputs = loss_and_deltas(net, x, targets, loss, dropout, rng, workspace, backprop)
    grads_w, grads_b = grads_from_deltas(net, inputs, deltas, l2, workspace)
    if l2 > 0:
        value += 0.5 * l2 * sum(float(np.vdot(w, w)) for w in net.weights)
    return value, grads_w, grads_b, outputs


def loss_and_deltas(
    net: Network,
    x,
    targets,
    loss="cross-entropy",
    dropout=0.0,
    rng=None,
    workspace=None,
    backprop="gradient",
):
    """Forward and backward without the weight gradients: the mean data loss (no L2), each layer's input a_i (after
    dropout), each layer's dL/dz_i (already divided by the batch size) and the outputs. dL/dW_i = a_i^T dL/dz_i.

    backprop="rashid" (sigmoid output + mse only) makes the hidden layers' deltas Rashid's instead: the raw error
    e = (o - t) / N is sent back, e_(i-1) = e_i W_i^T, and d_i = e_i * f'(a_(i+1)) only at the end."""
    x = np.asarray(x, dtype=net.dtype)
    targets = np.asarray(targets, dtype=net.dtype)
    check_architecture(net.activation, net.output, loss, backprop)
    ws = workspace or Workspace(net.layer_sizes, len(x), net.dtype, net.use_bias, dropout > 0)
    if dropout > 0 and rng is None:
        rng = np.random.default_rng()
    n, depth = len(x), len(net.weights)
    inputs, masks = [x], []  # the input of each layer (after dropout)
    for i in range(depth - 1):
        h = ws.acts[i][:n]
        np.matmul(inputs[i], net.weights[i], out=h)
        if net.biases[i] is not None:
            h += net.biases[i]
        _activate(h, net.activation, out=h, tmp=ws.tmp[i][:n])
        if dropout > 0:
            keep = rng.random(h.shape, dtype=h.dtype) >= dropout
            h = np.multiply(h, keep, out=ws.dropped[i][:n])
            h *= 1.0 / (1.0 - dropout)
            masks.append(keep)
        inputs.append(h)
    z = ws.tmp[-1][:n]
    np.matmul(inputs[-1], net.weights[-1], out=z)
    if net.biases[-1] is not None:
        z += net.biases[-1]
    out, deltas = ws.acts[-1][:n], [d[:n] for d in ws.deltas]
    value = _output_loss_delta(z, targets, net.output, loss, out, deltas[-1])
    rashid = backprop == "rashid"
    if rashid and depth > 1:  # the raw output error (o - t) / N, into z's buffer (free now)
        np.subtract(out, targets, out=z)
        z *= 1.0 / n
    for i in range(depth - 1, 0, -1):
        d = deltas[i - 1]
        # Rashid: pass on the raw error e_i (deltas[i] still holds it below the output layer)
        np.matmul(z if rashid and i == depth - 1 else deltas[i], net.weights[i].T, out=d)
        if dropout > 0:
            d *= masks[i - 1]
            d *= 1.0 / (1.0 - dropout)
        if not rashid:
            _activation_backward(d, ws.acts[i - 1][:n], net.activation, ws.tmp[i - 1][:n])
    # Rashid: the derivative only where each update is formed, d_i = e_i * f'(a_(i+1)), once every e_i has been sent back
    if rashid:
        for i in range(depth - 1):
            _activation_backward(deltas[i], ws.acts[i][:n], net.activation, ws.tmp[i][:n])
    return value, inputs, deltas, out


def grads_from_deltas(net: Network, inputs, deltas, l2=0.0, workspace=None):
    """dL/dW_i = a_i^T dL/dz_i + l2 W_i and dL/db_i = sum of dL/dz_i over the batch (None without biases)."""
    ws = workspace or Workspace(net.layer_sizes, len(inputs[0]), net.dtype, net.use_bias)
    for i, (a, d) in enumerate(zip(inputs, deltas, strict=True)):
        np.matmul(a.T, d, out=ws.grads_W[i])
        if l2 > 0:
            ws.grads_W[i] += l2 * net.weights[i]  # NumPy, not BLAS axpy, which OpenBLAS spreads over threads at a loss
        if net.biases[i] is not None:
            np.sum(d, axis=0, out=ws.grads_b[i])
    return ws.grads_W, ws.grads_b


def forward_layers(net, x) -> tuple[list[np.ndarray], np.ndarray]:
    """The forward pass, layer by layer: each layer's input a_0 = x, a_1 = f(a_0 W_0 + b_0), ..., a_(L-1), and
    the last layer's logits z = a_(L-1) W_(L-1) + b_(L-1), its output function not applied (the losses and
    gradients want the logits). Works for any object with weights, biases, activation and output. The trainer's
    hot path (`loss_and_deltas`) does the same steps into preallocated buffers."""
    a = np.asarray(x, dtype=net.weights[0].dtype)
    a = a.reshape(1, -1) if a.ndim == 1 else a
    inputs, last = [a], len(net.weights) - 1
    for i, (w, b) in enumerate(zip(net.weights, net.biases, strict=True)):
        z = a @ w
        if b is not None:
            z += b
        if i == last:
            return inputs, z
        a = _activate(z, net.activation)
        inputs.append(a)
    raise ValueError("A network needs at least one layer.")


def output_function(z: np.ndarray, output: str) -> np.ndarray:
    """The output layer's function of the logits, in place: softmax probabilities or sigmoid outputs."""
    if output != "softmax":
        return expit(z, out=z)
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def log_prob_gradient(net, x, labels) -> np.ndarray:
    """d log p(labels[n] | x[n]) / d x[n] for every row of the scaled inputs x (N, inputs): which pixels would
    raise the label's probability. Sigmoid outputs s are normalised to probabilities p = s / sum(s), so raising
    one label means lowering the others: d log p_k / dz_j = [j = k] (1 - s_k) - s_j (1 - s_j) / sum(s); for
    softmax, d log p_k / dz = e_k - p. The chain rule carries it back through the hidden layers."""
    if hasattr(net, "layers"):  # a core.convnet.ConvNetwork: its own backward pass
        return net.log_prob_gradient(x, labels)
    inputs, z = forward_layers(net, x)
    out = output_function(z, net.output)
    rows = np.arange(len(out))
    labels = np.broadcast_to(np.asarray(labels, dtype=np.intp), (len(out),))
    if net.output == "softmax":
        delta = -out
        delta[rows, labels] += 1
    else:
        delta = -out * (1 - out) / out.sum(axis=1, keepdims=True)
        delta[rows, labels] += 1 - out[rows, labels]
    for i in range(len(net.weights) - 1, 0, -1):
        delta = delta @ net.weights[i].T
        _activation_backward(delta, inputs[i], net.activation, np.empty_like(delta))
    return delta @ net.weights[0].T


# --- the pieces, in place where it saves copies ---


def _activate(z, activation, out=None, tmp=None):
    out = z if out is None else out
    if activation == "relu":
        return np.maximum(z, 0, out=out)
    if activation == "sigmoid":
        return expit(z, out=out)
    if activation == "tanh":
        return np.tanh(z, out=out)
    tmp = np.empty_like(z) if tmp is None else tmp
    np.multiply(z, LEAKY_SLOPE, out=tmp)
    return np.maximum(z, tmp, out=out)


def _activation_backward(delta, a, activation, tmp):
    """delta *= f'(z), written in terms of a = f(z); in place."""
    if activation == "relu":
        np.multiply(delta, a > 0, out=delta)
    elif activation == "sigmoid":
        np.subtract(1, a, out=tmp)
        tmp *= a
        delta *= tmp
    elif activation == "tanh":
        np.multiply(a, a, out=tmp)
        np.subtract(1, tmp, out=tmp)
        delta *= tmp
    else:
        np.copyto(tmp, LEAKY_SLOPE)
        np.copyto(tmp, 1, where=a > 0)
        delta *= tmp


def _output_loss_delta(z, targets, output, loss, out, delta) -> float:
    """Fill `out` with the outputs and `delta` with dL/dz (mean over the batch); return the mean loss.

    `z` (the logits) is overwritten.
    """
    n = len(z)
    if output == "softmax":
        z -= z.max(axis=1, keepdims=True)  # log-sum-exp shift: softmax and log p are unchanged
        np.exp(z, out=out)
        sums = out.sum(axis=1, keepdims=True)
        out /= sums
        if loss == "cross-entropy":
            # -sum t log p = -sum t (z - log s) = sum(t) log s - sum t z
            t_sum = targets.sum(axis=1, keepdims=True)
            value = float(np.vdot(t_sum, np.log(sums)) - np.vdot(targets, z))
            np.multiply(out, t_sum, out=delta)
            delta -= targets
        else:
            np.subtract(out, targets, out=delta)
            value = 0.5 * float(np.vdot(delta, delta))
            gp = np.einsum("ij,ij->i", delta, out)[:, None]
            delta -= gp
            delta *= out
    else:
        expit(z, out=out)
        if loss == "cross-entropy":
            value = float(np.logaddexp(0, z).sum(dtype=np.float64) - np.vdot(targets, z))
            np.subtract(out, targets, out=delta)
        else:
            np.subtract(out, targets, out=delta)
            value = 0.5 * float(np.vdot(delta, delta))
            np.subtract(1, out, out=z)
            z *= out
            delta *= z
    delta *= 1.0 / n
    return value / n


def forward_loss(net: Network, x, targets, loss="cross-entropy", chunk: int = 4096):
    """The mean data loss (no L2) and the outputs for inputs x, computed stably from the logits, in chunks."""
    if hasattr(net, "layers"):  # a core.convnet.ConvNetwork
        return net.forward_loss(x, targets, loss)
    x = np.asarray(x, dtype=net.dtype)
    targets = np.asarray(targets, dtype=net.dtype)
    outputs = np.empty((len(x), net.layer_sizes[-1]), net.dtype)
    total = 0.0
    for s in range(0, len(x), chunk):
        z = forward_layers(net, x[s : s + chunk])[1]
        out = outputs[s : s + chunk]
        total += len(z) * _output_loss_delta(z, targets[s : s + chunk], net.output, loss, out, np.empty_like(z))
    return total / max(1, len(x)), outputs
