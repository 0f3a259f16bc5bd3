"""What the panels show, taken from the session between commands.

A long command runs in a worker thread and moves the tape on; the panels may repaint meanwhile
(a resize, a notification), so they read only this snapshot: the current step, its epoch's
record and specs, the breakpoint marks and the watched values, never the tape itself.
"""

from __future__ import annotations

import functools

from bpstep.commands import Ref
from bpstep.notation import fmt
from bpstep.tape import Step

_GIVEN = ("x[", "t[", "W[", "b[")


class Frame:
    def __init__(self, session):
        tape = session.tape
        self.session = session
        self.scenario = session.scenario
        self.layout = session.layout
        self.step = session.current
        self.epoch, self.index = session.position
        self.evaluate = tape.is_evaluate(self.epoch)
        self.record = self.step.record
        self.specs = tape.specs(self.epoch)
        self.length = len(self.specs)
        self.epochs = tape.epochs
        self.losses = tape.losses
        self.marks = self._marks(session)
        self.watches = self._watches(session)

    def at(self, index: int) -> Step:
        return Step(self.epoch, self.specs[index], self.record)

    def index_of(self, qid: str, sample: int | None):
        return self.layout.at(self.evaluate, qid, sample)

    def users(self, qid: str) -> list:
        """Indices of the steps of this epoch that read ``qid`` (id@n)."""
        return _users(self.layout, self.evaluate).get(qid, [])

    def _marks(self, session) -> dict:
        """Breakpoint marks by step index: ● a breakpoint, ◆ one with a condition."""
        marks = {}
        for bp in session.breakpoints:
            if bp.ref is not None:
                for i in self.layout.find(self.evaluate, bp.ref.id, bp.ref.sample):
                    marks[i] = "◆" if bp.cond is not None and marks.get(i) != "●" else "●"
            elif bp.phase is not None:
                for first, _, phase in self.layout.phase_runs(self.evaluate):
                    if phase == bp.phase:
                        marks[first] = "●"
        return marks

    def _watches(self, session) -> list:
        """``(label, step or None, value text)`` of each watched value in this epoch."""
        rows = []
        for ref in session.watches:
            found = self.layout.find(self.evaluate, ref.id, ref.sample)
            if found:
                rows += [(self.at(i).qid, self.at(i), fmt(self.at(i).value)) for i in found]
            elif ref.id.startswith(_GIVEN) or ref.id == "lr":
                samples = [ref.sample] if ref.sample or ref.id[0] not in "xt" else range(1, self.scenario.samples + 1)
                for n in samples:
                    r = Ref(ref.id, n if ref.id[0] in "xt" else None)
                    rows.append((str(r), None, fmt(session.lookup(r, self.epoch))))
            else:
                rows.append((str(ref), None, "not in this epoch"))
        return rows


@functools.lru_cache(maxsize=8)
def _users(layout, evaluate):
    out = {}
    for spec in layout.specs(evaluate):
        for qid in spec.uses:
            out.setdefault(qid, []).append(spec.index)
    return out
