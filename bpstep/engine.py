"""The NumPy multilayer perceptron: activations, losses, one training epoch.

Layers are numbered from 1 as in the quantity ids; in this module lists are 0-based, so
``W[l - 1]`` is the weight matrix of layer l, rows = receiving units. Arrays of one epoch carry
the sample on their first axis.

:func:`run_epoch` does the arithmetic of an epoch, for the tape (``full=True``) and for the
fast-forward (``full=False``, in :class:`_FastForward`: the same operations on the same operands
in the same order, less what only the tape shows): the numbers a learner steps through are
bit-for-bit the numbers that produce the next epoch's weights (tests/test_engine_lazy.py holds
the two to the same bits). The per-sample products δ_n a_nᵀ and δ_n,j W_ji, N×J×I each, are
:class:`Outer` arrays that compute the elements read instead of storing them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from . import functions

ACTIVATIONS = tuple(functions.ACTIVATIONS)
LOSSES = tuple(functions.LOSSES)
UPDATE_ORDERS = ("simultaneous", "sequential")

_ONE, _EPS = functions.ONE_OF, functions.EPS_OF

#: name → (f, f′) and name → (E[k], ∂E/∂o): what the arithmetic calls, read off the registries
#: (tests break an entry here on purpose and see the cross-check catch it)
ACTIVATION_FUNCTIONS = {name: (f.value, f.derivative) for name, f in functions.ACTIVATIONS.items()}
LOSS_FUNCTIONS = {name: (f.terms, f.gradient) for name, f in functions.LOSSES.items()}


@dataclass
class Params:
    """Weights and biases of every layer (biases None when the network has none)."""

    W: list
    b: list | None
    #: the optimizer's state after the steps so far: {(quantity, "W" | "b"): one array per layer}
    #: of what it carries (the momentum buffer, Adam's m and v) and "t", the steps taken; None
    #: before the first step and for plain gradient descent
    state: dict | None = None

    def copy(self) -> "Params":
        state = None if self.state is None else {k: v if k == "t" else [x.copy() for x in v]
                                                 for k, v in self.state.items()}
        return Params([w.copy() for w in self.W], None if self.b is None else [v.copy() for v in self.b], state)

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
    #: the optimizer (functions.OPTIMIZERS) and its hyper-parameters (numbers as 0-d arrays of
    #: the dtype); plain SGD computes θ − α·g as it always did
    optimizer: str = "sgd"
    hyper: dict = field(default_factory=lambda: dict(functions.OPTIMIZERS["sgd"].hyper))

    @cached_property
    def steps(self) -> tuple:
        """The optimizer's quantities shown before θ⁺, in order; () for plain gradient descent."""
        return tuple(functions.OPTIMIZERS[self.optimizer].kinds(self.hyper))

    @property
    def layers(self) -> int:
        return len(self.activations)

    @cached_property
    def fast_forward(self) -> "_FastForward":
        """``run_epoch(self, p)`` without ``full``, its lookups made once."""
        return _FastForward(self)

    @cached_property
    def output_delta(self):
        """δ of the output layer from (o, t) when its activation is not elementwise (softmax):
        the loss's simplified chain rule; None otherwise."""
        return None if functions.ACTIVATIONS[self.activations[-1]].elementwise else functions.LOSSES[self.loss].delta

    @cached_property
    def divisor(self):
        """What a batch mean divides by: N as a 0-d array of the engine's dtype (see _ONE), or
        None for one sample (x/1 is exact)."""
        return None if self.X.shape[0] == 1 else np.array(self.X.shape[0], self.X.dtype)


class Outer(NDArrayOperatorsMixin):
    """An N×J×I array that is never stored whole (with several epochs: N×J×I×C, the epochs on
    trailing axes of u and v):

        x[n, j, i] = u[n, j] · v[n, i]   (``per_sample``: δ_n a_nᵀ, the per-sample ∂E/∂W)
        x[n, j, i] = u[n, j] · v[j, i]   (otherwise: δ_n,j W_ji, the parts of ∂E/∂a)

    and with more ``(u, v)`` pairs in ``terms`` the sum of their products, added left to right
    (rounding scales). Any element read is the IEEE product of the same two numbers that
    ``u[:, :, None] * v[:, None, :]`` multiplies, computed in u's dtype and then cast to ``dtype``,
    so it is bit-for-bit what the stored array would hold. Indexing is ndarray's (ints, slices,
    index arrays, masks); ``np.asarray`` forms the whole array; ``np.isfinite(x).all()`` and
    :meth:`all_finite` answer without forming it; other ufuncs and operators form it first.
    """

    def __init__(self, u, v, per_sample: bool, dtype=None, more=()):
        self.terms = ((u, v),) + tuple(more)
        self.per_sample = per_sample
        self.dtype = np.dtype(dtype or u.dtype)
        self.shape = u.shape[:2] + v.shape[1:2] + u.shape[2:]

    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: math.prod(self.shape))

    def __len__(self):
        return self.shape[0]

    def __repr__(self):
        return f"Outer(shape={self.shape}, dtype={self.dtype}, per_sample={self.per_sample})"

    def samples(self, which) -> "Outer":
        """The samples ``which`` (a slice or index array) of the first axis, still unformed."""
        pick = lambda v: v[which] if self.per_sample else v
        (u, v), *more = [(u[which], pick(v)) for u, v in self.terms]
        return Outer(u, v, self.per_sample, self.dtype, more)

    def _sum(self, product):
        """Σ over terms of product(u, v), in u's dtype, then cast."""
        out = None
        with np.errstate(**_QUIET):  # as where the epoch's arrays are made: overflow is expected
            for u, v in self.terms:
                x = product(u, v)
                out = x if out is None else out + x
        return out if out.dtype == self.dtype else out.astype(self.dtype)

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        if key and key[0] is Ellipsis and len(key) - 1 <= self.ndim - 3 and all(_basic(k) for k in key[1:]):
            (u, v), *more = [(u[key], v[key]) for u, v in self.terms]  # epochs of u and v alike
            return Outer(u, v, self.per_sample, self.dtype, more)
        if len(key) == 3 and _same_shape_ints(key):
            n, j, i = key
            row = (lambda v: v[n, i]) if self.per_sample else (lambda v: v[j, i])
            return self._sum(lambda u, v: u[n, j] * row(v))
        if len(key) <= 3 and all(_basic(k) for k in key):
            return self._basic(key + (slice(None),) * (3 - len(key)))
        return self._general(key)

    def _basic(self, key):
        """Ints and slices: each of u and v indexed alone, then an axis added where the other
        one's goes, so that the product broadcasts to x[key]'s axes."""
        kn, kj, ki = key
        dn, dj, di = (isinstance(k, slice) for k in key)

        def product(u, v):
            U = u[kn, kj]
            if di:
                U = np.expand_dims(U, dn + dj)
            if self.per_sample:
                V = v[kn, ki]
                V = np.expand_dims(V, dn) if dj else V
            else:
                V = v[kj, ki]
                V = np.expand_dims(V, 0) if dn else V
            return U * V
        return self._sum(product)

    def _general(self, key):
        """Any other key: ndarray indexing of each axis's index grid (broadcast, not stored)."""
        grids = [np.broadcast_to(np.arange(s).reshape([-1 if a == d else 1 for a in range(self.ndim)]),
                                 self.shape)[key] for d, s in enumerate(self.shape)]
        n, j, i, *e = grids
        return self._sum(lambda u, v: u[(n, j, *e)] * v[(n if self.per_sample else j, i, *e)])

    def __array__(self, dtype=None, copy=None):
        out = self._basic((slice(None),) * 3)
        return out if dtype is None else out.astype(dtype, copy=False)

    def astype(self, dtype, copy=True):
        return Outer(*self.terms[0], self.per_sample, dtype, self.terms[1:])

    def all_finite(self) -> bool:
        """Whether every element is finite, without forming them. A product with a non-finite
        factor is non-finite, and one of finite factors only when it overflows; rounding is
        monotonic, so the largest |u·v| is fl(max|u| · max|v|) over the pairs multiplied (per
        sample: max_j |u[n, j]| · max_i |v[n, i]|; otherwise |u[n, j]| · max_i |v[j, i]|)."""
        if len(self.terms) > 1:
            return bool(np.isfinite(np.asarray(self)).all())
        u, v = self.terms[0]
        if u.size == 0 or v.size == 0:
            return True
        if not (np.isfinite(u).all() and np.isfinite(v).all()):
            return False
        with np.errstate(over="ignore"):
            top = np.abs(u).max(1) * np.abs(v).max(1) if self.per_sample else np.abs(u) * np.abs(v).max(1)
        return bool(np.isfinite(top).all())

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if ufunc is np.isfinite and method == "__call__" and len(inputs) == 1 and not kwargs:
            return _Finite(self)
        inputs = tuple(np.asarray(x) if isinstance(x, Outer) else x for x in inputs)
        return getattr(ufunc, method)(*inputs, **kwargs)

    @staticmethod
    def stack(many: list, dtype=None) -> "Outer":
        """Outer arrays of consecutive epochs (alike but for their numbers) → one, the epoch on
        the last axis."""
        first = many[0]
        stack = lambda t, side: np.stack([x.terms[t][side] for x in many], axis=-1)
        terms = [(stack(t, 0), stack(t, 1)) for t in range(len(first.terms))]
        return Outer(*terms[0], first.per_sample, dtype or first.dtype, terms[1:])


class _Finite:
    """``np.isfinite`` of an :class:`Outer`: ``.all()`` without forming it, else the array."""

    def __init__(self, x: Outer):
        self.x = x

    def all(self) -> bool:
        return self.x.all_finite()

    def __array__(self, dtype=None, copy=None):
        return np.isfinite(np.asarray(self.x)) if dtype is None else np.isfinite(np.asarray(self.x)).astype(dtype)


def all_finite(x) -> bool:
    """Whether every element of an array (or an :class:`Outer`) is finite."""
    return x.all_finite() if isinstance(x, Outer) else bool(np.isfinite(x).all())


def _basic(k) -> bool:
    return isinstance(k, (int, np.integer, slice))


def _same_shape_ints(key) -> bool:
    """Ints and integer index arrays of one shape: x[n, j, i] is then u[n, j] · v[n, i] as is."""
    shapes = set()
    for k in key:
        if isinstance(k, np.ndarray) and k.dtype.kind in "iu":
            shapes.add(k.shape)
        elif not isinstance(k, (int, np.integer)):
            return False
    return len(shapes) <= 1


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
    gW_sample: list = field(default_factory=list)  # N×J×I: δ_n a_nᵀ (an Outer, unformed)
    gb_sample: list = field(default_factory=list)  # N×J
    gW: list = field(default_factory=list)  # batch mean
    gb: list = field(default_factory=list)
    W_down: list = field(default_factory=list)  # the weights that carry δ of layer l down
    parts: list = field(default_factory=list)  # N×J×I: δ_j · W_ji, ∂E/∂a_i through j (an Outer)
    dzdW: list = field(default_factory=list)  # N×I: the local factor ∂z_l/∂W_l = a_{l−1} (act[:-1] here)
    W_new: list = field(default_factory=list)
    b_new: list | None = None
    #: the optimizer's quantities {(quantity, "W" | "b"): per layer} and its state before the step
    opt: dict = field(default_factory=dict)
    opt_prev: dict | None = None


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


def loss_terms(net: Network, o: np.ndarray, T: np.ndarray, z: np.ndarray | None = None) -> np.ndarray:
    """The N×K loss terms E[k] of every sample, from the outputs o, or from the output layer's
    logits z where the loss reads them (cross-entropy)."""
    return LOSS_FUNCTIONS[net.loss][0](z if functions.LOSSES[net.loss].from_logits else o, T)


def batch_loss(terms: np.ndarray):
    """E = mean over samples of Σ_k E[k]."""
    return np.add.reduce(np.add.reduce(terms, 1)) / terms.shape[0]


def _update(value, grad, lr, mask, out=None):
    """θ⁺ = θ − α ∂E/∂θ; a frozen entry keeps its value exactly (1·g is g exactly, so α = 1
    skips the product). With ``out`` (the gradient's own array, when nothing else reads it) the
    products and θ⁺ are written into it: a 784-input layer's weights are 400 kB an array, and
    fresh memory of that size costs more than the arithmetic."""
    step = grad if mask is None else np.multiply(grad, mask, out=out)
    return np.subtract(value, step if lr == 1 else np.multiply(lr, step, out=out), out=out)


def _step(net: Network, p: Params, P: str, l: int, value, grad, mask, state: dict, shown: dict | None):
    """θ⁺ of layer l's weights (``P`` = "W") or biases ("b") by the network's optimizer: the
    carried quantities go into ``state`` for the next epoch and, with ``shown``, every
    quantity into it (the tape's). A frozen entry has a zero gradient, which leaves it as it is."""
    if not net.steps:
        return _update(value, grad, net.lr, mask)
    opt = functions.OPTIMIZERS[net.optimizer]
    before = p.state
    prev = None
    if before is not None and all((q, P) in before for q in opt.carried if q in net.steps):
        prev = {q: before[(q, P)][l] for q in opt.carried if (q, P) in before}
    t = 1 if before is None else before["t"] + 1
    out = opt.step(value, grad if mask is None else grad * mask, prev, net.hyper, net.lr, t)
    state["t"] = t
    for q, x in out.items():
        if q in opt.carried:
            state.setdefault((q, P), [None] * net.layers)[l] = x
        if shown is not None and q != "+":
            shown.setdefault((q, P), [None] * net.layers)[l] = x
    return out["+"]


def _state_before(net: Network, p: Params) -> dict | None:
    """The optimizer's state before this epoch's step, as the tape shows it: zeros (and t = 0)
    before the first step; None for plain gradient descent."""
    if not net.steps or p.state is not None:
        return p.state
    carried = [q for q in functions.OPTIMIZERS[net.optimizer].carried if q in net.steps]
    tensors = [("W", p.W)] + ([("b", p.b)] if p.b is not None else [])
    return {**{(q, P): [np.zeros_like(x) for x in xs] for q in carried for P, xs in tensors}, "t": 0}


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

    Without ``full`` (the far jumps) the same operations run in :class:`_FastForward`, which
    leaves out what only the tape shows; a test holds the two to the same bits.
    """
    if not full:
        return net.fast_forward(p)
    with np.errstate(**_QUIET):
        zs, acts = forward(net, p, net.X)
        o = acts[-1]
        terms = loss_terms(net, acts[-1], net.T, zs[-1])
        g = LOSS_FUNCTIONS[net.loss][1](o, net.T)
        n = net.divisor
        new_W = list(p.W)
        new_b = None if p.b is None else list(p.b)
        arrays = EpochArrays(W=p.W, b=p.b, opt_prev=_state_before(net, p))
        state = {}
        for l in reversed(range(net.layers)):
            dadz = ACTIVATION_FUNCTIONS[net.activations[l]][1](zs[l], acts[l + 1])
            # a softmax output's Jacobian (N×K×K) is shown; δ is the loss's simplified Σ_k
            delta = g * dadz if dadz.ndim == g.ndim else net.output_delta(o, net.T)
            # the batch mean of the per-sample gradients δ_n a_nᵀ, as one product
            gW = _mean_of_sum(delta.T.dot(acts[l]), n)
            new_W[l] = _step(net, p, "W", l, p.W[l], gW, net.W_mask and net.W_mask[l], state, arrays.opt)
            if p.b is not None:
                gb = _mean_of_sum(np.add.reduce(delta, 0), n)
                new_b[l] = _step(net, p, "b", l, p.b[l], gb, net.b_mask and net.b_mask[l], state, arrays.opt)
                arrays.gb_sample.insert(0, delta)
                arrays.gb.insert(0, gb)
            W_down = new_W[l] if net.sequential else p.W[l]
            arrays.dEda.insert(0, g)
            arrays.dadz.insert(0, dadz)
            arrays.dEdz.insert(0, delta)
            arrays.gW_sample.insert(0, Outer(delta, acts[l], per_sample=True))
            arrays.gW.insert(0, gW)
            arrays.W_down.insert(0, W_down)
            arrays.parts.insert(0, Outer(delta, W_down, per_sample=False))
            if l:
                g = delta.dot(W_down)
        loss = batch_loss(terms)
        E_sample = terms.sum(axis=1)  # inside: finite terms may overflow their sum
    arrays.z, arrays.act = zs, acts
    arrays.E_terms, arrays.E_sample, arrays.E = terms, E_sample, loss
    arrays.W_new, arrays.b_new = new_W, new_b
    arrays.dzdW = acts[:-1]
    return Params(new_W, new_b, state or None), loss, arrays


def advance(net: Network, p: Params):
    """:func:`run_epoch` without ``full`` or the loss: the next epoch's parameters, and what the
    loss reads, for ``net.fast_forward.losses`` to work out with other epochs' at once."""
    return net.fast_forward.advance(p)


class _FastForward:
    """:func:`run_epoch` without ``full`` for one network: the same IEEE operations on the same
    operands in the same order, so bit-for-bit the same parameters and loss, with the lookups
    (functions, constants, masks) made once and nothing kept that only the tape shows. Where
    run_epoch computes one value several times, it is computed once here: with sigmoid outputs
    and BCE, o(1 − o) (∂a/∂z, and ∂E/∂o's denominator). The loss of a run of epochs is worked
    out together (:meth:`advance`, then :meth:`losses`)."""

    def __init__(self, net: Network):
        dt = net.X.dtype
        self.X, self.T, self.one, self.n = net.X, net.T, _ONE[dt], net.divisor
        self.eps, self.K = _EPS[dt], net.T.shape[-1]
        self.sequential, self.lr = net.sequential, net.lr
        L = net.layers
        #: per layer: (index, σ?, (f, f′), weight mask, bias mask)
        self.plan = [(l, name == "sigmoid", ACTIVATION_FUNCTIONS[name],
                      net.W_mask and net.W_mask[l], net.b_mask and net.b_mask[l])
                     for l, name in enumerate(net.activations)]
        self.down = self.plan[::-1]
        self.loss = LOSS_FUNCTIONS[net.loss]
        self.logits = functions.LOSSES[net.loss].from_logits
        self.output_delta = net.output_delta
        self.bce_sigmoid = net.loss == "bce" and net.activations[-1] == "sigmoid"
        self.net, self.optimized = net, bool(net.steps)
        self.layers = L

    def __call__(self, p: Params):
        new, seen = self.advance(p)
        return new, self.losses([seen])[0], None

    def advance(self, p: Params):
        """The next epoch's parameters, and what its loss reads (the outputs, or the output
        layer's logits for a loss from logits), the loss itself left to :meth:`losses`."""
        with np.errstate(**_QUIET):
            zs, acts = self.forward(p.W, p.b)
            if self.output_delta is None:
                g, dadz_out = self.gradient(acts[-1])
                new_W, new_b, state = self.backward(p, zs, acts, g, dadz_out)
            else:  # softmax: δ of the output straight from the loss
                new_W, new_b, state = self.backward(p, zs, acts, None, None, self.output_delta(acts[-1], self.T))
        return Params(new_W, new_b, state), zs[-1] if self.logits else acts[-1]

    def losses(self, seen):
        """The batch loss E of each epoch from what its loss read (a sequence of N×K arrays), in
        one pass over their stack: each is what :func:`batch_loss` gives for that epoch alone,
        the same elementwise operations and the same sums along the same axes. A dozen NumPy
        calls an epoch were a fifth of XOR's fast-forward."""
        with np.errstate(**_QUIET):
            terms = self.loss[0](np.stack(seen), self.T)
            return _reduce(_reduce(terms, -1), -1) / terms.shape[-2]

    def forward(self, W, b):
        """z_l = a_{l−1} W_lᵀ + b_l, a_l = f_l(z_l), as :func:`forward` (σ written out)."""
        one, exp = self.one, np.exp
        a = self.X
        zs, acts = [], [a]
        for l, sigmoid, f, _, _ in self.plan:
            z = a.dot(W[l].T)
            if b is not None:
                z += b[l]
            a = one / (one + exp(-z)) if sigmoid else f[0](z)
            zs.append(z)
            acts.append(a)
        return zs, acts

    def gradient(self, o):
        """(∂E/∂o, and ∂a/∂z of the output when it comes for free)."""
        if not self.bce_sigmoid:
            return self.loss[1](o, self.T), None
        oq = o * (self.one - o)  # d_sigmoid's a(1 − a) at the output, and d_bce's o(1 − o)
        g = (o - self.T) / np.maximum(oq, self.eps)
        return (g if self.K == 1 else g / self.K), oq  # _per_output

    def backward(self, p, zs, acts, g, dadz, delta=None):
        """δ, the batch-mean gradients and the update of every layer, from the output down;
        ``dadz``: the output's ∂a/∂z if already known; ``delta``: the output's δ if known.
        Returns the new weights, biases and optimizer state."""
        one, n, lr, optimized = self.one, self.n, self.lr, self.optimized
        W, b, state = p.W, p.b, {}
        new_W, new_b = list(W), None if b is None else list(b)
        for l, sigmoid, f, W_mask, b_mask in self.down:
            if delta is None:
                if dadz is None:
                    a = acts[l + 1]
                    dadz = a * (one - a) if sigmoid else f[1](zs[l], a)
                delta = g * dadz
                dadz = None
            gW = delta.T.dot(acts[l])  # a fresh array that only this step reads: updated in place
            if n is not None:
                gW /= n
            if optimized:
                new_W[l] = _step(self.net, p, "W", l, W[l], gW, W_mask, state, None)
            else:
                new_W[l] = _update(W[l], gW, lr, W_mask, out=gW)
            if b is not None:
                gb = _reduce(delta, 0)
                if n is not None:
                    gb /= n
                if optimized:
                    new_b[l] = _step(self.net, p, "b", l, b[l], gb, b_mask, state, None)
                else:
                    new_b[l] = _update(b[l], gb, lr, b_mask, out=gb)
            if l:
                g = delta.dot(new_W[l] if self.sequential else W[l])
            delta = None
        return new_W, new_b, state or None


_reduce = np.add.reduce


def evaluate(net: Network, p: Params) -> EpochArrays:
    """The forward pass and loss with the final weights (the evaluate phase)."""
    with np.errstate(**_QUIET):
        zs, acts = forward(net, p, net.X)
        terms = loss_terms(net, acts[-1], net.T, zs[-1])
        return EpochArrays(W=p.W, b=p.b, z=zs, act=acts, E_terms=terms, E_sample=terms.sum(axis=1),
                           E=batch_loss(terms))
