"""The torch mirror and the cross-check: random networks pass in float64, the
torch values are torch's own (golden numbers, the sequential order's W⁺, frozen entries), the
tolerances, finite differences, devices."""

import dataclasses
import io
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from bpstep import agreement, crosscheck, engine, scenario  # noqa: E402
from bpstep.agreement import Tolerance  # noqa: E402
from bpstep.crosscheck import CheckUnavailable, StepChecker, run_check  # noqa: E402
from bpstep.tape import Tape  # noqa: E402
from conftest import fit_to_loss, targets_for  # noqa: E402

SETTINGS = settings(max_examples=int(__import__("os").environ.get("BPSTEP_EXAMPLES", 40)), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def scenarios(draw, dtype="float64"):
    """1–4 weight layers of 1–5 units, every activation and loss, biases on and off, batches of
    1–5, frozen parameters, both update orders, 1–3 epochs."""
    sizes = draw(st.lists(st.integers(1, 5), min_size=2, max_size=5))
    layers = len(sizes) - 1
    loss = draw(st.sampled_from(engine.LOSSES))
    acts = draw(st.lists(st.sampled_from(engine.ACTIVATIONS), min_size=layers, max_size=layers))
    acts, sizes = fit_to_loss(loss, acts, sizes)  # BCELoss takes outputs in [0, 1] only
    bias = draw(st.booleans())
    n = draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    inputs = rng.uniform(-2, 2, (n, sizes[0])).tolist()
    targets = targets_for(loss, rng, n, sizes[-1], 0 if loss == "bce" else -1).tolist()
    params = [f"W[{l},{j},{i}]" for l in range(1, layers + 1) for j in range(1, sizes[l] + 1)
              for i in range(1, sizes[l - 1] + 1)]
    params += [f"b[{l},{j}]" for l in range(1, layers + 1) for j in range(1, sizes[l] + 1)] if bias else []
    freeze = draw(st.lists(st.sampled_from(params), max_size=4, unique=True))
    text = f"""
[network]
sizes = {sizes}
activation = {acts!r}
bias = {str(bias).lower()}
[init]
method = "uniform"
seed = {draw(st.integers(0, 10_000))}
scale = {draw(st.sampled_from([0.3, 1.0, 2.0]))}
[data]
inputs = {inputs!r}
targets = {targets!r}
[training]
loss = "{loss}"
learning_rate = {draw(st.sampled_from([0.05, 0.5, 1.5]))}
epochs = {draw(st.integers(1, 3))}
dtype = "{dtype}"
update_order = "{draw(st.sampled_from(engine.UPDATE_ORDERS))}"
freeze = {freeze!r}
""".replace("'", '"')
    return scenario.parse(text, "random.toml")


def check(sc, **kw):
    out = io.StringIO()
    code = run_check(sc, "cpu", out=out, err=io.StringIO(), **kw)
    return code, out.getvalue()


def finite(sc) -> bool:
    """Whether training stays finite: where it overflows the engines part ways legitimately
    (inf·0 is NaN in the engine's product, 0 in torch's relu backward)."""
    tape = Tape(sc)
    return not any(tape.nonfinite(e) for e in range(sc.epochs))


@SETTINGS
@given(scenarios())
def test_random_networks_pass_in_float64(sc):
    assume(finite(sc))
    code, report = check(sc)
    assert code == 0, report
    assert "✓ all" in report


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_step_checker_agrees_with_every_step(sc):
    assume(finite(sc))
    tape = Tape(sc)
    checker = StepChecker(tape)
    for epoch in range(sc.epochs + 1):
        for step in tape.steps(epoch):
            theirs, err, ok = checker.compare(step)
            assert ok, (step.qid, epoch, step.value, theirs)
            assert err == abs(step.value - theirs) or (math.isnan(step.value) and math.isnan(theirs))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_finite_differences_witness_random_networks(sc):
    assume(finite(sc))
    code, report = check(sc, fd=True)
    assert code == 0, report
    assert "gradients vs finite diff." in report


def test_torch_values_of_the_worked_example():
    tape = Tape(scenario.load("worked-222"))
    checker = StepChecker(tape)
    assert (checker.device, checker.dtype) == ("cpu", "float64")
    golden = {"a[2,1]": 0.60944600, "E": 0.02397190, "dE/da[2,1]": 0.20944600, "da[2,1]/dz[2,1]": 0.23802157,
              "dE/dW[2,1,1]": 0.02592286, "dE[2,1]/da[1,1]": 0.02243370, "dE/da[1,1]": 0.03240681,
              "dE/dW[1,1,1]": 0.00080888, "W+[2,1,1]": 0.43703857, "W+[1,1,1]": 0.29959556}
    for qid, value in golden.items():
        sample = None if qid.startswith("W+") else 1
        step = tape.step(0, tape.layout.at(False, qid, sample))
        theirs, err, ok = checker.compare(step)
        assert round(theirs, 8) == value and ok and err < 1e-15, qid
    after = tape.step(1, tape.layout.at(True, "E", 1))
    assert round(checker.compare(after)[0], 8) == 0.02323634
    assert checker.verdict_text(tape.step(0, tape.layout.at(False, "dE/dW[2,1,1]", 1))).startswith(
        "torch 0.02592286 ✓ Δ ")


def test_sequential_order_carries_delta_through_the_updated_weights():
    """∂E/∂h1 in the sequential order is δ3·W5⁺ + δ4·W7⁺ (the lecture's numbers), not δ3·W5 + δ4·W7."""
    sc = scenario.load("worked-222")
    seq = Tape(dataclasses.replace(sc, update_order="sequential"))
    checker = StepChecker(seq)
    delta3, delta4 = 0.20944600 * 0.23802157, 0.06384491 * 0.22315485
    expected = delta3 * 0.43703857 + delta4 * 0.69629578
    step = seq.step(0, seq.layout.at(False, "dE/da[1,1]", 1))
    theirs, _, ok = checker.compare(step)
    assert ok and abs(theirs - expected) < 1e-8
    assert abs(theirs - 0.03240681) > 1e-4  # the simultaneous value


def test_frozen_parameters_stay_exactly_and_others_move():
    text = scenario.resolve("worked-222").read_text().replace(
        'update_order = "simultaneous"', 'update_order = "simultaneous"\nfreeze = ["W[2,1,1]", "W[1,2,2]"]')
    tape = Tape(scenario.parse(text, "frozen.toml"))
    rec = StepChecker(tape).record(0)
    assert rec.value(("W+", 1, 0, 0)) == 0.45 and rec.value(("W+", 0, 1, 1)) == 0.35
    assert round(rec.value(("W+", 1, 0, 1)), 8) == 0.38685205


def test_a_wrong_value_is_out_of_tolerance():
    tape = Tape(scenario.load("worked-222"))
    checker = StepChecker(tape)
    step = tape.step(0, tape.layout.at(False, "dE/dW[2,1,1]", 1))
    rec = checker.record(0)
    rec.arrays.gW_sample[1] = rec.arrays.gW_sample[1] * (1 + 1e-9)
    theirs, err, ok = checker.compare(step)
    assert not ok and err > 0
    assert "✗" in checker.verdict_text(step)


def test_tolerance_per_dtype():
    f64, f32 = agreement.TOLERANCES["float64"], agreement.TOLERANCES["float32"]
    assert f64.errors(1.0, 1.0 + 5e-13)[1] and not f64.errors(1.0, 1.0 + 5e-12)[1]
    assert f32.errors(1.0, 1.0 + 5e-6)[1] and not f32.errors(1.0, 1.0 + 5e-5)[1]
    err, ok = Tolerance(1e-12, 0).errors([np.nan, np.inf, np.nan, 1.0, -np.inf], [np.nan, np.inf, 1.0, np.inf, np.inf])
    assert ok.tolist() == [True, True, False, False, False]
    assert err.tolist()[:2] == [0.0, 0.0] and all(np.isinf(err[2:]))
    # a value whose digits cancel (say 1 − a² of a saturated tanh) is judged by its rounding scale
    assert not f64.errors(2e-9, 2e-9 + 1e-14)[1] and f64.errors(2e-9, 2e-9 + 1e-14, scale=2.0)[1]


def test_rounding_scales_cover_the_values_and_grow_where_digits_cancel():
    sc = scenario.load("worked-222")
    tape = Tape(dataclasses.replace(sc, activations=("tanh", "tanh"), weights=tuple(w * 60 for w in sc.weights)))
    arrays = crosscheck.stack_epochs([tape.record(0).arrays])
    scales = agreement.error_scales(tape.net, arrays, 1e-12)
    for name in ("z", "act", "dEda", "dadz", "dEdz", "gW_sample", "parts", "W_new"):
        for value, scale in zip(getattr(arrays, name), getattr(scales, name)):
            assert (scale >= np.abs(value) * (1 - 1e-15)).all(), name
    # the hidden units saturate (z = 4.8, 6.6): 1 − a² is tiny, and exact only to ε·(1 + a²)
    dadz, S = arrays.dadz[0][0, :, 0], scales.dadz[0][0, :, 0]
    assert (dadz < 1e-3).all() and (S > 1.9).all()


def test_finite_differences_match_the_engine_and_skip_relu_kinks():
    text = """
[network]
sizes = [2, 3, 1]
activation = ["relu", "sigmoid"]
[init]
weights = [[[1.0, -1.0], [0.5, 0.25], [-0.3, 0.8]], [[0.7, -0.2, 0.4]]]
biases = [[0.0, 0.1, -0.2], [0.05]]
[data]
inputs = [[0.3, 0.3], [0.5, -0.4]]
targets = [[1.0], [0.0]]
[training]
loss = "bce"
learning_rate = 0.5
"""
    tape = Tape(scenario.parse(text, "kink.toml"))
    arrays = tape.record(0).arrays
    stacked = crosscheck.stack_epochs([arrays])
    fd, slack = agreement.finite_differences(tape.net, stacked, agreement.error_scales(tape.net, stacked, 1e-12))
    # sample 1 sits on unit 1's kink (z = 0.3 − 0.3 = 0): no witness for the gradients it reaches
    assert np.isnan(fd.gW_sample[0][0, 0, 0, 0]) and np.isnan(fd.gW[0][0, 0, 0])
    assert not np.isnan(fd.gW_sample[0][1, 1, 0, 0])
    for mine, theirs, off in ((arrays.gW_sample, fd.gW_sample, slack.gW_sample), (arrays.gW, fd.gW, slack.gW),
                              (arrays.gb, fd.gb, slack.gb)):
        for l in range(2):
            witness = theirs[l][..., 0]
            seen = ~np.isnan(witness)
            assert seen.any()
            np.testing.assert_allclose(mine[l][seen], witness[seen], rtol=1e-8, atol=1e-9)
            assert (off[l][..., 0][seen] < 1e-7).all()  # smooth here: little for the witness to be off by


def test_devices_resolve_or_say_why_not():
    tape = Tape(scenario.load("worked-222"))
    assert StepChecker(tape, "cpu").device == "cpu"
    auto = StepChecker(tape, "auto").device
    assert auto == ("cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu")
    with pytest.raises(CheckUnavailable, match="unknown device; expected cpu, cuda, cuda:N, mps or auto"):
        StepChecker(tape, "tpu")
    with pytest.raises(CheckUnavailable, match="cuda:99"):
        StepChecker(tape, "cuda:99")


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_cuda_missing_is_unavailable():
    with pytest.raises(CheckUnavailable, match="no CUDA device is available"):
        StepChecker(Tape(scenario.load("worked-222")), "cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cuda_check_passes(dtype):
    sc = scenario.load("xor").with_epochs(200).with_dtype(dtype)
    out = io.StringIO()
    assert run_check(sc, "cuda", out=out, err=io.StringIO()) == 0, out.getvalue()
    assert "on cuda" in out.getvalue()


@pytest.mark.skipif(not (torch.backends.mps.is_available()), reason="no Apple MPS device")
def test_mps_check_passes_in_float32_and_refuses_float64():
    sc = scenario.load("xor").with_epochs(200)
    assert run_check(sc, "mps", out=io.StringIO(), err=io.StringIO()) == 0
    with pytest.raises(CheckUnavailable, match="float64"):
        run_check(sc.with_dtype("float64"), "mps", out=io.StringIO())


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="an MPS device is present")
def test_mps_missing_is_unavailable():
    with pytest.raises(CheckUnavailable, match="no Apple MPS device"):
        StepChecker(Tape(scenario.load("worked-222")), "mps")


def test_the_free_run_is_the_lecture_loop_bit_for_bit():
    """torch's side of the free run computes what ``nn.Sequential`` of ``nn.Linear`` does."""
    sc = scenario.load("xor")
    tape = Tape(sc)
    start = tape.params(0)
    losses, W, b = crosscheck.mirror_for(tape.net, "float32", "cpu").train(start.W, start.b, 300)
    torch.manual_seed(777)
    layers = [torch.nn.Linear(m, n) for m, n in zip(sc.sizes[:-1], sc.sizes[1:])]
    model = torch.nn.Sequential(*(x for layer in layers for x in (layer, torch.nn.Sigmoid())))
    X, Y = torch.tensor(sc.inputs, dtype=torch.float32), torch.tensor(sc.targets, dtype=torch.float32)
    optimizer, criterion = torch.optim.SGD(model.parameters(), lr=1), torch.nn.BCELoss()
    for epoch in range(300):
        optimizer.zero_grad()
        cost = criterion(model(X), Y)
        cost.backward()
        optimizer.step()
        assert losses[epoch] == cost.item(), epoch
    assert all((w == layer.weight.detach().numpy()).all() for w, layer in zip(W, layers))
    assert losses[0] == 0.6948983073234558  # docs/golden-numbers.md


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_only_on_a_terminal():
    sc = scenario.load("xor").with_epochs(600)
    quiet, tty = io.StringIO(), _Terminal()
    assert run_check(sc, out=io.StringIO(), err=quiet) == 0 and quiet.getvalue() == ""
    assert run_check(sc, out=io.StringIO(), err=tty) == 0
    assert "\rbpstep check: teacher-forced epoch 0/600" in tty.getvalue().replace("\x1b[2K", "")
    assert "free run epoch 500/600" in tty.getvalue()


@pytest.mark.skipif(__import__("sys").platform != "linux", reason="libtorch_cpu is loaded ahead on Linux only")
def test_libtorch_is_loaded_with_the_gil_released_before_torch_is_imported():
    """The TUI imports torch in a thread; the import's dlopen of libtorch_cpu held the GIL for
    0.3–0.4 s, and no key was taken meanwhile. ``import_torch`` loads it first through ctypes,
    which releases the GIL (bench/tui.py: q while torch loads, 0.38 → 0.24 s)."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from bpstep import reference\n"
        "load, seen = reference._load_libtorch, []\n"
        "def loads():\n"
        "    maps = lambda: 'libtorch_cpu.so' in open('/proc/self/maps').read()\n"
        "    seen.append((maps(), 'torch' in sys.modules))\n"
        "    load()\n"
        "    seen.append((maps(), 'torch' in sys.modules))\n"
        "reference._load_libtorch = loads\n"
        "torch = reference.import_torch()\n"
        "print(seen, float(torch.ones(3).sum()))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    # not loaded, then loaded, torch not yet imported; and torch works after it
    assert out.stdout.strip() == "[(False, False), (True, False)] 3.0"
