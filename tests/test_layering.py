"""Imports run one way: the engine and the structure of an epoch (engine, ids, layout, edits,
tape, motions, layers) import nothing above them: not the command parser, the session, the
what-if commands, the mirror or the TUI."""

import pytest

from test_imports import PACKAGE, imported

_ABOVE = {"bpstep.commands", "bpstep.session", "bpstep.whatif", "bpstep.reference", "bpstep.crosscheck",
          "bpstep.replay", "bpstep.cli", "bpstep.export", "bpstep.tui"}


@pytest.mark.parametrize("name", ["engine", "ids", "layout", "edits", "tape", "motions", "layers", "notation"])
def test_the_lower_modules_import_nothing_above_them(name):
    _, inside = imported(PACKAGE / f"{name}.py")
    assert not {m for m in inside if any(m == a or m.startswith(a + ".") for a in _ABOVE)}


def test_the_scan_sees_an_upward_import():
    _, inside = imported(PACKAGE / "session.py")
    assert "bpstep.commands" in inside
