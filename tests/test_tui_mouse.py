"""The TUI's mouse, driven with Textual's Pilot: a tape row, a factor of a formula, a weight
of a later epoch, each clicked, go to the step that computed it."""

from bpstep.tui.formula import FormulaPanel
from bpstep.tui.tapeview import TapePanel

from tuikit import SIZE, notes, text


async def test_click_a_tape_row_goes_to_that_step(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        tape = app.query_one(TapePanel)
        rows = tape._rows
        await pilot.click(TapePanel, offset=(10, 1 + 3))  # border, then the fourth row
        assert app.session.position == (0, rows[3])


async def test_click_a_factor_in_the_formula_goes_to_the_step_that_computed_it(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.run_command("goto dE/dW[2,1,1]")
        await pilot.pause()
        first = text(app, FormulaPanel).splitlines()[0]  # ∂E/∂W5 = ∂E/∂o1 × ∂o1/∂z3 × ∂z3/∂W5
        x = first.index("∂o1/∂z3")
        await pilot.click(FormulaPanel, offset=(2 + x, 1))  # border and padding
        assert app.session.current.name == "∂o1/∂z3"
        await pilot.press("n", "n")  # back to ∂E/∂W5 via next: ∂E/∂z3, then ∂E/∂W5
        assert app.session.current.name == "∂E/∂W5"
        second = text(app, FormulaPanel).splitlines()[1]
        await pilot.click(FormulaPanel, offset=(2 + second.index("0.20944600"), 2))
        assert app.session.current.name == "∂E/∂o1"
        used = text(app, FormulaPanel).splitlines()[-1]  # factor of / used by …
        assert used.startswith("used by ∂E/∂z3 #13, ∂E/∂W5 #15")
        await pilot.click(FormulaPanel, offset=(2 + used.index("∂E/∂W5"), 4))
        assert app.session.position == (0, 15)


async def test_click_a_weight_in_a_later_epoch_goes_to_its_update(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.run_command("goto epoch 1")
        app.run_command("goto z[2,1]@1")
        app.action_goto_ref("W[2,1,1]")
        assert app.session.position == (0, 47) and app.session.current.name == "W5⁺"
        app.run_command("restart")
        app.action_goto_ref("x[1]@1")
        assert app.session.position == (0, 0)
        assert "no step computes it" in notes(app)[-1][0]
