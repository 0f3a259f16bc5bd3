"""Scenario features: init methods, dtypes, update order, freeze, biases, every activation and
loss (against hand computations and, where installed, torch)."""

import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from bpstep import engine, loading, scenario
from bpstep.commands import CommandError
from bpstep.session import Session
from bpstep.tape import Tape, network_for
from conftest import ROOT

WORKED = (scenario.builtin_dir() / "worked-222.toml").read_text(encoding="utf-8")


def values(sc, epoch=0):
    """{qid: value} of one epoch of a scenario."""
    return {s.qid: s.value for s in Tape(sc).steps(epoch)}


def generated(method, seed=3, sizes=(3, 4, 2), bias=True, extra=""):
    return scenario.parse(textwrap.dedent(f"""
        [network]
        sizes = {list(sizes)}
        bias = {str(bias).lower()}
        [init]
        method = "{method}"
        seed = {seed}
        {extra}
        [data]
        inputs = [[0.1, 0.2, 0.3]]
        targets = [[0.0, 1.0]]
        [training]
        learning_rate = 0.1
    """), "<generated>", draw_torch_init=loading.draw_torch_init)


# --- init methods ------------------------------------------------------------------------------


def test_uniform_init_is_numpy_uniform_within_the_nn_linear_bound():
    sc = generated("uniform", seed=11)
    rng = np.random.default_rng(11)
    for l, (fan_in, fan_out) in enumerate([(3, 4), (4, 2)]):
        bound = 1 / math.sqrt(fan_in)
        assert np.array_equal(sc.weights[l], rng.uniform(-bound, bound, (fan_out, fan_in)))
        assert np.array_equal(sc.biases[l], rng.uniform(-bound, bound, fan_out))
    assert np.array_equal(generated("uniform", seed=11).weights[0], sc.weights[0])  # reproducible
    assert not np.array_equal(generated("uniform", seed=12).weights[0], sc.weights[0])


def test_uniform_init_with_a_scale_and_without_biases():
    sc = generated("uniform", bias=False, extra="scale = 0.01")
    assert sc.biases is None
    assert all(np.abs(w).max() <= 0.01 for w in sc.weights)
    assert all(np.abs(w).max() > 0.001 for w in sc.weights)


def test_uniform_init_needs_no_torch(tmp_path):
    path = tmp_path / "u.toml"
    path.write_text(textwrap.dedent("""
        [network]
        sizes = [2, 3, 1]
        [init]
        method = "uniform"
        seed = 5
        [data]
        inputs = [[0, 1]]
        targets = [[1]]
        [training]
        learning_rate = 0.1
    """))
    code = (f"import sys; from bpstep import scenario; from bpstep.session import Session; "
            f"s = Session(scenario.load({str(path)!r})); s.execute('continue'); "
            f"print('torch' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


@pytest.mark.parametrize("bias", [True, False])
def test_torch_init_is_what_nn_linear_draws(bias):
    torch = pytest.importorskip("torch")
    torch.manual_seed(123)
    before = torch.rand(1)  # the global generator state must survive loading
    torch.manual_seed(123)
    sc = generated("torch", seed=777, bias=bias)
    assert torch.rand(1) == before
    torch.manual_seed(777)
    layers = [torch.nn.Linear(3, 4, bias=bias), torch.nn.Linear(4, 2, bias=bias)]
    for l, layer in enumerate(layers):
        assert np.array_equal(sc.weights[l], layer.weight.detach().numpy().astype(np.float64))
        if bias:
            assert np.array_equal(sc.biases[l], layer.bias.detach().numpy().astype(np.float64))
    assert (sc.biases is None) is (not bias)


def test_torch_init_rejects_a_scale(write_scenario, run_cli):
    path = write_scenario("""
        [network]
        sizes = [2, 1]
        [init]
        method = "torch"
        scale = 0.5
        [data]
        inputs = [[0, 1]]
        targets = [[1]]
        [training]
        learning_rate = 0.1
    """)
    code, out, err = run_cli("replay", str(path))
    assert code == 2 and "init.scale" in err and "uniform" in err


# --- dtypes ------------------------------------------------------------------------------------


def test_float32_computes_in_float32_and_agrees_with_float64():
    sc64 = scenario.load("worked-222")
    sc32 = sc64.with_dtype("float32")
    tape = Tape(sc32)
    rec = tape.record(0)
    assert all(z.dtype == np.float32 for z in rec.arrays.z)
    assert all(w.dtype == np.float32 for w in rec.arrays.W_new)
    f = np.float32
    z1 = f(0.3) * f(0.1) + f(0.25) * f(0.2)
    assert tape.step(0, 0).value == float(z1)
    h1 = f(1) / (f(1) + np.exp(-z1))
    assert tape.step(0, 2).value == float(h1)
    v32, v64 = values(sc32), values(sc64)
    assert v32.keys() == v64.keys()
    differ = 0
    for qid in v64:
        assert v32[qid] == pytest.approx(v64[qid], rel=2e-6, abs=1e-9), qid
        differ += v32[qid] != v64[qid]
    assert differ > 30  # really computed in another precision


def test_xor_is_float32_and_the_flag_switches_it():
    sc = scenario.load("xor")
    assert sc.dtype == "float32"
    net, p = network_for(sc)
    assert p.W[0].dtype == np.float32 and net.X.dtype == np.float32
    net, p = network_for(sc.with_dtype("float64"))
    assert p.W[0].dtype == np.float64


# --- update order ------------------------------------------------------------------------------


def test_sequential_update_by_hand_on_the_worked_example():
    """Output layer first, then layer 1 through the *updated* W5..W8 (the lecture uses the old
    ones: that is the simultaneous order)."""
    seq = scenario.parse(WORKED.replace('"simultaneous"', '"sequential"'), "seq")
    assert seq.update_order == "sequential"
    got, simultaneous = values(seq), values(scenario.load("worked-222"))
    sig = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    x, t, lr = (0.1, 0.2), (0.4, 0.6), 0.5
    W1 = [[0.30, 0.25], [0.40, 0.35]]
    W2 = [[0.45, 0.40], [0.70, 0.60]]
    h = [sig(W1[j][0] * x[0] + W1[j][1] * x[1]) for j in range(2)]
    o = [sig(W2[k][0] * h[0] + W2[k][1] * h[1]) for k in range(2)]
    delta_o = [(o[k] - t[k]) * o[k] * (1 - o[k]) for k in range(2)]
    W2_new = [[W2[k][i] - lr * delta_o[k] * h[i] for i in range(2)] for k in range(2)]
    for k in range(2):
        for i in range(2):  # the output layer is the same in both orders
            assert got[f"W+[2,{k + 1},{i + 1}]"] == simultaneous[f"W+[2,{k + 1},{i + 1}]"]
            assert got[f"W+[2,{k + 1},{i + 1}]"] == pytest.approx(W2_new[k][i], rel=1e-14)
    for j in range(2):
        dE_dh = sum(delta_o[k] * W2_new[k][j] for k in range(2))  # W⁺, not W
        delta_h = dE_dh * h[j] * (1 - h[j])
        for i in range(2):
            want = W1[j][i] - lr * delta_h * x[i]
            qid = f"W+[1,{j + 1},{i + 1}]"
            assert got[qid] == pytest.approx(want, rel=1e-14), qid
            assert f"{got[qid]:.8f}" != f"{simultaneous[qid]:.8f}", qid
    assert f"{got['W+[1,1,1]']:.8f}" == "0.29960429"  # simultaneous: 0.29959556
    # the factor that carries δ down is W5⁺ and is named so
    step = next(s for s in Tape(seq).steps(0) if s.qid == "dz[2,1]/da[1,1]@1")
    assert step.line() == "∂z3/∂h1 = W5⁺ = 0.43703857"


# --- freeze ------------------------------------------------------------------------------------


def test_frozen_parameters_keep_their_values_and_have_no_update_step():
    text = WORKED.replace('update_order = "simultaneous"',
                          'update_order = "simultaneous"\nfreeze = ["W[1,1,1]", "W[2,2,2]"]')
    sc = scenario.parse(text, "frozen").with_epochs(3)
    tape = Tape(sc)
    ids = [s.id for s in tape.steps(0) if s.phase == "update"]
    assert "W+[1,1,1]" not in ids and "W+[2,2,2]" not in ids and len(ids) == 6
    assert "dE/dW[1,1,1]" in {s.id for s in tape.steps(0)}  # its gradient is still shown
    for epoch in range(1, 4):
        p = tape.params(epoch)
        assert p.W[0][0, 0] == 0.30 and p.W[1][1, 1] == 0.60
        assert p.W[0][0, 1] != 0.25
    free = values(scenario.load("worked-222"))
    frozen = values(sc)
    assert frozen["W+[1,1,2]"] == free["W+[1,1,2]"]  # the others are updated as before
    with pytest.raises(CommandError, match="frozen"):
        Session(sc).execute("print W+[1,1,1]")


def test_frozen_bias():
    sc = scenario.parse(textwrap.dedent("""
        [network]
        sizes = [2, 2, 1]
        [init]
        weights = [[[0.1, 0.2], [0.3, 0.4]], [[0.5, 0.6]]]
        biases = [[0.1, 0.2], [0.3]]
        [data]
        inputs = [[0.0, 1.0], [1.0, 0.0]]
        targets = [[1.0], [0.0]]
        [training]
        loss = "bce"
        learning_rate = 0.5
        epochs = 4
        freeze = ["b[2,1]"]
    """), "fb")
    tape = Tape(sc)
    assert "b+[2,1]" not in {s.id for s in tape.steps(0)}
    assert tape.params(4).b[1][0] == 0.3 and tape.params(4).b[0][0] != 0.1


# --- biases ------------------------------------------------------------------------------------


def test_biases_on_reproduce_the_classic_example_with_biases():
    """Matt Mazur's well-known worked example (2-2-2 sigmoid with biases 0.35 and 0.6): its
    published numbers, which biases enter and bias updates do not change."""
    sc = scenario.parse(textwrap.dedent("""
        notation = "flat"
        [network]
        sizes = [2, 2, 2]
        [init]
        weights = [[[0.15, 0.20], [0.25, 0.30]], [[0.40, 0.45], [0.50, 0.55]]]
        biases = [[0.35, 0.35], [0.60, 0.60]]
        [data]
        inputs = [[0.05, 0.10]]
        targets = [[0.01, 0.99]]
        [training]
        learning_rate = 0.5
    """), "mazur")
    v = values(sc)
    published = {"a[1,1]@1": 0.593269992, "a[2,1]@1": 0.75136507, "a[2,2]@1": 0.772928465, "E@1": 0.298371109,
                 "W+[2,1,1]": 0.35891648, "W+[2,1,2]": 0.408666186, "W+[2,2,1]": 0.511301270,
                 "W+[2,2,2]": 0.561370121, "W+[1,1,1]": 0.149780716, "W+[1,1,2]": 0.19956143,
                 "W+[1,2,1]": 0.24975114, "W+[1,2,2]": 0.29950229}
    for qid, want in published.items():
        assert v[qid] == pytest.approx(want, abs=1e-8), qid
    step = next(s for s in Tape(sc).steps(0) if s.qid == "z[1,1]@1")
    assert step.line() == "z1 = W1·x1 + W2·x2 + b1 = 0.15·0.05 + 0.2·0.1 + 0.35 = 0.37750000"
    assert v["b+[2,1]"] == pytest.approx(0.6 - 0.5 * v["dE/db[2,1]@1"], rel=1e-15)
    assert v["dE/db[2,1]@1"] == v["dE/dz[2,1]@1"]


def test_biases_off_have_no_bias_steps():
    ids = {s.id for s in Tape(scenario.load("worked-222")).steps(0)}
    assert not any(i.startswith(("b", "dE/db", "dz[1,1]/db")) or "/db[" in i for i in ids)


# --- activations and losses --------------------------------------------------------------------


def one_unit(act, loss, z_in, target, dtype="float64"):
    """A 1-1 network with weight z_in (input 1, no bias): z = z_in, o = f(z)."""
    return scenario.parse(textwrap.dedent(f"""
        [network]
        sizes = [1, 1]
        activation = "{act}"
        bias = false
        [init]
        weights = [[[{z_in!r}]]]
        [data]
        inputs = [[1.0]]
        targets = [[{target!r}]]
        [training]
        loss = "{loss}"
        learning_rate = 0.1
        dtype = "{dtype}"
    """), f"{act}-{loss}")


@pytest.mark.parametrize("act, z, a, dadz, formula", [
    ("sigmoid", 0.7, 1 / (1 + math.exp(-0.7)), None, "o₁ = σ(z¹₁)"),
    ("tanh", 0.7, math.tanh(0.7), 1 - math.tanh(0.7) ** 2, "o₁ = tanh(z¹₁)"),
    ("relu", 0.7, 0.7, 1.0, "o₁ = relu(z¹₁)"),
    ("relu", -0.7, 0.0, 0.0, "o₁ = relu(z¹₁)"),
    ("identity", -0.7, -0.7, 1.0, "o₁ = z¹₁"),
])
def test_every_activation(act, z, a, dadz, formula):
    v = values(one_unit(act, "half_sse", z, 0.25))
    steps = {s.qid: s for s in Tape(one_unit(act, "half_sse", z, 0.25)).steps(0)}
    assert v["a[1,1]@1"] == pytest.approx(a, rel=1e-15)
    assert steps["a[1,1]@1"].formula == formula
    want = a * (1 - a) if dadz is None else dadz
    assert v["da[1,1]/dz[1,1]@1"] == pytest.approx(want, rel=1e-15)
    assert v["dE/dW[1,1,1]@1"] == pytest.approx((a - 0.25) * want, rel=1e-14)


@pytest.mark.parametrize("loss, E, dEdo", [
    ("half_sse", 0.5 * (0.25 - 0.6) ** 2, 0.6 - 0.25),
    ("mse", (0.6 - 0.25) ** 2, 2 * (0.6 - 0.25)),
    ("bce", -(0.25 * math.log(0.6) + 0.75 * math.log(0.4)), (0.6 - 0.25) / (0.6 * 0.4)),
])
def test_every_loss(loss, E, dEdo):
    v = values(one_unit("identity", loss, 0.6, 0.25))
    assert v["E@1"] == pytest.approx(E, rel=1e-14)
    assert v["dE/da[1,1]@1"] == pytest.approx(dEdo, rel=1e-14)


@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_mse_and_bce_are_torch_means_over_samples_and_outputs(loss):
    torch = pytest.importorskip("torch")
    sc = scenario.parse(textwrap.dedent(f"""
        [network]
        sizes = [2, 3, 2]
        activation = ["tanh", "sigmoid"]
        [init]
        method = "uniform"
        seed = 4
        [data]
        inputs = [[0.1, -0.2], [0.5, 0.3], [-1.0, 0.7]]
        targets = [[0.0, 1.0], [0.3, 0.6], [1.0, 0.2]]
        [training]
        loss = "{loss}"
        learning_rate = 0.1
    """), loss)
    params = [torch.tensor(w, requires_grad=True) for w in sc.weights + sc.biases]
    W1, W2, b1, b2 = params
    h = torch.tanh(torch.tensor(sc.inputs) @ W1.T + b1)
    o = torch.sigmoid(h @ W2.T + b2)
    criterion = torch.nn.MSELoss() if loss == "mse" else torch.nn.BCELoss()
    E = criterion(o, torch.tensor(sc.targets))
    E.backward()
    v = values(sc)
    assert v["E"] == pytest.approx(E.item(), rel=1e-13)
    for l, W in ((1, W1), (2, W2)):
        for j in range(W.shape[0]):
            for i in range(W.shape[1]):
                assert v[f"dE/dW[{l},{j + 1},{i + 1}]"] == pytest.approx(W.grad[j, i].item(), rel=1e-10, abs=1e-15)
    for l, b in ((1, b1), (2, b2)):
        for j in range(b.shape[0]):
            assert v[f"dE/db[{l},{j + 1}]"] == pytest.approx(b.grad[j].item(), rel=1e-10, abs=1e-15)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("z, target", [(1000.0, 0.0), (-1000.0, 1.0), (1000.0, 1.0), (-1000.0, 0.0)])
def test_bce_with_outputs_exactly_0_or_1_is_finite_as_torch(z, target, dtype):
    sc = one_unit("sigmoid", "bce", z, target, dtype)
    v = values(sc)
    assert v["a[1,1]@1"] == (1.0 if z > 0 else 0.0)  # σ saturates exactly
    want = 0.0 if (z > 0) == (target == 1.0) else 100.0  # torch clamps each log at −100
    assert v["E@1"] == want
    assert all(math.isfinite(x) for x in v.values())
    torch = pytest.importorskip("torch")
    o = torch.tensor([v["a[1,1]@1"]], dtype=getattr(torch, dtype), requires_grad=True)
    E = torch.nn.BCELoss()(o, torch.tensor([target], dtype=getattr(torch, dtype)))
    E.backward()
    assert v["E@1"] == E.item()
    assert v["dE/da[1,1]@1"] == pytest.approx(o.grad.item(), rel=1e-6)


def test_notation_names_flat_and_layered():
    flat = {s.qid: s.name for s in Tape(scenario.load("worked-222")).steps(0)}
    layered = {s.qid: s.name for s in Tape(scenario.parse(WORKED.replace('notation = "flat"', 'notation = "layered"'),
                                                          "l")).steps(0)}
    assert (flat["W+[2,1,1]"], layered["W+[2,1,1]"]) == ("W5⁺", "W²₁₁⁺")
    assert (flat["a[1,2]@1"], layered["a[1,2]@1"]) == ("h2", "a¹₂")
    assert (flat["dE[2,1]/da[1,1]@1"], layered["dE[2,1]/da[1,1]@1"]) == ("∂E_o1/∂h1", "∂E_o₁/∂a¹₁")


def test_engine_lists_are_what_the_scenario_accepts():
    assert set(engine.ACTIVATIONS) == {"sigmoid", "tanh", "relu", "identity", "softmax"}
    assert set(engine.LOSSES) == {"half_sse", "mse", "bce", "cross_entropy"}
    assert set(engine.UPDATE_ORDERS) == {"simultaneous", "sequential"}
