"""The loss panel: E of every epoch computed so far as a bar chart across the epochs (the
evaluate phase last), blank where an epoch has not been computed yet, the current epoch
marked, and the numbers of the first, current and last epochs below."""

from __future__ import annotations

import math

import numpy as np
from rich.text import Text

from .lines import LinesPanel

from bpstep import drift
from bpstep.notation import fmt

_BLOCKS = " ▁▂▃▄▅▆▇█"


def columns(losses: np.ndarray, width: int) -> list[tuple[float, range]]:
    """``(mean loss or NaN, epochs)`` of each of ``width`` columns."""
    n = len(losses)
    out = []
    for c in range(width):
        lo = c * n // width
        hi = max(lo + 1, (c + 1) * n // width)
        part = losses[lo:hi]
        finite = part[np.isfinite(part)]
        out.append((float(finite.mean()) if finite.size else math.nan, range(lo, hi)))
    return out


class LossPanel(LinesPanel):
    def lines(self) -> list[Text]:
        frame = self.app.frame
        width, height = self.content_size
        if width < 4 or height < 1:
            return []
        losses = frame.losses
        why = drift.note(losses, frame.epoch, frame.scenario.dtype)  # why a free run parts from another here
        chart_rows = max(0, height - 3 - bool(why))
        cols = columns(losses, width)
        # while what-if edits are in force, the scenario's own run as a line (─) over the bars
        original = frame.original_losses
        was = [v for v, _ in columns(original, width)] if original is not None else [math.nan] * width
        finite = [v for v, _ in cols if math.isfinite(v)] + [v for v in was if math.isfinite(v)]
        lo, hi = (min(0.0, *finite), max(finite)) if finite else (0.0, 1.0)
        out = []
        for r in range(chart_rows, 0, -1):  # r: the row counted from the bottom, 1-based
            line = Text(no_wrap=True)
            for (v, _), w in zip(cols, was):
                fill = 0
                if math.isfinite(v):
                    eighths = 8 * chart_rows * ((v - lo) / (hi - lo) if hi > lo else 0.5)
                    fill = int(min(8, max(0, eighths - 8 * (r - 1))))
                if math.isfinite(w) and fill < 8 and r == min(chart_rows, 1 + int(chart_rows * (w - lo) / (hi - lo or 1))):
                    line.append("─", "magenta")
                elif not math.isfinite(v):
                    line.append("·" if r == 1 else " ", "grey30")
                else:
                    line.append(_BLOCKS[max(fill, 1) if r == 1 else fill], "steel_blue")
            out.append(line)
        here = [c for c, (_, epochs) in enumerate(cols) if frame.epoch in epochs]
        at = here[len(here) // 2]
        label = f"▲ epoch {frame.epoch}"
        start = at if at + len(label) <= width else max(0, at - len(label) + 1)
        marker = Text(" " * start + (label if start == at else label[2:] + " ▲"), "bold yellow", no_wrap=True)
        out.append(marker)
        now = losses[frame.epoch]
        line = Text(f"E {fmt(now) if math.isfinite(now) else '…'} at epoch {frame.epoch}", no_wrap=True,
                    overflow="ellipsis")
        if original is not None:
            before = original[frame.epoch]
            line.append(f" · ─ original run {fmt(before) if math.isfinite(before) else '…'}", "magenta")
        out.append(line)
        first, last = losses[0], losses[-1]
        ends = f"e0 {fmt(first) if math.isfinite(first) else '…'} · evaluate "
        ends += f"{fmt(last) if math.isfinite(last) else '…'}"
        out.append(Text(ends, "grey70", no_wrap=True, overflow="ellipsis"))
        if why:
            out.append(Text(why, "magenta", no_wrap=True, overflow="ellipsis"))
        return out[-height:]
