"""The engine's fast-forward and its unformed per-sample arrays give bit-for-bit the numbers of
the tape's arithmetic: ``run_epoch(full=False)`` the parameters and loss of ``full=True``, and
:class:`engine.Outer` every element of the product it stands for, however it is indexed."""

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpstep import engine, scenario
from conftest import fit_to_loss, targets_for
from bpstep import tape as tape_module
from bpstep.tape import Tape, network_for

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _bits(x) -> bytes:
    """The bytes of a value: equal bytes are equal numbers, signed zeros and NaN payloads too."""
    x = np.asarray(x)
    return x.dtype.str.encode() + repr(x.shape).encode() + x.tobytes()


@st.composite
def networks(draw):
    """A random scenario: 1–3 weight layers of 1–5 units, any activations, loss, bias, update
    order, dtype, learning rate (1 among them: its update skips the product), 1–12 samples (a
    batch sum of more than 8 is summed pairwise) and some parameters frozen."""
    sizes = draw(st.lists(st.integers(1, 5), min_size=2, max_size=4))
    layers = len(sizes) - 1
    loss = draw(st.sampled_from(engine.LOSSES))
    acts = draw(st.lists(st.sampled_from(engine.ACTIVATIONS), min_size=layers, max_size=layers))
    acts, sizes = fit_to_loss(loss, acts, sizes)
    bias = draw(st.booleans())
    n = draw(st.integers(1, 12))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = draw(st.sampled_from([0.5, 3.0, 40.0]))  # 40: saturated units, overflowing exp
    weights = tuple(rng.uniform(-scale, scale, (b, a)) for a, b in zip(sizes[:-1], sizes[1:]))
    biases = tuple(rng.uniform(-1, 1, b) for b in sizes[1:]) if bias else None
    frozen = set()
    if draw(st.booleans()):
        frozen = {f"W[{l + 1},{j + 1},{i + 1}]" for l, w in enumerate(weights) for j, i in np.ndindex(w.shape)
                  if rng.random() < 0.3}
        if bias:
            frozen |= {f"b[{l + 1},{j + 1}]" for l, v in enumerate(biases) for j in range(v.size)
                       if rng.random() < 0.3}
    sc = scenario.load("worked-222")
    return dataclasses.replace(
        sc, sizes=tuple(sizes), activations=tuple(acts), bias=bias, weights=weights, biases=biases,
        inputs=rng.uniform(-1, 1, (n, sizes[0])), targets=targets_for(loss, rng, n, sizes[-1]), loss=loss,
        learning_rate=draw(st.sampled_from([0.05, 0.5, 1.0, 1.5])), epochs=4,
        dtype=draw(st.sampled_from(["float32", "float64"])),
        update_order=draw(st.sampled_from(engine.UPDATE_ORDERS)), freeze=frozenset(frozen))


@SETTINGS
@given(networks())
def test_the_fast_forward_is_the_tapes_arithmetic_to_the_bit(sc):
    net, p = network_for(sc)
    for _ in range(sc.epochs):
        fast, loss_fast, none = engine.run_epoch(net, p)
        full, loss_full, arrays = engine.run_epoch(net, p, full=True)
        assert none is None
        assert _bits(loss_fast) == _bits(loss_full) == _bits(arrays.E)
        for a, b in zip(fast.W + (fast.b or []), full.W + (full.b or [])):
            assert _bits(a) == _bits(b)
        p = fast


@SETTINGS
@given(networks())
def test_a_fast_forward_works_its_losses_out_together_to_each_epochs_bits(sc):
    """The tape's far jump keeps each epoch's outputs and works the losses out in one pass over
    them: each is the loss that epoch's own arithmetic gives."""
    sc = sc.with_epochs(9)
    tape = Tape(sc)
    tape.params(9)
    net, p = network_for(sc)
    for epoch in range(9):
        p, loss, _ = engine.run_epoch(net, p, full=True)
        assert _bits(tape.losses[epoch].astype(loss.dtype)) == _bits(loss)


def test_the_losses_held_are_settled_where_the_data_changes_and_when_they_fill_up(monkeypatch):
    sc = scenario.load("xor").with_epochs(300)
    tape = Tape(sc)
    tape.edits.set(120, "lr", None, 0.25, 1.0)  # a new network from epoch 120
    tape.edits.set(200, "t[1]", 1, 0.5, 0.0)  # new targets from 200
    monkeypatch.setattr(tape_module, "_HELD", 4 * 7)  # seven epochs of XOR's four outputs
    tape.params(300)
    p, losses = tape.params(0), []
    for epoch in range(300):
        p, loss, _ = engine.run_epoch(tape.network(epoch), p, full=True)
        losses.append(loss)
    assert _bits(np.array(losses)) == _bits(tape.losses[:300].astype(np.float32))


def test_a_cancelled_fast_forward_keeps_the_losses_of_the_epochs_it_ran():
    tape = Tape(scenario.load("xor"))
    with pytest.raises(tape_module.Cancelled):
        tape.params(2000, cancelled=lambda: True)
    assert np.isfinite(tape.losses[:255]).all() and np.isnan(tape.losses[255:]).all()
    assert tape.losses[254] == Tape(scenario.load("xor")).record(254).arrays.E


def test_xor_fast_forwards_10000_epochs_to_the_tapes_bits():
    sc = scenario.load("xor")
    tape = Tape(sc)
    final = tape.params(10_000)
    net, p = network_for(sc)
    losses = []
    for _ in range(10_000):
        p, loss, _ = engine.run_epoch(net, p, full=True)
        losses.append(loss)
    assert _bits(np.array(losses)) == _bits(tape.losses[:10_000].astype(np.float32))
    for a, b in zip(final.W + final.b, p.W + p.b):
        assert _bits(a) == _bits(b)


# --- Outer -----------------------------------------------------------------------------------


def _outer(rng, per_sample, dtype, epochs=(), scale=1.0):
    N, J, I = rng.integers(1, 6, 3)
    u = (rng.standard_normal((N, J, *epochs)) * scale).astype(dtype)
    v = (rng.standard_normal(((N if per_sample else J), I, *epochs)) * scale).astype(dtype)
    stored = u[:, :, None] * (v[:, None] if per_sample else v[None])
    return engine.Outer(u, v, per_sample), stored


def _keys(rng, shape):
    """Keys of every kind the code uses, and some it might."""
    N, J, I = shape[:3]
    n, j, i = (rng.integers(0, s, 7) for s in (N, J, I))
    yield (int(n[0]), int(j[0]), int(i[0]))
    yield (n, j, i)
    yield (n[0], j, i)
    yield (n[:, None], j[None, :4], i[None, :4])
    yield int(n[1])
    yield (slice(None), int(j[1]))
    yield (slice(0, N, 2), slice(None), int(i[2]))
    yield slice(1, None)
    yield (Ellipsis,)
    yield rng.random(shape[:3]) < 0.5
    yield (n, slice(None), i)
    yield (slice(None), j[:3])
    yield ([0, -1], -1, 0)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("per_sample", [True, False])
def test_outer_reads_exactly_what_the_stored_product_holds(seed, per_sample):
    rng = np.random.default_rng(seed)
    for dtype in (np.float32, np.float64):
        for epochs in ((), (3,)):
            x, stored = _outer(rng, per_sample, dtype, epochs)
            assert x.shape == stored.shape and x.dtype == stored.dtype and len(x) == len(stored)
            assert _bits(np.asarray(x)) == _bits(stored)
            for key in _keys(rng, stored.shape):
                assert _bits(x[key]) == _bits(stored[key]), key
            if epochs:  # one epoch of several, still unformed; and stacking them back
                one = x[..., 1]
                assert isinstance(one, engine.Outer) and _bits(np.asarray(one)) == _bits(stored[..., 1])
                back = engine.Outer.stack([x[..., c] for c in range(3)], np.float64)
                assert _bits(np.asarray(back)) == _bits(stored.astype(np.float64))
            part = x.samples(slice(0, 2))
            assert _bits(np.asarray(part)) == _bits(stored[:2])


def test_outer_sums_products_left_to_right_and_casts_after():
    rng = np.random.default_rng(5)
    u1, v1, u2, v2 = (rng.standard_normal((3, 4)).astype(np.float32) for _ in range(4))
    x = engine.Outer(u1, v1, True, np.float64, more=[(u2, v2)])
    stored = (u1[:, :, None] * v1[:, None] + u2[:, :, None] * v2[:, None]).astype(np.float64)
    assert _bits(np.asarray(x)) == _bits(stored)
    assert _bits(x[1, 2, 3]) == _bits(stored[1, 2, 3]) and _bits(x[1]) == _bits(stored[1])
    assert ((x >= stored) == (stored >= stored)).all() and _bits(np.abs(x)) == _bits(np.abs(stored))


@pytest.mark.parametrize("per_sample", [True, False])
def test_outer_knows_whether_all_is_finite_without_forming_it(per_sample):
    rng = np.random.default_rng(1)
    for dtype in (np.float32, np.float64):
        big = np.finfo(dtype).max
        for case in range(40):
            x, stored = _outer(rng, per_sample, dtype, scale=1.0)
            u, v = x.terms[0]
            which = case % 5
            if which == 1:  # one product overflows, or all stay just below
                u.flat[rng.integers(u.size)] = big / 4 * rng.choice([1, -1])
                v.flat[rng.integers(v.size)] = rng.choice([3.0, 5.0, 0.0])
            elif which == 2:
                u.flat[rng.integers(u.size)] = np.inf
            elif which == 3:
                v.flat[rng.integers(v.size)] = np.nan
            elif which == 4:  # inf times 0: NaN
                u.flat[0], v.flat[0] = np.inf, 0.0
            with np.errstate(over="ignore", invalid="ignore"):
                stored = u[:, :, None] * (v[:, None] if per_sample else v[None])
                assert x.all_finite() == bool(np.isfinite(stored).all()) == bool(np.isfinite(x).all())
                assert engine.all_finite(x) == engine.all_finite(stored)
                assert _bits(np.asarray(np.isfinite(x))) == _bits(np.isfinite(stored))


def test_the_tapes_per_sample_arrays_stay_unformed():
    tape = Tape(scenario.load("xor"))
    a = tape.record(0).arrays
    assert all(isinstance(x, engine.Outer) for x in a.gW_sample + a.parts)
    assert a.gW_sample[0].shape == (4, 10, 2) and a.parts[1].shape == (4, 10, 10)
    assert tape.step(0, tape.layout.at(False, "dE/dW[1,3,2]", 2)).value == float(
        a.dEdz[0][1, 2] * a.act[0][1, 1])
    assert not tape.nonfinite(0)
