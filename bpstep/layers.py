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

import bisect
import re
from functools import cached_property

import numpy as np

from . import motions
from .functions import ACTIVATIONS, LOSSES, OPTIMIZERS
from .ids import frozen_cells
from .layout import FAMILY, block_key, merge_runs, optimizer_kinds, step_id
from .notation import Name, Ref, fmt, render, sup
from .tape import Step

_BRACKETS = re.compile(r"\[[^\]]*\]")
#: factor families → the family of the quantity they make
_MADE_BY = {"dz/da": "dE/da", "dz/dW": "dE/dW", "dz/db": "dE/db"}
_PER_SAMPLE = {"z", "a", "dEda", "dadz", "dEdz"}
MAX_SHOWN = 6  # rows or columns of a matrix shown in full; bigger ones keep 3 + 2


def family_layer(qid: str, layers: int) -> tuple:
    """``dE[2,1]/da[1,2]`` → ``("dE/da", 1)``: the layer step a scalar id belongs to."""
    family = _BRACKETS.sub("", qid)
    family = _MADE_BY.get(family, family)
    if family == "E":
        return family, layers
    return family, int(qid[qid.rindex("[") + 1:-1].split(",")[0])


class LayerSpec:
    """One layer step of an epoch, without its numbers. What it contains is computed from its
    blocks when asked for: a big network's layer step holds millions of scalar steps."""

    def __init__(self, index, phase, family, layer, id, name, label, formula, factor, extra, blocks, grid, sc):
        self.index, self.phase, self.family, self.layer = index, phase, family, layer
        self.id, self.name, self.label, self.formula = id, name, label, formula
        self.factor = factor  # made of factor steps only (``next`` steps over it)
        self.extra = extra  # (label, key) of a scalar shown in the header line (E, α)
        self.blocks, self.grid, self._sc = blocks, grid, sc
        self.sizes = sc.sizes
        #: the index of the first scalar step it contains
        self.first = min(grid.first(b) for b in blocks)

    @property
    def size(self) -> int:
        """How many scalar steps it contains."""
        return sum(self.grid.count(b) for b in self.blocks)

    def frozen_cells(self) -> list:
        """``(row, column)`` of the result's cells that no step computes: frozen parameters."""
        kind = _optimized_param(self.family) or (self.family[0] if self.family in ("W+", "b+") else None)
        return [] if kind is None else frozen_cells(self._sc.freeze, kind, self.layer)

    @cached_property
    def contains(self) -> np.ndarray:
        """Indices of the scalar steps it groups, ascending."""
        return np.sort(np.concatenate([self.grid.block_cells(b)[0] for b in self.blocks]))

    @cached_property
    def first_ids(self) -> tuple:
        """The ids of its steps in the order they first appear (those of the first sample)."""
        found = []
        for b in self.blocks:
            count = self.grid.count(b) // (self._sc.samples if "n" in b.axes else 1)  # n is outermost
            env = self.grid.env_at(b, np.arange(count))
            pos = self.grid.positions_at(b, np.arange(count)).tolist()
            found += [(p, step_id(b, {a: v[k] for a, v in env.items()}, self._sc.sizes)) for k, p in enumerate(pos)]
        return tuple(dict.fromkeys(qid for _, qid in sorted(found)))

    def tail(self, count: int) -> np.ndarray:
        """The indices of the last ``count`` scalar steps it contains, ascending."""
        last = [self.grid.positions_at(b, np.arange(max(0, n - count), n))
                for b, n in ((b, self.grid.count(b)) for b in self.blocks)]
        return np.sort(np.concatenate(last))[-count:] if count else np.zeros(0, dtype=np.int64)

    @cached_property
    def _design(self):
        return _design(self.family, self.layer, self._sc)

    @property
    def shape(self) -> tuple:
        return self.cells[1]

    @cached_property
    def cells(self) -> tuple:
        """``(key, shape)`` of the result matrix (see :func:`_cells`)."""
        return _cells(self._design[0], self.layer, self._sc)

    @cached_property
    def operands(self) -> tuple:
        """(label, (key, shape)) of the matrices it is computed from."""
        return tuple((_label(k, m, self._sc), _cells(k, m, self._sc)) for k, m in self._design[1])

    @cached_property
    def steps(self) -> tuple:
        """Rows of the scalar step index of each cell (−1: no step, a frozen parameter)."""
        where = {}
        for b in self.blocks:
            pos, env = self.grid.block_cells(b)
            key = block_key(b, env, self._sc.sizes)
            arrays = [np.broadcast_to(k, pos.shape) for k in key[1:]]
            for n, p in enumerate(pos.tolist()):
                where[(key[0], *(int(x[n]) for x in arrays))] = p
        return tuple(tuple(where.get(k, -1) for k in row) for row in _cell_keys(self.cells))


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
        key, shape = cells
        return np.array(self.record.values(key, shape))

    @property
    def matrix(self) -> np.ndarray:
        return self.values(self.spec.cells)

    def blocks(self) -> list:
        """``(label, matrix)`` of the operands, then of the result."""
        return ([(label, self.values(cells)) for label, cells in self.spec.operands]
                + [(self.spec.label, self.matrix)])

    def first_step(self) -> Step:
        """The first scalar step it contains."""
        return Step(self.epoch, self.scalars[self.spec.first], self.record)

    def header(self) -> str:
        extra = "".join(f"  {label} = {fmt(self.record.value(key))}" for label, key in self.spec.extra)
        return f"{self.spec.formula}{extra}"


class LayerTape:
    """The tape seen as layer steps: the same epochs, fewer and bigger steps. It is a grid for
    :mod:`bpstep.motions`, as the tape is."""

    def __init__(self, tape):
        self.tape, self.epochs = tape, tape.epochs
        self._built = {}  # (batch layout, evaluate) → _Steps; one layout without mini-batches

    def _steps(self, epoch: int) -> "_Steps":
        layout, evaluate = self.tape.layout_of(epoch), self.is_evaluate(epoch)
        key = (id(layout), evaluate)
        if key not in self._built:
            self._built[key] = _Steps(_build(layout, evaluate))
        return self._built[key]

    def is_evaluate(self, epoch: int) -> bool:
        return self.tape.is_evaluate(epoch)

    def specs(self, epoch: int) -> list:
        return self._steps(epoch).specs

    def length(self, epoch: int) -> int:
        return len(self._steps(epoch).specs)

    @property
    def last(self) -> tuple:
        return (self.epochs, self.length(self.epochs) - 1)

    def phase_runs(self, epoch: int) -> list:
        return self._steps(epoch).runs

    def quantity_count(self, epoch: int) -> int:
        return len(self._steps(epoch).quantities)

    def rank(self, epoch: int, index: int) -> int:
        return bisect.bisect_left(self._steps(epoch).quantities, index)

    def select(self, epoch: int, k: int) -> int:
        return self._steps(epoch).quantities[k]

    def of_block(self, epoch: int, block) -> int:
        """The layer step that holds a block's steps."""
        return self._steps(epoch).of[(block.kind, block.layer)]

    def containing(self, pos: tuple) -> tuple:
        """The layer position of the layer step that contains scalar position ``pos``."""
        block, _ = self.tape.layout_of(pos[0]).grid(self.is_evaluate(pos[0])).locate(pos[1])
        return (pos[0], self.of_block(pos[0], block))

    def first(self, pos: tuple) -> tuple:
        """The scalar position of the first scalar step that layer step ``pos`` contains."""
        return (pos[0], self._steps(pos[0]).specs[pos[1]].first)

    def step(self, epoch: int, index: int) -> LayerStep:
        return LayerStep(epoch, self._steps(epoch).specs[index], self.tape.record(epoch), self.tape.specs(epoch))

    def at(self, pos: tuple) -> LayerStep:
        """The layer step that contains scalar position ``pos``."""
        return self.step(*self.containing(pos))


class _Steps:
    """The layer steps of one layout and phase, and what the motions ask of them."""

    def __init__(self, specs: list):
        self.specs = specs
        self.of = {(b.kind, b.layer): ls.index for ls in specs for b in ls.blocks}
        self.quantities = [s.index for s in specs if not s.factor]
        self.runs = merge_runs((s.index, s.index, s.phase) for s in specs)


# --- building the layer steps from the scalar layout's blocks ------------------------------------


def _build(layout, evaluate: bool) -> list:
    sc, grid = layout.scenario, layout.grid(evaluate)
    groups = {}
    for block in sorted(grid.blocks, key=grid.first):
        family = FAMILY[block.kind]
        groups.setdefault((block.phase, family, sc.layers if family == "E" else block.layer), []).append(block)
    out = []
    for index, ((phase, family, l), blocks) in enumerate(groups.items()):
        label = _label(_design(family, l, sc)[0], l, sc)
        extra = ((("E", ("E",)),) if family == "E" else
                 (("α", ("lr",)),) if family in ("W+", "b+") else ())
        out.append(LayerSpec(
            index=index, phase=phase, family=family, layer=l,
            id="E" if family == "E" else f"da[{l}]/dz[{l}]" if family == "da/dz" else
               f"{family[:-1]}[{l}])" if _optimized_param(family) else f"{family}[{l}]",
            name="E" if family == "E" else label, label=label, formula=_formula(family, l, sc),
            factor=all(b.factor for b in blocks), extra=extra, blocks=blocks, grid=grid, sc=sc))
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
    fn = ACTIVATIONS[sc.activations[l - 1]]
    if family == "da/dz":
        return "dadz" if fn.elementwise else "jac", [] if fn.reads is None else [(fn.reads, l)]
    if family == "dE/dz":
        return "dEdz", [("dEda", l), ("dadz" if fn.elementwise else "jac", l)]
    if family == "dE/dW":
        return g, [("dEdz", l), ("a", l - 1)]
    if family == "dE/db":
        return gb, [("dEdz", l)]
    P = _optimized_param(family) or family[0]
    if _optimized_param(family) or optimizer_kinds(sc):  # the optimizer's: what its formula reads
        q = family.split("(")[0] if _optimized_param(family) else "+"
        grad = g if P == "W" else gb
        operand = {"grad": grad, "theta": P}
        reads = OPTIMIZERS[sc.optimizer].reads(q, dict(OPTIMIZERS[sc.optimizer].hyper, **dict(sc.hyper)))
        return (f"opt:{q}:{P}" if q != "+" else P + "+"), [
            (operand.get(r, f"opt{'prev' if r.startswith('prev:') else ''}:{r.split(':')[-1]}:{P}"), l) for r in reads]
    if family == "W+":
        return "W+", [("W", l), (g, l)]
    return "b+", [("b", l), (gb, l)]


def _optimized_param(family) -> str | None:
    """"W" or "b" for a family of the optimizer's quantities (``m(W)``), else None."""
    return family[-2] if family.endswith(("(W)", "(b)")) else None


def _cells(kind, l, sc) -> tuple:
    """``(key, shape)`` of one matrix: the key of :mod:`bpstep.tape` with index arrays that
    broadcast to the matrix's shape. A batch has a row per sample, one sample is a column;
    weights have a row per receiving unit, biases are a column."""
    N, sizes = sc.samples, sc.sizes
    if kind == "jac":  # the Jacobian of one sample, the first: [k, j] = ∂o_k/∂z_j
        K = sizes[l]
        return (kind, l - 1, 0, np.arange(K)[:, None], np.arange(K)[None, :]), (K, K)
    if kind in _PER_SAMPLE or kind in ("t", "Ek"):
        if kind == "a" and l == 0:
            kind, prefix, units = "x", (), sizes[0]
        elif kind in ("t", "Ek"):
            prefix, units = (), sizes[-1]
        else:
            prefix, units = (l - 1,), sizes[l]
        if N > 1:
            return (kind, *prefix, np.arange(N)[:, None], np.arange(units)[None, :]), (N, units)
        return (kind, *prefix, 0, np.arange(units)[:, None]), (units, 1)
    sample = (0,) if kind in ("gWs", "gbs") else ()
    J, I = sizes[l], sizes[l - 1]
    if kind.startswith(("opt:", "optprev:")):  # ("opt", q, P, l, j[, i])
        head, q, P = kind.split(":")
        if P == "b":
            return (head, q, P, l - 1, np.arange(J)[:, None]), (J, 1)
        return (head, q, P, l - 1, np.arange(J)[:, None], np.arange(I)[None, :]), (J, I)
    if kind in ("b", "gb", "b+", "gbs"):
        return (kind, l - 1, *sample, np.arange(J)[:, None]), (J, 1)
    return (kind, l - 1, *sample, np.arange(J)[:, None], np.arange(I)[None, :]), (J, I)


def _cell_keys(cells):
    """The plain key of every cell of ``(key, shape)``, row by row."""
    key, shape = cells
    parts = [np.broadcast_to(k, shape) if isinstance(k, np.ndarray) else k for k in key]
    return [[tuple(int(p[r, c]) if isinstance(p, np.ndarray) else p for p in parts) for c in range(shape[1])]
            for r in range(shape[0])]


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
    if kind == "jac":  # one sample's, whatever the batch
        return f"∂o/∂z{s}" + ("⁽¹⁾" if batch else "")
    if kind == "Ek":
        return "Eₖ"
    if kind.startswith(("opt:", "optprev:")):
        head, q, P = kind.split(":")
        uni = OPTIMIZERS[sc.optimizer].names[q][0]
        return f"{uni}{'⁻' if head == 'optprev' else ''}({P}{s})"
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
    fn = ACTIVATIONS[sc.activations[l - 1]]
    if family == "a":
        return f"{lab('a')} = {fn.layer(lab('z'))}"
    if family == "E":
        per = LOSSES[sc.loss].layer.replace("/K", f"/{K}" if K > 1 else "")
        return f"E = {per}" + (f", the mean over {N} samples" if batch else "")
    if family == "dE/da" and l == sc.layers:
        o, t, k = lab("a"), lab("t"), f"/{K}" if K > 1 else ""
        return f"{lab('dEda')} = {LOSSES[sc.loss].layer_gradient(o, t, k)}"
    if family == "dE/da":
        rhs = f"{lab('dEdz', l + 1)}{lab('Wd', l + 1)}" if batch else f"({lab('Wd', l + 1)})ᵀ{lab('dEdz', l + 1)}"
        return f"{lab('dEda')} = {rhs}"
    if family == "da/dz" and not fn.elementwise:  # one sample's Jacobian (diag(o) − o oᵀ)
        return f"{lab('jac')} = {fn.layer_derivative('o', 'z')}" + (" (sample 1 of each)" if batch else "")
    if family == "da/dz":
        return f"{lab('dadz')} = {fn.layer_derivative(lab('a'), lab('z'))}"
    if family == "dE/dz" and not fn.elementwise:
        each = ", per sample" if batch else ""
        return f"{lab('dEdz')} = (∂o/∂z)ᵀ {lab('dEda')}{each} = {LOSSES[sc.loss].layer_delta(lab('a'), lab('t'))}"
    if family == "dE/dz":
        return f"{lab('dEdz')} = {lab('dEda')} ⊙ {lab('dadz')}"
    if family == "dE/dW":
        rhs = f"{lab('dEdz')}ᵀ{lab('a', l - 1)} / {N}" if batch else f"{lab('dEdz')}({lab('a', l - 1)})ᵀ"
        return f"{lab('gW')} = {rhs}"
    if family == "dE/db":
        return f"{lab('gb')} = " + (f"Σₙ {lab('dEdz')}ₙ / {N}" if batch else lab("dEdz"))
    kind = _optimized_param(family) or family[0]
    if _optimized_param(family) or optimizer_kinds(sc):
        q = family.split("(")[0] if _optimized_param(family) else "+"
        target = lab(f"opt:{q}:{kind}") if q != "+" else lab(kind + "+")
        return f"{target} = {render(OPTIMIZERS[sc.optimizer].formula(q, _LayerRefs(sc, kind, l, lab)), _name)}"
    return f"{lab(kind + '+')} = {lab(kind)} − α·{lab('g' + kind)}"


def _name(ref) -> str:
    return ref.name.uni


class _LayerRefs:
    """The Refs an optimizer's formula reads, named as the layer view's matrices (m(W²), ∂E/∂W²)."""

    def __init__(self, sc, P, l, lab):
        self.P, self.lab = P, lab
        self.h = dict(OPTIMIZERS[sc.optimizer].hyper, **dict(sc.hyper))
        self.symbols = OPTIMIZERS[sc.optimizer].symbols
        self.theta = self._ref(lab(P))
        self.grad = self._ref(lab("g" + P))  # ∂E/∂W², the batch's (or the one sample's)
        self.lr, self.t = self._ref("α"), self._ref("t")

    @staticmethod
    def _ref(text):
        return Ref(Name(text, text), (), text)

    def q(self, q):
        return self._ref(self.lab(f"opt:{q}:{self.P}"))

    def prev(self, q):
        return self._ref(self.lab(f"optprev:{q}:{self.P}"))

    def hp(self, h):
        return self._ref(self.symbols[h][0])


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
    head = f"{ls.record.tag} {ls.phase} #{ls.index} {ls.id}  {ls.header()}"
    return [head] + ["    " + line for label, m in ls.blocks() for line in matrix_lines(label, m)]


def describe(ls: LayerStep, tape: LayerTape) -> str:
    n = tape.length(ls.epoch)
    return f"{ls.record.words} · {ls.phase} · layer step {ls.index} of {n}: {ls.id}  {ls.header()}"


def compare(ls: LayerStep, check):
    """The cross-check of a layer step: ``(torch matrix, largest |Δ|, ok)``; ok when every
    scalar step it contains is. Compared block by block on whole arrays (``check`` answers
    ``compare_values(epoch, key, shape)``), a sample at a time where a block is big."""
    worst, ok = None, True
    for block in ls.spec.blocks:
        for flat in _chunks(ls.spec.grid.count(block)):
            env = ls.spec.grid.env_at(block, flat)
            _, err, good = check.compare_values(ls.epoch, block_key(block, env, ls.spec.sizes), flat.shape)
            worst = float(err.max()) if worst is None else max(worst, float(err.max()))
            ok &= bool(good.all())
    key, shape = ls.spec.cells
    torch = check.compare_values(ls.epoch, key, shape)[0].tolist()
    for r, c in ls.spec.frozen_cells():
        torch[r][c] = None
    return torch, worst, ok


def _chunks(count, size=1 << 20):
    """``arange(count)`` in pieces of at most ``size``."""
    for start in range(0, count, size):
        yield np.arange(start, min(count, start + size))


def verdict_text(ls: LayerStep, check) -> str:
    """``torch ✓ max Δ 1.4e-17 over 8 steps`` (✗ when a step is out of tolerance)."""
    _, err, ok = compare(ls, check)
    size = "" if err is None else f" max Δ {err:.1e}"
    return f"torch {'✓' if ok else '✗'}{size} over {ls.spec.size} steps"


def json_fields(ls: LayerStep, check=None) -> dict:
    torch = abs_err = ok = None
    if check is not None:
        torch, abs_err, ok = compare(ls, check)
    fields = {"step": ls.index, **ls.record.fields, "phase": ls.phase, "sample": None, "id": ls.id,
              "name": ls.name, "formula": ls.formula, "substituted": None, "value": ls.matrix.tolist(),
              "torch": torch, "abs_err": abs_err, "ok": ok, "contains": ls.spec.contains.tolist(),
              "operands": {label: m.tolist() for label, m in ls.blocks()[:-1]}}
    for _, key in ls.spec.extra:  # the batch loss "E", the learning rate "lr"
        fields[key[0]] = ls.record.value(key)
    return fields


# --- motions --------------------------------------------------------------------------------------


def motion(session, cmd, on_pass=None, progress=None, cancelled=None):
    """A motion in layer view: the motion's target over the layer steps, stopping at the first
    layer step, in layer order, that contains a breakpoint hit."""
    grid = session.layer_tape
    forward = not cmd.name.startswith("r")
    start = grid.containing(session.position)
    target = motions.target(grid, start, cmd.name if forward else cmd.name[1:], cmd.count, forward)
    hit_at, hit = first_hit(session, grid, start, target, forward, progress, cancelled)
    land = grid.containing(hit_at) if hit is not None else target
    messages = []
    if land == start and hit is None:
        messages.append("at the end of the tape" if forward else "at the start of the tape")
    if on_pass is not None:
        for pos in motions.between(grid, start, land, forward):
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
        """The hit in the first (going back: last) layer step lo … hi that has one: its first
        (last) scalar step hit."""
        found = None
        for bp in session.breakpoints:
            for block, pos in session.hits(bp, epoch, 0, session.tape.length(epoch) - 1):
                k = grid.of_block(epoch, block)
                if lo <= k <= hi:
                    here = (k, int(pos[0] if forward else pos[-1]))
                    if found is None or (here < found[0] if forward else here > found[0]):
                        found = (here, bp)
        return ((epoch, found[0][1]), found[1]) if found else (None, None)

    last = grid.length(e0) - 1
    if e0 == e1:
        return best(e0, start[1] + 1, target[1]) if forward else best(e0, target[1], start[1] - 1)
    found = best(e0, start[1] + 1, last) if forward else best(e0, 0, start[1] - 1)
    if found[1] is not None:
        return found
    tape = session.tape
    if forward:
        pos, _ = session.first_hit((e0, tape.length(e0) - 1), (e1, tape.length(e1) - 1), True, progress, cancelled)
    else:
        pos, _ = session.first_hit((e0, 0), (e1, 0), False, progress, cancelled)
    if pos is None:
        return None, None
    e, n = pos[0], grid.length(pos[0]) - 1
    if forward:
        return best(e, 0, target[1] if e == e1 else n)
    return best(e, target[1] if e == e1 else 0, n)
