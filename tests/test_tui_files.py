"""The TUI asks before it replaces a file, and writes through a temporary file: a full disk
during ``:export`` leaves the old file as it was."""

import pytest

from bpstep import scenario
from bpstep.tui.confirm import ConfirmScreen
from test_safe_writes import GOOD, full_disk_after
from tuikit import SIZE, enter, notes


@pytest.mark.parametrize("command, name", [("set lr 0.25; save {}", "old.toml"), ("export {}", "old.md")])
async def test_replacing_a_file_asks_and_no_keeps_it(make_app, tmp_path, command, name):
    target = tmp_path / name
    target.write_bytes(GOOD)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        for part in command.format(target).split("; "):
            await enter(pilot, part)
        assert isinstance(app.screen, ConfirmScreen) and str(target) in app.screen.question
        await pilot.press("n")
        assert not isinstance(app.screen, ConfirmScreen)
        assert target.read_bytes() == GOOD and notes(app)[-1] == (f"kept {target} as it is; nothing written",
                                                                  "warning")


async def test_replacing_a_file_asks_and_yes_replaces_it(make_app, tmp_path):
    target = tmp_path / "old.toml"
    target.write_bytes(GOOD)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await enter(pilot, "set lr 0.25")
        await enter(pilot, f"save {target}")
        await pilot.press("y")
        assert scenario.load(str(target)).learning_rate == 0.25 and notes(app)[-1] == (f"saved {target}", "information")


async def test_a_full_disk_during_export_leaves_the_old_file(make_app, tmp_path, monkeypatch):
    target = tmp_path / "old.md"
    target.write_bytes(GOOD)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        full_disk_after(monkeypatch, 200)
        await enter(pilot, f"export {target}")
        await pilot.press("enter")  # yes, replace it
        assert notes(app)[-1] == (f"export: cannot write {target}: No space left on device", "error")
    assert target.read_bytes() == GOOD and [p.name for p in tmp_path.iterdir()] == ["old.md"]
