"""The TUI driven with Textual's Pilot: every key and command, forward and backward,
breakpoints with conditions, goto in XOR, the command line's errors, cancelling a long run,
the mouse, the palette, and a torch that takes seconds to load."""

import sys
import threading
import time

import numpy as np
import pytest

from bpstep import engine, scenario
from bpstep.notation import fmt
from bpstep.session import Session
from bpstep.tui import check
from bpstep.tui.app import BpstepApp
from bpstep.tui.formula import FormulaPanel
from bpstep.tui.help import HelpScreen
from bpstep.tui.network import focus
from bpstep.tui.tapeview import TapePanel
from bpstep.tui.values import ValuesPanel

SIZE = (120, 40)


class Recording(BpstepApp):
    """The app, keeping every notification (the screen drops them after a few seconds)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.said = []

    def notify(self, message, **kwargs):
        self.said.append((message, kwargs.get("severity", "information")))
        super().notify(message, **kwargs)


def app_for(name="worked-222", **kwargs):
    kwargs.setdefault("crosscheck", False)
    return Recording(scenario.load(name), **kwargs)


def notes(app):
    return app.said


async def enter(pilot, command):
    """``:`` then the command then Enter (the text put in at once: typing is slow in a Pilot)."""
    await pilot.press("colon")
    pilot.app.query_one("#cmdline").value = command
    await pilot.press("enter")


async def opened(pilot):
    """Wait for the thread that reads a scenario (``open``) and for what it hands the app."""
    while pilot.app.loader is not None and pilot.app.loader.is_alive():
        await pilot.pause(0.01)
    await pilot.pause()


def text(app, widget_type) -> str:
    return app.query_one(widget_type).plain()


def reference(name, *commands):
    """Where a session of its own lands after the same commands."""
    s = Session(scenario.load(name))
    for c in commands:
        s.execute(c)
    return s


# -- keys ------------------------------------------------------------------------------------------

KEYS = [("s", "step"), ("right", "step"), ("S", "rstep"), ("left", "rstep"), ("n", "next"), ("N", "rnext"),
        ("f", "finish"), ("F", "rfinish"), ("c", "continue"), ("C", "rcontinue"), ("r", "restart")]


@pytest.mark.parametrize("key,command", KEYS)
async def test_each_motion_key_runs_its_command(key, command):
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        app.run_command("goto step 20")
        await pilot.press(key)
        expected = reference("worked-222", "goto step 20", command)
        assert app.session.position == expected.position
        assert app.session.position != (0, 20)
        epoch, index = expected.position
        assert f"step {index} of {expected.tape.length(epoch)}" in app.query_one("#status").plain()


async def test_stepping_forward_then_back_through_the_W5_chain():
    app = app_for()
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


async def test_finish_and_continue_cross_into_the_evaluate_phase_and_back():
    app = app_for()
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


async def test_b_toggles_a_breakpoint_that_continue_stops_at_and_the_tape_marks():
    app = app_for()
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


async def test_breakpoints_with_conditions_from_the_command_line():
    app = app_for()
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


async def test_w_watches_the_current_quantity_and_pins_it_on_top():
    app = app_for()
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


async def test_goto_key_prompts_and_lands_in_the_evaluate_phase():
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("g")
        line = app.query_one("#cmdline")
        assert line.display and line.value == "goto "
        await pilot.press(*"epoch 1", "enter")
        assert app.session.position == (1, 0)
        assert not line.display
        assert "evaluate" in text(app, TapePanel)


async def test_question_mark_shows_help_and_escape_closes_it():
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("s")  # keys of the debugger do not leak through the help
        assert app.session.position == (0, 0)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_q_quits():
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running
    assert app.return_value == 0


# -- the command line --------------------------------------------------------------------------------

COMMANDS = ["step 3", "next 2", "finish", "continue", "rstep 2", "rnext", "rfinish", "rcontinue",
            "goto epoch 1", "goto epoch 0 phase backward", "goto step 30", "goto dE/dW[2,1,1]@1",
            "restart"]


@pytest.mark.parametrize("command", COMMANDS)
async def test_every_motion_command_on_the_command_line(command):
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        app.run_command("goto step 25")
        await enter(pilot, command)
        assert app.session.position == reference("worked-222", "goto step 25", command).position


async def test_the_other_commands_on_the_command_line():
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        for command in ("break phase update", "break nan", "break E if value < 0.1", "breaks", "delete 2",
                        "watch W[2,1,1]", "watch x[1]", "print dE/dW[2,1,1]", "where", "expect E@1 0.02397190",
                        "expect E@1 0.5", "unwatch x[1]"):
            await enter(pilot, command)
        messages = [m for m, _ in notes(app)]
        assert "#1 phase update\n#2 nan\n#3 E if value < 0.1" in messages
        assert "deleted breakpoint #2" in messages
        assert any(m.startswith("dE/dW[2,1,1]@1  ∂E/∂W5 = ") and m.endswith("0.02592286") for m in messages)
        assert any(m.startswith("epoch 0 · forward · sample 1 · step 0 of 55") for m in messages)
        assert "expect E@1 0.0239719 ± 5e-09: ok, got 0.02397190" in messages
        assert any(m.startswith("expect E@1 0.5") and "FAILED" in m for m in messages)
        assert [str(r) for r in app.session.watches] == ["W[2,1,1]"]
        rows = text(app, ValuesPanel).splitlines()
        assert rows[1].startswith("★ W[2,1,1]") and "0.45000000" in rows[1]


@pytest.mark.parametrize("command,why", [
    ("frobnicate", "unknown command 'frobnicate'"),
    ("goto epoch 7", "epoch 7 is outside 0…1"),
    ("break z[9,9]", "unknown id 'z[9,9]'"),
    ("break E if value >", "expected a number"),
    ("step -1", "expected a count ≥ 1"),
    ("goto step 99", "step 99 is outside 0…54"),
    ("unwatch E", "E is not watched"),
    ("open", "expected a built-in scenario"),
])
async def test_command_line_errors_are_notifications_and_change_nothing(command, why):
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        app.run_command("goto step 5")
        session = app.session
        await enter(pilot, command)
        assert app.session is session and app.session.position == (0, 5)
        errors = [m for m, severity in notes(app) if severity == "error"]
        assert len(errors) == 1 and why in errors[0]


async def test_command_line_history_and_escape():
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("colon", *"step 2", "enter")
        await pilot.press("colon", "up")
        line = app.query_one("#cmdline")
        assert line.value == "step 2"
        await pilot.press("escape")
        assert not line.display and app.session.position == (0, 2)
        await pilot.press("s")  # the keys are the debugger's again
        assert app.session.position == (0, 3)


async def test_keys_typed_at_once_after_colon_g_or_e_reach_the_command_line():
    """A paste or a fast typist: the keys after ':' are queued before the line opens."""
    from textual import events

    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        line = app.query_one("#cmdline")
        for opener, typed, expected in [(":", "goto E@1", "goto E@1"), ("g", "step 3", "goto step 3"),
                                        ("e", "", None)]:
            for ch in opener + typed:
                app.post_message(events.Key({":": "colon", " ": "space", "@": "at"}.get(ch, ch), ch))
            await pilot.pause(0.2)
            assert line.has_focus and app.session.position == (0, 0)
            if expected is not None:
                assert line.value == expected
            for ch in "ge:":  # inside the line they are letters, not keys of the debugger
                await pilot.press(ch)
            assert line.value.endswith("ge:") and line.has_focus
            await pilot.press("escape")


# -- scenarios ---------------------------------------------------------------------------------------

async def test_a_bad_scenario_is_a_notification_and_the_session_stays():
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        app.run_command("goto step 7")
        session = app.session
        await enter(pilot, "open no-such-scenario.toml")
        assert app.session is session and app.session.position == (0, 7)
        assert notes(app)[-1] == ("no-such-scenario.toml: no such file or built-in scenario; built-ins are: "
                                  + ", ".join(scenario.builtin_names()), "error")


async def test_open_a_file_scenario_from_the_command_line(tmp_path):
    src = scenario.builtin_dir() / "worked-222.toml"
    mine = tmp_path / "mine.toml"
    mine.write_text(src.read_text().replace('name = "worked-222"', 'name = "mine"'))
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        app.run_command(f"open {mine}")
        await opened(pilot)
        assert app.session.scenario.name == "mine"
        assert app.query_one("#status").plain().startswith(" mine")


async def test_palette_opens_xor():
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"open xor")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await opened(pilot)
        assert app.session.scenario.name == "xor"
        assert "network 2-10-10-10-1" == app.query_one("#network").border_title


async def test_palette_with_a_bad_scenario_file_is_a_notification():
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        session = app.session
        await pilot.press("ctrl+p")
        await pilot.press(*"nope.toml")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        assert app.session is session
        assert notes(app)[-1][1] == "error" and notes(app)[-1][0].startswith("nope.toml: no such file")


async def test_palette_runs_a_typed_command():
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"goto step 12")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        assert app.session.position == (0, 12)


# -- XOR, long work ------------------------------------------------------------------------------------

async def test_goto_far_epoch_in_xor_runs_in_a_worker_and_lands():
    app = app_for("xor")
    async with app.run_test(size=SIZE) as pilot:
        app.run_command("goto epoch 10000")
        assert app.busy
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not app.busy and app.session.position == (10000, 0)
        loss = app.session.tape.losses[10000]
        assert 1e-4 < loss < 3e-4  # the lecture prints 0.000156… at epoch 10000
        assert f"E {fmt(loss)} at epoch 10000" in app.query_one("#loss").plain()
        await pilot.press("g")
        app.query_one("#cmdline").value += "epoch 10000 phase backward"
        await pilot.press("enter")
        await pilot.press("s", "s")
        assert app.session.current.phase == "backward"
        expected = reference("xor", "goto epoch 10000 phase backward", "step 2")
        assert app.session.position == expected.position
        assert fmt(app.session.current.value) == fmt(expected.current.value)


async def test_escape_cancels_a_long_run_and_the_cursor_stays(monkeypatch):
    slow = engine.run_epoch

    def run_epoch(*args, **kwargs):
        time.sleep(0.002)
        return slow(*args, **kwargs)

    monkeypatch.setattr(engine, "run_epoch", run_epoch)
    app = app_for("xor")
    async with app.run_test(size=SIZE) as pilot:
        app.run_command("goto step 3")
        app.run_command("continue")
        assert app.busy and app.query_one("#progress").display
        await pilot.press("s")  # refused while busy, with a word why
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not app.busy and not app.query_one("#progress").display
        assert app.session.position == (0, 3)
        assert notes(app)[-1] == ("cancelled; the cursor stays at epoch 0, step 3", "warning")
        assert any(m.startswith("still working") for m, _ in notes(app))
        await pilot.press("s")
        assert app.session.position == (0, 4)


# -- the mouse -----------------------------------------------------------------------------------------

async def test_click_a_tape_row_goes_to_that_step():
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        tape = app.query_one(TapePanel)
        rows = tape._rows
        await pilot.click(TapePanel, offset=(10, 1 + 3))  # border, then the fourth row
        assert app.session.position == (0, rows[3])


async def test_click_a_factor_in_the_formula_goes_to_the_step_that_computed_it():
    app = app_for()
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
        await pilot.click(FormulaPanel, offset=(2 + second.index("0.209446"), 2))
        assert app.session.current.name == "∂E/∂o1"
        used = text(app, FormulaPanel).splitlines()[-1]  # factor of / used by …
        assert used.startswith("used by ∂E/∂z3 #13, ∂E/∂W5 #15")
        await pilot.click(FormulaPanel, offset=(2 + used.index("∂E/∂W5"), 4))
        assert app.session.position == (0, 15)


async def test_click_a_weight_in_a_later_epoch_goes_to_its_update():
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        app.run_command("goto epoch 1")
        app.run_command("goto z[2,1]@1")
        app.action_goto_ref("W[2,1,1]")
        assert app.session.position == (0, 47) and app.session.current.name == "W5⁺"
        app.run_command("restart")
        app.action_goto_ref("x[1]@1")
        assert app.session.position == (0, 0)
        assert "no step computes it" in notes(app)[-1][0]


# -- the panels ----------------------------------------------------------------------------------------

def centre(row, word):
    return row.index(word) + len(word) / 2


async def test_formula_numbers_stand_centred_under_their_symbols():
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        app.run_command("goto dE/dW[2,1,1]")
        sym, num, result = text(app, FormulaPanel).splitlines()[:3]
        assert sym.startswith("∂E/∂W5 = ")
        for name, value in (("∂E/∂o1", "0.209446"), ("∂o1/∂z3", "0.23802157"), ("∂z3/∂W5", "0.51998934")):
            assert abs(centre(sym, name) - centre(num, value)) <= 0.5
        assert result.strip().startswith("= 0.02592286")


async def test_a_product_keeps_its_factors_together_over_its_numbers():
    """z1 = W1·x1 + W2·x2: no gap inside a product; each dot over its dot, each factor inside its
    number's columns."""
    app = app_for()
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


async def test_a_long_formula_wraps_with_its_numbers():
    app = app_for("xor")
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


async def test_network_panel_names_the_edge_of_a_weight_step():
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        app.run_command("goto W+[2,1,1]")
        network = app.query_one("#network").plain()
        assert "W5: h1 → o1 = 0.4500" in network
        for unit in ("x1 0.1000", "h1 0.0081", "o1 0.0499"):  # δ in the update phase
            assert unit in network


async def test_everything_fits_at_80_by_24():
    app = app_for("xor")
    async with app.run_test(size=(80, 24)) as pilot:
        app.run_command("goto dE/dW[2,3,4]@2")
        await pilot.pause()
        for panel in ("#network", "#tape", "#formula", "#values", "#loss", "#status", "#keys"):
            widget = app.query_one(panel)
            assert widget.region.width > 0 and widget.region.height > 0, panel
        assert "∂E/∂W²₃₄ = " in text(app, FormulaPanel)
        assert "? help" in app.query_one("#keys").plain()


# -- torch ---------------------------------------------------------------------------------------------

class FakeChecker:
    """Stands in for bpstep.crosscheck.StepChecker: the engine's value, a tiny difference."""

    device, dtype = "cpu", "float64"

    def __init__(self, tape=None):
        self.tape = tape

    def compare(self, step):
        return step.value + 1e-18, 1e-18, True

    def compare_values(self, epoch, key, shape):
        mine = self.tape.record(epoch).values(key, shape)
        return mine + 1e-18, np.full(shape, 1e-18), np.full(shape, True)


async def test_a_slow_torch_never_holds_up_the_first_screen_or_the_keys(monkeypatch):
    gate = threading.Event()

    def slow_factory(tape, device):
        gate.wait(10)  # torch "loading" until the test has stepped around
        return FakeChecker()

    monkeypatch.setattr(check, "make_checker", slow_factory)
    started = time.perf_counter()
    app = Recording(scenario.load("worked-222"))
    async with app.run_test(size=SIZE) as pilot:
        assert time.perf_counter() - started < 5
        assert "torch loading… (cpu)" in app.query_one("#status").plain()
        await pilot.press("s", "s", "s")
        assert app.session.position == (0, 3)
        assert "…" in text(app, ValuesPanel).splitlines()[1]
        gate.set()
        for _ in range(2):  # the checker, then the worker that has it compute the epoch
            await app.workers.wait_for_complete()
            await pilot.pause()
        assert "torch ready: cpu float64" in app.query_one("#status").plain()
        row = text(app, ValuesPanel).splitlines()[1]
        assert row.split()[1:4] == ["0.08000000", "0.08000000", "1.0e-18"]
        assert "torch 0.52747230  |Δ| 1.0e-18 ✓" in text(app, FormulaPanel)


async def test_no_cross_check_module_means_unavailable(monkeypatch):
    monkeypatch.setitem(sys.modules, "bpstep.crosscheck", None)  # import fails
    app = BpstepApp(scenario.load("worked-222"))
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.crosscheck.state == "unavailable"
        assert "torch unavailable: no cross-check" in app.query_one("#status").plain()
        await pilot.press("s")
        assert app.session.position == (0, 1)


async def test_a_device_that_is_missing_is_unavailable_with_its_reason():
    def factory(tape, device):
        raise check.Unavailable("device 'cuda' is not available")

    app = BpstepApp(scenario.load("worked-222"), device="cuda", checker_factory=factory)
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "torch unavailable: device 'cuda' is not available" in app.query_one("#status").plain()
        assert "—" in text(app, ValuesPanel).splitlines()[1]


def test_the_tui_package_is_the_only_one_that_imports_textual():
    import subprocess

    code = "import sys, bpstep.session, bpstep.replay, bpstep.cli; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


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
async def test_every_step_draws_every_panel(name, tmp_path):
    if name == "mixed":
        (tmp_path / "mixed.toml").write_text(MIXED)
        name = str(tmp_path / "mixed.toml")
    app = app_for(name)
    async with app.run_test(size=(100, 30)) as pilot:
        panels = app._panels + [app.query_one("#keys")]
        tape = app.session.tape
        for _ in range(sum(tape.length(e) for e in range(tape.epochs + 1)) - 1):
            app.run_command("step")
            for panel in panels:
                assert panel.lines() is not None
        assert app.session.position == tape.last
        assert app.said == []  # no command failed on the way


async def test_torch_computes_each_new_epoch_in_a_worker(monkeypatch):
    gate = threading.Event()

    class SlowEpochs(FakeChecker):
        def compare(self, step):
            gate.wait(10)  # the first compare of the epoch: torch computing it
            return super().compare(step)

    app = Recording(scenario.load("worked-222"), checker_factory=lambda tape, device: SlowEpochs())
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "torch computing epoch 0…" in text(app, FormulaPanel)
        await pilot.press("s", "s")  # the keys do not wait for it
        assert app.session.position == (0, 2)
        gate.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "torch 0.51998934  |Δ| 1.0e-18 ✓" in text(app, FormulaPanel)


# -- layer view ----------------------------------------------------------------------------------------

def highlighted(app) -> set:
    """The unit labels the network panel highlights."""
    out = set()
    for line in app.query_one("#network").drawn():
        for span in line.spans:
            if span.style == "bold black on yellow":
                out.add(line.plain[span.start:span.end].split()[0])
    return out


async def test_v_switches_to_layer_view_and_back_keeping_the_place():
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        app.run_command("goto dE/dW[2,1,1]@1")
        await pilot.press("v")
        assert app.session.view == "layer" and app.session.position == (0, 15)
        status = app.query_one("#status").plain()
        assert "layer view" in status and "layer step 8 of 15" in status
        formula = text(app, FormulaPanel)
        assert formula.splitlines()[0] == "∂E/∂W² = δ²(h¹)ᵀ"
        for number in ("0.04985267", "0.51998934", "0.02592286", "0.02629590", "0.00740844", "0.00751506"):
            assert number in formula  # δ², h¹ and the four gradients of the 2×2 matrix
        tape = text(app, TapePanel)
        assert "▶   8" in tape and "∂E/∂W² = δ²(h¹)ᵀ" in tape and "W²⁺ = W² − α·∂E/∂W²" in tape
        assert app.query_one("#tape").border_title == "layer steps · epoch 0"
        assert not any(m == "layer view" for m, _ in notes(app))  # the status line says it
        await pilot.press("v")
        assert app.session.view == "scalar" and app.session.position == (0, 15)
        assert "scalar view" in app.query_one("#status").plain()
        assert text(app, FormulaPanel).startswith("∂E/∂W5 = ")


LAYER_KEYS = ["s", "s", "n", "s", "N", "f", "S", "F", "c", "C", "right", "left"]


async def test_motions_move_by_layer_steps_in_layer_view():
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("v")
        mirror = reference("worked-222", "view layer")
        names = {"s": "step", "right": "step", "S": "rstep", "left": "rstep", "n": "next", "N": "rnext",
                 "f": "finish", "F": "rfinish", "c": "continue", "C": "rcontinue"}
        trail = []
        for key in LAYER_KEYS:
            await pilot.press(key)
            mirror.execute(names[key])
            assert app.session.position == mirror.position, key
            layer = app.session.current_layer
            trail.append(layer.index)
            length = app.session.layer_tape.length(layer.epoch)
            assert f"layer step {layer.index} of {length}" in app.query_one("#status").plain()
            assert text(app, FormulaPanel).splitlines()[0].startswith(layer.header().split(" = ")[0])
        assert trail[:3] == [1, 2, 3]  # a¹ = σ(z¹), z² = W²h¹, o = σ(z²): a layer step at a time
        assert app.session.current_layer.position == (0, 0)  # … C to the start, → and ← back there


async def test_layer_view_highlights_the_whole_layer_and_lists_its_values():
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("v")  # z¹ = W¹x
        assert highlighted(app) == {"h1", "h2"}
        await pilot.press("s", "s")  # z² = W²h¹
        assert highlighted(app) == {"o1", "o2"}
        rows = text(app, ValuesPanel).splitlines()
        assert [r.split()[0] for r in rows[-2:]] == ["z3", "z4"]  # the layer step's values, last
        assert "h2" in rows[-3]
        network = app.query_one("#network").plain()
        assert "layer 2: z²" in network and "h1 0.5200" in network and "o1 ·" in network


async def test_layer_view_of_xor_far_into_training_fits_small_screens():
    app = app_for("xor")
    async with app.run_test(size=(80, 24)) as pilot:
        app.run_command("goto epoch 5000")
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.run_command("goto dE/dW[2,3,4]@2")
        await pilot.press("v")
        lines = text(app, FormulaPanel).splitlines()
        assert lines[0] == "∂E/∂W² = Δ²ᵀA¹ / 4"
        assert all(len(line) <= 76 for line in lines)
        shown = app.session.current_layer.matrix
        assert fmt(shown[0, 0]) in lines[1] and "(10×10)" in lines[1]  # the result, cut to fit
        assert any("operands not shown" in line for line in lines)
        assert "L22/37" in app.query_one("#status").plain()


async def test_layer_verdict_covers_every_step_in_it():
    app = Recording(scenario.load("worked-222"), checker_factory=lambda tape, device: FakeChecker(tape))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("v")
        for _ in range(2):
            await app.workers.wait_for_complete()
            await pilot.pause()
        assert text(app, FormulaPanel).splitlines()[-1] == "torch ✓ over 2 steps  max |Δ| 1.0e-18"


# -- what-if edits ---------------------------------------------------------------------------------------

async def test_e_prompts_set_for_the_current_quantity_and_tab_goes_through_the_others():
    app = app_for()
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


async def test_e_in_layer_view_offers_what_the_whole_layer_step_depends_on():
    app = app_for()
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


async def test_e_on_a_step_that_depends_on_nothing_given_says_so(tmp_path):
    (tmp_path / "line.toml").write_text(IDENTITY)
    app = app_for(str(tmp_path / "line.toml"))
    async with app.run_test(size=SIZE) as pilot:
        app.run_command("goto da[1,1]/dz[1,1]")  # the identity's derivative: 1
        await pilot.press("e")
        assert not app.query_one("#cmdline").display
        assert notes(app)[-1] == ("∂o₁/∂z¹₁ depends on no parameter, input, target or learning rate that could be set",
                                  "warning")


async def test_an_edit_recomputes_everything_and_reset_gives_the_numbers_back():
    app = app_for()
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


async def test_save_from_the_command_line_writes_a_scenario_that_loads(tmp_path):
    app = app_for()
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
async def test_bad_edits_and_files_are_notifications(command, why):
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        app.run_command("goto step 5")
        await enter(pilot, command)
        assert app.session.position == (0, 5) and app.session.tape.edits.items == {}
        errors = [m for m, severity in notes(app) if severity == "error"]
        assert len(errors) == 1 and why in errors[0]


class EpochCache(FakeChecker):
    """Keeps the values of each epoch once computed, until a what-if edit (a new tape
    generation), as StepChecker does."""

    def __init__(self, tape):
        self.tape, self.kept, self.computed = tape, {}, 0

    def compare(self, step):
        key = (self.tape.generation, step.epoch, step.index)
        if key not in self.kept:
            self.computed += 1
            self.kept[key] = step.value
        value = self.kept[key]
        return value, abs(value - step.value), value == step.value


async def test_the_torch_column_never_shows_values_from_before_an_edit():
    checkers = []

    def factory(tape, device):
        checkers.append(EpochCache(tape))
        return checkers[-1]

    app = Recording(scenario.load("worked-222"), checker_factory=factory)
    async with app.run_test(size=SIZE) as pilot:
        app.run_command("goto z[2,1]")
        for _ in range(2):
            await app.workers.wait_for_complete()
            await pilot.pause()
        assert "torch 0.44498412  |Δ| 0 ✓" in text(app, FormulaPanel)
        asked = checkers[0].computed
        await enter(pilot, "set W[2,1,1] 0.5")
        for _ in range(2):
            await app.workers.wait_for_complete()
            await pilot.pause()
        value = fmt(app.session.current.value)
        assert value != "0.44498412" and checkers[0].computed > asked  # asked again, not from a cache
        assert f"torch {value}  |Δ| 0 ✓" in text(app, FormulaPanel)
        assert "0.44498412" not in text(app, ValuesPanel)


# -- the worked example --------------------------------------------------------------------------------

def maths(markdown_text):
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    return [t.content for t in MarkdownIt().use(dollarmath_plugin).parse(markdown_text) if t.type == "math_block"]


async def test_export_from_the_palette_writes_the_worked_example(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"export worked")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        line = app.query_one("#cmdline")
        assert line.display and line.value == "export worked-222-epoch0.md"
        await pilot.press("enter")
        written = (tmp_path / "worked-222-epoch0.md").read_text()
        assert notes(app)[-1] == (f"wrote the worked example of epoch 0 to {tmp_path / 'worked-222-epoch0.md'}",
                                  "information")
        formulas = maths(written)
        assert len(formulas) > 50
        for number in ("0.02397190", "0.02592286", "0.43703857", "0.00080888", "0.29959556", "0.02323634"):
            assert any(number in f for f in formulas), number


async def test_export_on_the_command_line_writes_the_cursors_epoch(tmp_path):
    app = app_for("xor")
    async with app.run_test(size=SIZE) as pilot:
        await enter(pilot, "goto epoch 3")
        await enter(pilot, "set lr 0.5")
        await enter(pilot, f"export {tmp_path / 'xor3.md'}")
        written = (tmp_path / "xor3.md").read_text()
        assert "This is epoch 3 of 10001" in written
        formulas = maths(written)
        loss = app.session.tape.losses[3]
        assert any(f.startswith("E = ") and f.endswith(f" = {fmt(loss)}") for f in formulas)
        assert sum(r" - 0.5 \times " in f for f in formulas) == len(app.session.layout.specs(False)) - sum(
            s.phase != "update" for s in app.session.layout.specs(False))  # every update with the edited lr
        assert app.export_name() == "xor-epoch3.md"


# -- the palette and the command line ------------------------------------------------------------------

async def test_the_palette_lists_ours_first_and_textuals_last():
    from textual.command import CommandList

    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause(0.5)
        options = app.screen.query_one(CommandList)
        prompts = [str(options.get_option_at_index(i).prompt).split("\n")[0] for i in range(options.option_count)]
        assert prompts[0] == "open worked-222" and "export worked example (Markdown)" in prompts[:5]
        assert prompts[-4:] == ["Theme", "Quit", "Keys", "Screenshot"]


def test_open_takes_a_device(monkeypatch):
    from bpstep import cli
    from bpstep.tui import app as tui_app

    seen = []
    monkeypatch.setattr(tui_app, "run_app", lambda sc, device="cpu", session=None: seen.append((sc.name, device)) or 0)
    assert cli.main(["open", "xor", "--device", "cuda"]) == 0
    assert cli.main([]) == 0
    assert seen == [("xor", "cuda"), ("worked-222", "cpu")]
