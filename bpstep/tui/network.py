"""The network panel: layers from left to right, each unit a label with its value, the edges
as braille lines between them; the unit or edge that the current step is about stands out.

Units show their activation a (x for inputs) during the forward pass and the loss, and
δ = ∂E/∂z during the backward pass and the update, for the current step's sample, once the
tape has computed them. Edges are coloured by their weight W (blue below 0, red above, the
brighter the larger against the layer's largest |W|) or, in the backward pass and the update
once a layer's batch gradient is complete, by ∂E/∂W; where edges cross, the larger one shows. A layer taller than the panel shows a window around the unit in focus.
In layer view everything the layer step's scalar steps are about stands out: the whole layer.
"""

from __future__ import annotations

import functools
import math
import re

import numpy as np
from rich.text import Text

from bpstep.quiz import HIDDEN

from . import braille
from .lines import LinesPanel

_EDGE, _HOT = "grey42", "bold yellow"
#: edge colours by sign and by |value| against the layer's largest: a third, two thirds, all
_NEGATIVE = ("#3a5680", "#5585cc", "#86bcff")
_POSITIVE = ("#80443a", "#cc6a55", "#ff9e86")
_SMALL = 0.05  # below this share of the largest, an edge stays grey
_UNIT, _PENDING, _FOCUS = "", "grey50", "bold black on yellow"
_MIN_GAP = 5  # cells between layers: less, and the edges are a smudge


def focus(step_id: str, sizes) -> tuple[set, set]:
    """The units ``(l, j)`` and edges ``(l, j, i)`` (into unit j of layer l from unit i of
    layer l−1) that a step with this id is about."""
    L = len(sizes) - 1
    nums = [tuple(map(int, g.split(","))) for g in re.findall(r"\[([\d,]+)\]", step_id)]
    if step_id == "E":
        return {(L, k) for k in range(1, sizes[L] + 1)}, set()
    if step_id.startswith("E["):
        return {(L, nums[0][0])}, set()
    if step_id.startswith(("dz[", "dE[")) and "/da[" in step_id:  # a part through the next layer
        (l1, m), (l, i) = nums
        return {(l, i)}, {(l1, m, i)}
    last = nums[-1]
    if len(last) == 3:  # weights: their gradient, local factor and update
        return set(), {last}
    l, j = last
    if step_id.startswith("z["):
        return {(l, j)}, {(l, j, i) for i in range(1, sizes[l - 1] + 1)}
    if step_id.startswith("dE/da[") and l < L:
        return {(l, j)}, {(l + 1, m, j) for m in range(1, sizes[l + 1] + 1)}
    return {(l, j)}, set()


def short(v: float, brief: bool = False) -> str:
    """A value on a unit label: 0.5200, or in at most 5 cells (.52, -.0012 → -1e-3) where a
    10-unit layer leaves no more room."""
    if not math.isfinite(v):
        return str(v)
    if not brief:
        return f"{v:.4f}" if abs(v) < 1000 else f"{v:.1e}"
    text = f"{v:.2g}".replace("0.", ".", 1)
    if len(text) > 5:
        mantissa, exponent = f"{v:.0e}".split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


@functools.lru_cache(maxsize=64)
def layer_focus(step_ids: tuple, sizes: tuple) -> tuple[set, set]:
    """The units and edges of a layer step: those of the scalar steps it holds."""
    units, edges = set(), set()
    for step_id in step_ids:
        u, e = focus(step_id, sizes)
        units |= u
        edges |= e
    return units, edges


#: a layer step of more scalar steps than this is focused by its family, not step by step
_NAMED = 50_000


@functools.lru_cache(maxsize=16)
def whole_layer(family: str, l: int, sizes: tuple, frozen: frozenset) -> tuple[set, set]:
    """The units and edges of a big layer step, from its family: the whole layer (an update
    without its frozen parameters), as :func:`layer_focus` finds them one id at a time."""
    L = len(sizes) - 1
    units = {(l, j) for j in range(1, sizes[l] + 1)}
    edges = {(l, j, i) for j in range(1, sizes[l] + 1) for i in range(1, sizes[l - 1] + 1)}
    if family == "dE/dW":
        return set(), edges
    if family == "W+":
        return set(), {e for e in edges if f"W[{e[0]},{e[1]},{e[2]}]" not in frozen}
    if family == "b+":
        return {u for u in units if f"b[{u[0]},{u[1]}]" not in frozen}, set()
    if family == "z":
        return units, edges
    if family == "dE/da" and l < L:
        return units, {(l + 1, m, j) for m in range(1, sizes[l + 1] + 1) for j in range(1, sizes[l] + 1)}
    return units, set()


class NetworkPanel(LinesPanel):
    def lines(self) -> list[Text]:
        w, h = self.content_size
        return draw(self.frame, w, h)


def _unit_values(frame):
    """``(kind, sample, value(l, j))`` for the unit labels: a number, None while it is not
    computed, or ``?`` while it is a quiz's question."""
    step, sc = frame.step, frame.scenario
    n = step.sample or sc.samples
    delta = step.phase in ("backward", "update")
    kind, qid, key = ("δ", "dE/dz", "dEdz") if delta else ("a", "a", "a")

    def value(l, j):
        if l == 0:
            return frame.record.value(("x", n - 1, j - 1))
        at = frame.index_of(f"{qid}[{l},{j}]", n)
        if at is None or not frame.done(at):
            return None
        if at == frame.hidden:
            return HIDDEN
        return frame.record.value((key, l - 1, n - 1, j - 1))

    return kind, n, value


def _window(m, rows, want):
    """Which units ``[start, stop)`` of a layer of ``m`` show in ``rows`` rows, and whether the
    first and last rows hold "more" markers instead. The window is centred on unit ``want``;
    in a layer of more than ``_PAGED`` windows it is the page of units that holds it instead:
    stepping through 784 inputs turns a page now and then, and in between only the highlight
    moves (a centred window would scroll, and every edge be drawn again, at every step)."""
    if m <= rows:
        return 0, m, False
    k = max(1, rows - 2)
    if not want:
        start = 0
    elif m > _PAGED * k:
        start = min((want - 1) // k * k, m - k)
    else:
        start = min(max(0, want - 1 - k // 2), m - k)
    return start, start + k, True


#: a layer of more than this many windows of units pages its window rather than centring it
_PAGED = 4


#: (labels of the inputs and the layers in focus, labels of the others), tried until they fit
_MODES = (("full", "full"), ("brief", "brief"), ("brief", "name"), ("brief", "dot"), ("name", "dot"), ("dot", "dot"))


def draw(frame, w: int, h: int) -> list[Text]:
    sizes, names = frame.scenario.sizes, frame.layout.names
    L = len(sizes) - 1
    if w < 8 or h < 2:
        return []
    if frame.layered:
        spec = frame.layer.spec
        if spec.size <= _NAMED:
            units, edges = layer_focus(spec.first_ids, tuple(sizes))
        else:
            units, edges = whole_layer(spec.family, spec.layer, tuple(sizes), frame.scenario.freeze)
    else:
        units, edges = focus(frame.step.id, sizes)
    kind, n, value = _unit_values(frame)
    rows = h - 1  # the last row is the caption

    def name(l, j):
        return (names.x(j) if l == 0 else names.a(l, j)).uni

    wanted = {}  # per layer, the first unit in focus: the same from step to step
    for l, j in units:
        wanted[l] = min(j, wanted.get(l, j))
    for l in {e[0] for e in edges}:  # all 784 edges of a sum: one pass each, no dict per edge
        wanted[l] = min(wanted.get(l, math.inf), min(j for m, j, _ in edges if m == l))
        wanted[l - 1] = min(wanted.get(l - 1, math.inf), min(i for m, _, i in edges if m == l))
    windows = [_window(sizes[l], rows, wanted.get(l)) for l in range(L + 1)]

    labels = {}
    # the inputs and the layers in focus keep their values longest: a narrow panel shows x₁, x₂
    # and the cursor's unit with numbers, the other layers by name or as dots
    keep = {0} | ({l for l, _ in units} or {l for l, _, _ in edges} | {l - 1 for l, _, _ in edges})
    for kept, other in _MODES:
        labels.clear()
        for l in range(L + 1):
            start, stop, _ = windows[l]
            mode = kept if l in keep else other
            for j in range(start + 1, stop + 1):
                v = value(l, j)
                if mode in ("full", "brief"):  # the value's room is kept while it is unknown: nothing moves
                    shown = "·" if v is None else v if v == HIDDEN else short(v, mode == "brief")
                    text = f"{name(l, j)} {shown:<{5 if mode == 'brief' else 7}}"
                else:
                    text = name(l, j) if mode == "name" else "●"
                labels[l, j] = (text, v is not None)
        widths = [max((len(labels[l, j][0]) for j in range(windows[l][0] + 1, windows[l][1] + 1)), default=1)
                  for l in range(L + 1)]
        if sum(widths) + L * _MIN_GAP <= w:
            break
    gap = min(20, (w - sum(widths)) // L) if L else 0
    left = max(0, (w - sum(widths) - gap * L) // 2)
    xs = []
    for width in widths:
        xs.append(left)
        left += width + gap

    ys = {}
    for l in range(L + 1):
        start, stop, markers = windows[l]
        top, span = (1, rows - 2) if markers else (0, rows)
        count = stop - start
        for k, j in enumerate(range(start + 1, stop + 1)):
            ys[l, j] = top + int((k + 0.5) * span / count)

    grid = [[(" ", "")] * w for _ in range(h)]
    geometry = (tuple(sizes), tuple(windows), tuple(xs), tuple(widths), tuple(sorted(ys.items())), w)
    symbol, numbers = edge_numbers(frame)
    for (cx, cy), (bits, style) in _coloured(geometry, numbers).items():
        grid[cy][cx] = (braille.char(bits), style)
    # the dots of the edges in focus among those on show (not each of 784 edges)
    hot = _union(dots for edge, dots in _edge_dots(*geometry).items() if edge in edges)
    for (cx, cy), bits in hot.items():
        grid[cy][cx] = (braille.char(bits), _HOT)

    for (cx, cy), cell in _weight_labels(frame, windows, xs, widths, ys, edges).items():
        grid[cy][cx] = cell
    for (l, j), (text, known) in labels.items():
        style = _FOCUS if (l, j) in units else (_UNIT if known else _PENDING)
        for k, ch in enumerate(text[:widths[l]]):
            grid[ys[l, j]][xs[l] + k] = (ch, style)
    for l, (start, stop, markers) in enumerate(windows):
        if markers:
            for row, more, arrow in ((0, start, "▲"), (rows - 1, sizes[l] - stop, "▼")):
                if more:
                    for k, ch in enumerate(f"{arrow}{more}"[:widths[l]]):
                        grid[row][xs[l] + k] = (ch, "grey50")

    caption = _caption(frame, units, edges, kind, n)
    out = [_runs(row) for row in grid[:rows]]
    shown = Text(caption[0][:w], style="grey70")
    for part in [_legend(symbol), *caption[1:]]:
        if len(shown) + 3 + len(part) <= w:
            shown.append(" · ", "grey70")
            shown.append_text(part if isinstance(part, Text) else Text(part, "grey70"))
    out.append(shown)
    return out


#: networks of at most this many weights write each weight on its edge, as the lecture's figure
_LABELLED = 16


def _weight_labels(frame, windows, xs, widths, ys, edges) -> dict:
    """``(x, y) → (character, style)`` of each weight's name and value written on its edge, a
    third of the way from its source (where the edges of a unit are apart), where they fit
    without overlapping; none for a big network."""
    sizes, names, rec = frame.scenario.sizes, frame.layout.names, frame.record
    if sum(sizes[l] * sizes[l - 1] for l in range(1, len(sizes))) > _LABELLED or any(m for _, _, m in windows):
        return {}
    cells = {}
    for l in range(1, len(sizes)):
        x0, x1 = xs[l - 1] + widths[l - 1] + 1, xs[l] - 2
        for j in range(1, sizes[l] + 1):
            for i in range(1, sizes[l - 1] + 1):
                text = f"{names.W(l, j, i).uni} {short(rec.value(('W', l - 1, j - 1, i - 1)), brief=True)}"
                y = round(ys[l - 1, i] + (ys[l, j] - ys[l - 1, i]) / 3)
                x = x0 + (x1 - x0) // 3 - len(text) // 2
                room = [(x + k, y) for k in range(-1, len(text) + 1)]
                if x < x0 or x + len(text) > x1 or any(c in cells for c in room):
                    continue
                style = _HOT if (l, j, i) in edges else "grey70"
                cells |= {c: (" ", "") for c in room} | {(x + k, y): (ch, style) for k, ch in enumerate(text)}
    return cells


def _legend(symbol: str) -> Text:
    """``W −███+`` in the edges' colours."""
    out = Text(f"edges {symbol} −", "grey70")
    for style in (*reversed(_NEGATIVE), *_POSITIVE):
        out.append("█", style)
    out.append("+", "grey70")
    return out


def _gradient_done(frame, l: int) -> bool:
    """Whether layer ``l``'s batch gradient ∂E/∂W is complete at the cursor."""
    sizes = frame.scenario.sizes
    last = f"dE/dW[{l},{sizes[l]},{sizes[l - 1]}]"
    at = frame.index_of(last, None)
    if at is None:  # one sample: its gradient is the batch's
        at = frame.index_of(last, frame.scenario.samples)
    # while the quiz asks for that last gradient, its colour would give its sign away
    return at is not None and frame.done(at) and at != frame.hidden


def edge_numbers(frame) -> tuple[str, tuple]:
    """What the edges are coloured by: ``(symbol, per layer J×I values)``, W, or ∂E/∂W for the
    layers whose batch gradient is complete in the backward pass and the update."""
    arrays = frame.record.arrays
    done = ()
    if frame.step.phase in ("backward", "update") and arrays.gW:
        done = tuple(l for l in range(1, len(frame.scenario.sizes)) if _gradient_done(frame, l))
    numbers = tuple(_Values(arrays.gW[l - 1] if l in done else arrays.W[l - 1]) for l in range(1, len(arrays.W) + 1))
    return ("∂E/∂W" if done else "W"), numbers


class _Values:
    """An array keyed by identity, so that a frame's colours are cached per epoch's arrays."""

    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def __eq__(self, other):
        return isinstance(other, _Values) and other.array is self.array

    def __hash__(self):
        return id(self.array)


def edge_style(v: float, share: float) -> str:
    """The colour of an edge of value ``v``, ``share`` of its layer's largest |value|."""
    if share < _SMALL:
        return _EDGE
    return (_NEGATIVE if v < 0 else _POSITIVE)[min(2, int(share * 3))]


@functools.lru_cache(maxsize=8)
def _coloured(geometry, numbers) -> dict:
    """cell → (braille bits, style) of all edges on show: each cell in the colour of the
    largest edge through it (the same from step to step within an epoch, so cached)."""
    strength: dict = {}  # cell → (share of the layer's largest |value|, style)
    with np.errstate(invalid="ignore"):
        tops = [float(np.abs(v.array).max()) if v.array.size else 0.0 for v in numbers]
    for (l, j, i), dots in _edge_dots(*geometry).items():
        top, v = tops[l - 1], float(numbers[l - 1].array[j - 1, i - 1])
        share = abs(v) / top if top > 0 and math.isfinite(top) and math.isfinite(v) else 0.0
        style = edge_style(v, share)
        for cell in dots:
            if cell not in strength or strength[cell][0] < share:
                strength[cell] = (share, style)
    cells = _edges(*geometry)
    return {cell: (bits, strength[cell][1]) for cell, bits in cells.items()}


def _runs(row) -> Text:
    """A row of (character, style) cells as a Text, one span per run of a style."""
    out = Text()
    text, style = "", None
    for ch, st in row:
        if st != style and text:
            out.append(text, style=style or None)
            text = ""
        style = st
        text += ch
    if text:
        out.append(text, style=style or None)
    return out


def _line(dots: dict, x0: int, y0: int, x1: int, y1: int):
    """A line between the cell positions (x0, y0) and (x1, y1), in braille dots."""
    if x1 >= x0:
        braille.line(dots, 2 * x0, 4 * y0 + 1, 2 * x1 + 1, 4 * y1 + 1)


@functools.lru_cache(maxsize=16)
def _edge_dots(sizes, windows, xs, widths, ys_items, w) -> dict:
    """(l, j, i) → the cells (and their dots) of each edge between the units on show."""
    ys = dict(ys_items)
    out = {}
    for l in range(1, len(sizes)):
        for j in range(windows[l][0] + 1, windows[l][1] + 1):
            for i in range(windows[l - 1][0] + 1, windows[l - 1][1] + 1):
                dots = {}
                _line(dots, xs[l - 1] + widths[l - 1] + 1, ys[l - 1, i], xs[l] - 2, ys[l, j])
                out[l, j, i] = {cell: bits for cell, bits in dots.items() if 0 <= cell[0] < w}
    return out


@functools.lru_cache(maxsize=16)
def _edges(*geometry) -> dict:
    """cell → the dots of all edges on show."""
    return _union(_edge_dots(*geometry).values())


def _union(edges) -> dict:
    """cell → the dots that any of these edges (each cell → its dots) puts there."""
    cells: dict = {}
    for dots in edges:
        for cell, bits in dots.items():
            cells[cell] = cells.get(cell, 0) | bits
    return cells


def _caption(frame, units, edges, kind, n) -> str:
    names, rec = frame.layout.names, frame.record
    legend = f"units show {kind}" + (" = ∂E/∂z (not a)" if kind == "δ" else "") + (
        f" of sample {n}" if frame.scenario.samples > 1 else "")
    if frame.layered:
        spec = frame.layer.spec
        return [f"layer {spec.layer}: {spec.label}", legend]
    if len(edges) == 1 and not frame.step.id.startswith("z["):
        (l, j, i), = edges
        src = (names.x(i) if l == 1 else names.a(l - 1, i)).uni
        weight = rec.value(("W", l - 1, j - 1, i - 1))
        # ∂z/∂a is the weight: while a quiz asks for a value, the caption leaves the weight out
        shown = "" if frame.hidden is not None else f" = {short(weight)}"
        return [f"{names.W(l, j, i).uni}: {src} → {names.a(l, j).uni}{shown}", legend]
    return [legend]
