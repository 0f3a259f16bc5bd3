"""Optimizers as steps: torch.optim.SGD (momentum, dampening, nesterov, weight decay) and Adam
(betas, eps, weight decay) with torch's rules, each quantity a step of the update phase, carried
from epoch to epoch, cross-checked against torch's state after step(); what-if on the
hyper-parameters; the xor-momentum scenario; the bad input."""

import dataclasses
import io
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpstep import engine, functions, scenario
from bpstep.commands import CommandError, parse_ref
from bpstep.session import Session
from bpstep.tape import Tape, network_for
from test_bad_input import assert_bad_edit

torch = pytest.importorskip("torch")
from bpstep.crosscheck import run_check  # noqa: E402

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])

BASE = """\
name = "opt"
[network]
sizes = [2, 3, 2]
activation = ["tanh", "sigmoid"]
[init]
method = "uniform"
seed = 5
[data]
inputs = [[0.1, 0.2], [0.5, -0.3], [-0.4, 0.9]]
targets = [[0.4, 0.6], [0.1, 0.9], [0.7, 0.2]]
[training]
loss = "mse"
learning_rate = 0.1
epochs = 4
"""

SETUPS = {
    "momentum": 'optimizer = "sgd"\nmomentum = 0.9',
    "dampening and weight decay": 'optimizer = "sgd"\nmomentum = 0.5\ndampening = 0.3\nweight_decay = 0.1',
    "nesterov": 'optimizer = "sgd"\nmomentum = 0.9\nnesterov = true\nweight_decay = 0.01',
    "weight decay alone": 'optimizer = "sgd"\nweight_decay = 0.2',
    "adam": 'optimizer = "adam"',
    "adam, betas and weight decay": 'optimizer = "adam"\nbetas = [0.8, 0.99]\neps = 1e-6\nweight_decay = 0.1',
}


def load(setup, text=BASE):
    return scenario.parse(text + SETUPS.get(setup, setup) + "\n", "opt.toml")


def torch_run(sc, epochs):
    """The parameters after each epoch of a plain torch loop: nn.Linear-shaped tensors, the loss,
    backward, the scenario's torch.optim optimizer."""
    net, p = network_for(sc)
    params = [torch.tensor(x, requires_grad=True) for x in p.W + p.b]
    L = len(p.W)
    h = dict(functions.OPTIMIZERS[sc.optimizer].hyper, **dict(sc.hyper))
    optimizer = functions.OPTIMIZERS[sc.optimizer].torch(torch, params, h, sc.learning_rate)
    X, T, out = torch.tensor(net.X), torch.tensor(net.T), []
    for _ in range(epochs):
        a = X
        for l in range(L):
            z = a @ params[l].T + params[L + l]
            a = torch.tanh(z) if sc.activations[l] == "tanh" else torch.sigmoid(z)
        optimizer.zero_grad()
        torch.nn.MSELoss()(a, T).backward()
        optimizer.step()
        out.append([x.detach().numpy().copy() for x in params])
    return out


@pytest.mark.parametrize("setup", sorted(SETUPS))
def test_the_engine_trains_as_torch_optim_does(setup):
    sc = load(setup)
    tape, want = Tape(sc), torch_run(sc, 4)
    for e in range(1, 5):
        p = tape.params(e)
        np.testing.assert_allclose(np.concatenate([x.ravel() for x in p.W + p.b]),
                                   np.concatenate([x.ravel() for x in want[e - 1]]), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("setup", sorted(SETUPS))
def test_check_passes_on_every_optimizer(setup):
    out = io.StringIO()
    assert run_check(load(setup), "cpu", out=out, err=io.StringIO()) == 0, out.getvalue()
    assert re.search(r"^optimizer g, buffer, m, v, … +\d+ .*✓$", out.getvalue(), re.M)


def test_adams_update_shows_every_quantity_with_its_numbers():
    tape = Tape(load("adam, betas and weight decay"))
    ids = [s.id for s in tape.steps(1) if s.phase == "update"][:7]
    assert ids == ["g(W[2,1,1])", "m(W[2,1,1])", "v(W[2,1,1])", "mhat(W[2,1,1])", "vhat(W[2,1,1])",
                   "upd(W[2,1,1])", "W+[2,1,1]"]
    steps = {s.id: s for s in tape.steps(1) if s.id in ids}
    assert steps["mhat(W[2,1,1])"].spec.sym == "m(W²₁₁)/(1 − β₁^t)"
    assert steps["upd(W[2,1,1])"].spec.sym == "(α·m̂(W²₁₁))/(√(v̂(W²₁₁)) + ε)"
    assert steps["W+[2,1,1]"].spec.sym == "W²₁₁ − Δ(W²₁₁)"
    m, v = steps["m(W[2,1,1])"].value, steps["v(W[2,1,1])"].value
    assert steps["mhat(W[2,1,1])"].value == pytest.approx(m / (1 - 0.8 ** 2), rel=1e-15)
    assert "/(1 − 0.8^2)" in steps["mhat(W[2,1,1])"].substituted
    assert steps["vhat(W[2,1,1])"].value == pytest.approx(v / (1 - 0.99 ** 2), rel=1e-15)
    # m carries from epoch 0: m = β₁·m⁻ + (1 − β₁)·g
    m0 = next(s.value for s in tape.steps(0) if s.id == "m(W[2,1,1])")
    g1 = steps["g(W[2,1,1])"].value
    assert m == pytest.approx(0.8 * m0 + 0.2 * g1, rel=1e-14)


def test_a_broken_bias_correction_is_caught_and_named(monkeypatch):
    adam = functions.OPTIMIZERS["adam"]

    def forgets_the_bias_correction(theta, g, prev, h, lr, t):
        out = adam.step(theta, g, prev, h, lr, t)
        return dict(out, mhat=out["m"])
    monkeypatch.setitem(functions.OPTIMIZERS, "adam", dataclasses.replace(adam, step=forgets_the_bias_correction))
    out = io.StringIO()
    assert run_check(load("adam"), "cpu", out=out, err=io.StringIO()) == 1
    assert re.search(r"^optimizer g, buffer, m, v, … .*✗", out.getvalue(), re.M)
    assert re.search(r"optimizer g, buffer, m, v, …: first mhat\([Wb]\[\d(,\d)+\]\) epoch 0", out.getvalue()), \
        out.getvalue()


def test_what_if_on_a_hyper_parameter_recomputes_from_there():
    session = Session(load("adam"))
    session.execute("goto epoch 2 phase update")
    value = lambda qid, epoch: session.lookup(parse_ref(qid), epoch)  # noqa: E731
    before = value("m(W[2,1,1])", 2)
    session.execute("set beta1 0.5")
    assert value("beta1", 2) == 0.5 and value("beta1", 1) == 0.9
    after = value("m(W[2,1,1])", 2)
    assert after != before
    assert after == pytest.approx(0.5 * value("m(W[2,1,1])", 1) + 0.5 * value("dE/dW[2,1,1]", 2), rel=1e-14)
    for bad, says in (("set beta1 1.0", "in [0, 1)"), ("set momentum 0.9", "not a hyper-parameter of optimizer 'adam'"),
                      ("set eps -1", "≥ 0")):
        with pytest.raises(CommandError, match=re.escape(says)):
            session.execute(bad)


def test_xor_momentum_is_xor_with_sgd_momentum():
    xor, mom = scenario.load("xor"), scenario.load("xor-momentum")
    assert mom.optimizer == "sgd" and dict(mom.hyper)["momentum"] == 0.9
    assert all((a == b).all() for a, b in zip(xor.weights, mom.weights)) and mom.learning_rate == xor.learning_rate
    tape = Tape(mom)
    update = [s.id for s in tape.steps(0) if s.phase == "update"]
    assert update[:2] == ["buf(W[4,1,1])", "W+[4,1,1]"]
    assert tape.record(1000).arrays.E < 1e-4  # plain xor is still near 0.69 at epoch 1000


@st.composite
def optimized_networks(draw):
    """Random small networks with every optimizer: momentum, dampening, nesterov, weight decay on
    and off, Adam's betas and eps, either dtype, a frozen parameter where weight decay is off,
    sigmoid outputs with mse or softmax outputs with cross-entropy."""
    sizes = draw(st.lists(st.integers(1, 3), min_size=2, max_size=4))
    softmax = draw(st.booleans())
    if softmax:
        sizes[-1] = max(2, sizes[-1])
    acts = draw(st.lists(st.sampled_from(["sigmoid", "tanh", "identity"]), min_size=len(sizes) - 1,
                         max_size=len(sizes) - 1))
    n = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    wd = draw(st.sampled_from([0.0, 0.05]))
    if draw(st.booleans()):
        momentum = draw(st.sampled_from([0.0, 0.5, 0.9]))
        nesterov = momentum > 0 and draw(st.booleans())
        dampening = 0.0 if nesterov else draw(st.sampled_from([0.0, 0.3]))
        setup = (f'optimizer = "sgd"\nmomentum = {momentum}\ndampening = {dampening}\n'
                 f'nesterov = {str(nesterov).lower()}\nweight_decay = {wd}')
    else:
        b1, b2 = draw(st.sampled_from([0.9, 0.5])), draw(st.sampled_from([0.999, 0.9]))
        setup = f'optimizer = "adam"\nbetas = [{b1}, {b2}]\neps = {draw(st.sampled_from([1e-8, 1e-3]))}\nweight_decay = {wd}'
    freeze = '["W[1,1,1]"]' if not wd and draw(st.booleans()) else "[]"
    if softmax:
        acts[-1] = "softmax"
        targets = rng.integers(0, sizes[-1], n).tolist()
    else:
        targets = rng.uniform(0, 1, (n, sizes[-1])).tolist()
    text = f"""
[network]
sizes = {sizes}
activation = {acts!r}
[init]
method = "uniform"
seed = {draw(st.integers(0, 1000))}
[data]
inputs = {rng.uniform(-1, 1, (n, sizes[0])).tolist()!r}
targets = {targets!r}
[training]
loss = "{'cross_entropy' if softmax else 'mse'}"
learning_rate = {draw(st.sampled_from([0.01, 0.1, 0.5]))}
epochs = {draw(st.integers(1, 4))}
dtype = "{draw(st.sampled_from(["float32", "float64"]))}"
freeze = {freeze}
{setup}
""".replace("'", '"')
    return scenario.parse(text, "random-optimizer.toml")


@SETTINGS
@given(optimized_networks())
def test_check_passes_on_random_optimized_networks(sc):
    out = io.StringIO()
    assert run_check(sc, "cpu", out=out, err=io.StringIO()) == 0, out.getvalue()


@SETTINGS
@given(optimized_networks())
def test_the_fast_forward_carries_the_state_to_the_bit(sc):
    net, p = network_for(sc)
    full = fast = p
    for _ in range(sc.epochs):
        full = engine.run_epoch(net, full, full=True)[0]
        fast = engine.run_epoch(net, fast)[0]
        for a, b in zip(full.W + (full.b or []), fast.W + (fast.b or [])):
            assert a.tobytes() == b.tobytes()
        if full.state is None:  # plain gradient descent: no state
            assert fast.state is None
            continue
        assert full.state["t"] == fast.state["t"]
        for k, v in full.state.items():
            if k != "t":
                assert all(x.tobytes() == y.tobytes() for x, y in zip(v, fast.state[k]))


BAD = {  # label → (text replaced in BASE, replacement, what the one line says)
    "unknown optimizer": ("epochs = 4", 'epochs = 4\noptimizer = "rmsprop"', ["training.optimizer", "'rmsprop'",
                                                                          "expected one of: sgd, adam"]),
    "negative momentum": ("epochs = 4", "epochs = 4\nmomentum = -0.1", ["training.momentum", "≥ 0"]),
    "negative weight decay": ("epochs = 4", 'epochs = 4\noptimizer = "adam"\nweight_decay = -1',
                              ["training.weight_decay", "expected a number ≥ 0, got -1"]),
    "beta1 = 1": ("epochs = 4", 'epochs = 4\noptimizer = "adam"\nbetas = [1.0, 0.999]',
                  ["training.betas", "beta1 = 1: expected a number in [0, 1)"]),
    "negative beta2": ("epochs = 4", 'epochs = 4\noptimizer = "adam"\nbetas = [0.9, -0.5]', ["beta2 = -0.5"]),
    "betas not a pair": ("epochs = 4", 'epochs = 4\noptimizer = "adam"\nbetas = 0.9',
                         ["training.betas", "expected two numbers [beta1, beta2]"]),
    "negative eps": ("epochs = 4", 'epochs = 4\noptimizer = "adam"\neps = -1e-8', ["training.eps", "≥ 0"]),
    "betas with sgd": ("epochs = 4", "epochs = 4\nbetas = [0.9, 0.99]",
                       ["training.betas", "not a setting of optimizer 'sgd'"]),
    "momentum with adam": ("epochs = 4", 'epochs = 4\noptimizer = "adam"\nmomentum = 0.9',
                           ["training.momentum", "not a setting of optimizer 'adam'"]),
    "nesterov without momentum": ("epochs = 4", "epochs = 4\nnesterov = true",
                                  ["training.nesterov", "nesterov needs momentum > 0 and dampening = 0"]),
    "nesterov with dampening": ("epochs = 4", "epochs = 4\nmomentum = 0.9\ndampening = 0.1\nnesterov = true",
                                ["nesterov needs momentum > 0 and dampening = 0"]),
    "nesterov not a boolean": ("epochs = 4", "epochs = 4\nmomentum = 0.9\nnesterov = 1",
                               ["training.nesterov", "expected true or false"]),
    "sequential with momentum": ("epochs = 4", 'epochs = 4\nmomentum = 0.9\nupdate_order = "sequential"',
                                 ["training.update_order", "plain gradient descent"]),
    "freeze with weight decay": ("epochs = 4", 'epochs = 4\nweight_decay = 0.1\nfreeze = ["W[1,1,1]"]',
                                 ["training.freeze", "a frozen parameter would still decay"]),
}


@pytest.mark.parametrize("label", sorted(BAD))
def test_bad_optimizer_settings_are_one_line(run_cli, write_scenario, label):
    assert_bad_edit(run_cli, write_scenario, BASE, BAD[label])


def test_the_ids_and_hyper_parameters_read_back(run_cli, write_scenario):
    path = write_scenario(BASE + SETUPS["nesterov"] + "\n")
    code, out, err = run_cli("replay", str(path), "-c", "print momentum; print steps; goto epoch 2; print steps; "
                                                      "print nes(b[2,1]); break buf(W[1,2,1]); continue")
    assert code == 0 and err == "", err
    assert "# momentum  μ = 0.90000000" in out and "# steps  t = 1.00000000" in out and "# steps  t = 3.00000000" in out
    assert re.search(r"nes\(b\[2,1\]\)  gₙ\(b²₁\) = g\(b²₁\) \+ μ·b\(b²₁\) = ", out)
    assert "# breakpoint #1 buf(W[1,2,1])" in out


def test_the_markdown_export_shows_adams_update_with_its_numbers(run_cli, write_scenario):
    path = write_scenario(BASE + SETUPS["adam"] + "\n")
    code, out, err = run_cli("replay", str(path), "--format", "markdown", "-c", "goto epoch 1")
    assert code == 0 and err == ""
    assert "The optimizer is Adam (torch.optim.Adam)" in out
    assert re.search(r"\$\$\\hat\{m\}\\left\(W\^\{2\}_\{11\}\\right\) = \\frac\{m\\left\(W\^\{2\}_\{11\}\\right\)\}"
                     r"\{\\left\(1 - \{\\beta_1\}\^\{t\}\\right\)\} = \\frac\{\\left\(-0\.00126631\\right\)\}\{\\left\(1 - \{0\.9\}\^\{2\}"
                     r"\\right\)\} = -0\.00666481\$\$",
                     out)
