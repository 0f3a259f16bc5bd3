"""The TUI's command line and palette, driven with Textual's Pilot: every command, its errors
as notifications, the history, opening scenarios, a long run in a worker that Esc cancels."""

import time

import pytest

from bpstep import engine, scenario
from bpstep.notation import fmt
from bpstep.tui.values import ValuesPanel

from tuikit import SIZE, enter, notes, opened, pick, reference, text


COMMANDS = ["step 3", "next 2", "finish", "continue", "rstep 2", "rnext", "rfinish", "rcontinue",
            "goto epoch 1", "goto epoch 0 phase backward", "goto step 30", "goto dE/dW[2,1,1]@1",
            "restart"]


@pytest.mark.parametrize("command", COMMANDS)
async def test_every_motion_command_on_the_command_line(make_app, command):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.run_command("goto step 25")
        await enter(pilot, command)
        assert app.session.position == reference("worked-222", "goto step 25", command).position


async def test_the_other_commands_on_the_command_line(make_app):
    app = make_app()
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
async def test_command_line_errors_are_notifications_and_change_nothing(make_app, command, why):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.run_command("goto step 5")
        session = app.session
        await enter(pilot, command)
        assert app.session is session and app.session.position == (0, 5)
        errors = [m for m, severity in notes(app) if severity == "error"]
        assert len(errors) == 1 and why in errors[0]


async def test_command_line_history_and_escape(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("colon", *"step 2", "enter")
        await pilot.press("colon", "up")
        line = app.query_one("#cmdline")
        assert line.value == "step 2"
        await pilot.press("escape")
        assert not line.display and app.session.position == (0, 2)
        await pilot.press("s")  # the keys are the debugger's again
        assert app.session.position == (0, 3)


async def test_keys_typed_at_once_after_colon_g_or_e_reach_the_command_line(make_app):
    """A paste or a fast typist: the keys after ':' are queued before the line opens."""
    from textual import events

    app = make_app()
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

async def test_a_bad_scenario_is_a_notification_and_the_session_stays(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.run_command("goto step 7")
        session = app.session
        await enter(pilot, "open no-such-scenario.toml")
        assert app.session is session and app.session.position == (0, 7)
        assert notes(app)[-1] == ("no-such-scenario.toml: no such file or built-in scenario; built-ins are: "
                                  + ", ".join(scenario.builtin_names()), "error")


async def test_open_a_file_scenario_from_the_command_line(make_app, tmp_path):
    src = scenario.builtin_dir() / "worked-222.toml"
    mine = tmp_path / "mine.toml"
    mine.write_text(src.read_text().replace('name = "worked-222"', 'name = "mine"'))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.run_command(f"open {mine}")
        await opened(pilot)
        assert app.session.scenario.name == "mine"
        assert app.query_one("#status").plain().startswith(" mine")


async def test_palette_opens_xor(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pick(pilot, "open xor")
        await opened(pilot)
        assert app.session.scenario.name == "xor"
        assert "network 2-10-10-10-1" == app.query_one("#network").border_title


async def test_palette_with_a_bad_scenario_file_is_a_notification(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        session = app.session
        await pick(pilot, "nope.toml")
        assert app.session is session
        assert notes(app)[-1][1] == "error" and notes(app)[-1][0].startswith("nope.toml: no such file")


async def test_palette_runs_a_typed_command(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pick(pilot, "goto step 12")
        assert app.session.position == (0, 12)


# -- XOR, long work ------------------------------------------------------------------------------------

async def test_goto_far_epoch_in_xor_runs_in_a_worker_and_lands(make_app):
    app = make_app("xor")
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


async def test_escape_cancels_a_long_run_and_the_cursor_stays(make_app, monkeypatch):
    def slowed(run):
        def epoch(*args, **kwargs):
            time.sleep(0.002)
            return run(*args, **kwargs)
        return epoch

    monkeypatch.setattr(engine, "run_epoch", slowed(engine.run_epoch))
    monkeypatch.setattr(engine, "advance", slowed(engine.advance))
    app = make_app("xor")
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


# -- the palette and the command line ------------------------------------------------------------------

async def test_the_palette_lists_ours_first_and_textuals_last(make_app):
    from textual.command import CommandList

    app = make_app()
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


async def test_the_palette_finds_a_name_on_screen(make_app):
    """Typing W5 (as the worked example shows it) offers goto and print of W[2,1,1]."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pick(pilot, "dE/dW5")
        assert app.session.current.qid == "dE/dW[2,1,1]@1"
