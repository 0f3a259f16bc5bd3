"""What the panels show, taken from the session between commands.

A long command runs in a worker thread and moves the tape on; the panels may repaint meanwhile
(a resize, a notification), so they read only this snapshot: the current step, its epoch's
record and specs, the breakpoint marks and the watched values, never the tape itself.

With the quiz on, the frame says which step's value is hidden (``hidden``, an index of the
epoch) and leaves out of what it holds (the watches, the loss of the epoch) what would give it away;
each panel shows ``?`` in place of that step's value.

In layer view the frame also holds the current layer step and the epoch's layer specs; the
cursor's scalar step lies inside the layer step, and a scalar step counts as computed once the
layer step that holds it has been reached (:meth:`Frame.done`).
"""

from __future__ import annotations

from bpstep import ids, whatif
from bpstep.commands import Ref
from bpstep.layers import LayerStep
from bpstep.notation import fmt
from bpstep.quiz import HIDDEN
from bpstep.tape import Step


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
        self.generation = tape.generation  # changes with each what-if edit: the loss plot redraws
        self.edits = whatif.described(tape)  # what-if edits in force: (long, short) texts
        self.original_losses = tape.original_losses  # the scenario's own run's, while edits are in force
        self.layered = session.view == "layer"
        quiz = session.quiz
        self.hidden = quiz.hidden_index(self.epoch)  # the step whose value the learner is to predict
        self.graded = quiz.graded(session.position)  # the answer given for the cursor's step
        self.quiz = quiz.status() if quiz.on else None
        if quiz.hides_loss(session):
            self.losses = self.losses.copy()
            self.losses[self.epoch] = float("nan")
        self.marks = self._marks(session)
        self.yours = session.yours(self.epoch)  # index → the user's value (bpstep open --compare)
        self.watches = self._watches(session)
        if self.layered:
            self.layer = session.current_layer
            self._grid = session.layer_tape
            self.layer_specs = self._grid.specs(self.epoch)

    def at(self, index: int) -> Step:
        return Step(self.epoch, self.specs[index], self.record)

    def layer_at(self, index: int) -> LayerStep:
        return LayerStep(self.epoch, self.layer_specs[index], self.record, self.specs)

    def layer_of(self, index: int) -> int:
        """The layer step that holds scalar step ``index`` (in layer view)."""
        return self._grid.containing((self.epoch, index))[1]

    def done(self, index: int) -> bool:
        """Whether scalar step ``index`` has been computed when the cursor is where it is."""
        if self.layered:
            return self.layer_of(index) <= self.layer.index
        return index <= self.index

    def value_text(self, index: int) -> str:
        """Step ``index``'s value as the panels write it: ``?`` while it is a quiz's question, and
        with the quiz on, ``·`` for a step after the cursor (the tape would show what is to come)."""
        if index == self.hidden:
            return HIDDEN
        if self.quiz and not self.layered and index > self.index:
            return "·"
        return fmt(self.at(index).value)

    @property
    def current_index(self) -> int:
        """The cursor's index in the current view's steps."""
        return self.layer.index if self.layered else self.index

    @property
    def current_length(self) -> int:
        return len(self.layer_specs) if self.layered else self.length

    def phase_runs_shown(self) -> list:
        """``(first, last, phase)`` of the current view's steps."""
        return (self._grid if self.layered else self.layout).phase_runs(self.evaluate)

    def layer_marks(self) -> dict:
        """Breakpoint marks by layer step: the mark of a scalar step in it (● before ◆)."""
        out = {}
        for i, mark in sorted(self.marks.items(), key=lambda m: m[1] != "●"):
            out.setdefault(self.layer_of(i), mark)
        return out

    def index_of(self, qid: str, sample: int | None):
        return self.layout.at(self.evaluate, qid, sample)

    def users(self, qid: str) -> list:
        """Indices of the steps of this epoch that read ``qid`` (id@n)."""
        qid, _, n = qid.partition("@")
        return self.layout.users(self.evaluate, qid, int(n) if n else None).tolist()

    def _marks(self, session) -> dict:
        """Breakpoint marks by step index: ● a breakpoint, ◆ one with a condition."""
        marks = {}
        for bp in session.breakpoints:
            if bp.ref is not None:
                for i in self.layout.find(self.evaluate, bp.ref.id, bp.ref.sample).tolist():
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
            found = self.layout.find(self.evaluate, ref.id, ref.sample).tolist()
            if found:
                rows += [(self.at(i).qid, self.at(i), self.value_text(i)) for i in found]
            elif ids.is_given(ref.id):
                one = isinstance(ref.sample, int) or ref.id[0] not in "xt"
                samples = [ref.sample] if one else range(1, self.scenario.samples + 1)
                for n in samples:
                    r = Ref(ref.id, n if ref.id[0] in "xt" else None)
                    rows.append((str(r), None, fmt(session.lookup(r, self.epoch))))
            else:
                rows.append((str(ref), None, "not in this epoch"))
        return rows
