"""Display names of quantities and formulas, in Unicode and in LaTeX.

A formula is a small tree (:class:`Ref`, :class:`Op`, …). It is rendered with symbols
(``z1 = W1·x1 + W2·x2``), with numbers (``0.3·0.1 + 0.25·0.2``), or as LaTeX for exports,
so that one description of each formula serves the terminal, the JSONL record and the worked
example.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

_SUB = str.maketrans("0123456789,", "₀₁₂₃₄₅₆₇₈₉,")
_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def sup(text) -> str:
    """Digits as superscripts: 12 → ¹²."""
    return str(text).translate(_SUP)


def fmt(v: float) -> str:
    """A value as the lecture prints it: 8 decimals, or scientific notation when tiny or huge."""
    if v == 0:
        return "0.00000000"  # also for −0.0, which 0·x gives when x < 0
    if 1e-4 <= abs(v) < 1e6:
        return f"{v:.8f}"
    if not math.isfinite(v):
        return str(v)
    return f"{v:.6e}"


def fmt_short(v: float) -> str:
    """A value inside a formula: as :func:`fmt` without trailing zeros (0.3, not 0.30000000)."""
    s = fmt(v)
    if "e" in s or "." not in s:
        return s
    s = s.rstrip("0").rstrip(".")
    return "0" if s in ("", "-0") else s


def fmt_operand(v: float) -> str:
    """A number put into a formula: :func:`fmt_short`, bracketed when negative (0.5 × (-0.02))."""
    s = fmt_short(v)
    return f"({s})" if s.startswith("-") else s


@dataclass(frozen=True)
class Name:
    """A quantity's name: Unicode for the terminal, LaTeX for exports."""

    uni: str
    tex: str

    def plus(self) -> "Name":
        return Name(self.uni + "⁺", "{" + self.tex + "}^{+}")

    def sample(self, n: int) -> "Name":
        return Name(f"{self.uni}⁽{str(n).translate(_SUP)}⁾", "{" + self.tex + "}^{(" + str(n) + ")}")


@cache
def d(num: Name, den: Name) -> Name:
    """∂num/∂den"""
    return Name(f"∂{num.uni}/∂{den.uni}", r"\frac{\partial " + num.tex + r"}{\partial " + den.tex + "}")


class Namer:
    """Names in a scenario's notation: ``flat`` numbers units and weights across the whole
    network (z1..z4, h1, h2, o1, W1..W8, as the lecture); ``layered`` writes the layer as a
    superscript and the units as subscripts (z¹₁, a¹₁, W¹₁₂, o₁)."""

    def __init__(self, sizes, notation: str):
        self.sizes, self.flat = tuple(sizes), notation == "flat"
        self.L = len(sizes) - 1

    def _units_before(self, l):
        return sum(self.sizes[1:l])

    @cache  # names repeat across samples and formulas; a network's are few
    def _sym(self, base, sub, sup="", sep=""):
        if self.flat:
            return Name(f"{base}{sep}{sub}", f"{base}_{{{sub}}}")
        subs = ",".join(str(s) for s in sub) if any(s >= 10 for s in sub) else "".join(map(str, sub))
        uni = base + str(sup).translate(_SUP) + subs.translate(_SUB)
        tex = base + (f"^{{{sup}}}" if sup != "" else "") + f"_{{{subs}}}"
        return Name(uni, tex)

    def x(self, i):
        return self._sym("x", i if self.flat else (i,))

    def t(self, k):
        return self._sym("target", f"o{k}", sep="_") if self.flat else self._sym("t", (k,))

    def W(self, l, j, i):
        if self.flat:
            n = sum(self.sizes[m] * self.sizes[m - 1] for m in range(1, l)) + (j - 1) * self.sizes[l - 1] + i
            return self._sym("W", n)
        return self._sym("W", (j, i), l)

    def b(self, l, j):
        return self._sym("b", self._units_before(l) + j) if self.flat else self._sym("b", (j,), l)

    def z(self, l, j):
        return self._sym("z", self._units_before(l) + j) if self.flat else self._sym("z", (j,), l)

    def a(self, l, j):
        if l == self.L:
            return self._sym("o", j if self.flat else (j,))
        return self._sym("h", self._units_before(l) + j) if self.flat else self._sym("a", (j,), l)

    def E_term(self, k):
        return self._sym("E", f"o{k}", sep="_") if self.flat else self._sym("E", (k,))

    def E(self):
        return Name("E_total", "E_{total}") if self.flat else Name("E", "E")

    def E_through(self, l, j):
        """The part of the loss that flows through unit j of layer l (the lecture's E_o1)."""
        a = self.a(l, j)
        return Name(f"E_{a.uni}", "E_{" + a.tex + "}")

    lr = Name("α", r"\alpha")


# --- formula trees ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """A quantity inside a formula: shown by name, or by its value (looked up by ``key``);
    ``qid`` is its id with the sample (``z[1,1]@1``), for going to the step that computed it."""

    name: Name
    key: tuple
    qid: str


@dataclass(frozen=True)
class Const:
    uni: str
    tex: str


@dataclass(frozen=True)
class Op:
    """Operands joined by one operator: ``+``, ``−``, ``·`` (weighted sums), ``×`` (chain rule),
    ``""`` (written side by side: ½(t − o)², o(1 − o)), ``=`` (a formula and what it simplifies to)."""

    op: str
    args: tuple


@dataclass(frozen=True)
class Call:
    """f(arg): an activation's symbol (σ, tanh, relu), ln; ``paren`` alone is plain
    parentheses. ``tex``: the function in LaTeX where it is not ln or parentheses."""

    fn: str
    arg: object
    tex: str | None = None


@dataclass(frozen=True)
class Frac:
    num: object
    den: object


@dataclass(frozen=True)
class Power:
    """(base)²"""

    base: object


@dataclass(frozen=True)
class Pow:
    """base^exponent (β₁ᵗ)"""

    base: object
    exponent: object


@dataclass(frozen=True)
class Neg:
    """−(arg)"""

    arg: object


@dataclass(frozen=True)
class Indicator:
    """[arg > 0]"""

    arg: object


ONE = Const("1", "1")
HALF = Const("½", r"\frac{1}{2}")
_TEX_OP = {"+": "+", "−": "-", "·": r"\cdot", "×": r"\times", "": "", "=": "="}
_TEX_FN = {"ln": r"\ln", "exp": r"\exp", "paren": ""}


def refs(node):
    """The Refs of a formula, in reading order."""
    if isinstance(node, Ref):
        yield node
    elif isinstance(node, Op):
        for a in node.args:
            yield from refs(a)
    elif isinstance(node, Frac):
        yield from refs(node.num)
        yield from refs(node.den)
    elif isinstance(node, (Call, Power, Neg, Indicator)):
        yield from refs(node.arg if not isinstance(node, Power) else node.base)
    elif isinstance(node, Pow):
        yield from refs(node.base)
        yield from refs(node.exponent)


def bracketed(node) -> tuple:
    """For each Ref in reading order, whether a negative number put in its place needs brackets:
    not where the formula is that Ref alone, nor inside f(…), −(…) and (…)², which have theirs."""
    out = []

    def walk(n, enclosed):
        if isinstance(n, Ref):
            out.append(not enclosed)
        elif isinstance(n, Op):
            for a in n.args:
                walk(a, False)
        elif isinstance(n, (Frac, Pow)):
            walk(n.num if isinstance(n, Frac) else n.base, False)
            walk(n.den if isinstance(n, Frac) else n.exponent, False)
        elif isinstance(n, Power):
            walk(n.base, True)
        elif isinstance(n, (Call, Neg, Indicator)):
            walk(n.arg, True)

    walk(node, True)
    return tuple(out)


def operands(node, numbers) -> list[str]:
    """The numbers of a formula's Refs as they are put into it (see :func:`bracketed`)."""
    return [fmt_operand(v) if b else fmt_short(v) for v, b in zip(numbers, bracketed(node))]


def render(node, leaf, tex=False) -> str:
    """Render a formula; ``leaf(ref)`` gives the text of each quantity (its name or number)."""
    def r(n):
        if isinstance(n, Ref):
            return leaf(n)
        if isinstance(n, Const):
            return n.tex if tex else n.uni
        if isinstance(n, Op):
            op = _TEX_OP[n.op] if tex else n.op
            sep = f" {op} " if op and op != "·" else op  # W1·x1 + W2·x2 reads as one term each
            return sep.join(r(a) for a in n.args)
        if isinstance(n, Call):
            if tex:
                return f"{_TEX_FN[n.fn] if n.tex is None else n.tex}\\left({r(n.arg)}\\right)"
            return f"{'' if n.fn == 'paren' else n.fn}({r(n.arg)})"
        if isinstance(n, Frac):
            return f"\\frac{{{r(n.num)}}}{{{r(n.den)}}}" if tex else f"{_wrap(n.num, r)}/{_wrap(n.den, r)}"
        if isinstance(n, Power):
            return f"\\left({r(n.base)}\\right)^{{2}}" if tex else f"({r(n.base)})²"
        if isinstance(n, Neg):
            return f"-\\left({r(n.arg)}\\right)" if tex else f"−({r(n.arg)})"
        if isinstance(n, Indicator):
            return f"[{r(n.arg)} > 0]"
        if isinstance(n, Pow):
            return f"{{{r(n.base)}}}^{{{r(n.exponent)}}}" if tex else f"{r(n.base)}^{r(n.exponent)}"
        raise TypeError(n)
    return r(node)


def _wrap(node, r):
    text = r(node)
    simple = isinstance(node, (Ref, Const, Call, Power, Neg, Indicator))
    return text if simple else f"({text})"
