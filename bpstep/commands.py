"""The command language: commands and breakpoint conditions are parsed here into
plain data, never passed to ``eval``; a script shared by someone else cannot run code."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from .functions import HYPER, QUANTITIES

_IDX = r"\[\s*\d+(?:\s*,\s*\d+)*\s*\]"
QID = re.compile(
    rf"(?:d(?:E|a|z)(?:{_IDX})?\s*/\s*d(?:a|z|W|b){_IDX}|(?:W\+|b\+|W|b|z|a|x|t){_IDX}|E(?:{_IDX})?|lr"
    rf"|(?:{'|'.join(QUANTITIES)})\(\s*(?:W|b){_IDX}\s*\)|(?:{'|'.join(HYPER)})(?![\w\[]))"
    r"(?:\s*@\s*\d+)?")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")
PHASES = ("forward", "loss", "backward", "update", "evaluate")

#: command → (aliases, usage)
COMMANDS = {
    "step": (("s",), "step [N]"),
    "next": (("n",), "next [N]"),
    "finish": (("f",), "finish"),
    "continue": (("c",), "continue"),
    "rstep": (("rs",), "rstep [N]"),
    "rnext": (("rn",), "rnext [N]"),
    "rfinish": (("rf",), "rfinish"),
    "rcontinue": (("rc",), "rcontinue"),
    "goto": (("g",), "goto epoch E [phase P] | goto step K | goto ID[@n]"),
    "break": (("b",), "break ID[@n] [if COND] | break phase P | break nan | break dead | break saturated [EPS] "
                      "| break vanishing [EPS] | break exploding [X]"),
    "delete": ((), "delete [K]"),
    "breaks": ((), "breaks"),
    "watch": (("w",), "watch ID[@n]"),
    "unwatch": ((), "unwatch ID[@n]"),
    "print": (("p",), "print ID[@n] | print classes | print accuracy"),
    "where": ((), "where"),
    "health": ((), "health"),
    "expect": ((), "expect ID[@n] VALUE [tol T]"),
    "restart": (("r",), "restart"),
    "view": ((), "view layer|scalar"),
    "set": ((), "set ID[@n] VALUE"),
    "reset": ((), "reset [ID[@n]]"),
    "save": ((), "save FILE"),
}
_ALIASES = {alias: name for name, (aliases, _) in COMMANDS.items() for alias in aliases}


class CommandError(ValueError):
    """A command or condition that cannot be parsed; ``str()`` says what was expected."""


@dataclass(frozen=True)
class Ref:
    """A quantity named in a command: its id and, with ``@n``, one sample."""

    id: str
    sample: int | None = None

    def __str__(self):
        return self.id if self.sample is None else f"{self.id}@{self.sample}"


@dataclass
class Command:
    name: str
    text: str
    count: int = 1
    ref: Ref | None = None
    epoch: int | None = None
    phase: str | None = None
    step: int | None = None
    cond: object = None  # parsed condition
    cond_text: str = ""
    nan: bool = False
    diagnostic: tuple | None = None  # (kind, threshold or None for the default)
    number: int | None = None
    value: float | None = None
    tol: float | None = None
    line: int | None = field(default=None, compare=False)
    arg: str | None = None  # view's mode, save's file, what print shows that is not a quantity




def parse_ref(text: str) -> Ref:
    text = text.strip()
    m = QID.fullmatch(text)
    if not m:
        raise CommandError(f"{text!r} is not a quantity id; expected e.g. z[1,1], a[2,1]@1, W[2,1,1], "
                           "dE/dW[2,1,1], W+[2,1,1], E")
    clean = re.sub(r"\s+", "", text)
    qid, _, sample = clean.partition("@")
    return Ref(qid, int(sample) if sample else None)


def split_script(text: str):
    """``(line number, command text)`` for every command of a script: one or more per line,
    separated by ``;``; ``#`` starts a comment."""
    for number, line in enumerate(text.splitlines(), 1):
        for part in line.split("#", 1)[0].split(";"):
            if part.strip():
                yield number, part.strip()


def parse(text: str) -> Command:
    words = text.split()
    if not words:
        raise CommandError("empty command")
    head = words[0].lower()
    name = _ALIASES.get(head, head)
    if name not in COMMANDS:
        raise CommandError(f"unknown command {words[0]!r}; expected one of: {', '.join(COMMANDS)}")
    rest = text.strip()[len(words[0]):].strip()
    args = rest.split()
    usage = COMMANDS[name][1]

    def bad(why):
        return CommandError(f"{name}: {why}; usage: {usage}")

    cmd = Command(name=name, text=text.strip())
    if name in ("step", "next", "rstep", "rnext"):
        if len(args) > 1 or (args and not (args[0].isdigit() and int(args[0]) >= 1)):
            raise bad(f"expected a count ≥ 1, got {rest!r}")
        cmd.count = int(args[0]) if args else 1
    elif name in ("finish", "continue", "rfinish", "rcontinue", "breaks", "where", "restart", "health"):
        if args:
            raise bad(f"takes no arguments, got {rest!r}")
    elif name == "goto":
        if not args:
            raise bad("expected where to go")
        if args[0] == "epoch":
            if len(args) not in (2, 4) or not args[1].isdigit() or (len(args) == 4 and args[2] != "phase"):
                raise bad(f"got {rest!r}")
            cmd.epoch = int(args[1])
            if len(args) == 4:
                cmd.phase = _phase(args[3], bad)
        elif args[0] == "step":
            if len(args) != 2 or not args[1].isdigit():
                raise bad(f"expected a step number, got {rest!r}")
            cmd.step = int(args[1])
        else:
            cmd.ref = _ref_or(rest, bad)
    elif name == "break":
        if not args:
            raise bad("expected what to break on")
        if args[0] == "phase":
            if len(args) != 2:
                raise bad(f"got {rest!r}")
            cmd.phase = _phase(args[1], bad)
        elif args[0] == "nan" and len(args) == 1:
            cmd.nan = True
        elif args[0] == "dead" and len(args) == 1:
            cmd.diagnostic = ("dead", None)
        elif args[0] in ("saturated", "vanishing", "exploding") and len(args) <= 2:
            threshold = _number(args[1], bad, f"the {args[0]} threshold") if len(args) == 2 else None
            if threshold is not None and threshold <= 0:
                raise bad(f"the {args[0]} threshold must be > 0, got {args[1]!r}")
            cmd.diagnostic = (args[0], threshold)
        else:
            target, *cond = re.split(r"\s+if(?:\s+|$)", rest, maxsplit=1)
            if cond and not cond[0].strip():
                raise bad("expected a condition after 'if'")
            cmd.ref = _ref_or(target, bad)
            if cond:
                cmd.cond = parse_condition(cond[0])
                cmd.cond_text = cond[0].strip()
    elif name == "delete":
        if len(args) > 1 or (args and not args[0].isdigit()):
            raise bad(f"expected a breakpoint number, got {rest!r}")
        cmd.number = int(args[0]) if args else None
    elif name == "print" and args in (["classes"], ["accuracy"]):
        cmd.arg = args[0]
    elif name in ("watch", "unwatch", "print"):
        if not args:
            raise bad("expected a quantity id")
        cmd.ref = _ref_or(rest, bad)
    elif name == "expect":
        m = re.fullmatch(r"(.+?)\s+(\S+)(?:\s+tol\s+(\S+))?", rest)
        if not m:
            raise bad(f"got {rest!r}")
        cmd.ref = _ref_or(m.group(1), bad)
        cmd.value = _number(m.group(2), bad, "the expected value")
        if m.group(3) is not None:
            cmd.tol = _number(m.group(3), bad, "the tolerance")
            if cmd.tol < 0:
                raise bad("the tolerance must be ≥ 0")
        else:
            cmd.tol = printed_tolerance(m.group(2))
    elif name == "view":
        if args not in (["layer"], ["scalar"]):
            raise bad(f"expected layer or scalar, got {rest!r}")
        cmd.arg = args[0]
    elif name == "set":
        parts = rest.rsplit(None, 1)
        if len(parts) != 2:
            raise bad(f"expected an id and a value, got {rest!r}")
        cmd.ref, cmd.value = _ref_or(parts[0], bad), _number(parts[1], bad, "the value")
    elif name == "reset":
        cmd.ref = _ref_or(rest, bad) if rest else None
    elif name == "save":
        if not rest.endswith(".toml"):
            # a script shared by someone else may say save: it must not overwrite ~/.bashrc
            raise bad(f"expected a scenario file name ending in .toml, got {rest!r}")
        cmd.arg = rest
    return cmd


def printed_tolerance(text: str) -> float:
    """Half a unit in the last written digit: ``0.51998934`` → 5e-9, ``0.08`` → 0.005."""
    mantissa, _, exponent = text.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 0.5 * 10.0 ** (-decimals + (int(exponent) if exponent else 0))


def _phase(text, bad):
    if text not in PHASES:
        raise bad(f"unknown phase {text!r}; expected one of: {', '.join(PHASES)}")
    return text


def _ref_or(text, bad):
    try:
        return parse_ref(text)
    except CommandError as e:
        raise bad(str(e)) from None


def _number(text, bad, what):
    if not _NUMBER.match(text):
        raise bad(f"{what} {text!r} is not a number")
    value = float(text)
    if not math.isfinite(value):
        raise bad(f"{what} must be finite")
    return value


# --- conditions: a tiny expression language --------------------------------------------------

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
    | (?P<op><=|>=|==|!=|<|>|\+|-|\*|/|\(|\))
    | (?P<word>[A-Za-z_][A-Za-z_0-9]*)
    )""", re.VERBOSE)
_COMPARE = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b}
_ARITH = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
          "/": lambda a, b: np.where(b != 0, a / np.where(b != 0, b, 1),
                                     np.where(a != 0, np.copysign(np.inf, a), np.nan))}


def _tokens(text):
    pos, out = 0, []
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        m = QID.match(text, pos)
        # an id wins over a word only where it is a whole id (``value`` is not ``v`` + ``alue``)
        if m and not re.match(r"[A-Za-z_0-9]", text[m.end():m.end() + 1] or " "):
            out.append(("id", parse_ref(m.group(0))))
            pos = m.end()
            continue
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise CommandError(f"condition: unexpected {text[pos:]!r} at column {pos + 1}")
        kind = m.lastgroup
        out.append((kind, float(m.group(kind)) if kind == "num" else m.group(kind)))
        pos = m.end()
    return out


def parse_condition(text: str):
    """``value > 0.5 and abs(dE/dW[2,1,1]) < 1e-3`` → a tree of tuples."""
    toks = _tokens(text)
    pos = 0

    def peek():
        return toks[pos] if pos < len(toks) else (None, None)

    def take(kind=None, value=None):
        nonlocal pos
        tok = peek()
        if tok[0] is None or (kind and tok[0] != kind) or (value and tok[1] != value):
            want = value or kind or "more"
            got = "the end" if tok[0] is None else repr(str(tok[1]))
            raise CommandError(f"condition {text!r}: expected {want}, got {got}")
        pos += 1
        return tok

    def or_():
        node = and_()
        while peek() == ("word", "or"):
            take()
            node = ("or", node, and_())
        return node

    def and_():
        node = not_()
        while peek() == ("word", "and"):
            take()
            node = ("and", node, not_())
        return node

    def not_():
        if peek() == ("word", "not"):
            take()
            return ("not", not_())
        return compare()

    def compare():
        node = sum_()
        if peek()[0] == "op" and peek()[1] in _COMPARE:
            op = take()[1]
            node = ("cmp", op, node, sum_())
        return node

    def sum_():
        node = term()
        while peek()[0] == "op" and peek()[1] in "+-":
            op = take()[1]
            node = ("arith", op, node, term())
        return node

    def term():
        node = unary()
        while peek()[0] == "op" and peek()[1] in ("*", "/"):
            op = take()[1]
            node = ("arith", op, node, unary())
        return node

    def unary():
        if peek() == ("op", "-"):
            take()
            return ("neg", unary())
        return primary()

    def primary():
        kind, value = peek()
        if kind == "num":
            take()
            return ("num", value)
        if kind == "id":
            take()
            return ("id", value)
        if kind == "word" and value == "value":
            take()
            return ("value",)
        if kind == "word" and value == "abs":
            take()
            take("op", "(")
            inner = or_()
            take("op", ")")
            return ("abs", inner)
        if kind == "op" and value == "(":
            take()
            inner = or_()
            take("op", ")")
            return inner
        got = "the end" if kind is None else repr(str(value))
        raise CommandError(f"condition {text!r}: expected a number, an id, value, abs(…) or (…), got {got}")

    tree = or_()
    if pos != len(toks):
        raise CommandError(f"condition {text!r}: unexpected {str(toks[pos][1])!r}")
    return tree


def condition_refs(tree):
    """The quantity ids a condition reads."""
    if tree[0] == "id":
        yield tree[1]
    for part in tree[1:]:
        if isinstance(part, tuple):
            yield from condition_refs(part)


def evaluate(tree, value, lookup):
    """Evaluate a condition over one value or a whole array of them at once (NumPy operations,
    elementwise); ``lookup(ref)`` gives the value (or array) of an id. A number is true when it
    is not 0, as in Python (NaN is true); x / 0 is ±∞ by the sign of x, 0 / 0 NaN."""
    kind = tree[0]
    if kind == "num":
        return np.float64(tree[1])
    if kind == "value":
        return value
    if kind == "id":
        return lookup(tree[1])
    if kind == "neg":
        return -evaluate(tree[1], value, lookup)
    if kind == "abs":
        return np.abs(evaluate(tree[1], value, lookup))
    if kind == "not":
        return ~_truth(evaluate(tree[1], value, lookup))
    if kind == "and":
        return _truth(evaluate(tree[1], value, lookup)) & _truth(evaluate(tree[2], value, lookup))
    if kind == "or":
        return _truth(evaluate(tree[1], value, lookup)) | _truth(evaluate(tree[2], value, lookup))
    a, b = evaluate(tree[2], value, lookup), evaluate(tree[3], value, lookup)
    with np.errstate(all="ignore"):
        if kind == "cmp":
            return _COMPARE[tree[1]](a, b)
        if kind == "arith":
            return _ARITH[tree[1]](a, b)
    raise ValueError(tree)


def _truth(v):
    return np.asarray(v) != 0
