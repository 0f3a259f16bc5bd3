"""The tape panel: the steps of the current epoch around the cursor, breakpoints marked
(● a breakpoint, ◆ one with a condition; with ``--compare``, ✓ / ✗ where the user's value
agrees with the step's or not), factor steps indented under their product, the
first step of each phase labelled. In layer view the rows are layer steps, each with its
operation and the shape of its result, marked when a scalar step in it has a breakpoint.
A click on a row says which step it shows (:class:`TapePanel.StepClicked`): the app goes there."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.message import Message

from .lines import LinesPanel


_CURSOR = "bold black on yellow"


def sample_tag(step, samples: int) -> str:
    return f"@{step.sample}" if step.sample is not None and samples > 1 else ""


def _fit(text: str, room: int) -> str:
    """``text`` in ``room`` cells; a longer one (a layer step's operation) cut after its last
    whole term, with … saying so, rather than inside a name."""
    if cell_len(text) <= room:
        return text
    cut = text[:room - 1]
    cut = cut[:cut.rfind(" ")] if " " in cut.strip() else cut
    return cut.rstrip(" =·×−+⊙") + "…"


class TapePanel(LinesPanel):
    class StepClicked(Message):
        """A row was clicked: the step (or layer step) ``index`` of the epoch shown."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._rows: list[int] = []  # the step index shown on each row, as last drawn

    def lines(self) -> list[Text]:
        frame = self.frame
        width, height = self.content_size
        here, length = frame.current_index, frame.current_length
        first = max(0, min(here - height // 2, length - height))
        self._rows = list(range(first, min(length, first + height)))
        runs = frame.phase_runs_shown()
        starts = {r[0]: r[2] for r in runs}
        marks = frame.layer_marks() if frame.layered else frame.marks
        phase_w = 9 if width >= 44 else 0
        index_w = len(str(length - 1))
        out = []
        for i in self._rows:
            line = Text(no_wrap=True, overflow="ellipsis")
            line.append("▶" if i == here else " ", "bold yellow")
            if i in marks or frame.layered or i not in frame.yours:
                line.append(marks.get(i, " "), "bold red")
            else:
                ok = frame.yours[i].ok
                line.append("✓" if ok else "✗", "green" if ok else "bold red")
            line.append(f" {i:>{index_w}} ", "grey50")
            if phase_w:
                line.append(f"{starts.get(i, ''):<{phase_w}}", "magenta")
            name, value = self._row(frame, i)
            room = width - cell_len(line.plain) - cell_len(value) - 1
            line.append(_fit(name, max(1, room)).ljust(max(1, room)) + " " + value)
            if i == here:
                line.stylize(_CURSOR, 2)
            out.append(line)
        return out

    @staticmethod
    def _row(frame, i) -> tuple[str, str]:
        """A row's name and value: a scalar step's name and value, or a layer step's operation
        and the shape of its result."""
        if frame.layered:
            spec = frame.layer_specs[i]
            return ("  " if spec.factor else "") + spec.formula, "{}×{}".format(*spec.shape)
        step = frame.at(i)
        return ("  " if step.factor else "") + step.name + sample_tag(step, frame.scenario.samples), frame.value_text(i)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None and 0 <= offset.y < len(self._rows):
            self.post_message(self.StepClicked(self._rows[offset.y]))
