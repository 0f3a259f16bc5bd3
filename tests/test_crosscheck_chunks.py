"""``bpstep check`` in bounded memory: the groups of values it compares come from the scenario's
shape (no object per step) and are exactly the steps' own; an epoch too big for one read is
compared a run of samples at a time, with the same verdicts; the rounding scales summed in
pieces are the same sums."""

import dataclasses
import io
from pathlib import Path

import numpy as np
import pytest

from bpstep import agreement, crosscheck, engine, scenario
from bpstep.tape import Tape

torch = pytest.importorskip("torch")

OUTPUTS = Path(__file__).resolve().parent / "outputs" / "scenarios"


def _variants():
    """Scenarios of every shape the layout distinguishes: samples 1 and many, bias or not, both
    update orders, frozen parameters (a whole layer's biases too), 1-unit layers."""
    worked, xor = scenario.load("worked-222"), scenario.load("xor").with_epochs(2)
    seq, flat, wide = (scenario.load(str(OUTPUTS / f"{n}.toml")) for n in ("seq", "flat-bce", "wide"))
    one = dataclasses.replace(xor, inputs=xor.inputs[:1], targets=xor.targets[:1])
    frozen = dataclasses.replace(xor, freeze=frozenset({"W[1,1,1]", "W[4,1,3]", "b[4,1]", "b[2,5]", "W[2,3,3]"}))
    nobias = dataclasses.replace(worked, bias=False, biases=None, update_order="sequential")
    return {"worked-222": worked, "xor": xor, "seq": seq, "flat-bce": flat, "wide": wide, "one-sample": one,
            "frozen": frozen, "no-bias-sequential": nobias}


VARIANTS = _variants()


def _groups_of_steps(steps):
    """The groups as the step list shows them (what ``bpstep check`` once built from the layout):
    per (kind, layer) in order of first appearance, the keys in order of first appearance, how
    many steps show each, and the first step's qid."""
    by_key = {}
    for s in steps:
        by_key.setdefault(s.spec.key, []).append(s.qid)
    heads = {}
    for key, qids in by_key.items():
        heads.setdefault(key[:2], []).append((key, len(qids), qids[0]))
    return list(heads.items())


@pytest.mark.parametrize("name", list(VARIANTS))
@pytest.mark.parametrize("evaluate", [False, True])
def test_groups_from_the_shape_are_the_steps_own(name, evaluate):
    sc = VARIANTS[name]
    tape = Tape(sc)
    expected = _groups_of_steps(tape.steps(sc.epochs if evaluate else 0))
    groups = crosscheck._groups(sc, evaluate)
    assert [g.key[:2] for g in groups] == [head for head, _ in expected]
    for g, (head, values) in zip(groups, expected):
        weight = np.broadcast_to(g.weight, (g.count,))
        assert [g.index(m) for m in range(g.count)] == [key for key, _, _ in values], head
        assert weight.tolist() == [count for _, count, _ in values], head
        assert [g.qid(m) for m in range(g.count)] == [qid for _, _, qid in values], head
    params = sum(a * b for a, b in zip(sc.sizes[:-1], sc.sizes[1:]))
    steps = tape.length(sc.epochs if evaluate else 0)
    assert crosscheck._values_per_epoch(sc, groups) == steps + 3 * sc.samples * params


def _report(sc, fd=True, **patch):
    """(exit code, report, {row: (values, out of tolerance, skipped, max |Δ|, max rel)})."""
    out, rows = io.StringIO(), {}
    real = crosscheck._report

    def report(out, sc, mirror, tolerance, fd, result, *rest):
        rows.update({k: (r.count, r.bad, r.skipped, r.abs.err, r.rel.err) for k, r in result.rows.items()})
        return real(out, sc, mirror, tolerance, fd, result, *rest)

    with pytest.MonkeyPatch.context() as mp:
        for name, value in {**patch, "_report": report}.items():
            mp.setattr(crosscheck, name, value)
        code = crosscheck.run_check(sc, out=out, err=io.StringIO(), fd=fd)
    return code, out.getvalue(), rows


@pytest.mark.parametrize("name", ["seq", "frozen", "flat-bce", "one-sample"])
def test_an_epoch_compared_a_few_samples_at_a_time_gives_the_same_verdicts(name):
    sc = VARIANTS[name].with_epochs(3)
    code, whole, rows = _report(sc)
    assert crosscheck._samples_at_once(sc, crosscheck._groups(sc, False)) == sc.samples
    small = dict(_VALUES_AT_ONCE=1, _SAMPLE_VALUES_AT_ONCE=1)  # one epoch, one sample at a time
    code_chunked, chunked, rows_chunked = _report(sc, **small)
    assert code_chunked == code and len(rows) == 7  # the six kinds and the finite differences
    # the same values counted, none out of tolerance; torch's sums over a run of samples may be
    # split differently from the whole batch's, so the largest errors are of the same size only
    assert {k: r[:3] for k, r in rows_chunked.items()} == {k: r[:3] for k, r in rows.items()}
    for k, r in rows.items():
        for mine, theirs in zip(r[3:], rows_chunked[k][3:]):
            assert (mine == theirs == 0) or 0.25 < theirs / mine < 4, k
    assert chunked.splitlines()[-1] == whole.splitlines()[-1]  # ✓ all … values agree


def test_torch_values_of_a_run_of_samples_are_those_of_the_whole_batch():
    sc = VARIANTS["seq"]
    tape = Tape(sc)
    arrays = [tape.record(0).arrays, tape.record(1).arrays]
    mirror = crosscheck.mirror_for(tape.net, sc.dtype, "cpu")
    whole = mirror.epochs(*crosscheck._starts(arrays))
    some = slice(1, 3)
    part = mirror.epochs(*crosscheck._starts(arrays), samples=some)
    cut = crosscheck._samples_of(whole, some)
    for name, value in vars(cut).items():
        if isinstance(value, dict):  # the optimizer's quantities (none here: plain gradient descent)
            assert value == {} == getattr(part, name)
            continue
        xs, ys = (value, getattr(part, name)) if isinstance(value, list) else ([value], [getattr(part, name)])
        for x, y in zip(xs, ys):
            if x is not None:
                np.testing.assert_allclose(np.asarray(y), np.asarray(x), rtol=1e-15, atol=0, err_msg=name)
    assert part.z[0].shape[0] == 2 and part.gW_sample[0].shape[0] == 2 and part.gW[0].shape == whole.gW[0].shape


@pytest.mark.parametrize("shape", [(1, 9, 5, 3), (3, 12, 7, 1), (2, 10, 1, 4), (1, 3, 1, 1), (2, 11, 6, 5)])
def test_scales_summed_in_pieces_are_the_same_sums(monkeypatch, shape):
    C, N, J, I = shape
    rng = np.random.default_rng(sum(shape))
    S_u, u = rng.random((C, N, J)), rng.standard_normal((C, N, J))
    v, S_v = rng.random((C, N, I)), rng.random((C, N, I))
    W, S_W = rng.random((C, J, I)), rng.random((C, J, I))
    whole_mean = (S_u[..., None] * v[:, :, None, :] + u[..., None] * S_v[:, :, None, :]).mean(1)
    whole_sum = (S_u[..., None] * W[:, None] + u[..., None] * S_W[:, None]).sum(2)
    for at_once in (10**9, 1, 7, 40):
        monkeypatch.setattr(agreement, "_FORMED_AT_ONCE", at_once)
        assert agreement._mean_over_samples(S_u, v, u, S_v).tobytes() == whole_mean.tobytes()
        assert agreement._sum_over_units(S_u, W, u, S_W).tobytes() == whole_sum.tobytes()


def test_the_step_checker_reads_each_sample_from_its_own_run():
    sc = VARIANTS["seq"]
    tape = Tape(sc)
    whole, runs = crosscheck.StepChecker(tape), crosscheck.StepChecker(tape)
    runs.samples_at_once = 2
    assert whole.samples_at_once == sc.samples > 2
    steps = [s for e in (0, 1, sc.epochs) for s in tape.steps(e)]
    assert {s.spec.key[0] for s in steps} >= set(crosscheck._SAMPLE_AT) - {"x"}
    for s in steps:
        a, b = whole.compare(s), runs.compare(s)
        assert a[0] == pytest.approx(b[0], rel=1e-15, abs=0) and a[2] == b[2]
    n = np.arange(sc.samples)
    key, shape = ("gWs", 0, n, np.zeros_like(n), np.ones_like(n)), n.shape
    for x, y in zip(whole.compare_values(1, key, shape), runs.compare_values(1, key, shape)):
        np.testing.assert_allclose(y, x, rtol=1e-15, atol=0)
    runs_of_epoch_1 = {k for k in runs._records if k[0] == 1}
    assert runs_of_epoch_1 == {(1, c) for c in range((sc.samples + 1) // 2)}  # samples 1–2, 3–4, …


def test_a_big_network_is_checked_without_forming_an_epochs_per_sample_products(monkeypatch):
    """784-128-10 with 8 samples: the engine's per-sample gradients stay unformed and torch's
    per-sample parameter copies come a few samples at a time."""
    rng = np.random.default_rng(0)
    sizes = (784, 128, 10)
    weights, biases = scenario.uniform_init(sizes, True, 3)
    sc = dataclasses.replace(VARIANTS["worked-222"], sizes=sizes, activations=("sigmoid", "sigmoid"),
                             weights=weights, biases=biases, inputs=rng.random((8, 784)),
                             targets=np.eye(10)[rng.integers(0, 10, 8)], loss="mse", dtype="float32", epochs=1)
    assert crosscheck._samples_at_once(sc, crosscheck._groups(sc, False)) < sc.samples
    seen = []
    real = engine.Outer.__array__
    formed = lambda self, *a, **k: seen.append(self.shape) or real(self, *a, **k)
    monkeypatch.setattr(engine.Outer, "__array__", formed)
    code, report, _ = _report(sc, fd=False)
    assert code == 0 and "✓ all" in report
    assert not seen  # never formed whole
