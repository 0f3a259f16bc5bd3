"""The command and condition parser is total: every text is a command or one CommandError,
never another exception, however long, deep, large or exotic what it holds; and so is a
Session running it. Reproducers of each class the fuzz campaign of issue 13 found, then the
property over arbitrary and grammar-shaped text."""

import os
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from bpstep import commands, loading
from bpstep.commands import CommandError
from bpstep.session import Session


def fresh_session():
    return Session(loading.load("worked-222"))


# label → (command, what the one-line error says)
REPRODUCERS = {
    "superscript count": ("step ²", "expected a count ≥ 1"),
    "circled count": ("next ①", "expected a count ≥ 1"),
    "superscript breakpoint number": ("delete ³", "expected a breakpoint number"),
    "circled epoch": ("goto epoch ⑤", "usage: goto epoch E"),
    "Arabic-Indic index": ("print z[١,1]", "is not a quantity id"),
    "superscript sample": ("watch z[1,1]@²", "is not a quantity id"),
    "circled digit in a condition": ("break E if value > ①", "unexpected"),
    "tolerance overflowing to infinity": ("expect E 1 tol 1e999", "the tolerance must be finite"),
    "expected value overflowing": ("expect E 1e999", "the expected value must be finite"),
    "printed tolerance overflowing": ("expect E 0e400", "half its last digit, is not a finite number"),
    "infinite number in a condition": ("break E if value > 1e999", "is not finite"),
    "5,000-digit count": ("step " + "9" * 5000, "a command of 5,005 characters; expected at most 1,000"),
    "5,000-digit step": ("goto step " + "7" * 5000, "expected at most 1,000"),
    "19-digit count": ("step " + "1" * 19, "at most 18 digits"),
    "19-digit epoch": ("goto epoch " + "1" * 19, "has more than 18 digits"),
    "19-digit sample": ("print z[1,1]@" + "1" * 19, "is not a quantity id"),
    "19-digit index": ("print z[" + "1" * 19 + ",1]", "is not a quantity id"),
    "120-deep parentheses": ("break E if " + "(" * 120 + "value" + ")" * 120 + " > 0",
                             "parentheses nested more than 32 deep"),
    "120-deep abs": ("break E if " + "abs(" * 120 + "value" + ")" * 120 + " > 0",
                     "parentheses nested more than 32 deep"),
    "1,000 chained operators": ("break E if value" + " + 1" * 1000 + " > 0", "expected at most 1,000"),
    "400 chained operators": ("break E if " + "+".join(["1"] * 400), "399 operators; expected at most 100"),
    "200 nots": ("break E if " + "not " * 200 + "value", "200 operators; expected at most 100"),
    "200 unary minuses": ("break E if " + "-" * 200 + "value", "200 operators; expected at most 100"),
}


@pytest.mark.parametrize("command, why", REPRODUCERS.values(), ids=REPRODUCERS.keys())
def test_each_class_is_one_line_of_the_projects_error(command, why):
    with pytest.raises(CommandError) as parsed:
        fresh_session().execute(command)
    message = str(parsed.value)
    assert why in message and "\n" not in message


def test_the_limits_themselves_are_accepted():
    session = fresh_session()
    last = session.execute("step " + "9" * 18).step
    assert (last.epoch, last.phase) == (1, "evaluate")
    deep = "(" * 32 + "value" + ")" * 32
    session.execute(f"break E if {deep} > 0")
    session.execute("break E if " + " + ".join(["value"] * 100) + " != 0")
    session.execute("break E if " + "-" * 99 + "value > 0")
    session.execute("expect E 0.5 tol 1e308")
    assert session.execute("delete").messages == ["deleted 3 breakpoint(s)"]
    commands.parse("break E if value > 0" + " " * 980)  # 1,000 characters
    with pytest.raises(CommandError, match="a command of 1,001 characters"):
        commands.parse("break E if value > 0" + " " * 981)


def test_the_cli_refuses_exotic_digits_in_epochs(run_cli):
    for text in ("²", "①", "1" * 5000):
        code, out, err = run_cli("replay", "worked-222", "--epochs", text, "-c", "step")
        assert code == 2 and out == "" and err.count("\n") == 1 and "--epochs" in err


# --- the property ------------------------------------------------------------------------------

_WORDS = [*commands.COMMANDS, "s", "n", "c", "b", "g", "epoch", "phase", "step", "forward", "backward", "if",
          "and", "or", "not", "abs(", "value", "nan", "dead", "saturated", "vanishing", "exploding", "tol",
          "classes", "layer", "scalar", "lr", "E", "z[1,1]", "a[2,1]@1", "W[2,1,1]", "dE/dW[2,1,1]", "W+[1,1,1]",
          "dE[2,1]/da[1,1]", "x[1]@1", "t[2]", "b[1,1]", "E[1]", "(", ")", "+", "-", "*", "/", "<", "<=", ">", ">=",
          "==", "!=", "@", "[", "]", ",", ";", "0", "1", "3", "0.5", "-1", "1e-3", "1e308", "1e999", "0e400",
          "99999999999999999999", "²", "①", "٣", "\u00a0", "\u007f", "nan", "inf", "out.toml"]
_GRAMMAR = st.lists(st.one_of(st.sampled_from(_WORDS), st.text(max_size=4)), max_size=40).map(" ".join)
_ANYTHING = st.one_of(st.text(max_size=200), _GRAMMAR,
                      st.builds(lambda w, n: w + " " + "(" * n + "value" + ")" * n,
                                st.sampled_from(["break E if", "break z[1,1] if"]), st.integers(0, 300)))


def _total(session, text):
    try:
        cmd = commands.parse(text)
    except CommandError as e:
        assert "\n" not in str(e)
        return
    try:
        session.execute(cmd)
    except CommandError as e:
        assert "\n" not in str(e)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(_ANYTHING, min_size=1, max_size=4))
def test_any_text_is_a_command_or_one_line_of_the_projects_error(texts):
    session = fresh_session()
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as folder:  # a generated save writes here, nowhere else
        os.chdir(folder)
        try:
            for text in texts:
                _total(session, text)
        finally:
            os.chdir(cwd)
