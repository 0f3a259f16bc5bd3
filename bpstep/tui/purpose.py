"""What a step is for, where no formula reads it: the formula panel's "used by" area says it.

δ (∂E/∂z) is the factor ∂E/∂a × ∂a/∂z that every gradient of a unit shares; bpstep writes
∂E/∂W from its raw factors, so no step reads δ, yet δ is the shortcut the lecture's formulas
use: ∂E/∂W = δ·a of the layer below, and the part of ∂E/∂a that goes down a layer is δ·W. The
batch loss is what training makes smaller, and W⁺ is the next epoch's W.
"""

from __future__ import annotations

from bpstep import ids


def purpose(frame, step) -> list[list[tuple[str, str | None]]]:
    """Lines of ``(text, click action or None)`` pieces; [] for a step of no such kind."""
    q = ids.parse(step.id)
    names = frame.layout.names
    if q.family == "dEdz":
        l, j = q.idx
        below = names.x(1) if l == 1 else names.a(l - 1, 1)
        weight = names.W(l, j, 1)
        gradient = frame.index_of(f"dE/dW[{l},{j},1]", step.sample)
        out = [[(f"∂E/∂{weight.uni} = δ·{below.uni}", _goto(gradient)),
                (f", δ = {step.name} as a shortcut for the product of its factors (each ∂E/∂W of the unit)", None)]]
        if l > 1:
            part = frame.index_of(f"dE[{l},{j}]/da[{l - 1},1]", step.sample)
            out.append([(f"∂{names.E_through(l, j).uni}/∂{below.uni} = δ·{weight.uni}", _goto(part)),
                        (f", the part of ∂E/∂{below.uni} that goes down a layer (each unit below)", None)])
        return out
    if q.family == "E" and (step.sample is None or frame.scenario.samples == 1):
        return [[(f"{step.name} is what training makes smaller, epoch by epoch (the loss panel)", None)]]
    if q.family in ("W+", "b+") and step.epoch + 1 <= frame.epochs:
        given = ids.param_id(q.family[0], q.idx)
        name = names.given(q.family[0], q.idx).uni
        return [[(f"{name} of epoch {step.epoch + 1}", f"app.goto_reader({given!r}, {step.epoch + 1})"),
                 (f": the next epoch's {name}, read by its forward pass", None)]]
    return []


def _goto(index) -> str | None:
    return None if index is None else f"app.goto_index({index})"
