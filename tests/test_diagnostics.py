"""Diagnostic breakpoints and ``health``: on scenarios built to have a dead relu, saturated
sigmoids and exploding gradients, each breakpoint stops exactly where a step-by-step scan of the
tape — reading only the values the steps show — says it first becomes true, then at each later
place, in both directions."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bpstep import ids, scenario
from bpstep.commands import CommandError, parse
from bpstep.session import Session

HERE = Path(__file__).resolve().parent / "diagnostics"


def scan(session, hit, count):
    """The first ``count`` positions where ``hit(state, step)`` holds, walking every step of
    every epoch in order; ``state`` is a fresh dict per epoch."""
    tape, found = session.tape, []
    for e in range(tape.epochs + 1):
        state = {}
        for i in range(tape.length(e)):
            if hit(state, tape.step(e, i)):
                found.append((e, i))
                if len(found) == count:
                    return found
    return found


def dead_scan(sc):
    def hit(state, step):
        q = ids.parse(step.id)
        if q.family != "z" or sc.activations[q.idx[0] - 1] != "relu":
            return False
        state.setdefault(q.idx, []).append(step.value)
        return step.sample == sc.samples and all(v <= 0 for v in state[q.idx])
    return hit


def saturated_scan(sc, eps):
    def hit(state, step):
        q = ids.parse(step.id)
        return q.family == "dadz" and sc.activations[q.idx[0] - 1] in ("sigmoid", "tanh") and step.value < eps
    return hit


def norm_scan(sc, bound, above: bool):
    """A layer's batch gradient is complete at its last batch ∂E/∂W or ∂E/∂b step."""
    def hit(state, step):
        q = ids.parse(step.id)
        if q.family not in ("dEdW", "dEdb") or step.sample is not None:
            return False
        layer = q.idx[0]
        squares = state.setdefault(layer, [])
        squares.append(step.value * step.value)  # inf, not OverflowError, once it explodes
        if len(squares) < sc.sizes[layer] * (sc.sizes[layer - 1] + sc.bias):
            return False
        norm = math.sqrt(sum(squares))
        return norm > bound if above else norm < bound
    return hit


CASES = [
    ("dead-relu", "break dead", lambda sc: dead_scan(sc), 11),
    ("saturated", "break saturated", lambda sc: saturated_scan(sc, 1e-3), 10),
    ("saturated", "break saturated 0.01", lambda sc: saturated_scan(sc, 0.01), None),
    ("exploding", "break exploding", lambda sc: norm_scan(sc, 1e3, True), 11),
    ("exploding", "break exploding 300", lambda sc: norm_scan(sc, 300, True), None),
    ("exploding", "break vanishing 3", lambda sc: norm_scan(sc, 3, False), None),
    ("saturated", "break vanishing 1e-3", lambda sc: norm_scan(sc, 1e-3, False), None),
]


@pytest.mark.parametrize("name, command, make_scan, first_epoch", CASES, ids=[c[0] + ": " + c[1] for c in CASES])
def test_a_diagnostic_stops_where_a_scan_of_the_steps_says(name, command, make_scan, first_epoch):
    sc = scenario.load(str(HERE / f"{name}.toml"))
    session = Session(sc)
    expected = scan(session, make_scan(sc), 4)
    assert expected, "the scenario must have the problem it is built for"
    if first_epoch is not None:
        assert expected[0][0] == first_epoch
    session.execute(command)
    landed = []
    for _ in expected:
        result = session.execute("continue")
        assert result.hit is not None, (landed, expected)
        assert len(result.messages) == 2 and result.messages[1]  # the hit, then why
        landed.append(session.position)
    assert landed == expected
    for back in reversed(expected[:-1]):
        assert session.execute("rcontinue").hit is not None
        assert session.position == back


def test_why_a_diagnostic_stopped():
    session = Session(scenario.load(str(HERE / "dead-relu.toml")))
    session.execute("break dead")
    result = session.execute("continue")
    assert result.messages[0] == "breakpoint #1 dead hit"
    step = session.current
    assert step.id.startswith("z[1,") and step.sample == 4
    j = ids.parse(step.id).idx[1]
    zs = [session.lookup(parse(f"print z[1,{j}]@{n}").ref, session.position[0], n) for n in range(1, 5)]
    assert max(zs) <= 0
    assert result.messages[1].startswith(f"relu unit a[1,{j}] is dead: z ≤ 0 for all 4 samples")


def test_health_counts_what_the_steps_show():
    sc = scenario.load(str(HERE / "dead-relu.toml"))
    session = Session(sc)
    dead_at = scan(session, dead_scan(sc), 100)
    session.execute("goto epoch 11")
    lines = session.execute("health").messages
    assert lines[0] == "health of epoch 11, over the batch of 4 sample(s):"
    assert lines[1].split()[:4] == ["layer", "units", "activation", "dead"]
    dead_units = {session.tape.step(*p).id for p in dead_at if p[0] == 11}
    layer1, layer2 = lines[2].split(), lines[3].split()
    assert layer1[:3] == ["1", "6", "relu"] and " ".join(layer1[3:7]) == f"{len(dead_units)} of 6 ({len(dead_units) * 100 / 6:.0f}%)"
    assert layer2[:3] == ["2", "1", "sigmoid"] and layer2[3] == "—"  # not a relu
    norm = math.sqrt(sum(session.tape.step(11, i).value ** 2 for i in range(session.tape.length(11))
                         if ids.parse(session.tape.step(11, i).id).family in ("dEdW", "dEdb")
                         and ids.parse(session.tape.step(11, i).id).idx[0] == 2
                         and session.tape.step(11, i).sample is None))
    assert float(layer2[-1]) == pytest.approx(norm, rel=1e-4)
    session.execute(f"goto epoch {sc.epochs}")
    assert session.execute("health").messages[0].startswith("health of the evaluate phase")


@pytest.mark.parametrize("command, expected", [
    ("break dead 3", "usage: break"),
    ("break saturated -1", "the saturated threshold must be > 0"),
    ("break saturated 0", "the saturated threshold must be > 0"),
    ("break exploding x", "the exploding threshold 'x' is not a number"),
    ("break vanishing 1 2", "usage: break"),
    ("health now", "takes no arguments"),
])
def test_bad_diagnostics_are_one_line(command, expected):
    with pytest.raises(CommandError) as e:
        parse(command)
    assert expected in str(e.value) and "\n" not in str(e.value)


async def test_the_health_screen_in_the_tui():
    from bpstep.tui.app import BpstepApp
    from bpstep.tui.health import HealthScreen

    app = BpstepApp(scenario.load(str(HERE / "dead-relu.toml")), crosscheck=False)
    async with app.run_test(size=(120, 40)) as pilot:
        app.run_command("goto epoch 11")
        await pilot.pause()
        app.run_command("health")
        await pilot.pause()
        assert isinstance(app.screen, HealthScreen)
        shown = str(app.screen.query_one("Static").render())
        assert "health of epoch 11" in shown and "1 of 6 (17%)" in shown
        await pilot.press("escape")
        assert not isinstance(app.screen, HealthScreen)
