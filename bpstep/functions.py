"""The registries: one entry per activation and per loss, holding everything about it.

An entry has the NumPy value and derivative the engine computes with, its formulas (the scalar
view's notation tree, the layer view's line, both rendered as Unicode or LaTeX by
:mod:`bpstep.notation`), its symbol, the words the Markdown export uses, the rounding spread the
cross-check allows (:mod:`bpstep.agreement`) and what the torch mirror (:mod:`bpstep.reference`)
computes it with. Adding an activation or a loss is adding an entry here (and, where torch has
no such function, teaching the mirror one).

Activations: ``a = f(z)``; the derivative is written with whichever of z and a is simpler.
Losses: per-sample terms E[k] (so that E = Σ_k E[k]) and ∂E/∂o of that sample's E.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .notation import HALF, ONE, Call, Const, Frac, Indicator, Neg, Op, Pow, Power

#: torch's BCELoss clamps each log at -100 and its gradient's denominator at 1e-12 (torch's
#: EPSILON is the float32 1e-12f, 9.99999996e-13, for float64 tensors too: the cross-check saw it).
BCE_LOG_FLOOR = -100.0
BCE_EPS = float(np.float32(1e-12))


class PerDtype(dict):
    """``value`` as a 0-d array of each dtype, made when first asked for."""

    def __init__(self, value):
        super().__init__()
        self.value = value

    def __missing__(self, dtype):
        self[dtype] = np.array(self.value, dtype)
        return self[dtype]


# numpy converts a Python number on every operation, which on these tiny arrays costs as much
# as the operation itself; a 0-d array of the array's dtype gives the same result without that
ONE_OF = PerDtype(1.0)
LOG_FLOOR_OF = PerDtype(BCE_LOG_FLOOR)
EPS_OF = PerDtype(BCE_EPS)


@dataclass(frozen=True)
class Activation:
    """a = f(z). ``formula(z)`` and ``derivative_formula(a, z)`` build the scalar view's trees
    from the Refs of a and z; ``layer(z)`` and ``layer_derivative(a, z)`` the layer view's text
    from the labels of the matrices; ``reads`` is which of them the derivative reads ("a", "z" or
    None). ``spread(a, z, S_a, S_z, rtol)``: the rounding spread of the derivative (agreement)."""

    value: Callable
    derivative: Callable
    formula: Callable
    derivative_formula: Callable
    layer: Callable
    layer_derivative: Callable
    reads: str | None
    spread: Callable
    torch: Callable  # torch → the function the mirror applies to z
    #: False: a of each unit depends on the whole layer's z (softmax); ``derivative`` is then the
    #: Jacobian, N×K×K with [n, k, j] = ∂a_k/∂z_j, ``formula(z, zs)`` reads every z of the layer
    #: (``zs()``: their Refs) and ``derivative_formula(a, z)`` takes (a_k, a_j, k == j)
    elementwise: bool = True


def _sigmoid(z):
    """σ(z) = 1 / (1 + e^(−z))"""
    one = ONE_OF[z.dtype]
    return one / (one + np.exp(-z))


def _called(symbol, tex):
    """f(z) written as a call of ``symbol`` (``tex`` in LaTeX)."""
    return lambda z, zs: Call(symbol, z, tex)


def _softmax(z):
    """o_k = e^(z_k − m) / Σ_j e^(z_j − m), m = max_j z_j (as torch: no overflow)"""
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _softmax_jacobian(z, a):
    """[n, k, j] = ∂o_k/∂z_j = o_k(δ_kj − o_j)"""
    eye = np.eye(a.shape[-1], dtype=a.dtype)
    return a[..., :, None] * (eye - a[..., None, :])


def _softmax_formula(z, zs):
    return Frac(Call("exp", z), Op("+", tuple(Call("exp", zk) for zk in zs())))


def _softmax_derivative_formula(ak, aj, same):
    """o_k(1 − o_k) on the diagonal, −o_k·o_j off it"""
    return Op("", (ak, Call("paren", Op("−", (ONE, ak))))) if same else Neg(Op("·", (ak, aj)))


def _softmax_spread(a, z, S_a, S_z, rtol):
    """of o_k(δ_kj − o_j): each product exact to ε, plus the drift of o_k and o_j"""
    ak, aj = np.abs(a[..., :, None]), np.abs(a[..., None, :])
    eye = np.eye(a.shape[-1])
    return ak * (eye + aj) + S_a[..., :, None] * (eye + aj) + ak * S_a[..., None, :]


ACTIVATIONS = {
    "sigmoid": Activation(
        value=_sigmoid,
        derivative=lambda z, a: a * (ONE_OF[a.dtype] - a),  # σ′(z) = σ(z)(1 − σ(z)) = a(1 − a)
        formula=_called("σ", r"\sigma"),
        derivative_formula=lambda a, z: Op("", (a, Call("paren", Op("−", (ONE, a))))),
        layer=lambda z: f"σ({z})",
        layer_derivative=lambda a, z: f"{a} ⊙ (1 − {a})",
        reads="a",
        spread=lambda a, z, S_a, S_z, rtol: np.abs(a) * (1 + np.abs(a)) + np.abs(1 - 2 * a) * S_a,
        torch=lambda torch: torch.sigmoid),
    "tanh": Activation(
        value=np.tanh,
        derivative=lambda z, a: ONE_OF[a.dtype] - a * a,  # tanh′(z) = 1 − tanh²(z) = 1 − a²
        formula=_called("tanh", r"\tanh"),
        derivative_formula=lambda a, z: Op("−", (ONE, Power(a))),
        layer=lambda z: f"tanh({z})",
        layer_derivative=lambda a, z: f"1 − {a} ⊙ {a}",
        reads="a",
        spread=lambda a, z, S_a, S_z, rtol: 1 + a * a + 2 * np.abs(a) * S_a,
        torch=lambda torch: torch.tanh),
    "relu": Activation(
        value=lambda z: np.maximum(z, 0),
        derivative=lambda z, a: (z > 0).astype(z.dtype),  # [z > 0]: 0 at z = 0, as torch
        formula=_called("relu", r"\operatorname{relu}"),
        derivative_formula=lambda a, z: Indicator(z),
        layer=lambda z: f"relu({z})",
        layer_derivative=lambda a, z: f"[{z} > 0]",
        reads="z",
        # a z within rtol·S_z of 0 may take either side: the derivative may differ by 1
        spread=lambda a, z, S_a, S_z, rtol: np.where(np.abs(z) <= rtol * S_z, 1 / rtol, 0.0),
        torch=lambda torch: torch.relu),
    "identity": Activation(
        value=lambda z: z.copy(),
        derivative=lambda z, a: np.ones_like(z),
        formula=lambda z, zs: z,
        derivative_formula=lambda a, z: ONE,
        layer=lambda z: z,
        layer_derivative=lambda a, z: "1",
        reads=None,
        spread=lambda a, z, S_a, S_z, rtol: np.zeros_like(a),
        torch=lambda torch: (lambda z: z)),
    "softmax": Activation(
        value=_softmax,
        derivative=_softmax_jacobian,
        formula=_softmax_formula,
        derivative_formula=_softmax_derivative_formula,
        layer=lambda z: f"softmax({z})",
        layer_derivative=lambda a, z: f"diag({a}) − {a} {a}ᵀ",
        reads="a",
        spread=_softmax_spread,
        torch=lambda torch: (lambda z: torch.softmax(z, -1)),
        elementwise=False),
}


# --- losses -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Loss:
    """A loss. ``term_formula(o, t, K)`` and ``gradient_formula(o, t, K)`` build the scalar
    view's trees of E[k] and ∂E/∂o_k; ``layer`` is the layer view's per-sample E with ``/K``
    where the mean over K outputs goes, ``layer_gradient(o, t, k)`` its ∂E/∂o with ``k`` the
    text of that mean; ``words`` name it in the Markdown export; ``torch(torch)`` is the module
    the mirror computes the terms with (``reduction='none'``), None: written out there.
    ``term_spread(E_terms, o, t, S_o, spread, K)`` and ``gradient_spread(o, g, S_o, spread, K)``:
    the rounding scales of E[k] and ∂E/∂o (:func:`bpstep.agreement.error_scales`; ``spread``
    is that of t − o)."""

    terms: Callable
    gradient: Callable
    term_formula: Callable
    gradient_formula: Callable
    layer: str
    layer_gradient: Callable
    words: str
    torch: Callable
    term_spread: Callable
    gradient_spread: Callable
    #: True: ``terms(z, t)`` reads the logits z of the output layer (log-sum-exp), not o
    from_logits: bool = False
    #: δ of the output layer when the loss comes after softmax: Σ_k ∂E/∂o_k·∂o_k/∂z_j, simplified
    #: (``delta(o, t)``; ``delta_formula(o, t)`` the simplified formula, ``layer_delta(o, t)`` the
    #: layer view's); None: not after softmax
    delta: Callable | None = None
    delta_formula: Callable | None = None
    layer_delta: Callable | None = None


def count(n):
    """The number n in a formula."""
    return Const(str(n), str(n))


def over(node, K):
    """node / K, the mean over a sample's K outputs (node alone when K = 1)."""
    return node if K == 1 else Frac(node, count(K))


def _per_output(v):
    """v / K, the mean over a sample's K outputs (skipped when K = 1: x/1 is exact)"""
    return v if v.shape[-1] == 1 else v / v.shape[-1]


def _clamped_log(v):
    return np.maximum(np.log(v), LOG_FLOOR_OF[v.dtype])


def _bce(o, t):
    """E[k] = −[t_k ln o_k + (1 − t_k) ln(1 − o_k)] / K, logs clamped at −100 as torch's BCELoss"""
    one = ONE_OF[o.dtype]
    return _per_output(-(t * _clamped_log(o) + (one - t) * _clamped_log(one - o)))


def _d_bce(o, t):
    """∂E/∂o_k = (o_k − t_k) / max(o_k(1 − o_k), 1e−12) / K"""
    return _per_output((o - t) / np.maximum(o * (ONE_OF[o.dtype] - o), EPS_OF[o.dtype]))


_E_MINUS_100 = np.exp(BCE_LOG_FLOOR)


def _bce_term_spread(terms, o, t, S_o, spread, K):
    # ln o and ln(1 − o); a clamped log (at −100, so also ln 0) does not pass differences on
    S_ln_o = np.where(o > _E_MINUS_100, S_o / o, 0.0)
    S_ln_1o = np.where(1 - o > _E_MINUS_100, (1 + S_o) / (1 - o), 0.0)
    return np.abs(terms) + (np.abs(t) * S_ln_o + np.abs(1 - t) * S_ln_1o) / K


def _bce_gradient_spread(o, g, S_o, spread, K):
    den = np.maximum(o * (1 - o), BCE_EPS)
    S_den = np.where(o * (1 - o) > BCE_EPS, np.abs(o) * (1 + np.abs(o)) + np.abs(1 - 2 * o) * S_o, 0)
    return spread / den / K + np.abs(g) * S_den / den


def _bce_formula(o, t, K):
    inner = Op("+", (Op("·", (t, Call("ln", o))),
                     Op("·", (Call("paren", Op("−", (ONE, t))), Call("ln", Op("−", (ONE, o)))))))
    return over(Neg(inner), K)


def _log_softmax(z):
    """ln o_k = z_k − m − ln Σ_j e^(z_j − m), m = max_j z_j (log-sum-exp: no overflow, no ln 0)"""
    shifted = z - z.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


LOSSES = {
    "half_sse": Loss(
        terms=lambda o, t: 0.5 * (t - o) ** 2,  # E[k] = ½(t_k − o_k)²
        gradient=lambda o, t: -(t - o),  # ∂E/∂o_k = −(t_k − o_k)
        term_formula=lambda o, t, K: Op("", (HALF, Power(Op("−", (t, o))))),
        gradient_formula=lambda o, t, K: Neg(Op("−", (t, o))),
        layer="Σₖ ½(tₖ − oₖ)²",
        layer_gradient=lambda o, t, k: f"−({t} − {o})",
        words="half the squared error, summed over the outputs",
        torch=lambda torch: None,
        term_spread=lambda terms, o, t, S_o, spread, K: np.abs(terms) + np.abs(t - o) * spread,
        gradient_spread=lambda o, g, S_o, spread, K: spread),
    "mse": Loss(
        terms=lambda o, t: _per_output((o - t) ** 2),  # torch's MSELoss(reduction='mean') for one sample
        gradient=lambda o, t: _per_output(2 * (o - t)),  # ∂E/∂o_k = 2(o_k − t_k) / K
        term_formula=lambda o, t, K: over(Power(Op("−", (o, t))), K),
        gradient_formula=lambda o, t, K: over(Op("", (Const("2", "2"), Call("paren", Op("−", (o, t))))), K),
        layer="Σₖ (oₖ − tₖ)²/K",
        layer_gradient=lambda o, t, k: f"2({o} − {t}){k}",
        words="the mean squared error (as torch's MSELoss)",
        torch=lambda torch: torch.nn.MSELoss(reduction="none"),
        term_spread=lambda terms, o, t, S_o, spread, K: np.abs(terms) + 2 * np.abs(o - t) * spread / K,
        gradient_spread=lambda o, g, S_o, spread, K: 2 * spread / K),
    "bce": Loss(
        terms=_bce,
        gradient=_d_bce,
        term_formula=_bce_formula,
        gradient_formula=lambda o, t, K: over(Frac(Op("−", (o, t)), Op("", (o, Call("paren", Op("−", (ONE, o)))))), K),
        layer="−Σₖ [tₖ ln oₖ + (1 − tₖ) ln(1 − oₖ)]/K",
        layer_gradient=lambda o, t, k: f"({o} − {t}) ⊘ ({o} ⊙ (1 − {o})){k}",
        words="the binary cross-entropy (as torch's BCELoss)",
        torch=lambda torch: torch.nn.BCELoss(reduction="none"),
        term_spread=_bce_term_spread,
        gradient_spread=_bce_gradient_spread),
    "cross_entropy": Loss(
        terms=lambda z, t: -(t * _log_softmax(z)),  # E[k] = −t_k ln o_k, from the logits
        gradient=lambda o, t: -(t / o),  # ∂E/∂o_k = −t_k / o_k
        term_formula=lambda o, t, K: Neg(Op("·", (t, Call("ln", o)))),
        gradient_formula=lambda o, t, K: Neg(Frac(t, o)),
        layer="−Σₖ tₖ ln oₖ",
        layer_gradient=lambda o, t, k: f"−{t} ⊘ {o}",
        words="the cross-entropy of the softmax outputs (as torch's CrossEntropyLoss of the logits)",
        torch=lambda torch: torch.nn.CrossEntropyLoss(reduction="none"),
        # ln o_k and 1/o_k pass o_k's relative spread S_o/o on (nothing where t_k = 0: exact zeros)
        term_spread=lambda terms, o, t, S_o, spread, K: np.abs(terms) + np.where(t == 0, 0, np.abs(t) * (1 + S_o / o)),
        gradient_spread=lambda o, g, S_o, spread, K: np.where(g == 0, 0, np.abs(g) * (1 + S_o / o)),
        from_logits=True,
        # Σ_k (−t_k/o_k)·o_k(δ_kj − o_j) = o_j Σ_k t_k − t_j = o_j − t_j: the targets sum to 1
        delta=lambda o, t: o - t,
        delta_formula=lambda o, t: Op("−", (o, t)),
        layer_delta=lambda o, t: f"{o} − {t}"),
}


# --- optimizers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Optimizer:
    """An optimizer with torch's argument names, defaults and update rule. Each quantity it
    computes for a parameter θ (with gradient g = ∂E/∂θ, the batch mean) is a step of the update
    phase, in the order of ``kinds(h)`` (h: the hyper-parameters), then θ⁺:

    - ``step(θ, g, prev, h, lr, t)`` → {quantity: array, "+": θ⁺}; ``prev``: the ``carried``
      quantities of the epoch before (None at the first step), t the step count from 1;
    - ``formula(q, r)``: quantity q's formula tree (``"+"``: θ⁺'s) from ``r``, which makes the
      Refs: ``r.theta``, ``r.grad``, ``r.q(q)`` (this epoch's), ``r.prev(q)`` (the carried
      value of the epoch before), ``r.hp(name)``, ``r.lr``, ``r.t``;
    - ``reads(q, h)``: what q's formula reads: quantities, "grad", "theta", "prev:q";
    - ``spread(q, S, x, θ, h, lr)``: its rounding scale from the scales S and values x of those
      before it (``S["grad"]``, ``x["prev:m"]``, …; the carried values are exact: each epoch of
      the cross-check starts from bpstep's own state);
    - ``torch(torch, params, h, lr)`` → the torch optimizer, ``state`` maps the carried
      quantities to the keys of its state."""

    hyper: dict
    symbols: dict  # hyper-parameter → (Unicode, LaTeX)
    names: dict  # quantity → (Unicode prefix, LaTeX prefix) of its name, e.g. m → ("m", "m")
    kinds: Callable
    carried: tuple
    step: Callable
    formula: Callable
    reads: Callable
    spread: Callable
    torch: Callable
    state: dict
    words: str


def _sgd_kinds(h):
    return (("g",) if h["weight_decay"] else ()) + (("buf",) if h["momentum"] else ()) + (
        ("nes",) if h["nesterov"] else ())


def _sgd_step(theta, g, prev, h, lr, t):
    out = {}
    if h["weight_decay"]:
        g = out["g"] = g + h["weight_decay"] * theta
    u = g
    if h["momentum"]:  # torch: the first buffer is the gradient itself, without dampening
        u = out["buf"] = g.copy() if prev is None else h["momentum"] * prev["buf"] + (1 - h["dampening"]) * g
        if h["nesterov"]:
            u = out["nes"] = g + h["momentum"] * u
    out["+"] = theta - lr * u
    return out


def _sgd_input(h):
    """The gradient as the optimizer takes it: with weight decay added, or ∂E/∂θ itself."""
    return "g" if h["weight_decay"] else "grad"


def _sgd_reads(q, h):
    g = _sgd_input(h)
    return {"g": ("grad", "theta"), "buf": ("prev:buf", g), "nes": (g, "buf"),
            "+": ("theta", (_sgd_kinds(h) or ("grad",))[-1])}[q]


def _sgd_formula(q, r):
    g = r.q("g") if r.h["weight_decay"] else r.grad
    if q == "g":
        return Op("+", (r.grad, Op("·", (r.hp("weight_decay"), r.theta))))
    if q == "buf":  # (torch's first buffer is g itself: b⁻ is 0 then, and τ taken as 0)
        return Op("+", (Op("·", (r.hp("momentum"), r.prev("buf"))),
                        Op("·", (Call("paren", Op("−", (ONE, r.hp("dampening")))), g))))
    if q == "nes":
        return Op("+", (g, Op("·", (r.hp("momentum"), r.q("buf")))))
    u = r.q(_sgd_kinds(r.h)[-1]) if _sgd_kinds(r.h) else r.grad
    return Op("−", (r.theta, Op("×", (r.lr, u))))


def _sgd_spread(q, S, x, theta, h, lr):
    g = _sgd_input(h)
    if q == "g":
        return S["grad"] + h["weight_decay"] * np.abs(theta)
    if q == "buf":  # (the first buffer is g itself: its b⁻ is 0)
        return h["momentum"] * np.abs(x["prev:buf"]) + (1 - h["dampening"]) * S[g] if "prev:buf" in x else S[g]
    if q == "nes":
        return S[g] + h["momentum"] * S["buf"]
    return np.abs(theta) + lr * S[(_sgd_kinds(h) or ("grad",))[-1]]


def _adam_kinds(h):
    return (("g",) if h["weight_decay"] else ()) + ("m", "v", "mhat", "vhat", "upd")


def _adam_step(theta, g, prev, h, lr, t):
    out = {}
    if h["weight_decay"]:
        g = out["g"] = g + h["weight_decay"] * theta
    b1, b2, one = h["beta1"], h["beta2"], ONE_OF[g.dtype]
    m_prev, v_prev = (np.zeros_like(g), np.zeros_like(g)) if prev is None else (prev["m"], prev["v"])
    m = out["m"] = b1 * m_prev + (one - b1) * g
    v = out["v"] = b2 * v_prev + (one - b2) * (g * g)
    mhat = out["mhat"] = m / (one - b1 ** t)
    vhat = out["vhat"] = v / (one - b2 ** t)
    upd = out["upd"] = lr * mhat / (np.sqrt(vhat) + h["eps"])
    out["+"] = theta - upd
    return out


def _adam_reads(q, h):
    g = "g" if h["weight_decay"] else "grad"
    return {"g": ("grad", "theta"), "m": ("prev:m", g), "v": ("prev:v", g), "mhat": ("m",), "vhat": ("v",),
            "upd": ("mhat", "vhat"), "+": ("theta", "upd")}[q]


def _adam_formula(q, r):
    g = r.q("g") if r.h["weight_decay"] else r.grad
    if q == "g":
        return Op("+", (r.grad, Op("·", (r.hp("weight_decay"), r.theta))))
    if q in ("m", "v"):
        beta = r.hp("beta1" if q == "m" else "beta2")
        new = g if q == "m" else Power(g)
        return Op("+", (Op("·", (beta, r.prev(q))), Op("·", (Call("paren", Op("−", (ONE, beta))), new))))
    if q in ("mhat", "vhat"):
        beta = r.hp("beta1" if q == "mhat" else "beta2")
        return Frac(r.q(q[0]), Call("paren", Op("−", (ONE, Pow(beta, r.t)))))
    if q == "upd":
        root = Call("√", r.q("vhat"), r"\operatorname{sqrt}")
        return Frac(Op("·", (r.lr, r.q("mhat"))), Call("paren", Op("+", (root, r.hp("eps")))))
    return Op("−", (r.theta, r.q("upd")))


def _adam_spread(q, S, x, theta, h, lr):
    g = "g" if h["weight_decay"] else "grad"
    b1, b2 = h["beta1"], h["beta2"]
    if q == "g":
        return S["grad"] + h["weight_decay"] * np.abs(theta)
    if q == "m":
        return b1 * np.abs(x["prev:m"]) + (1 - b1) * S[g]
    if q == "v":
        return b2 * np.abs(x["prev:v"]) + (1 - b2) * 2 * np.abs(x[g]) * S[g]
    if q in ("mhat", "vhat"):  # m / (1 − β₁ᵗ)
        return S[q[0]] / (1 - (b1 if q == "mhat" else b2) ** x["t"])
    if q == "upd":
        root = np.sqrt(x["vhat"])
        den = root + h["eps"]
        with np.errstate(divide="ignore", invalid="ignore"):
            S_root = np.where(root > 0, S["vhat"] / (2 * root), 0.0)
        return lr * (S["mhat"] + np.abs(x["mhat"]) * S_root / den) / den
    return np.abs(theta) + S["upd"]


#: what an optimizer step may show of a parameter θ (ids ``q(W[l,j,i])``, ``q(b[l,j])``): the
#: gradient with weight decay, the momentum buffer, Nesterov's gradient, Adam's m, v, m̂, v̂ and Δ
QUANTITIES = ("g", "buf", "nes", "m", "v", "mhat", "vhat", "upd")
#: the hyper-parameters a formula reads (given quantities, as lr), and steps, the step count t
HYPER = ("momentum", "dampening", "weight_decay", "beta1", "beta2", "eps", "steps")

OPTIMIZERS = {
    "sgd": Optimizer(
        hyper={"momentum": 0.0, "dampening": 0.0, "nesterov": False, "weight_decay": 0.0},
        symbols={"momentum": ("μ", r"\mu"), "dampening": ("τ", r"\tau"), "weight_decay": ("λ", r"\lambda")},
        names={"g": ("g", "g"), "buf": ("b", "b"), "nes": ("gₙ", r"g^{nes}")},
        kinds=_sgd_kinds, carried=("buf",), step=_sgd_step, formula=_sgd_formula, reads=_sgd_reads,
        spread=_sgd_spread,
        torch=lambda torch, params, h, lr: torch.optim.SGD(params, lr=lr, momentum=h["momentum"],
                                                           dampening=h["dampening"], nesterov=h["nesterov"],
                                                           weight_decay=h["weight_decay"]),
        state={"buf": "momentum_buffer"},
        words="stochastic gradient descent (torch.optim.SGD)"),
    "adam": Optimizer(
        hyper={"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0},
        symbols={"beta1": ("β₁", r"\beta_1"), "beta2": ("β₂", r"\beta_2"), "eps": ("ε", r"\epsilon"),
                 "weight_decay": ("λ", r"\lambda")},
        names={"g": ("g", "g"), "m": ("m", "m"), "v": ("v", "v"), "mhat": ("m̂", r"\hat{m}"),
               "vhat": ("v̂", r"\hat{v}"), "upd": ("Δ", r"\Delta")},
        kinds=_adam_kinds, carried=("m", "v"), step=_adam_step, formula=_adam_formula, reads=_adam_reads,
        spread=_adam_spread,
        torch=lambda torch, params, h, lr: torch.optim.Adam(params, lr=lr, betas=(h["beta1"], h["beta2"]),
                                                            eps=h["eps"], weight_decay=h["weight_decay"]),
        state={"m": "exp_avg", "v": "exp_avg_sq"},
        words="Adam (torch.optim.Adam)"),
}
