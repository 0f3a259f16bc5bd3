"""The layer view: one step per vector or matrix operation of one layer (``view layer``).

A layer step groups the scalar steps of one (phase, family, layer); the family comes from the
scalar id, the factors going with the quantity they make::

  z[l]         z^l = W^l a^(l−1) + b^l               batch: Z^l = A^(l−1) (W^l)ᵀ + b^l
  a[l]         a^l = f(z^l)
  E            E = Σ_k E_k(o, t)                    (E[k], E@n and the batch E)
  dE/da[l]     ∂E/∂o = loss′(o, t);  ∂E/∂a^l = (W^(l+1))ᵀ δ^(l+1)   batch: Δ^(l+1) W^(l+1)
               (with the parts dE[l+1,j]/da[l,i] and their factors dz[l+1,j]/da[l,i])
  da[l]/dz[l]  f′(z^l)
  dE/dz[l]     δ^l = ∂E/∂a^l ⊙ f′(z^l)
  dE/dW[l]     ∂E/∂W^l = δ^l (a^(l−1))ᵀ             batch: (Δ^l)ᵀ A^(l−1) / N
               (with the factors dz/dW and the per-sample gradients)
  dE/db[l]     ∂E/∂b^l = δ^l                        batch: Σ_n Δ^l_n / N
  W+[l], b+[l] W^l⁺ = W^l − α ∂E/∂W^l

One sample is written with column vectors, a batch with one row per sample. Layer steps are
ordered by the first scalar step they contain; each knows the scalar steps it contains and the
keys (:mod:`bpstep.tape`) of the values that form its matrix and its operands, so every number
shown is read where the scalar steps read it.

The session keeps its cursor on a scalar step; in layer view that step lies inside the current
layer step (the first one it contains after a layer motion), so switching views keeps the place.
Layer motions reuse the session's scalar machinery over a :class:`LayerTape`, which answers the
same structural questions as a tape and its layout (length, quantities, phase runs).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

import numpy as np

from .commands import CommandError
from .layout import _phase_runs
from .notation import fmt, sup
from .tape import Step

_BRACKETS = re.compile(r"\[[^\]]*\]")
#: factor families → the family of the quantity they make
_MADE_BY = {"dz/da": "dE/da", "dz/dW": "dE/dW", "dz/db": "dE/db"}
_PER_SAMPLE = {"z", "a", "dEda", "dadz", "dEdz"}
_FN = {"sigmoid": "σ", "tanh": "tanh", "relu": "relu"}
_LOSS = {"half_sse": "Σₖ ½(tₖ − oₖ)²", "mse": "Σₖ (oₖ − tₖ)²/K", "bce": "−Σₖ [tₖ ln oₖ + (1 − tₖ) ln(1 − oₖ)]/K"}
MAX_SHOWN = 6  # rows or columns of a matrix shown in full; bigger ones keep 3 + 2


def family_layer(qid: str, layers: int) -> tuple:
    """``dE[2,1]/da[1,2]`` → ``("dE/da", 1)``: the layer step a scalar id belongs to."""
    family = _BRACKETS.sub("", qid)
    family = _MADE_BY.get(family, family)
    if family == "E":
        return family, layers
    return family, int(qid[qid.rindex("[") + 1:-1].split(",")[0])


@dataclass(frozen=True)
class LayerSpec:
    """One layer step of an epoch, without its numbers."""

    index: int
    phase: str
    family: str
    layer: int
    id: str
    name: str
    label: str  # the result matrix's name
    formula: str
    contains: tuple  # indices of the scalar steps it groups, ascending
    factor: bool  # made of factor steps only (``next`` steps over it)
    cells: tuple  # rows of keys of the result matrix
    steps: tuple  # rows of the scalar step index of each cell (-1: no step, a frozen parameter)
    operands: tuple  # (label, rows of keys) of the matrices it is computed from
    extra: tuple  # (label, key) of a scalar shown in the header line (E, α)


class LayerStep:
    """A :class:`LayerSpec` with the numbers of its epoch."""

    __slots__ = ("epoch", "spec", "record", "scalars")

    def __init__(self, epoch, spec: LayerSpec, record, scalars):
        self.epoch, self.spec, self.record, self.scalars = epoch, spec, record, scalars

    index = property(lambda self: self.spec.index)
    phase = property(lambda self: self.spec.phase)
    id = property(lambda self: self.spec.id)
    name = property(lambda self: self.spec.name)
    formula = property(lambda self: self.spec.formula)
    sample = None

    @property
    def position(self) -> tuple:
        return (self.epoch, self.spec.index)

    def values(self, cells) -> np.ndarray:
        return np.array([[self.record.value(k) for k in row] for row in cells])

    @property
    def matrix(self) -> np.ndarray:
        return self.values(self.spec.cells)

    def blocks(self) -> list:
        """``(label, matrix)`` of the operands, then of the result."""
        return ([(label, self.values(cells)) for label, cells in self.spec.operands]
                + [(self.spec.label, self.matrix)])

    def steps(self) -> list:
        """The scalar steps it contains, in tape order."""
        return [Step(self.epoch, self.scalars[i], self.record) for i in self.spec.contains]

    def header(self) -> str:
        extra = "".join(f"  {label} = {fmt(self.record.value(key))}" for label, key in self.spec.extra)
        return f"{self.spec.formula}{extra}"


class LayerTape:
    """The tape seen as layer steps: the same epochs, fewer and bigger steps. It has the
    structure a session's motions read from a tape and its layout (``length``, ``epochs``,
    ``is_evaluate``, ``last``, ``quantities``, ``phase_runs``)."""

    def __init__(self, tape):
        self.tape, self.epochs = tape, tape.epochs
        self._specs = {ev: _build(tape.layout, ev) for ev in (False, True)}
        self._of = {}
        for ev, specs in self._specs.items():
            of = [0] * len(tape.layout.specs(ev))
            for ls in specs:
                for i in ls.contains:
                    of[i] = ls.index
            self._of[ev] = of
        self._quantities = {ev: [s.index for s in specs if not s.factor] for ev, specs in self._specs.items()}
        self._runs = {ev: _phase_runs(specs) for ev, specs in self._specs.items()}

    def is_evaluate(self, epoch: int) -> bool:
        return self.tape.is_evaluate(epoch)

    def specs(self, evaluate: bool) -> list:
        return self._specs[evaluate]

    def length(self, epoch: int) -> int:
        return len(self._specs[self.is_evaluate(epoch)])

    @property
    def last(self) -> tuple:
        return (self.epochs, self.length(self.epochs) - 1)

    def quantities(self, evaluate: bool) -> list:
        return self._quantities[evaluate]

    def phase_runs(self, evaluate: bool) -> list:
        return self._runs[evaluate]

    def containing(self, pos: tuple) -> tuple:
        """The layer position of the layer step that contains scalar position ``pos``."""
        return (pos[0], self._of[self.is_evaluate(pos[0])][pos[1]])

    def first(self, pos: tuple) -> tuple:
        """The scalar position of the first scalar step that layer step ``pos`` contains."""
        return (pos[0], self._specs[self.is_evaluate(pos[0])][pos[1]].contains[0])

    def step(self, epoch: int, index: int) -> LayerStep:
        return LayerStep(epoch, self._specs[self.is_evaluate(epoch)][index], self.tape.record(epoch),
                         self.tape.specs(epoch))

    def at(self, pos: tuple) -> LayerStep:
        """The layer step that contains scalar position ``pos``."""
        return self.step(*self.containing(pos))


# --- building the layer steps from the scalar layout ----------------------------------------------


def _build(layout, evaluate: bool) -> list:
    sc = layout.scenario
    groups = {}
    for s in layout.specs(evaluate):
        groups.setdefault((s.phase,) + family_layer(s.id, sc.layers), []).append(s)
    out = []
    for index, ((phase, family, l), specs) in enumerate(groups.items()):
        kind, operands = _design(family, l, sc)
        cells, label = _cells(kind, l, sc), _label(kind, l, sc)
        where = {s.key: s.index for s in specs}
        extra = ((("E", ("E",)),) if family == "E" else
                 (("α", ("lr",)),) if family in ("W+", "b+") else ())
        out.append(LayerSpec(
            index=index, phase=phase, family=family, layer=l,
            id="E" if family == "E" else f"da[{l}]/dz[{l}]" if family == "da/dz" else f"{family}[{l}]",
            name="E" if family == "E" else label, label=label, formula=_formula(family, l, sc),
            contains=tuple(s.index for s in specs), factor=all(s.factor for s in specs),
            cells=cells, steps=tuple(tuple(where.get(k, -1) for k in row) for row in cells),
            operands=tuple((_label(k, m, sc), _cells(k, m, sc)) for k, m in operands), extra=extra))
    return out


def _design(family, l, sc):
    """The result's key kind and the operands' (key kind, layer) of a family's layer step, in
    the order the formula reads them."""
    batch, L = sc.samples > 1, sc.layers
    g, gb = ("gW", "gb") if batch else ("gWs", "gbs")
    if family == "z":
        product = [("a", l - 1), ("W", l)] if batch else [("W", l), ("a", l - 1)]
        return "z", product + ([("b", l)] if sc.bias else [])
    if family == "a":
        return "a", [("z", l)]
    if family == "E":
        return "Ek", [("a", L), ("t", L)]
    if family == "dE/da":
        if l == L:
            return "dEda", [("a", L), ("t", L)]
        return "dEda", [("dEdz", l + 1), ("Wd", l + 1)] if batch else [("Wd", l + 1), ("dEdz", l + 1)]
    if family == "da/dz":
        fn = sc.activations[l - 1]
        return "dadz", [] if fn == "identity" else [("z", l)] if fn == "relu" else [("a", l)]
    if family == "dE/dz":
        return "dEdz", [("dEda", l), ("dadz", l)]
    if family == "dE/dW":
        return g, [("dEdz", l), ("a", l - 1)]
    if family == "dE/db":
        return gb, [("dEdz", l)]
    if family == "W+":
        return "W+", [("W", l), (g, l)]
    return "b+", [("b", l), (gb, l)]


def _cells(kind, l, sc) -> tuple:
    """Rows of the keys of one matrix: a batch has a row per sample, one sample is a column;
    weights have a row per receiving unit, biases are a column."""
    N, sizes = sc.samples, sc.sizes
    if kind in _PER_SAMPLE or kind in ("t", "Ek"):
        if kind == "a" and l == 0:
            kind, prefix, units = "x", (), sizes[0]
        elif kind in ("t", "Ek"):
            prefix, units = (), sizes[-1]
        else:
            prefix, units = (l - 1,), sizes[l]
        rows = [[(kind, *prefix, n, j) for j in range(units)] for n in range(N)]
        return tuple(map(tuple, rows)) if N > 1 else tuple((k,) for k in rows[0])
    sample = (0,) if kind in ("gWs", "gbs") else ()
    if kind in ("b", "gb", "b+", "gbs"):
        return tuple(((kind, l - 1, *sample, j),) for j in range(sizes[l]))
    return tuple(tuple((kind, l - 1, *sample, j, i) for i in range(sizes[l - 1])) for j in range(sizes[l]))


def _label(kind, l, sc) -> str:
    """The matrix's name: z¹, h¹ (flat) or a¹, o, x; capitals for a batch."""
    batch, s = sc.samples > 1, sup(l)
    up = str.upper if batch else str
    if kind == "a":
        if l == 0:
            return up("x")
        return up("o") if l == sc.layers else up("h" if sc.notation == "flat" else "a") + s
    if kind in ("t", "z"):
        return up(kind) + ("" if kind == "t" else s)
    if kind == "dEdz":
        return ("Δ" if batch else "δ") + s
    if kind == "dEda":
        return f"∂E/∂{_label('a', l, sc)}"
    if kind == "dadz":
        return f"∂{_label('a', l, sc)}/∂{_label('z', l, sc)}"
    if kind == "Ek":
        return "Eₖ"
    base = "W" if kind in ("W", "Wd", "gW", "gWs", "W+") else "b"
    if kind in ("gW", "gWs", "gb", "gbs"):
        return f"∂E/∂{base}{s}"
    plus = kind in ("W+", "b+") or (kind == "Wd" and sc.update_order == "sequential")
    return base + s + ("⁺" if plus else "")


def _formula(family, l, sc) -> str:
    """The layer step's formula in symbols."""
    def lab(kind, m=l):
        return _label(kind, m, sc)

    batch, N, K = sc.samples > 1, sc.samples, sc.sizes[-1]
    if family == "z":
        rhs = f"{lab('a', l - 1)}{lab('W')}ᵀ" if batch else f"{lab('W')}{lab('a', l - 1)}"
        return f"{lab('z')} = {rhs}" + (f" + {lab('b')}" if sc.bias else "")
    fn = sc.activations[l - 1]
    if family == "a":
        return f"{lab('a')} = " + (lab("z") if fn == "identity" else f"{_FN[fn]}({lab('z')})")
    if family == "E":
        per = _LOSS[sc.loss].replace("/K", f"/{K}" if K > 1 else "")
        return f"E = {per}" + (f", the mean over {N} samples" if batch else "")
    if family == "dE/da" and l == sc.layers:
        o, t, k = lab("a"), lab("t"), f"/{K}" if K > 1 else ""
        rhs = {"half_sse": f"−({t} − {o})", "mse": f"2({o} − {t}){k}",
               "bce": f"({o} − {t}) ⊘ ({o} ⊙ (1 − {o})){k}"}[sc.loss]
        return f"{lab('dEda')} = {rhs}"
    if family == "dE/da":
        rhs = f"{lab('dEdz', l + 1)}{lab('Wd', l + 1)}" if batch else f"({lab('Wd', l + 1)})ᵀ{lab('dEdz', l + 1)}"
        return f"{lab('dEda')} = {rhs}"
    if family == "da/dz":
        a, z = lab("a"), lab("z")
        rhs = {"sigmoid": f"{a} ⊙ (1 − {a})", "tanh": f"1 − {a} ⊙ {a}", "relu": f"[{z} > 0]", "identity": "1"}[fn]
        return f"{lab('dadz')} = {rhs}"
    if family == "dE/dz":
        return f"{lab('dEdz')} = {lab('dEda')} ⊙ {lab('dadz')}"
    if family == "dE/dW":
        rhs = f"{lab('dEdz')}ᵀ{lab('a', l - 1)} / {N}" if batch else f"{lab('dEdz')}({lab('a', l - 1)})ᵀ"
        return f"{lab('gW')} = {rhs}"
    if family == "dE/db":
        return f"{lab('gb')} = " + (f"Σₙ {lab('dEdz')}ₙ / {N}" if batch else lab("dEdz"))
    kind = family[0]
    return f"{lab(kind + '+')} = {lab(kind)} − α·{lab('g' + kind)}"


# --- text ---------------------------------------------------------------------------------------


def _kept(n, shown=MAX_SHOWN):
    """The indices kept of ``n`` rows or columns, None where the rest are left out: all of them
    up to ``shown``, else ``shown`` − 1 of them, the first ones and the last ones."""
    if n <= shown:
        return list(range(n))
    tail = (shown - 1) // 2
    return list(range(shown - 1 - tail)) + [None] + list(range(n - tail, n))


def matrix_lines(label: str, m: np.ndarray, shown: int = MAX_SHOWN) -> list:
    """A small matrix as text lines, ``label = ⎡…⎤``; a big one keeps its first three and last
    two rows and columns (fewer with a smaller ``shown``, for a small screen), with its shape."""
    rows, cols = _kept(m.shape[0], shown), _kept(m.shape[1], shown)
    table = [[("⋮" if r is None else "…" if c is None else fmt(m[r, c])) for c in cols] for r in rows]
    widths = [max(len(row[k]) for row in table) for k in range(len(cols))]
    texts = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in table]
    shape = f"  ({m.shape[0]}×{m.shape[1]})" if None in rows + cols else ""
    pad = " " * (len(label) + 3)
    if len(texts) == 1:
        return [f"{label} = [{texts[0]}]{shape}"]
    out = []
    for k, text in enumerate(texts):
        left, right = ("⎡", "⎤") if k == 0 else ("⎣", "⎦") if k == len(texts) - 1 else ("⎢", "⎥")
        out.append(f"{label} = {left}{text}{right}{shape}" if k == 0 else f"{pad}{left}{text}{right}")
    return out


def text_lines(ls: LayerStep) -> list:
    """Replay's text for a layer step: one header line, then its matrices indented."""
    head = f"e{ls.epoch} {ls.phase} #{ls.index} {ls.id}  {ls.header()}"
    return [head] + ["    " + line for label, m in ls.blocks() for line in matrix_lines(label, m)]


def describe(ls: LayerStep, tape: LayerTape) -> str:
    n = tape.length(ls.epoch)
    return f"epoch {ls.epoch} · {ls.phase} · layer step {ls.index} of {n}: {ls.id}  {ls.header()}"


def compare(ls: LayerStep, check):
    """The cross-check of a layer step: ``(torch matrix, largest |Δ|, ok)``; ok when every
    scalar step it contains is."""
    results = {s.index: check.compare(s) for s in ls.steps()}
    torch = [[results[i][0] if i >= 0 else None for i in row] for row in ls.spec.steps]
    errs = [r[1] for r in results.values() if r[1] is not None]
    return torch, (max(errs) if errs else None), all(r[2] for r in results.values())


def verdict_text(ls: LayerStep, check) -> str:
    """``torch ✓ max Δ 1.4e-17 over 8 steps`` (✗ when a step is out of tolerance)."""
    _, err, ok = compare(ls, check)
    size = "" if err is None else f" max Δ {err:.1e}"
    return f"torch {'✓' if ok else '✗'}{size} over {len(ls.spec.contains)} steps"


def json_fields(ls: LayerStep, check=None) -> dict:
    torch = abs_err = ok = None
    if check is not None:
        torch, abs_err, ok = compare(ls, check)
    fields = {"step": ls.index, "epoch": ls.epoch, "phase": ls.phase, "sample": None, "id": ls.id,
              "name": ls.name, "formula": ls.formula, "substituted": None, "value": ls.matrix.tolist(),
              "torch": torch, "abs_err": abs_err, "ok": ok, "contains": list(ls.spec.contains),
              "operands": {label: m.tolist() for label, m in ls.blocks()[:-1]}}
    for _, key in ls.spec.extra:  # the batch loss "E", the learning rate "lr"
        fields[key[0]] = ls.record.value(key)
    return fields


# --- motions --------------------------------------------------------------------------------------


def motion(session, cmd, on_pass=None, progress=None, cancelled=None):
    """A motion in layer view: the session's own motion targets computed over the layer steps
    (by a copy of the session whose tape and layout are the :class:`LayerTape`), stopping at the
    first layer step, in layer order, that contains a breakpoint hit."""
    grid = session.layer_tape
    shadow = copy.copy(session)
    shadow.tape = shadow.layout = grid
    forward = not cmd.name.startswith("r")
    start = grid.containing(session.position)
    target = shadow._target(start, cmd, forward)
    hit_at, hit = first_hit(session, grid, start, target, forward, progress, cancelled)
    land = grid.containing(hit_at) if hit is not None else target
    messages = []
    if land == start and hit is None:
        messages.append("at the end of the tape" if forward else "at the start of the tape")
    if on_pass is not None:
        for pos in shadow._between(start, land, forward):
            on_pass(grid.step(*pos))
    scalar = hit_at if hit is not None else session.position if land == start else grid.first(land)
    return session._land(scalar, hit, messages, progress, cancelled)


def first_hit(session, grid, start, target, forward, progress=None, cancelled=None):
    """The first breakpoint hit in a layer step after layer position ``start`` up to ``target``
    (inclusive) in the direction of travel: ``(scalar position, breakpoint)`` or ``(None, None)``.
    Whole epochs without a hit are skipped by the session's scalar search."""
    if not session.breakpoints or start == target:
        return None, None
    e0, e1 = start[0], target[0]

    def best(epoch, lo, hi):
        hits = [(grid.containing((epoch, s))[1], s, bp) for s, bp in _epoch_hits(session, epoch)]
        hits = [h for h in hits if lo <= h[0] <= hi]
        if not hits:
            return None, None
        _, s, bp = (min if forward else max)(hits, key=lambda h: h[:2])
        return (epoch, s), bp

    last = grid.length(e0) - 1
    if e0 == e1:
        return best(e0, start[1] + 1, target[1]) if forward else best(e0, target[1], start[1] - 1)
    found = best(e0, start[1] + 1, last) if forward else best(e0, 0, start[1] - 1)
    if found[1] is not None:
        return found
    tape = session.tape
    if forward:
        pos, _ = session._first_hit((e0, tape.length(e0) - 1), (e1, tape.length(e1) - 1), True, progress, cancelled)
    else:
        pos, _ = session._first_hit((e0, 0), (e1, 0), False, progress, cancelled)
    if pos is None:
        return None, None
    e, n = pos[0], grid.length(pos[0]) - 1
    if forward:
        return best(e, 0, target[1] if e == e1 else n)
    return best(e, target[1] if e == e1 else 0, n)


def _epoch_hits(session, epoch):
    """Every ``(scalar index, breakpoint)`` hit in one epoch, in tape order."""
    out, pos, end = [], (epoch, -1), (epoch, session.tape.length(epoch) - 1)
    while True:
        pos, bp = session._first_hit(pos, end, True)
        if pos is None:
            return out
        out.append((pos[1], bp))


def goto_step(session, k):
    """``goto step K`` in layer view: layer step K of the current epoch."""
    grid, epoch = session.layer_tape, session.position[0]
    n = grid.length(epoch)
    if k >= n:
        raise CommandError(f"goto: layer step {k} is outside 0…{n - 1} of epoch {epoch}")
    return session._land(grid.first((epoch, k)))
