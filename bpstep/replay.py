"""``bpstep replay``: the debugger run headless from a script (DESIGN.md §6).

Text prints the step each command lands on as one line (with ``trace``, also every step a
motion passes on the way); JSONL prints one object per step; other output of the commands
(print, where, breaks, expect, watches) goes to stdout as ``#`` lines in text and to stderr in
JSONL, so that JSONL stays one record per line.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

from . import commands
from .commands import CommandError
from .session import Session
from .tape import Step


class ScriptError(ValueError):
    """A script that cannot run; ``str()`` names the file and line."""


@dataclass
class Scripted:
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


def text_line(step: Step, check=None) -> str:
    line = f"e{step.epoch} {step.phase} #{step.index} {step.qid}  {step.line()}"
    if check is not None:
        line += "  " + check.verdict_text(step)
    return line


def json_record(step: Step, check=None) -> str:
    torch = abs_err = ok = None
    if check is not None:
        torch, abs_err, ok = check.compare(step)
    return json.dumps({
        "step": step.index, "epoch": step.epoch, "phase": step.phase, "sample": step.sample,
        "id": step.id, "name": step.name, "formula": step.formula, "substituted": step.substituted,
        "value": step.value, "torch": torch, "abs_err": abs_err, "ok": ok,
    }, ensure_ascii=False)


class Printer:
    def __init__(self, fmt: str, out, err, check=None):
        self.fmt, self.out, self.err, self.check = fmt, out, err, check
        self.mismatches = 0

    def step(self, step: Step):
        if self.check is not None and not self.check.compare(step)[2]:
            self.mismatches += 1
        if self.fmt == "jsonl":
            self.out.write(json_record(step, self.check) + "\n")
        else:
            self.out.write(text_line(step, self.check) + "\n")

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
                printer.step(result.step)
                for line in session.watch_lines():
                    printer.message(f"  watch {line}")
            failed |= result.failed
    return 1 if failed or printer.mismatches else 0


_TRACED = {"step", "next", "finish", "continue", "rstep", "rnext", "rfinish", "rcontinue"}
