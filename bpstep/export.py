"""The worked example as Markdown (``bpstep replay SCENARIO --format markdown``).

One training epoch written out the way a lecture works an example by hand: what is given, the
forward pass, the loss, every chain-rule factor and product of the backward pass, every update,
and then the forward pass once more with the updated parameters, to see the loss go down. Every
formula is a ``$$ … $$`` block (symbols, then the numbers, then the value) rendered from the
same formula trees as the terminal (:func:`bpstep.notation.render` with ``tex=True``), so the
LaTeX is plain ASCII.
"""

from __future__ import annotations

import math
from itertools import groupby

import numpy as np

from . import functions, whatif
from .layout import optimizer_kinds
from .layers import family_layer, matrix_lines, text_lines, verdict_text
from .notation import Const, Ref, bracketed, fmt, fmt_short, render, sup, written_short

#: the most formulas a scalar worked example writes; past it, the layer view's export (one
#: formula per matrix operation) is the readable one
MAX_FORMULAS = 20_000


class TooBig(ValueError):
    """A worked example too long to read; ``str()`` says how long and what to do instead."""

_PHASES = {
    "forward": ("Forward pass", "Each unit adds up its weighted inputs into $z$ and passes the sum "
                "through its activation function."),
    "loss": ("Loss", "How far the outputs are from the targets."),
    "backward": ("Backward pass", "The chain rule, from the output layer down: the gradient of a "
                 "quantity is the product of the local derivatives along the path from the loss to "
                 "it. Each factor comes first, then the product."),
    "update": ("Update", "Gradient descent: every parameter takes a step against its gradient, "
               r"$\theta^{+} = \theta - \alpha \frac{\partial E}{\partial \theta}$. The gradients "
               "were all computed with the parameters from before the update."),
}



def _phase_text(phase, sc) -> tuple:
    """(title, lead) of a phase's section; an optimizer with steps of its own says so."""
    if phase == "update" and optimizer_kinds(sc):
        return "Update", (f"The optimizer is {functions.OPTIMIZERS[sc.optimizer].words}: each parameter's "
                          "update shows every quantity the optimizer computes for it, then the parameter "
                          "after the update. The gradients were all computed with the parameters from "
                          "before the update.")
    return _PHASES[phase]


def tex_number(v: float, short: bool = False, operand: bool = False) -> str:
    """A value in LaTeX with the digits the terminal shows (:func:`fmt`, or :func:`fmt_short`);
    1.2e-05 is ``1.2 \\times 10^{-5}``. An ``operand`` inside a formula is put in parentheses
    when it is negative or has a power of ten."""
    if math.isnan(v):
        return r"\mathrm{NaN}"
    if math.isinf(v):
        return ("-" if v < 0 else "") + r"\infty"
    text, _, exponent = (fmt_short(v) if short else fmt(v)).partition("e")
    if exponent:
        text = f"{text.rstrip('0').rstrip('.') if short else text} \\times 10^{{{int(exponent)}}}"
    return f"\\left({text}\\right)" if operand and (v < 0 or exponent) else text


def tex_line(step, blank: int | None = None, blanks=frozenset()) -> str:
    """A step as LaTeX: name = symbols = numbers = value, leaving out what only repeats itself
    (as :meth:`bpstep.tape.Step.line`). In a worksheet, ``blank`` k is a box numbered k in place
    of the value, and a quantity whose id is in ``blanks`` is named by its symbol instead of put
    in as a number (a copy of one, ∂z/∂W = h, is not written at all)."""
    spec = step.spec
    value = tex_number(step.value) if blank is None else rf"\boxed{{\;({blank})\;}}"
    name = spec.name.tex
    if isinstance(spec.rhs, Const):
        return f"{name} = {value}"
    sym = render(spec.rhs, lambda r: r.name.tex, tex=True)
    if isinstance(spec.rhs, Ref):
        return f"{name} = {sym}" if blank is None and spec.rhs.qid in blanks else f"{name} = {sym} = {value}"
    put = iter(zip(step.numbers(), bracketed(spec.rhs)))

    def number(ref):
        v, needs_brackets = next(put)
        return ref.name.tex if ref.qid in blanks else tex_number(v, short=written_short(ref), operand=needs_brackets)

    numbers = render(spec.rhs, number, tex=True)
    if numbers == sym:  # a worksheet's formula of blanks only
        return f"{name} = {sym} = {value}"
    return f"{name} = {sym} = {numbers} = {value}"


def markdown(session, check=None) -> str:
    """The worked example of the epoch the session's cursor is on (the evaluate phase: of the
    last training epoch); with ``check`` (a cross-checker), the torch value under each formula.
    In layer view, one formula per matrix operation (:func:`layer_markdown`)."""
    tape, sc = session.tape, session.scenario
    epoch = min(session.position[0], tape.epochs - 1)
    if session.view == "layer":
        return layer_markdown(session, epoch, check)
    count = tape.length(epoch) + _forward_length(tape, epoch + 1)
    if count > MAX_FORMULAS:
        layered = session.layer_tape.length(epoch) + _forward_length(session.layer_tape, epoch + 1)
        raise TooBig(f"export: the worked example of epoch {epoch} would write {count:,} formulas (at most "
                     f"{MAX_FORMULAS:,}); 'view layer' first, and export writes one formula per matrix "
                     f"operation ({layered})")
    out = _intro(sc, tape, epoch, float(tape.network(epoch).lr)) + _edits(tape) + _given(tape, epoch)
    for phase, steps in groupby(tape.steps(epoch), key=lambda s: s.phase):
        title, lead = _phase_text(phase, sc)
        # sequential updates interleave backward and update phases: say which layer each is
        out += _section(title, lead, list(steps), tape.layout_of(epoch).scenario, check,
                        headed=phase in ("backward", "update"))
    again = [s for s in tape.steps(epoch + 1) if s.phase in ("forward", "loss", "evaluate")]
    out += _section("Forward pass with the updated parameters",
                    "The same forward pass and loss, now with the parameters after the update"
                    + (" (the evaluate phase)." if tape.is_evaluate(epoch + 1) else f" ({tape.record(epoch + 1).words})."),
                    again, tape.layout_of(epoch + 1).scenario, check)
    out += _verdict(tape, epoch, session.layout.names.E().tex)
    return "\n".join(out) + "\n"


def blanks(session) -> list:
    """The steps a worksheet of the cursor's epoch leaves blank, in order: those the quiz asks
    (every step, or the families of ``quiz on``)."""
    tape = session.tape
    epoch = min(session.position[0], tape.epochs - 1)
    if tape.length(epoch) > MAX_FORMULAS:
        raise TooBig(f"worksheet: epoch {epoch} has {tape.length(epoch):,} steps (at most {MAX_FORMULAS:,}); "
                     "expected a smaller network")
    return [step for step in tape.steps(epoch) if session.quiz.asks(step)]


def worksheet(session) -> str:
    """The worked example of the cursor's epoch with a numbered box for each value the quiz
    asks (:func:`blanks`), then the answer key: blank, id, value. The forward pass with the
    updated parameters and the loss's change are left out: their numbers would fill in the
    boxes of the update and the loss."""
    tape, sc = session.tape, session.scenario
    asked = blanks(session)
    epoch = min(session.position[0], tape.epochs - 1)
    number = {step.position: k for k, step in enumerate(asked, 1)}
    hidden = frozenset(step.qid for step in asked)
    out = _intro(sc, tape, epoch, float(tape.network(epoch).lr))
    out[0] = f"# Worksheet: {sc.title}"
    out += ["Work out each boxed value, in order, from the formula before it: the given numbers are put "
            "in, and the values you worked out before are named by their symbols. The answer key is at "
            "the end.", ""] + _given(tape, epoch)
    for phase, steps in groupby(tape.steps(epoch), key=lambda s: s.phase):
        title, lead = _PHASES[phase]
        out += _section(title, lead, list(steps), tape.layout_of(epoch).scenario, None,
                        headed=phase in ("backward", "update"),
                        line=lambda step: tex_line(step, number.get(step.position), hidden))
    out += ["## Answer key", "", "| blank | id | value |", "|---:|---|---:|"]
    out += [f"| {k} | `{step.qid}` | {fmt(step.value)} |" for k, step in enumerate(asked, 1)]
    out += ["", "`bpstep replay SCENARIO --quiz ANSWERS` grades a file of answers: one a line, the value "
            "alone (in the order of the blanks) or the id and the value.", ""]
    return "\n".join(out)


def _forward_length(grid, epoch) -> int:
    """How many steps of ``epoch`` come before its backward pass (its forward pass and loss)."""
    return sum(last - first + 1 for first, last, phase in grid.phase_runs(epoch)
               if phase in ("forward", "loss", "evaluate"))


def layer_markdown(session, epoch: int, check=None) -> str:
    """The worked example of ``epoch`` one matrix operation at a time: each layer step's formula
    and its matrices (a big one by its corners), then the forward pass again."""
    tape, sc, grid = session.tape, session.scenario, session.layer_tape
    out = _intro(sc, tape, epoch, float(tape.network(epoch).lr))
    out[-2] += " Written one matrix operation at a time (the layer view)."
    out += _edits(tape)
    rec = tape.record(epoch)
    N = tape.layout_of(epoch).scenario.samples  # the batch's
    given = [("X", ("x", np.arange(N)[:, None], np.arange(sc.sizes[0])[None, :])),
             ("T", ("t", np.arange(N)[:, None], np.arange(sc.sizes[-1])[None, :]))]
    for l in range(1, sc.layers + 1):
        J, I = sc.sizes[l], sc.sizes[l - 1]
        given.append((f"W{sup(l)}", ("W", l - 1, np.arange(J)[:, None], np.arange(I)[None, :])))
        if sc.bias:
            given.append((f"b{sup(l)}", ("b", l - 1, np.arange(J)[:, None])))
    out += ["## Given", "", "Inputs and targets (a row per sample), the parameters at the start of the epoch "
            "(a row per receiving unit):", "", "```text"]
    for label, key in given:
        out += matrix_lines(label, np.asarray(rec.lookup(key), dtype=np.float64))
    out += ["```", ""]
    steps = [grid.step(epoch, k) for k in range(grid.length(epoch))]
    for phase, group in groupby(steps, key=lambda s: s.phase):
        title, lead = _phase_text(phase, sc)
        out += [f"## {title}", "", lead, ""] + _layer_steps(group, check)
    again = [grid.step(epoch + 1, k) for k in range(_forward_length(grid, epoch + 1))]
    out += ["## Forward pass with the updated parameters", "", "The same forward pass and loss, now with the "
            "parameters after the update.", ""] + _layer_steps(again, check)
    out += _verdict(tape, epoch, session.layout.names.E().tex)
    return "\n".join(out) + "\n"


def _layer_steps(steps, check) -> list:
    out = []
    for ls in steps:
        lines = text_lines(ls)
        if check is not None:
            lines[0] += "  " + verdict_text(ls, check)
        out += ["```text"] + lines + ["```", ""]
    return out


def _intro(sc, tape, epoch, lr):
    sizes = "-".join(map(str, sc.sizes))
    acts = ", ".join(dict.fromkeys(sc.activations))
    order = (" Each layer is updated as soon as its gradients are known, output layer first, so the "
             "layers below see the updated weights." if sc.update_order == "sequential" else "")
    return [f"# Worked example: {sc.title}", "",
            f"Scenario `{sc.name}`: a {sizes} network with {acts} activations "
            f"{'and biases' if sc.bias else 'and no biases'}, {sc.samples} training sample"
            f"{'s' if sc.samples > 1 else ''}, the loss is {functions.LOSSES[sc.loss].words}, the learning rate is "
            f"$\\alpha = {tex_number(lr, short=True)}$, {sc.dtype} arithmetic. "
            + _this(tape, epoch) + order, ""]


def _this(tape, epoch) -> str:
    """Which unit of the run the example is: an epoch, or with mini-batches one iteration."""
    if not tape.batched:
        return f"This is epoch {epoch} of {tape.epochs}: one forward pass, one backward pass, one update."
    e, i = tape.epoch_iteration(epoch)
    return (f"This is iteration {i} of the {tape.iterations} of epoch {e} (of {tape.scenario.epochs}): one forward "
            f"pass, one backward pass and one update of a mini-batch of {len(tape.batch(epoch))} samples "
            "(`print order` shows which).")


def _edits(tape) -> list:
    """What the what-if edits changed, from what to what: the numbers below are not the scenario's."""
    edits = whatif.described(tape)
    if not edits:
        return []
    return ["**What-if.** These are not the scenario's numbers: " + "; ".join(long for long, _ in edits) + ".", ""]


def _given(tape, epoch):
    """The inputs, targets and parameters the epoch starts from."""
    sc, names, rec = tape.layout_of(epoch).scenario, tape.layout.names, tape.record(epoch)  # the batch's

    def line(pairs):
        return "$$" + r",\quad ".join(f"{n.tex} = {tex_number(rec.value(k), short=True)}" for n, k in pairs) + "$$"

    out = ["## Given", "", "Inputs and targets:", ""]
    for n in range(sc.samples):
        tag = (lambda nm: nm.sample(n + 1)) if sc.samples > 1 else (lambda nm: nm)
        out += [line([(tag(names.x(i + 1)), ("x", n, i)) for i in range(sc.sizes[0])]
                     + [(tag(names.t(k + 1)), ("t", n, k)) for k in range(sc.sizes[-1])]), ""]
    out += [f"The parameters at the start of epoch {epoch}:", ""]
    for l in range(1, sc.layers + 1):
        rows, cols = range(sc.sizes[l]), range(sc.sizes[l - 1])
        pairs = [(names.W(l, j + 1, i + 1), ("W", l - 1, j, i)) for j in rows for i in cols]
        if sc.bias:
            pairs += [(names.b(l, j + 1), ("b", l - 1, j)) for j in rows]
        out += [line(pairs), ""]
    if sc.freeze:
        out += [f"Frozen (never updated): {', '.join(f'`{p}`' for p in sorted(sc.freeze))}.", ""]
    return out


def _section(title, lead, steps, sc, check, headed=False, line=tex_line):
    """A phase: its heading and lead, then its steps grouped by layer and sample (with a heading
    each when there are several groups, or when ``headed``)."""
    groups = [(key, list(g)) for key, g in groupby(steps, key=lambda s: _group(s, sc))]
    out = [f"## {title}", "", lead, ""]
    for key, group in groups:
        if headed or len(groups) > 1:
            out += [f"### {key}", ""]
        for step in group:
            out += [f"$${line(step)}$$", ""]
            if check is not None:
                out += [_checked(check.compare(step)), ""]
    return out


def _group(step, sc):
    family, l = family_layer(step.id, sc.layers)
    n, N = step.sample, sc.samples
    who = "" if N == 1 else f", sample {n}" if n else f", mean over the {N} samples"
    if family == "E":
        return "Loss" + who
    if step.phase == "update":
        return f"Layer {l}"
    return f"Layer {l} ({'output' if l == sc.layers else 'hidden'}){who}"


def _checked(compared):
    torch, err, ok = compared
    if torch is None:
        return "PyTorch: no value."
    verdict = "agrees" if ok else "**differs**"
    return f"PyTorch: `{fmt(torch)}`, |Δ| = {err:.1e}, {verdict}."


def _verdict(tape, epoch, E):
    before, after = (tape.record(e).value(("E",)) for e in (epoch, epoch + 1))
    change = after - before
    way = "down" if change < 0 else "up" if change > 0 else "neither up nor down"
    share = f" ({abs(change) / before:.2%})" if before else ""
    return ["## Result", "",
            f"The loss went {way}: from ${E} = {tex_number(before)}$ to ${E} = {tex_number(after)}$, "
            f"a change of ${tex_number(change)}${share}.", ""]
