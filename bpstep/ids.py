"""The quantity-id grammar: one place that reads, writes and range-checks ids.

An id names one scalar of the network, 1-based (``z[1,2]``, ``dE/dW[2,1,1]``); ``@n`` picks
one sample (``z[1,2]@3``). Each id belongs to a *family*, the short name the layout and the
tape use for its kind of value:

=========================  ========  ===================  =========================
id                         family    id                   family
=========================  ========  ===================  =========================
``x[i]``, ``t[k]``         x, t      ``dE/dz[l,j]``       dEdz (δ)
``W[l,j,i]``, ``b[l,j]``   W, b      ``dz[l,j]/dW[l,j,i]``  dzdW
``lr``                     lr        ``dz[l,j]/db[l,j]``  dzdb
``z[l,j]``, ``a[l,j]``     z, a      ``dE/dW[l,j,i]``     dEdW
``E[k]``, ``E``            Ek, E     ``dE/db[l,j]``       dEdb
``dE/da[l,j]``             dEda      ``dE[l+1,m]/da[l,j]``  part
``da[l,j]/dz[l,j]``        dadz      ``dz[l+1,m]/da[l,j]``  dzda
``da[l,k]/dz[l,j]``        jac (softmax's Jacobian term, k ≠ j; k = j is dadz)
``W+[l,j,i]``, ``b+[l,j]`` W+, b+      ``m(W[l,j,i])`` …    o:m:W … (the optimizer's)
``momentum``, ``beta1`` …  (given)   ``steps``            the step count t (given)
=========================  ========  ===================  =========================

The *given* quantities (x, t, W, b, lr) are read by steps but computed by none.

The sample, the one rule every command follows (``break``, ``goto``, ``print``, ``watch``,
``expect``, ``set``, conditions, the palette):

- ``id@n`` is sample n's value;
- ``id`` alone is the batch's value where there is one (``E``: the batch loss, ``dE/dW[…]``,
  ``dE/db[…]``: the batch mean), the network's for what every sample shares (W, b, lr, W+, b+);
  a quantity that exists only per sample (x, t, z, a, E[k], ∂E/∂a, δ, the factors) has no batch
  value, so there ``id`` alone is every sample, as ``id@*``; where one value is read (a
  condition, ``expect``) it is the sample of the step in question;
- ``id@*`` is every sample's value (and never the batch's): ``break E@* if value < 0.5`` stops
  at the first sample's loss below 0.5.

With one sample the batch value is that sample's, so ``E`` and ``E@1`` are the same step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .functions import HYPER, QUANTITIES

#: ``id@*``: every sample's value
EVERY = "*"
#: families whose id without a sample names a value of the batch (the loss, its mean gradients)
BATCH = frozenset({"E", "dEdW", "dEdb"})
#: families with no per-sample values (and the optimizer's, ``o:…``): ``@n`` on them names nothing
SHARED = frozenset({"W", "b", "lr", "W+", "b+", *HYPER})

#: given quantities → how many indices their id has (the optimizer's hyper-parameters: none)
GIVEN = {"x": 1, "t": 1, "W": 3, "b": 2, "lr": 0, **{h: 0 for h in HYPER}}


def shared(family: str) -> bool:
    """Whether a family has one value for the whole batch and none per sample."""
    return family in SHARED or family.startswith("o:")

_I = r"\[([0-9]+(?:,[0-9]+)*)\]"
_FORMS = [  # (pattern, family, how the indices of the pattern's brackets make the id's indices)
    (re.compile(rf"dE/da{_I}"), "dEda", None),
    (re.compile(rf"dE/dz{_I}"), "dEdz", None),
    (re.compile(rf"dE/dW{_I}"), "dEdW", None),
    (re.compile(rf"dE/db{_I}"), "dEdb", None),
    (re.compile(rf"da{_I}/dz{_I}"), "dadz", "jacobian"),
    (re.compile(rf"dz{_I}/dW{_I}"), "dzdW", "prefix"),
    (re.compile(rf"dz{_I}/db{_I}"), "dzdb", "same"),
    (re.compile(rf"dE{_I}/da{_I}"), "part", "down"),
    (re.compile(rf"dz{_I}/da{_I}"), "dzda", "down"),
    (re.compile(rf"(W\+|b\+|W|b|z|a|x|t|E){_I}"), None, None),
    (re.compile(rf"({'|'.join(QUANTITIES)})\((W|b){_I}\)"), "opt", None),
]
#: families → how many indices they have
ARITY = {"x": 1, "t": 1, "W": 3, "b": 2, "W+": 3, "b+": 2, "z": 2, "a": 2, "Ek": 1, "E": 0, "lr": 0,
         "dEda": 2, "dadz": 2, "dEdz": 2, "dzdW": 3, "dzdb": 2, "dEdW": 3, "dEdb": 2, "part": 3, "dzda": 3,
         "jac": 3, **{h: 0 for h in HYPER}}


@dataclass(frozen=True)
class Qid:
    """A parsed id: its family and 1-based indices. ``part`` and ``dzda`` are indexed
    ``(l, m, j)``: the unit j of layer l and the unit m of layer l + 1 it feeds."""

    family: str
    idx: tuple

    @property
    def given(self) -> bool:
        return self.family in GIVEN


def optimizer_family(q: str, P: str) -> str:
    """The family (and the layout's block kind) of optimizer quantity q of a weight ("W") or a
    bias ("b"): ``o:m:W`` is ``m(W[l,j,i])``."""
    return f"o:{q}:{P}"


def optimizer_id(q: str, P: str, idx) -> str:
    """``m(W[1,2,1])`` from the quantity, W or b, and the parameter's 1-based indices."""
    return f"{q}({P}[{','.join(map(str, idx))}])"


def indices(qid: str) -> list[int]:
    """The 1-based indices of an id's (last) bracket: ``W[2,1,1]`` → [2, 1, 1]."""
    return [int(v) for v in qid[qid.rindex("[") + 1:qid.rindex("]")].split(",")]


def is_given(qid: str) -> bool:
    """Whether the id names a given quantity (x, t, W, b, lr): read by steps, computed by none."""
    return head(qid) in GIVEN


def head(qid: str) -> str:
    """The id without its brackets' contents' position: ``W+[1,2,1]`` → ``W+``, ``dE/dW[…]`` →
    ``dE/dW``."""
    return qid.partition("[")[0]


@lru_cache(maxsize=4096)  # the panels look up the ids on screen at every step
def parse(qid: str) -> Qid | None:
    """The family and indices of a well-formed id (no ``@n``, no spaces), or None."""
    if qid == "E":
        return Qid("E", ())
    if qid == "lr" or qid in HYPER:
        return Qid(qid, ())
    for pattern, family, combine in _FORMS:
        m = pattern.fullmatch(qid)
        if not m:
            continue
        groups = [tuple(int(v) for v in g.split(",")) for g in m.groups() if g and g[0].isdigit()]
        if family is None:
            name = m.group(1)
            family = "Ek" if name == "E" else name
            idx = groups[0]
        elif family == "opt":
            family, idx = optimizer_family(m.group(1), m.group(2)), groups[0]
        elif combine is None:
            idx = groups[0]
        else:
            outer, inner = groups
            if combine == "same" and outer != inner:
                return None
            if combine == "jacobian" and outer != inner:  # da[l,k]/dz[l,j]: a softmax's Jacobian term
                if len(outer) != 2 or len(inner) != 2 or outer[0] != inner[0]:
                    return None
                family, inner = "jac", (inner[0], outer[1], inner[1])
            if combine == "prefix" and inner[:2] != outer:
                return None
            if combine == "down":  # dE[l+1,m]/da[l,j]: (l, m, j)
                if len(outer) != 2 or len(inner) != 2 or outer[0] != inner[0] + 1:
                    return None
                idx = (inner[0], outer[1], inner[1])
            else:
                idx = inner
        if len(idx) != ARITY.get(family, 3 if family.endswith(":W") else 2):
            return None
        return Qid(family, idx)
    return None


def in_range(q: Qid, sizes, bias: bool) -> bool:
    """Whether the indices name units, weights and layers of a network of ``sizes``."""
    L, idx = len(sizes) - 1, q.idx
    if q.family in ("x",):
        return 1 <= idx[0] <= sizes[0]
    if q.family in ("t", "Ek"):
        return 1 <= idx[0] <= sizes[-1]
    if q.family in ("E", "lr") or q.family in HYPER:
        return True
    if (q.family in ("b", "b+", "dzdb", "dEdb") or q.family.endswith(":b")) and not bias:
        return False
    l = idx[0]
    if q.family in ("part", "dzda"):
        return 1 <= l < L and 1 <= idx[1] <= sizes[l + 1] and 1 <= idx[2] <= sizes[l]
    if q.family == "jac":
        return 1 <= l <= L and 1 <= idx[1] <= sizes[l] and 1 <= idx[2] <= sizes[l]
    if not 1 <= l <= L or not 1 <= idx[1] <= sizes[l]:
        return False
    return len(idx) == 2 or 1 <= idx[2] <= sizes[l - 1]


def frozen_cells(freeze, kind: str, layer: int) -> list:
    """``(j, i)``, 0-based, of the parameters of ``kind`` (W or b) in ``layer`` named in
    ``freeze`` (i is 0 for a bias)."""
    out = []
    for p in freeze:
        idx = indices(p)
        if head(p) == kind and idx[0] == layer:
            out.append((idx[1] - 1, idx[2] - 1 if len(idx) == 3 else 0))
    return out


def param_id(kind: str, idx) -> str:
    """``W[l,j,i]`` or ``b[l,j]`` (``kind`` W, b, W+ or b+) from 1-based indices."""
    return f"{kind}[{','.join(map(str, idx))}]"
