"""The command language: commands and breakpoint conditions are parsed here into
plain data, never passed to ``eval``; a script shared by someone else cannot run code."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from .ids import EVERY
from .functions import HYPER, QUANTITIES

# Limits that make the parser total: every text is a command or one CommandError, never a
# traceback, however long, deep or large what it holds (README.md, "Limits").
#: characters in one command
MAX_COMMAND_CHARS = 1000
#: digits in a whole number (a count, an epoch, a step, an index, a sample): below 10**18
MAX_DIGITS = 18
#: parentheses (and abs(…)) nested in a condition
MAX_DEPTH = 32
#: operators in a condition (arithmetic, comparisons, and, or, not, unary minus)
MAX_OPERATORS = 100

# only ASCII digits are digits: str.isdigit and \d also take ² ① ٣, which int refuses or reads
_WHOLE = rf"[0-9]{{1,{MAX_DIGITS}}}"
_IDX = rf"\[\s*{_WHOLE}(?:\s*,\s*{_WHOLE})*\s*\]"
QID = re.compile(
    rf"(?:d(?:E|a|z)(?:{_IDX})?\s*/\s*d(?:a|z|W|b){_IDX}|(?:W\+|b\+|W|b|z|a|x|t){_IDX}|E(?:{_IDX})?|lr"
    rf"|(?:{'|'.join(QUANTITIES)})\(\s*(?:W|b){_IDX}\s*\)|(?:{'|'.join(HYPER)})(?![\w\[]))"
    rf"(?:\s*@\s*(?:{_WHOLE}|\*))?")
_ATOM = (r"[A-Za-zαδ](?:[A-Za-z0-9_,^⁰¹²³⁴⁵⁶⁷⁸⁹₀₁₂₃₄₅₆₇₈₉⁽⁾]|\^\([0-9]+\))*"
         r"(?:⁺|\+(?=$|[\s@)<>=!]))?")
#: a name as bpstep shows it (W5, h1, ∂E/∂W5, E_total, z¹₁, dE/dW^1_12): the session reads it
#: back to an id with the scenario's sizes (bpstep.notation.parse_name)
NAME = re.compile(rf"(?:[d∂]{_ATOM}/[d∂]{_ATOM}|{_ATOM})(?:\s*@\s*(?:{_WHOLE}|\*))?")
_KEYWORDS = frozenset({"value", "abs", "and", "or", "not"})
_REAL = r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
_NUMBER = re.compile(rf"[-+]?{_REAL}$")
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
    "goto": (("g",), "goto epoch E [iteration I] [phase P] | goto step K | goto ID[@n]"),
    "break": (("b",), "break ID[@n] [if COND] | break phase P | break nan | break dead | break saturated [EPS] "
                      "| break vanishing [EPS] | break exploding [X]"),
    "delete": ((), "delete [K]"),
    "breaks": ((), "breaks"),
    "watch": (("w",), "watch ID[@n]"),
    "unwatch": ((), "unwatch ID[@n]"),
    "print": (("p",), "print ID[@n] | print classes | print accuracy | print order"),
    "where": ((), "where"),
    "health": ((), "health"),
    "expect": ((), "expect ID[@n] VALUE [tol T]"),
    "restart": (("r",), "restart"),
    "view": ((), "view layer|scalar"),
    "set": ((), "set ID[@n] VALUE"),
    "reset": ((), "reset [ID[@n]]"),
    "save": ((), "save FILE | save! FILE"),
    "quiz": ((), "quiz on [FAMILY…] | quiz off | quiz tol T | quiz report"),
    "answer": ((), "answer VALUE"),
}
_ALIASES = {alias: name for name, (aliases, _) in COMMANDS.items() for alias in aliases}


class CommandError(ValueError):
    """A command or condition that cannot be parsed; ``str()`` says what was expected."""


@dataclass(frozen=True)
class Ref:
    """A quantity named in a command: its id and, with ``@n``, one sample (``@*``: every
    sample, :data:`bpstep.ids.EVERY`); see :mod:`bpstep.ids` for what no sample means."""

    id: str
    sample: int | str | None = None

    def __str__(self):
        return self.id if self.sample is None else f"{self.id}@{self.sample}"


@dataclass
class Command:
    """One parsed command of the command language: its name, its text and its arguments."""

    name: str
    text: str
    count: int = 1
    ref: Ref | None = None
    epoch: int | None = None
    iteration: int | None = None  # goto epoch E iteration I (mini-batches)
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
    arg: str | None = None  # view's mode, save's file, what print shows that is not a quantity, quiz's verb
    names: tuple = ()  # "W5 = W[2,1,1]" for each name typed, read back by the session
    words: tuple = ()  # the families of ``quiz on``
    force: bool = False  # save! or save --force: replace a file that exists




def parse_ref(text: str) -> Ref:
    """An id or a name as shown, with its sample; a name's id is left to the session to read."""
    text = text.strip()
    if not (QID.fullmatch(text) or NAME.fullmatch(text)):
        raise CommandError(f"{text!r} is not a quantity id; expected e.g. z[1,1], a[2,1]@1, W[2,1,1], "
                           "dE/dW[2,1,1], W+[2,1,1], E, or a name as shown: W5, h1, ∂E/∂W5, dE/dW5, z¹₁")
    clean = re.sub(r"\s+", "", text)
    qid, _, sample = clean.partition("@")
    return Ref(qid, None if not sample else sample if sample == EVERY else int(sample))


def split_script(text: str):
    """``(line number, command text)`` for every command of a script: one or more per line,
    separated by ``;``; ``#`` starts a comment."""
    for number, line in enumerate(text.splitlines(), 1):
        for part in line.split("#", 1)[0].split(";"):
            if part.strip():
                yield number, part.strip()


def parse(text: str) -> Command:
    if len(text) > MAX_COMMAND_CHARS:
        raise CommandError(f"a command of {len(text):,} characters; expected at most {MAX_COMMAND_CHARS:,}")
    words = text.split()
    if not words:
        raise CommandError("empty command")
    head = words[0].lower()
    force = head == "save!"  # the one command with a "!": save, replacing what is there
    name = "save" if force else _ALIASES.get(head, head)
    if name not in COMMANDS:
        raise CommandError(f"unknown command {words[0]!r}; expected one of: {', '.join(COMMANDS)}")
    rest = text.strip()[len(words[0]):].strip()
    args = rest.split()
    usage = COMMANDS[name][1]

    def bad(why):
        return CommandError(f"{name}: {why}; usage: {usage}")

    cmd = Command(name=name, text=text.strip(), force=force)
    if name in ("step", "next", "rstep", "rnext"):
        count = whole_number(args[0]) if len(args) == 1 else 1
        if len(args) > 1 or not count:
            raise bad(f"expected a count ≥ 1 of at most {MAX_DIGITS} digits, got {rest!r}")
        cmd.count = count
    elif name in ("finish", "continue", "rfinish", "rcontinue", "breaks", "where", "restart", "health"):
        if args:
            raise bad(f"takes no arguments, got {rest!r}")
    elif name == "goto":
        if not args:
            raise bad("expected where to go")
        if args[0] == "epoch":
            cmd.epoch = whole_number(args[1]) if len(args) in (2, 4, 6) else None
            if len(args) in (2, 4, 6) and cmd.epoch is None and args[1].isascii() and args[1].isdigit():
                raise bad(f"epoch {args[1]} has more than {MAX_DIGITS} digits")
            more = args[2:]
            if len(more) >= 2 and more[0] == "iteration":
                cmd.iteration = whole_number(more[1])
                if cmd.iteration is None:
                    raise bad(f"expected an iteration number, got {rest!r}")
                more = more[2:]
            if cmd.epoch is None or more and (len(more) != 2 or more[0] != "phase"):
                raise bad(f"got {rest!r}")
            if more:
                cmd.phase = _phase(more[1], bad)
        elif args[0] == "step":
            cmd.step = whole_number(args[1]) if len(args) == 2 else None
            if cmd.step is None:
                raise bad(f"expected a step number, got {rest!r}")
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
        cmd.number = whole_number(args[0]) if len(args) == 1 else None
        if len(args) > 1 or (args and cmd.number is None):
            raise bad(f"expected a breakpoint number, got {rest!r}")
    elif name == "print" and args in (["classes"], ["accuracy"], ["order"]):
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
            try:
                cmd.tol = printed_tolerance(m.group(2))
            except OverflowError:  # 0e400: a finite value whose last digit is worth more than any float
                raise bad(f"the tolerance of {m.group(2)!r}, half its last digit, is not a finite number; "
                          "expected a value with a smaller exponent, or tol T") from None
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
        if rest.endswith(" --force"):
            rest, cmd.force = rest[:-len(" --force")].rstrip(), True
        if not rest.endswith(".toml"):
            # a script shared by someone else may say save: it must not overwrite ~/.bashrc
            raise bad(f"expected a scenario file name ending in .toml, got {rest!r}")
        cmd.arg = rest
    elif name == "quiz":
        if args[:1] == ["on"]:
            cmd.words = tuple(args[1:])
        elif args[:1] == ["tol"] and len(args) == 2:
            cmd.tol = _number(args[1], bad, "the tolerance")
            if cmd.tol < 0:
                raise bad("the tolerance must be ≥ 0")
        elif args not in (["off"], ["report"]):
            raise bad(f"got {rest!r}")
        cmd.arg = args[0]
    elif name == "answer":
        if len(args) != 1:
            raise bad(f"expected one number, got {rest!r}")
        # the digits typed set the tolerance, so the text is kept as typed
        cmd.value, cmd.arg = _number(args[0], bad, "the answer"), args[0]
    return cmd


def whole_number(text: str) -> int | None:
    """The whole number ``text`` writes in at most :data:`MAX_DIGITS` ASCII digits, else None."""
    return int(text) if re.fullmatch(_WHOLE, text) else None


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
    value = finite_number(text)
    if value is None:
        raise bad(f"{what} {text!r} is not a number" if not _NUMBER.match(text) else f"{what} must be finite")
    return value


def finite_number(text: str) -> float | None:
    """``text`` as a finite number, or None (words, nan and inf are not numbers here)."""
    if not _NUMBER.match(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


# --- conditions: a tiny expression language --------------------------------------------------

_TOKEN = re.compile(rf"""
    \s*(?:
      (?P<num>{_REAL})
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
        if not (m and _whole(text, m)):
            m = NAME.match(text, pos)
            m = m if m and m.group(0) not in _KEYWORDS else None
        # an id wins over a word only where it is a whole id (``value`` is not ``v`` + ``alue``)
        if m and _whole(text, m):
            out.append(("id", parse_ref(m.group(0))))
            pos = m.end()
            continue
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise CommandError(f"condition: unexpected {text[pos:]!r} at column {pos + 1}")
        kind = m.lastgroup
        if kind == "num" and not math.isfinite(float(m.group(kind))):
            raise CommandError(f"condition: the number {m.group(kind)!r} at column {pos + 1} is not finite; "
                               "expected a number below 1.8e308")
        out.append((kind, float(m.group(kind)) if kind == "num" else m.group(kind)))
        pos = m.end()
    return out


def _whole(text, m) -> bool:
    return not re.match(r"[A-Za-z_0-9]", text[m.end():m.end() + 1] or " ")


def map_refs(tree, fn):
    """The condition with each id's Ref replaced by ``fn(ref)``."""
    if tree[0] == "id":
        return ("id", fn(tree[1]))
    return tuple(map_refs(part, fn) if isinstance(part, tuple) else part for part in tree)


def _check_size(toks, text):
    """Refuse a condition nested deeper than :data:`MAX_DEPTH` or with more than
    :data:`MAX_OPERATORS` operators, before the recursive parser (and later the recursive
    evaluation) could run out of stack."""
    depth = operators = 0
    for kind, value in toks:
        if kind == "op" and value == "(":
            depth += 1
            if depth > MAX_DEPTH:
                raise CommandError(f"condition: parentheses nested more than {MAX_DEPTH} deep; "
                                   f"expected at most {MAX_DEPTH}")
        elif kind == "op" and value == ")":
            depth -= 1
        elif kind == "op" or value in ("and", "or", "not"):
            operators += 1
    if operators > MAX_OPERATORS:
        raise CommandError(f"condition: {operators} operators; expected at most {MAX_OPERATORS}")


def parse_condition(text: str):
    """``value > 0.5 and abs(dE/dW[2,1,1]) < 1e-3`` → a tree of tuples."""
    toks = _tokens(text)
    _check_size(toks, text)
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
