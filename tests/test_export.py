"""The worked-example export: the golden numbers of the lecture, every formula parsed as math by a
Markdown renderer, ASCII LaTeX, the epoch chosen by a script."""

import re

import pytest
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

from bpstep import scenario
from bpstep.export import markdown, tex_number
from bpstep.session import Session
from test_layers import SEQUENTIAL  # tanh, relu and identity layers, biases, mse, sequential, frozen entries

#: docs/golden-numbers.md, as (LaTeX name, printed value); each is the value of one formula of epoch 0
GOLDEN = [
    ("z_{1}", "0.08000000"), ("z_{2}", "0.11000000"), ("h_{1}", "0.51998934"), ("h_{2}", "0.52747230"),
    ("z_{3}", "0.44498412"), ("z_{4}", "0.68047592"), ("o_{1}", "0.60944600"), ("o_{2}", "0.66384491"),
    ("E_{o1}", "0.02193381"), ("E_{o2}", "0.00203809"), ("E_{total}", "0.02397190"),
    (r"\frac{\partial E}{\partial o_{1}}", "0.20944600"), (r"\frac{\partial o_{1}}{\partial z_{3}}", "0.23802157"),
    (r"\frac{\partial z_{3}}{\partial W_{5}}", "0.51998934"), (r"\frac{\partial E}{\partial W_{5}}", "0.02592286"),
    ("{W_{5}}^{+}", "0.43703857"), ("{W_{6}}^{+}", "0.38685205"), ("{W_{7}}^{+}", "0.69629578"),
    ("{W_{8}}^{+}", "0.59624247"),
    (r"\frac{\partial E_{o_{1}}}{\partial h_{1}}", "0.02243370"),
    (r"\frac{\partial E_{o_{2}}}{\partial h_{1}}", "0.00997311"),
    (r"\frac{\partial E}{\partial h_{1}}", "0.03240681"), (r"\frac{\partial h_{1}}{\partial z_{1}}", "0.24960043"),
    (r"\frac{\partial E}{\partial W_{1}}", "0.00080888"),
    ("{W_{1}}^{+}", "0.29959556"), ("{W_{2}}^{+}", "0.24919112"), ("{W_{3}}^{+}", "0.39964496"),
    ("{W_{4}}^{+}", "0.34928991"),
]

FLAT_BCE = """\
name = "flat-bce"
notation = "flat"
[network]
sizes = [3, 2, 1]
activation = ["relu", "sigmoid"]
[init]
method = "uniform"
seed = 5
[data]
inputs = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]]
targets = [[1.0], [0.0]]
[training]
loss = "bce"
learning_rate = 0.7
epochs = 2
freeze = ["b[1,2]"]
"""



@pytest.fixture(scope="module")
def worked():
    return markdown(Session(scenario.load("worked-222")))


def _maths(text):
    """Every formula the renderer parsed as math, and the text it left as text."""
    tokens = MarkdownIt().use(dollarmath_plugin).parse(text)
    blocks = [t.content.strip() for t in tokens if t.type == "math_block"]
    children = [c for t in tokens if t.type == "inline" for c in t.children]
    inline = [c.content for c in children if c.type == "math_inline"]
    return blocks, inline, [c.content for c in children if c.type == "text"]


def _check_latex(tex):
    assert tex.isascii(), tex
    depth = 0
    for ch in re.sub(r"\\[{}]", "", tex):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0, tex
    assert depth == 0, tex
    assert len(re.findall(r"\\left\b", tex)) == len(re.findall(r"\\right\b", tex)), tex
    assert "e-" not in re.sub(r"\\[a-z]+", "", tex), tex  # powers of ten are written as such


def _assert_all_math_parsed(text):
    blocks, inline, plain = _maths(text)
    assert len(blocks) == text.count("$$") // 2 > 0
    assert not any("$" in t for t in plain)  # no formula was left as text
    for tex in blocks + inline:
        _check_latex(tex)
    return blocks


def test_worked_222_has_every_golden_number(worked):
    blocks = _assert_all_math_parsed(worked)
    for name, value in GOLDEN:
        assert any(b.startswith(name + " = ") and b.endswith("= " + value) for b in blocks), (name, value)
    assert blocks[-1] == r"E_{total} = E_{o1} + E_{o2} = 0.02125445 + 0.00198189 = 0.02323634"
    assert ("The loss went down: from $E_{total} = 0.02397190$ to $E_{total} = 0.02323634$, "
            "a change of $-0.00073556$ (3.07%).") in worked


def test_worked_222_chain_rule_lines(worked):
    lines = worked.splitlines()
    w5 = lines.index(r"$$\frac{\partial E}{\partial W_{5}} = \frac{\partial E}{\partial o_{1}} \times "
                     r"\frac{\partial o_{1}}{\partial z_{3}} \times \frac{\partial z_{3}}{\partial W_{5}} = "
                     r"0.20944600 \times 0.23802157 \times 0.51998934 = 0.02592286$$")
    # its factors come before it, each with its numbers
    assert lines[w5 - 2] == r"$$\frac{\partial z_{3}}{\partial W_{5}} = h_{1} = 0.51998934$$"
    assert (r"$$\frac{\partial o_{1}}{\partial z_{3}} = o_{1}\left(1 - o_{1}\right) = "
            r"0.60944600\left(1 - 0.60944600\right) = 0.23802157$$") in lines
    assert (r"$${W_{1}}^{+} = W_{1} - \alpha \times \frac{\partial E}{\partial W_{1}} = "
            r"0.3 - 0.5 \times 0.00080888 = 0.29959556$$") in lines
    headings = [line for line in lines if line.startswith("## ")]
    assert headings == ["## Given", "## Forward pass", "## Loss", "## Backward pass", "## Update",
                        "## Forward pass with the updated parameters", "## Result"]
    assert sum(line.startswith("$${W_{") for line in lines) == 8  # every update, not only W5 and W1


def test_export_is_deterministic(worked):
    assert markdown(Session(scenario.load("worked-222"))) == worked


def test_xor_epoch_0_parses():
    text = markdown(Session(scenario.load("xor")))
    blocks = _assert_all_math_parsed(text)
    assert "This is epoch 0 of 10001" in text and "(epoch 1)." in text
    assert len(blocks) > 5000
    assert any(r"\times 10^{-5}" in b for b in blocks)
    assert r"$$E = \frac{{E}^{(1)} + {E}^{(2)} + {E}^{(3)} + {E}^{(4)}}{4} = " in text


@pytest.mark.parametrize("toml", [FLAT_BCE, SEQUENTIAL])
def test_other_networks_export_valid_latex(write_scenario, toml):
    sc = scenario.load(str(write_scenario(toml)))
    text = markdown(Session(sc))
    _assert_all_math_parsed(text)
    assert text.count("## ") >= 6


def test_tex_numbers():
    assert tex_number(1.2e-05) == r"1.200000 \times 10^{-5}"
    assert tex_number(1.2e-05, short=True) == r"1.2 \times 10^{-5}"
    assert tex_number(1.2e-05, short=True, operand=True) == r"\left(1.2 \times 10^{-5}\right)"
    assert tex_number(-0.5, short=True, operand=True) == r"\left(-0.5\right)"
    assert tex_number(-0.5, operand=True) == r"\left(-0.50000000\right)"  # a computed number: as its result
    assert tex_number(-0.5, short=True) == "-0.5" and tex_number(0.3) == "0.30000000"
    assert tex_number(float("nan")) == r"\mathrm{NaN}" and tex_number(float("-inf")) == r"-\infty"
    assert tex_number(2.5e7, short=True) == r"2.5 \times 10^{7}"


def test_cli_exports_the_epoch_of_the_cursor(run_cli, worked):
    code, out, err = run_cli("replay", "worked-222", "--format", "markdown")
    assert (code, out, err) == (0, worked, "")
    # the evaluate phase shows its training epoch; the script's output stays silent
    assert run_cli("replay", "worked-222", "--format", "markdown", "-c", "goto epoch 1; print E")[1] == worked
    code, out, _ = run_cli("replay", "worked-222", "--epochs", "3", "--format", "markdown", "-c", "goto epoch 2")
    assert code == 0 and "This is epoch 2 of 3" in out and "(the evaluate phase)" in out
    code, out, _ = run_cli("replay", "worked-222", "--format", "markdown", "-c", "set W[2,1,1] 0.5")
    assert code == 0 and r"W_{5} = 0.5,\quad" in out and "0.43703857" not in out
    code, out, _ = run_cli("replay", "worked-222", "--format", "markdown", "-c", "set lr 0.1")
    assert code == 0 and r"$\alpha = 0.1$" in out and r"$\alpha = 0.5$" not in out
    code, out, _ = run_cli("replay", "worked-222", "--format", "markdown", "-c", "expect z[1,1] 0.5")
    assert code == 1 and out == worked
    code, out, err = run_cli("replay", "worked-222", "--format", "markdown", "-c", "goto nowhere")
    assert code == 2 and out == "" and "not a quantity id" in err


class _Checker:
    def compare(self, step):
        return step.value, 0.0, step.index != 4


def test_check_values_under_the_formulas():
    text = markdown(Session(scenario.load("worked-222")), check=_Checker())
    assert "PyTorch: `0.08000000`, |Δ| = 0.0e+00, agrees." in text
    assert "PyTorch: `0.44498412`, |Δ| = 0.0e+00, **differs**." in text
    _assert_all_math_parsed(text)
