"""The structure of one epoch: which steps there are, in which order, with their ids, names and
formulas (DESIGN.md §4, §5). It depends on the scenario's shape only, so it is built once; the
values come from each epoch's arrays (:mod:`bpstep.tape`).

Step ids (1-based; a step of one sample is also written ``id@n``):

=============================  ==========================================================
``z[l,j]``, ``a[l,j]``         pre-activation and activation (``a[L,k]`` is output k)
``E[k]``, ``E``                loss term of output k; the sample's loss (``E`` without a
                               sample: the batch mean, when there is more than one sample)
``dE/da[l,j]``                 ∂E/∂a: for the output from the loss, for a hidden unit the
                               sum of its parts below
``dE[l+1,j]/da[l,i]``          the part of ∂E/∂a[l,i] that flows through unit j of the next
                               layer (the lecture's ∂E_o1/∂h1) = δ[l+1,j] · W[l+1,j,i]
``dz[l+1,j]/da[l,i]``          its local factor, the weight W[l+1,j,i] (W⁺ when sequential)
``da[l,j]/dz[l,j]``            the activation's derivative
``dE/dz[l,j]``                 δ = ∂E/∂a × ∂a/∂z
``dz[l,j]/dW[l,j,i]``          the local factor a[l−1,i] (x[i] for the first layer)
``dz[l,j]/db[l,j]``            the local factor 1
``dE/dW[l,j,i]``, ``dE/db[l,j]``  the parameter gradient (per sample, then the batch mean)
``W+[l,j,i]``, ``b+[l,j]``     the parameter after the update
=============================  ==========================================================

Factor steps (local derivatives and the per-unit parts) are the ones ``next`` steps over.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

from .notation import (HALF, ONE, Call, Const, Frac, Indicator, Name, Namer, Neg, Op, Power, Ref,
                       d, refs, render)

PHASES = ("forward", "loss", "backward", "update", "evaluate")
_ACTIVATION_FN = {"sigmoid": "σ", "tanh": "tanh", "relu": "relu"}


@dataclass(frozen=True)
class Spec:
    """One step of an epoch, without its numbers."""

    index: int
    phase: str
    sample: int | None
    id: str
    name: Name
    rhs: object  # the formula's right-hand side (notation tree)
    key: tuple  # where the value lives in the epoch's arrays
    factor: bool

    @property
    def qid(self) -> str:
        return self.id if self.sample is None else f"{self.id}@{self.sample}"

    # rendered on first use: XOR has thousands of steps an epoch and a jump shows one of them

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


class Layout:
    """All steps of a training epoch and of the evaluate phase, and indexes over them."""

    def __init__(self, scenario):
        self.scenario = scenario
        self.names = Namer(scenario.sizes, scenario.notation)
        self.train = _Builder(scenario, self.names).build()
        n_eval = sum(1 for s in self.train if s.phase in ("forward", "loss"))
        self.eval = [replace(s, phase="evaluate") for s in self.train[:n_eval]]
        self._index = {False: _index(self.train), True: _index(self.eval)}
        self._quantities = {False: [s.index for s in self.train if not s.factor],
                            True: [s.index for s in self.eval if not s.factor]}
        self._runs = {False: _phase_runs(self.train), True: _phase_runs(self.eval)}

    def specs(self, evaluate: bool) -> list:
        return self.eval if evaluate else self.train

    def find(self, evaluate: bool, qid: str, sample: int | None) -> list:
        """Indices of the steps with this id; ``sample`` None: of every sample (and the batch)."""
        by_id = self._index[evaluate].get(qid, {})
        if sample is None:
            return sorted(i for v in by_id.values() for i in v)
        return by_id.get(sample, [])

    def at(self, evaluate: bool, qid: str, sample: int | None) -> int | None:
        """The index of the step with this id of exactly this sample (None: the batch)."""
        found = self._index[evaluate].get(qid, {}).get(sample)
        return found[0] if found else None

    def quantities(self, evaluate: bool) -> list:
        """Indices of the steps that are not factors, ascending."""
        return self._quantities[evaluate]

    def phase_runs(self, evaluate: bool) -> list:
        """``(first, last, phase)`` of each stretch of steps in one phase, in order."""
        return self._runs[evaluate]

    def known_ids(self) -> set:
        return set(self._index[False])


def _index(specs):
    out = {}
    for s in specs:
        out.setdefault(s.id, {}).setdefault(s.sample, []).append(s.index)
    return out


def _phase_runs(specs):
    runs = []
    for s in specs:
        if runs and runs[-1][2] == s.phase:
            runs[-1][1] = s.index
        else:
            runs.append([s.index, s.index, s.phase])
    return [tuple(r) for r in runs]


def _sample_tag(n):
    return "" if n is None else f"@{n}"


class _Builder:
    """Builds the ordered steps of one training epoch."""

    def __init__(self, sc, names: Namer):
        self.sc, self.nm = sc, names
        self.L, self.N, self.sizes = sc.layers, sc.samples, sc.sizes
        self.E = Name("E", "E")
        self.specs = []

    def add(self, phase, sample, qid, name, rhs, key, factor=False):
        self.specs.append(Spec(len(self.specs), phase, sample, qid, name, rhs, key, factor))

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

    # -- the epoch -------------------------------------------------------------------------------

    def build(self):
        for n in range(1, self.N + 1):
            self.forward(n)
        self.loss()
        layers = range(self.L, 0, -1)
        if self.sc.update_order == "sequential":
            for l in layers:
                for n in range(1, self.N + 1):
                    self.backward_layer(l, n)
                self.means([l])
                self.update([l])
        else:
            for n in range(1, self.N + 1):
                for l in layers:
                    self.backward_layer(l, n)
            self.means(layers)
            self.update(layers)
        return self.specs

    def forward(self, n):
        nm = self.nm
        for l in range(1, self.L + 1):
            for j in range(1, self.sizes[l] + 1):
                terms = [Op("·", (self.W(l, j, i), self.act(l - 1, n, i))) for i in range(1, self.sizes[l - 1] + 1)]
                if self.sc.bias:
                    terms.append(self.b(l, j))
                self.add("forward", n, f"z[{l},{j}]", nm.z(l, j), _sum(terms), ("z", l - 1, n - 1, j - 1))
            fn = self.sc.activations[l - 1]
            for j in range(1, self.sizes[l] + 1):
                z = self.z(l, n, j)
                rhs = z if fn == "identity" else Call(_ACTIVATION_FN[fn], z)
                self.add("forward", n, f"a[{l},{j}]", nm.a(l, j), rhs, ("a", l - 1, n - 1, j - 1))

    def loss(self):
        nm, K, L = self.nm, self.sizes[-1], self.L
        per_sample = []
        for n in range(1, self.N + 1):
            terms = []
            for k in range(1, K + 1):
                o, t = self.act(L, n, k), self.t(n, k)
                self.add("loss", n, f"E[{k}]", nm.E_term(k), self._loss_term(o, t, K), ("Ek", n - 1, k - 1))
                terms.append(Ref(nm.E_term(k), ("Ek", n - 1, k - 1), f"E[{k}]@{n}"))
            self.add("loss", n, "E", nm.E(), _sum(terms), ("En", n - 1))
            per_sample.append(Ref(nm.E().sample(n), ("En", n - 1), f"E@{n}"))
        if self.N > 1:
            self.add("loss", None, "E", nm.E(), Frac(Op("+", tuple(per_sample)), _count(self.N)), ("E",))

    def _loss_term(self, o, t, K):
        loss = self.sc.loss
        if loss == "half_sse":
            return Op("", (HALF, Power(Op("−", (t, o)))))
        if loss == "mse":
            return _over(Power(Op("−", (o, t))), K)
        inner = Op("+", (Op("·", (t, Call("ln", o))),
                         Op("·", (Call("paren", Op("−", (ONE, t))), Call("ln", Op("−", (ONE, o)))))))
        return _over(Neg(inner), K)

    def _loss_grad(self, o, t, K):
        loss = self.sc.loss
        if loss == "half_sse":
            return Neg(Op("−", (t, o)))
        if loss == "mse":
            return _over(Op("", (Const("2", "2"), Call("paren", Op("−", (o, t))))), K)
        return _over(Frac(Op("−", (o, t)), Op("", (o, Call("paren", Op("−", (ONE, o)))))), K)

    def _act_grad(self, l, n, j):
        fn, a = self.sc.activations[l - 1], self.act(l, n, j)
        if fn == "sigmoid":
            return Op("", (a, Call("paren", Op("−", (ONE, a)))))
        if fn == "tanh":
            return Op("−", (ONE, Power(a)))
        if fn == "relu":
            return Indicator(self.z(l, n, j))
        return ONE

    def backward_layer(self, l, n):
        nm, L, sizes = self.nm, self.L, self.sizes
        seq = self.sc.update_order == "sequential"
        for j in range(1, sizes[l] + 1):
            a_name = nm.a(l, j)
            if l == L:
                rhs = self._loss_grad(self.act(L, n, j), self.t(n, j), sizes[-1])
            else:
                parts = []
                for m in range(1, sizes[l + 1] + 1):
                    w = nm.W(l + 1, m, j)
                    w_ref = Ref(w.plus() if seq else w, ("Wd", l, m - 1, j - 1),
                                f"W+[{l + 1},{m},{j}]" if seq else f"W[{l + 1},{m},{j}]")
                    dzda_name = d(nm.z(l + 1, m), a_name)
                    dzda_id = f"dz[{l + 1},{m}]/da[{l},{j}]"
                    self.add("backward", n, dzda_id, dzda_name, w_ref, ("Wd", l, m - 1, j - 1), factor=True)
                    part_name = d(nm.E_through(l + 1, m), a_name)
                    part_id = f"dE[{l + 1},{m}]/da[{l},{j}]"
                    chain = (self.dEda(l + 1, n, m), self.dadz(l + 1, n, m),
                             Ref(dzda_name, ("Wd", l, m - 1, j - 1), f"{dzda_id}@{n}"))
                    self.add("backward", n, part_id, part_name, Op("×", chain), ("part", l, n - 1, m - 1, j - 1),
                             factor=True)
                    parts.append(Ref(part_name, ("part", l, n - 1, m - 1, j - 1), f"{part_id}@{n}"))
                rhs = _sum(parts)
            self.add("backward", n, f"dE/da[{l},{j}]", d(self.E, a_name), rhs, ("dEda", l - 1, n - 1, j - 1))
            self.add("backward", n, f"da[{l},{j}]/dz[{l},{j}]", d(a_name, nm.z(l, j)), self._act_grad(l, n, j),
                     ("dadz", l - 1, n - 1, j - 1), factor=True)
            delta = Op("×", (self.dEda(l, n, j), self.dadz(l, n, j)))
            self.add("backward", n, f"dE/dz[{l},{j}]", d(self.E, nm.z(l, j)), delta, ("dEdz", l - 1, n - 1, j - 1))
            for i in range(1, sizes[l - 1] + 1):
                local = d(nm.z(l, j), nm.W(l, j, i))
                local_id = f"dz[{l},{j}]/dW[{l},{j},{i}]"
                self.add("backward", n, local_id, local, self.act(l - 1, n, i), ("dzdW", l - 1, n - 1, i - 1),
                         factor=True)
                chain = (self.dEda(l, n, j), self.dadz(l, n, j), Ref(local, ("dzdW", l - 1, n - 1, i - 1),
                                                                     f"{local_id}@{n}"))
                self.add("backward", n, f"dE/dW[{l},{j},{i}]", d(self.E, nm.W(l, j, i)), Op("×", chain),
                         ("gWs", l - 1, n - 1, j - 1, i - 1))
            if self.sc.bias:
                local = d(nm.z(l, j), nm.b(l, j))
                local_id = f"dz[{l},{j}]/db[{l},{j}]"
                self.add("backward", n, local_id, local, ONE, ("one",), factor=True)
                chain = (self.dEda(l, n, j), self.dadz(l, n, j), Ref(local, ("one",), f"{local_id}@{n}"))
                self.add("backward", n, f"dE/db[{l},{j}]", d(self.E, nm.b(l, j)), Op("×", chain),
                         ("gbs", l - 1, n - 1, j - 1))

    def _params(self, l):
        """(id suffix, name, array prefix, index) of every parameter of layer l, in order."""
        nm, sizes = self.nm, self.sizes
        for j in range(1, sizes[l] + 1):
            for i in range(1, sizes[l - 1] + 1):
                yield "W", f"[{l},{j},{i}]", nm.W(l, j, i), (l - 1, j - 1, i - 1)
        if self.sc.bias:
            for j in range(1, sizes[l] + 1):
                yield "b", f"[{l},{j}]", nm.b(l, j), (l - 1, j - 1)

    def means(self, layers):
        if self.N == 1:
            return
        for l in layers:
            for kind, idx, name, key in self._params(l):
                g = d(self.E, name)
                samples = tuple(Ref(d(self.E.sample(n), name), (f"g{kind}s", key[0], n - 1) + key[1:],
                                    f"dE/d{kind}{idx}@{n}")
                                for n in range(1, self.N + 1))
                self.add("backward", None, f"dE/d{kind}{idx}", g, Frac(Op("+", samples), _count(self.N)),
                         (f"g{kind}",) + key)

    def update(self, layers):
        lr = Ref(self.nm.lr, ("lr",), "lr")
        for l in layers:
            for kind, idx, name, key in self._params(l):
                if f"{kind}{idx}" in self.sc.freeze:
                    continue
                batch = self.N > 1
                g = Ref(d(self.E, name), (f"g{kind}",) + key if batch else (f"g{kind}s", key[0], 0) + key[1:],
                        f"dE/d{kind}{idx}" + ("" if batch else "@1"))
                param = Ref(name, (kind,) + key, f"{kind}{idx}")
                self.add("update", None, f"{kind}+{idx}", name.plus(), Op("−", (param, Op("×", (lr, g)))),
                         (f"{kind}+",) + key)


def _sum(terms):
    """t1 + t2 + …, or the one term alone"""
    return terms[0] if len(terms) == 1 else Op("+", tuple(terms))


def _count(n):
    return Const(str(n), str(n))


def _over(node, K):
    return node if K == 1 else Frac(node, _count(K))
