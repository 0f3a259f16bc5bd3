"""The layer view: layer steps against the engine's arrays and the scalar steps they contain,
positions kept across view switches, layer motions and breakpoints, replay output, cross-check."""

import io
import json

import numpy as np
import pytest

from bpstep import replay, scenario
from bpstep.commands import CommandError
from bpstep.layers import LayerStep, family_layer, matrix_lines
from bpstep.session import Session

SEQUENTIAL = """\
name = "seq"
notation = "layered"

[network]
sizes = [2, 3, 3, 2]
activation = ["tanh", "relu", "identity"]
bias = true

[init]
method = "uniform"
seed = 3

[data]
inputs = [[0.1, -0.4], [0.7, 0.2], [-0.3, 0.9]]
targets = [[0.2, 0.8], [0.5, 0.1], [0.9, 0.4]]

[training]
loss = "mse"
learning_rate = 0.3
epochs = 2
update_order = "sequential"
freeze = ["W[2,1,1]", "b[3,2]"]
"""


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory):
    path = tmp_path_factory.mktemp("layers") / "seq.toml"
    path.write_text(SEQUENTIAL, encoding="utf-8")
    return {"worked-222": scenario.load("worked-222"), "xor": scenario.load("xor").with_epochs(2),
            "seq": scenario.load(str(path))}


def _oracle(ls: LayerStep, sc):
    """The layer step's matrix straight from the engine's arrays (one sample: a column)."""
    a, l, family = ls.record.arrays, ls.spec.layer - 1, ls.spec.family
    col = (lambda m: m.T) if sc.samples == 1 else (lambda m: m)
    return {
        "z": lambda: col(a.z[l]), "a": lambda: col(a.act[l + 1]), "E": lambda: col(a.E_terms),
        "dE/da": lambda: col(a.dEda[l]), "da/dz": lambda: col(a.dadz[l]), "dE/dz": lambda: col(a.dEdz[l]),
        "dE/dW": lambda: a.gW[l] if sc.samples > 1 else a.gW_sample[l][0],
        "dE/db": lambda: (a.gb[l] if sc.samples > 1 else a.gb_sample[l][0])[:, None],
        "W+": lambda: a.W_new[l], "b+": lambda: a.b_new[l][:, None],
    }[family]()


@pytest.mark.parametrize("name", ["worked-222", "xor", "seq"])
def test_every_layer_matrix_equals_the_scalar_steps_it_contains(scenarios, name):
    sc = scenarios[name]
    session = Session(sc)
    grid = session.layer_tape
    for epoch in (0, 1, sc.epochs):
        scalars = list(session.tape.steps(epoch))
        seen = []
        for k in range(grid.length(epoch)):
            ls = grid.step(epoch, k)
            seen += ls.spec.contains.tolist()
            m = ls.matrix
            np.testing.assert_array_equal(m, _oracle(ls, sc).astype(float))
            cells = 0
            for r, row in enumerate(ls.spec.steps):
                for c, i in enumerate(row):
                    if i < 0:  # only a frozen parameter has no update step
                        assert ls.spec.family in ("W+", "b+")
                        continue
                    cells += 1
                    assert scalars[i].value == m[r, c]
                    assert i in ls.spec.contains
            # every scalar step it contains belongs to its family and layer
            for i in ls.spec.contains:
                assert family_layer(scalars[i].id, sc.layers) == (ls.spec.family, ls.spec.layer)
                assert scalars[i].phase == ls.phase
            assert cells > 0
        assert sorted(seen) == list(range(len(scalars)))  # each scalar step in exactly one


def test_layer_steps_of_worked_222(scenarios):
    grid = Session(scenarios["worked-222"]).layer_tape
    ids = [grid.step(0, k).id for k in range(grid.length(0))]
    assert ids == ["z[1]", "a[1]", "z[2]", "a[2]", "E", "dE/da[2]", "da[2]/dz[2]", "dE/dz[2]", "dE/dW[2]",
                   "dE/da[1]", "da[1]/dz[1]", "dE/dz[1]", "dE/dW[1]", "W+[2]", "W+[1]"]
    assert [grid.step(1, k).id for k in range(grid.length(1))] == ["z[1]", "a[1]", "z[2]", "a[2]", "E"]
    w5 = grid.step(0, 13)
    assert w5.formula == "W²⁺ = W² − α·∂E/∂W²"
    np.testing.assert_allclose(w5.matrix, [[0.43703857, 0.38685205], [0.69629578, 0.59624247]], atol=5e-9)
    dEdW1 = grid.step(0, 12)
    assert [label for label, _ in dEdW1.blocks()] == ["δ¹", "x", "∂E/∂W¹"]
    # ∂E/∂W¹ = δ¹ xᵀ, and its operands are what the engine multiplied
    delta, x, g = (m for _, m in dEdW1.blocks())
    np.testing.assert_allclose(delta @ x.T, g, rtol=1e-15)
    assert g[0, 0] == pytest.approx(0.00080888, abs=5e-9)


def test_batch_formulas_use_matrices(scenarios):
    grid = Session(scenarios["xor"]).layer_tape
    z1 = grid.step(0, 0)
    assert z1.formula == "Z¹ = XW¹ᵀ + b¹"
    X, W, b, Z = (m for _, m in z1.blocks())
    np.testing.assert_allclose(X @ W.T + b.T, Z, rtol=1e-6)
    by_id = {grid.step(0, k).id: grid.step(0, k) for k in range(grid.length(0))}
    assert by_id["dE/dW[2]"].formula == "∂E/∂W² = Δ²ᵀA¹ / 4"
    assert by_id["dE/da[1]"].formula == "∂E/∂A¹ = Δ²W²"
    delta, W2, g = (m for _, m in by_id["dE/da[1]"].blocks())
    np.testing.assert_allclose(delta @ W2, g, rtol=1e-5, atol=1e-9)


def test_switching_views_keeps_the_position(scenarios):
    for name in ("worked-222", "seq"):
        session = Session(scenarios[name])
        grid = session.layer_tape
        for k in range(session.tape.length(0)):
            session.execute(f"goto step {k}")
            session.set_view("layer")
            assert k in session.current_layer.spec.contains
            assert session.position == (0, k)
            session.set_view("scalar")
            assert session.position == (0, k)
        # layer → scalar → layer: back on the same layer step, the scalar one its first
        session.set_view("layer")
        session.execute("restart")
        for _ in range(grid.length(0) + 2):
            result = session.execute("step")
            here = result.layer.position
            session.set_view("scalar")
            assert session.position == grid.first(here)
            assert session.set_view("layer").layer.position == here


def _layer_positions(session, *commands):
    out = []
    for text in commands:
        out.append(session.execute(text).layer.position)
    return out


def test_layer_motions(scenarios):
    session = Session(scenarios["worked-222"])
    session.set_view("layer")
    assert _layer_positions(session, "step", "step 3", "next", "next", "rnext", "rstep 2") == [
        (0, 1), (0, 4), (0, 5), (0, 7), (0, 5), (0, 3)]  # next steps over da[2]/dz[2] (#6)
    assert _layer_positions(session, "finish", "finish", "finish", "rfinish", "rfinish") == [
        (0, 4), (0, 12), (0, 14), (0, 13), (0, 5)]  # phase edges: loss is one layer step
    assert _layer_positions(session, "restart", "step 14", "step", "rstep", "continue", "rcontinue") == [
        (0, 0), (0, 14), (1, 0), (0, 14), (1, 4), (0, 0)]
    result = session.execute("rstep")
    assert result.layer.position == (0, 0) and "at the start of the tape" in result.messages


def test_continue_goes_by_layer_order(scenarios):
    session = Session(scenarios["worked-222"])
    session.set_view("layer")
    session.execute("break dE/dz[2,2]")  # scalar #20, inside dE/dz[2] (layer step 7)
    result = session.execute("continue")
    assert result.layer.position == (0, 7) and result.hit is not None
    assert session.position == (0, 20)  # on the step that hit: switching back shows it
    session.execute("goto step 8")  # dE/dW[2]: its first scalar (#14) comes before #20
    assert session.position == (0, 14)
    result = session.execute("continue")  # #20 is behind in layer order: nothing more to hit
    assert result.hit is None and result.layer.position == (1, 4)
    session.execute("goto step 0")  # epoch 1's first layer step
    result = session.execute("rcontinue")
    assert result.layer.position == (0, 7) and result.hit is not None
    session.execute("goto epoch 0")
    session.execute("goto step 8")
    assert session.execute("rcontinue").layer.position == (0, 7)


def test_continue_over_epochs(scenarios):
    session = Session(scenarios["xor"].with_epochs(6))
    session.set_view("layer")
    session.execute("break phase update")
    grid = session.layer_tape
    first_update = next(k for k in range(grid.length(0)) if grid.step(0, k).phase == "update")
    for epoch in range(6):
        assert session.execute("continue").layer.position == (epoch, first_update)
    assert session.execute("continue").hit is None
    assert session.execute("rcontinue").layer.position == (5, first_update)
    session.execute("delete")
    session.execute("break a[2,3]@4 if value > 2")  # never
    assert session.execute("rcontinue").layer.position == (0, 0)


def test_goto_step_and_where_in_layer_view(scenarios):
    session = Session(scenarios["worked-222"])
    session.set_view("layer")
    assert session.execute("goto step 12").layer.id == "dE/dW[1]"
    assert session.execute("where").messages == [
        "epoch 0 · backward · layer step 12 of 15: dE/dW[1]  ∂E/∂W¹ = δ¹(x)ᵀ"]
    with pytest.raises(CommandError, match="layer step 15 is outside 0…14"):
        session.execute("goto step 15")
    assert session.execute("goto dE/dW[2,1,1]").layer.id == "dE/dW[2]"  # ids stay scalar
    with pytest.raises(CommandError, match="expected layer or scalar"):
        session.execute("view matrix")


def _replay(session, text, fmt="text", trace=False, check=None):
    out, err = io.StringIO(), io.StringIO()
    code = replay.run(session, replay.parse_script(text, "-c", session), fmt, trace, out=out, err=err, check=check)
    return code, out.getvalue(), err.getvalue()


def test_replay_prints_layer_steps(scenarios):
    sc = scenarios["worked-222"]
    code, out, _ = _replay(Session(sc), "view layer; goto step 13")
    assert code == 0
    assert out.splitlines()[-7:] == [
        "e0 update #13 W+[2]  W²⁺ = W² − α·∂E/∂W²  α = 0.50000000",
        "    W² = ⎡0.45000000  0.40000000⎤",
        "         ⎣0.70000000  0.60000000⎦",
        "    ∂E/∂W² = ⎡0.02592286  0.02629590⎤",
        "             ⎣0.00740844  0.00751506⎦",
        "    W²⁺ = ⎡0.43703857  0.38685205⎤",
        "          ⎣0.69629578  0.59624247⎦",
    ]
    assert _replay(Session(sc), "view layer; goto step 13")[1] == out  # deterministic
    code, out, err = _replay(Session(sc), "view layer; step 2", fmt="jsonl")
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in records] == ["z[1]", "z[2]"]
    assert records[1]["value"] == [[pytest.approx(0.44498412, abs=5e-9)], [pytest.approx(0.68047592, abs=5e-9)]]
    assert records[1]["operands"]["W²"] == [[0.45, 0.4], [0.7, 0.6]]
    assert records[1]["contains"] == [4, 5] and err == "layer view\n"


def test_trace_prints_every_layer_step_passed(scenarios):
    _, out, _ = _replay(Session(scenarios["worked-222"]), "view layer; finish", trace=True)
    heads = [line.split("  ")[0] for line in out.splitlines() if line.startswith("e")]
    assert heads == ["e0 forward #0 z[1]", "e0 forward #1 a[1]", "e0 forward #2 z[2]", "e0 forward #3 a[2]"]


def test_big_matrices_are_elided():
    m = np.arange(100, dtype=float).reshape(10, 10) / 7
    lines = matrix_lines("W²", m)
    assert len(lines) == 6 and lines[0].endswith("(10×10)")
    assert "…" in lines[0] and "⋮" in lines[3]
    assert "14.14285714" in lines[-1] and "11.57142857" in lines[-2]  # m[9,9], m[8,1]
    assert matrix_lines("b", np.array([[0.5, -1.0]])) == ["b = [0.50000000  -1.00000000]"]


class _Checker:
    """A stand-in for the cross-checker: torch agrees except on the values at the keys in
    ``bad`` (``(epoch, key)``), which it has 1 higher."""

    def __init__(self, tape, bad=()):
        self.tape, self.bad = tape, set(bad)

    def compare(self, step):
        ok = (step.epoch, step.spec.key) not in self.bad
        return step.value + (0 if ok else 1.0), 0.0 if ok else 1.0, ok

    def compare_values(self, epoch, key, shape):
        off = np.zeros(shape)
        for e, k in self.bad:
            if e == epoch and k[0] == key[0]:
                off += np.all([np.broadcast_to(np.asarray(a) == b, shape) for a, b in zip(key[1:], k[1:])], axis=0)
        return self.tape.record(epoch).values(key, shape) + off, off, off == 0

    def verdict_text(self, step):
        return "torch ✓" if self.compare(step)[2] else "torch ✗"


def test_cross_check_covers_layer_steps(scenarios):
    sc = scenarios["worked-222"]
    session = Session(sc)
    code, out, _ = _replay(session, "view layer; step 8", check=_Checker(session.tape))
    assert code == 0 and out.splitlines()[-7].endswith("torch ✓ max Δ 0.0e+00 over 8 steps")
    bad = _Checker(Session(sc).tape, {(0, ("dzdW", 1, 0, 1))})  # dz[2,1]/dW[2,1,2]@1: a factor inside dE/dW[2]
    code, out, _ = _replay(Session(sc), "view layer; step 7", check=bad)
    assert code == 0  # dE/dz[2] does not contain it
    code, out, _ = _replay(Session(sc), "view layer; step 8", check=bad)
    assert code == 1 and "torch ✗ max Δ 1.0e+00 over 8 steps" in out
    code, out, _ = _replay(Session(sc), "view layer; step 8", fmt="jsonl", check=bad)
    record = json.loads(out.splitlines()[-1])
    assert record["ok"] is False and record["abs_err"] == 1.0
    assert record["torch"] == record["value"]  # the wrong factor is not one of the matrix cells
