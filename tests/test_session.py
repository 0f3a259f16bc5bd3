"""The debugger session: every command forwards and backwards, breakpoints with
conditions, watches, print, where, expect, restart and goto."""

import math

import numpy as np
import pytest

from bpstep import scenario
from bpstep.commands import CommandError, Ref
from bpstep.session import Session
from bpstep.tape import Cancelled




@pytest.fixture
def w3():
    """worked-222 trained for three epochs: 55 steps each, then 11 in the evaluate phase."""
    return Session(scenario.load("worked-222").with_epochs(3))


def run(session, *commands):
    """Execute commands; the position after each."""
    return [(session.execute(c), session.position)[1] for c in commands]


def test_step_and_rstep_walk_every_position(w3):
    tape = w3.tape
    everything = [(e, i) for e in range(4) for i in range(tape.length(e))]
    assert len(everything) == 3 * 55 + 11
    for pos in everything[1:]:
        assert w3.execute("step").step.position == pos
    assert w3.execute("step").messages == ["at the end of the tape"]
    assert w3.position == everything[-1]
    for pos in reversed(everything[:-1]):
        assert w3.execute("rstep").step.position == pos
    assert w3.execute("rstep").messages == ["at the start of the tape"]
    assert w3.position == (0, 0)


@pytest.mark.parametrize("start", [(0, 0), (0, 30), (1, 54), (2, 3), (3, 5)])
@pytest.mark.parametrize("n", [1, 7, 55, 56, 100, 130])
def test_n_forward_then_n_back_returns_across_epochs(w3, start, n):
    w3.position = start
    w3.execute(f"step {n}")
    ahead = w3.position
    assert ahead > start
    w3.execute(f"rstep {n}")
    if ahead != w3.tape.last:  # not clamped at the end: back to exactly where we were
        assert w3.position == start
    # one big step equals n small ones
    w3.position = start
    for _ in range(n):
        w3.execute("step")
    assert w3.position == ahead


def test_n_forward_then_n_back_on_xor():
    s = Session(scenario.load("xor").with_epochs(3))
    length = s.tape.length(0)
    assert length > 4000
    for start, n in [((0, 0), length + 17), ((0, 4000), 2 * length), ((1, 5), 2 * length - 200), ((2, 4800), 300)]:
        s.position = start
        s.execute(f"step {n}")
        e, i = s.position
        assert e * length + i == start[0] * length + start[1] + n
        s.execute(f"rstep {n}")
        assert s.position == start
    for start, n in [((0, 0), 3000), ((1, 0), 2500), ((2, 10), 2000)]:  # quantities
        s.position = start
        assert not s.current.factor
        s.execute(f"next {n}")
        assert s.position > start and not s.current.factor
        s.execute(f"rnext {n}")
        assert s.position == start


def test_next_skips_factors_and_rnext_mirrors_it(w3):
    tape = w3.tape
    w3.execute("goto dE/da[2,1]@1")
    assert w3.position == (0, 11)
    assert w3.execute("step").step.id == "da[2,1]/dz[2,1]"  # step goes into the factors
    w3.execute("rstep")
    assert w3.execute("next").step.id == "dE/dz[2,1]"  # next goes over them
    assert w3.execute("next").step.id == "dE/dW[2,1,1]"  # over ∂z3/∂W5
    # next visits exactly the quantities, in order, across the epoch boundary and back
    w3.execute("restart")
    visited = [w3.position]
    while w3.position != tape.last:
        visited.append(w3.execute("next").step.position)
    quantities = [(e, i) for e in range(4) for i in range(tape.length(e)) if not tape.step(e, i).factor]
    assert visited == quantities
    back = [w3.position]
    while w3.position != (0, 0):
        back.append(w3.execute("rnext").step.position)
    assert back == list(reversed(quantities))
    # what next passes over are the factors
    w3.execute("goto dE/da[1,1]@1")
    passed = []
    w3.execute("rnext", on_pass=passed.append)
    assert passed and all(p.factor for p in passed)
    assert not w3.current.factor


def test_finish_and_rfinish_go_by_phases(w3):
    runs = w3.layout.phase_runs(False)
    assert [r[2] for r in runs] == ["forward", "loss", "backward", "update"]
    ends = [(0, r[1]) for r in runs] + [(1, runs[0][1])]
    assert run(w3, *["finish"] * 5) == ends
    assert run(w3, "rfinish", "rfinish", "rfinish") == [(1, 0), (0, runs[3][0]), (0, runs[2][0])]
    w3.execute("goto epoch 3")  # the evaluate phase
    assert w3.execute("finish").step.position == w3.tape.last
    assert w3.execute("finish").messages == ["at the end of the tape"]
    assert w3.execute("rfinish").step.position == (3, 0)
    assert w3.execute("rfinish").step.position == (2, runs[3][0])
    w3.execute("restart")
    assert w3.execute("rfinish").messages == ["at the start of the tape"]


def test_continue_and_rcontinue_without_breakpoints_go_to_the_ends(w3):
    assert w3.execute("continue").step.position == w3.tape.last == (3, 10)
    assert w3.execute("continue").messages == ["at the end of the tape"]
    assert w3.execute("rcontinue").step.position == (0, 0)


def test_break_on_an_id_of_every_sample_stops_in_every_epoch(w3):
    w3.execute("break z[1,1]")
    hits = [w3.execute("continue").step.position for _ in range(4)]
    assert hits == [(1, 0), (2, 0), (3, 0), w3.tape.last]
    assert [w3.execute("rcontinue").step.position for _ in range(4)] == [(3, 0), (2, 0), (1, 0), (0, 0)]
    result = w3.execute("continue")
    assert result.hit.number == 1 and result.messages[0] == "breakpoint #1 z[1,1] hit"


def test_break_on_one_sample_of_a_batch():
    s = Session(scenario.load("xor").with_epochs(2))
    s.execute("break a[4,1]@3")
    r = s.execute("continue")
    assert r.step.qid == "a[4,1]@3" and r.step.phase == "forward"
    r = s.execute("continue")
    assert r.step.position == (1, r.step.index) and r.step.qid == "a[4,1]@3"
    s.execute("delete")
    s.execute("restart")
    s.execute("break a[4,1]")  # without @n: every sample
    samples = [s.execute("continue").step.sample for _ in range(4)]
    assert samples == [1, 2, 3, 4]


def test_conditions_on_value_and_other_ids(w3):
    w3.execute("break E@1 if value < 0.0235")  # E_total is 0.02397 before the first update
    assert w3.execute("continue").step.position == (1, 10)
    assert w3.execute("continue").step.position == (2, 10)
    w3.execute("delete 1")
    w3.execute("restart")
    # other ids are read in the epoch (and sample) of the step the breakpoint is on
    w3.execute("break W+[1,1,1] if dE/dW[1,1,1] > 0.0008 and abs(W[1,1,1] - 0.3) < 1e-9")
    r = w3.execute("continue")
    assert r.step.position == (0, 51) and r.hit.number == 2
    assert w3.execute("continue").step.position == w3.tape.last  # W1 is no longer 0.3 later on
    w3.execute("delete")
    w3.execute("restart")
    w3.execute("break a[2,1] if not (value > 0.6 or z[1,1] * 2 / 4 == -1)")
    # o1 falls below 0.6 in the second epoch's forward pass (0.60617688 after one update...)
    r = w3.execute("continue")
    assert r.hit is not None and r.step.value <= 0.6
    previous = [w3.tape.step(e, 6).value for e in range(r.step.epoch)]
    assert all(v > 0.6 for v in previous)


def test_condition_division_by_zero_does_not_crash(w3):
    w3.execute("break z[1,1] if value / 0 > 1")  # +inf > 1
    assert w3.execute("continue").step.position == (1, 0)
    w3.execute("delete")
    w3.execute("break z[1,1] if 0 / 0 == 0 / 0")  # nan == nan is false
    assert w3.execute("continue").step.position == w3.tape.last


def test_break_phase_stops_at_each_start_of_the_phase(w3):
    w3.execute("break phase update")
    positions = [w3.execute("continue").step.position for _ in range(3)]
    assert positions == [(0, 47), (1, 47), (2, 47)]
    assert w3.execute("rcontinue").step.position == (1, 47)
    w3.execute("break phase evaluate")
    assert w3.execute("continue").step.position == (2, 47)
    assert w3.execute("continue").step.position == (3, 0)


def test_break_phase_in_sequential_order_stops_at_each_layer():
    s = Session(scenario.load("worked-222").with_epochs(1))
    seq = Session(scenario.parse(
        (scenario.builtin_dir() / "worked-222.toml").read_text().replace(
            'update_order = "simultaneous"', 'update_order = "sequential"'), "seq"))
    assert [r[2] for r in seq.layout.phase_runs(False)] == ["forward", "loss", "backward", "update",
                                                             "backward", "update"]
    seq.execute("break phase update")
    first = seq.execute("continue").step
    second = seq.execute("continue").step
    assert first.id == "W+[2,1,1]" and second.id == "W+[1,1,1]"
    assert s.layout.phase_runs(False)[-1][2] == "update"


def test_break_nan_stops_at_the_first_non_finite_value(diverging):
    s = Session(scenario.load(str(diverging)))
    s.execute("break nan")
    r = s.execute("continue")
    assert r.hit is not None and not math.isfinite(r.step.value)
    e, i = r.step.position
    earlier = [st.value for ep in range(e + 1) for st in s.tape.steps(ep) if st.position < (e, i)]
    assert earlier and all(math.isfinite(v) for v in earlier)
    # and again on the next non-finite step, and back
    r2 = s.execute("continue")
    assert r2.step.position > (e, i) and not math.isfinite(r2.step.value)
    assert s.execute("rcontinue").step.position == (e, i)
    assert s.execute("rcontinue").step.position == (0, 0)


NONFINITE_SOMEWHERE = {
    # only the bias update overflows: δ of the hidden unit is huge, its input is 0
    "b+": """
        [network]
        sizes = [1, 1, 1]
        activation = ["identity", "sigmoid"]
        [init]
        weights = [[[1.0]], [[1e300]]]
        biases = [[1e-300], [0.0]]
        [data]
        inputs = [[0.0]]
        targets = [[0.0]]
        [training]
        learning_rate = 1e10
    """,
    # only the sum of the finite loss terms overflows
    "E": """
        [network]
        sizes = [1, 3]
        activation = "identity"
        bias = false
        [init]
        weights = [[[1.2e154], [1.2e154], [1.2e154]]]
        [data]
        inputs = [[1.0]]
        targets = [[0.0, 0.0, 0.0]]
        [training]
        learning_rate = 1e-300
    """,
}


@pytest.mark.parametrize("what", sorted(NONFINITE_SOMEWHERE))
def test_break_nan_sees_every_kind_of_step(write_scenario, what):
    s = Session(scenario.load(str(write_scenario(NONFINITE_SOMEWHERE[what]))))
    first = next(st for st in s.tape.steps(0) if not math.isfinite(st.value))
    assert first.id.startswith(what)
    s.execute("break nan")
    r = s.execute("continue")
    assert r.hit is not None and r.step.position == first.position


def test_delete_and_breaks(w3):
    for text in ("break z[1,1]", "break phase loss", "break nan", "break E@1 if value > 1"):
        w3.execute(text)
    listing = w3.execute("breaks").messages
    assert listing == ["#1 z[1,1]", "#2 phase loss", "#3 nan", "#4 E@1 if value > 1"]
    assert w3.execute("delete 2").messages == ["deleted breakpoint #2"]
    assert [b.number for b in w3.breakpoints] == [1, 3, 4]
    with pytest.raises(CommandError, match="no breakpoint #2"):
        w3.execute("delete 2")
    assert w3.execute("delete").messages == ["deleted 3 breakpoint(s)"]
    assert w3.execute("breaks").messages == ["no breakpoints"]
    w3.execute("break z[1,2]")
    assert w3.breakpoints[0].number == 5  # numbers are never reused


def test_toggle_break(w3):
    from bpstep.commands import Ref

    w3.toggle_break(Ref("W+[1,1,1]"))
    assert [b.describe() for b in w3.breakpoints] == ["#1 W+[1,1,1]"]
    assert w3.execute("continue").step.id == "W+[1,1,1]"
    w3.toggle_break(Ref("W+[1,1,1]"))
    assert w3.breakpoints == []


def test_watch_unwatch_and_print(w3):
    w3.execute("goto epoch 1")
    w3.execute("watch W[1,1,1]")
    w3.execute("watch E@1")
    w3.execute("watch W[1,1,1]")  # twice is once
    assert w3.watch_lines() == ["W[1,1,1]  W1 = 0.29959556",
                                "E@1  E_total = E_o1 + E_o2 = 0.02125445 + 0.00198189 = 0.02323634"]
    w3.execute("unwatch W[1,1,1]")
    assert len(w3.watch_lines()) == 1
    with pytest.raises(CommandError, match="not watched"):
        w3.execute("unwatch W[1,1,1]")
    assert w3.execute("print W+[1,1,1]").messages == [
        "W+[1,1,1]  W1⁺ = W1 − α × ∂E/∂W1 = 0.29959556 − 0.5 × 0.00078141 = 0.29920486"]
    assert w3.execute("print lr").messages == ["lr  α = 0.50000000"]
    assert w3.execute("print x[2]").messages == ["x[2]@1  x2 = 0.20000000"]
    assert w3.execute("print t[1]@1").messages == ["t[1]@1  target_o1 = 0.40000000"]
    w3.execute("goto epoch 3")
    assert w3.execute("print W+[1,1,1]").messages == ["W+[1,1,1]  not computed in epoch 3 (evaluate)"]


def test_print_without_sample_shows_the_batch_or_every_sample():
    s = Session(scenario.load("xor").with_epochs(1))
    lines = s.execute("print a[4,1]").messages  # no batch value: every sample's
    assert [line.split("  ")[0] for line in lines] == ["a[4,1]@1", "a[4,1]@2", "a[4,1]@3", "a[4,1]@4"]
    lines = s.execute("print dE/dW[4,1,1]").messages  # the batch mean, only
    assert [line.split("  ")[0] for line in lines] == ["dE/dW[4,1,1]"]
    lines = s.execute("print dE/dW[4,1,1]@*").messages
    assert [line.split("  ")[0] for line in lines] == [f"dE/dW[4,1,1]@{n}" for n in (1, 2, 3, 4)]
    assert [line.split("  ")[0] for line in s.execute("print E").messages] == ["E"]
    assert [line.split("  ")[0] for line in s.execute("print E@*").messages] == [f"E@{n}" for n in (1, 2, 3, 4)]


def _batch_loss(session, epoch):
    return session.lookup(Ref("E"), epoch)


def test_E_is_the_batch_loss_for_every_command():
    """XOR: a sample's loss drops below 0.5 epochs before the batch loss does; ``E`` is the batch's
    for break, goto, watch, expect and conditions, ``E@*`` any sample's."""
    s = Session(scenario.load("xor"))
    s.execute("break E if value < 0.5")
    hit = s.execute("continue")
    assert hit.step.qid == "E" and hit.step.value < 0.5
    epoch = hit.step.epoch
    assert _batch_loss(s, epoch - 1) >= 0.5  # the first epoch whose batch loss is below 0.5
    s.execute("delete")
    s.execute("goto epoch 0")
    s.execute("break E@* if value < 0.5")
    any_sample = s.execute("continue").step
    assert any_sample.sample is not None and any_sample.epoch < epoch
    s.execute("delete")
    assert s.execute("goto E").step.qid == "E"
    assert s.execute("goto E@*").step.qid == "E@1"
    s.execute("goto epoch 3 phase forward")  # a step of sample 1: E is still the batch's
    assert s.execute(f"expect E {_batch_loss(s, 3)!r} tol 0").failed is False
    s.execute("watch E")
    assert [line.split("  ")[0] for line in s.watch_lines()] == ["E"]
    s.execute("break z[1,1] if E < 0.5")  # the condition reads the batch loss too
    assert s.execute("continue").step.epoch == epoch
    # the sample is taken only where the quantity has one
    for bad in ("print W[1,1,1]@1", "goto W+[1,1,1]@*", "print lr@2", "break z[1,1] if E@* < 1",
                "expect E@* 0.5"):
        with pytest.raises(CommandError):
            s.execute(bad)


def test_where_describes_the_current_step(w3):
    w3.execute("goto dE/dW[2,1,1]@1")
    assert w3.execute("where").messages == [
        "epoch 0 · backward · sample 1 · step 15 of 55: dE/dW[2,1,1]@1  ∂E/∂W5 = ∂E/∂o1 × ∂o1/∂z3 × ∂z3/∂W5"
        " = 0.20944600 × 0.23802157 × 0.51998934 = 0.02592286"]


def test_expect_passes_and_fails(w3):
    ok = w3.execute("expect dE/dW[2,1,1]@1 0.02592286")
    assert not ok.failed and ok.messages[0].endswith("ok, got 0.02592286")
    assert not w3.execute("expect a[1,1] 0.52 tol 0.0001").failed
    miss = w3.execute("expect dE/dW[2,1,1]@1 0.02592287")  # one unit in the 8th decimal
    assert miss.failed and "FAILED, got 0.02592286" in miss.messages[0]
    assert w3.execute("expect W+[1,1,1] 0.29959556").failed is False
    w3.execute("goto epoch 1")  # ids without @n are read in the current epoch
    assert w3.execute("expect E 0.02323634").failed is False


def test_restart_and_goto(w3):
    assert w3.execute("goto epoch 2 phase backward").step.position == (2, 11)
    assert w3.execute("goto epoch 1").step.position == (1, 0)
    assert w3.execute("goto epoch 3 phase evaluate").step.position == (3, 0)
    assert w3.execute("goto epoch 0 phase loss").step.position == (0, 8)
    assert w3.execute("goto step 20").step.position == (0, 20)
    assert w3.execute("goto W+[2,2,2]").step.position == (0, 50)
    assert w3.execute("goto dE[2,2]/da[1,1]@1").step.qid == "dE[2,2]/da[1,1]@1"
    assert w3.execute("restart").step.position == (0, 0)
    w3.execute("goto epoch 3")
    with pytest.raises(CommandError, match="not a step of epoch 3"):
        w3.execute("goto W+[1,1,1]")
    with pytest.raises(CommandError, match="outside 0…10"):
        w3.execute("goto step 11")
    with pytest.raises(CommandError, match="outside 0…3"):
        w3.execute("goto epoch 4")
    with pytest.raises(CommandError, match="no update phase"):
        w3.execute("goto epoch 3 phase update")
    with pytest.raises(CommandError, match="no evaluate phase"):
        w3.execute("goto epoch 1 phase evaluate")
    assert w3.position == (3, 0)  # a failed command moves nothing


@pytest.mark.parametrize("text, message", [
    ("print q[1]", "not a quantity id"),
    ("print W[3,1,1]", "unknown id"),
    ("print b[1,1]", "no biases"),
    ("print z[1,1]@2", "sample 2 is outside"),
    ("break z[1,1] if value >", "condition"),
    ("break z[1,1] if __import__('os')", "condition"),
    ("step 0", "count"),
    ("frobnicate", "unknown command"),
    ("break W[1,1,1]", "is given, not computed"),  # would never stop
    ("break x[1]@1", "is given, not computed"),
])
def test_bad_commands_raise_and_change_nothing(w3, text, message):
    with pytest.raises(CommandError, match=message):
        w3.execute(text)
    assert w3.position == (0, 0) and w3.breakpoints == [] and w3.history == []


def test_history_keeps_the_commands(w3):
    run(w3, "step 3", "n", "goto epoch 1")
    assert w3.history == ["step 3", "n", "goto epoch 1"]


def test_a_cancelled_jump_leaves_the_cursor_and_keeps_the_checkpoints():
    s = Session(scenario.load("xor"))
    s.execute("step 3")
    calls = []
    with pytest.raises(Cancelled):
        s.execute("goto epoch 3000", progress=lambda done, total: calls.append((done, total)),
                  cancelled=lambda: len(calls) >= 3)
    assert s.position == (0, 3)
    assert calls and all(total <= 3000 for _, total in calls)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    kept = max(s.tape._checkpoints)
    assert 0 < kept < 3000
    s.execute("goto epoch 3000")
    assert s.position == (3000, 0)


def test_memory_stays_bounded_while_stepping_across_many_epochs():
    from bpstep import tape as tape_module

    s = Session(scenario.load("xor").with_epochs(400))
    s.execute("goto epoch 399")
    for _ in range(30):
        s.execute("rfinish")
    assert len(s.tape._records) <= tape_module.RECORDS_KEPT
    assert len(s.tape._checkpoints) <= 400 // tape_module.CHECKPOINT_EVERY + 1
    # stepping back over an epoch boundary costs at most CHECKPOINT_EVERY epochs
    s.execute("goto epoch 250")
    s.execute("rstep")
    assert s.position == (249, s.tape.length(249) - 1)


def test_walking_back_over_many_epochs_costs_about_one_epoch_each(monkeypatch):
    from bpstep import engine, tape as tape_module

    s = Session(scenario.load("xor").with_epochs(300))
    s.execute("goto epoch 300")
    calls = []
    real, advance = engine.run_epoch, engine.advance
    monkeypatch.setattr(engine, "run_epoch", lambda *a, **k: calls.append(k.get("full")) or real(*a, **k))
    monkeypatch.setattr(engine, "advance", lambda *a, **k: calls.append(False) or advance(*a, **k))
    s.execute("break E if value > 1")  # never: every epoch is looked at on the way back
    assert s.execute("rcontinue").step.position == (0, 0)
    # each epoch once in full, and each fast-forwarded once more at most (without keeping the
    # recent start parameters, every step back cost ~CHECKPOINT_EVERY / 2 epochs)
    assert calls.count(True) <= 300 and len(calls) <= 2 * 300 + 10
    assert len(s.tape._recent) <= tape_module.CHECKPOINT_EVERY


@pytest.mark.parametrize("name, qid", [
    ("W5", "W[2,1,1]"), ("h1", "a[1,1]"), ("o1", "a[2,1]"), ("∂E/∂W5", "dE/dW[2,1,1]"), ("dE/dW5", "dE/dW[2,1,1]"),
    ("dE/dW1", "dE/dW[1,1,1]"), ("E_total", "E"), ("∂E_o1/∂h1", "dE[2,1]/da[1,1]"), ("dE_o1/dh1", "dE[2,1]/da[1,1]"),
    ("z¹₁", "z[1,1]"), ("z^1_1", "z[1,1]"), ("∂E/∂W¹₁₂", "dE/dW[1,1,2]"), ("dE/dW^1_12", "dE/dW[1,1,2]"),
    ("W5⁺", "W+[2,1,1]"), ("W5+", "W+[2,1,1]"), ("E_o2", "E[2]"), ("target_o1", "t[1]"), ("∂o1/∂z3", "da[2,1]/dz[2,1]"),
    ("∂z3/∂h1", "dz[2,1]/da[1,1]"), ("∂E/∂z3", "dE/dz[2,1]"), ("δ²₁", "dE/dz[2,1]"), ("α", "lr"), ("o₁", "a[2,1]"),
    ("E₁", "E[1]"), ("x2", "x[2]"), ("b³₁", "b[3,1]"),
])
def test_the_names_on_screen_are_ids(w3, name, qid):
    assert w3.read_name(Ref(name)) == Ref(qid)


def test_names_are_taken_wherever_an_id_is(w3):
    assert w3.execute("print W5").messages == ["W5 = W[2,1,1]", "W[2,1,1]  W5 = 0.45000000"]
    assert w3.execute("goto ∂E/∂W5").step.qid == "dE/dW[2,1,1]@1"
    assert w3.execute("goto dE/dW1").step.qid == "dE/dW[1,1,1]@1"
    assert w3.execute("print E⁽¹⁾").messages[0] == "E⁽¹⁾ = E@1"
    w3.execute("break h1 if E_total < 1 and W5 > 0.1")
    assert w3.breakpoints[-1].ref == Ref("a[1,1]")
    w3.execute("watch dE_o1/dh1")
    assert w3.watches == [Ref("dE[2,1]/da[1,1]")]
    assert not w3.execute("expect o1 0.60944600").failed
    w3.execute("set W5 0.6")
    assert w3.lookup(Ref("W[2,1,1]"), 0) == 0.6
    for bad in ("print W9", "print W" + "9" * 500, "print z^1_" + "1" * 40):  # no such weight; no traceback
        with pytest.raises(CommandError, match="not a quantity id or a name"):
            w3.execute(bad)


def test_goto_a_given_quantity_goes_to_its_first_reader_or_the_update_that_made_it(w3):
    assert w3.execute("goto W5").step.qid == "z[2,1]@1"  # epoch 0: the first step that reads it
    assert w3.execute("goto x1").step.qid == "z[1,1]@1"
    assert w3.execute("goto lr").step.qid == "W+[2,1,1]"
    w3.execute("goto epoch 2")
    landed = w3.execute("goto W5")
    assert landed.step.position[0] == 1 and landed.step.qid == "W+[2,1,1]"
    assert landed.step.value == w3.lookup(Ref("W[2,1,1]"), 2)
    with pytest.raises(CommandError, match="given, not computed"):
        w3.execute("break W5")


def test_numbers_put_into_a_formula_read_as_they_do_as_results(w3):
    """A computed number keeps its 8 decimals (0.60944600, as o1's own line says); a given one is
    written as the scenario gives it (0.4)."""
    line = w3.execute("print E[1]@1").messages[0]
    assert line.endswith("½(target_o1 − o1)² = ½(0.4 − 0.60944600)² = 0.02193381")
    assert w3.execute("print a[2,1]@1").messages[0].endswith("= 0.60944600")


def test_where_a_run_changes_fastest_and_the_loss_panel_note():
    from bpstep import drift

    losses = np.array([0.7, 0.69, 0.68, 0.2, 0.1, np.nan])
    assert drift.steepest(losses) == 2 and drift.steepest(np.full(3, np.nan)) is None
    assert drift.around(2, 5, 1) == [0, 1, 2, 3, 4] and drift.around(0, 5, 2, count=1) == [0, 2]
    assert drift.in_range("100:110:5", 300) == [100, 105, 110] and drift.in_range("0:40", 300)[:3] == [0, 2, 4]
    assert drift.in_range("9:3", 300) is None and drift.in_range("x", 300) is None
    assert drift.note(losses, 3, "float32").startswith("e2 steepest: free runs part here")
    assert drift.note(losses, 3, "float64") == "" and drift.note(np.linspace(1, 0, 5000), 4000, "float32") == ""
