"""The tape panel: the steps of the current epoch around the cursor, breakpoints marked
(● a breakpoint, ◆ one with a condition), factor steps indented under their product, the
first step of each phase labelled. A click on a row goes to that step."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual import events

from .lines import LinesPanel

from bpstep.notation import fmt

_CURSOR = "bold black on yellow"


def sample_tag(step, samples: int) -> str:
    return f"@{step.sample}" if step.sample is not None and samples > 1 else ""


class TapePanel(LinesPanel):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._rows: list[int] = []  # the step index shown on each row, as last drawn

    def lines(self) -> list[Text]:
        frame = self.app.frame
        width, height = self.content_size
        first = max(0, min(frame.index - height // 2, frame.length - height))
        self._rows = list(range(first, min(frame.length, first + height)))
        starts = {r[0]: r[2] for r in frame.layout.phase_runs(frame.evaluate)}
        phase_w = 9 if width >= 44 else 0
        index_w = len(str(frame.length - 1))
        out = []
        for i in self._rows:
            step = frame.at(i)
            line = Text(no_wrap=True, overflow="ellipsis")
            mark = frame.marks.get(i, " ")
            line.append("▶" if i == frame.index else " ", "bold yellow")
            line.append(mark, "bold red")
            line.append(f" {i:>{index_w}} ", "grey50")
            if phase_w:
                line.append(f"{starts.get(i, ''):<{phase_w}}", "magenta")
            name = ("  " if step.factor else "") + step.name + sample_tag(step, frame.scenario.samples)
            value = fmt(step.value)
            room = width - cell_len(line.plain) - len(value) - 1
            line.append(name[:max(1, room)].ljust(max(1, room)) + " " + value)
            if i == frame.index:
                line.stylize(_CURSOR, 2)
            out.append(line)
        return out

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None and 0 <= offset.y < len(self._rows):
            self.app.goto_index(self._rows[offset.y])
