"""The structure of one epoch: which steps there are, in which order, with their ids, names and
formulas. It depends on the scenario's shape only; the values come from each epoch's arrays
(:mod:`bpstep.tape`).

The epoch is arithmetic, not a list. Its steps are described by a small tree whose leaves are
*blocks*: one block per (family, layer), e.g. "z of layer 2" or "∂E/∂W of layer 1, per
sample". A block's steps are indexed by its axes (sample n, unit j, unit m of the next layer,
input i, parameter p), and every node above it either repeats its child along one axis or
strings children one after another. So a step's position is the sum of the offsets on its path
plus axis index × the repeated child's size: id → position and position → id cost a few
integer operations however large the network, and the tree has a few nodes per layer.

Step ids (1-based; a step of one sample is also written ``id@n``; see :mod:`bpstep.ids`):

=============================  ==========================================================
``z[l,j]``, ``a[l,j]``         pre-activation and activation (``a[L,k]`` is output k)
``E[k]``, ``E``                loss term of output k; the loss (``E@n`` sample n's, ``E`` the
                               batch mean, when there is more than one sample)
``dE/da[l,j]``                 ∂E/∂a: for the output from the loss, for a hidden unit the
                               sum of its parts below
``dE[l+1,j]/da[l,i]``          the part of ∂E/∂a[l,i] that flows through unit j of the next
                               layer (the lecture's ∂E_o1/∂h1) = δ[l+1,j] · W[l+1,j,i]
``dz[l+1,j]/da[l,i]``          its local factor, the weight W[l+1,j,i] (W⁺ when sequential)
``da[l,j]/dz[l,j]``            the activation's derivative
``da[l,k]/dz[l,j]``            a softmax layer's Jacobian term ∂a_k/∂z_j (block ``jac``, axes
                               n, j and k on m; its δ_j = Σ_k ∂E/∂a_k · ∂a_k/∂z_j)
``dE/dz[l,j]``                 δ = ∂E/∂a × ∂a/∂z
``dz[l,j]/dW[l,j,i]``          the local factor a[l−1,i] (x[i] for the first layer)
``dz[l,j]/db[l,j]``            the local factor 1
``dE/dW[l,j,i]``, ``dE/db[l,j]``  the parameter gradient (per sample, then the batch mean)
``W+[l,j,i]``, ``b+[l,j]``     the parameter after the update
=============================  ==========================================================

Factor steps (local derivatives and the per-unit parts) are the ones ``next`` steps over.

Block kinds (the tree's leaves) and the axes they are indexed by, 0-based:

======  ==========  ==========================  ======  ==========  ==================
kind    axes        id                          kind    axes        id
======  ==========  ==========================  ======  ==========  ==================
z, a    n, j        z[l,j]@n                    dzdW    n, j, i     dz[l,j]/dW[l,j,i]@n
Ek      n, j        E[j]@n                      gWs     n, j, i     dE/dW[l,j,i]@n
En      n           E@n                         dzdb    n, j        dz[l,j]/db[l,j]@n
E       –           E (batch)                   gbs     n, j        dE/db[l,j]@n
dzda    n, j, m     dz[l+1,m]/da[l,j]@n         gW      p           dE/dW[l,j,i], p = j·I + i
part    n, j, m     dE[l+1,m]/da[l,j]@n         gb      j           dE/db[l,j]
dEda    n, j        dE/da[l,j]@n                W+      p           W+[l,j,i] (unfrozen p)
dadz    n, j        da[l,j]/dz[l,j]@n           b+      j           b+[l,j] (unfrozen j)
dEdz    n, j        dE/dz[l,j]@n
======  ==========  ==========================  ======  ==========  ==================
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from functools import cached_property, lru_cache, partial

import numpy as np

from . import ids
from .functions import ACTIVATIONS, LOSSES, OPTIMIZERS, QUANTITIES, count
from .notation import ONE, Const, Frac, Name, Namer, Op, Ref, d, refs, render

#: block kinds that are chain-rule factors (``next`` steps over them)
FACTORS = frozenset({"dzda", "part", "dadz", "jac", "dzdW", "dzdb"})
#: id families → block kinds: (per sample, batch)
_KINDS = {"z": ("z", None), "a": ("a", None), "Ek": ("Ek", None), "E": ("En", "E"), "dEda": ("dEda", None),
          "dadz": ("dadz", None), "dEdz": ("dEdz", None), "dzdW": ("dzdW", None), "dzdb": ("dzdb", None),
          "dEdW": ("gWs", "gW"), "dEdb": ("gbs", "gb"), "part": ("part", None), "dzda": ("dzda", None),
          "W+": (None, "W+"), "b+": (None, "b+"), "jac": ("jac", None),
          **{ids.optimizer_family(q, P): (None, ids.optimizer_family(q, P)) for q in QUANTITIES for P in "Wb"}}
#: the layer view's family of each block kind (the factors go with the quantity they make)
FAMILY = {"z": "z", "a": "a", "Ek": "E", "En": "E", "E": "E", "dzda": "dE/da", "part": "dE/da",
          "dEda": "dE/da", "dadz": "da/dz", "jac": "da/dz", "dEdz": "dE/dz", "dzdW": "dE/dW", "gWs": "dE/dW", "gW": "dE/dW",
          "dzdb": "dE/db", "gbs": "dE/db", "gb": "dE/db", "W+": "W+", "b+": "b+",
          **{ids.optimizer_family(q, P): f"{q}({P})" for q in QUANTITIES for P in "Wb"}}


@dataclass(frozen=True)
class Spec:
    """One step of an epoch, without its numbers. Its name and formula are made when first
    read: a pre-activation of a 784-input layer is a sum of 784 products."""

    index: int
    phase: str
    sample: int | None
    id: str
    key: tuple  # where the value lives in the epoch's arrays
    factor: bool
    make: object = field(repr=False, compare=False)  # () → (name, formula's right-hand side)

    @cached_property
    def _made(self) -> tuple:
        return self.make()

    @property
    def name(self) -> Name:
        return self._made[0]

    @cached_property
    def rhs(self):
        """The formula's right-hand side (notation tree; a long one is built when first read)."""
        made = self._made[1]
        return made.build() if isinstance(made, LongSum) else made() if callable(made) else made

    @property
    def plain(self) -> bool:
        """Whether the formula is one quantity or a constant (nothing to put numbers in)."""
        made = self._made[1]
        return isinstance(made, (Ref, Const))

    def head(self, most: int) -> tuple:
        """``(rhs, left out)``: a sum of more than ``most`` terms cut to its first ``most``
        (a long sum is built only that far), and how many terms it leaves out."""
        made = self._made[1]
        if isinstance(made, LongSum) and made.count > most:
            return made.build(most), made.count - most
        rhs = self.rhs
        if isinstance(rhs, Op) and rhs.op == "+" and len(rhs.args) > most:
            return Op("+", rhs.args[:most]), len(rhs.args) - most
        return rhs, 0

    @property
    def qid(self) -> str:
        return self.id if self.sample is None else f"{self.id}@{self.sample}"

    @cached_property
    def sym(self) -> str:
        """The right-hand side in symbols."""
        return render(self.rhs, lambda r: r.name.uni)

    @cached_property
    def template(self) -> str:
        """The right-hand side with a {} for each number."""
        return render(self.rhs, lambda r: "{}")

    @cached_property
    def keys(self) -> tuple:
        """Where the numbers the formula reads live, in reading order."""
        return tuple(r.key for r in refs(self.rhs))

    @cached_property
    def uses(self) -> tuple:
        """The ids (with @n) of the quantities the formula reads."""
        return tuple(dict.fromkeys(r.qid for r in refs(self.rhs)))


class LongSum:
    """A formula that is a sum of ``count`` terms, ``term(k)`` the k-th (0-based), built when it
    is read, and only as far as it is shown: a pre-activation of 784 inputs."""

    def __init__(self, count: int, term):
        self.count, self.term = count, term

    def build(self, most: int | None = None):
        return _sum([self.term(k) for k in range(self.count if most is None else min(most, self.count))])


# --- the tree ------------------------------------------------------------------------------------


class Block:
    """A leaf: one step of ``kind`` in ``layer``; the nodes above it bind its axes."""

    def __init__(self, kind: str, layer: int, phase: str):
        self.kind, self.layer, self.phase = kind, layer, phase
        self.size, self.q = 1, 0 if kind in FACTORS else 1
        self.factor = kind in FACTORS
        self.path: list = []  # (node, child number) from the root down, set when the tree is done
        self.axes: tuple = ()  # the axes the nodes above bind, outermost first


class Seq:
    """Children one after another."""

    def __init__(self, children, phase=None):
        self.children = [c for c in children if c.size]
        self.phase = phase
        self.starts = list(np.cumsum([0] + [c.size for c in self.children[:-1]], dtype=np.int64).tolist())
        self.qstarts = list(np.cumsum([0] + [c.q for c in self.children[:-1]], dtype=np.int64).tolist())
        self.size = sum(c.size for c in self.children)
        self.q = sum(c.q for c in self.children)


class Rep:
    """``child`` once for each value of ``axis``: 0 … count − 1, or the entries of ``values``
    (the unfrozen parameters of an update)."""

    def __init__(self, axis: str, count: int, child, values: np.ndarray | None = None):
        self.axis, self.child, self.values = axis, child, values
        self.count = count if values is None else len(values)
        self.size, self.q = self.count * child.size, self.count * child.q
        self.phase = None


def _leaves(node, path=(), axes=()):
    if isinstance(node, Block):
        node.path, node.axes = list(path), axes
        yield node
    elif isinstance(node, Seq):
        for c, child in enumerate(node.children):
            yield from _leaves(child, path + ((node, c),), axes)
    else:
        yield from _leaves(node.child, path + ((node, None),), axes + (node.axis,))


class Grid:
    """One tree (a training epoch, or the evaluate phase) and the questions asked of it."""

    def __init__(self, root: Seq):
        self.root = root
        self.blocks = list(_leaves(root))
        self.by_kind = {(b.kind, b.layer): b for b in self.blocks}
        self.runs = merge_runs((start, start + section.size - 1, section.phase)
                               for section, start in zip(root.children, root.starts))

    @property
    def length(self) -> int:
        return self.root.size

    def locate(self, index: int) -> tuple:
        """``(block, {axis: value})`` of the step at ``index``."""
        node, p, env = self.root, index, {}
        while True:
            if isinstance(node, Block):
                return node, env
            if isinstance(node, Seq):
                c = bisect.bisect_right(node.starts, p) - 1
                p -= node.starts[c]
                node = node.children[c]
            else:
                k, p = divmod(p, node.child.size)
                env[node.axis] = k if node.values is None else int(node.values[k])
                node = node.child

    def position(self, block: Block, env: dict):
        """The index of ``block``'s step at ``env`` (values may be arrays: then an array of
        indices); None (or −1 entries) where an update's parameter is frozen."""
        pos = 0
        for node, c in block.path:
            if c is not None:
                pos = pos + node.starts[c]
                continue
            k = env[node.axis]
            if node.values is not None:
                k = _where_in(node.values, k)
                if k is None:
                    return None
            pos = pos + k * node.child.size
        return pos

    def first(self, block: Block) -> int:
        """The index of the block's first step."""
        return int(self.positions_at(block, np.zeros(1, dtype=np.int64))[0])

    def block_cells(self, block: Block) -> tuple:
        """``(indices, env)`` of all the block's steps, ascending: the axes in ``env`` are
        arrays in the same order."""
        flat = np.arange(self.count(block), dtype=np.int64)
        return self.positions_at(block, flat), self.env_at(block, flat)

    def env_at(self, block: Block, flat) -> dict:
        """The axes of the block's steps number ``flat`` (0-based, in tape order; arrays)."""
        reps = [node for node, c in block.path if c is None]
        digits = np.unravel_index(np.asarray(flat, dtype=np.int64), [r.count for r in reps]) if reps else ()
        return {r.axis: (d if r.values is None else r.values[d]) for r, d in zip(reps, digits)}

    def positions_at(self, block: Block, flat) -> np.ndarray:
        """The indices of the block's steps number ``flat`` (0-based, in tape order)."""
        pos = self.position(block, self.env_at(block, flat))
        return np.broadcast_to(np.asarray(pos, dtype=np.int64), np.shape(flat))

    @staticmethod
    def count(block: Block) -> int:
        """How many steps the block has."""
        return int(np.prod([node.count for node, c in block.path if c is None], dtype=np.int64))

    def cells(self, sizes, chunk: int = 1 << 20):
        """``(block, indices, samples, key)`` of every block (see :meth:`Layout.cells`), in
        pieces of at most ``chunk`` steps so that a big block never is one array."""
        for block in self.blocks:
            count = self.count(block)
            for start in range(0, count, chunk):
                flat = np.arange(start, min(count, start + chunk), dtype=np.int64)
                env = self.env_at(block, flat)
                pos = self.positions_at(block, flat)
                yield block, pos, _samples(env, pos), block_key(block, env, sizes)

    def rank(self, index: int) -> int:
        """How many quantity (non-factor) steps come before ``index``."""
        node, p, r = self.root, index, 0
        while True:
            if p <= 0:
                return r
            if p >= node.size:
                return r + node.q
            if isinstance(node, Seq):
                c = bisect.bisect_right(node.starts, p) - 1
                r += node.qstarts[c]
                p -= node.starts[c]
                node = node.children[c]
            elif isinstance(node, Rep):
                k, p = divmod(p, node.child.size)
                r += k * node.child.q
                node = node.child
            else:
                return r

    def select(self, k: int) -> int:
        """The index of quantity step number ``k`` (0-based)."""
        node, pos = self.root, 0
        while True:
            if isinstance(node, Block):
                return pos
            if isinstance(node, Seq):
                c = bisect.bisect_right(node.qstarts, k) - 1
                while node.children[c].q == 0:  # a factor-only child shares its start with the next
                    c -= 1
                pos += node.starts[c]
                k -= node.qstarts[c]
                node = node.children[c]
            else:
                c, k = divmod(k, node.child.q)
                pos += c * node.child.size
                node = node.child

    @property
    def quantities(self) -> int:
        return self.root.q


def merge_runs(stretches) -> list:
    """``(first, last, phase)`` of each run of one phase, from consecutive stretches given as
    ``(first, last, phase)``."""
    runs = []
    for first, last, phase in stretches:
        if runs and runs[-1][2] == phase:
            runs[-1][1] = last
        else:
            runs.append([first, last, phase])
    return [tuple(r) for r in runs]


def _samples(env, pos) -> np.ndarray:
    """The 1-based sample of each step (0 for a batch step)."""
    n = env.get("n")
    return np.zeros(len(pos), dtype=np.int64) if n is None else np.broadcast_to(n + 1, pos.shape)


def _where_in(values: np.ndarray, k):
    """The position of ``k`` in the ascending ``values`` (−1 / None where absent)."""
    at = np.searchsorted(values, k)
    if np.ndim(at) == 0:
        return int(at) if at < len(values) and values[at] == k else None
    ok = (at < len(values)) & (values[np.minimum(at, len(values) - 1)] == k)
    return np.where(ok, at, -10 ** 15)  # far outside: the caller drops negative positions


class Steps:
    """The steps of one grid as a read-only sequence, each made when asked for."""

    def __init__(self, layout, evaluate: bool):
        self.layout, self.evaluate = layout, evaluate

    def __len__(self):
        return self.layout.grid(self.evaluate).length

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(index)
        return self.layout.spec(self.evaluate, index)

    def __iter__(self):
        return (self[i] for i in range(len(self)))


class Layout:
    """The steps of a training epoch and of the evaluate phase, and indexes over them."""

    def __init__(self, scenario):
        self.scenario = scenario
        self.names = Namer(scenario.sizes, scenario.notation)
        self._make = _Maker(scenario, self.names)
        self._grids = {False: _training(scenario), True: _evaluation(scenario)}
        self._steps = {ev: Steps(self, ev) for ev in (False, True)}

    def grid(self, evaluate: bool) -> Grid:
        return self._grids[evaluate]

    def specs(self, evaluate: bool) -> Steps:
        return self._steps[evaluate]

    def length(self, evaluate: bool) -> int:
        return self._grids[evaluate].length

    @lru_cache(maxsize=4096)  # the few steps on screen, and a motion's way there
    def spec(self, evaluate: bool, index: int) -> Spec:
        grid = self._grids[evaluate]
        block, env = grid.locate(index)
        return self._make.spec(block, env, index)

    def _blocks(self, evaluate: bool, qid: str):
        """``(per-sample block, batch block, axes)`` of an id (a block None where the grid has
        none), or None when no step has such an id."""
        q = ids.parse(qid)
        if q is None or q.family not in _KINDS:
            return None
        layer = self.scenario.layers if q.family in ("Ek", "E") else q.idx[0]
        if q.family == "dadz" and self._jacobian(layer):  # the Jacobian's diagonal
            q = ids.Qid("jac", (layer, q.idx[1], q.idx[1]))
        grid = self._grids[evaluate]
        per_sample, batch = (None if kind is None else grid.by_kind.get((kind, layer)) for kind in _KINDS[q.family])
        return per_sample, batch, _env(q)

    def _jacobian(self, layer: int) -> bool:
        """Whether ∂a/∂z of the layer is a Jacobian (softmax)."""
        return 1 <= layer <= self.scenario.layers and not ACTIVATIONS[self.scenario.activations[layer - 1]].elementwise

    def blocks_of(self, evaluate: bool, qid: str, sample) -> list:
        """``(block, env)`` of the steps with this id: of exactly this sample, of every sample
        (``ids.EVERY``), or (``sample`` None) the batch's step where the epoch has one and every
        sample's where it has not (the rule of :mod:`bpstep.ids`); an env's sample axis is an
        array for every sample."""
        found = self._blocks(evaluate, qid)
        if found is None:
            return []
        per_sample, batch, env = found
        if batch is not None and sample is None:
            return [(batch, self._complete(batch, env))]
        if per_sample is None:
            return []
        n = sample - 1 if isinstance(sample, int) else np.arange(self.scenario.samples)
        return [(per_sample, self._complete(per_sample, dict(env, n=n)))]

    def _complete(self, block, env):
        """``env`` with the flat parameter axis p = j·I + i where the block has one."""
        if "p" in block.axes:
            env = dict(env, p=env["j"] * self.scenario.sizes[block.layer - 1] + env["i"])
        return env

    def cells(self, evaluate: bool, qid: str, sample) -> list:
        """``(block, positions, samples, key)`` of the steps with this id, block by block: their
        indices, their samples (0 for a batch step) and where their values live (a key of
        :mod:`bpstep.tape` with index arrays), all in the same order."""
        grid, out = self._grids[evaluate], []
        for block, env in self.blocks_of(evaluate, qid, sample):
            pos = grid.position(block, env)
            if pos is None:
                continue
            pos = np.atleast_1d(np.asarray(pos, dtype=np.int64))
            keep = pos >= 0
            env = {a: (v[keep] if np.ndim(v) else v) for a, v in env.items()} if not keep.all() else env
            out.append((block, pos[keep], _samples(env, pos[keep]), block_key(block, env, self.scenario.sizes)))
        return out

    def find(self, evaluate: bool, qid: str, sample) -> np.ndarray:
        """Indices of the steps with this id and sample (see :meth:`blocks_of`), ascending."""
        found = [pos for _, pos, _, _ in self.cells(evaluate, qid, sample)]
        return np.sort(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)

    @lru_cache(maxsize=4096)  # the network panel looks up each unit on show at every step
    def at(self, evaluate: bool, qid: str, sample: int | None) -> int | None:
        """The index of the step with this id of exactly this sample (None: the batch)."""
        found = self._blocks(evaluate, qid)
        block = None if found is None else found[0] if sample is not None else found[1]
        if block is None:
            return None
        env = found[2] if sample is None else dict(found[2], n=sample - 1)
        pos = self._grids[evaluate].position(block, self._complete(block, env))
        return None if pos is None else int(pos)

    def has(self, qid: str) -> bool:
        """Whether a training epoch has a step with this id."""
        q = ids.parse(qid)
        if q is None or q.family not in _KINDS or not ids.in_range(q, self.scenario.sizes, self.scenario.bias):
            return False
        if q.family in ("W+", "b+") and ids.param_id(q.family[0], q.idx) in self.scenario.freeze:
            return False
        return bool(self.blocks_of(False, qid, None))

    @lru_cache(maxsize=256)  # asked for again at every repaint of the formula
    def users(self, evaluate: bool, qid: str, sample: int | None) -> np.ndarray:
        """Indices of the steps whose formulas read the quantity ``qid`` (of ``sample``),
        ascending: the reverse of each step's ``uses``, worked out from the formulas' shapes."""
        found = []
        for u, s in _readers(self.scenario, qid, sample):
            if s == 0:
                at = self.at(evaluate, u, None)
                found.append(np.array([] if at is None else [at], dtype=np.int64))
            else:
                found.append(self.find(evaluate, u, s))
        return _distinct(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)

    def quantity_count(self, evaluate: bool) -> int:
        return self._grids[evaluate].quantities

    def rank(self, evaluate: bool, index: int) -> int:
        return self._grids[evaluate].rank(index)

    def select(self, evaluate: bool, k: int) -> int:
        return self._grids[evaluate].select(k)

    def phase_runs(self, evaluate: bool) -> list:
        """``(first, last, phase)`` of each stretch of steps in one phase, in order."""
        return self._grids[evaluate].runs


def _distinct(a: np.ndarray) -> np.ndarray:
    """``np.unique`` of step indices, without it: its first call imports numpy.ma (25 ms, and
    the formula's first frame asks for the users of its step)."""
    a = np.sort(a)
    return a[np.concatenate(([True], a[1:] != a[:-1]))] if a.size else a


def _env(q: ids.Qid) -> dict:
    """The 0-based axes of an id's block (the sample axis left to the caller)."""
    i = [v - 1 for v in q.idx]
    f = q.family
    if f in ("Ek",):
        return {"j": i[0]}
    if f in ("part", "dzda", "jac"):
        return {"j": i[2], "m": i[1]}
    if len(i) == 3:
        return {"j": i[1], "i": i[2]}
    if len(i) == 2:
        return {"j": i[1]}
    return {}


def _readers(sc, qid: str, n: int | None) -> list:
    """``(id, sample)`` of every step whose formula reads ``qid`` of sample ``n`` (the formulas
    of :class:`_Maker`, read backwards); sample 0 is a step of the batch."""
    q = ids.parse(qid)
    if q is None:
        return []
    L, sizes, f, x = sc.layers, sc.sizes, q.family, q.idx
    samples = [n] if n is not None else list(range(1, sc.samples + 1))
    seq = sc.update_order == "sequential"

    def each(l):
        return range(1, sizes[l] + 1)

    def act_grad(l, j):  # ∂a/∂z reads a (σ, tanh) or z (relu)
        return [(f"da[{l},{j}]/dz[{l},{j}]", n)]

    def through(l, j):  # the parts δ[l,j] carries down: dE[l,j]/da[l−1,i]
        return [(f"dE[{l},{j}]/da[{l - 1},{i}]", n) for i in each(l - 1)] if l > 1 else []

    def gradients(l, j):  # what ∂E/∂a and ∂a/∂z of unit (l, j) are factors of
        return ([(f"dE/dz[{l},{j}]", n)] + [(f"dE/dW[{l},{j},{i}]", n) for i in each(l - 1)]
                + ([(f"dE/db[{l},{j}]", n)] if sc.bias else []) + through(l, j))

    fn = (lambda l: sc.activations[l - 1])
    if optimizer_kinds(sc) and (f in ("W", "b", "lr", "dEdW", "dEdb") or f.startswith("o:")):
        found = _optimizer_readers(sc, f, x, n, samples)
        if found is not None:
            return found
    if not ACTIVATIONS[fn(L)].elementwise:
        found = _softmax_readers(sc, f, x, n, gradients)
        if found is not None:
            return found
    if f == "x":
        return [(f"z[1,{j}]", n) for j in each(1)] + [(f"dz[1,{j}]/dW[1,{j},{x[0]}]", n) for j in each(1)]
    if f == "t":
        return [(f"E[{x[0]}]", n), (f"dE/da[{L},{x[0]}]", n)]
    if f == "z":
        return [(f"a[{x[0]},{x[1]}]", n)] + (act_grad(*x) if fn(x[0]) == "relu" else [])
    if f == "a":
        l, j = x
        out = act_grad(l, j) if fn(l) in ("sigmoid", "tanh") else []
        if l == L:
            return out + [(f"E[{j}]", n), (f"dE/da[{L},{j}]", n)]
        return (out + [(f"z[{l + 1},{m}]", n) for m in each(l + 1)]
                + [(f"dz[{l + 1},{m}]/dW[{l + 1},{m},{j}]", n) for m in each(l + 1)])
    if f in ("W", "b"):
        l, j = x[0], x[1]
        out = [(f"z[{l},{j}]", s) for s in samples] + [(f"{f}+[{','.join(map(str, x))}]", 0)]
        if f == "W" and l > 1 and not seq:
            out += [(f"dz[{l},{j}]/da[{l - 1},{x[2]}]", s) for s in samples]
        return out
    if f == "W+" and seq and x[0] > 1:
        return [(f"dz[{x[0]},{x[1]}]/da[{x[0] - 1},{x[2]}]", s) for s in samples]
    if f == "lr":
        return [(f"W+[{l},{j},{i}]", 0) for l in range(1, L + 1) for j in each(l) for i in each(l - 1)] + (
            [(f"b+[{l},{j}]", 0) for l in range(1, L + 1) for j in each(l)] if sc.bias else [])
    if f == "Ek":
        return [("E", n)]
    if f == "E":
        return [("E", 0)] if n is not None and sc.samples > 1 else []
    if f in ("dEda", "dadz"):
        return gradients(*x)
    if f == "dzdW":
        return [(f"dE/dW[{x[0]},{x[1]},{x[2]}]", n)]
    if f == "dzdb":
        return [(f"dE/db[{x[0]},{x[1]}]", n)]
    if f == "dzda":
        return [(f"dE[{x[0] + 1},{x[1]}]/da[{x[0]},{x[2]}]", n)]
    if f == "part":
        return [(f"dE/da[{x[0]},{x[2]}]", n)]
    if f in ("dEdW", "dEdb"):
        param = f"{'W' if f == 'dEdW' else 'b'}+[{','.join(map(str, x))}]"
        if n is None or sc.samples == 1:
            return [(param, 0)]
        return [(f"dE/d{'W' if f == 'dEdW' else 'b'}[{','.join(map(str, x))}]", 0)]
    return []


def _optimizer_readers(sc, f, x, n, samples):
    """The readers where an optimizer's steps come between the gradient and θ⁺ (None: those
    of plain gradient descent): the registry's ``reads`` backwards, for one parameter."""
    opt = OPTIMIZERS[sc.optimizer]
    h = dict(opt.hyper, **dict(sc.hyper))
    shown = optimizer_kinds(sc) + ("+",)
    param_id = lambda q, P, idx: f"{P}+[{','.join(map(str, idx))}]" if q == "+" else ids.optimizer_id(q, P, idx)  # noqa: E731
    if f == "lr":
        params = [("W", (l, j, i)) for l in range(1, sc.layers + 1) for j in range(1, sc.sizes[l] + 1)
                  for i in range(1, sc.sizes[l - 1] + 1)]
        params += [("b", (l, j)) for l in range(1, sc.layers + 1) for j in range(1, sc.sizes[l] + 1)] if sc.bias else []
        reading = [q for q in shown if q in ("+", "upd") and not (q == "+" and "upd" in shown)]
        return [(param_id(q, P, idx), 0) for P, idx in params for q in reading]
    if f in ("dEdW", "dEdb"):
        if n is not None and sc.samples > 1:
            return None  # a sample's gradient: read by the batch mean
        P, what = f[-1], "grad"
    elif f in ("W", "b"):
        P, what = f, "theta"
    else:
        _, what, P = f.split(":")
    # a carried quantity is read by its own step of the next epoch (its formula's q⁻, same id)
    readers = [(param_id(q, P, x), 0) for q in shown if {what, "prev:" + what} & set(opt.reads(q, h))]
    if what == "theta":
        l, j = x[0], x[1]
        readers = [(f"z[{l},{j}]", s) for s in samples] + readers
        if P == "W" and l > 1 and sc.update_order != "sequential":
            readers += [(f"dz[{l},{j}]/da[{l - 1},{x[2]}]", s) for s in samples]
    return readers


def _softmax_readers(sc, f, x, n, gradients):
    """The readers that differ where the output layer is softmax (None: those of any layer):
    every oₖ reads every z, the Jacobian terms read two o, δ reads every ∂E/∂oₖ and term."""
    L, K = sc.layers, sc.sizes[-1]
    if f in ("z", "a", "dEda", "dadz", "jac", "dEdz") and x[0] != L:
        return None
    each = range(1, K + 1)
    if f == "z":
        return [(f"a[{L},{k}]", n) for k in each]
    if f == "a":
        j = x[1]
        return ([(f"da[{L},{j}]/dz[{L},{m}]", n) for m in each] + [(f"da[{L},{k}]/dz[{L},{j}]", n) for k in each
                                                                    if k != j]
                + [(f"E[{j}]", n), (f"dE/da[{L},{j}]", n), (f"dE/dz[{L},{j}]", n)])
    if f == "t":
        return [(f"E[{x[0]}]", n), (f"dE/da[{L},{x[0]}]", n), (f"dE/dz[{L},{x[0]}]", n)]
    if f == "dEda":
        return [(f"dE/dz[{L},{m}]", n) for m in each]
    if f == "dadz":
        return [(f"dE/dz[{L},{x[1]}]", n)]
    if f == "jac":
        return [(f"dE/dz[{L},{x[2]}]", n)]
    if f == "dEdz":
        return gradients(L, x[1])[1:]
    return None


def _unit(block: Block, env: dict, sizes) -> tuple:
    """``(l, n, j, x)`` 1-based: the block's layer, sample (None for the batch), unit, and the
    unit m of the next layer or input i (an update's or batch mean's p = j·I + i unfolded)."""
    n = env.get("n")
    n = None if n is None else int(n) + 1
    if "p" in env:
        j, i = divmod(int(env["p"]), sizes[block.layer - 1])
        return block.layer, n, j + 1, i + 1
    return block.layer, n, int(env.get("j", 0)) + 1, int(env.get("m", env.get("i", 0))) + 1


#: block kind → its steps' id from (l, j, x) (see :func:`_unit`)
_ID = {
    "z": "z[{l},{j}]", "a": "a[{l},{j}]", "Ek": "E[{j}]", "En": "E", "E": "E",
    "dzda": "dz[{l1},{x}]/da[{l},{j}]", "part": "dE[{l1},{x}]/da[{l},{j}]", "dEda": "dE/da[{l},{j}]",
    "dadz": "da[{l},{j}]/dz[{l},{j}]", "dEdz": "dE/dz[{l},{j}]", "dzdW": "dz[{l},{j}]/dW[{l},{j},{x}]",
    "gWs": "dE/dW[{l},{j},{x}]", "dzdb": "dz[{l},{j}]/db[{l},{j}]", "gbs": "dE/db[{l},{j}]",
    "gW": "dE/dW[{l},{j},{x}]", "gb": "dE/db[{l},{j}]", "W+": "W+[{l},{j},{x}]", "b+": "b+[{l},{j}]",
    "jac": "da[{l},{x}]/dz[{l},{j}]",
    **{ids.optimizer_family(q, "W"): q + "(W[{l},{j},{x}])" for q in QUANTITIES},
    **{ids.optimizer_family(q, "b"): q + "(b[{l},{j}])" for q in QUANTITIES},
}


def step_id(block: Block, env: dict, sizes) -> str:
    """The id (without ``@n``) of the block's step at ``env``."""
    l, _, j, x = _unit(block, env, sizes)
    return _ID[block.kind].format(l=l, l1=l + 1, j=j, x=x)


def block_key(block: Block, env: dict, sizes) -> tuple:
    """Where the values of ``block``'s steps at ``env`` live in an epoch's arrays (0-based
    indices, arrays allowed): the key of :mod:`bpstep.tape`."""
    kind, l = block.kind, block.layer - 1
    n, j, m, i = (env.get(a) for a in "njmi")
    if "p" in env:
        j, i = np.divmod(env["p"], sizes[l])
    if kind in ("z", "a", "dEda", "dadz", "dEdz", "gbs"):
        return (kind, l, n, j)
    if kind == "Ek":
        return ("Ek", n, j)
    if kind == "En":
        return ("En", n)
    if kind in ("E",):
        return ("E",)
    if kind == "dzda":
        return ("Wd", l + 1, m, j)
    if kind == "part":
        return ("part", l + 1, n, m, j)
    if kind == "jac":  # ∂a_k/∂z_j, k on axis m
        return ("jac", l, n, m, j)
    if kind == "dzdW":
        return ("dzdW", l, n, i)
    if kind == "dzdb":
        return ("one",)
    if kind == "gWs":
        return ("gWs", l, n, j, i)
    if kind in ("gW", "W+"):
        return (kind, l, j, i)
    if kind.startswith("o:"):  # an optimizer's quantity of W[l,j,i] or b[l,j]
        _, q, P = kind.split(":")
        return ("opt", q, P, l, j, i) if P == "W" else ("opt", q, P, l, j)
    return (kind, l, j)  # gb, b+


# --- building the trees ----------------------------------------------------------------------


def _training(sc) -> Grid:
    N = sc.samples
    sections = [_phase(Rep("n", N, _forward(sc, "forward")), "forward"), _loss_section(sc, "loss")]
    layers = range(sc.layers, 0, -1)
    if sc.update_order == "sequential":
        for l in layers:
            sections += [_phase(Rep("n", N, _backward_layer(sc, l)), "backward"),
                         _phase(_means(sc, [l]), "backward"), _phase(_updates(sc, [l]), "update")]
    else:
        sections += [_phase(Rep("n", N, Seq([_backward_layer(sc, l) for l in layers])), "backward"),
                     _phase(_means(sc, layers), "backward"), _phase(_updates(sc, layers), "update")]
    return Grid(Seq(sections))


def _evaluation(sc) -> Grid:
    return Grid(Seq([_phase(Rep("n", sc.samples, _forward(sc, "evaluate")), "evaluate"),
                     _loss_section(sc, "evaluate")]))


def _phase(node, phase):
    node.phase = phase
    return node


def _forward(sc, phase):
    """One sample's forward pass: z then a of each layer."""
    return Seq([Seq([Rep("j", sc.sizes[l], Block("z", l, phase)), Rep("j", sc.sizes[l], Block("a", l, phase))])
                for l in range(1, sc.layers + 1)])


def _loss_section(sc, phase):
    L, K = sc.layers, sc.sizes[-1]
    per_sample = Rep("n", sc.samples, Seq([Rep("j", K, Block("Ek", L, phase)), Block("En", L, phase)]))
    batch = [Block("E", L, phase)] if sc.samples > 1 else []
    return _phase(Seq([per_sample] + batch), phase)


def _backward_layer(sc, l):
    """One sample's steps for the units of layer l. A softmax output's δⱼ reads ∂E/∂oₖ of
    every k and the Jacobian terms ∂oₖ/∂zⱼ (axis m is k): all ∂E/∂o come first."""
    L, sizes = sc.layers, sc.sizes
    unit = []
    if l < L:
        unit.append(Rep("m", sizes[l + 1], Seq([Block("dzda", l, "backward"), Block("part", l, "backward")])))
    jacobian = not ACTIVATIONS[sc.activations[l - 1]].elementwise
    if not jacobian:
        unit += [Block("dEda", l, "backward"), Block("dadz", l, "backward")]
    else:
        unit.append(Rep("m", sizes[l], Block("jac", l, "backward")))
    unit += [Block("dEdz", l, "backward"),
             Rep("i", sizes[l - 1], Seq([Block("dzdW", l, "backward"), Block("gWs", l, "backward")]))]
    if sc.bias:
        unit.append(Seq([Block("dzdb", l, "backward"), Block("gbs", l, "backward")]))
    units = Rep("j", sizes[l], Seq(unit))
    return Seq([Rep("j", sizes[l], Block("dEda", l, "backward")), units]) if jacobian else units


def _means(sc, layers):
    if sc.samples == 1:
        return Seq([])
    out = []
    for l in layers:
        out.append(Rep("p", sc.sizes[l] * sc.sizes[l - 1], Block("gW", l, "backward")))
        if sc.bias:
            out.append(Rep("j", sc.sizes[l], Block("gb", l, "backward")))
    return Seq(out)


def optimizer_kinds(sc) -> tuple:
    """The optimizer's quantities each parameter's update shows before θ⁺ (none: plain SGD)."""
    opt = OPTIMIZERS[sc.optimizer]
    return tuple(opt.kinds(dict(opt.hyper, **dict(sc.hyper))))


def _updates(sc, layers):
    """Each parameter's update: the optimizer's quantities one after another, then θ⁺."""
    kinds, out = optimizer_kinds(sc), []

    def steps(P, l):
        plus = Block(P + "+", l, "update")
        return Seq([Block(ids.optimizer_family(q, P), l, "update") for q in kinds] + [plus]) if kinds else plus
    for l in layers:
        J, I = sc.sizes[l], sc.sizes[l - 1]
        out.append(Rep("p", J * I, steps("W", l), _unfrozen(sc, "W", l, J * I, I)))
        if sc.bias:
            out.append(Rep("j", J, steps("b", l), _unfrozen(sc, "b", l, J, 1)))
    return Seq(out)


def _unfrozen(sc, kind, l, count, I):
    """The flat indices (j·I + i) of the parameters of layer l that are updated; None: all."""
    frozen = [j * I + i for j, i in ids.frozen_cells(sc.freeze, kind, l)]
    if not frozen:
        return None
    keep = np.ones(count, dtype=bool)
    keep[frozen] = False
    return np.flatnonzero(keep)


# --- the steps' names and formulas ----------------------------------------------------------------


class _Maker:
    """Makes the :class:`Spec` of one step from its block and axes."""

    def __init__(self, sc, names: Namer):
        self.sc, self.nm = sc, names
        self.L, self.N, self.sizes = sc.layers, sc.samples, sc.sizes
        self.E = Name("E", "E")
        self.seq = sc.update_order == "sequential"
        self.optimized = bool(optimizer_kinds(sc))
        self.hyper = dict(OPTIMIZERS[sc.optimizer].hyper, **dict(sc.hyper))

    def spec(self, block: Block, env: dict, index: int) -> Spec:
        l, n, j, x = _unit(block, env, self.sizes)
        if block.kind.startswith("o:"):
            make = partial(self._optimizer, block.kind.split(":")[1], block.kind[-1], l, j, x)
        else:
            make = partial(getattr(self, "_" + block.kind.replace("+", "_plus")), l, n, j, x)
        key = tuple(int(v) if isinstance(v, np.integer) else v for v in block_key(block, env, self.sizes))
        return Spec(index, block.phase, n, step_id(block, env, self.sizes), key, block.factor, make)

    # references to quantities (l, j, i 1-based; n 1-based sample or None)
    def W(self, l, j, i):
        return Ref(self.nm.W(l, j, i), ("W", l - 1, j - 1, i - 1), f"W[{l},{j},{i}]")

    def b(self, l, j):
        return Ref(self.nm.b(l, j), ("b", l - 1, j - 1), f"b[{l},{j}]")

    def act(self, l, n, i):
        """a[l,i] of sample n; l = 0 is the input x[i]."""
        if l == 0:
            return Ref(self.nm.x(i), ("x", n - 1, i - 1), f"x[{i}]@{n}")
        return Ref(self.nm.a(l, i), ("a", l - 1, n - 1, i - 1), f"a[{l},{i}]@{n}")

    def z(self, l, n, j):
        return Ref(self.nm.z(l, j), ("z", l - 1, n - 1, j - 1), f"z[{l},{j}]@{n}")

    def t(self, n, k):
        return Ref(self.nm.t(k), ("t", n - 1, k - 1), f"t[{k}]@{n}")

    def dEda(self, l, n, j):
        return Ref(d(self.E, self.nm.a(l, j)), ("dEda", l - 1, n - 1, j - 1), f"dE/da[{l},{j}]@{n}")

    def dadz(self, l, n, j):
        return Ref(d(self.nm.a(l, j), self.nm.z(l, j)), ("dadz", l - 1, n - 1, j - 1),
                   f"da[{l},{j}]/dz[{l},{j}]@{n}")

    def Wd(self, l, m, j):
        """The weight that carries δ[l+1,m] down to unit j of layer l (W⁺ when sequential)."""
        w = self.nm.W(l + 1, m, j)
        return Ref(w.plus() if self.seq else w, ("Wd", l, m - 1, j - 1),
                   f"W+[{l + 1},{m},{j}]" if self.seq else f"W[{l + 1},{m},{j}]")

    def dEdz(self, l, n, j):
        return Ref(d(self.E, self.nm.z(l, j)), ("dEdz", l - 1, n - 1, j - 1), f"dE/dz[{l},{j}]@{n}")

    def jac(self, l, n, k, j):
        """∂a[l,k]/∂z[l,j] of a softmax layer."""
        return Ref(d(self.nm.a(l, k), self.nm.z(l, j)), ("jac", l - 1, n - 1, k - 1, j - 1),
                   f"da[{l},{k}]/dz[{l},{j}]@{n}")

    def jacobian(self, l) -> bool:
        return not ACTIVATIONS[self.sc.activations[l - 1]].elementwise

    def upstream(self, l, n, j) -> tuple:
        """The chain-rule factors that bring the loss to z[l,j]: ∂E/∂a × ∂a/∂z, or δ itself
        where a of the layer is softmax (its δ is a sum over the Jacobian)."""
        if self.jacobian(l):
            return (self.dEdz(l, n, j),)
        return self.dEda(l, n, j), self.dadz(l, n, j)

    def dzda_name(self, l, m, j):
        return d(self.nm.z(l + 1, m), self.nm.a(l, j))

    def part_name(self, l, m, j):
        return d(self.nm.E_through(l + 1, m), self.nm.a(l, j))

    def local_W(self, l, j, i):
        return d(self.nm.z(l, j), self.nm.W(l, j, i))

    # -- forward ---------------------------------------------------------------------------------

    def _z(self, l, n, j, _):
        I = self.sizes[l - 1]

        def term(i):  # W·a, then the bias
            return Op("·", (self.W(l, j, i + 1), self.act(l - 1, n, i + 1))) if i < I else self.b(l, j)
        return self.nm.z(l, j), LongSum(I + self.sc.bias, term)

    def _a(self, l, n, j, _):
        zs = lambda: [self.z(l, n, k) for k in range(1, self.sizes[l] + 1)]  # noqa: E731
        return self.nm.a(l, j), ACTIVATIONS[self.sc.activations[l - 1]].formula(self.z(l, n, j), zs)

    # -- loss ------------------------------------------------------------------------------------

    def _Ek(self, l, n, k, _):
        rhs = self._loss_term(self.act(self.L, n, k), self.t(n, k), self.sizes[-1])
        return self.nm.E_term(k), rhs

    def _En(self, l, n, j, _):
        return self.nm.E(), lambda: _sum([Ref(self.nm.E_term(k), ("Ek", n - 1, k - 1), f"E[{k}]@{n}")
                                          for k in range(1, self.sizes[-1] + 1)])

    def _E(self, l, n, j, _):
        return self.nm.E(), lambda: Frac(Op("+", tuple(Ref(self.nm.E().sample(m), ("En", m - 1), f"E@{m}")
                                                      for m in range(1, self.N + 1))), count(self.N))

    def _loss_term(self, o, t, K):
        return LOSSES[self.sc.loss].term_formula(o, t, K)

    def _loss_grad(self, o, t, K):
        return LOSSES[self.sc.loss].gradient_formula(o, t, K)

    # -- backward --------------------------------------------------------------------------------

    def _dzda(self, l, n, j, m):
        return self.dzda_name(l, m, j), self.Wd(l, m, j)

    def _part(self, l, n, j, m):
        chain = self.upstream(l + 1, n, m) + (
            Ref(self.dzda_name(l, m, j), ("Wd", l, m - 1, j - 1), f"dz[{l + 1},{m}]/da[{l},{j}]@{n}"),)
        return self.part_name(l, m, j), Op("×", chain)

    def _dEda(self, l, n, j, _):
        if l == self.L:
            rhs = self._loss_grad(self.act(self.L, n, j), self.t(n, j), self.sizes[-1])
        else:
            rhs = lambda: _sum([Ref(self.part_name(l, m, j), ("part", l, n - 1, m - 1, j - 1),  # noqa: E731
                                    f"dE[{l + 1},{m}]/da[{l},{j}]@{n}") for m in range(1, self.sizes[l + 1] + 1)])
        return d(self.E, self.nm.a(l, j)), rhs

    def _dadz(self, l, n, j, _):
        rhs = ACTIVATIONS[self.sc.activations[l - 1]].derivative_formula(self.act(l, n, j), self.z(l, n, j))
        return d(self.nm.a(l, j), self.nm.z(l, j)), rhs

    def _jac(self, l, n, j, k):
        rhs = ACTIVATIONS[self.sc.activations[l - 1]].derivative_formula(self.act(l, n, k), self.act(l, n, j), k == j)
        return d(self.nm.a(l, k), self.nm.z(l, j)), rhs

    def _dEdz(self, l, n, j, _):
        if not self.jacobian(l):
            return d(self.E, self.nm.z(l, j)), Op("×", (self.dEda(l, n, j), self.dadz(l, n, j)))

        def delta():  # δⱼ = Σₖ ∂E/∂oₖ × ∂oₖ/∂zⱼ, and what it simplifies to
            chain = _sum([Op("×", (self.dEda(l, n, k), self.jac(l, n, k, j))) for k in range(1, self.sizes[l] + 1)])
            return Op("=", (chain, LOSSES[self.sc.loss].delta_formula(self.act(l, n, j), self.t(n, j))))
        return d(self.E, self.nm.z(l, j)), delta

    def _dzdW(self, l, n, j, i):
        return self.local_W(l, j, i), self.act(l - 1, n, i)

    def _gWs(self, l, n, j, i):
        chain = self.upstream(l, n, j) + (
            Ref(self.local_W(l, j, i), ("dzdW", l - 1, n - 1, i - 1), f"dz[{l},{j}]/dW[{l},{j},{i}]@{n}"),)
        return d(self.E, self.nm.W(l, j, i)), Op("×", chain)

    def _dzdb(self, l, n, j, _):
        return d(self.nm.z(l, j), self.nm.b(l, j)), ONE

    def _gbs(self, l, n, j, _):
        local = Ref(d(self.nm.z(l, j), self.nm.b(l, j)), ("one",), f"dz[{l},{j}]/db[{l},{j}]@{n}")
        chain = self.upstream(l, n, j) + (local,)
        return d(self.E, self.nm.b(l, j)), Op("×", chain)

    # -- batch means and updates -------------------------------------------------------------------

    def _param(self, kind, l, j, i):
        """(id suffix, name, index into the layer's arrays) of W[l,j,i] or b[l,j]."""
        if kind == "W":
            return f"[{l},{j},{i}]", self.nm.W(l, j, i), (l - 1, j - 1, i - 1)
        return f"[{l},{j}]", self.nm.b(l, j), (l - 1, j - 1)

    def _mean(self, kind, l, j, i):
        idx, name, key = self._param(kind, l, j, i)
        return d(self.E, name), lambda: Frac(Op("+", tuple(
            Ref(d(self.E.sample(n), name), (f"g{kind}s", key[0], n - 1) + key[1:], f"dE/d{kind}{idx}@{n}")
            for n in range(1, self.N + 1))), count(self.N))

    def _update(self, kind, l, j, i):
        idx, name, key = self._param(kind, l, j, i)
        if self.optimized:
            return name.plus(), OPTIMIZERS[self.sc.optimizer].formula("+", _OptimizerRefs(self, kind, l, j, i))
        batch = self.N > 1
        g = Ref(d(self.E, name), (f"g{kind}",) + key if batch else (f"g{kind}s", key[0], 0) + key[1:],
                f"dE/d{kind}{idx}" + ("" if batch else "@1"))
        lr = Ref(self.nm.lr, ("lr",), "lr")
        rhs = Op("−", (Ref(name, (kind,) + key, f"{kind}{idx}"), Op("×", (lr, g))))
        return name.plus(), rhs

    def _optimizer(self, q, P, l, j, i):
        r = _OptimizerRefs(self, P, l, j, i)
        return r.name(q), OPTIMIZERS[self.sc.optimizer].formula(q, r)

    def _gW(self, l, n, j, i):
        return self._mean("W", l, j, i)

    def _gb(self, l, n, j, _):
        return self._mean("b", l, j, None)

    def _W_plus(self, l, n, j, i):
        return self._update("W", l, j, i)

    def _b_plus(self, l, n, j, _):
        return self._update("b", l, j, None)


class _OptimizerRefs:
    """The Refs an optimizer's formulas read for one parameter θ (W[l,j,i], or b[l,j] with
    ``i`` None): see :class:`bpstep.functions.Optimizer`."""

    def __init__(self, maker, P, l, j, i):
        self.maker, self.P, self.h = maker, P, maker.hyper
        self.idx, name, self.key = maker._param(P, l, j, i)
        self.param = name
        self.theta = Ref(name, (P,) + self.key, f"{P}{self.idx}")
        batch = maker.N > 1
        self.grad = Ref(d(maker.E, name), (f"g{P}",) + self.key if batch else (f"g{P}s", self.key[0], 0) + self.key[1:],
                        f"dE/d{P}{self.idx}" + ("" if batch else "@1"))
        self.lr = Ref(maker.nm.lr, ("lr",), "lr")
        self.t = Ref(Name("t", "t"), ("hp", "steps"), "steps")
        self.names = OPTIMIZERS[maker.sc.optimizer].names

    def name(self, q, before=False) -> Name:
        uni, tex = self.names[q]
        mark = ("⁻", "^{-}") if before else ("", "")
        return Name(f"{uni}{mark[0]}({self.param.uni})", rf"{tex}{mark[1]}\left({self.param.tex}\right)")

    def q(self, q):
        return Ref(self.name(q), ("opt", q, self.P) + self.key, f"{q}({self.P}{self.idx})")

    def prev(self, q):
        """q of the epoch before (0 before the first step)."""
        return Ref(self.name(q, True), ("optprev", q, self.P) + self.key, f"{q}({self.P}{self.idx})")

    def hp(self, h):
        uni, tex = OPTIMIZERS[self.maker.sc.optimizer].symbols[h]
        return Ref(Name(uni, tex), ("hp", h), h)


def _sum(terms):
    """t1 + t2 + …, or the one term alone"""
    return terms[0] if len(terms) == 1 else Op("+", tuple(terms))
