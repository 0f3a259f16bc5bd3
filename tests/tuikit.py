"""What the TUI tests share besides the app factory (``make_app`` in conftest.py): typing a
command, picking from the palette, waiting for an open, a panel's text, where a session of
its own lands, and a torch stand-in."""

import numpy as np

from bpstep import scenario
from bpstep.session import Session

SIZE = (120, 40)


def notes(app):
    return app.said


async def enter(pilot, command):
    """``:`` then the command then Enter (the text put in at once: typing is slow in a Pilot)."""
    await pilot.press("colon")
    pilot.app.query_one("#cmdline").value = command
    await pilot.press("enter")


async def pick(pilot, text):
    """The palette's first hit for ``text``."""
    await pilot.press("ctrl+p")
    await pilot.press(*text)
    await pilot.pause(0.5)
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
