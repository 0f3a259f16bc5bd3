"""The status line (scenario, epoch, phase, sample, step k of n, the view, engine dtype,
cross-check state) and the key bar at the bottom, built from the app's bindings so that a key added there
shows up here and in the help."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.reactive import reactive

from .lines import CheckedPanel, LinesPanel


class StatusLine(CheckedPanel):
    busy = reactive(False, repaint=False)  # a worker runs the last command

    def watch_busy(self) -> None:
        self.redraw()

    def lines(self) -> list[Text]:
        frame = self.frame
        step = frame.step
        check = self.crosscheck
        # name: (full text, short text, style); the short ones, one part after another
        # (_SHORTER), when the line is too narrow; the cross-check's state keeps its words (why
        # it is unavailable) and is cut last
        samples = frame.scenario.samples
        if frame.layered:  # a layer step holds every sample
            step = frame.layer
            sample = (f"{samples} samples", f"×{samples}", "") if samples > 1 else ("sample 1", "@1", "")
            where = (f"layer step {step.index} of {frame.current_length}", f"L{step.index}/{frame.current_length}", "")
        else:
            sample = ("batch", "batch", "") if step.sample is None else (f"sample {step.sample}", f"@{step.sample}", "")
            where = (f"step {frame.index} of {frame.length}", f"#{frame.index}/{frame.length}", "")
        parts = {"name": (frame.scenario.name, frame.scenario.name, "bold")}
        if frame.edits:  # the numbers are not the scenario's: say so until reset
            count = f"what-if: {len(frame.edits)} edit{'s' if len(frame.edits) > 1 else ''}"
            parts["edits"] = (f"{count} ({', '.join(short for _, short in frame.edits)})", count, "bold magenta")
        parts |= {
            "epoch": _epoch(frame),
            "phase": (step.phase, step.phase, "magenta"),
            "sample": sample,
            "step": where,
            "view": (f"{'layer' if frame.layered else 'scalar'} view", "layer" if frame.layered else "scalar",
                     "bold cyan" if frame.layered else ""),
            # "engine" stays: the torch part may name a dtype too
            "dtype": (f"engine {frame.scenario.dtype}", f"engine {frame.scenario.dtype.replace('float', 'f')}", "grey70"),
        }
        if frame.quiz:  # while the quiz is on, its score: "quiz 3/4", right of graded
            parts["quiz"] = (frame.quiz, frame.quiz.replace("quiz ", "Q"), "bold magenta")
        if self.busy:
            parts["busy"] = ("working… Esc cancels", "Esc cancels", "bold yellow")
        state = check.status()
        parts["check"] = (state, state, "green" if check.state == "ready" else "grey70")

        def length(shortened):
            return 1 + sum(cell_len(p[1] if n in shortened else p[0]) + 3 for n, p in parts.items())

        shortened = set()
        for name in _SHORTER:
            if length(shortened) <= self.content_size.width:
                break
            shortened.add(name)
        tight = length(shortened) > self.content_size.width  # the spaces around the bars go too
        out = Text(" ", no_wrap=True, overflow="ellipsis")
        for k, (name, (long_text, short_text, style)) in enumerate(parts.items()):
            if k:
                out.append("│" if tight else " │ ", "grey50")
            out.append(short_text if name in shortened or tight else long_text, style)
        return [out]


#: the parts of the status line in the order they take their short forms (and, when even that
#: is too long, all of them with no spaces around the bars)
_SHORTER = ("view", "sample", "dtype", "epoch", "step", "edits", "quiz", "busy")


def key_items(bindings) -> list[tuple[str, str]]:
    """``(keys, description)`` of the bindings to show in the help, in their order: those of the
    key bar and those left out of it that say what they do."""
    return [(b.key_display or b.key, b.tooltip or b.description) for b in bindings if b.show or b.tooltip]


def bar_items(bindings) -> list[tuple[str, str]]:
    """The key bar's items: a capital that reverses the key before it shares its item."""
    items = []
    for b in bindings:
        if not b.show:
            continue
        key = b.key.split(",")[0]
        if items and b.description == "r" + items[-1][1] and key == items[-1][0].upper():
            items[-1] = (f"{items[-1][0]}/{key}", items[-1][1])
        else:
            items.append((key if len(key) == 1 else b.key_display or key, b.description))
    return items


#: where the key bar is narrow, these keys lose their words first (every key stays on the bar;
#: the help says what each does)
_TERSE = ("step", "next", "finish", "continue", "restart", "goto", "break", "watch", "cmd", "view", "edit")


class KeyBar(LinesPanel):
    def lines(self) -> list[Text]:
        width = self.content_size.width
        items = bar_items(self.app.BINDINGS)

        def length(sep, terse):
            return sum(len(sep) + len(k) + (0 if d in terse else 1 + len(d)) for k, d in items)

        sep, terse = ("  " if length("  ", ()) <= width else " "), set()
        for description in _TERSE:
            if length(sep, terse) <= width:
                break
            terse.add(description)
        out = Text(no_wrap=True, overflow="crop")
        for keys, description in items:
            out.append(sep + keys, "bold yellow")
            if description not in terse:
                out.append(" " + description)
        return [out]


def _epoch(frame) -> tuple:
    """``epoch 3/100``; with mini-batches ``epoch 3/100 · iteration 2/10`` (iterations from 0)."""
    place = frame.record.place
    if place is None:
        return (f"epoch {frame.epoch}/{frame.epochs}", f"e{frame.epoch}/{frame.epochs}", "")
    (epoch, iteration), E, K = place, frame.scenario.epochs, frame.session.tape.iterations
    if iteration is None:
        return (f"epoch {epoch}/{E}", f"e{epoch}/{E}", "")
    return (f"epoch {epoch}/{E} · iteration {iteration}/{K}", f"e{epoch}/{E} i{iteration}/{K}", "")
