"""Property tests on random small networks (hypothesis): the gradients the tape shows equal
central finite differences of the loss in float64, and the tape is consistent with itself
(sums of parts, chain-rule products, updates, batch means)."""

import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bpstep import engine, scenario
from conftest import fit_to_loss, targets_for
from bpstep.tape import Tape, network_for

ACTS = list(engine.ACTIVATIONS)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: the finite-difference step; with the fourth-order stencil below the truncation error is
#: O(h⁴) ≈ 1e-16 and the rounding error ≈ 1e-16/h ≈ 1e-12, far below the tolerance
H = 1e-4
#: relu's kink: no pre-activation may lie within reach of the perturbation
KINK = 2e-2


def _toml_list(a):
    return repr(np.asarray(a).tolist())


@st.composite
def networks(draw, order=None):
    """A random small scenario: 1–3 weight layers of 1–4 units, any activations, loss, bias,
    batch of 1–4 and update order."""
    sizes = draw(st.lists(st.integers(1, 4), min_size=2, max_size=4))
    layers = len(sizes) - 1
    loss = draw(st.sampled_from(engine.LOSSES))
    acts = draw(st.lists(st.sampled_from(ACTS), min_size=layers, max_size=layers))
    acts, sizes = fit_to_loss(loss, acts, sizes)  # BCE needs outputs in (0, 1), as torch's BCELoss
    bias = draw(st.booleans())
    n = draw(st.integers(1, 4))
    order = order or draw(st.sampled_from(engine.UPDATE_ORDERS))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    weights = [rng.uniform(-1, 1, (b, a)) for a, b in zip(sizes[:-1], sizes[1:])]
    biases = [rng.uniform(-1, 1, b) for b in sizes[1:]]
    inputs = rng.uniform(-1, 1, (n, sizes[0]))
    targets = targets_for(loss, rng, n, sizes[-1])
    lr = draw(st.sampled_from([0.05, 0.5, 1.5]))
    text = f"""
        [network]
        sizes = {sizes}
        activation = {acts!r}
        bias = {str(bias).lower()}
        [init]
        weights = {[w.tolist() for w in weights]!r}
        {f"biases = {[b.tolist() for b in biases]!r}" if bias else ""}
        [data]
        inputs = {_toml_list(inputs)}
        targets = {_toml_list(targets)}
        [training]
        loss = "{loss}"
        learning_rate = {lr!r}
        epochs = 2
        update_order = "{order}"
    """.replace("'", '"')
    return scenario.parse(text, "<hypothesis>")


def _losses(net, p):
    """(per-sample losses, batch loss) of parameters ``p``."""
    zs, acts = engine.forward(net, p, net.X)
    terms = engine.loss_terms(net, acts[-1], net.T, zs[-1])
    return terms.sum(axis=1), engine.batch_loss(terms)


def finite_differences(net, p):
    """{("W", l, j, i) | ("b", l, j): (per-sample dE_n/dθ, batch dE/dθ)} by the five-point
    central difference (f(−2h) − 8f(−h) + 8f(h) − f(2h)) / 12h."""
    out = {}
    groups = [("W", p.W)] + ([("b", p.b)] if p.b is not None else [])
    for kind, arrays in groups:
        for l, arr in enumerate(arrays):
            for idx in np.ndindex(arr.shape):
                shifted = []
                for k in (-2, -1, 1, 2):
                    q = p.copy()
                    (q.W if kind == "W" else q.b)[l][idx] += k * H
                    shifted.append(_losses(net, q))
                out[(kind, l) + idx] = tuple(_stencil([s[part] for s in shifted]) for part in (0, 1))
    return out


def _stencil(f):
    m2, m1, p1, p2 = f
    return (m2 - 8 * m1 + 8 * p1 - p2) / (12 * H)


def _close(got, want):
    # relative 1e-6; the absolute floor is the finite difference's own rounding (≈ 1e-12)
    return abs(got - want) <= 1e-6 * abs(want) + 1e-10


def clear_of_kinks(sc):
    """Whether no relu pre-activation lies within reach of the perturbation."""
    net, p = network_for(sc)
    zs, _ = engine.forward(net, p, net.X)
    return all(np.abs(z).min() > KINK for z, act in zip(zs, sc.activations) if act == "relu")


def _indices(step_id):
    """Every number in an id, in order: ``dz[3,2]/da[2,4]`` → [3, 2, 2, 4]."""
    return [int(v) for v in re.findall(r"\d+", step_id)]


def _param_key(step_id):
    """``dE/dW[2,1,3]`` → ("W", 1, 0, 2) (0-based, the keys of :func:`finite_differences`)."""
    kind = step_id[4]
    idx = [int(v) - 1 for v in step_id[6:-1].split(",")]
    return (kind, idx[0]) + tuple(idx[1:])


def check_gradients(sc):
    """Every dE/dW and dE/db step of epoch 0 (per sample and the batch mean) against FD."""
    net, p = network_for(sc)
    fd = finite_differences(net, p)
    checked = set()
    for step in Tape(sc).steps(0):
        if step.id.startswith(("dE/dW", "dE/db")):
            per, batch = fd[_param_key(step.id)]
            want = batch if step.sample is None else per[step.sample - 1]
            assert _close(step.value, want), (step.qid, step.value, want)
            checked.add((step.id, step.sample))
    n_params = sum(w.size for w in p.W) + (sum(b.size for b in p.b) if p.b is not None else 0)
    # every parameter: once per sample, and once more for the batch mean when N > 1
    assert len(checked) == n_params * (sc.samples + (sc.samples > 1))


@SETTINGS
@given(networks(order="simultaneous"))
def test_tape_gradients_equal_finite_differences(sc):
    assume(clear_of_kinks(sc))
    check_gradients(sc)


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("loss", engine.LOSSES)
@pytest.mark.parametrize("act", ACTS)
def test_every_activation_loss_and_bias(act, loss, bias):
    """Each combination once for sure (hypothesis draws them at random): a 3-4-2 network of
    ``act`` (sigmoid at the output for bce) over a batch of 3."""
    rng = np.random.default_rng(1)
    sc = _fixed(act, loss, bias, rng)
    while not clear_of_kinks(sc):
        sc = _fixed(act, loss, bias, rng)
    check_gradients(sc)


def _fixed(act, loss, bias, rng):
    sizes = [3, 4, 2]
    acts, sizes = fit_to_loss(loss, [act, act], sizes)
    weights = [rng.uniform(-1, 1, (b, a)).tolist() for a, b in zip(sizes[:-1], sizes[1:])]
    biases = f"biases = {[rng.uniform(-1, 1, b).tolist() for b in sizes[1:]]}" if bias else ""
    text = f"""
        [network]
        sizes = {sizes}
        activation = {acts}
        bias = {str(bias).lower()}
        [init]
        weights = {weights}
        {biases}
        [data]
        inputs = {rng.uniform(-1, 1, (3, 3)).tolist()}
        targets = {targets_for(loss, rng, 3, 2).tolist()}
        [training]
        loss = "{loss}"
        learning_rate = 0.5
    """.replace("'", '"')
    return scenario.parse(text, "<fixed>")


@SETTINGS
@given(networks(order="sequential"))
def test_sequential_output_layer_gradients_equal_finite_differences(sc):
    """Sequential updates carry δ down through the updated weights, so only the output layer's
    gradients are gradients of E; they must still be exact."""
    assume(clear_of_kinks(sc))
    net, p = network_for(sc)
    fd = finite_differences(net, p)
    L = sc.layers
    for step in Tape(sc).steps(0):
        if step.id.startswith(("dE/dW", "dE/db")) and _param_key(step.id)[1] == L - 1:
            per, batch = fd[_param_key(step.id)]
            want = batch if step.sample is None else per[step.sample - 1]
            assert _close(step.value, want), (step.qid, step.value, want)


def _values_by_qid(tape, epoch):
    return {s.qid: s.value for s in tape.steps(epoch)}


@SETTINGS
@given(networks())
def test_tape_is_consistent_with_itself(sc):
    tape = Tape(sc)
    steps = list(tape.steps(0))
    values = _values_by_qid(tape, 0)
    for s in steps:
        rhs = s.spec.rhs
        numbers = s.numbers()
        # a factor a step reads is the value of the step that computed it
        for use, number in zip(s.spec.uses, numbers):
            if use in values and len(s.spec.uses) == len(numbers):
                assert values[use] == number, (s.qid, use)
        if getattr(rhs, "op", None) == "×":  # a chain-rule product
            assert all(u in values for u in s.uses), s.qid
            want = math.prod(values[u] for u in s.uses)
            assert s.value == pytest.approx(want, rel=1e-12, abs=1e-300), s.qid
        if s.id.startswith("dE/da[") and _indices(s.id)[0] < sc.layers:
            # a hidden unit's ∂E/∂a is the sum of its parts, one per unit of the next layer
            parts = s.uses
            assert len(parts) == sc.sizes[_indices(s.id)[0] + 1]
            assert all(u.startswith("dE[") for u in parts)
            assert s.value == pytest.approx(math.fsum(values[u] for u in parts), rel=1e-12, abs=1e-15)
    _check_means_and_updates(sc, tape, values)


def _check_means_and_updates(sc, tape, values):
    net, p = network_for(sc)
    N = sc.samples
    updates = [s for s in tape.steps(0) if s.phase == "update"]
    n_params = sum(w.size for w in p.W) + (sum(b.size for b in p.b) if p.b is not None else 0)
    assert len(updates) == n_params
    for s in updates:
        kind, idx = s.id[0], s.id[2:]
        grad_id = f"dE/d{kind}{idx}"
        if N > 1:
            per = [values[f"{grad_id}@{n}"] for n in range(1, N + 1)]
            # the mean of terms that cancel is exact only relative to the terms themselves
            scale = max(abs(v) for v in per)
            assert values[grad_id] == pytest.approx(math.fsum(per) / N, rel=1e-12, abs=1e-14 * scale + 1e-300)
            grad = values[grad_id]
        else:
            grad = values[f"{grad_id}@1"]
        key = _param_key(grad_id)
        before = (p.W if kind == "W" else p.b)[key[1]][key[2:]]
        # W⁺ = W − α·∂E/∂W, to the bit
        assert s.value == before - sc.learning_rate * grad, s.qid
        assert s.numbers() == [before, sc.learning_rate, grad]
    # the next epoch starts from exactly these values
    nxt = tape.params(1)
    for s in updates:
        key = _param_key("dE/d" + s.id[0] + s.id[2:])
        assert (nxt.W if key[0] == "W" else nxt.b)[key[1]][key[2:]] == s.value


@SETTINGS
@given(networks(order="sequential"))
def test_sequential_carries_delta_through_updated_weights(sc):
    assume(sc.layers > 1)
    tape = Tape(sc)
    values = _values_by_qid(tape, 0)
    for s in tape.steps(0):
        if s.id.startswith("dz[") and "/da[" in s.id:  # the local factor W[l+1,m,j] of a part
            l1, m, _, j = _indices(s.id)
            assert s.value == values[f"W+[{l1},{m},{j}]"], s.qid
            assert s.spec.uses == (f"W+[{l1},{m},{j}]",)
    # and each layer's update comes right after its own gradients, output layer first
    order = [s.id for s in tape.steps(0) if s.phase in ("backward", "update")]
    first_update = {l: min(k for k, i in enumerate(order) if i.startswith(f"W+[{l},")) for l in
                    range(1, sc.layers + 1)}
    last_grad = {l: max(k for k, i in enumerate(order) if i.startswith(f"dE/dW[{l},")) for l in
                 range(1, sc.layers + 1)}
    for l in range(1, sc.layers + 1):
        assert last_grad[l] < first_update[l]
        if l > 1:
            assert first_update[l] < last_grad[l - 1]


@SETTINGS
@given(networks(order="simultaneous"))
def test_simultaneous_carries_delta_through_the_old_weights(sc):
    assume(sc.layers > 1)
    tape = Tape(sc)
    for s in tape.steps(0):
        if s.id.startswith("dz[") and "/da[" in s.id:
            l1, m, _, j = _indices(s.id)
            assert s.value == sc.weights[l1 - 1][m - 1, j - 1]
            assert s.spec.uses == (f"W[{l1},{m},{j}]",)


@SETTINGS
@given(networks(), st.sampled_from(["float32", "float64"]))
def test_fast_forward_is_bit_identical_to_the_tape(sc, dtype):
    """run_epoch(full=False), used for far jumps, computes exactly what the tape shows."""
    sc = sc.with_dtype(dtype).with_epochs(3)
    net, p = network_for(sc)
    q = p
    for epoch in range(3):
        fast, loss_fast, none = engine.run_epoch(net, q, full=False)
        full, loss_full, arrays = engine.run_epoch(net, q, full=True)
        assert none is None and arrays is not None
        assert np.array_equal(loss_fast, loss_full, equal_nan=True)
        assert arrays.E == loss_full
        for a, b in zip(fast.W + (fast.b or []), full.W + (full.b or [])):
            assert a.dtype == np.dtype(dtype) and np.array_equal(a, b, equal_nan=True)
        q = fast
    # a tape that jumps straight to epoch 3 sees the same parameters
    tape = Tape(sc)
    final = tape.params(3)
    for a, b in zip(final.W + (final.b or []), q.W + (q.b or [])):
        assert np.array_equal(a, b, equal_nan=True)
    assert all(step.epoch == 3 for step in tape.steps(3))


def test_finite_differences_reproduce_the_lecture_and_catch_an_error():
    """The check itself: FD gives the lecture's ∂E/∂W5, and a gradient off by 1e-5 is caught."""
    net, p = network_for(scenario.load("worked-222"))
    per, batch = finite_differences(net, p)[("W", 1, 0, 0)]
    assert per[0] == batch
    assert f"{batch:.8f}" == "0.02592286"
    assert _close(batch * (1 + 1e-7), batch)
    assert not _close(batch * (1 + 1e-5), batch)
