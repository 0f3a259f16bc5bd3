"""What-if edits in the TUI, driven with Textual's Pilot: e proposes a set for what the step
depends on, an edit recomputes everything, reset gives the numbers back, save writes a scenario."""

import pytest

from bpstep import scenario
from bpstep.notation import fmt
from bpstep.tui.formula import FormulaPanel
from bpstep.tui.values import ValuesPanel

from tuikit import SIZE, enter, notes, reference, text


async def test_e_prompts_set_for_the_current_quantity_and_tab_goes_through_the_others(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.run_command("goto W+[2,1,1]")
        await pilot.press("e")
        line, hint = app.query_one("#cmdline"), app.query_one("#cmdhint")
        assert line.display and line.value == "set W[2,1,1] 0.45"
        assert hint.display and "W5" in str(hint.render()) and "α" in str(hint.render())
        await pilot.press("tab")
        assert line.value == "set lr 0.5"
        await pilot.press("shift+tab")
        assert line.value == "set W[2,1,1] 0.45"
        await pilot.press("escape")
        assert not line.display and not hint.display and app.session.tape.edits.items == {}
        app.run_command("goto a[1,1]")  # h1 = σ(z1) reads nothing given: what z1 reads
        await pilot.press("e")
        assert line.value == "set W[1,1,1] 0.3"
        await pilot.press("tab")
        assert line.value == "set x[1]@1 0.1"


async def test_e_in_layer_view_offers_what_the_whole_layer_step_depends_on(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.run_command("goto W+[2,1,1]")
        await pilot.press("v", "e")
        line, hint = app.query_one("#cmdline"), app.query_one("#cmdhint")
        assert line.value == "set W[2,1,1] 0.45" and "set what W²⁺ depends on: W5 · α · W6 · W7 · W8" in str(hint.render())
        values = []
        for _ in range(5):
            values.append(line.value)
            await pilot.press("tab")
        assert values == ["set W[2,1,1] 0.45", "set lr 0.5", "set W[2,1,2] 0.4", "set W[2,2,1] 0.7", "set W[2,2,2] 0.6"]
        assert line.value == values[0]  # round again


IDENTITY = """
name = "line"
[network]
sizes = [1, 1]
activation = "identity"
bias = false
[init]
weights = [[[2.0]]]
[data]
inputs = [[1.5]]
targets = [[1.0]]
[training]
learning_rate = 0.1
epochs = 1
"""


async def test_e_on_a_step_that_depends_on_nothing_given_says_so(make_app, tmp_path):
    (tmp_path / "line.toml").write_text(IDENTITY)
    app = make_app(str(tmp_path / "line.toml"))
    async with app.run_test(size=SIZE) as pilot:
        app.run_command("goto da[1,1]/dz[1,1]")  # the identity's derivative: 1
        await pilot.press("e")
        assert not app.query_one("#cmdline").display
        assert notes(app)[-1] == ("∂o₁/∂z¹₁ depends on no parameter, input, target or learning rate that could be set",
                                  "warning")


async def test_an_edit_recomputes_everything_and_reset_gives_the_numbers_back(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.run_command("goto W+[2,1,1]")
        before = (text(app, FormulaPanel), text(app, ValuesPanel), app.query_one("#loss").plain())
        await pilot.press("e")
        app.query_one("#cmdline").value = "set W[2,1,1] 0.5"
        await pilot.press("enter")
        edited = reference("worked-222", "goto W+[2,1,1]", "set W[2,1,1] 0.5")
        assert fmt(app.session.current.value) == fmt(edited.current.value) != "0.43703857"
        formula = text(app, FormulaPanel)
        assert "0.5 − 0.5 × " in formula and fmt(edited.current.value) in formula
        assert fmt(edited.tape.losses[0]) in app.query_one("#loss").plain()
        assert any(m.startswith("set W[2,1,1] = 0.5 at the start of epoch 0 (was 0.45)") for m, _ in notes(app))
        await enter(pilot, "reset")
        assert fmt(app.session.current.value) == "0.43703857"
        assert (text(app, FormulaPanel), text(app, ValuesPanel), app.query_one("#loss").plain()) == before


async def test_a_what_if_says_what_was_edited_and_keeps_the_original_loss(make_app):
    app = make_app("xor")
    async with app.run_test(size=SIZE) as pilot:
        app.run_command("goto epoch 300")
        await app.workers.wait_for_complete()
        original = app.session.tape.losses[300]
        await enter(pilot, "set lr 0.1")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "what-if: 1 edit (α 1→0.1)" in app.query_one("#status").plain()
        loss = app.query_one("#loss").plain()
        assert f"original run {fmt(original)}" in loss and "─" in loss
        assert app.session.execute("where").messages[-1] == "what-if: α = 0.1 from epoch 300 on (was 1 in the scenario)"
        await enter(pilot, "reset")
        await pilot.pause()
        assert "what-if" not in app.query_one("#status").plain() and "original run" not in app.query_one("#loss").plain()
        assert app.session.tape.losses[300] == original


async def test_save_from_the_command_line_writes_a_scenario_that_loads(make_app, tmp_path):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await enter(pilot, "set lr 0.25")
        await enter(pilot, f"save {tmp_path / 'edited.toml'}")
        saved = scenario.load(str(tmp_path / "edited.toml"))
        assert saved.learning_rate == 0.25 and notes(app)[-1] == (f"saved {tmp_path / 'edited.toml'}", "information")


@pytest.mark.parametrize("command,why", [
    ("set W[2,1,1] abc", "'abc' is not a number"),
    ("set z[1,1] 3", "z[1,1] is computed, not given"),
    ("set lr -1", "expected a learning rate > 0"),
    ("set W[9,9,9] 1", "unknown id 'W[9,9,9]'"),
    ("reset W[1,1,1]", "W[1,1,1] has no edits"),
    ("save /no/such/folder/x.toml", "cannot write /no/such/folder/x.toml"),
    ("export /no/such/folder/x.md", "cannot write /no/such/folder/x.md"),
])
async def test_bad_edits_and_files_are_notifications(make_app, command, why):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.run_command("goto step 5")
        await enter(pilot, command)
        assert app.session.position == (0, 5) and app.session.tape.edits.items == {}
        errors = [m for m, severity in notes(app) if severity == "error"]
        assert len(errors) == 1 and why in errors[0]
