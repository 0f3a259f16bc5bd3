"""The what-if edits a tape applies: values set at an epoch (the commands that make them,
``set``, ``reset`` and ``save``, live in :mod:`bpstep.whatif`).

- a parameter ``W[l,j,i]`` or ``b[l,j]``: its value at the start of that epoch, before its
  forward pass; training goes on from there;
- an input ``x[i]@n``, a target ``t[k]@n`` (every sample without ``@n``), the learning rate
  ``lr`` or one of the optimizer's hyper-parameters (``momentum``, ``beta1``, …): its value from
  that epoch on.
"""

from __future__ import annotations

from dataclasses import replace

from .functions import HYPER
from .ids import head as _head
from .ids import indices

PARAMETERS = ("W", "b")
#: the optimizer's hyper-parameters a what-if may set (the step count is not one)
SETTINGS = tuple(h for h in HYPER if h != "steps")
DATA = ("x", "t", "lr") + SETTINGS


def param_indices(qid: str) -> list:
    """``W[2,1,1]`` → [1, 0, 0]"""
    return [i - 1 for i in indices(qid)]


class Edits:
    """The edits of a tape: ``(epoch, id, sample) → value`` in the order they were made."""

    def __init__(self, base_net):
        self.base = base_net
        self.items: dict = {}
        #: the value each edit replaced, when it was first made (what the what-if labels say)
        self.was: dict = {}
        self._nets: dict = {}

    def __bool__(self):
        return bool(self.items)

    def set(self, epoch: int, qid: str, sample: int | None, value: float, was: float) -> None:
        self.items.pop((epoch, qid, sample), None)
        self.items[(epoch, qid, sample)] = value
        self.was.setdefault((epoch, qid, sample), was)
        self._nets.clear()

    def remove(self, ref) -> list:
        """Drop the edits of ``ref`` (of its one sample with ``@n``; all edits when None);
        returns the epochs they were made at."""
        gone = [k for k in self.items
                if ref is None or (k[1] == ref.id and (ref.sample is None or k[2] == ref.sample))]
        for k in gone:
            del self.items[k]
            del self.was[k]
        self._nets.clear()
        return [k[0] for k in gone]

    def apply(self, epoch: int, p):
        """The parameters ``p`` at the start of ``epoch`` with the edits made there."""
        mine = [(qid, v) for (e, qid, _), v in self.items.items() if e == epoch and _head(qid) in PARAMETERS]
        if not mine:
            return p
        p = p.copy()
        for qid, v in mine:
            idx = param_indices(qid)
            (p.W if _head(qid) == "W" else p.b)[idx[0]][tuple(idx[1:])] = v
        return p

    def data(self, epoch: int, X, T, lr):
        """Inputs, targets and learning rate in force at ``epoch``: the edits made at or before it
        applied in order, on copies."""
        X, T = X.copy(), T.copy()
        for (e, qid, n), v in sorted(self.items.items(), key=lambda kv: kv[0][0]):
            head = _head(qid)
            if e > epoch or head not in DATA or head in SETTINGS:
                continue
            if head == "lr":
                lr = type(lr)(v)
                continue
            rows = slice(None) if n is None else n - 1
            (X if head == "x" else T)[rows, param_indices(qid)[0]] = v
        return X, T, lr

    def hyper(self, epoch: int, hyper: dict) -> dict:
        """The optimizer's hyper-parameters in force at ``epoch``: the edits made at or before it."""
        h = dict(hyper)
        for (e, qid, _), v in sorted(self.items.items(), key=lambda kv: kv[0][0]):
            if e <= epoch and qid in SETTINGS:
                h[qid] = type(h[qid])(v)
        return h

    def network(self, epoch: int):
        """The engine's network in force at ``epoch`` (the scenario's until a data edit)."""
        starts = [e for (e, qid, _) in self.items if e <= epoch and _head(qid) in DATA]
        if not starts:
            return self.base
        start = max(starts)
        net = self._nets.get(start)
        if net is None:
            X, T, lr = self.data(start, self.base.X, self.base.T, self.base.lr)
            net = self._nets[start] = replace(self.base, X=X, T=T, lr=lr, hyper=self.hyper(start, self.base.hyper))
        return net
