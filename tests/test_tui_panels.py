"""How the TUI's panels lay out: formulas with their numbers under their symbols, the network's
focus, every panel drawn at every step and at 80 by 24."""

import pytest

from bpstep.notation import fmt
from bpstep.tui.formula import FormulaPanel
from bpstep.tui.network import focus

from tuikit import SIZE, text


def centre(row, word):
    return row.index(word) + len(word) / 2


async def test_formula_numbers_stand_centred_under_their_symbols(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.run_command("goto dE/dW[2,1,1]")
        sym, num, result = text(app, FormulaPanel).splitlines()[:3]
        assert sym.startswith("∂E/∂W5 = ")
        for name, value in (("∂E/∂o1", "0.20944600"), ("∂o1/∂z3", "0.23802157"), ("∂z3/∂W5", "0.51998934")):
            assert abs(centre(sym, name) - centre(num, value)) <= 0.5
        assert result.strip().startswith("= 0.02592286")


async def test_a_product_keeps_its_factors_together_over_its_numbers(make_app):
    """z1 = W1·x1 + W2·x2: no gap inside a product; each dot over its dot, each factor inside its
    number's columns."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.run_command("goto z[1,1]")
        sym, num = text(app, FormulaPanel).splitlines()[:2]
        assert "W1 · x1" in sym and "W2 · x2" in sym
        assert num.strip() == "= 0.3 · 0.1 + 0.25 · 0.2"
        dots = [i for i, ch in enumerate(sym) if ch == "·"]
        assert dots == [i for i, ch in enumerate(num) if ch == "·"] and len(dots) == 2
        start = 0
        for name, value in (("W1", "0.3"), ("x1", "0.1"), ("W2", "0.25"), ("x2", "0.2")):
            at = num.index(value, start)
            assert at <= sym.index(name) and sym.index(name) + len(name) <= at + len(value)
            start = at + len(value)


async def test_a_long_formula_wraps_with_its_numbers(make_app):
    app = make_app("xor")
    async with app.run_test(size=(80, 40)) as pilot:
        app.run_command("goto z[2,1]@1")
        await pilot.pause()
        lines = text(app, FormulaPanel).splitlines()
        step = app.session.current
        assert len(lines) > 4
        assert all(len(line) <= 76 for line in lines)
        numbers = " ".join(lines)
        shown = [v for v in step.numbers() if fmt(v).rstrip("0").rstrip(".") in numbers]
        assert len(shown) == len(step.numbers())


def test_focus_of_steps():
    sizes = (2, 2, 2)
    assert focus("dE/dW[2,1,1]", sizes) == (set(), {(2, 1, 1)})
    assert focus("z[2,1]", sizes) == ({(2, 1)}, {(2, 1, 1), (2, 1, 2)})
    assert focus("dE[2,1]/da[1,1]", sizes) == ({(1, 1)}, {(2, 1, 1)})
    assert focus("dE/da[1,2]", sizes) == ({(1, 2)}, {(2, 1, 2), (2, 2, 2)})
    assert focus("E", sizes) == ({(2, 1), (2, 2)}, set())
    assert focus("E[2]", sizes) == ({(2, 2)}, set())
    assert focus("b+[1,2]", sizes) == ({(1, 2)}, set())


async def test_network_panel_names_the_edge_of_a_weight_step(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.run_command("goto W+[2,1,1]")
        network = app.query_one("#network").plain()
        assert "W5: h1 → o1 = 0.4500" in network
        for unit in ("x1 0.1000", "h1 0.0081", "o1 0.0499"):  # δ in the update phase
            assert unit in network


async def test_everything_fits_at_80_by_24(make_app):
    app = make_app("xor")
    async with app.run_test(size=(80, 24)) as pilot:
        app.run_command("goto dE/dW[2,3,4]@2")
        await pilot.pause()
        for panel in ("#network", "#tape", "#formula", "#values", "#loss", "#status", "#keys"):
            widget = app.query_one(panel)
            assert widget.region.width > 0 and widget.region.height > 0, panel
        assert "∂E/∂W²₃₄ = " in text(app, FormulaPanel)
        assert "? help" in app.query_one("#keys").plain()


MIXED = """
name = "mixed"
notation = "layered"
[network]
sizes = [3, 2, 2]
activation = ["relu", "tanh"]
bias = true
[init]
method = "uniform"
seed = 3
[data]
inputs = [[0.1, -0.2, 0.3], [0.5, 0.4, -0.1]]
targets = [[0.2, 0.7], [0.9, 0.1]]
[training]
loss = "mse"
learning_rate = 0.1
epochs = 2
update_order = "sequential"
"""


@pytest.mark.parametrize("name", ["worked-222", "mixed"])
async def test_every_step_draws_every_panel(make_app, name, tmp_path):
    if name == "mixed":
        (tmp_path / "mixed.toml").write_text(MIXED)
        name = str(tmp_path / "mixed.toml")
    app = make_app(name)
    async with app.run_test(size=(100, 30)) as pilot:
        panels = app._panels + [app.query_one("#keys")]
        tape = app.session.tape
        for _ in range(sum(tape.length(e) for e in range(tape.epochs + 1)) - 1):
            app.run_command("step")
            for panel in panels:
                assert panel.lines() is not None
        assert app.session.position == tape.last
        assert app.said == []  # no command failed on the way
