"""Predict, then reveal: the quiz the session keeps (``quiz on|off``, ``answer VALUE``).

With the quiz on, a step of a quizzed family that the cursor lands on in the scalar view is a
question: its value, and every value that would give it away, is hidden until ``answer VALUE``
grades it, against the value within half a unit of the last digit typed (0.593 → ± 0.0005, as
``expect``) or within ``quiz tol T``. Moving off a question without answering skips it: the
step is shown from then on and the report says so, so that a value cannot be looked at first and
answered after. The TUI only shows this state: ``?`` for the hidden values, the score on the
status line.

A worksheet (``replay --format markdown --worksheet``) blanks the same steps an epoch at a time,
and ``replay --quiz ANSWERS`` grades a file of answers against those blanks (:func:`read_answers`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import ids
from .commands import CommandError, finite_number, parse_ref, printed_tolerance
from .notation import fmt

#: what ``quiz on`` takes → families (bpstep.ids): an id's head as written, or the family's name
FAMILIES = {f: f for f in ids.ARITY if f not in ids.GIVEN} | {
    "E[k]": "Ek", "dE/da": "dEda", "da/dz": "dadz", "dE/dz": "dEdz", "dz/dW": "dzdW", "dz/db": "dzdb",
    "dE/dW": "dEdW", "dE/db": "dEdb", "dz/da": "dzda"}

HIDDEN = "?"  # in place of a value not yet predicted


def family(step) -> str:
    return ids.parse(step.id).family


def families(words) -> frozenset | None:
    """The families named by ``quiz on W1 W2 …``; None (every family) when none is named."""
    for word in words:
        if word not in FAMILIES:
            raise CommandError(f"quiz: unknown family {word!r}; expected some of: {' '.join(FAMILIES)}")
    return frozenset(FAMILIES[w] for w in words) or None


@dataclass
class Answer:
    """One question: what was typed (None: skipped) against the step's value."""

    epoch: int
    qid: str
    value: float
    typed: str | None
    tol: float

    @property
    def right(self) -> bool:
        # a value typed rounded at a tie (0.25 as 0.2) is half a unit off, which in binary
        # floating point may come out a hair over: the tolerance gets that hair
        return self.typed is not None and abs(float(self.typed) - self.value) <= self.tol * (1 + 1e-9)

    @property
    def verdict(self) -> str:
        return "skipped" if self.typed is None else "right" if self.right else "wrong"

    def said(self) -> str:
        """The line after an answer: ✓ or ✗, what was typed, the value."""
        mark = "✓ right" if self.right else "✗ wrong"
        return f"{mark}: {self.qid} = {fmt(self.value)}; you said {self.typed} (± {self.tol:g})"

    def row(self) -> str:
        mark = {"right": "✓", "wrong": "✗", "skipped": "–"}[self.verdict]
        tol = "" if self.typed is None else f"± {self.tol:g}"
        return (f"{mark} e{self.epoch} {self.qid:<18} {self.typed or '—':>12} {fmt(self.value):>14}  "
                f"{tol:<9} {self.verdict}")


class Quiz:
    def __init__(self):
        self.on = False
        self.families: frozenset | None = None  # None: every family
        self.tol: float | None = None  # None: the digits typed say
        self.answers: list[Answer] = []
        self.asking = None  # the Step whose value is hidden until it is answered
        self._closed: dict = {}  # (epoch, index) → its Answer (graded or skipped): shown from then on

    def asks(self, step) -> bool:
        return self.families is None or family(step) in self.families

    def moved(self, step) -> None:
        """The cursor is on ``step`` (None: in the layer view, which asks nothing): the question
        left unanswered is skipped; a step of a quizzed family not asked before is asked."""
        here = None if step is None else step.position
        if self.asking is not None and self.asking.position != here:
            self._close(self.asking, None)
        fresh = self.on and step is not None and here not in self._closed and self.asks(step)
        self.asking = step if fresh else None

    def hides(self, step) -> bool:
        return self.asking is not None and step.position == self.asking.position

    def hidden_index(self, epoch: int) -> int | None:
        """The index of the step of ``epoch`` whose value is hidden, if any."""
        return self.asking.index if self.asking is not None and self.asking.epoch == epoch else None

    def hides_loss(self, session) -> bool:
        """Whether the loss of the cursor's epoch would give a question away: E is quizzed and
        the cursor has not passed the epoch's last E step (the batch's) with it answered."""
        if not self.on or (self.families is not None and "E" not in self.families):
            return False
        epoch, index = session.position
        last = int(session.layout.find(session.tape.is_evaluate(epoch), "E", None)[-1])
        return index <= last and (epoch, last) not in self._closed

    def graded(self, position) -> Answer | None:
        """The answer given at ``position``, once it is graded."""
        found = self._closed.get(position)
        return found if found is not None and found.typed is not None else None

    def answer(self, typed: str) -> Answer:
        if self.asking is None:
            raise CommandError("answer: no question is open; expected 'quiz on' and the cursor on a step "
                               "of a quizzed family")
        found = self._close(self.asking, typed)
        self.asking = None
        return found

    def grade(self, step, typed: str) -> Answer:
        """Grade ``typed`` as the value of ``step`` (a worksheet's blank: no cursor involved)."""
        return self._close(step, typed)

    def _close(self, step, typed: str | None) -> Answer:
        tol = math.nan if typed is None else self.tol if self.tol is not None else printed_tolerance(typed)
        found = Answer(step.epoch, step.qid, step.value, typed, tol)
        self.answers.append(found)
        self._closed[step.position] = found
        return found

    def score(self) -> tuple[int, int]:
        """``(right, graded)``."""
        graded = [a for a in self.answers if a.typed is not None]
        return sum(a.right for a in graded), len(graded)

    def status(self) -> str:
        return "quiz {}/{}".format(*self.score())

    def report(self) -> list[str]:
        right, graded = self.score()
        skipped = len(self.answers) - graded
        head = f"quiz: {right} of {graded} right" + (f", {skipped} skipped" if skipped else "")
        return [head] + ["  " + a.row() for a in self.answers]

    def command(self, cmd) -> list[str]:
        """``quiz on [FAMILY…]``, ``quiz off``, ``quiz tol T``, ``quiz report``."""
        if cmd.arg == "on":
            self.on, self.families = True, families(cmd.words)
            which = "every step" if self.families is None else "each step of " + " ".join(cmd.words)
            return [f"quiz on: {which} the cursor lands on is hidden until you answer it (answer VALUE)"]
        if cmd.arg == "off":
            self.on, self.asking = False, None
            return [f"quiz off ({self.status()})"]
        if cmd.arg == "tol":
            self.tol = cmd.tol
            return [f"quiz: answers within ± {cmd.tol:g} are right"]
        return self.report()


class AnswersError(ValueError):
    """A file of answers that cannot be graded; ``str()`` names the file and line."""


def read_answers(text: str, source: str, blanks: list) -> list[tuple]:
    """``(step, typed)`` for each line of a file of answers: ``ID VALUE`` grades the blank of
    that id, a lone ``VALUE`` the blank after the one before it (the first blank at the start);
    ``#`` starts a comment. ``blanks`` are the steps a worksheet leaves blank, in order."""
    where = {b.qid: k for k, b in enumerate(blanks)}
    out, seen, k = [], {}, -1
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) > 2:
            raise AnswersError(f"{source}:{number}: expected VALUE or ID VALUE, got {line.strip()!r}")
        value = words[-1]
        if finite_number(value) is None:
            raise AnswersError(f"{source}:{number}: {value!r} is not a number; expected VALUE or ID VALUE")
        if len(words) == 2:
            try:
                ref = str(parse_ref(words[0]))
            except CommandError as e:
                raise AnswersError(f"{source}:{number}: {e}") from None
            if ref not in where:
                raise AnswersError(f"{source}:{number}: {ref} is not a blank of the worksheet; expected one of "
                                   f"the ids of its answer key ({blanks[0].qid} … {blanks[-1].qid})")
            k = where[ref]
        else:
            k += 1
            if k >= len(blanks):
                raise AnswersError(f"{source}:{number}: an answer past the last of the {len(blanks)} blanks")
        if k in seen:
            raise AnswersError(f"{source}:{number}: {blanks[k].qid} is answered already on line {seen[k]}")
        seen[k] = number
        out.append((blanks[k], value))
    if not out:
        raise AnswersError(f"{source}: no answers; expected one a line, VALUE or ID VALUE")
    return out

