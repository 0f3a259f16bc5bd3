"""The debugger: cursor, breakpoints, watches and history, driven by the commands of §6.

No Textual and no torch here: the TUI and ``bpstep replay`` drive the same :class:`Session`.
Motions (step, next, finish, continue and their reverses) find where they would land from the
tape's structure, then stop early at the first breakpoint on the way; the cursor only moves
once the whole motion is known, so a cancelled motion leaves it where it was.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from . import batches, commands, diagnostics, ids, layers, motions, notation, quiz, whatif
from .commands import Command, CommandError, Ref
from .functions import HYPER, OPTIMIZERS
from .notation import fmt
from .tape import Cancelled, Step, Tape

if TYPE_CHECKING:
    from .compare import Report


@dataclass
class Breakpoint:
    """A numbered breakpoint: on an id (with a condition), a phase, a diagnostic or the user's mismatches."""

    number: int
    ref: Ref | None = None
    cond: object = None
    cond_text: str = ""
    phase: str | None = None
    nan: bool = False
    diagnostic: diagnostics.Diagnostic | None = None
    mismatch: bool = False  # a value of ``compare`` VALUES that bpstep does not agree with

    def describe(self) -> str:
        if self.mismatch:
            return f"#{self.number} mismatch (a step where your value and bpstep's differ)"
        if self.phase:
            return f"#{self.number} phase {self.phase}"
        if self.nan:
            return f"#{self.number} nan"
        if self.diagnostic:
            return f"#{self.number} {self.diagnostic.describe()}"
        return f"#{self.number} {self.ref}" + (f" if {self.cond_text}" if self.cond_text else "")


@dataclass
class Result:
    """What a command did: where the cursor landed (for motions and goto), what to show."""

    step: Step | None = None
    messages: list = field(default_factory=list)
    hit: Breakpoint | None = None
    failed: bool = False  # a missed ``expect``
    layer: object = None  # in layer view: the layer step (bpstep.layers.LayerStep) landed on


class Session:
    def __init__(self, scenario, tape: Tape | None = None):
        self.scenario = scenario
        self.tape = tape or Tape(scenario)
        self.layout = self.tape.layout
        self.position = (0, 0)
        self.breakpoints: list[Breakpoint] = []
        self.watches: list[Ref] = []
        self.history: list[str] = []
        self._numbers = 0
        #: "scalar" or "layer"; in layer view motions move by layer steps and the cursor stays on
        #: a scalar step inside the current one (see bpstep.layers)
        self.view = "scalar"
        self._layer_tape = None
        self.quiz = quiz.Quiz()
        #: ``compare`` VALUES (``bpstep open --compare``): the report, and its values by position
        self.comparison: Report | None = None
        self._yours: dict = {}

    # -- where we are ----------------------------------------------------------------------------

    @property
    def current(self) -> Step:
        return self.tape.step(*self.position)

    @property
    def layer_tape(self) -> layers.LayerTape:
        if self._layer_tape is None:
            self._layer_tape = layers.LayerTape(self.tape)
        return self._layer_tape

    @property
    def current_layer(self) -> layers.LayerStep:
        """The layer step that contains the cursor (in either view)."""
        return self.layer_tape.at(self.position)

    # -- the TUI's entry points for the layer view and what-if edits (each runs its command) --------

    def set_view(self, view: str) -> Result:
        return self.execute(f"view {view}")

    def set_value(self, ref: Ref | str, value: float) -> Result:
        return self.execute(f"set {ref} {float(value)!r}")

    def reset(self, ref: Ref | str | None = None) -> Result:
        return self.execute("reset" if ref is None else f"reset {ref}")

    def save(self, path: str, force: bool = False) -> Result:
        """``save`` (refused when the file exists) or, with ``force``, ``save!``."""
        return self.execute(f"save{'!' if force else ''} {path}")

    def settable(self, step: Step) -> list[Ref]:
        """The given quantities (parameters, inputs, targets, lr) a step's formula reads."""
        refs = [commands.parse_ref(u) for u in step.uses]
        return [r for r in refs if whatif.problem(r, None, self.scenario) is None]

    def describe(self, step: Step) -> str:
        sample = "" if step.sample is None else f" · sample {step.sample}"
        n = self.tape.length(step.epoch)
        return f"{step.record.words} · {step.phase}{sample} · step {step.index} of {n}: {step.qid}  {step.line()}"

    # -- the public API (bpstep.open) ---------------------------------------------------------------

    def run(self, command: str) -> Result:
        """Run one command of the command language, as ``replay`` does; a bad one raises
        :class:`CommandError` (``str()``: the one line replay would print)."""
        return self.execute(command)

    def where(self) -> Step:
        """The step at the cursor."""
        return self.current

    def value(self, qid: str, epoch: int | None = None) -> float:
        """The value of a quantity (an id, or a name as shown: W5, ∂E/∂W5) in ``epoch`` (the
        cursor's by default): a step's result, or a
        given value (x, t, W and b at the start of the epoch, lr). An id of one value per
        sample needs ``@n`` when the batch has more than one sample. NaN where the epoch does
        not compute it (the evaluate phase has no gradients)."""
        ref = self.read_name(commands.parse_ref(qid))
        self.check_ref(ref)
        epoch = self.position[0] if epoch is None else epoch
        if not 0 <= epoch <= self.tape.epochs:
            raise CommandError(f"epoch {epoch} is outside 0…{self.tape.epochs}")
        per_sample = ids.head(ref.id) in ("x", "t") or (
            not ids.is_given(ref.id) and self.layout.at(False, ref.id, None) is None)
        if ref.sample is None and per_sample and self.scenario.samples > 1:
            raise CommandError(f"{ref.id} has a value per sample; expected {ref.id}@n with n from 1 to "
                               f"{self.scenario.samples}")
        return self.lookup(ref, epoch)

    def steps(self, epoch: int | None = None):
        """The steps of ``epoch`` (the cursor's by default) in order, each with its ``id``,
        ``qid`` (id@n), ``name``, ``formula``, ``numbers()`` and ``value``."""
        return self.tape.steps(self.position[0] if epoch is None else epoch)

    def load_comparison(self, path: str) -> Report:
        """Hold a user's values (see :mod:`bpstep.compare`) against the tape: ``yours`` gives
        them by step, and a breakpoint stops ``continue`` at each step where they differ."""
        from . import compare  # only a session given the user's values reads them

        self.comparison = compare.compare(self, path)
        self._yours = {(v.epoch, v.index): v for v in self.comparison.values if v.index >= 0}
        if not any(b.mismatch for b in self.breakpoints):
            self._numbers += 1
            self.breakpoints.append(Breakpoint(self._numbers, mismatch=True))
        return self.comparison

    def yours(self, epoch: int) -> dict:
        """index → the user's :class:`bpstep.compare.Value` for the steps of ``epoch`` compared."""
        return {i: v for (e, i), v in self._yours.items() if e == epoch}

    # -- validation ------------------------------------------------------------------------------

    def check_ref(self, ref: Ref) -> None:
        """Raise CommandError unless ``ref`` names a quantity of this network."""
        sc = self.scenario
        if isinstance(ref.sample, int) and not 1 <= ref.sample <= sc.samples:
            raise CommandError(f"{ref}: sample {ref.sample} is outside 1…{sc.samples}")
        q = ids.parse(ref.id)
        if ref.sample is not None and q is not None and ids.shared(q.family):
            raise CommandError(f"{ref}: {ref.id} is one value shared by every sample; write it without @")
        if self.layout.has(ref.id) or ref.id == "lr":
            return
        if q is not None and q.given and ids.in_range(q, sc.sizes, sc.bias):
            return
        head = ids.head(ref.id)
        hint = "" if head not in ("b", "b+", "dE/db") or sc.bias else " (the network has no biases)"
        if head in ("W+", "b+") and head[0] + ref.id[2:] in sc.freeze:
            hint = f" ({head[0] + ref.id[2:]} is frozen: it has no update step)"
        raise CommandError(f"unknown id {ref.id!r} for a {'-'.join(map(str, sc.sizes))} network{hint}")

    def read_name(self, ref: Ref) -> Ref:
        """``ref`` with a name as shown (W5, ∂E/∂W5, z¹₁, dE/dW^1_12) read back to its id."""
        if ids.parse(ref.id) is not None or _LAYER_ID.fullmatch(ref.id):
            return ref
        found = notation.parse_name(ref.id, self.scenario.sizes)
        if found is None:
            raise CommandError(f"{ref.id!r} is not a quantity id or a name of this "
                               f"{'-'.join(map(str, self.scenario.sizes))} network; expected e.g. z[1,1], "
                               "W[2,1,1], dE/dW[2,1,1], E, or a name as shown (W5, h1, ∂E/∂W5, z¹₁)")
        qid, sample = found
        if sample is not None and ref.sample is not None and sample != ref.sample:
            raise CommandError(f"{ref}: the name says sample {sample}, @ says {ref.sample}")
        return Ref(qid, ref.sample if ref.sample is not None else sample)

    def read_names(self, cmd: Command) -> Command:
        """The command with every name in it read back to its id (:meth:`read_name`); its
        ``names`` say which name is which id."""
        names = []

        def read(ref):
            out = self.read_name(ref)
            if out.id != ref.id:
                names.append(f"{ref} = {out}")
            return out

        ref = None if cmd.ref is None else read(cmd.ref)
        cond = None if cmd.cond is None else commands.map_refs(cmd.cond, read)
        if not names:
            return cmd
        return dataclasses.replace(cmd, ref=ref, cond=cond, names=tuple(dict.fromkeys(names)))

    def validate(self, cmd: Command) -> None:
        """Check a parsed command against this scenario (ids, epochs) without running it."""
        cmd = self.read_names(cmd)
        if cmd.ref is not None and _LAYER_ID.fullmatch(cmd.ref.id):
            if cmd.name != "goto":
                raise CommandError(f"{cmd.name}: {cmd.ref} is a layer step, which only `goto` takes (in layer "
                                   "view); expected a scalar id such as z[1,1] or dE/dW[2,1,1]")
        elif cmd.ref is not None:
            self.check_ref(cmd.ref)
            if cmd.name == "break" and not self.layout.has(cmd.ref.id):
                # a given value (x, t, W, b, lr) is read by steps but no step computes it
                raise CommandError(f"{cmd.name}: {cmd.ref.id} is given, not computed, so no step stops on it; "
                                   "expected the id of a step such as z[1,1], W+[1,1,1] or dE/dW[1,1,1]")
        if cmd.cond is not None:
            for ref in commands.condition_refs(cmd.cond):
                self.check_ref(ref)
                if ref.sample == ids.EVERY:
                    raise CommandError(f"{cmd.name}: a condition reads one value, not {ref}; "
                                       "expected the batch's (no @), sample n's (@n) or the step's own sample (no @)")
        if cmd.name == "expect" and cmd.ref.sample == ids.EVERY:
            raise CommandError(f"expect: compares one value, not {cmd.ref}; expected an id with @n or without @")
        if cmd.name in ("set", "reset") and cmd.ref is not None:
            problem = whatif.problem(cmd.ref, cmd.value, self.scenario)
            if problem:
                raise CommandError(f"{cmd.name}: {problem}")
        if cmd.name == "quiz" and cmd.arg == "on":
            quiz.families(cmd.words)
        if cmd.name == "print" and cmd.arg == "classes" and not self.scenario.classes:
            raise CommandError("print classes: the targets of this scenario are numbers, not class labels; "
                               "expected a scenario whose [data] targets name one column of labels")
        if cmd.name == "print" and cmd.arg == "accuracy" and self.scenario.loss != "cross_entropy":
            raise CommandError("print accuracy: a classifier's share of samples whose largest output is the "
                               "target's class; expected a scenario with loss = \"cross_entropy\"")
        if cmd.name == "goto" and cmd.epoch is not None:
            epochs, K = self.scenario.epochs, self.tape.iterations
            if cmd.epoch > epochs:
                raise CommandError(f"goto: epoch {cmd.epoch} is outside 0…{epochs} "
                                   f"(epoch {epochs} is the evaluate phase)")
            if cmd.iteration is not None and (cmd.epoch == epochs or cmd.iteration >= K):
                raise CommandError(f"goto: iteration {cmd.iteration} is outside "
                                   + ("the evaluate phase, which has none" if cmd.epoch == epochs
                                      else f"0…{K - 1} (⌈N/B⌉ = {K} iterations an epoch)"))
            if cmd.phase is not None:
                unit = self.tape.unit(cmd.epoch, cmd.iteration or 0)
                evaluate = self.tape.is_evaluate(unit)
                if (cmd.phase == "evaluate") != evaluate:
                    raise CommandError(f"goto: epoch {cmd.epoch} has no {cmd.phase} phase")
                if not any(r[2] == cmd.phase for r in self.tape.layout_of(unit).phase_runs(evaluate)):
                    raise CommandError(f"goto: epoch {cmd.epoch} has no {cmd.phase} phase")

    # -- values ----------------------------------------------------------------------------------

    def lookup(self, ref: Ref, epoch: int, default_sample: int | None = None) -> float:
        """The value of ``ref`` (one sample or none) in ``epoch``; without ``@n`` the batch's
        where there is one, else the sample of the step in question (``default_sample``, or 1).
        NaN when the epoch does not compute it (no gradients in the evaluate phase)."""
        rec = self.tape.record(epoch)
        head = ids.head(ref.id)
        sample = ref.sample or default_sample or 1
        if ref.id == "lr":
            return rec.value(("lr",))
        if ref.id in HYPER:  # the optimizer's hyper-parameters and step count t
            return rec.value(("hp", ref.id)) if ref.id in rec.hyper or ref.id == "steps" else math.nan
        if ids.is_given(ref.id):
            idx = [i - 1 for i in ids.indices(ref.id)]
            key = (head, sample - 1, idx[0]) if head in ("x", "t") else (head, *idx)
            return rec.value(key)
        evaluate = self.tape.is_evaluate(epoch)
        if ref.sample is not None:
            candidates = (ref.sample,)
        elif ids.parse(ref.id).family in ids.BATCH or ids.shared(ids.parse(ref.id).family):
            candidates = (None, 1)  # with one sample there is no batch step: sample 1's is the batch's
        else:
            candidates = (sample,)
        for s in candidates:
            index = self.tape.layout_of(epoch).at(evaluate, ref.id, s)
            if index is not None:
                return rec.value(self.tape.layout_of(epoch).specs(evaluate)[index].key)
        return math.nan

    def _given_name(self, q) -> str:
        """How a given quantity is written: W5, x1, α, and the optimizer's settings (β₁, μ, t)."""
        if q.family in HYPER:
            symbols = OPTIMIZERS[self.scenario.optimizer].symbols
            return symbols[q.family][0] if q.family in symbols else "t" if q.family == "steps" else q.family
        return self.layout.names.given(q.family, q.idx).uni

    def _values(self, ref: Ref, epoch: int):
        """``(qid, name, text)`` for print and watch: one line per sample when no @n is given."""
        head = ids.head(ref.id)
        evaluate = self.tape.is_evaluate(epoch)
        if ids.is_given(ref.id):
            samples = [ref.sample] if head in ("x", "t") and isinstance(ref.sample, int) else (
                range(1, self.scenario.samples + 1) if head in ("x", "t") else [None])
            q = ids.parse(ref.id)
            name = self._given_name(q)
            return [(str(Ref(ref.id, n)), f"{name} = {fmt(self.lookup(Ref(ref.id, n), epoch))}") for n in samples]
        indices = self.tape.layout_of(epoch).find(evaluate, ref.id, ref.sample)
        if not len(indices):
            return [(str(ref), f"not computed in epoch {epoch} ({'evaluate' if evaluate else 'training'})")]
        steps = [self.tape.step(epoch, i) for i in indices]
        return [(s.qid, s.line(quiz.HIDDEN if self.quiz.hides(s) else None)) for s in steps]

    def watch_lines(self) -> list[str]:
        epoch = self.position[0]
        return [f"{qid}  {text}" for ref in self.watches for qid, text in self._values(ref, epoch)]

    # -- commands --------------------------------------------------------------------------------

    def execute(self, cmd: Command | str, on_pass=None, progress=None, cancelled=None) -> Result:
        """Run one command. ``on_pass(step)`` sees every step a motion passes before it lands;
        ``progress(done, total)`` and ``cancelled()`` serve long motions (see :class:`Cancelled`)."""
        if isinstance(cmd, str):
            cmd = commands.parse(cmd)
        cmd = self.read_names(cmd)
        self.validate(cmd)
        self.history.append(cmd.text)
        handler = getattr(self, f"_cmd_{cmd.name}")
        return handler(cmd, on_pass=on_pass, progress=progress, cancelled=cancelled)

    def _land(self, pos, hit=None, messages=(), progress=None, cancelled=None):
        self.tape.record(pos[0], progress, cancelled)
        self.position = pos
        if self.quiz.on or self.quiz.asking is not None:
            self.quiz.moved(self.current if self.view == "scalar" else None)
        result = Result(step=self.current, hit=hit, messages=list(messages))
        if self.view == "layer":
            result.layer = self.current_layer
        if hit is not None:
            result.messages.insert(0, f"breakpoint {hit.describe()} hit")
            if hit.diagnostic is not None:
                result.messages.insert(1, diagnostics.why(hit.diagnostic, self.scenario,
                                                          self.tape.record(pos[0]).arrays, self.tape.step(*pos)))
        return result

    def _motion(self, cmd, on_pass, progress, cancelled):
        if self.view == "layer":
            return layers.motion(self, cmd, on_pass, progress, cancelled)
        forward = not cmd.name.startswith("r")
        start = self.position
        target = motions.target(self.tape, start, cmd.name if forward else cmd.name[1:], cmd.count, forward)
        hit_pos, hit = self.first_hit(start, target, forward, progress, cancelled)
        land = hit_pos if hit is not None else target
        messages = []
        if land == start:
            messages.append("at the end of the tape" if forward else "at the start of the tape")
        if on_pass is not None:
            for pos in motions.between(self.tape, start, land, forward):
                on_pass(self.tape.step(*pos))
        return self._land(land, hit, messages, progress, cancelled)

    _cmd_step = _cmd_next = _cmd_finish = _cmd_continue = _motion
    _cmd_rstep = _cmd_rnext = _cmd_rfinish = _cmd_rcontinue = _motion

    def _cmd_goto(self, cmd, progress=None, cancelled=None, **_):
        if cmd.epoch is not None:
            unit = self.tape.unit(cmd.epoch, cmd.iteration or 0)
            evaluate = self.tape.is_evaluate(unit)
            index = 0
            if cmd.phase is not None:
                index = next(r[0] for r in self.tape.layout_of(unit).phase_runs(evaluate) if r[2] == cmd.phase)
            return self._land((unit, index), progress=progress, cancelled=cancelled)
        epoch = self.position[0]
        if cmd.step is not None:
            layered = self.view == "layer"
            n = (self.layer_tape if layered else self.tape).length(epoch)
            if cmd.step >= n:
                raise CommandError(f"goto: {'layer step' if layered else 'step'} {cmd.step} is outside 0…{n - 1} "
                                   f"of epoch {epoch}")
            return self._land(self.layer_tape.first((epoch, cmd.step)) if layered else (epoch, cmd.step))
        if _LAYER_ID.fullmatch(cmd.ref.id):
            if self.view != "layer":
                raise CommandError(f"goto: {cmd.ref} is a layer step: `view layer` first; expected a scalar id "
                                   "such as z[1,1] or dE/dW[2,1,1] in scalar view")
            grid = self.layer_tape
            found = [k for k in range(grid.length(epoch)) if grid.step(epoch, k).id == cmd.ref.id]
            if not found:
                raise CommandError(f"goto: {cmd.ref} is not a layer step of epoch {epoch}")
            return self._land(grid.first((epoch, found[0])))
        if not self.layout.has(cmd.ref.id):
            return self._goto_given(cmd.ref, list(cmd.names))
        found = self.tape.layout_of(epoch).find(self.tape.is_evaluate(epoch), cmd.ref.id, cmd.ref.sample)
        if not len(found):
            raise CommandError(f"goto: {cmd.ref} is not a step of epoch {epoch}"
                               + (" (the evaluate phase has only forward and loss)"
                                  if self.tape.is_evaluate(epoch) else ""))
        return self._land((epoch, int(found[0])), messages=cmd.names)

    def _goto_given(self, ref: Ref, messages: list) -> Result:
        """A given quantity no step computes: at a later epoch a parameter's value was made by the
        previous epoch's update; otherwise go to the first step of the epoch that reads it."""
        epoch = self.position[0]
        q = ids.parse(ref.id)
        made_by = ids.param_id(q.family + "+", q.idx) if q.family in ("W", "b") else None
        if epoch > 0 and made_by is not None and self.tape.layout_of(epoch).has(made_by):
            messages.append(f"{ref.id} of epoch {epoch} is {made_by} of epoch {epoch - 1}: the update that made it")
            return self._land((epoch - 1, self.tape.layout_of(epoch - 1).at(False, made_by, None)), messages=messages)
        evaluate = self.tape.is_evaluate(epoch)
        readers = self.tape.layout_of(epoch).users(evaluate, ref.id, ref.sample if isinstance(ref.sample, int) else None)
        if not len(readers):
            raise CommandError(f"goto: no step of epoch {epoch} reads {ref}")
        messages.append(f"{ref} is given, not computed: the first step of epoch {epoch} that reads it")
        return self._land((epoch, int(readers[0])), messages=messages)

    def _cmd_break(self, cmd, **_):
        self._numbers += 1
        diagnostic = None
        if cmd.diagnostic is not None:
            kind, threshold = cmd.diagnostic
            diagnostic = diagnostics.Diagnostic(kind, diagnostics.DEFAULTS[kind] if threshold is None else threshold)
        bp = Breakpoint(self._numbers, ref=cmd.ref, cond=cmd.cond, cond_text=cmd.cond_text,
                        phase=cmd.phase, nan=cmd.nan, diagnostic=diagnostic)
        self.breakpoints.append(bp)
        return Result(messages=[*cmd.names, f"breakpoint {bp.describe()}"])

    def toggle_break(self, ref: Ref) -> Result:
        """The TUI's ``b``: remove the plain breakpoints on ``ref``, or add one."""
        plain = [b for b in self.breakpoints if b.ref == ref and b.cond is None]
        if plain:
            self.breakpoints = [b for b in self.breakpoints if b not in plain]
            return Result(messages=[f"deleted breakpoint {plain[0].describe()}"])
        return self.execute(Command(name="break", text=f"break {ref}", ref=ref))

    def _cmd_delete(self, cmd, **_):
        if cmd.number is None:
            count, self.breakpoints = len(self.breakpoints), []
            return Result(messages=[f"deleted {count} breakpoint(s)"])
        keep = [b for b in self.breakpoints if b.number != cmd.number]
        if len(keep) == len(self.breakpoints):
            raise CommandError(f"delete: there is no breakpoint #{cmd.number}")
        self.breakpoints = keep
        return Result(messages=[f"deleted breakpoint #{cmd.number}"])

    def _cmd_breaks(self, cmd, **_):
        return Result(messages=[b.describe() for b in self.breakpoints] or ["no breakpoints"])

    def _cmd_watch(self, cmd, **_):
        if cmd.ref not in self.watches:
            self.watches.append(cmd.ref)
        return Result(messages=[*cmd.names, f"watching {cmd.ref}"])

    def _cmd_unwatch(self, cmd, **_):
        if cmd.ref not in self.watches:
            raise CommandError(f"unwatch: {cmd.ref} is not watched")
        self.watches.remove(cmd.ref)
        return Result(messages=[f"no longer watching {cmd.ref}"])

    def _cmd_print(self, cmd, **_):
        if cmd.arg == "classes":  # class k is output k + 1, whose target is t[k+1]
            return Result(messages=["classes  " + ", ".join(
                f"{name} = {k} (t[{k + 1}])" for k, name in enumerate(self.scenario.classes))])
        if cmd.arg == "accuracy":
            return Result(messages=[self.accuracy(self.position[0])])
        if cmd.arg == "order":
            return Result(messages=[self.order(self.position[0])])
        values = [f"{qid}  {text}" for qid, text in self._values(cmd.ref, self.position[0])]
        return Result(messages=[*cmd.names, *values])

    def order(self, unit: int, shown: int = 200) -> str:
        """The samples (from 1) of the cursor's epoch in the order it trains on them, its batches
        split by ``|``, and where the order comes from (:mod:`bpstep.batches`)."""
        sc, tape = self.scenario, self.tape
        epoch = min(tape.epoch_iteration(unit)[0], sc.epochs - 1)
        order = (batches.order(sc.samples, sc.shuffle_seed, epoch) + 1)[:shown]
        text = " | ".join(" ".join(map(str, order[i:i + sc.batch])) for i in range(0, len(order), sc.batch))
        source = (f"np.random.default_rng([{sc.shuffle_seed}, {epoch}]).permutation({sc.samples}) + 1"
                  if sc.shuffle_seed is not None else "not shuffled")
        more = f" … ({sc.samples - shown} more)" if sc.samples > shown else ""
        return (f"order  epoch {epoch}, {tape.iterations} batch{'es' if tape.iterations > 1 else ''} of "
                f"{sc.batch}: {text}{more} ({source})")

    def accuracy(self, epoch: int) -> str:
        """The share of samples whose largest output is the target's class, in the forward pass of
        ``epoch`` (the evaluate phase: with the final parameters)."""
        rec = self.tape.record(epoch)
        right = rec.arrays.act[-1].argmax(-1) == np.asarray(rec.T).argmax(-1)
        when = "the final parameters (evaluate phase)" if self.tape.is_evaluate(epoch) else f"{rec.words}'s forward pass"
        return f"accuracy  {fmt(right.mean())} ({int(right.sum())} of {right.size} samples classified right, {when})"

    def _cmd_where(self, cmd, **_):
        here = layers.describe(self.current_layer, self.layer_tape) if self.view == "layer" else self.describe(self.current)
        return Result(messages=[here] + [f"what-if: {long}" for long, _ in whatif.described(self.tape)])

    def _cmd_health(self, cmd, **_):
        epoch = self.position[0]
        when = "the evaluate phase" if self.tape.is_evaluate(epoch) else f"epoch {epoch}"
        head = f"health of {when}, over the batch of {self.scenario.samples} sample(s):"
        return Result(messages=[head, *diagnostics.health(self.scenario, self.tape.record(epoch).arrays)])

    def _cmd_view(self, cmd, **_):
        self.view = cmd.arg
        return self._land(self.position, messages=[f"{cmd.arg} view"])

    def _cmd_set(self, cmd, **_):
        ref = _data_ref(cmd.ref)
        return self._land(self.position, messages=[whatif.set_value(self.tape, self.position[0], ref, cmd.value)])

    def _cmd_reset(self, cmd, **_):
        return self._land(self.position, messages=[whatif.reset(self.tape, cmd.ref and _data_ref(cmd.ref))])

    def _cmd_save(self, cmd, **_):
        return Result(messages=[whatif.save(self.tape, cmd.arg, cmd.force)])

    def _cmd_expect(self, cmd, **_):
        step = self.current
        sample = step.sample if cmd.ref.sample is None else None  # used only where there is no batch value
        got = self.lookup(cmd.ref, step.epoch, sample)
        ok = abs(got - cmd.value) <= cmd.tol
        verdict = "ok" if ok else "FAILED"
        return Result(messages=[f"expect {cmd.ref} {cmd.value!r} ± {cmd.tol:g}: {verdict}, got {fmt(got)}"],
                      failed=not ok)

    def _cmd_quiz(self, cmd, **_):
        return Result(messages=self.quiz.command(cmd))

    def _cmd_answer(self, cmd, **_):
        graded = self.quiz.answer(cmd.arg)
        result = self._land(self.position, messages=[graded.said()])
        result.failed = not graded.right  # as a missed expect: a replay exits 1
        return result

    def _cmd_restart(self, cmd, **_):
        return self._land((0, 0))

    # -- breakpoints -----------------------------------------------------------------------------

    def hits(self, bp: Breakpoint, epoch: int, lo: int, hi: int) -> list:
        """Where ``bp`` is hit among steps ``lo`` … ``hi`` of ``epoch``: ``(block, indices)``
        pairs, the indices ascending, found on whole arrays (never step by step)."""
        evaluate = self.tape.is_evaluate(epoch)
        grid = self.tape.layout_of(epoch).grid(evaluate)
        if bp.phase:
            return [(grid.locate(r[0])[0], np.array([r[0]])) for r in grid.runs
                    if r[2] == bp.phase and lo <= r[0] <= hi]
        if bp.mismatch:
            found = sorted(i for i, v in self.yours(epoch).items() if not v.ok and lo <= i <= hi)
            return [(grid.locate(i)[0], np.array([i])) for i in found]
        rec = self.tape.record(epoch)
        if bp.diagnostic is not None:
            return [(block, pos[(pos >= lo) & (pos <= hi)])
                    for block, pos in diagnostics.hits(bp.diagnostic, self.scenario, grid, rec.arrays)
                    if ((pos >= lo) & (pos <= hi)).any()]
        if bp.nan:
            if not self.tape.nonfinite(epoch):
                return []
            cells = grid.cells(self.scenario.sizes)
        else:
            cells = self.tape.layout_of(epoch).cells(evaluate, bp.ref.id, bp.ref.sample)
        out = []
        for block, pos, samples, key in cells:
            keep = (pos >= lo) & (pos <= hi)
            if not keep.any():
                continue
            values = rec.values(key, pos.shape)[keep]
            pos = pos[keep]
            if bp.nan:
                pos = pos[~np.isfinite(values)]
            elif bp.cond is not None:
                pos = pos[self._condition(bp, epoch, values, samples[keep])]
            if len(pos):
                out.append((block, np.sort(pos)))
        return out

    def _condition(self, bp, epoch, values, samples) -> np.ndarray:
        """Where ``bp``'s condition holds for these values (of steps of these samples, 0 for a
        batch step); an id without ``@n`` in it is read at each step's own sample."""
        def lookup(ref):
            out = np.empty(len(samples))
            for n in np.unique(samples):
                out[samples == n] = self.lookup(ref, epoch, int(n) or None)
            return out

        truth = commands.evaluate(bp.cond, values, lookup)
        return np.broadcast_to(np.asarray(truth) != 0, values.shape)

    def first_hit(self, start, target, forward, progress=None, cancelled=None):
        """The first breakpoint hit strictly after ``start`` up to ``target`` (inclusive), in the
        direction of travel: ``(position, breakpoint)`` or ``(None, None)``."""
        if not self.breakpoints or start == target:
            return None, None
        step = 1 if forward else -1
        total = abs(target[0] - start[0])
        for done, e in enumerate(range(start[0], target[0] + step, step)):
            if cancelled is not None and cancelled():
                raise Cancelled()
            if progress is not None and done % 64 == 0 and total > 64:
                progress(done, total)
            lo = start[1] + 1 if e == start[0] and forward else 0
            hi = start[1] - 1 if e == start[0] and not forward else self.tape.length(e) - 1
            if e == target[0]:
                lo, hi = (lo, min(hi, target[1])) if forward else (max(lo, target[1]), hi)
            best = None
            for bp in self.breakpoints:
                for _, pos in self.hits(bp, e, lo, hi):
                    p = int(pos[0] if forward else pos[-1])
                    if best is None or (p < best[0] if forward else p > best[0]):
                        best = (p, bp)
            if best is not None:
                return (e, best[0]), best[1]
        return None, None


#: a layer step's id (the layer view's): z[1], dE/dW[2], W+[2]
_LAYER_ID = re.compile(r"(?:z|a|dE/da|da/dz|dE/dz|dE/dW|dE/db|W\+|b\+)\[\d+\]")


def _data_ref(ref: Ref) -> Ref:
    """An input or target of every sample: ``x[i]@*`` is ``x[i]`` (an edit of each sample)."""
    return Ref(ref.id) if ref.sample == ids.EVERY else ref
