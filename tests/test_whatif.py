"""What-if edits: set changes exactly what depends on the edited value, from its epoch on;
reset gives the original run back byte for byte; save writes a scenario that replays the edit."""

import io

import numpy as np
import pytest

from bpstep import engine, replay, scenario
from bpstep.commands import CommandError
from bpstep.session import Session
from bpstep.tape import CHECKPOINT_EVERY


def _values(session, epoch):
    return {s.qid: s.value for s in session.tape.steps(epoch)}


def _full_replay(session) -> str:
    out = io.StringIO()
    replay.run(session, None, out=out)
    return out.getvalue()


def _dependents(specs, given):
    """The steps that read ``given``, directly or through other steps."""
    reached, out = {given}, set()
    for s in specs:
        if reached.intersection(s.uses):
            reached.add(s.qid)
            out.add(s.qid)
    return out


def test_set_changes_exactly_what_depends_on_it():
    sc = scenario.load("worked-222")
    session = Session(sc)
    before = _values(session, 0)
    result = session.execute("set W[2,1,1] 0.5")
    assert result.messages == ["set W[2,1,1] = 0.5 at the start of epoch 0 (was 0.45); recomputed from epoch 0"]
    after = _values(session, 0)
    changed = {qid for qid in before if before[qid] != after[qid]}
    assert changed == _dependents(session.layout.specs(False), "W[2,1,1]")
    # as the issue spells it out: layer 1's forward values stay, z[2,1] and what follows change
    for qid in ("z[1,1]@1", "z[1,2]@1", "a[1,1]@1", "a[1,2]@1", "z[2,2]@1", "a[2,2]@1", "E[2]@1",
                "dE/dW[2,2,1]@1", "W+[2,2,2]"):
        assert qid not in changed
    for qid in ("z[2,1]@1", "a[2,1]@1", "E[1]@1", "E@1", "dE/dW[2,1,1]@1", "dz[2,1]/da[1,1]@1",
                "dE/dW[1,1,1]@1", "W+[2,1,1]", "W+[1,2,2]"):
        assert qid in changed
    assert after["z[2,1]@1"] == 0.5 * before["a[1,1]@1"] + 0.4 * before["a[1,2]@1"]
    assert after["dz[2,1]/da[1,1]@1"] == 0.5
    assert session.tape.record(1).value(("E",)) != pytest.approx(0.02323634, abs=5e-9)


def test_an_edit_at_a_later_epoch_leaves_the_epochs_before_it():
    sc = scenario.load("xor").with_epochs(4)
    fresh, session = Session(sc), Session(sc)
    session.tape.record(4)
    session.execute("goto epoch 2")
    session.execute("set x[2] 0.5")  # every sample, from epoch 2 on
    losses = session.tape.losses
    assert np.isfinite(losses[:3]).all() and np.isnan(losses[3:]).all()  # epoch 2 is shown again
    for epoch in (0, 1):
        assert _values(session, epoch) == _values(fresh, epoch)
    for epoch in (2, 3, 4):
        mine = session.tape.record(epoch).arrays.act[0]
        assert mine[:, 1].tolist() == [0.5] * 4
        assert _values(session, epoch)["E"] != _values(fresh, epoch)["E"]
    assert fresh.tape.record(1).arrays.act[0][:, 1].tolist() == [0, 1, 0, 1]
    # epoch 2 starts from the parameters epoch 1 left, unchanged
    np.testing.assert_array_equal(session.tape.params(2).W[0], fresh.tape.params(2).W[0])


def test_parameter_edit_invalidates_checkpoints_after_it():
    sc = scenario.load("worked-222").with_epochs(2 * CHECKPOINT_EVERY + 50)
    session = Session(sc)
    tape = session.tape
    tape.record(sc.epochs - 10)  # checkpoints at 100 and 200
    session.execute("goto epoch 150")
    session.execute("set W[1,2,1] -0.25")
    assert sorted(tape._checkpoints) == [0, 100] and np.isnan(tape.losses[151:]).all()
    # the reference: epochs 150… from the edited parameters, by the engine alone
    net, p0 = tape.net, Session(sc).tape.params(150)
    p0.W[0][1, 0] = -0.25
    p = p0
    for _ in range(150, sc.epochs - 10):
        p, _, _ = engine.run_epoch(net, p)
    np.testing.assert_array_equal(tape.params(sc.epochs - 10).W[1], p.W[1])
    np.testing.assert_array_equal(tape.params(150).W[0], p0.W[0])
    session.execute("reset")
    fresh = Session(sc).tape
    for epoch in (100, 150, 220, sc.epochs):
        np.testing.assert_array_equal(tape.params(epoch).W[0], fresh.params(epoch).W[0])


def test_reset_gives_the_original_run_back_byte_for_byte():
    for name, edits in (("worked-222", ["set W[2,1,1] 0.5", "set lr 0.1", "set x[1] 0.3", "set t[2] 0.9"]),
                        ("xor", ["goto epoch 1", "set b[2,3] 0.5", "set t[1]@4 1", "set lr 3"])):
        sc = scenario.load(name).with_epochs(3)
        original = _full_replay(Session(sc))
        session = Session(sc)
        for text in edits:
            session.execute(text)
        assert _full_replay(session) != original
        count = sum(text.startswith("set") for text in edits)
        assert session.execute("reset").messages[0].startswith(f"reset {count} edit(s)")
        assert _full_replay(session) == original
    assert session.execute("reset").messages == ["no edits to reset"]


def test_reset_of_one_id():
    sc = scenario.load("worked-222")
    only_w = Session(sc)
    only_w.execute("set W[2,1,1] 0.5")
    session = Session(sc)
    session.execute("set W[2,1,1] 0.5")
    session.execute("set x[1] 0.3")
    session.reset("x[1]")
    assert _full_replay(session) == _full_replay(only_w)
    with pytest.raises(CommandError, match="reset: x\\[1\\] has no edits"):
        session.reset("x[1]")


def test_save_then_replay_reproduces_the_edited_run(tmp_path):
    sc = scenario.load("worked-222")
    session = Session(sc)
    for text in ("set W[2,1,1] 0.5", "set x[1]@1 0.3", "set t[2] 0.75", "set lr 0.25"):
        session.execute(text)
    path = tmp_path / "edited.toml"
    assert session.save(str(path)).messages == [f"saved {path}"]
    saved = scenario.load(str(path))
    assert saved.title == sc.title + " (what-if)" and saved.name == "edited"
    assert saved.learning_rate == 0.25 and saved.weights[1][0, 0] == 0.5
    assert _full_replay(Session(saved)) == _full_replay(session)


def test_save_of_edits_at_a_later_epoch_holds_the_run_from_there(tmp_path):
    sc = scenario.load("xor").with_epochs(5)
    session = Session(sc)
    session.execute("goto epoch 2")
    session.execute("set W[1,1,1] 0.5")
    session.execute("set t[1]@1 0.25")
    path = tmp_path / "later.toml"
    assert "the run from epoch 2" in session.save(str(path)).messages[0]
    saved = Session(scenario.load(str(path)))
    assert saved.scenario.epochs == 3 and saved.scenario.dtype == "float32"
    for k in range(4):
        assert list(_values(saved, k).values()) == list(_values(session, k + 2).values())


def test_save_refuses_what_a_scenario_cannot_hold(tmp_path):
    session = Session(scenario.load("worked-222").with_epochs(3))
    session.execute("set W[1,1,1] 0.5")
    session.execute("goto epoch 1")
    session.execute("set lr 1")
    with pytest.raises(CommandError, match="edits were made at epochs 0, 1"):
        session.save(str(tmp_path / "x.toml"))
    session.reset()
    session.execute("goto epoch 3")
    session.execute("set x[1] 1")
    with pytest.raises(CommandError, match="evaluate phase"):
        session.save(str(tmp_path / "x.toml"))
    with pytest.raises(CommandError, match="cannot write"):
        Session(scenario.load("worked-222")).save(str(tmp_path / "missing" / "x.toml"))


def test_saved_text_round_trips_strings_and_floats(tmp_path, write_scenario):
    path = write_scenario('''\
        title = "quotes \\" and ∂ and \\\\ backslash"
        [network]
        sizes = [1, 1]
        activation = "identity"
        [init]
        weights = [[[0.1]]]
        biases = [[-1e-20]]
        [data]
        inputs = [[0.30000000000000004]]
        targets = [[1e300]]
        [training]
        learning_rate = 1e-7
        freeze = ["b[1,1]"]
        ''')
    session = Session(scenario.load(str(path)))
    session.execute("set W[1,1,1] 0.1234567890123456789")
    out = tmp_path / "out.toml"
    session.save(str(out))
    back = scenario.load(str(out))
    assert back.title == 'quotes " and ∂ and \\ backslash (what-if)'
    assert back.weights[0][0, 0] == 0.1234567890123456789 and back.biases[0][0] == -1e-20
    assert back.inputs[0, 0] == 0.30000000000000004 and back.targets[0, 0] == 1e300
    assert back.learning_rate == 1e-7 and back.freeze == frozenset({"b[1,1]"})


@pytest.mark.parametrize("text, message", [
    ("set z[1,1] 1", "z[1,1] is computed, not given"),
    ("set W[2,1,1]@1 1", "is one value shared by every sample"),
    ("set W[2,1,1] abc", "the value 'abc' is not a number"),
    ("set W[2,1,1]", "expected an id and a value"),
    ("set W[3,1,1] 1", "unknown id 'W[3,1,1]'"),
    ("set lr 0", "expected a learning rate > 0"),
    ("set x[1]@2 1", "sample 2 is outside 1…1"),
    ("reset dE/dz[1,1]", "dE/dz[1,1] is computed"),
    ("save", "expected a scenario file name ending in .toml, got ''"),
    ("save ~/.bashrc", "expected a scenario file name ending in .toml"),
])
def test_bad_edits_are_command_errors(run_cli, text, message):
    with pytest.raises(CommandError, match=message.replace("[", "\\[").replace("]", "\\]")):
        Session(scenario.load("worked-222")).execute(text)
    code, out, err = run_cli("replay", "worked-222", "-c", f"next; {text}")
    assert code == 2 and out == "" and err.count("\n") == 1 and message in err


def test_bce_targets_stay_in_range(run_cli):
    code, _, err = run_cli("replay", "xor", "--epochs", "1", "-c", "set t[1] 1.5")
    assert code == 2 and "bce needs targets in [0, 1]" in err


def test_settable_lists_the_given_quantities_a_step_reads():
    session = Session(scenario.load("worked-222"))
    assert [str(r) for r in session.settable(session.current)] == ["W[1,1,1]", "x[1]@1", "W[1,1,2]", "x[2]@1"]
    session.execute("goto W+[2,1,1]")
    assert [str(r) for r in session.settable(session.current)] == ["W[2,1,1]", "lr"]
    session.set_value(session.settable(session.current)[1], 0.25)
    assert session.current.value == pytest.approx(0.45 - 0.25 * 0.02592286, abs=1e-8)


def test_the_export_and_where_say_what_was_edited_from_what():
    from bpstep import export

    s = Session(scenario.load("worked-222"))
    s.execute("set lr 1")
    s.execute("set W5 0.6")
    said = "α = 1 from epoch 0 on (was 0.5 in the scenario); W5 = 0.6 at the start of epoch 0 (was 0.45 in the scenario)"
    assert f"**What-if.** These are not the scenario's numbers: {said}." in export.markdown(s)
    assert s.execute("where").messages[1:] == [f"what-if: {part}" for part in said.split("; ")]
    s.execute("reset")
    assert "What-if" not in export.markdown(s) and len(s.execute("where").messages) == 1
