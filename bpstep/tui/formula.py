"""The formula panel: the current step's formula in symbols, the numbers under their symbols,
the result with the torch verdict, and the steps that use the result (for a chain-rule factor:
the products, and so the gradients, it is a factor of). In layer view: the layer step's
operation and its matrices, operands first, then the result.

The formula comes from the step's notation tree (``Step.spec.rhs``), rendered once with a
marker in place of each quantity; the text between markers is the same in both rows, and the
i-th marker is the i-th quantity of ``Step.numbers()``. Each quantity and its number take the
same cells, the narrower one leaning on the text it is written against (a product's ``·``,
which gets a space each side, or a bracket), so that a term such as ``W1 · x1`` has no gaps
inside and its dot stands over the dot of ``0.3 · 0.1``. A quantity can be clicked: it goes to
the step that computed it.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rich.cells import cell_len
from rich.style import Style
from rich.text import Span, Text
from textual.cache import LRUCache

from bpstep.layers import MAX_SHOWN, matrix_lines
from bpstep.notation import Ref, refs, render
from bpstep.tape import LINE_TERMS

from .lines import CheckedPanel
from .purpose import purpose

_MARK = "\x00"
_SYM, _SELF, _RESULT = Style(color="cyan", bold=True), Style(color="yellow", bold=True), Style(bold=True)
_ASK, _ASKED = "quiz: predict the value, type it at the prompt, Enter (Esc: later, a: the prompt again)", "bold magenta"
_GAP = "   "  # between matrices side by side
_SHOWN = (MAX_SHOWN, 4, 3)  # rows and columns kept of a big matrix, fewer until the matrices fit


class Token:
    """A piece of the formula: its symbol text, its number text (the same for an operator or
    a constant), the quantity it names (id@n; None for operators and constants) and the cells
    it takes, the wider of the two."""

    __slots__ = ("sym", "num", "qid", "width")

    def __init__(self, sym: str, num: str, qid: str | None = None):
        self.sym, self.num, self.qid = sym, num, qid
        self.width = max(cell_len(sym), cell_len(num))


_DOT = Token(" · ", " · ")
_SPLIT = re.compile(r"(·| )")


def word_width(word: list[Token]) -> int:
    return sum(t.width for t in word)


def tokens(step, most: int) -> tuple[list[Token], int]:
    """The formula's right-hand side as tokens, spaces included, in reading order, and how
    many terms of a long sum it leaves out: such a sum only as far as its first ``most`` terms,
    then how many more there are (a pre-activation of a 784-input layer is more than a screen
    holds)."""
    rhs, numbers, more = step.head(most)
    literals = render(rhs, lambda r: _MARK).split(_MARK)
    quantities = list(refs(rhs))
    out = []
    for k, literal in enumerate(literals):
        out += [_DOT if p == "·" else Token(p, p) for p in _SPLIT.split(literal) if p]
        if k < len(quantities):
            out.append(Token(quantities[k].name.uni, numbers[k], quantities[k].qid))
    if more:
        out += [Token(" ", " "), Token("+", "+"), Token(" ", " "), Token(f"… {more} more", f"… {more} more")]
    return out, more


def wrap(toks: list[Token], width: int) -> list[list[list[Token]]]:
    """The words (lists of tokens) in lines of at most ``width`` cells, a space between words;
    a word longer than a line has a line to itself."""
    words, word = [], []
    for t in toks:
        if t.sym == " ":
            if word:
                words.append(word)
            word = []
        else:
            word.append(t)
    if word:
        words.append(word)
    lines, line, used = [], [], 0
    for word in words:
        w = word_width(word)
        if line and used + 1 + w > width:
            lines.append(line)
            line, used = [], 0
        used += w + (1 if line else 0)
        line.append(word)
    if line or not lines:
        lines.append(line)
    return lines


@lru_cache(maxsize=1024)  # the same Style for the same action: Rich's style sums are cached by them
def _click(action: str) -> Style:
    return Style(meta={"@click": action})


class _Row:
    """A line of text and its styled spans, as ``Text.append`` would make them, only quicker:
    a formula's rows are a few hundred pieces, drawn again at every step."""

    __slots__ = ("pieces", "spans", "end")

    def __init__(self, text: str = "", style=None):
        self.pieces, self.spans, self.end = [], [], 0
        self.add(text, style)

    def add(self, text: str, style=None) -> None:
        if text:
            if style:
                self.spans.append(Span(self.end, self.end + len(text), style))
            self.pieces.append(text)
            self.end += len(text)

    def placed(self, text: str, style, width: int, lean: int) -> None:
        """``text`` in ``width`` cells: centred (``lean`` 0), to the right (1) or to the left (−1)."""
        used = cell_len(text)
        left = (width - used) // 2 if lean == 0 else width - used if lean == 1 else 0
        self.add(" " * left)
        self.add(text, style)
        self.add(" " * (width - left - used))

    def text(self) -> Text:
        return Text("".join(self.pieces), spans=self.spans)


def _word(sym: _Row, num: _Row, word: list[Token]) -> None:
    """One word into both rows, token by token, each quantity in as many cells as the wider
    of its symbol and its number, leaning on the text it is written against: ``W1 · x1`` over
    ``0.3 · 0.1``, ``−(target_o1`` over ``−(0.4``, ``o1)²`` over ``0.609446)²``; a quantity
    with text on both sides, or none, is centred."""
    last = len(word) - 1
    for k, t in enumerate(word):
        before, after = k > 0, k < last
        lean = 1 if after and not before else -1 if before and not after else 0
        click = None if t.qid is None else _click(f"app.goto_ref({t.qid!r})")
        sym.placed(t.sym, click and _SYM + click, t.width, lean)
        num.placed(t.num, click, t.width, lean)


def arrange(blocks: list, width: int) -> list[Text]:
    """Blocks of Text lines side by side, as many in a row as ``width`` takes, tops aligned."""
    rows, shelf, used = [], [], 0
    for block in blocks:
        w = max(cell_len(line.plain) for line in block)
        if shelf and used + len(_GAP) + w > width:
            rows += _shelf(shelf)
            shelf, used = [], 0
        used += (len(_GAP) if shelf else 0) + w
        shelf.append((block, w))
    return rows + _shelf(shelf)


def _shelf(shelf) -> list[Text]:
    out = []
    for y in range(max((len(b) for b, _ in shelf), default=0)):
        line = Text(no_wrap=True, overflow="crop")
        for k, (block, w) in enumerate(shelf):
            piece = block[y] if y < len(block) else Text()
            line.append(_GAP if k else "")
            line.append_text(piece)
            if k < len(shelf) - 1:
                line.append(" " * (w - cell_len(piece.plain)))
        out.append(line)
    return out


def matrix_block(label: str, m, shown: int, style) -> list[Text]:
    """A matrix as Text lines (:func:`bpstep.layers.matrix_lines`), its label in ``style``."""
    lines = [Text(line) for line in matrix_lines(label, m, shown)]
    lines[0].stylize(style, 0, len(label))
    return lines


class FormulaPanel(CheckedPanel):
    _laid_out = None  # the height the screen's last layout gave the panel's content
    _tail_for = None  # (frame, width) of the rows under the formula, kept for measuring, then drawing

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._wraps: LRUCache = LRUCache(64)  # (record, step, width, terms) → (wrapped lines, terms cut)
        self._made: LRUCache = LRUCache(8)  # (record, step, width, hidden, rows drawn) → rows

    def watch_frame(self) -> None:
        # a formula's height follows what it holds; the screen is laid out again only when the
        # panel's height would change (a layout costs as much as drawing the formula): not when
        # the last layout cut the height to the panel's largest (or raised it to its smallest)
        # and the new one would be cut (raised) as well
        self._tail_for = None  # the same frame comes again when the cross-check has news
        width, height = self.content_size
        wanted, before = self._content_height(width) if width else None, self._laid_out
        same = wanted is not None and before is not None and (
            wanted == before or before > height <= wanted or before < height >= wanted)
        self.redraw(layout=not same)

    def parts(self, width: int, height: int | None = None, drawn: int | None = None) -> tuple[list, list]:
        """``(formula rows, result rows)`` for ``width`` cells (and, in layer view, as few more
        than ``height`` rows as the matrices allow): rows are Texts. Formula rows past ``drawn``
        are left empty: they are only counted (a sum of 784 products wraps to hundreds)."""
        frame = self.frame
        if frame.layered:
            return self._layer_parts(frame.layer, width, height)
        step = frame.step
        hidden = frame.hidden == step.index
        rows = self._rows(frame.record, step, width, hidden, drawn)
        if self._tail_for != (frame, width):
            indent = " " * cell_len(f"{step.name} = ")
            self._tail_for, self._tail = (frame, width), self._tail_rows(frame, step, width, indent, hidden)
        return rows, self._tail

    def _rows(self, record, step, width: int, hidden: bool, drawn: int | None) -> list[Text]:
        """The formula's rows, its symbols over its numbers (see :meth:`parts`), kept for the
        steps :meth:`prepare` made ready and the last ones shown."""
        key = (record, step.index, width, hidden, drawn)
        rows = self._made.get(key)
        if rows is None:
            rows = self._made[key] = self._make_rows(record, step, width, hidden, drawn)
        return rows

    def _make_rows(self, record, step, width: int, hidden: bool, drawn: int | None) -> list[Text]:
        indent = " " * cell_len(f"{step.name} = ")
        # a copy of one quantity (∂z/∂W = h) would show the answer under its symbol
        plain = step.spec.plain or hidden and isinstance(step.spec.rhs, Ref)
        rows = []
        for k, line in enumerate(self._wrap(record, step, width)[0]):
            if drawn is not None and len(rows) >= drawn:
                rows += [Text()] if plain else [Text(), Text()]
                continue
            if k == 0:
                sym, num = _Row(step.name, _SELF), _Row(indent[:-2] + "= ")
                sym.add(" = ")
            else:
                sym, num = _Row(indent), _Row(indent)
            for n, word in enumerate(line):
                if n:
                    sym.add(" ")
                    num.add(" ")
                _word(sym, num, word)
            rows.append(sym.text())
            if not plain:
                rows.append(num.text())
        return rows

    def _tail_rows(self, frame, step, width: int, indent: str, hidden: bool) -> list[Text]:
        """The rows under the formula: the result and its torch verdict, the quiz's grade, the
        user's value, the steps that use the result or what it is for."""
        result = Text(indent[:-2] + "= ")
        result.append(frame.value_text(step.index), _RESULT)
        verdict, style = (_ASK, _ASKED) if hidden else self.crosscheck.verdict_line(step)
        result.append("    ")
        result.append(verdict, style)
        tail = [result]
        if frame.graded is not None:
            tail.append(Text("quiz " + frame.graded.said(), "green" if frame.graded.right else "bold red"))
        yours = frame.yours.get(step.index)
        if yours is not None and not hidden:  # its |Δ| would give the value away
            line = Text(indent[:-2] + "  yours " + yours.text + " ", "grey70")
            line.append("✓" if yours.ok else f"✗ |Δ| {abs(yours.value - step.value):.1e}",
                        "green" if yours.ok else "bold red")
            tail.append(line)
        users = [i for i in frame.users(step.qid) if i > step.index]
        if users:
            tail.append(self._users_line(frame, step, users, width))
        for k, pieces in enumerate([] if users else purpose(frame, step)):
            line = Text("used for " if k == 0 else " " * 9, "grey70", no_wrap=True, overflow="ellipsis")
            for piece, action in pieces:
                line.append(piece, "grey70" if action is None else _click(action) + Style(color="cyan"))
            tail.append(line)
        return tail

    def _wrap(self, record, step, width: int) -> tuple:
        """``(wrapped lines, terms left out)`` of a step's formula in a panel ``width`` cells
        wide, kept for the frame (the panel is measured, then drawn, from one frame), for the
        last steps shown (a step back shows one of them again) and for those :meth:`prepare`
        made ready."""
        # the lines start after "name = "; the panel is at most 45% of the screen less its
        # border and the result's row, a line of the formula two rows; a term of a long sum
        # (W·a, 8 digits each: "0.01250955 · 0.51179999 + ") takes about 26 cells
        width = max(10, width - cell_len(f"{step.name} = "))
        lines = (self.app.size.height * 45 // 100 - 3) // 2 + 1
        most = max(LINE_TERMS, lines * max(1, width // 20))
        key = (record, step.index, width, most)
        if key not in self._wraps:
            toks, cut = tokens(step, most)
            self._wraps[key] = wrap(toks, width), cut
        return self._wraps[key]

    def prepare(self, index: int) -> None:
        """Make the formula of step ``index`` of the frame's epoch ready to show, its rows drawn
        into strips and the steps that read it found: the app asks for the steps ``s`` and ``n``
        go to while the learner reads this one (a long sum's tokens, the strips of its rows and
        the 257 readers of a unit's activation take milliseconds, which the key would otherwise
        wait on)."""
        width, height = self.content_size
        step = self.frame.at(index)
        for row in self._rows(self.frame.record, step, width, False, height):
            self.strip(row)
        self.frame.users(step.qid)

    def _users_line(self, frame, step, users, width) -> Text:
        label = "factor of " if step.factor else "used by "
        line = Text(label, "grey70")
        for n, i in enumerate(users):
            user = frame.at(i)
            piece = f"{user.name} #{i}"
            more = f" +{len(users) - n} more"
            if cell_len(line.plain) + len(piece) + 2 + len(more) > width and n:
                line.append(more, "grey70")
                break
            if n:
                line.append(", ", "grey70")
            line.append(piece, _click(f"app.goto_index({i})") + Style(color="cyan"))
        return line

    def _layer_parts(self, ls, width: int, height: int | None) -> tuple[list, list]:
        """The layer step's operation, then its matrices (big ones cut down until they fit
        ``height``), then the torch verdict of all its values."""
        head = Text(no_wrap=True, overflow="ellipsis")
        label, _, rhs = ls.header().partition(" = ")
        head.append(label, _SELF)
        head.append(" = " + rhs)
        verdict, style = self.crosscheck.layer_verdict_line(ls)
        tail = [Text(verdict, style, no_wrap=True, overflow="ellipsis")]
        blocks = ls.blocks()
        *operands, result = blocks
        # all the matrices, smaller and smaller; then, on a small screen, only the result
        left_out = Text("operands not shown (the window is small): " + ", ".join(
            f"{name} {m.shape[0]}×{m.shape[1]}" for name, m in operands), "grey50", no_wrap=True, overflow="ellipsis")
        tries = [(blocks, shown, []) for shown in _SHOWN]
        tries += [([result], shown, [left_out]) for shown in _SHOWN] if operands else []
        for shown_blocks, shown, note in tries:
            rows = arrange([matrix_block(name, m, shown, _SELF if (name, m) is result else _SYM)
                            for name, m in shown_blocks], width) + note
            if height is None or 1 + len(rows) + len(tail) <= height:
                if max(cell_len(r.plain) for r in rows[:len(rows) - len(note)]) <= width:
                    break
        return [head] + rows, tail

    def _content_height(self, width: int) -> int:
        rows, tail = self.parts(width, drawn=0)
        return len(rows) + len(tail)

    def get_content_height(self, container, viewport, width: int) -> int:
        self._laid_out = self._content_height(width)
        return self._laid_out

    def lines(self) -> list[Text]:
        width, height = self.content_size
        rows, tail = self.parts(width, height, drawn=height)
        if len(rows) + len(tail) > height:
            frame = self.frame
            pairs = 1 if frame.layered or frame.step.spec.plain else 2
            keep = max(pairs, (height - len(tail) - 1) // pairs * pairs)
            hidden = (len(rows) - keep) // pairs
            what = "the matrices" if frame.layered else "this formula"
            cut = 0 if frame.layered else self._wrap(frame.record, frame.step, width)[1]
            if cut:  # the lines hold only the first terms of a long sum
                what += f" and its {cut} last terms"
            rows = rows[:keep] + [Text(f"   … {hidden} more line(s) of {what}: make the window taller",
                                       "grey50")]
        return rows + tail
