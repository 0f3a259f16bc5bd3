"""The TUI's keys, driven with Textual's Pilot: every motion key forward and backward,
breakpoints and watches, the help, what the panels say at each step, quitting."""

import io

import pytest
from rich.console import Console
from textual.widgets import Static

from bpstep.notation import fmt
from bpstep.tui.formula import FormulaPanel
from bpstep.tui.help import HelpScreen
from bpstep.tui.network import short
from bpstep.tui.tapeview import TapePanel
from bpstep.tui.values import ValuesPanel

from tuikit import SIZE, enter, notes, reference, text


KEYS = [("s", "step"), ("right", "step"), ("S", "rstep"), ("left", "rstep"), ("n", "next"), ("N", "rnext"),
        ("f", "finish"), ("F", "rfinish"), ("c", "continue"), ("C", "rcontinue"), ("r", "restart")]


@pytest.mark.parametrize("key,command", KEYS)
async def test_each_motion_key_runs_its_command(make_app, key, command):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.run_command("goto step 20")
        await pilot.press(key)
        expected = reference("worked-222", "goto step 20", command)
        assert app.session.position == expected.position
        assert app.session.position != (0, 20)
        epoch, index = expected.position
        assert f"step {index} of {expected.tape.length(epoch)}" in app.query_one("#status").plain()


async def test_stepping_forward_then_back_through_the_W5_chain(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        names = []
        for _ in range(15):
            await pilot.press("s")
            names.append(app.session.current.name)
        assert names[10:15] == ["∂E/∂o1", "∂o1/∂z3", "∂E/∂z3", "∂z3/∂W5", "∂E/∂W5"]
        assert fmt(app.session.current.value) == "0.02592286"
        for _ in range(4):
            await pilot.press("left")
        assert app.session.current.name == "∂E/∂o1"
        await pilot.press("n", "n")  # over the factors ∂o1/∂z3 and ∂z3/∂W5
        assert app.session.current.name == "∂E/∂W5"
        await pilot.press("N")
        assert app.session.current.name == "∂E/∂z3"


async def test_finish_and_continue_cross_into_the_evaluate_phase_and_back(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f")
        assert app.session.current.phase == "forward" and app.session.position == (0, 7)
        await pilot.press("c")
        assert app.session.position == (1, 10)  # the end: E_total of the evaluate phase
        assert "evaluate" in app.query_one("#status").plain()
        assert fmt(app.session.current.value) == "0.02323634"
        assert any("end of the tape" in m for m, _ in notes(app)) is False
        await pilot.press("c")
        assert any("end of the tape" in m for m, _ in notes(app))
        await pilot.press("C")
        assert app.session.position == (0, 0)
        await pilot.press("F")  # at the very start: stays
        assert app.session.position == (0, 0)


async def test_b_toggles_a_breakpoint_that_continue_stops_at_and_the_tape_marks(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.run_command("goto W+[2,1,1]")
        await pilot.press("b")
        assert [b.describe() for b in app.session.breakpoints] == ["#1 W+[2,1,1]"]
        assert "● 47" in text(app, TapePanel).replace("▶", " ")
        await pilot.press("r", "c")
        assert app.session.current.id == "W+[2,1,1]"
        assert any(m.startswith("breakpoint #1 W+[2,1,1] hit") for m, _ in notes(app))
        await pilot.press("b")
        assert app.session.breakpoints == []
        await pilot.press("r", "c")
        assert app.session.position == app.session.tape.last


async def test_breakpoints_with_conditions_from_the_command_line(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        # the first ∂E/∂W whose value is below 0.001: ∂E/∂W1 = 0.00080888
        await pilot.press("colon", *"b E if value<1", "enter")  # typed, key by key
        assert app.session.breakpoints[0].describe() == "#1 E if value<1"
        await pilot.press("colon", *"delete", "enter")
        for cmd in ("break dE/dW[1,1,1] if value < 0.001", "break dE/dW[2,1,1] if value > 1"):
            await enter(pilot, cmd)
        assert len(app.session.breakpoints) == 2
        await pilot.press("c")
        assert app.session.current.id == "dE/dW[1,1,1]" and fmt(app.session.current.value) == "0.00080888"
        await pilot.press("C")  # back: the condition on ∂E/∂W5 never holds, so to the start
        assert app.session.position == (0, 0)
        app.run_command("goto dE/dW[2,1,1]")
        assert "◆" in text(app, TapePanel)


async def test_w_watches_the_current_quantity_and_pins_it_on_top(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.run_command("goto E@1")
        await pilot.press("w")
        assert [str(r) for r in app.session.watches] == ["E@1"]
        await pilot.press("r")
        rows = text(app, ValuesPanel).splitlines()
        assert rows[1].startswith("★ E_total") and "0.02397190" in rows[1]
        app.run_command("goto E@1")
        await pilot.press("w")
        assert app.session.watches == []


async def test_goto_key_prompts_and_lands_in_the_evaluate_phase(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("g")
        line = app.query_one("#cmdline")
        assert line.display and line.value == "goto "
        await pilot.press(*"epoch 1", "enter")
        assert app.session.position == (1, 0)
        assert not line.display
        assert "evaluate" in text(app, TapePanel)


async def test_question_mark_shows_help_and_escape_closes_it(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("s")  # keys of the debugger do not leak through the help
        assert app.session.position == (0, 0)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


def _plain(renderable) -> str:
    console = Console(width=76, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


async def test_help_scrolls_by_keyboard_at_once_and_has_tabs(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        help_screen = app.screen
        shown = help_screen.shown()
        assert shown.max_scroll_y > 0 and shown.scroll_y == 0
        for key in ("pagedown", "home", "down", "home", "j", "home", "space", "home", "end"):
            before = shown.scroll_y
            await pilot.press(key)
            await pilot.pause()
            assert (shown.scroll_y > before) if key != "home" else shown.scroll_y == 0, key
        assert shown.scroll_y == shown.max_scroll_y
        await pilot.press("right")
        await pilot.pause()
        commands = _plain(help_screen.shown().query_one(Static).content)
        for usage in ("break ID", "watch ID", "set ID", "reset", "save FILE", "export [FILE]"):
            assert usage in commands
        await pilot.press("right")
        await pilot.pause()
        ids = _plain(help_screen.shown().query_one(Static).content)
        assert "W5 = W[2,1,1]" in ids and "h1 = a[1,1]" in ids


async def test_delta_E_total_and_W_plus_say_what_they_are_for(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.run_command("goto dE/dz[2,1]")  # δ of o1: read by no formula
        await pilot.pause()
        shown = text(app, FormulaPanel)
        assert "used for ∂E/∂W5 = δ·h1, δ = ∂E/∂z3 as a shortcut" in shown
        assert "∂E_o1/∂h1 = δ·W5, the part of ∂E/∂h1 that goes down a layer" in shown
        app.run_command("goto E")
        await pilot.pause()
        assert "used for E_total is what training makes smaller" in text(app, FormulaPanel)
        app.run_command("goto W+[2,1,1]")
        await pilot.pause()
        assert "used for W5 of epoch 1: the next epoch's W5" in text(app, FormulaPanel)
        app.action_goto_reader("W[2,1,1]", 1)  # the link: W5 of epoch 1, where it is first read
        await pilot.pause()
        assert app.session.current.qid == "z[2,1]@1" and app.session.position[0] == 1


async def test_the_network_writes_weights_on_edges_defines_delta_and_keeps_values_when_narrow(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        network = app.query_one("#network").plain()
        for label in ("W1 .3", "W2 .25", "W3 .4", "W4 .35", "W5 .45", "W6 .4", "W7 .7", "W8 .6"):
            assert label in network  # every weight on its edge, as the lecture's figure
        app.run_command("goto dE/dz[2,1]")
        await pilot.pause()
        assert "units show δ = ∂E/∂z (not a)" in app.query_one("#network").plain()
    app = make_app("xor")
    async with app.run_test(size=(80, 24)) as pilot:
        app.run_command("goto a[2,3]@2")
        await pilot.pause()
        network = app.query_one("#network").plain()
        assert "x₁ 0" in network and "x₂ 1" in network
        assert f"a²₃ {short(app.session.current.value, brief=True)}" in network


async def test_at_80_by_24_the_key_bar_status_tape_and_notifications_stay_readable(make_app):
    from textual.widgets._toast import Toast

    app = make_app("xor")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        keys = app.query_one("#keys").plain()
        for key in (" v ", " e ", " q quit", "? help"):
            assert key in keys
        app.run_command("goto epoch 0 phase backward")
        await pilot.pause()
        assert "engine f32" in app.query_one("#status").plain()  # not a bare dtype beside torch's
        app.run_command("print z[1,1]@1")
        await pilot.pause()
        await pilot.pause(0.2)
        toast = app.query(Toast).last()
        assert not toast.region.overlaps(app.query_one("#loss").region)
        assert not toast.region.overlaps(app.query_one("#keys").region)
        app.run_command("goto dE/dW[2]")
        assert notes(app)[-1] == ("goto: dE/dW[2] is a layer step: `view layer` first; expected a scalar id "
                                  "such as z[1,1] or dE/dW[2,1,1] in scalar view", "error")
        app.run_command("view layer")
        app.run_command("goto dE/dW[2]")
        await pilot.pause()
        assert app.session.current_layer.id == "dE/dW[2]"
        app.run_command("goto epoch 0 phase backward")
        await pilot.pause()
        assert "Σₖ [tₖ ln…" in app.query_one("#tape").plain()  # cut after a whole term, and says so


async def test_q_quits(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running
    assert app.return_value == 0
