"""Softmax outputs with cross-entropy: the scalar steps (∂E/∂oₖ, the Jacobian terms ∂oₖ/∂zⱼ,
δⱼ = Σₖ ∂E/∂oₖ·∂oₖ/∂zⱼ = oⱼ − tⱼ) against torch's autograd and CrossEntropyLoss, the
cross-check and finite differences on random softmax networks, and the bad input."""

import io
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpstep import engine, scenario
from bpstep.session import Session
from bpstep.tape import Tape, network_for
from test_bad_input import assert_bad_edit

torch = pytest.importorskip("torch")
from bpstep.crosscheck import run_check  # noqa: E402

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SOFT = """\
name = "soft"
[network]
sizes = [2, 3, 3]
activation = ["tanh", "softmax"]
[init]
method = "uniform"
seed = 3
[data]
inputs = [[0.1, 0.2], [0.5, -0.3], [-0.4, 0.9]]
targets = [0, 2, 1]
[training]
loss = "cross_entropy"
learning_rate = 0.5
epochs = 3
"""


def soft(text=SOFT):
    return scenario.parse(text, "soft.toml")


def torch_epoch0(sc):
    """z and o of the output, each sample's E, ∂E/∂o, the Jacobian and δ of epoch 0 by torch."""
    net, p = network_for(sc)
    W = [torch.tensor(w, requires_grad=True) for w in p.W]
    b = [torch.tensor(v, requires_grad=True) for v in p.b]
    a = torch.tensor(net.X)
    for l in range(len(W)):
        z = a @ W[l].T + b[l]
        a = torch.tanh(z) if l < len(W) - 1 else z
    z = z.detach().requires_grad_()
    target = torch.tensor(net.T).argmax(1)
    E_n = torch.nn.CrossEntropyLoss(reduction="none")(z, target)
    delta = torch.autograd.grad(E_n.sum(), z)[0]
    o = torch.softmax(z, -1)
    jac = torch.stack([torch.autograd.functional.jacobian(lambda v: torch.softmax(v, -1), z[n].detach())
                       for n in range(z.shape[0])])  # [n, k, j]
    leaf = o.detach().requires_grad_()
    dEdo = torch.autograd.grad(-(torch.tensor(net.T) * torch.log(leaf)).sum(), leaf)[0]
    return {k: v.detach().numpy() for k, v in dict(o=o, E_n=E_n, jac=jac, delta=delta, dEdo=dEdo).items()}


def test_the_steps_of_a_softmax_output_are_torchs_numbers():
    sc = soft()
    tape, want = Tape(sc), torch_epoch0(sc)
    value = lambda qid, n: tape.step(0, tape.layout.at(False, qid, n)).value  # noqa: E731
    for n in range(3):
        for k in range(3):
            assert value(f"a[2,{k + 1}]", n + 1) == pytest.approx(want["o"][n, k], rel=1e-14)
            assert value(f"dE/da[2,{k + 1}]", n + 1) == pytest.approx(want["dEdo"][n, k], rel=1e-14)
            assert value(f"dE/dz[2,{k + 1}]", n + 1) == pytest.approx(want["delta"][n, k], rel=1e-13, abs=1e-15)
            for j in range(3):
                assert value(f"da[2,{k + 1}]/dz[2,{j + 1}]", n + 1) == pytest.approx(want["jac"][n, k, j], rel=1e-14)
        assert value("E", n + 1) == pytest.approx(want["E_n"][n], rel=1e-14)


def test_delta_shows_the_chain_rule_and_where_it_simplifies():
    tape = Tape(soft())
    step = tape.step(0, tape.layout.at(False, "dE/dz[2,1]", 1))
    assert step.spec.sym == "∂E/∂o₁ × ∂o₁/∂z²₁ + ∂E/∂o₂ × ∂o₂/∂z²₁ + ∂E/∂o₃ × ∂o₃/∂z²₁ = o₁ − t₁"
    assert step.spec.uses == ("dE/da[2,1]@1", "da[2,1]/dz[2,1]@1", "dE/da[2,2]@1", "da[2,2]/dz[2,1]@1",
                              "dE/da[2,3]@1", "da[2,3]/dz[2,1]@1", "a[2,1]@1", "t[1]@1")
    off = tape.step(0, tape.layout.at(False, "da[2,2]/dz[2,1]", 1))
    assert off.spec.factor and off.spec.sym == "−(o₂·o₁)"
    assert tape.step(0, tape.layout.at(False, "a[2,1]", 1)).spec.sym == "exp(z²₁)/(exp(z²₁) + exp(z²₂) + exp(z²₃))"
    assert tape.step(0, tape.layout.at(False, "E[1]", 1)).spec.sym == "−(t₁·ln(o₁))"
    # the Jacobian terms are read by δ, and δ by the gradients below it
    users = {tape.layout.spec(False, int(i)).qid for i in tape.layout.users(False, "da[2,3]/dz[2,1]", 1)}
    assert users == {"dE/dz[2,1]@1"}
    users = {tape.layout.spec(False, int(i)).qid for i in tape.layout.users(False, "dE/dz[2,1]", 1)}
    assert {"dE/dW[2,1,1]@1", "dE/db[2,1]@1", "dE[2,1]/da[1,1]@1"} <= users


def test_next_steps_over_the_jacobian_and_the_layer_view_shows_it():
    session = Session(soft())
    for command in ("goto dE/da[2,3]@1", "next"):
        session.execute(command)
    assert session.current.qid == "dE/dz[2,1]@1"  # the three ∂oₖ/∂z₁ factors are stepped over
    session.execute("view layer")
    session.execute("goto da[2,1]/dz[2,2]@1")
    layer = session.current_layer
    assert layer.id == "da[2]/dz[2]" and layer.formula == "∂o/∂z²⁽¹⁾ = diag(o) − o oᵀ (sample 1 of each)"
    jac = torch_epoch0(soft())["jac"][0]
    np.testing.assert_allclose(layer.matrix, jac, rtol=1e-14)


def test_log_sum_exp_keeps_huge_logits_finite():
    sc = soft(SOFT.replace('method = "uniform"\nseed = 3', 'method = "uniform"\nseed = 3\nscale = 400.0'))
    net, p = network_for(sc)
    _, loss, arrays = engine.run_epoch(net, p, full=True)
    assert np.isfinite(loss) and np.isfinite(arrays.E_terms).all() and np.isfinite(arrays.dEdz[-1]).all()
    assert np.abs(arrays.z[-1]).max() > 100  # exp(z) alone would overflow float64 past 709


def test_a_broken_jacobian_is_caught_and_named(monkeypatch, capsys):
    value, derivative = engine.ACTIVATION_FUNCTIONS["softmax"]
    monkeypatch.setitem(engine.ACTIVATION_FUNCTIONS, "softmax", (value, lambda z, a: derivative(z, a) * (1 + 1e-6)))
    out = io.StringIO()
    assert run_check(soft(), "cpu", out=out, err=io.StringIO()) == 1
    assert re.search(r"local factors: first da\[2,\d\]/dz\[2,\d\]@1 epoch 0", out.getvalue()), out.getvalue()


@st.composite
def softmax_networks(draw):
    """1–3 weight layers, any hidden activations, a softmax output of 2–5 units, cross-entropy,
    class-index or one-hot targets, bias on and off, 1–5 samples, both update orders and dtypes."""
    sizes = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)) + [draw(st.integers(2, 5))]
    hidden = draw(st.lists(st.sampled_from(["sigmoid", "tanh", "relu", "identity"]),
                           min_size=len(sizes) - 2, max_size=len(sizes) - 2))
    n = draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    classes = rng.integers(0, sizes[-1], n).tolist()
    targets = classes if draw(st.booleans()) else np.eye(sizes[-1])[classes].tolist()
    text = f"""
[network]
sizes = {sizes}
activation = {hidden + ["softmax"]!r}
bias = {str(draw(st.booleans())).lower()}
[init]
method = "uniform"
seed = {draw(st.integers(0, 10_000))}
scale = {draw(st.sampled_from([0.5, 1.0, 3.0]))}
[data]
inputs = {rng.uniform(-2, 2, (n, sizes[0])).tolist()!r}
targets = {targets!r}
[training]
loss = "cross_entropy"
learning_rate = {draw(st.sampled_from([0.1, 0.5, 1.5]))}
epochs = {draw(st.integers(1, 3))}
dtype = "{draw(st.sampled_from(["float32", "float64"]))}"
update_order = "{draw(st.sampled_from(engine.UPDATE_ORDERS))}"
""".replace("'", '"')
    return scenario.parse(text, "random-softmax.toml")


@SETTINGS
@given(softmax_networks())
def test_check_and_finite_differences_pass_on_random_softmax_networks(sc):
    out = io.StringIO()
    assert run_check(sc, "cpu", fd=sc.dtype == "float64", out=out, err=io.StringIO()) == 0, out.getvalue()


BAD = {  # label → (text replaced in SOFT, replacement, what the one line says)
    "softmax not last": ('["tanh", "softmax"]', '["softmax", "softmax"]',
                         ["network.activation", "softmax is for the output layer only; layer 1 of 2"]),
    "softmax with one output": ("sizes = [2, 3, 3]", "sizes = [2, 3, 1]", ["network.activation", "at least 2 outputs"]),
    "cross_entropy without softmax": ('["tanh", "softmax"]', '["tanh", "sigmoid"]',
                                      ["training.loss", "goes with activation \"softmax\"", "'sigmoid'"]),
    "softmax without cross_entropy": ('loss = "cross_entropy"', 'loss = "mse"', ["training.loss", "'mse'"]),
    "class index out of range": ("targets = [0, 2, 1]", "targets = [0, 3, 1]",
                                 ["data.targets", "targets[1]: class index 3 out of range for 3 outputs", "0…2"]),
    "negative class index": ("targets = [0, 2, 1]", "targets = [0, -1, 1]", ["targets[1]", "class index -1"]),
    "class index not whole": ("targets = [0, 2, 1]", "targets = [0, 1.5, 1]",
                              ["targets[1]", "expected a class index (a whole number)"]),
    "class indices: count": ("targets = [0, 2, 1]", "targets = [0, 2]", ["expected 3 class indices", "got 2"]),
    "targets not one-hot": ("targets = [0, 2, 1]", "targets = [[1, 0, 0], [0.5, 0.5, 0], [0, 1, 0]]",
                            ["one-hot target rows or class indices", "row 2 is [0.5, 0.5, 0]"]),
    "targets: two ones": ("targets = [0, 2, 1]", "targets = [[1, 0, 0], [1, 1, 0], [0, 1, 0]]", ["row 2 is [1, 1, 0]"]),
}


@pytest.mark.parametrize("label", sorted(BAD))
def test_bad_softmax_scenarios_are_one_line(run_cli, write_scenario, label):
    assert_bad_edit(run_cli, write_scenario, SOFT, BAD[label])


def test_class_indices_with_one_output_are_bad(run_cli, write_scenario):
    text = SOFT.replace("sizes = [2, 3, 3]", "sizes = [2, 3, 1]").replace('["tanh", "softmax"]', '"sigmoid"')
    path = write_scenario(text.replace('loss = "cross_entropy"', 'loss = "mse"'))
    code, _, err = run_cli("replay", str(path), "-c", "step")
    assert code == 2 and "class indices need a network of at least 2 outputs" in err


def test_the_good_softmax_scenario_runs(run_cli, write_scenario):
    code, out, err = run_cli("replay", str(write_scenario(SOFT)), "-c", "goto dE/dz[2,2]@2")
    assert code == 0 and err == ""
    assert "= o₂ − t₂ =" in out


def test_the_markdown_export_shows_the_softmax_jacobian_with_its_numbers(run_cli, write_scenario):
    code, out, err = run_cli("replay", str(write_scenario(SOFT)), "--format", "markdown")
    assert code == 0 and err == ""
    assert re.search(r"\$\$\\frac\{\\partial o_\{2\}\}\{\\partial z\^\{2\}_\{1\}\} = -\\left\(o_\{2\} \\cdot o_\{1\}\\right\)"
                     r" = -\\left\([\d.]+ \\cdot [\d.]+\\right\) = -[\d.]+\$\$", out), out[:3000]
    assert "= o_{1} - t_{1} =" in out


def test_print_accuracy_counts_the_samples_whose_largest_output_is_their_class(run_cli, write_scenario):
    sc = soft()
    tape = Tape(sc)
    o = tape.record(3).arrays.act[-1]
    right = int((o.argmax(1) == np.array([0, 2, 1])).sum())
    code, out, err = run_cli("replay", str(write_scenario(SOFT)), "-c", "goto epoch 3; print accuracy")
    assert code == 0 and err == ""
    assert f"# accuracy  {right / 3:.8f} ({right} of 3 samples classified right, the final parameters (evaluate phase))" in out
    code, _, err = run_cli("replay", "xor", "-c", "print accuracy")
    assert code == 2 and "expected a scenario with loss = \"cross_entropy\"" in err
