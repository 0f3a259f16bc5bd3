"""The cross-check against PyTorch autograd: step by step for the debugger (:class:`StepChecker`),
whole runs for ``bpstep check`` (:func:`run_check`).

Both compare the engine's arrays of an epoch with the arrays :class:`reference.Mirror` computes
in torch from the same starting parameters (teacher forcing), value by value, through the step
keys of the tape (``Record.lookup``), so a step's torch value is found exactly where its own value
is. ``run_check`` reads whole runs of epochs at once: the values of a kind of key and a layer are
one block of the arrays (:class:`_Group`, derived from the scenario's shape, not from the steps),
and the arrays hold the epochs on their last axis. An epoch too big for that is compared a run of
samples at a time, torch's per-sample parameter copies made for that run only.

When values agree, and the finite differences of ``--fd``: :mod:`bpstep.agreement`.
"""

from __future__ import annotations

import copy
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from . import drift, engine, functions
from .agreement import (EXACT, FD_STEP, FD_TOLERANCE, TOLERANCES, Tolerance, error_scales,
                        finite_differences)
from .ids import indices, optimizer_id
from .layout import optimizer_kinds
from .notation import fmt
from .tape import Record, Tape


class CheckUnavailable(Exception):
    """torch or the device is missing; ``str()`` is the one line for the user."""


#: the rows of the report: which step keys belong to which kind of quantity
KINDS = (
    ("forward z, a", ("z", "a")),
    ("loss E[k], E", ("Ek", "En", "E")),
    ("local factors", ("dadz", "jac", "dzdW", "Wd", "one")),  # ∂a/∂z (softmax: its Jacobian), ∂z/∂W, ∂z/∂a, ∂z/∂b
    ("∂E/∂a, parts, δ", ("dEda", "part", "dEdz")),
    ("parameter gradients", ("gWs", "gbs", "gW", "gb")),
    ("optimizer g, buffer, m, v, …", ("opt",)),
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
        #: samples whose torch arrays are computed together (all of a small batch)
        self.samples_at_once = _samples_at_once(tape.scenario, _groups(tape.scenario, False))
        self._records: OrderedDict[tuple, tuple] = OrderedDict()
        self._last_scales = (None, None)  # (epoch, its rounding scales)
        self._generation = tape.generation  # a what-if edit bumps it: the cache is stale then
        self._lock = threading.Lock()

    def record(self, epoch: int, chunk: int = 0) -> Record:
        """The torch arrays of ``epoch`` (of the ``chunk``-th run of ``samples_at_once`` samples,
        the batch's whole), from the engine's parameters at its start."""
        return self._epoch(epoch, chunk)[0]

    def _epoch(self, epoch: int, chunk: int, arrays: engine.EpochArrays | None = None) -> tuple[Record, Record]:
        """(torch arrays, rounding scales) of an epoch's chunk of samples, computed once and kept
        for a few (epoch, chunk)s."""
        with self._lock:
            if self._generation != self.tape.generation:
                self._records.clear()
                self._last_scales = (None, None)
                self._generation = self.tape.generation
            cached = self._records.get((epoch, chunk))
            if cached is not None:
                self._records.move_to_end((epoch, chunk))
                return cached
            mine = [arrays if arrays is not None else self.tape.record(epoch).arrays]
            net = self.tape.network(epoch)  # inputs, targets, lr as edited (what-if)
            if net is not self.mirror.net:
                self.mirror = mirror_for(net, self.dtype, self.device)
            some = slice(chunk * self.samples_at_once, (chunk + 1) * self.samples_at_once)
            if self.tape.is_evaluate(epoch):
                theirs = _samples_of(self.mirror.evaluate(*_starts(mine)), some)
            else:
                theirs = self.mirror.epochs(*_starts(mine), samples=some)
            scales = _samples_of(self._scales(epoch, net, mine), some)
            cached = tuple(Record(epoch, _epoch_of(x, 0), net) for x in (theirs, scales))
            self._records[(epoch, chunk)] = cached
            while len(self._records) > self.KEPT:
                self._records.popitem(last=False)
            return cached

    def _scales(self, epoch: int, net, mine: list) -> engine.EpochArrays:
        """The rounding scales of all samples of an epoch, kept for its other chunks (they are
        the batch's size, the per-sample products unformed)."""
        if self._last_scales[0] != epoch:
            self._last_scales = (epoch, error_scales(net, stack_epochs(mine), self.tolerance.rtol))
        return self._last_scales[1]

    def compare(self, step) -> tuple[float, float, bool]:
        """(torch value, |Δ|, within tolerance) of a step of this checker's tape."""
        key = step.spec.key
        at = _SAMPLE_AT.get(key[0])
        chunk, key = (0, key) if at is None else _in_chunk(key, at, self.samples_at_once)
        theirs, scales = self._epoch(step.epoch, chunk, step.record.arrays)
        value = theirs.value(key)
        err, ok = self.tolerance.errors(step.value, value, scales.value(key))
        return value, float(err), bool(ok)

    def compare_values(self, epoch: int, key: tuple, shape) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(torch values, |Δ|, within tolerance) of the steps at ``key`` (index arrays of ``shape``,
        as ``Record.values`` reads them), each sample from its chunk's torch arrays."""
        mine = self.tape.record(epoch).values(key, shape)
        at, size = _SAMPLE_AT.get(key[0]), self.samples_at_once
        if at is None or size >= self.tape.scenario.samples:
            theirs, scales = (r.values(key, shape) for r in self._epoch(epoch, 0))
        else:
            theirs, scales = np.empty(shape), np.empty(shape)
            n = np.broadcast_to(key[at], shape)
            chunks = n // size
            for chunk in np.unique(chunks).tolist():
                here = chunks == chunk
                sub = [np.broadcast_to(k, shape)[here] if np.ndim(k) else k for k in key]
                sub[at] = n[here] - chunk * size
                records = self._epoch(epoch, chunk)
                theirs[here], scales[here] = (r.values(tuple(sub), sub[at].shape) for r in records)
        err, ok = self.tolerance.errors(mine, theirs, scales)
        return theirs, err, ok

    def verdict_text(self, step) -> str:
        """``torch 0.02592286 ✓ Δ 1.4e-17`` (✗ when out of tolerance)."""
        theirs, err, ok = self.compare(step)
        return f"torch {fmt(theirs)} {'✓' if ok else '✗'} Δ {_format_err(err)}"


def _epoch_of(arrays: engine.EpochArrays, c: int) -> engine.EpochArrays:
    """One epoch of arrays that hold many on their last axis."""
    pick = lambda x: None if x is None else x[..., c]
    many = lambda xs: None if xs is None else [pick(x) for x in xs]
    out = engine.EpochArrays(W=many(arrays.W), b=many(arrays.b))
    one = lambda v: many(v) if isinstance(v, list) else pick(v)  # noqa: E731
    for name, value in vars(arrays).items():
        if name not in ("W", "b"):
            setattr(out, name, {k: one(v) for k, v in value.items()} if isinstance(value, dict) else one(value))
    return out


def stack_epochs(many: list) -> engine.EpochArrays:
    """Arrays of consecutive epochs → one set, float64, the epoch on the last axis (per-sample
    products still unformed: :class:`engine.Outer`)."""
    first = many[0]

    def stack(get):
        xs = [get(a) for a in many]
        if isinstance(xs[0], engine.Outer):
            return engine.Outer.stack(xs, np.float64)
        return np.stack(xs, axis=-1).astype(np.float64)
    def stacked(value, get):
        """``value`` (a list per layer, or an array) of the first epoch; ``get(a)`` of any."""
        if isinstance(value, list):
            return [None if v is None else stack(lambda a, l=l: get(a)[l]) for l, v in enumerate(value)]
        return None if value is None else stack(get)
    out = engine.EpochArrays(W=None, b=None)
    for name, value in vars(first).items():
        if isinstance(value, dict):  # the optimizer's quantities and state
            value = {k: stacked(v, lambda a, name=name, k=k: getattr(a, name)[k]) for k, v in value.items()}
        else:
            value = stacked(value, lambda a, name=name: getattr(a, name))
        setattr(out, name, value)
    return out


# --- whole runs ------------------------------------------------------------------------------


@dataclass
class _Group:
    """Values of one kind of step key and one layer (or sample) that are read in one lookup: the
    block ``key`` of the epoch's arrays (``Record.lookup`` with ints and slices), its axes taken
    in ``order`` (the order in which the epoch's steps first show the values) and flattened;
    ``keep``: which of those the steps show, when not all are (a frozen parameter has no update
    step). ``sample``: the key position of the sample index, for the per-sample quantities."""

    kind: str
    key: tuple
    shape: tuple  # of the block, in key order (ints in the key: no axis)
    order: tuple
    weight: object  # how many steps show each value: an int, or one per value
    first: object  # (indices in key order) → (id, sample) of the first step showing the value
    sample: int | None = None
    keep: np.ndarray | None = None

    @property
    def count(self) -> int:
        return int(np.prod(self.shape)) if self.keep is None else self.keep.size

    def part(self, start: int = 0, stop: int | None = None):
        """(key, offset, count) of the values of samples start…stop − 1 (None: all from start) in
        arrays that hold those samples only: the key, where its first value is in the group, how
        many; None if it has none (the batch's values belong to the run that starts at 0)."""
        if self.sample is None:
            return (self.key, 0, self.count) if start == 0 else None
        n = self.key[self.sample]
        if isinstance(n, int):
            if n < start or (stop is not None and n >= stop):
                return None
            return self.key[:self.sample] + (n - start,) + self.key[self.sample + 1:], 0, self.count
        N = self.shape[0]  # the samples' axis comes first
        per_sample = self.count // N
        return self.key, start * per_sample, (min(N, N if stop is None else stop) - start) * per_sample

    def read(self, record: Record, key: tuple, shape: tuple) -> np.ndarray:
        """(values, epochs) float64 of the block ``key`` of ``record``."""
        x = np.asarray(record.lookup(key), np.float64)
        if x.ndim == 0:  # a constant
            return np.broadcast_to(x, shape)
        x = x.transpose(self.order + (len(self.order),)).reshape(-1, shape[1])
        return x if self.keep is None else x[self.keep]

    def index(self, m: int) -> tuple:
        """The step key (all ints) of value m of the group."""
        flat = m if self.keep is None else int(self.keep[m])
        ordered = np.unravel_index(flat, tuple(self.shape[o] for o in self.order)) if self.shape else ()
        at = [0] * len(self.shape)
        for o, i in zip(self.order, ordered):
            at[o] = int(i)
        at = iter(at)
        return tuple(next(at) if isinstance(k, slice) else k for k in self.key)

    def step(self, m: int) -> tuple:
        """(id, sample) of the first step showing value m of the group."""
        return self.first(*self.index(m)[1:])

    def qid(self, m: int) -> str:
        id, sample = self.step(m)
        return id if sample is None else f"{id}@{sample}"


def _groups(sc, evaluate: bool) -> list[_Group]:
    """The groups of a training epoch's (evaluate phase's) steps from the scenario's shape, in
    the order in which the steps first show a value of each, as the layout orders the steps."""
    G = _GroupMaker(sc)
    return G.forward_and_loss() + ([] if evaluate else G.backward_and_update())


class _GroupMaker:
    """The groups of each kind of step key (keys and ids as :mod:`bpstep.layout` makes them,
    indices 0-based in keys and 1-based in ids)."""

    def __init__(self, sc):
        self.sc, self.L, self.N, self.sizes = sc, sc.layers, sc.samples, sc.sizes

    def forward_and_loss(self) -> list:
        """The forward pass sample by sample (z, a of each layer), then the loss."""
        out = [g for l in range(self.L) for g in (self.unit("z", l), self.unit("a", l))]
        for n in range(self.N):
            out += [self.loss_terms(n), self.sample_loss(n)]
        return out + ([self.batch_loss()] if self.N > 1 else [])

    def backward_and_update(self) -> list:
        """Layer by layer from the output down: in the sequential order each layer's backward
        steps (all samples), batch means and update before the next one down; otherwise all
        layers' backward steps, then their means, then their updates. The constant 1 = ∂z/∂b
        is one value, first shown at the output layer."""
        down = range(self.L - 1, -1, -1)
        if self.sc.update_order == "sequential":
            out = [g for l in down for g in self.backward(l) + self.means(l) + self.update(l)]
        else:
            out = [g for make in (self.backward, self.means, self.update) for l in down for g in make(l)]
        ones = [k for k, g in enumerate(out) if g.key == ("one",)]
        return [g for k, g in enumerate(out) if k not in ones[1:]]

    def backward(self, l) -> list:
        """Layer l's backward steps, in the order a unit's first show them."""
        parts = [self.factor(l + 1), self.part(l + 1)] if l < self.L - 1 else []
        bias = [self.one(), self.unit("gbs", l)] if self.sc.bias else []
        dadz = self.unit("dadz", l) if functions.ACTIVATIONS[self.sc.activations[l]].elementwise else self.jacobian(l)
        return parts + [self.unit("dEda", l), dadz, self.unit("dEdz", l), self.local(l), self.weights(l)] + bias

    def means(self, l) -> list:
        if self.N == 1:  # the per-sample gradient is the batch's: no mean steps
            return []
        return [self.mean("gW", l)] + ([self.mean("gb", l)] if self.sc.bias else [])

    def update(self, l) -> list:
        names = ("W+", "b+") if self.sc.bias else ("W+",)
        kinds = optimizer_kinds(self.sc)
        return [g for name in names for g in [self.updated(name, l, q) for q in kinds] + [self.updated(name, l)]
                if g is not None]

    def _group(self, name, key, shape, order=None, weight=1, first=None, sample=None, keep=None):
        order = tuple(range(len(shape))) if order is None else order
        sample = None if sample is None else sample + 1  # its position after the name
        return _Group(_KIND_OF[name], (name,) + key, tuple(shape), order, weight, first, sample, keep)

    def unit(self, name, l):
        """A quantity of each sample and unit j of layer l: z, a, ∂E/∂a, ∂a/∂z, δ, ∂E/∂b_n."""
        ids = {"z": "z[{l},{j}]", "a": "a[{l},{j}]", "dEda": "dE/da[{l},{j}]", "dadz": "da[{l},{j}]/dz[{l},{j}]",
               "dEdz": "dE/dz[{l},{j}]", "gbs": "dE/db[{l},{j}]"}[name]
        first = lambda l, n, j: (ids.format(l=l + 1, j=j + 1), n + 1)
        return self._group(name, (l, slice(None), slice(None)), (self.N, self.sizes[l + 1]), first=first, sample=1)

    def jacobian(self, l):
        """∂a[l,k]/∂z[l,j] of a softmax layer, shown unit j by unit j, each for every k."""
        first = lambda l, n, k, j: (f"da[{l + 1},{k + 1}]/dz[{l + 1},{j + 1}]", n + 1)
        K = self.sizes[l + 1]
        return self._group("jac", (l,) + (slice(None),) * 3, (self.N, K, K), order=(0, 2, 1), first=first, sample=1)

    def loss_terms(self, n):
        return self._group("Ek", (n, slice(None)), (self.sizes[-1],), first=lambda n, k: (f"E[{k + 1}]", n + 1),
                           sample=0)

    def sample_loss(self, n):
        return self._group("En", (n,), (), first=lambda n: ("E", n + 1), sample=0)

    def batch_loss(self):
        return self._group("E", (), (), first=lambda: ("E", None))

    def factor(self, l):
        """∂z[l+1,m]/∂a[l,j] = W[l+1,m,j] (W⁺ sequential): the same value for every sample, shown
        first for sample 1, unit j by unit j."""
        first = lambda l, m, j: (f"dz[{l + 1},{m + 1}]/da[{l},{j + 1}]", 1)
        return self._group("Wd", (l, slice(None), slice(None)), (self.sizes[l + 1], self.sizes[l]), order=(1, 0),
                           weight=self.N, first=first)

    def part(self, l):
        """dE[l+1,m]/da[l,j], shown unit j by unit j, each through every m."""
        first = lambda l, n, m, j: (f"dE[{l + 1},{m + 1}]/da[{l},{j + 1}]", n + 1)
        shape = (self.N, self.sizes[l + 1], self.sizes[l])
        return self._group("part", (l,) + (slice(None),) * 3, shape, order=(0, 2, 1), first=first, sample=1)

    def local(self, l):
        """∂z[l,j]/∂W[l,j,i] = a[l−1,i]: one value per sample and i, shown for every unit j."""
        first = lambda l, n, i: (f"dz[{l + 1},1]/dW[{l + 1},1,{i + 1}]", n + 1)
        return self._group("dzdW", (l, slice(None), slice(None)), (self.N, self.sizes[l]),
                           weight=self.sizes[l + 1], first=first, sample=1)

    def weights(self, l):
        """∂E/∂W[l,j,i] of each sample."""
        first = lambda l, n, j, i: (f"dE/dW[{l + 1},{j + 1},{i + 1}]", n + 1)
        shape = (self.N, self.sizes[l + 1], self.sizes[l])
        return self._group("gWs", (l,) + (slice(None),) * 3, shape, first=first, sample=1)

    def one(self):
        """∂z/∂b = 1, one value shown by every bias's step of every sample."""
        L = self.L
        return self._group("one", (), (), weight=self.N * sum(self.sizes[1:]),
                           first=lambda: (f"dz[{L},1]/db[{L},1]", 1))

    def mean(self, name, l):
        J, I = self.sizes[l + 1], self.sizes[l]
        if name == "gW":
            return self._group(name, (l, slice(None), slice(None)), (J, I),
                               first=lambda l, j, i: (f"dE/dW[{l + 1},{j + 1},{i + 1}]", None))
        return self._group(name, (l, slice(None)), (J,), first=lambda l, j: (f"dE/db[{l + 1},{j + 1}]", None))

    def updated(self, name, l, q=None):
        """W⁺ or b⁺ of layer l (with ``q``: the optimizer's quantity q of W or b), but for the
        frozen ones (None when all are)."""
        shape = (self.sizes[l + 1], self.sizes[l]) if name == "W+" else (self.sizes[l + 1],)
        keep = None
        if self.sc.freeze:
            free = np.ones(shape, dtype=bool)
            for pid in self.sc.freeze:  # W[l,j,i], b[l,j]
                idx = [i - 1 for i in indices(pid)]
                if pid[0] == name[0] and idx[0] == l:
                    free[tuple(idx[1:])] = False
            keep = None if free.all() else np.flatnonzero(free)
            if keep is not None and keep.size == 0:
                return None
        if q is not None:
            first = lambda q, P, l, *idx: (optimizer_id(q, P, [l + 1] + [i + 1 for i in idx]), None)  # noqa: E731
            return self._group("opt", (q, name[0], l) + (slice(None),) * len(shape), shape, first=first, keep=keep)
        first = lambda l, *idx: (f"{name}[{l + 1},{','.join(str(i + 1) for i in idx)}]", None)
        return self._group(name, (l,) + (slice(None),) * len(shape), shape, first=first, keep=keep)


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
    and the values out of tolerance. ``name(id, sample)``: the name of a step, for the report."""

    def __init__(self, name=lambda id, sample: id, place=lambda unit: f"epoch {unit}"):
        self.rows: dict[str, _Row] = {}
        self.name = name
        self.place = place  # a unit of the tape in words: ``epoch 3`` (or ``epoch 3 iteration 2``)

    def add(self, groups, mine: Record, theirs: Record, scales: Record, first_epoch: int, epochs: int,
            tolerance: Tolerance, kind: str | None = None, slack: Record | None = None, samples=(0, None)):
        """Compare ``epochs`` epochs (from ``first_epoch``) of every group. With ``kind`` (a witness
        other than torch) they are filed under that row, ``slack`` is what the witness may be off by,
        and a NaN in ``theirs`` means no witness there (counted as skipped). ``samples``: the
        (start, stop) of the samples the records hold (the batch's values are compared with the
        first run of samples)."""
        for g in groups:
            part = g.part(*samples)
            if part is not None:
                self._add(g, *part, mine, theirs, scales, first_epoch, epochs, tolerance, kind, slack)

    def _add(self, g, key, offset, count, mine, theirs, scales, first_epoch, epochs, tolerance, kind, slack):
        shape = (count, epochs)
        a, b, scale = (g.read(r, key, shape) for r in (mine, theirs, scales))
        err, ok = tolerance.errors(a, b, scale, None if slack is None else g.read(slack, key, shape))
        row = self.rows.setdefault(kind or g.kind, _Row())
        weight = np.broadcast_to(np.broadcast_to(g.weight, (g.count,))[offset:offset + count, None], shape)
        where = lambda m, c: f"{g.qid(offset + m)} {self.place(first_epoch + c)}"
        if kind is not None:  # skip_nan
            missing = np.isnan(b)
            row.skipped += int(weight[missing].sum())
            err, ok, weight = np.where(missing, -1.0, err), ok | missing, np.where(missing, 0, weight)
        row.count += int(weight.sum())
        if not ok.all():
            row.bad += int(weight[~ok].sum())
            if not row.first_bad:
                m, c = np.argwhere(~ok)[0]
                row.first_bad = (f"{where(m, c)} ({self.name(*g.step(offset + m))}): "
                                 f"bpstep {fmt(a[m, c])}, {'torch' if kind is None else 'witness'} "
                                 f"{fmt(b[m, c])}, Δ {_format_err(err[m, c])}")
        m, c = np.unravel_index(np.argmax(err), shape)
        if err[m, c] > row.abs.err:
            row.abs = _Worst(float(err[m, c]), where(m, c))
        with np.errstate(divide="ignore", invalid="ignore"):  # relative to the larger of the two
            rel = np.where(err > 0, err / np.maximum(np.abs(a), np.abs(b)), np.where(err < 0, -1.0, 0.0))
            rel = np.where(np.isnan(rel), np.inf, rel)
        m, c = np.unravel_index(np.argmax(rel), shape)
        if rel[m, c] > row.rel.err:
            row.rel = _Worst(float(rel[m, c]), where(m, c))

    @property
    def bad(self) -> int:
        return sum(r.bad for r in self.rows.values())

    @property
    def count(self) -> int:
        return sum(r.count for r in self.rows.values())


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
#: the same for the samples of one epoch that holds more than that: a run of samples this big
#: keeps torch's per-sample parameter copies and the compared values to a few MB each
_SAMPLE_VALUES_AT_ONCE = 500_000


def run_check(scenario, device: str = "cpu", fd: bool = False, out=None, err=None, free_run=None) -> int:
    """``bpstep check``: the report; returns the exit code (0 all within tolerance, 1 not)."""
    out = out or sys.stdout
    progress = _Progress(err or sys.stderr)
    tape = Tape(scenario)
    mirror = mirror_for(tape.net, scenario.dtype, device)
    tolerance = TOLERANCES[scenario.dtype]
    fd_tolerance = Tolerance(max(FD_TOLERANCE.rtol, tolerance.rtol), max(FD_TOLERANCE.atol, tolerance.atol))
    E = tape.epochs  # the units: epochs, or with mini-batches the iterations of every epoch
    train, evaluate = _groups(scenario, False), _groups(scenario, True)
    result = Comparison(_namer(tape.layout), _place(tape))
    if tape.batched:  # a unit at a time: each iteration has its own batch of samples
        for unit in range(E):
            progress("teacher-forced iteration", unit, E)
            net, batch = tape.network(unit), tape.layout_of(unit).scenario
            _compare_epochs(result, tape, mirror_for(net, scenario.dtype, device), _groups(batch, False), unit,
                            unit + 1, tolerance, fd_tolerance if fd else None, net, batch)
    chunk = max(1, min(E, _VALUES_AT_ONCE // max(1, _values_per_epoch(scenario, train))))
    for first in range(0, E if not tape.batched else 0, chunk):
        progress("teacher-forced epoch", first, E)
        _compare_epochs(result, tape, mirror, train, first, min(E, first + chunk), tolerance,
                        fd_tolerance if fd else None)
    engine_arrays = [tape.record(E).arrays]
    mine, theirs = stack_epochs(engine_arrays), mirror.evaluate(*_starts(engine_arrays))
    records = [Record(E, x, tape.net) for x in (mine, theirs, error_scales(tape.net, mine, tolerance.rtol))]
    result.add(evaluate, *records, E, 1, tolerance)

    start = tape.params(0)
    schedule = None
    if tape.batched:
        schedule = lambda epoch: [tape.batch(tape.unit(epoch, i)) for i in range(tape.iterations)]
    torch_losses, torch_W, torch_b = mirror.train(start.W, start.b, scenario.epochs,
                                                  lambda done, total: progress("free run epoch", done, total),
                                                  schedule)
    progress.clear()
    final = tape.params(E)
    _report(out, scenario, mirror, tolerance, fd_tolerance if fd else None, result, tape.losses, torch_losses,
            final, torch_W, torch_b, free_run, tape.iterations if tape.batched else None)
    return 0 if result.bad == 0 else 1


def _compare_epochs(result, tape, mirror, groups, first, last, tolerance, fd_tolerance, net=None, sc=None):
    """Compare the training epochs first…last − 1, teacher-forced, a run of samples at a time
    when one epoch holds more values than :data:`_VALUES_AT_ONCE` (torch's per-sample parameter
    copies and the values compared are then bounded by that run). ``net`` and ``sc``: those of
    the epochs' batch (default: the tape's whole batch)."""
    net, sc = net or tape.net, sc or tape.scenario
    engine_arrays = [tape.record(e).arrays for e in range(first, last)]
    whole = stack_epochs(engine_arrays)
    scales = error_scales(net, whole, tolerance.rtol)
    starts = _starts(engine_arrays)
    witness = finite_differences(net, whole, scales) if fd_tolerance is not None else None
    fd_groups = [g for g in groups if g.kind == "parameter gradients"]
    N, step = sc.samples, _samples_at_once(sc, groups)
    for start in range(0, N, step):
        some = slice(start, min(N, start + step))
        theirs = mirror.epochs(*starts, samples=some)
        mine, scaled = _samples_of(whole, some), _samples_of(scales, some)
        records = [Record(first, x, net) for x in (mine, theirs, scaled)]
        result.add(groups, *records, first, last - first, tolerance, samples=(some.start, some.stop))
        if witness is not None:
            fd_witness, slack = (Record(first, _samples_of(x, some), net) for x in witness)
            result.add(fd_groups, records[0], fd_witness, records[2], first, last - first, fd_tolerance,
                       FD_KIND, slack, samples=(some.start, some.stop))


def _place(tape):
    """A unit of the tape in the report's words: ``epoch 3``, or ``epoch 3 iteration 2``."""
    if not tape.batched:
        return lambda unit: f"epoch {unit}"
    return lambda unit: "epoch {} iteration {}".format(*tape.epoch_iteration(unit))


def _namer(layout):
    """(id, sample) → the name of that step (the layout renders it)."""
    return lambda id, sample: layout.specs(False)[layout.at(False, id, sample)].name.uni


#: the quantities of one sample (a key's position of its sample index), the rest are the batch's
_SAMPLE_AT = {"x": 1, "z": 2, "a": 2, "Ek": 1, "En": 1, "dEda": 2, "dadz": 2, "dEdz": 2, "part": 2, "dzdW": 2,
              "gWs": 2, "gbs": 2}
_PER_SAMPLE = ("z", "act", "E_terms", "E_sample", "dEda", "dadz", "dEdz", "gW_sample", "gb_sample", "parts",
               "dzdW")


def _samples_of(arrays: engine.EpochArrays, some: slice) -> engine.EpochArrays:
    """The arrays with the per-sample ones cut to the samples ``some`` (the batch's whole)."""
    pick = lambda x: None if x is None else x.samples(some) if isinstance(x, engine.Outer) else x[some]
    out = copy.copy(arrays)
    for name in _PER_SAMPLE:
        value = getattr(arrays, name)
        setattr(out, name, [pick(x) for x in value] if isinstance(value, list) else pick(value))
    return out


def _in_chunk(key: tuple, at: int, size: int) -> tuple:
    """(chunk, key within it) of a per-sample key, the samples taken ``size`` at a time."""
    chunk, n = divmod(key[at], size)
    return chunk, key[:at] + (n,) + key[at + 1:]


def _samples_at_once(sc, groups) -> int:
    """How many samples are compared at once: all while an epoch fits :data:`_VALUES_AT_ONCE`,
    else as many as fit :data:`_SAMPLE_VALUES_AT_ONCE`."""
    per_epoch = _values_per_epoch(sc, groups)
    if per_epoch <= _VALUES_AT_ONCE:
        return sc.samples
    return max(1, _SAMPLE_VALUES_AT_ONCE * sc.samples // per_epoch)


def _starts(many: list):
    """The starting parameters of consecutive epochs, stacked on a first axis, in their dtype,
    and the optimizer's state before each (None: plain gradient descent), its epoch axis last."""
    W = [np.stack([a.W[l] for a in many]) for l in range(len(many[0].W))]
    b = None if many[0].b is None else [np.stack([a.b[l] for a in many]) for l in range(len(many[0].b))]
    if many[0].opt_prev is None:
        return W, b, None
    state = {k: np.array([a.opt_prev[k] for a in many]) if k == "t" else
             [np.stack([a.opt_prev[k][l] for a in many], axis=-1) for l in range(len(v))]
             for k, v in many[0].opt_prev.items()}
    return W, b, state


def _values_per_epoch(sc, groups) -> int:
    """The steps of an epoch and three per-sample copies of the parameters (torch's)."""
    params = sum(a * b for a, b in zip(sc.sizes[:-1], sc.sizes[1:]))
    steps = sum(int(np.broadcast_to(g.weight, (g.count,)).sum()) for g in groups)
    return steps + 3 * sc.samples * params


def _report(out, sc, mirror, tolerance, fd, result, losses, torch_losses, final, torch_W, torch_b, free_run=None,
            iterations=None):
    """The report; with mini-batches (``iterations`` an epoch) the free run's table counts the
    iterations of the whole run."""
    w = out.write
    E, unit = sc.epochs, "epoch"
    acts = sc.activations[0] if len(set(sc.activations)) == 1 else "/".join(sc.activations)
    w(f"bpstep check {sc.name}: {'-'.join(map(str, sc.sizes))} {acts}, {sc.loss}, {sc.dtype}, "
      f"{E} epoch{'s' if E != 1 else ''}, {sc.update_order} updates\n")
    if iterations is not None:
        shuffled = f", shuffled (seed {sc.shuffle_seed})" if sc.shuffle_seed is not None else ""
        w(f"mini-batches of {sc.batch}: {iterations} iteration{'s' if iterations > 1 else ''} an epoch{shuffled}; "
          "the free run's table counts iterations over the run\n")
        E, unit = len(losses) - 1, "iteration"
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
        table.append((kind, f"{row.count:,}",
                      _format_err(max(row.abs.err, 0)), row.abs.where if row.abs.err > 0 else "",
                      _format_err(max(row.rel.err, 0)), row.rel.where if row.rel.err > 0 else "",
                      "✓" if row.bad == 0 else f"✗ {row.bad:,} out of tolerance"))
        if row.skipped:
            why = (["relu kinks"] * ("relu" in sc.activations) + ["clamped BCE"] * (sc.loss == "bce")
                   + ["layers below the output (sequential order)"] * (sc.update_order == "sequential"))
            notes[kind] = f"{row.skipped:,} without a witness: {', '.join(why)}"
    w("\n" + _columns(table, right=(1, 2, 4)))
    for kind, note in notes.items():
        w(f"{kind}: {note}\n")

    w("\nfree run: each engine trains alone from the same start; the loss of each epoch's forward pass\n")
    shown = _shown_epochs(E)
    w(_free_table(shown, losses, torch_losses, E, unit))
    centre = drift.steepest(losses)
    if centre is not None:  # where the runs part most, which the round epochs above may step over
        near = drift.around(centre, E, max(1, (shown[1] - shown[0]) // 50 if len(shown) > 2 else 1), count=3)
        w(f"around the largest change of the loss ({unit} {centre} to {centre + 1}: "
          f"{fmt(float(losses[centre]))} → {fmt(float(losses[centre + 1]))})\n")
        w(_free_table(near, losses, torch_losses, E, unit))
    if free_run is not None:
        w(f"epochs {free_run[0]}…{free_run[-1]}, as asked\n")
        w(_free_table(free_run, losses, torch_losses, E, unit))
    gaps = EXACT.errors(np.asarray(losses, np.float64), np.asarray(torch_losses, np.float64))[0]
    worst = int(np.nanargmax(gaps)) if np.isfinite(gaps).any() else 0
    if gaps[worst] > tolerance.rtol * abs(float(losses[worst])) + tolerance.atol:
        w(f"the free runs part most at {unit} {worst} (|Δ| {_format_err(float(gaps[worst]))}); why: {drift.WHY}\n")
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


def _free_table(epochs, losses, torch_losses, E, unit="epoch") -> str:
    table = [(unit, "bpstep", "torch", "|Δ|", "")]
    for e in epochs:
        gap = float(EXACT.errors(losses[e], torch_losses[e])[0])
        table.append((str(e), fmt(losses[e]), fmt(torch_losses[e]), _format_err(gap),
                      "after the last update" if e == E else ""))
    return _columns(table, right=(0, 1, 2, 3))


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
