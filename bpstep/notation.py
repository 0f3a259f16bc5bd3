"""Display names of quantities and formulas, in Unicode and in LaTeX.

A formula is a small tree (:class:`Ref`, :class:`Op`, …). It is rendered with symbols
(``z1 = W1·x1 + W2·x2``), with numbers (``0.3·0.1 + 0.25·0.2``), or as LaTeX for exports,
so that one description of each formula serves the terminal, the JSONL record and the worked
example.
"""

from __future__ import annotations

import math
import re

import numpy as np
from functools import cache
from operator import attrgetter

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
    """A value inside a formula: as :func:`fmt` without trailing zeros (0.3, not 0.30000000);
    a float32 number that is a short decimal (momentum 0.9, held as 0.89999998) as that decimal."""
    s = fmt(v)
    if "e" in s or "." not in s:
        return s
    s = s.rstrip("0").rstrip(".")
    if float(np.float32(v)) == v:
        short = np.format_float_positional(np.float32(v), trim="-")
        if len(short) + 3 <= len(s):
            return short
    return "0" if s in ("", "-0") else s


class _Node:
    """An immutable value: equal to a node of its own class with equal fields, hashable, and
    made without ``dataclass``, which compiles five methods for each class at import (half a
    millisecond each, at every start). The fields are the class's ``__slots__``, in order."""

    __slots__ = ()

    def __init__(self, *values):
        if len(values) != len(self.__slots__):
            raise TypeError(f"{type(self).__name__} takes {len(self.__slots__)} values, not {len(values)}")
        for name, value in zip(self.__slots__, values):
            object.__setattr__(self, name, value)

    def __init_subclass__(cls):
        get = attrgetter(*cls.__slots__)  # the fields as a tuple (one field: alone)
        cls._values = staticmethod((lambda node: (get(node),)) if len(cls.__slots__) == 1 else get)

    def __eq__(self, other):
        return other.__class__ is self.__class__ and self._values(other) == self._values(self)

    def __hash__(self):
        return hash(self._values(self))

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{n}={v!r}' for n, v in zip(self.__slots__, self._values(self)))})"

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is immutable")

    __delattr__ = __setattr__


class Name(_Node):
    """A quantity's name: Unicode for the terminal, LaTeX for exports."""

    __slots__ = ("uni", "tex")

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

    def mapping(self, bias: bool):
        """``(name, id)`` of the inputs, the units (z, a) and the parameters, layer by layer, as
        a generator: a big network's are many, and the help shows the first few."""
        yield from ((self.x(i).uni, f"x[{i}]") for i in range(1, self.sizes[0] + 1))
        for l in range(1, self.L + 1):
            for j in range(1, self.sizes[l] + 1):
                yield from ((self.z(l, j).uni, f"z[{l},{j}]"), (self.a(l, j).uni, f"a[{l},{j}]"))
            for j in range(1, self.sizes[l] + 1):
                yield from ((self.W(l, j, i).uni, f"W[{l},{j},{i}]") for i in range(1, self.sizes[l - 1] + 1))
                if bias:
                    yield self.b(l, j).uni, f"b[{l},{j}]"

    def given(self, family: str, idx: tuple) -> Name:
        """The name of a given quantity (x, t, W, b, lr) from its id's family and indices."""
        return self.lr if family == "lr" else getattr(self, family)(*idx)


# --- formula trees ------------------------------------------------------------------------------


class Ref(_Node):
    """A quantity inside a formula: shown by name, or by its value (looked up by ``key``);
    ``qid`` is its id with the sample (``z[1,1]@1``), for going to the step that computed it."""

    __slots__ = ("name", "key", "qid")


class Const(_Node):
    """A constant written in a formula (1, ½), in Unicode and LaTeX."""

    __slots__ = ("uni", "tex")


class Op(_Node):
    """Operands joined by one operator: ``+``, ``−``, ``·`` (weighted sums), ``×`` (chain rule),
    ``""`` (written side by side: ½(t − o)², o(1 − o)), ``=`` (a formula and what it simplifies to)."""

    __slots__ = ("op", "args")


class Call(_Node):
    """f(arg): an activation's symbol (σ, tanh, relu), ln; ``paren`` alone is plain
    parentheses. ``tex``: the function in LaTeX where it is not ln or parentheses."""

    __slots__ = ("fn", "arg", "tex")

    def __init__(self, fn, arg, tex=None):
        super().__init__(fn, arg, tex)


class Frac(_Node):
    """num / den, written as a fraction."""

    __slots__ = ("num", "den")


class Power(_Node):
    """(base)²"""

    __slots__ = ("base",)


class Pow(_Node):
    """base^exponent (β₁ᵗ)"""

    __slots__ = ("base", "exponent")


class Neg(_Node):
    """−(arg)"""

    __slots__ = ("arg",)


class Indicator(_Node):
    """[arg > 0]"""

    __slots__ = ("arg",)


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


def written_short(ref: Ref) -> bool:
    """Whether a number put in place of ``ref`` is written short (0.3, as a scenario gives it):
    a given one (x, t, W, b, and the settings without indices: α, the optimizer's β₁, ε, t…); a
    computed one keeps the 8 decimals it has as a result (0.60944600), so the same number reads
    the same wherever it stands."""
    qid = ref.qid.partition("@")[0]
    return qid.partition("[")[0] in ("x", "t", "W", "b") or ("[" not in qid and qid != "E")


def operands(node, numbers) -> list[str]:
    """The numbers of a formula's Refs as they are put into it (see :func:`written_short`),
    bracketed when negative where :func:`bracketed` says (0.5 × (-0.02))."""
    out = []
    for v, needs_brackets, ref in zip(numbers, bracketed(node), refs(node)):
        text = fmt_short(v) if written_short(ref) else fmt(v)
        out.append(f"({text})" if needs_brackets and text.startswith("-") else text)
    return out


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


# --- names read back: the names on screen as input ----------------------------------------------

_SUP_DIGITS, _SUB_DIGITS = "⁰¹²³⁴⁵⁶⁷⁸⁹", "₀₁₂₃₄₅₆₇₈₉"
_SAMPLE = re.compile(r"⁽([⁰¹²³⁴⁵⁶⁷⁸⁹]+)⁾|\^\(([0-9]+)\)")
_ATOM = re.compile(r"(?P<base>[A-Za-zδ]+?)(?:\^(?P<sup>[0-9]+))?(?:_(?P<sub>[0-9]+(?:,[0-9]+)*)|(?P<num>[0-9]+))(?P<plus>\+)?")


def _ascii(text: str) -> str:
    """A name in the ASCII spelling: z¹₁ → z^1_1, ∂ → d, ⁺ → +, α → lr."""
    out, prev = [], ""
    for ch in text:
        if ch in _SUP_DIGITS:
            out.append(("" if prev == "sup" else "^") + str(_SUP_DIGITS.index(ch)))
            prev = "sup"
            continue
        if ch in _SUB_DIGITS or (ch == "," and prev == "sub"):
            out.append(("" if prev == "sub" else "_") + (ch if ch == "," else str(_SUB_DIGITS.index(ch))))
            prev = "sub"
            continue
        out.append({"∂": "d", "⁺": "+", "α": "lr"}.get(ch, ch))
        prev = ""
    return "".join(out)


def parse_name(text: str, sizes) -> tuple | None:
    """``(id, sample or None)`` of a name bpstep shows, in either notation, Unicode or ASCII:
    ``W5`` → ``W[2,1,1]``, ``∂E/∂W5`` and ``dE/dW5`` → ``dE/dW[2,1,1]``, ``z¹₁`` and ``z^1_1``
    → ``z[1,1]``, ``∂E_o1/∂h1`` → ``dE[2,1]/da[1,1]``, ``E_total`` → ``E``, ``E⁽²⁾`` → ``E``
    of sample 2; None when it names nothing of a network of ``sizes``."""
    if re.search(r"[0-9⁰¹²³⁴⁵⁶⁷⁸⁹₀₁₂₃₄₅₆₇₈₉]{19,}", text):
        return None  # a number no network has (and one int() would refuse past 4,300 digits)
    found = _SAMPLE.search(text)
    sample = None
    if found:
        digits = found.group(1)
        sample = int("".join(str(_SUP_DIGITS.index(c)) for c in digits)) if digits else int(found.group(2))
        text = text[:found.start()] + text[found.end():]
    text = _ascii(text.strip())
    if text in ("lr", "alpha"):
        return "lr", sample
    num, slash, den = text.partition("/")
    if slash:
        if not (num.startswith("d") and den.startswith("d")):
            return None
        qid = _derivative(_atom(num[1:], sizes, numerator=True), _atom(den[1:], sizes))
    else:
        atom = _atom(text, sizes)
        qid = None if atom is None or atom[0] == "Eth" else _atom_id(*atom)
    return None if qid is None else (qid, sample)


def _atom(text: str, sizes, numerator: bool = False):
    """``(kind, indices, plus)`` of one name: kind x, t, W, b, z, a, Ek, E, δ, or Eth (the
    part of the loss through unit (l, j), read only as a derivative's numerator)."""
    L = len(sizes) - 1
    if text in ("E", "E_total"):
        return "E", (), False
    for prefix, kind in (("target_", "t"), ("E_", "Eth" if numerator else "Ek")):
        if text.startswith(prefix) and text != "E_total":
            unit = _atom(text[len(prefix):], sizes)
            if unit is None or unit[0] != "a" or unit[2]:
                continue  # E₁ is E_1: a loss term in the layered notation
            if kind == "Eth":
                return "Eth", unit[1], False
            return (kind, (unit[1][1],), False) if unit[1][0] == L else None
    m = _ATOM.fullmatch(text)
    if not m:
        return None
    base, plus = m.group("base"), bool(m.group("plus"))
    if m.group("num") is not None:  # flat: numbered across the network
        return _flat(base, int(m.group("num")), sizes, plus)
    sub = m.group("sub")
    units = tuple(int(v) for v in sub.split(",")) if "," in sub else tuple(int(c) for c in sub)
    layer = m.group("sup")
    if layer is None:  # x₁, t₁, o₁, E₁: no layer
        kinds = {"x": ("x", units), "t": ("t", units), "o": ("a", (L,) + units), "E": ("Ek", units)}
        return (*kinds[base], plus) if base in kinds and len(units) == 1 else None
    kind = {"z": "z", "a": "a", "W": "W", "b": "b", "δ": "δ"}.get(base)
    return None if kind is None else (kind, (int(layer),) + units, plus)


def _flat(base, n, sizes, plus):
    """The flat numbering of :class:`Namer` read back: W5 → W[2,1,1], h1 → a[1,1], z3 → z[2,1]."""
    L = len(sizes) - 1
    if base in ("x", "o"):
        return ("x", (n,), plus) if base == "x" else ("a", (L, n), plus)
    if base == "W":
        for l in range(1, L + 1):
            count = sizes[l] * sizes[l - 1]
            if 1 <= n <= count:
                return "W", (l, (n - 1) // sizes[l - 1] + 1, (n - 1) % sizes[l - 1] + 1), plus
            n -= count
        return None
    last = L if base in ("z", "b") else L - 1 if base == "h" else 0
    for l in range(1, last + 1):
        if 1 <= n <= sizes[l]:
            return ("a" if base == "h" else base), (l, n), plus
        n -= sizes[l]
    return None


def _atom_id(kind, idx, plus):
    if plus and kind not in ("W", "b"):
        return None
    family = {"Ek": "E", "δ": "dE/dz"}.get(kind, kind) + ("+" if plus else "")
    return family if not idx else f"{family}[{','.join(map(str, idx))}]"


def _derivative(num, den):
    """The id of ∂num/∂den, the derivatives an epoch computes, or None."""
    if num is None or den is None or num[2] or den[2]:
        return None
    (nk, ni, _), (dk, di, _) = num, den
    if nk == "E" and dk in ("a", "z", "W", "b"):
        return f"dE/d{dk}[{','.join(map(str, di))}]"
    if nk == "a" and dk == "z" and ni == di:
        return f"da[{ni[0]},{ni[1]}]/dz[{di[0]},{di[1]}]"
    if nk == "z" and dk in ("W", "b") and di[:2] == ni:
        return f"dz[{ni[0]},{ni[1]}]/d{dk}[{','.join(map(str, di))}]"
    if nk in ("z", "Eth") and dk == "a" and ni[0] == di[0] + 1:
        return f"d{'z' if nk == 'z' else 'E'}[{ni[0]},{ni[1]}]/da[{di[0]},{di[1]}]"
    return None
