"""``bpstep compare SCENARIO VALUES``: the numbers of a user's own backprop against the tape.

VALUES names bpstep's quantities by id (``dE/dW[2,1,1]@1``, ``W[2,1,1]``, ``lr``; in a
flat-notation scenario its flat names too), one value each, optionally with an epoch (0 when
left out): a CSV file with the columns ``id,value[,epoch]`` or JSONL lines
``{"epoch": 0, "id": "…", "value": …}``. The values are taken in the tape's order (an epoch's
given quantities before its steps), and the report says how many agree, which one is the
first that does not — with its formula in bpstep's numbers and the values it is computed from,
each marked as the user had it — which later ones are wrong only because of it (they read it,
directly or through other steps), which are wrong on their own, and which ids bpstep does not
know.

Two numbers agree when |yours − bpstep| is within the cross-check's tolerance for the
scenario's dtype or within half a unit of the last digit written in the file, whichever is
larger (a file of ``%.8f`` numbers is read to its 8 decimals), or within ``--tol``.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from . import ids
from .agreement import TOLERANCES
from .commands import CommandError, Ref, parse_ref, printed_tolerance
from .notation import fmt
from .scenario import UnreadableFile, read_text

#: the steps a trace of what depends on the first mismatch may walk, over all its epochs
TRACE_STEPS = 200_000
MAX_BYTES = 64 * 1024 * 1024


class CompareError(ValueError):
    """A VALUES file that cannot be read; ``str()`` is the one line for the user."""


@dataclass
class Value:
    """One number of the user's, where it was written and where it sits in the tape."""

    where: str  # "values.csv line 3"
    epoch: int
    ref: Ref
    text: str
    index: int = -1  # the step's index in its epoch; -1: a given quantity (before the steps)
    mine: float = math.nan  # bpstep's
    ok: bool = True

    @property
    def value(self) -> float:
        return float(self.text)


@dataclass
class Report:
    values: list = field(default_factory=list)  # the ones placed in the tape, in its order
    unknown: list = field(default_factory=list)  # (where, id text, why)
    first: Value | None = None
    downstream: list = field(default_factory=list)
    own: list = field(default_factory=list)  # wrong, and not because of the first
    untraced: list = field(default_factory=list)  # wrong, past what the trace could walk
    inputs: list = field(default_factory=list)  # (id, mark) of what the first is computed from


def read(path: str) -> list[tuple[str, str, str, str]]:
    """``(where, id, value text, epoch text)`` of every row of a CSV or JSONL file (read as
    scenarios and scripts are, so an endless or binary one is refused at once)."""
    try:
        text = read_text(Path(path), path, "values file", "a CSV (id,value[,epoch]) or JSONL file", MAX_BYTES)
    except UnreadableFile as e:
        raise CompareError(str(e)) from None
    first = text.lstrip()[:1]
    return _jsonl(path, text) if first == "{" else _csv(path, text)


def _csv(path, text):
    lines = text.splitlines()
    if not lines:
        raise CompareError(f"{path}: empty; expected a header id,value[,epoch] and a row per value")
    header = [h.strip().lower() for h in lines[0].split(",")]
    if "id" not in header or "value" not in header or not set(header) <= {"id", "value", "epoch"} \
            or len(set(header)) != len(header):
        raise CompareError(f"{path} line 1: header {lines[0]!r}; expected the columns id,value "
                           "and optionally epoch")
    out = []
    for number, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        row = _row(line, header)
        if len(row) != len(header):
            raise CompareError(f"{path} line {number}: {len(row)} column(s); expected {len(header)} "
                               f"({','.join(header)})")
        cells = dict(zip(header, (c.strip() for c in row)))
        out.append((f"{path} line {number}", cells["id"], cells["value"], cells.get("epoch", "0")))
    return out


def _row(line: str, header: list) -> list:
    """A CSV row whose id may hold commas unquoted (``dE/dW[2,1,1]@1,0.0259``): the columns
    before the id are split off from the left, those after it from the right."""
    if line.lstrip().startswith('"') or '"' in line:
        return next(csv.reader([line]))
    before, after = header.index("id"), len(header) - header.index("id") - 1
    head = line.split(",", before) if before else [line]
    if len(head) <= before:
        return head
    rest = head.pop().rsplit(",", after) if after else [head.pop()]
    return head + rest if len(rest) == after + 1 else head + rest[:1]


def _jsonl(path, text):
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:  # numbers kept as written, for the tolerance of their digits
            row = json.loads(line, parse_float=_Written, parse_int=_Written)
        except (json.JSONDecodeError, RecursionError):
            raise CompareError(f"{path} line {number}: not a JSON object; expected "
                               '{"epoch": 0, "id": "dE/dW[2,1,1]@1", "value": 0.0259}') from None
        if not isinstance(row, dict) or not {"id", "value"} <= set(row) or not set(row) <= {"id", "value", "epoch"}:
            raise CompareError(f"{path} line {number}: expected an object with id, value and optionally epoch")
        if type(row["id"]) is not str or not all(isinstance(row.get(k, _Written("0")), _Written)
                                                 for k in ("value", "epoch")):
            raise CompareError(f"{path} line {number}: id must be a string, value and epoch numbers")
        out.append((f"{path} line {number}", row["id"], str(row["value"]), str(row.get("epoch", "0"))))
    return out


class _Written(str):
    """A JSON number as it was written."""


def _number(where, text) -> str:
    try:
        float(text)
    except ValueError:
        raise CompareError(f"{where}: value {text!r} is not a number") from None
    if len(text) > 40:
        raise CompareError(f"{where}: value {text[:20]!r}… is longer than 40 characters")
    return text


def _epoch(where, text, epochs) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 18 or int(text) > epochs:
        raise CompareError(f"{where}: epoch {text!r}; expected a whole number from 0 to {epochs}")
    return int(text)


def place(session, rows) -> tuple[list, list]:
    """The rows as :class:`Value` s in the tape's order, and the unknown ids (not fatal)."""
    tape, layout = session.tape, session.layout
    values, unknown = [], []
    for where, qid, text, epoch_text in rows:
        v = Value(where, _epoch(where, epoch_text, tape.epochs), Ref("", None), _number(where, text))
        try:
            v.ref = session.read_name(parse_ref(qid))
            session.check_ref(v.ref)
        except CommandError as e:
            unknown.append((where, qid, str(e)))
            continue
        if not ids.is_given(v.ref.id):
            index = layout.at(tape.is_evaluate(v.epoch), v.ref.id, v.ref.sample)
            if index is None and v.ref.sample is None and session.scenario.samples == 1:
                v.ref = Ref(v.ref.id, 1)  # one sample: its steps are the batch's (h1 is a[1,1]@1)
                index = layout.at(tape.is_evaluate(v.epoch), v.ref.id, 1)
            if index is None:
                unknown.append((where, qid, f"no step of epoch {v.epoch} computes {v.ref}"))
                continue
            v.index = index
        values.append(v)
    values.sort(key=lambda v: (v.epoch, v.index))
    return values, unknown


def compare(session, path: str, tol: float | None = None) -> Report:
    values, unknown = place(session, read(path))
    report = Report(values=values, unknown=unknown)
    tolerance = TOLERANCES[session.scenario.dtype]
    for v in values:
        v.mine = session.lookup(v.ref, v.epoch)
        allowed = tol if tol is not None else max(printed_tolerance(v.text), tolerance.rtol * abs(v.mine) + tolerance.atol)
        v.ok = abs(v.value - v.mine) <= allowed or (math.isnan(v.value) and math.isnan(v.mine))
    wrong = [v for v in values if not v.ok]
    if wrong:
        report.first = wrong[0]
        _explain(session, report, wrong)
    return report


def _explain(session, report: Report, wrong: list) -> None:
    """What the first mismatch reads, and which later mismatches read it (through any steps)."""
    first = report.first
    given = {(v.epoch, str(v.ref)): v for v in report.values}
    if first.index >= 0:
        step = session.tape.step(first.epoch, first.index)
        for u in step.uses:
            v = given.get((first.epoch, u))
            report.inputs.append((u, "not in your file" if v is None else "yours agrees" if v.ok else "yours differs"))
    tainted = _taint(session, first, wrong[-1].epoch)
    for v in wrong[1:]:
        if tainted is None or (v.epoch, v.index) > tainted[0]:
            report.untraced.append(v)
        elif (v.epoch, str(v.ref)) in tainted[1]:
            report.downstream.append(v)
        else:
            report.own.append(v)


def _taint(session, first: Value, last_epoch: int):
    """``(last position traced, {(epoch, id@n)}``): every quantity that reads the first
    mismatch, directly or through other steps, from its epoch to ``last_epoch`` (a parameter
    carries the taint of its update into the next epoch); None when nothing could be walked."""
    tape = session.tape
    tainted = {(first.epoch, str(first.ref))}
    walked, reached = 0, None
    for epoch in range(first.epoch, last_epoch + 1):
        start = first.index + 1 if epoch == first.epoch else 0
        for step in tape.steps(epoch, max(0, start)):
            if walked >= TRACE_STEPS:
                return None if reached is None else (reached, tainted)
            walked += 1
            if any((epoch, u) in tainted for u in step.uses):
                tainted.add((epoch, step.qid))
                if step.id.startswith(("W+", "b+")):
                    tainted.add((epoch + 1, step.id[0] + step.id[2:]))
            reached = (epoch, step.index)
    return (reached or (first.epoch, first.index)), tainted


def lines(report: Report, scenario_name: str, path: str, session) -> list[str]:
    values = report.values
    agree = sum(v.ok for v in values)
    out = [f"compare {scenario_name} with {path}: {agree} of {len(values)} value(s) agree"]
    first = report.first
    if first is not None:
        where = "given" if first.index < 0 else f"step {first.index}"
        out += [f"first mismatch: {first.ref} at epoch {first.epoch} ({where}; {first.where})",
                f"  yours   {first.text}", f"  bpstep  {fmt(first.mine)}"]
        if first.index >= 0:
            out.append(f"  {session.tape.step(first.epoch, first.index).line()}")
            out += [f"  reads {u}: {mark}" for u, mark in report.inputs]
        for title, group in (("wrong because of it (they read it)", report.downstream),
                             ("wrong on their own", report.own),
                             (f"wrong after it, past the {TRACE_STEPS:,} steps traced", report.untraced)):
            if group:
                out.append(f"{title}: {len(group)}")
                out += [f"  {v.ref} at epoch {v.epoch}: yours {v.text}, bpstep {fmt(v.mine)}" for v in group[:20]]
                if len(group) > 20:
                    out.append(f"  … and {len(group) - 20} more")
    if report.unknown:
        out.append(f"ids bpstep does not know: {len(report.unknown)}")
        out += [f"  {where}: {why}" for where, _, why in report.unknown[:20]]
    return out
