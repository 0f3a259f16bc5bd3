"""The values panel: the watches pinned on top, then everything computed so far in this epoch,
the latest step at the bottom, each with the torch value and the difference |Δ| once the
cross-check is ready. In layer view the values come a layer step at a time, the current
layer step's at the bottom."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text

from .lines import CheckedPanel
from .tapeview import sample_tag

_VALUE_W, _TORCH_W, _DELTA_W = 12, 12, 8  # each with the space before it


class ValuesPanel(CheckedPanel):
    def lines(self) -> list[Text]:
        frame, check = self.frame, self.crosscheck
        width, height = self.content_size
        show_torch = width >= 12 + _VALUE_W + _TORCH_W + _DELTA_W
        name_w = width - _VALUE_W - (_TORCH_W + _DELTA_W if show_torch else 0)
        out = [self._row("quantity", "value", "torch", "|Δ|", name_w, show_torch, "bold grey70")]

        def step_row(label, step, value, style=""):
            shown = step is not None and step.index != frame.hidden  # torch's value would give it away
            torch, delta, tstyle = check.cells(step) if shown else ("", "", "")
            row = self._row(label, value, torch, delta, name_w, show_torch, style)
            if show_torch and tstyle:
                row.stylize(tstyle, name_w + _VALUE_W)
            return row

        for label, step, value in frame.watches:
            name = f"★ {step.name}{sample_tag(step, frame.scenario.samples)}" if step else f"★ {label}"
            out.append(step_row(name, step, value, "bold"))
        if frame.watches:
            out.append(Text("─" * width, "grey35"))
        room = max(0, height - len(out))
        for i, current in _latest(frame, room):
            step = frame.at(i)
            name = ("  " if step.factor else "") + step.name + sample_tag(step, frame.scenario.samples)
            out.append(step_row(name, step, frame.value_text(i), "bold yellow" if current else ""))
        return out[:height]

    @staticmethod
    def _row(name, value, torch, delta, name_w, show_torch, style) -> Text:
        name = name if cell_len(name) < name_w else name[:name_w - 2] + "…"
        text = name + " " * (name_w - cell_len(name)) + value.rjust(_VALUE_W)
        if show_torch:
            text += torch.rjust(_TORCH_W) + delta.rjust(_DELTA_W)
        return Text(text, style, no_wrap=True, overflow="crop")


def _latest(frame, room: int) -> list[tuple[int, bool]]:
    """``(scalar step index, is it the current step)`` of the last ``room`` values computed, in
    the order they were: step by step, or in layer view layer step by layer step."""
    if not frame.layered:
        return [(i, i == frame.index) for i in range(max(0, frame.index + 1 - room), frame.index + 1)]
    out = []
    for k in range(frame.layer.index, -1, -1):
        out[:0] = [(i, k == frame.layer.index) for i in frame.layer_specs[k].tail(room).tolist()]
        if len(out) >= room:
            break
    return out[len(out) - room:] if room else []
