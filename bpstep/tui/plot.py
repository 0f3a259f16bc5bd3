"""A line plot of values per epoch in braille, with a y axis, an x axis of epochs and the
cursor's epoch marked: what the loss panel draws (the loss, or the layers' gradient norms).

Each of the plot's dot columns stands for a stretch of epochs and spans the smallest to the
largest value known in it (so a one-epoch spike shows); the columns' means are joined by lines,
so a value known only every hundred epochs (the gradient norms) is still a curve. The y axis is logarithmic when the values span more than two
decades (the usual case for a loss that converges), linear from 0 otherwise.
"""

from __future__ import annotations

import math

import numpy as np
from rich.text import Text

from . import braille

#: the values must span more than this factor for a log scale
LOG_SPAN = 100.0
CURSOR = "yellow"


def columns(values: np.ndarray, first: int, last: int, count: int) -> np.ndarray:
    """3 × ``count``: the smallest, mean and largest finite value of epochs ``first…last`` in
    each of ``count`` equal stretches (NaN where none is known)."""
    part = values[first:last + 1]
    n = len(part)
    starts = np.arange(count) * n // count
    known = np.isfinite(part)
    # a stretch shorter than one epoch repeats the epoch (reduceat gives the element at a start
    # that is not below the next one)
    counts = np.add.reduceat(known.astype(np.int64), starts)
    sums = np.add.reduceat(np.where(known, part, 0.0), starts)
    low = np.minimum.reduceat(np.where(known, part, np.inf), starts)
    high = np.maximum.reduceat(np.where(known, part, -np.inf), starts)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.stack([low, sums / np.maximum(counts, 1), high])
    out[:, counts == 0] = np.nan
    return out


def scale(series: list[np.ndarray]) -> tuple[float, float, bool]:
    """``(low, high, log)`` of the y axis for these column means."""
    finite = np.concatenate([s[np.isfinite(s)] for s in series]) if series else np.empty(0)
    if not finite.size:
        return 0.0, 1.0, False
    lo, hi = float(finite.min()), float(finite.max())
    if lo > 0 and hi / lo > LOG_SPAN:
        return math.log10(lo), math.log10(hi), True
    lo = min(0.0, lo)
    return (lo, hi, False) if hi > lo else (lo, lo + 1.0, False)


def tick(v: float) -> str:
    """An axis label in at most 7 cells: 0.693, 0.0105, 1.59e-4, 1.2e5."""
    text = f"{v:.2e}" if v and not 1e-3 <= abs(v) < 1e5 else f"{v:.3g}"
    return text.replace("e-0", "e-").replace("e+0", "e").replace("e+", "e")


def plot(series: list[tuple[np.ndarray, str]], first: int, last: int, cursor: int | None,
         width: int, rows: int) -> list[Text]:
    """``rows`` lines of plot and one of x axis, ``width`` cells wide: each series is
    ``(value per epoch, style)``; ``cursor`` is the epoch marked."""
    labels_room = 7
    cells = max(1, width - labels_room - 1)
    stretches = [columns(values, first, last, 2 * cells) for values, _ in series]
    lo, hi, log = scale([s[[0, 2]].ravel() for s in stretches])
    dot_rows = 4 * rows

    def y(v):
        t = math.log10(v) if log else v
        return int(round((hi - t) / (hi - lo) * (dot_rows - 1)))

    canvas: dict = {}  # cell → (bits, style)
    for (low, mean, high), (_, style) in zip(stretches, series):
        dots: dict = {}
        shown = [x for x in range(len(mean)) if math.isfinite(mean[x]) and (low[x] > 0 or not log)]
        for x0, x1 in zip(shown, shown[1:]):
            braille.line(dots, x0, y(mean[x0]), x1, y(mean[x1]))
        for x in shown:
            top, bottom = sorted((y(high[x]), y(low[x])))
            for dot_y in range(top, bottom + 1):
                braille.line(dots, x, dot_y, x, dot_y)
        for cell, bits in dots.items():
            canvas[cell] = (canvas.get(cell, (0, ""))[0] | bits, style)

    span = last - first + 1
    at = None if cursor is None or not first <= cursor <= last else (cursor - first) * cells // span
    marks = {0: hi, rows - 1: lo}
    if rows >= 5:
        marks[(rows - 1) // 2] = (hi + lo) / 2
    out = []
    for r in range(rows):
        line = Text(no_wrap=True)
        label = tick(10 ** marks[r] if log else marks[r]) if r in marks else ""
        line.append(f"{label:>{labels_room}}{'┤' if r in marks else '│'}", "grey62")
        for c in range(cells):
            bits, style = canvas.get((c, r), (0, ""))
            if c == at:
                line.append(braille.char(bits) if bits else "│", CURSOR)
            else:
                line.append(braille.char(bits) if bits else " ", style or None)
        out.append(line)
    out.append(_x_axis(first, last, at, cells, labels_room, log))
    return out


def _x_axis(first: int, last: int, at: int | None, cells: int, room: int, log: bool) -> Text:
    """``└──┴──`` with the first and last epochs written into it, ┴ under the cursor."""
    axis = ["─"] * cells
    if at is not None:
        axis[at] = "┴"
    for text, start in ((str(first), 1), (str(last), cells - len(str(last)) - 1)):
        if 0 <= start and start + len(text) <= cells:
            axis[start:start + len(text)] = text
    line = Text(f"{'log y' if log else '':>{room}}└", "grey62", no_wrap=True)
    for c, ch in enumerate(axis):
        line.append(ch, CURSOR if c == at else "grey62")
    return line
