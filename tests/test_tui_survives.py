"""The TUI outlives every command: a bad command is a notification, a bug in a command is a
notification naming the log file its traceback went to (never the screen), and a long ``:open``
runs in a worker that Esc gives up on."""

import threading

import pytest

from bpstep import loading, scenario
from bpstep.session import Session
from bpstep.tui import app as app_module
from test_total_parser import REPRODUCERS
from tuikit import SIZE, enter, notes, opened


@pytest.mark.parametrize("command, why", REPRODUCERS.values(), ids=REPRODUCERS.keys())
async def test_each_class_of_bad_command_is_a_notification_and_the_app_goes_on(make_app, command, why):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await enter(pilot, command)
        assert notes(app)[-1][1] == "error" and why in notes(app)[-1][0]
        await pilot.press("s")
        assert app.is_running and app.session.position == (0, 1)


async def test_a_condition_of_1500_terms_is_refused_at_once(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await enter(pilot, "break E if " + " or ".join(["value > 0"] * 1500))
        assert "expected at most 1,000" in notes(app)[-1][0] and app.session.breakpoints == []


@pytest.fixture
def log_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    return tmp_path / "bpstep"


def bug(*args, **kwargs):
    raise ZeroDivisionError("a bug in a command")


async def test_a_bug_in_a_command_is_logged_and_the_app_goes_on(make_app, log_folder, monkeypatch):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        monkeypatch.setattr(Session, "execute", bug)
        await enter(pilot, "step 3")
        log = log_folder / "errors.log"
        message, severity = notes(app)[-1]
        assert severity == "error" and f"the traceback is in {log}" in message
        assert "the command 'step 3' failed (ZeroDivisionError: a bug in a command)" in message
        assert "Traceback (most recent call last)" in log.read_text() and "in bug" in log.read_text()
        monkeypatch.undo()
        await pilot.press("s")
        assert app.is_running and app.session.position == (0, 1)


async def test_a_bug_in_a_long_command_is_logged_and_the_app_goes_on(make_app, log_folder, monkeypatch):
    app = make_app("xor")
    async with app.run_test(size=SIZE) as pilot:
        monkeypatch.setattr(Session, "execute", bug)
        await enter(pilot, "goto epoch 5000")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not app.busy and not app.query_one("#progress").display
        assert f"the traceback is in {log_folder / 'errors.log'}" in notes(app)[-1][0]
        monkeypatch.undo()
        await pilot.press("s")
        assert app.session.position == (0, 1)


async def test_a_bug_while_opening_is_logged(make_app, log_folder, monkeypatch, tmp_path):
    (tmp_path / "s.toml").write_text("whatever")
    monkeypatch.setattr(app_module.loading, "load", bug)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await enter(pilot, f"open {tmp_path / 's.toml'}")
        await opened(pilot)
        assert "opening" in notes(app)[-1][0] and str(log_folder / "errors.log") in notes(app)[-1][0]
        assert app.session.scenario.name == "worked-222"


async def test_a_long_open_shows_progress_and_esc_gives_it_up(make_app, tmp_path, monkeypatch):
    big = tmp_path / "big.toml"
    big.write_text((scenario.builtin_dir() / "xor.toml").read_text())
    release = threading.Event()

    def slow_load(spec):  # a file that takes long to read: until the test says so
        release.wait(60)
        return loading.load(spec)

    monkeypatch.setattr(app_module.loading, "load", slow_load)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        before = app.session
        await enter(pilot, f"open {big}")
        assert app.busy and app.query_one("#progress").display
        assert app.loader.daemon  # quitting now would not wait for the read
        assert "opening" in str(app.query_one("#progress-label").render())
        await pilot.press("escape")
        assert not app.busy and not app.query_one("#progress").display
        assert notes(app)[-1] == ("cancelled opening; the session stays as it was", "warning")
        await pilot.press("s")
        assert app.session is before and app.session.position == (0, 1)
        release.set()
        await opened(pilot)
        assert app.session is before and app.session.scenario.name == "worked-222"


async def test_a_long_open_that_finishes_replaces_the_session(make_app, tmp_path):
    mine = tmp_path / "xor-copy.toml"
    mine.write_text((scenario.builtin_dir() / "xor.toml").read_text())
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await enter(pilot, f"open {mine}")
        await opened(pilot)
        assert app.session.scenario.sizes == (2, 10, 10, 10, 1) and not app.busy
        assert notes(app)[-1][0].startswith("opened ")
