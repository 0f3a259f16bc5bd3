"""What ``e`` offers to edit: the given quantities (parameters, inputs, targets, the learning
rate) behind the current step, and their values in its epoch, as ``set ID VALUE`` lines.

A step such as z1 = W1·x1 + W2·x2 reads given quantities itself (``Session.settable``); one
such as h1 = σ(z1) reads only computed ones, so the search goes on, breadth first, through the
steps that computed them, back to the nearest given quantities (for h1: those of z1), and a
level further while fewer than two are found (∂E/∂o1 = −(target_o1 − o1): target_o1, then the
W5 and W6 behind o1). A parameter's gradient or local factor (∂E/∂W1, ∂z1/∂W1) offers the
parameter first. In layer view the search starts from every scalar step of the layer step
(W²⁺ = W² − α·∂E/∂W²: W5 … W8 and α)."""

from __future__ import annotations

import re

import numpy as np

from bpstep.commands import Ref, parse_ref
from bpstep.ids import indices
from bpstep.notation import refs


MOST = 12  # choices offered, nearest first
_LEVEL = 4096  # scalar steps of a layer step looked behind: a big one's first ones say enough
_PARAMETER = re.compile(r"/d([Wb]\[[\d,]+\])$")


def givens(session, frame) -> list[tuple[Ref, str]]:
    """``(ref, display name)`` of the nearest given quantities behind the current step, in the
    order its formula (then the formulas behind it) reads them."""
    level = [frame.at(i) for i in frame.layer.spec.contains[:_LEVEL].tolist()] if frame.layered else [frame.step]
    seen, found = set(), []
    about = None if frame.layered else _PARAMETER.search(frame.step.id)
    if about:
        ref = Ref(about.group(1))
        seen.add(ref.id)
        found.append((ref, session.layout.names.W(*indices(ref.id)).uni if ref.id[0] == "W"
                      else session.layout.names.b(*indices(ref.id)).uni))
    while level and len(found) < 2:
        behind = []
        for step in level:
            settable = {str(r): r for r in session.settable(step)}
            for node in refs(step.spec.rhs):
                if node.qid in seen:
                    continue
                seen.add(node.qid)
                if node.qid in settable:
                    ref = settable[node.qid]
                    tag = f"@{ref.sample}" if ref.sample and frame.scenario.samples > 1 else ""
                    found.append((ref, node.name.uni + tag))
                    continue
                ref = parse_ref(node.qid)
                at = frame.index_of(ref.id, ref.sample)
                if at is not None:
                    behind.append(frame.at(at))
        level = behind
    return found[:MOST]


def value_text(value: float, dtype: str) -> str:
    """The shortest text that reads back to ``value`` in the engine's dtype (0.45, not
    0.45000000; a float32 weight with its 8 digits, not 17)."""
    return str(np.dtype(dtype).type(value))


def set_lines(session, frame) -> list[tuple[str, str]]:
    """``(set ID VALUE, label)`` for each given quantity behind the current step."""
    out = []
    for ref, name in givens(session, frame):
        value = session.lookup(ref, frame.epoch)
        out.append((f"set {ref} {value_text(value, frame.scenario.dtype)}", name))
    return out
