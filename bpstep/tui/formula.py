"""The formula panel: the current step's formula in symbols, the numbers under their symbols,
the result with the torch verdict, and the steps that use the result (for a chain-rule factor:
the products, and so the gradients, it is a factor of).

The formula comes from the step's notation tree (``Step.spec.rhs``), rendered once with a
marker in place of each quantity; the text between markers is the same in both rows, and the
i-th marker is the i-th quantity of ``Step.numbers()``. A quantity can be clicked: it goes to
the step that computed it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text


from bpstep.notation import Const, Ref, fmt, fmt_short, refs, render

from .lines import LinesPanel

_MARK = "\x00"
_SYM, _SELF, _RESULT = Style(color="cyan", bold=True), Style(color="yellow", bold=True), Style(bold=True)


@dataclass
class Token:
    sym: str
    num: str
    qid: str | None = None  # a quantity (id@n); None for operators and constants

    @property
    def width(self):
        return max(cell_len(self.sym), cell_len(self.num))


def tokens(step) -> list[Token]:
    """The formula's right-hand side as tokens, spaces included, in reading order."""
    rhs = step.spec.rhs
    literals = render(rhs, lambda r: _MARK).split(_MARK)
    quantities, numbers = list(refs(rhs)), step.numbers()
    out = []
    for k, literal in enumerate(literals):
        out += [Token(p, p) for p in re.split(r"( )", literal) if p]
        if k < len(quantities):
            out.append(Token(quantities[k].name.uni, fmt_short(numbers[k]), quantities[k].qid))
    return out


def wrap(toks: list[Token], width: int) -> list[list[Token]]:
    """Tokens in lines of at most ``width`` cells, broken at spaces where possible."""
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
    space = Token(" ", " ")
    for word in words:
        w = sum(t.width for t in word)
        if line and used + 1 + w > width:
            lines.append(line)
            line, used = [], 0
        if line:
            line.append(space)
            used += 1
        line += word
        used += w
    if line or not lines:
        lines.append(line)
    return lines


def _click(action: str) -> Style:
    return Style(meta={"@click": action})


class FormulaPanel(LinesPanel):
    def parts(self, width: int) -> tuple[list, list]:
        """``(formula rows, result rows)`` for ``width`` cells: rows are Texts."""
        frame = self.app.frame
        step = frame.step
        head = f"{step.name} = "
        indent = " " * cell_len(head)
        plain = isinstance(step.spec.rhs, (Ref, Const))  # nothing to put numbers in
        rows = []
        for k, line in enumerate(wrap(tokens(step), max(10, width - len(indent)))):
            sym, num = Text(), Text()
            if k == 0:
                sym.append(step.name, _SELF)
                sym.append(" = ")
                num.append(indent[:-2] + "= ")
            else:
                sym.append(indent)
                num.append(indent)
            for t in line:
                pad = t.width
                if t.qid is None:
                    sym.append(t.sym.ljust(pad))
                    num.append(t.num.ljust(pad))
                else:
                    click = _click(f"app.goto_ref({t.qid!r})")
                    sym.append(t.sym, _SYM + click)
                    sym.append(" " * (pad - cell_len(t.sym)))
                    num.append(t.num, click)
                    num.append(" " * (pad - cell_len(t.num)))
            rows.append(sym)
            if not plain:
                rows.append(num)
        result = Text(indent[:-2] + "= ")
        result.append(fmt(step.value), _RESULT)
        verdict, style = self.app.crosscheck.verdict_line(step)
        result.append("    ")
        result.append(verdict, style)
        tail = [result]
        users = [i for i in frame.users(step.qid) if i > step.index]
        if users:
            tail.append(self._users_line(frame, step, users, width))
        return rows, tail

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

    def get_content_height(self, container, viewport, width: int) -> int:
        rows, tail = self.parts(width)
        return len(rows) + len(tail)

    def lines(self) -> list[Text]:
        width, height = self.content_size
        rows, tail = self.parts(width)
        if len(rows) + len(tail) > height:
            pairs = 1 if isinstance(self.app.frame.step.spec.rhs, (Ref, Const)) else 2
            keep = max(pairs, (height - len(tail) - 1) // pairs * pairs)
            hidden = (len(rows) - keep) // pairs
            rows = rows[:keep] + [Text(f"   … {hidden} more line(s) of this formula: make the window taller",
                                       "grey50")]
        return rows + tail
