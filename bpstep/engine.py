"""The NumPy multilayer perceptron: activations, losses, one training epoch.

Layers are numbered from 1 as in the quantity ids; in this module lists are 0-based, so
``W[l - 1]`` is the weight matrix of layer l, rows = receiving units. Arrays of one epoch carry
the sample on their first axis.

One function, :func:`run_epoch`, does the arithmetic of an epoch, both for the fast-forward
(``full=False``) and for the tape (``full=True``): the numbers a learner steps through are
bit-for-bit the numbers that produce the next epoch's weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

ACTIVATIONS = ("sigmoid", "tanh", "relu", "identity")
LOSSES = ("half_sse", "mse", "bce")
UPDATE_ORDERS = ("simultaneous", "sequential")

#: torch's BCELoss clamps each log at -100 and its gradient's denominator at 1e-12 (torch's
#: EPSILON is the float32 1e-12f, 9.99999996e-13, for float64 tensors too: the cross-check saw it).
BCE_LOG_FLOOR = -100.0
BCE_EPS = float(np.float32(1e-12))


class _PerDtype(dict):
    """``value`` as a 0-d array of each dtype, made when first asked for."""

    def __init__(self, value):
        super().__init__()
        self.value = value

    def __missing__(self, dtype):
        self[dtype] = np.array(self.value, dtype)
        return self[dtype]


# numpy converts a Python number on every operation, which on these tiny arrays costs as much
# as the operation itself; a 0-d array of the array's dtype gives the same result without that
_ONE = _PerDtype(1.0)
_LOG_FLOOR = _PerDtype(BCE_LOG_FLOOR)
_EPS = _PerDtype(BCE_EPS)


# --- activations: a = f(z), and da/dz written with whichever of z, a is simpler ---------------


def sigmoid(z):
    """σ(z) = 1 / (1 + e^(−z))"""
    one = _ONE[z.dtype]
    return one / (one + np.exp(-z))


def d_sigmoid(z, a):
    """σ′(z) = σ(z)(1 − σ(z)) = a(1 − a)"""
    return a * (_ONE[a.dtype] - a)


def tanh(z):
    """tanh(z)"""
    return np.tanh(z)


def d_tanh(z, a):
    """tanh′(z) = 1 − tanh²(z) = 1 − a²"""
    return _ONE[a.dtype] - a * a


def relu(z):
    """relu(z) = max(z, 0)"""
    return np.maximum(z, 0)


def d_relu(z, a):
    """relu′(z) = [z > 0] (0 at z = 0, as torch)"""
    return (z > 0).astype(z.dtype)


def identity(z):
    """a = z"""
    return z.copy()


def d_identity(z, a):
    """da/dz = 1"""
    return np.ones_like(z)


ACTIVATION_FUNCTIONS = {
    "sigmoid": (sigmoid, d_sigmoid),
    "tanh": (tanh, d_tanh),
    "relu": (relu, d_relu),
    "identity": (identity, d_identity),
}


# --- losses: per-sample terms E[k] (so that E = Σ_k E[k]) and dE/do of that sample's E ---------


def half_sse(o, t):
    """E[k] = ½(t_k − o_k)²"""
    return 0.5 * (t - o) ** 2


def d_half_sse(o, t):
    """∂E/∂o_k = −(t_k − o_k)"""
    return -(t - o)


def _per_output(v):
    """v / K, the mean over a sample's K outputs (skipped when K = 1: x/1 is exact)"""
    return v if v.shape[-1] == 1 else v / v.shape[-1]


def mse(o, t):
    """E[k] = (o_k − t_k)² / K, torch's MSELoss(reduction='mean') for one sample"""
    return _per_output((o - t) ** 2)


def d_mse(o, t):
    """∂E/∂o_k = 2(o_k − t_k) / K"""
    return _per_output(2 * (o - t))


def _clamped_log(v):
    return np.maximum(np.log(v), _LOG_FLOOR[v.dtype])


def bce(o, t):
    """E[k] = −[t_k ln o_k + (1 − t_k) ln(1 − o_k)] / K, logs clamped at −100 as torch's BCELoss"""
    one = _ONE[o.dtype]
    return _per_output(-(t * _clamped_log(o) + (one - t) * _clamped_log(one - o)))


def d_bce(o, t):
    """∂E/∂o_k = (o_k − t_k) / max(o_k(1 − o_k), 1e−12) / K"""
    return _per_output((o - t) / np.maximum(o * (_ONE[o.dtype] - o), _EPS[o.dtype]))


LOSS_FUNCTIONS = {
    "half_sse": (half_sse, d_half_sse),
    "mse": (mse, d_mse),
    "bce": (bce, d_bce),
}


@dataclass
class Params:
    """Weights and biases of every layer (biases None when the network has none)."""

    W: list
    b: list | None

    def copy(self) -> "Params":
        return Params([w.copy() for w in self.W], None if self.b is None else [v.copy() for v in self.b])

    def flat(self) -> np.ndarray:
        parts = [w.ravel() for w in self.W] + ([v.ravel() for v in self.b] if self.b is not None else [])
        return np.concatenate(parts)


@dataclass
class Network:
    """What the arithmetic needs to know about a scenario, in the engine's dtype."""

    activations: list
    loss: str
    lr: object
    sequential: bool
    X: np.ndarray
    T: np.ndarray
    #: per layer, 1 where a weight (bias) may change and 0 where it is frozen; None: nothing frozen
    W_mask: list | None = None
    b_mask: list | None = None

    @property
    def layers(self) -> int:
        return len(self.activations)

    @cached_property
    def divisor(self):
        """What a batch mean divides by: N as a 0-d array of the engine's dtype (see _ONE), or
        None for one sample (x/1 is exact)."""
        return None if self.X.shape[0] == 1 else np.array(self.X.shape[0], self.X.dtype)


@dataclass
class EpochArrays:
    """Every quantity of one epoch, for the tape. Lists are per layer (index l − 1)."""

    W: list
    b: list | None
    z: list = field(default_factory=list)
    act: list = field(default_factory=list)  # act[0] = inputs, act[l] = a of layer l
    E_terms: np.ndarray | None = None  # N×K
    E_sample: np.ndarray | None = None  # N
    E: object = None
    dEda: list = field(default_factory=list)
    dadz: list = field(default_factory=list)
    dEdz: list = field(default_factory=list)
    gW_sample: list = field(default_factory=list)  # N×J×I
    gb_sample: list = field(default_factory=list)  # N×J
    gW: list = field(default_factory=list)  # batch mean
    gb: list = field(default_factory=list)
    W_down: list = field(default_factory=list)  # the weights that carry δ of layer l down
    parts: list = field(default_factory=list)  # N×J×I: δ_j · W_ji, the part of ∂E/∂a_i through unit j
    dzdW: list = field(default_factory=list)  # N×I: the local factor ∂z_l/∂W_l = a_{l−1} (act[:-1] here)
    W_new: list = field(default_factory=list)
    b_new: list | None = None


def forward(net: Network, p: Params, X: np.ndarray):
    """z_l = a_{l−1} W_lᵀ + b_l and a_l = f_l(z_l) for every layer, all samples at once."""
    zs, acts = [], [X]
    for l, name in enumerate(net.activations):
        z = acts[-1].dot(p.W[l].T)  # .dot: a third of matmul's overhead on these tiny arrays
        if p.b is not None:
            z += p.b[l]
        zs.append(z)
        acts.append(ACTIVATION_FUNCTIONS[name][0](z))
    return zs, acts


def loss_terms(net: Network, o: np.ndarray, T: np.ndarray) -> np.ndarray:
    """The N×K loss terms E[k] of every sample."""
    return LOSS_FUNCTIONS[net.loss][0](o, T)


def batch_loss(terms: np.ndarray):
    """E = mean over samples of Σ_k E[k]."""
    return np.add.reduce(np.add.reduce(terms, 1)) / terms.shape[0]


def _update(value, grad, lr, mask):
    """θ⁺ = θ − α ∂E/∂θ; a frozen entry keeps its value exactly (1·g is g exactly, so α = 1
    skips the product)."""
    step = grad if mask is None else grad * mask
    return value - (step if lr == 1 else lr * step)


def _mean_of_sum(total, n):
    """total / n, the batch mean (n None for one sample: x/1 is exact)"""
    return total if n is None else total / n


#: numpy's warnings about overflow in exp and log(0) are expected: σ saturates, bce clamps
_QUIET = {"over": "ignore", "divide": "ignore", "invalid": "ignore"}


def run_epoch(net: Network, p: Params, full: bool = False):
    """One full-batch gradient step from ``p``.

    Returns ``(new_params, loss, arrays)``; ``arrays`` is None unless ``full``.
    Backward, per sample n and layer l from the output down:
      ∂E/∂a_L = dE/do,  ∂E/∂a_l = Σ_j δ_{l+1,j} W_{l+1,j,·}
      δ_l = ∂E/∂a_l ⊙ f′(z_l),  ∂E/∂W_l = δ_l a_{l−1}ᵀ,  ∂E/∂b_l = δ_l
    then the batch mean of the parameter gradients and the update. With ``net.sequential``
    layer l is updated as soon as its gradients are known and δ is carried down through the
    updated weights.
    """
    with np.errstate(**_QUIET):
        zs, acts = forward(net, p, net.X)
        o = acts[-1]
        terms = loss_terms(net, o, net.T)
        g = LOSS_FUNCTIONS[net.loss][1](o, net.T)
        n = net.divisor
        new_W = list(p.W)
        new_b = None if p.b is None else list(p.b)
        arrays = EpochArrays(W=p.W, b=p.b) if full else None
        for l in reversed(range(net.layers)):
            dadz = ACTIVATION_FUNCTIONS[net.activations[l]][1](zs[l], acts[l + 1])
            delta = g * dadz
            # the batch mean of the per-sample gradients δ_n a_nᵀ, as one product
            gW = _mean_of_sum(delta.T.dot(acts[l]), n)
            new_W[l] = _update(p.W[l], gW, net.lr, net.W_mask and net.W_mask[l])
            if p.b is not None:
                gb = _mean_of_sum(np.add.reduce(delta, 0), n)
                new_b[l] = _update(p.b[l], gb, net.lr, net.b_mask and net.b_mask[l])
            W_down = new_W[l] if net.sequential else p.W[l]
            if full:
                arrays.dEda.insert(0, g)
                arrays.dadz.insert(0, dadz)
                arrays.dEdz.insert(0, delta)
                arrays.gW_sample.insert(0, delta[:, :, None] * acts[l][:, None, :])
                arrays.gW.insert(0, gW)
                if p.b is not None:
                    arrays.gb_sample.insert(0, delta)
                    arrays.gb.insert(0, gb)
                arrays.W_down.insert(0, W_down)
                arrays.parts.insert(0, delta[:, :, None] * W_down[None, :, :])
            if l:
                g = delta.dot(W_down)
        loss = batch_loss(terms)
        E_sample = terms.sum(axis=1) if full else None  # inside: finite terms may overflow their sum
    new_p = Params(new_W, new_b)
    if full:
        arrays.z, arrays.act = zs, acts
        arrays.E_terms, arrays.E_sample, arrays.E = terms, E_sample, loss
        arrays.W_new, arrays.b_new = new_W, new_b
        arrays.dzdW = acts[:-1]
    return new_p, loss, arrays


def evaluate(net: Network, p: Params) -> EpochArrays:
    """The forward pass and loss with the final weights (the evaluate phase)."""
    with np.errstate(**_QUIET):
        zs, acts = forward(net, p, net.X)
        terms = loss_terms(net, acts[-1], net.T)
        return EpochArrays(W=p.W, b=p.b, z=zs, act=acts, E_terms=terms, E_sample=terms.sum(axis=1),
                           E=batch_loss(terms))
