"""The cross-check against PyTorch autograd (DESIGN.md §7): step by step for the debugger
(:class:`StepChecker`), whole runs for ``bpstep check`` (:func:`run_check`).

Both compare the engine's arrays of an epoch with the arrays :class:`reference.Mirror` computes
in torch from the same starting parameters (teacher forcing), value by value, through the step
keys of the tape (``Record.lookup``), so a step's torch value is found exactly where its own value
is. ``run_check`` reads whole runs of epochs at once: the keys of a kind and layer are gathered as
index arrays, and the arrays hold the epochs on their last axis.

A value passes when |bpstep − torch| ≤ rtol · max(|bpstep|, |torch|) + atol, with (rtol, atol)
from :data:`TOLERANCES` by dtype; NaN matches NaN and ±inf itself. ``--fd`` adds central finite
differences in float64 (:func:`finite_differences`) as a third witness of every parameter gradient.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from . import engine
from .notation import fmt
from .tape import Record, Tape


class CheckUnavailable(Exception):
    """torch or the device is missing; ``str()`` is the one line for the user."""


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float

    def errors(self, mine, theirs, scale=None, slack=None):
        """(|Δ|, ok) elementwise: ok when |Δ| ≤ rtol·max(S, |mine|, |theirs|) + atol + slack, S the
        value's rounding scale (:func:`error_scales`), slack what the witness may be off by itself
        (both 0 when not given). NaN against NaN and equal infinities are Δ = 0, any other
        non-finite difference is Δ = inf."""
        mine, theirs = np.asarray(mine, np.float64), np.asarray(theirs, np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            err = np.abs(mine - theirs)
            err = np.where((mine == theirs) | (np.isnan(mine) & np.isnan(theirs)), 0.0, err)
            err = np.where(np.isnan(err), np.inf, err)
            size = np.maximum(np.abs(mine), np.abs(theirs))
            if scale is not None:
                size = np.where(np.isfinite(scale), np.fmax(size, scale), size)
            bound = self.rtol * np.where(np.isfinite(size), size, 0.0) + self.atol
            return err, err <= (bound if slack is None else bound + np.nan_to_num(slack))

    def describe(self) -> str:
        return f"|bpstep − torch| ≤ {self.rtol:.0e}·S + {self.atol:.0e}, S ≥ |value| its rounding scale"


_EXACT = Tolerance(0.0, 0.0)
#: per dtype; why these numbers: README, "Cross-check against PyTorch"
TOLERANCES = {"float64": Tolerance(rtol=1e-12, atol=1e-15), "float32": Tolerance(rtol=1e-5, atol=1e-8)}
#: central differences: step h, and how close they must come to the engine's gradient
FD_STEP = 1e-6
FD_TOLERANCE = Tolerance(rtol=1e-5, atol=1e-8)

#: the rows of the report: which step keys belong to which kind of quantity
KINDS = (
    ("forward z, a", ("z", "a")),
    ("loss E[k], E", ("Ek", "En", "E")),
    ("local factors", ("dadz", "dzdW", "Wd", "one")),  # ∂a/∂z, ∂z/∂W, ∂z/∂a, ∂z/∂b
    ("∂E/∂a, parts, δ", ("dEda", "part", "dEdz")),
    ("parameter gradients", ("gWs", "gbs", "gW", "gb")),
    ("updates W⁺, b⁺", ("W+", "b+")),
)
_KIND_OF = {key: kind for kind, keys in KINDS for key in keys}
FD_KIND = "gradients vs finite diff."


def mirror_for(net, dtype: str, device: str):
    """The torch mirror of ``net``, or :class:`CheckUnavailable` saying why there is none."""
    from . import reference

    try:
        return reference.Mirror(net, dtype, device)
    except reference.TorchUnavailable as e:
        message = str(e)
        if message.startswith("torch is not installed"):
            message = f"the cross-check needs PyTorch, and {message}; install torch (pip install torch)"
        raise CheckUnavailable(message) from None


def _format_err(err: float) -> str:
    return "0" if err == 0 else f"{err:.1e}"


# --- step by step ----------------------------------------------------------------------------


class StepChecker:
    """Torch values for the steps of a tape, computed an epoch at a time and cached.

    Constructing it imports torch and resolves the device (``cpu``, ``cuda``, ``cuda:N``, ``mps``,
    ``auto``), raising :class:`CheckUnavailable` when that is not possible. Thread-safe, so a TUI
    worker may fill the cache while the interface reads it.
    """

    KEPT = 4

    def __init__(self, tape: Tape, device: str = "cpu"):
        self.tape = tape
        self.dtype = tape.scenario.dtype
        self.mirror = mirror_for(tape.net, self.dtype, device)
        self.device = str(self.mirror.device)
        self.tolerance = TOLERANCES[self.dtype]
        self._records: OrderedDict[int, tuple] = OrderedDict()
        self._lock = threading.Lock()

    def record(self, epoch: int) -> Record:
        """The torch arrays of ``epoch``, from the engine's parameters at its start."""
        return self._epoch(epoch)[0]

    def _epoch(self, epoch: int, arrays: engine.EpochArrays | None = None) -> tuple[Record, Record]:
        """(torch arrays, rounding scales) of an epoch, computed once and kept for a few epochs."""
        with self._lock:
            cached = self._records.get(epoch)
            if cached is not None:
                self._records.move_to_end(epoch)
                return cached
            mine = [arrays if arrays is not None else self.tape.record(epoch).arrays]
            run = self.mirror.evaluate if self.tape.is_evaluate(epoch) else self.mirror.epochs
            theirs = _epoch_of(run(*_starts(mine)), 0)
            scales = _epoch_of(error_scales(self.tape.net, _stack(mine), self.tolerance.rtol), 0)
            cached = self._records[epoch] = (Record(epoch, theirs, self.tape.net), Record(epoch, scales, self.tape.net))
            while len(self._records) > self.KEPT:
                self._records.popitem(last=False)
            return cached

    def compare(self, step) -> tuple[float, float, bool]:
        """(torch value, |Δ|, within tolerance) of a step of this checker's tape."""
        theirs, scales = self._epoch(step.epoch, step.record.arrays)
        value = theirs.value(step.spec.key)
        err, ok = self.tolerance.errors(step.value, value, scales.value(step.spec.key))
        return value, float(err), bool(ok)

    def verdict_text(self, step) -> str:
        """``torch 0.02592286 ✓ Δ 1.4e-17`` (✗ when out of tolerance)."""
        theirs, err, ok = self.compare(step)
        return f"torch {fmt(theirs)} {'✓' if ok else '✗'} Δ {_format_err(err)}"


def _epoch_of(arrays: engine.EpochArrays, c: int) -> engine.EpochArrays:
    """One epoch of arrays that hold many on their last axis."""
    pick = lambda x: None if x is None else x[..., c]
    many = lambda xs: None if xs is None else [pick(x) for x in xs]
    out = engine.EpochArrays(W=many(arrays.W), b=many(arrays.b))
    for name, value in vars(arrays).items():
        if name not in ("W", "b"):
            setattr(out, name, many(value) if isinstance(value, list) else pick(value))
    return out


def _stack(many: list) -> engine.EpochArrays:
    """Arrays of consecutive epochs → one set, float64, the epoch on the last axis."""
    first = many[0]
    stack = lambda get: np.stack([get(a) for a in many], axis=-1).astype(np.float64)
    out = engine.EpochArrays(W=None, b=None)
    for name, value in vars(first).items():
        if isinstance(value, list):
            value = [None if v is None else stack(lambda a, name=name, l=l: getattr(a, name)[l])
                     for l, v in enumerate(value)]
        elif value is not None:
            value = stack(lambda a, name=name: getattr(a, name))
        setattr(out, name, value)
    return out


# --- whole runs ------------------------------------------------------------------------------


@dataclass
class _Group:
    """Steps of one key kind (and list index) whose values are gathered in one lookup."""

    kind: str
    key: tuple  # for Record.lookup, the indices below the first as arrays
    specs: list  # per gathered value, the steps that show it
    weight: np.ndarray  # how many steps show each value


def _groups(specs) -> list[_Group]:
    by_key: dict = {}
    for s in specs:
        by_key.setdefault(s.key, []).append(s)
    heads: dict = {}
    for key, shown in by_key.items():
        heads.setdefault(key[:2], []).append((key, shown))
    groups = []
    for head, items in heads.items():
        rest = tuple(np.array([k[d] for k, _ in items]) for d in range(len(head), len(items[0][0])))
        groups.append(_Group(_KIND_OF[head[0]], head + rest, [shown for _, shown in items],
                             np.array([len(shown) for _, shown in items], dtype=np.int64)))
    return groups


@dataclass
class _Worst:
    err: float = -1.0
    where: str = ""


@dataclass
class _Row:
    count: int = 0
    skipped: int = 0
    bad: int = 0
    abs: _Worst = field(default_factory=_Worst)
    rel: _Worst = field(default_factory=_Worst)
    first_bad: str = ""


class Comparison:
    """Per kind of quantity: how many values, the largest absolute and relative errors and where,
    and the values out of tolerance."""

    def __init__(self):
        self.rows: dict[str, _Row] = {}

    def add(self, groups, mine: Record, theirs: Record, scales: Record, first_epoch: int, epochs: int,
            tolerance: Tolerance, kind: str | None = None, slack: Record | None = None):
        """Compare ``epochs`` epochs (from ``first_epoch``) of every group. With ``kind`` (a witness
        other than torch) they are filed under that row, ``slack`` is what the witness may be off by,
        and a NaN in ``theirs`` means no witness there (counted as skipped)."""
        skip_nan = kind is not None
        for g in groups:
            shape = (len(g.specs), epochs)
            a, b, scale = (np.broadcast_to(np.asarray(r.lookup(g.key), np.float64), shape) for r in (mine, theirs, scales))
            allowed = None if slack is None else np.broadcast_to(np.asarray(slack.lookup(g.key), np.float64), shape)
            err, ok = tolerance.errors(a, b, scale, allowed)
            row = self.rows.setdefault(kind or g.kind, _Row())
            weight = np.broadcast_to(g.weight[:, None], shape)
            if skip_nan:
                missing = np.isnan(b)
                row.skipped += int(weight[missing].sum())
                err, ok, weight = np.where(missing, -1.0, err), ok | missing, np.where(missing, 0, weight)
            row.count += int(weight.sum())
            if not ok.all():
                row.bad += int(weight[~ok].sum())
                if not row.first_bad:
                    m, c = np.argwhere(~ok)[0]
                    row.first_bad = (f"{_where(g, m, first_epoch + c)} ({g.specs[m][0].name.uni}): bpstep "
                                     f"{fmt(a[m, c])}, {'torch' if kind is None else 'witness'} {fmt(b[m, c])}, "
                                     f"Δ {_format_err(err[m, c])}")
            m, c = np.unravel_index(np.argmax(err), shape)
            if err[m, c] > row.abs.err:
                row.abs = _Worst(float(err[m, c]), _where(g, m, first_epoch + c))
            with np.errstate(divide="ignore", invalid="ignore"):  # relative to the larger of the two
                rel = np.where(err > 0, err / np.maximum(np.abs(a), np.abs(b)), np.where(err < 0, -1.0, 0.0))
                rel = np.where(np.isnan(rel), np.inf, rel)
            m, c = np.unravel_index(np.argmax(rel), shape)
            if rel[m, c] > row.rel.err:
                row.rel = _Worst(float(rel[m, c]), _where(g, m, first_epoch + c))

    @property
    def bad(self) -> int:
        return sum(r.bad for r in self.rows.values())

    @property
    def count(self) -> int:
        return sum(r.count for r in self.rows.values())


def _where(group: _Group, m: int, epoch: int) -> str:
    return f"{group.specs[m][0].qid} epoch {epoch}"


_E_MINUS_100 = np.exp(engine.BCE_LOG_FLOOR)
_EPS64 = np.finfo(np.float64).eps


def error_scales(net, arrays: engine.EpochArrays, rtol: float) -> engine.EpochArrays:
    """For every value of a run of epochs (arrays with the epoch on the last axis), its rounding
    scale S ≥ |value|: two correct implementations that round differently may disagree by a few
    ε·S (ε the dtype's unit roundoff). S is |value| where the arithmetic is well-conditioned, and
    larger where digits cancel or a difference from earlier steps is amplified (first-order
    running error analysis, with the inputs x and the epoch's parameters exact):

    - a sum: the sum of its terms' scales (z = Σ W·a + b, ∂E/∂a = Σ parts, batch means);
    - a product x·y: S_x·|y| + |x|·S_y;
    - a = f(z): |a| + |f′(z)|·S_z;  ∂a/∂z: a(1 − a) and 1 − a² are exact only to ε·1, however
      small they are (a saturated unit), plus the drift of a: |1 − 2a|·S_a, 2|a|·S_a; a relu
      whose z is within rtol·S_z of 0 may take either side, so its derivative may differ by 1;
    - the loss: t − o to ε(|t| + |o|) plus S_o; ln(1 − o) to (ε + S_o)/(1 − o);
    - δ of sigmoid outputs under BCE: g = (o − t)/(o(1 − o)) and ∂a/∂z = o(1 − o) share the rounding
      of 1 − o, which cancels in δ = (o − t)/K, so S_δ = (|o| + |t| + S_o)/K;
    - θ⁺ = θ − α·g: |θ| + α·S_g (exactly |θ| for a frozen entry).
    """
    first = lambda x: np.moveaxis(np.asarray(x, np.float64), -1, 0)  # epoch on the first axis
    last = lambda x: np.moveaxis(x, 0, -1)
    W = [first(w) for w in arrays.W]
    b = None if arrays.b is None else [first(v) for v in arrays.b]
    acts, zs = [first(a) for a in arrays.act], [first(z) for z in arrays.z]
    T = np.asarray(net.T, np.float64)
    L, K = len(W), T.shape[-1]
    S_act, S_z = [np.abs(acts[0])], []
    for l, name in enumerate(net.activations):
        S_z.append(S_act[-1] @ np.abs(W[l]).transpose(0, 2, 1) + (0 if b is None else np.abs(b[l])[:, None]))
        slope = np.abs(engine.ACTIVATION_FUNCTIONS[name][1](zs[l], acts[l + 1]))
        S_act.append(np.abs(acts[l + 1]) + slope * S_z[-1])
    o, S_o = acts[-1], S_act[-1]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        spread = np.abs(T) + np.abs(o) + S_o  # of t − o
        terms = first(arrays.E_terms)
        if net.loss == "half_sse":
            S_terms = np.abs(terms) + np.abs(T - o) * spread
        elif net.loss == "mse":
            S_terms = np.abs(terms) + 2 * np.abs(o - T) * spread / K
        else:
            # ln o and ln(1 − o); a clamped log (at −100, so also ln 0) does not pass differences on
            S_ln_o = np.where(o > _E_MINUS_100, S_o / o, 0.0)
            S_ln_1o = np.where(1 - o > _E_MINUS_100, (1 + S_o) / (1 - o), 0.0)
            S_terms = np.abs(terms) + (np.abs(T) * S_ln_o + np.abs(1 - T) * S_ln_1o) / K
        S_terms = np.where(np.isnan(S_terms), np.inf, S_terms)
    out = engine.EpochArrays(W=arrays.W, b=arrays.b, z=[last(s) for s in S_z], act=[last(s) for s in S_act],
                             E_terms=last(S_terms), E_sample=last(S_terms.sum(-1)), E=S_terms.sum(-1).mean(-1))
    if not arrays.dEda:
        return out
    n = len(arrays.dEda)
    out.dEda, out.dadz, out.dEdz, out.gW_sample, out.gW, out.W_down, out.parts, out.W_new = ([None] * n for _ in range(8))
    out.gb_sample, out.gb, out.b_new = ([None] * n for _ in range(3)) if b is not None else ([], [], None)
    out.dzdW = [last(s) for s in S_act[:-1]]
    g = first(arrays.dEda[-1])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if net.loss == "half_sse":
            S_g = spread
        elif net.loss == "mse":
            S_g = 2 * spread / K
        else:
            den = np.maximum(o * (1 - o), engine.BCE_EPS)
            S_den = np.where(o * (1 - o) > engine.BCE_EPS, np.abs(o) * (1 + np.abs(o)) + np.abs(1 - 2 * o) * S_o, 0)
            S_g = spread / den / K + np.abs(g) * S_den / den
        for l in reversed(range(L)):
            a, S_a, name = acts[l + 1], S_act[l + 1], net.activations[l]
            g, dadz, delta = first(arrays.dEda[l]), first(arrays.dadz[l]), first(arrays.dEdz[l])
            if name == "sigmoid":
                S_dadz = np.abs(a) * (1 + np.abs(a)) + np.abs(1 - 2 * a) * S_a
            elif name == "tanh":
                S_dadz = 1 + a * a + 2 * np.abs(a) * S_a
            elif name == "relu":
                S_dadz = np.where(np.abs(zs[l]) <= rtol * S_z[l], 1 / rtol, 0.0)
            else:
                S_dadz = np.zeros_like(a)
            if l == L - 1 and name == "sigmoid" and net.loss == "bce":
                S_delta = spread / K + np.abs(delta)
            else:
                S_delta = S_g * np.abs(dadz) + np.abs(g) * S_dadz + np.abs(delta)
            S_gWs = S_delta[..., None] * np.abs(acts[l])[:, :, None, :] + np.abs(delta)[..., None] * S_act[l][:, :, None, :]
            S_gW = S_gWs.mean(1)
            S_W_new = np.abs(W[l]) + float(net.lr) * S_gW * (1 if net.W_mask is None else net.W_mask[l])
            S_Wd = S_W_new if net.sequential else np.abs(W[l])
            Wd = first(arrays.W_down[l])
            S_parts = S_delta[..., None] * np.abs(Wd)[:, None] + np.abs(delta)[..., None] * S_Wd[:, None]
            out.dEda[l], out.dadz[l], out.dEdz[l] = last(S_g), last(S_dadz), last(S_delta)
            out.gW_sample[l], out.gW[l], out.W_new[l] = last(S_gWs), last(S_gW), last(S_W_new)
            out.W_down[l], out.parts[l] = last(S_Wd), last(S_parts)
            if b is not None:
                S_gb = S_delta.mean(1)
                out.gb_sample[l], out.gb[l] = last(S_delta), last(S_gb)
                out.b_new[l] = last(np.abs(b[l]) + float(net.lr) * S_gb * (1 if net.b_mask is None else net.b_mask[l]))
            S_g = S_parts.sum(2)
    return out


def finite_differences(net, arrays: engine.EpochArrays, scales: engine.EpochArrays, h: float = FD_STEP):
    """Central differences of every sample's loss and of the batch loss, in float64, for every
    parameter θ, from the starting parameters of a run of epochs (arrays with the epoch on the
    last axis), with the step h·max(1, |θ|) and twice that:

        D(h) = (E(θ + h) − E(θ − h)) / 2h,  witness (4·D(h) − D(2h)) / 3,
        slack |D(h) − D(2h)| + 8·ε·S_E / h

    D(h) errs by about c·h², so the witness (Richardson's extrapolation) is good to O(h⁴) and
    |D(h) − D(2h)|, three times D(h)'s own error, bounds what truncation leaves; where the loss is
    not smooth within ±2h the two steps disagree and that says so. The rounding of E (to about
    ε·S_E, S_E its rounding scale from ``scales``, ε of float64) is divided by h: the second term.

    Returns (witness, slack): the four gradient arrays (per sample, batch) in the engine's layout.
    NaN where there is no witness: a relu changing side within ±2h or BCE's clamps at work (no
    derivative there), and, in the sequential order, every layer below the output, whose engine
    "gradient" is carried down through updated weights and so is no derivative of E.

    Shifting W[l,j,i] by h shifts z[l,j] by exactly h·a[l−1,i] (h for b[l,j]), so only the
    layers from l up are recomputed, for all parameters of layer l at once.
    """
    X, T = np.asarray(net.X, np.float64), np.asarray(net.T, np.float64)
    W = [np.moveaxis(w, -1, 0) for w in arrays.W]  # (C, J, I)
    b = None if arrays.b is None else [np.moveaxis(v, -1, 0) for v in arrays.b]
    C, N, L = W[0].shape[0], X.shape[0], len(W)
    witness, slack = engine.EpochArrays(W=None, b=None), engine.EpochArrays(W=None, b=None)
    for out in (witness, slack):
        nan = lambda *shape: np.full(shape + (C,), np.nan)
        out.gW_sample, out.gW = [nan(N, *w.shape[1:]) for w in W], [nan(*w.shape[1:]) for w in W]
        out.gb_sample = [] if b is None else [nan(N, v.shape[1]) for v in b]
        out.gb = [] if b is None else [nan(v.shape[1]) for v in b]

    def layer(l, a):  # (C, M, J) = a (C, M, I) Wᵀ + b of layer l
        z = a @ W[l].transpose(0, 2, 1)
        return z if b is None else z + b[l][:, None]

    with np.errstate(all="ignore"):
        acts, zs = [np.broadcast_to(X, (C, N, X.shape[1]))], []
        for l, name in enumerate(net.activations):
            zs.append(layer(l, acts[-1]))
            acts.append(engine.ACTIVATION_FUNCTIONS[name][0](zs[-1]))
        o = acts[-1]
        clamped = (o * (1 - o) <= engine.BCE_EPS).any(-1) if net.loss == "bce" else np.zeros((C, N), bool)
        for l in ([L - 1] if net.sequential else range(L)):
            J, I = W[l].shape[1:]
            unit = np.concatenate([np.repeat(np.arange(J), I)] + ([np.arange(J)] if b is not None else []))
            src = np.concatenate([np.tile(acts[l], (1, 1, J))] + ([np.ones((C, N, J))] if b is not None else []),
                                 axis=2)  # (C, N, P): ∂z[l, unit]/∂θ for each parameter θ of layer l
            theta = np.concatenate([W[l].reshape(C, -1)] + ([b[l]] if b is not None else []), axis=1)
            step = h * np.maximum(1.0, np.abs(theta))  # (C, P)
            P = unit.size
            E_n, lost = {}, clamped[:, None, :].repeat(P, axis=1)  # (C, P, N)
            for k in (1, -1, 2, -2):
                z = np.repeat(zs[l][:, None], P, axis=1)  # (C, P, N, J)
                z[:, np.arange(P), :, unit] += (k * step[:, :, None] * src.transpose(0, 2, 1)).transpose(1, 0, 2)
                for m in range(l, L):
                    name = net.activations[m]
                    if name == "relu":
                        lost |= ((z > 0) != (zs[m][:, None] > 0)).any(-1)
                    a = engine.ACTIVATION_FUNCTIONS[name][0](z)
                    if m + 1 < L:
                        z = layer(m + 1, a.reshape(C, P * N, -1)).reshape(C, P, N, -1)
                E_n[k] = engine.loss_terms(net, a, T).sum(-1)  # (C, P, N)
            def differences(E, S_E):  # E[k]: the losses at θ + k·step → (witness, slack)
                hk = step.reshape(step.shape + (1,) * (E[1].ndim - 2))
                d1, d2 = (E[1] - E[-1]) / (2 * hk), (E[2] - E[-2]) / (4 * hk)
                return (4 * d1 - d2) / 3, np.abs(d1 - d2) + 8 * _EPS64 * S_E / hk

            nW = J * I
            S_En = np.moveaxis(scales.E_sample, -1, 0)[:, None, :]  # (C, 1, N)
            for out, per_sample, batch in zip((witness, slack), differences(E_n, S_En),
                                              differences({k: v.mean(-1) for k, v in E_n.items()},
                                                          np.asarray(scales.E)[:, None])):
                per_sample, batch = np.where(lost, np.nan, per_sample), np.where(lost.any(-1), np.nan, batch)
                out.gW_sample[l] = per_sample[:, :nW].reshape(C, J, I, N).transpose(3, 1, 2, 0)
                out.gW[l] = batch[:, :nW].reshape(C, J, I).transpose(1, 2, 0)
                if b is not None:
                    out.gb_sample[l] = per_sample[:, nW:].transpose(2, 1, 0)
                    out.gb[l] = batch[:, nW:].T
    return witness, slack


class _Progress:
    """``label done/total`` on one line of stderr, only when stderr is a terminal."""

    def __init__(self, err):
        self.err = err if err.isatty() else None

    def __call__(self, label: str, done: int, total: int):
        if self.err is not None:
            self.err.write(f"\r\x1b[2Kbpstep check: {label} {done}/{total}")
            self.err.flush()

    def clear(self):
        if self.err is not None:
            self.err.write("\r\x1b[2K")
            self.err.flush()


#: values held per side while a run of epochs is compared (chooses how many epochs at once)
_VALUES_AT_ONCE = 2_000_000


def run_check(scenario, device: str = "cpu", fd: bool = False, out=None, err=None) -> int:
    """``bpstep check``: the report; returns the exit code (0 all within tolerance, 1 not)."""
    out = out or sys.stdout
    progress = _Progress(err or sys.stderr)
    tape = Tape(scenario)
    mirror = mirror_for(tape.net, scenario.dtype, device)
    tolerance = TOLERANCES[scenario.dtype]
    fd_tolerance = Tolerance(max(FD_TOLERANCE.rtol, tolerance.rtol), max(FD_TOLERANCE.atol, tolerance.atol))
    layout, E = tape.layout, scenario.epochs
    train, evaluate = _groups(layout.train), _groups(layout.eval)
    fd_groups = [g for g in train if g.kind == "parameter gradients"]
    chunk = max(1, min(E, _VALUES_AT_ONCE // max(1, _values_per_epoch(tape))))
    result = Comparison()
    for first in range(0, E, chunk):
        progress("teacher-forced epoch", first, E)
        last = min(E, first + chunk)
        engine_arrays = [tape.record(e).arrays for e in range(first, last)]
        mine, theirs = _stack(engine_arrays), mirror.epochs(*_starts(engine_arrays))
        scales = error_scales(tape.net, mine, tolerance.rtol)
        records = [Record(first, x, tape.net) for x in (mine, theirs, scales)]
        result.add(train, *records, first, last - first, tolerance)
        if fd:
            witness, slack = (Record(first, x, tape.net) for x in finite_differences(tape.net, mine, scales))
            result.add(fd_groups, records[0], witness, records[2], first, last - first, fd_tolerance, FD_KIND, slack)
    engine_arrays = [tape.record(E).arrays]
    mine, theirs = _stack(engine_arrays), mirror.evaluate(*_starts(engine_arrays))
    records = [Record(E, x, tape.net) for x in (mine, theirs, error_scales(tape.net, mine, tolerance.rtol))]
    result.add(evaluate, *records, E, 1, tolerance)

    start = tape.params(0)
    torch_losses, torch_W, torch_b = mirror.train(start.W, start.b, E, lambda d, t: progress("free run epoch", d, t))
    progress.clear()
    final = tape.params(E)
    _report(out, scenario, mirror, tolerance, fd_tolerance if fd else None, result, tape.losses, torch_losses,
            final, torch_W, torch_b)
    return 0 if result.bad == 0 else 1


def _starts(many: list):
    """The starting parameters of consecutive epochs, stacked on a first axis, in their dtype."""
    W = [np.stack([a.W[l] for a in many]) for l in range(len(many[0].W))]
    b = None if many[0].b is None else [np.stack([a.b[l] for a in many]) for l in range(len(many[0].b))]
    return W, b


def _values_per_epoch(tape) -> int:
    sc = tape.scenario
    params = sum(a * b for a, b in zip(sc.sizes[:-1], sc.sizes[1:]))
    return len(tape.layout.train) + 3 * sc.samples * params


def _report(out, sc, mirror, tolerance, fd, result, losses, torch_losses, final, torch_W, torch_b):
    w = out.write
    E = sc.epochs
    acts = sc.activations[0] if len(set(sc.activations)) == 1 else "/".join(sc.activations)
    w(f"bpstep check {sc.name}: {'-'.join(map(str, sc.sizes))} {acts}, {sc.loss}, {sc.dtype}, "
      f"{E} epoch{'s' if E != 1 else ''}, {sc.update_order} updates\n")
    w(f"against torch {mirror.torch.__version__} on {mirror.device}; every epoch starts from bpstep's own "
      f"parameters (teacher forcing)\n")
    w(f"tolerance per value: {tolerance.describe()}\n")
    if fd:
        w(f"finite differences: central, h = {FD_STEP:g}, float64, {fd.describe().replace('torch', 'fd')}\n")
    kinds = [kind for kind, _ in KINDS if kind in result.rows] + ([FD_KIND] if fd else [])
    table = [("quantity", "values", "max |Δ|", "at", "max rel", "at", "")]
    notes = {}
    for kind in kinds:
        row = result.rows.get(kind, _Row())
        table.append((kind, f"{row.count:,}", _format_err(max(row.abs.err, 0)), row.abs.where if row.abs.err > 0 else "",
                      _format_err(max(row.rel.err, 0)), row.rel.where if row.rel.err > 0 else "",
                      "✓" if row.bad == 0 else f"✗ {row.bad:,} out of tolerance"))
        if row.skipped:
            notes[kind] = (f"{row.skipped:,} without a witness: relu kinks"
                           + (", layers below the output (sequential order)" if sc.update_order == "sequential" else ""))
    w("\n" + _columns(table, right=(1, 2, 4)))
    for kind, note in notes.items():
        w(f"{kind}: {note}\n")

    w("\nfree run: each engine trains alone from the same start; the loss of each epoch's forward pass\n")
    table = [("epoch", "bpstep", "torch", "|Δ|", "")]
    for e in _shown_epochs(E):
        table.append((str(e), fmt(losses[e]), fmt(torch_losses[e]), _format_err(float(_EXACT.errors(losses[e], torch_losses[e])[0])),
                      "after the last update" if e == E else ""))
    w(_columns(table, right=(0, 1, 2, 3)))
    diff, where = _largest_difference(final, torch_W, torch_b)
    w(f"largest final parameter difference: {_format_err(diff)} at {where}\n\n")

    if result.bad == 0:
        w(f"✓ all {result.count:,} values agree within tolerance\n")
    else:
        w(f"✗ {result.bad:,} of {result.count:,} values out of tolerance\n")
        for kind in kinds:
            row = result.rows.get(kind)
            if row is not None and row.bad:
                w(f"  {kind}: first {row.first_bad}\n")


def _columns(rows, right=()) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    cell = lambda i, v: v.rjust(widths[i]) if i in right else v.ljust(widths[i])
    return "".join("  ".join(cell(i, v) for i, v in enumerate(r)).rstrip() + "\n" for r in rows)


def _shown_epochs(E: int) -> list[int]:
    """About ten epochs, at a round step, then the last one and the evaluate phase."""
    target = max(1, (E - 1) / 10)
    step = next(s * 10 ** k for k in range(20) for s in (1, 2, 5) if s * 10 ** k >= target)
    shown = list(range(0, E, step))
    if shown[-1] != E - 1:
        shown.append(E - 1)
    return shown + [E]


def _largest_difference(final, torch_W, torch_b):
    best, where = -1.0, ""
    sets = [("W", final.W, torch_W)] + ([("b", final.b, torch_b)] if final.b is not None else [])
    for name, mine, theirs in sets:
        for l, (a, c) in enumerate(zip(mine, theirs)):
            diff = np.abs(np.asarray(a, np.float64) - c)
            idx = np.unravel_index(np.argmax(diff), diff.shape)
            if diff[idx] > best:
                best, where = float(diff[idx]), f"{name}[{l + 1},{','.join(str(i + 1) for i in idx)}]"
    return best, where
