"""``bpstep replay``: the debugger run headless from a script.

Text prints the step each command lands on as one line (with ``trace``, also every step a
motion passes on the way); JSONL prints one object per step; other output of the commands
(print, where, breaks, expect, watches) goes to stdout as ``#`` lines in text and to stderr in
JSONL, so that JSONL stays one record per line.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass

from . import commands, layers
from .commands import CommandError
from .quiz import HIDDEN
from .session import Session
from .tape import Step


class ScriptError(ValueError):
    """A script that cannot run; ``str()`` names the file and line."""


@dataclass
class Scripted:
    """A command of a replay script and the line it came from."""

    line: int
    command: commands.Command


def parse_script(text: str, source: str, session: Session) -> list[Scripted]:
    """Parse and validate every command before anything runs, so a typo on line 40 costs nothing."""
    out = []
    for number, part in commands.split_script(text):
        try:
            cmd = commands.parse(part)
            session.validate(cmd)
        except CommandError as e:
            raise ScriptError(f"{source}:{number}: {e}") from None
        out.append(Scripted(number, cmd))
    return out


def text_line(step: Step, check=None, hidden: bool = False) -> str:
    """A step as one line; ``hidden``: a quiz's question, its value and torch's left out."""
    line = f"{step.record.tag} {step.phase} #{step.index} {step.qid}  {step.line(HIDDEN if hidden else None)}"
    if check is not None and not hidden:
        line += "  " + check.verdict_text(step)
    return line


def json_record(step: Step, check=None, hidden: bool = False) -> str:
    torch = abs_err = ok = None
    if check is not None and not hidden:
        torch, abs_err, ok = check.compare(step)
    return json.dumps({
        "step": step.index, **step.record.fields, "phase": step.phase, "sample": step.sample,
        "id": step.id, "name": step.name, "formula": step.formula,
        # a copy of one quantity (∂z/∂W = h) put in would be the hidden value itself
        "substituted": None if hidden and step.spec.plain else step.substituted,
        "value": None if hidden else _number(step.value), "torch": _number(torch), "abs_err": _number(abs_err), "ok": ok,
    }, ensure_ascii=False, allow_nan=False)


def _number(v):
    """A float for JSON, which has no NaN or infinity: those are written "nan", "inf", "-inf" as
    in the text output."""
    return v if v is None or math.isfinite(v) else str(float(v))


def layer_record(ls: layers.LayerStep, check=None) -> str:
    """A layer step as JSON: the keys of a step, ``value`` the matrix as nested lists (a row per
    sample for a batch, a column for one sample), and the scalar steps it ``contains``."""
    return json.dumps(_finite(layers.json_fields(ls, check)), ensure_ascii=False, allow_nan=False)


def _finite(v):
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_finite(x) for x in v]
    return _number(v) if isinstance(v, float) else v


class Printer:
    def __init__(self, fmt: str, out, err, check=None):
        self.fmt, self.out, self.err, self.check = fmt, out, err, check
        self.mismatches = 0

    def step(self, step: Step, hidden: bool = False):
        if isinstance(step, layers.LayerStep):
            return self.layer(step)
        if self.check is not None and not hidden and not self.check.compare(step)[2]:
            self.mismatches += 1
        if self.fmt == "jsonl":
            self.out.write(json_record(step, self.check, hidden) + "\n")
        else:
            self.out.write(text_line(step, self.check, hidden) + "\n")
        if hidden:
            self.message(f"quiz: predict {step.qid}, then answer VALUE")

    def layer(self, ls: layers.LayerStep):
        if self.check is not None and not layers.compare(ls, self.check)[2]:
            self.mismatches += 1
        if self.fmt == "jsonl":
            self.out.write(layer_record(ls, self.check) + "\n")
            return
        lines = layers.text_lines(ls)
        if self.check is not None:
            lines[0] += "  " + layers.verdict_text(ls, self.check)
        self.out.write("\n".join(lines) + "\n")

    def message(self, text: str):
        if self.fmt == "jsonl":
            self.err.write(text + "\n")
        else:
            self.out.write(f"# {text}\n")


def run(session: Session, script: list[Scripted] | None, fmt: str = "text", trace: bool = False,
        out=None, err=None, check=None, source: str = "-c") -> int:
    """Replay; returns the exit code (0, or 1 when an ``expect`` or the cross-check failed)."""
    out = out or sys.stdout
    err = err or sys.stderr
    printer = Printer(fmt, out, err, check)
    failed = False
    if script is None:
        tape = session.tape
        for epoch in range(tape.epochs + 1):
            for step in tape.steps(epoch):
                printer.step(step)
    else:
        for item in script:
            on_pass = printer.step if trace and item.command.name in _TRACED else None
            try:
                result = session.execute(item.command, on_pass=on_pass)
            except CommandError as e:
                raise ScriptError(f"{source}:{item.line}: {e}") from None
            for message in result.messages:
                printer.message(message)
            if result.step is not None:
                if result.layer is not None:
                    printer.step(result.layer)
                else:
                    printer.step(result.step, session.quiz.hides(result.step))
                for line in session.watch_lines():
                    printer.message(f"  watch {line}")
            failed |= result.failed
    return 1 if failed or printer.mismatches else 0


_TRACED = {"step", "next", "finish", "continue", "rstep", "rnext", "rfinish", "rcontinue"}
