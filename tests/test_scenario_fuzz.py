"""Scenario files are total too: any text is a scenario or one line naming the file, exit 2,
never a traceback. Reproducers of each class issue 13's fuzz campaign found, then a property
that mutates real scenario files and runs them."""

import re

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import ROOT

WORKED = (ROOT / "scenarios" / "worked-222.toml").read_text(encoding="utf-8")
UNIFORM = WORKED.replace("weights = [[[0.30, 0.25], [0.40, 0.35]],\n           [[0.45, 0.40], [0.70, 0.60]]]",
                         'method = "uniform"\nseed = 1')
FLOAT32 = WORKED.replace('dtype = "float64"', 'dtype = "float32"')
FREEZE = 'update_order = "simultaneous"'

# label → (scenario text, what the one line says)
REPRODUCERS = {
    "20-digit size": (WORKED.replace("sizes = [2, 2, 2]", "sizes = [2, 12345678901234567890, 2]"),
                      ["network.sizes", "a layer of 12345678901234567890 units; expected at most 999,999,"]),
    "400-digit size": (WORKED.replace("sizes = [2, 2, 2]", "sizes = [2, 2, " + "9" * 400 + "]"),
                       ["network.sizes", "expected at most 999,999,999,999,999,999"]),
    "18-digit size": (WORKED.replace("sizes = [2, 2, 2]", "sizes = [2, 999999999999999999, 2]"),
                      ["network.sizes", "over the budget"]),
    "scale = 1e308": (UNIFORM.replace("seed = 1", "seed = 1\nscale = 1e308"),
                      ["init.scale", "too large for U(−scale, scale)", "at most 8.988e+307"]),
    "torch seed 2**64": (UNIFORM.replace('"uniform"', '"torch"').replace("seed = 1", f"seed = {2 ** 64}"),
                         ["init.seed", "≤ 18446744073709551615"]),
    "uniform seed 2**64": (UNIFORM.replace("seed = 1", f"seed = {2 ** 64}"), ["init.seed", "≤ 18446744073709551615"]),
    "freeze id of 5,000 digits": (WORKED.replace(FREEZE, FREEZE + '\nfreeze = ["W[1,1,' + "1" * 5000 + ']"]'),
                                  ["training.freeze", "outside the network", "more than 18 digits"]),
    "freeze id with Arabic-Indic digits": (WORKED.replace(FREEZE, FREEZE + '\nfreeze = ["W[١,1,1]"]'),
                                           ["training.freeze", "is not a parameter id"]),
    "arrays nested 3,000 deep": (WORKED.replace("inputs = [[0.1, 0.2]]", "inputs = " + "[" * 3000 + "]" * 3000),
                                 ["TOML", "nested hundreds of levels deep"]),
    "inline tables nested 2,000 deep": ("a = " + "{b = " * 2000 + "1" + "}" * 2000, ["TOML", "nested"]),
    "a number of 5,000 digits": (WORKED.replace("epochs = 1", "epochs = " + "9" * 5000),
                                 ["TOML", "thousands of digits"]),
    "a whole-number weight past float64": (WORKED.replace("0.30", "1" + "0" * 400),
                                           ["init.weights", "weights[0][0][0]", "expected a finite number"]),
    "a whole-number learning rate past float64": (WORKED.replace("learning_rate = 0.5", "learning_rate = 1" + "0" * 400),
                                                  ["training.learning_rate", "expected a finite number"]),
    "float32 weight 1e39": (FLOAT32.replace("0.30", "1e39"),
                            ["init.weights", "weights[0][0][0] = 1e+39 does not fit in float32"]),
    "float32 input 1e39": (FLOAT32.replace("[[0.1, 0.2]]", "[[0.1, -1e39]]"),
                           ["data.inputs", "inputs[0][1] = -1e+39 does not fit in float32"]),
    "float32 target 1e39": (FLOAT32.replace("[[0.4, 0.6]]", "[[0.4, 1e39]]"), ["data.targets", "float32"]),
    "float32 learning rate 1e39": (FLOAT32.replace("learning_rate = 0.5", "learning_rate = 1e39"),
                                   ["training.learning_rate", "does not fit in float32"]),
}


@pytest.mark.parametrize("text, why", REPRODUCERS.values(), ids=REPRODUCERS.keys())
def test_each_class_is_one_line_and_exit_2(tmp_path, run_cli, text, why):
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    code, out, err = run_cli("replay", str(path), "-c", "step")
    assert code == 2 and out == "" and err.count("\n") == 1 and str(path) in err
    assert all(part in err for part in why), err


def test_float32_holds_its_largest_number(tmp_path, run_cli):
    path = tmp_path / "s.toml"
    path.write_text(FLOAT32.replace("0.30", "3.4e38"), encoding="utf-8")
    assert run_cli("replay", str(path), "-c", "step")[0] == 0


# --- the property ------------------------------------------------------------------------------

_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e-?\d+)?")
_XOR = (ROOT / "scenarios" / "xor.toml").read_text(encoding="utf-8")
_REPLACEMENTS = st.one_of(
    st.sampled_from(["0", "-1", "1e308", "-1e308", "1e39", "3.5e38", "1e-320", "inf", "nan", "-0.0", "true",
                     '"x"', "[]", "[[]]", "{}", "9" * 20, "9" * 400, "9" * 5000, "1" + "0" * 309, str(2 ** 64),
                     "[" * 500 + "]" * 500, '"W[1,1,' + "9" * 30 + ']"', '"float32"', '"torch"', '"١"']),
    st.integers(-10 ** 30, 10 ** 30).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr))
_EDITS = st.lists(st.tuples(st.integers(0, 10 ** 6), _REPLACEMENTS), min_size=1, max_size=4)
_EXTRA_LINES = st.lists(st.sampled_from([
    'dtype = "float32"', 'method = "uniform"', 'method = "torch"', "scale = 1e308", f"seed = {2 ** 64}",
    'freeze = ["W[1,1,1]"]', 'freeze = ["b[1,1]"]', "[init]", "[training]", "bias = true", "epochs = 3",
    "x = " + "[" * 450 + "]" * 450, 'activation = "relu"', 'loss = "bce"']), max_size=3)


def _mutant(base, edits, extra, cut):
    numbers = list(_NUMBER.finditer(base))
    text = base
    for where, replacement in sorted(edits, key=lambda e: -numbers[e[0] % len(numbers)].start()):
        m = numbers[where % len(numbers)]
        text = text[:m.start()] + replacement + text[m.end():]
    lines = text.splitlines()
    for k, line in enumerate(extra):
        lines.insert((cut + 7 * k) % (len(lines) + 1), line)
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(base=st.sampled_from([WORKED, UNIFORM, FLOAT32, _XOR]), edits=_EDITS, extra=_EXTRA_LINES,
       cut=st.integers(0, 100))
def test_mutated_scenarios_run_or_are_one_line_with_exit_2(tmp_path, run_cli, base, edits, extra, cut):
    path = tmp_path / "mutant.toml"
    path.write_text(_mutant(base, edits, extra, cut), encoding="utf-8")
    code, out, err = run_cli("replay", str(path), "-c", "next; finish; print E")
    if code == 2:
        assert out == "" and err.count("\n") == 1 and str(path) in err, err
    else:
        assert code == 0 and out and err == ""


def test_check_dtype_float32_refuses_numbers_float32_cannot_hold(tmp_path, run_cli):
    path = tmp_path / "s.toml"
    path.write_text(WORKED.replace("[[0.1, 0.2]]", "[[0.1, 1e300]]"), encoding="utf-8")
    assert run_cli("check", str(path), "--dtype", "float32") == (
        2, "", f"bpstep: {path}: data.inputs: inputs[0][1] = 1e+300 does not fit in float32 (largest 3.403e+38); "
               "expected a smaller number or float64\n")
