"""The cross-check against PyTorch autograd (DESIGN.md §7): step by step for the debugger
(:class:`StepChecker`), whole runs for ``bpstep check`` (:func:`run_check`).

Both compare the engine's arrays of an epoch with the arrays :class:`reference.Mirror` computes
in torch from the same starting parameters (teacher forcing), value by value, through the step
keys of the tape (``Record.lookup``), so a step's torch value is found exactly where its own value
is. ``run_check`` reads whole runs of epochs at once: the keys of a kind and layer are gathered as
index arrays, and the arrays hold the epochs on their last axis.

When values agree, and the finite differences of ``--fd``: :mod:`bpstep.agreement`.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from . import engine
from .agreement import (EXACT, FD_STEP, FD_TOLERANCE, TOLERANCES, Tolerance, error_scales,
                        finite_differences)
from .notation import fmt
from .tape import Record, Tape


class CheckUnavailable(Exception):
    """torch or the device is missing; ``str()`` is the one line for the user."""


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
        self._generation = tape.generation  # a what-if edit bumps it: the cache is stale then
        self._lock = threading.Lock()

    def record(self, epoch: int) -> Record:
        """The torch arrays of ``epoch``, from the engine's parameters at its start."""
        return self._epoch(epoch)[0]

    def _epoch(self, epoch: int, arrays: engine.EpochArrays | None = None) -> tuple[Record, Record]:
        """(torch arrays, rounding scales) of an epoch, computed once and kept for a few epochs."""
        with self._lock:
            if self._generation != self.tape.generation:
                self._records.clear()
                self._generation = self.tape.generation
            cached = self._records.get(epoch)
            if cached is not None:
                self._records.move_to_end(epoch)
                return cached
            mine = [arrays if arrays is not None else self.tape.record(epoch).arrays]
            net = self.tape.network(epoch)  # inputs, targets, lr as edited (what-if)
            if net is not self.mirror.net:
                self.mirror = mirror_for(net, self.dtype, self.device)
            run = self.mirror.evaluate if self.tape.is_evaluate(epoch) else self.mirror.epochs
            theirs = _epoch_of(run(*_starts(mine)), 0)
            scales = _epoch_of(error_scales(net, stack_epochs(mine), self.tolerance.rtol), 0)
            cached = self._records[epoch] = tuple(Record(epoch, x, net) for x in (theirs, scales))
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


def stack_epochs(many: list) -> engine.EpochArrays:
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
            read = lambda r: np.broadcast_to(np.asarray(r.lookup(g.key), np.float64), shape)
            a, b, scale = read(mine), read(theirs), read(scales)
            err, ok = tolerance.errors(a, b, scale, None if slack is None else read(slack))
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
                    row.first_bad = (f"{_where(g, m, first_epoch + c)} ({g.specs[m][0].name.uni}): "
                                     f"bpstep {fmt(a[m, c])}, {'torch' if kind is None else 'witness'} "
                                     f"{fmt(b[m, c])}, Δ {_format_err(err[m, c])}")
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
        mine, theirs = stack_epochs(engine_arrays), mirror.epochs(*_starts(engine_arrays))
        scales = error_scales(tape.net, mine, tolerance.rtol)
        records = [Record(first, x, tape.net) for x in (mine, theirs, scales)]
        result.add(train, *records, first, last - first, tolerance)
        if fd:
            witness, slack = (Record(first, x, tape.net) for x in finite_differences(tape.net, mine, scales))
            result.add(fd_groups, records[0], witness, records[2], first, last - first, fd_tolerance,
                       FD_KIND, slack)
    engine_arrays = [tape.record(E).arrays]
    mine, theirs = stack_epochs(engine_arrays), mirror.evaluate(*_starts(engine_arrays))
    records = [Record(E, x, tape.net) for x in (mine, theirs, error_scales(tape.net, mine, tolerance.rtol))]
    result.add(evaluate, *records, E, 1, tolerance)

    start = tape.params(0)
    torch_losses, torch_W, torch_b = mirror.train(start.W, start.b, E,
                                                  lambda done, total: progress("free run epoch", done, total))
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
    table = [("epoch", "bpstep", "torch", "|Δ|", "")]
    for e in _shown_epochs(E):
        gap = float(EXACT.errors(losses[e], torch_losses[e])[0])
        table.append((str(e), fmt(losses[e]), fmt(torch_losses[e]), _format_err(gap),
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
