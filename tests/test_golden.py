"""The golden numbers (docs/golden-numbers.md), read from the real ``bpstep replay`` output.

worked-222: every number of the lecture's table to its printed digits (text and JSONL).
xor: losses and final outputs within 2% of torch 2.13's float32 run, initial weights bit-exact
to what ``torch.manual_seed(777)`` and ``nn.Linear`` draw, and no torch needed to open it.
"""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conftest import ROOT

# (epoch, step id) → (display name in flat notation, the lecture's digits)
WORKED_222 = {
    (0, "z[1,1]@1"): ("z1", "0.08"),
    (0, "z[1,2]@1"): ("z2", "0.11"),
    (0, "a[1,1]@1"): ("h1", "0.51998934"),
    (0, "a[1,2]@1"): ("h2", "0.52747230"),
    (0, "z[2,1]@1"): ("z3", "0.44498412"),
    (0, "z[2,2]@1"): ("z4", "0.68047592"),
    (0, "a[2,1]@1"): ("o1", "0.60944600"),
    (0, "a[2,2]@1"): ("o2", "0.66384491"),
    (0, "E[1]@1"): ("E_o1", "0.02193381"),
    (0, "E[2]@1"): ("E_o2", "0.00203809"),
    (0, "E@1"): ("E_total", "0.02397190"),
    (0, "dE/da[2,1]@1"): ("∂E/∂o1", "0.20944600"),
    (0, "da[2,1]/dz[2,1]@1"): ("∂o1/∂z3", "0.23802157"),
    (0, "dz[2,1]/dW[2,1,1]@1"): ("∂z3/∂W5", "0.51998934"),
    (0, "dE/dW[2,1,1]@1"): ("∂E/∂W5", "0.02592286"),
    (0, "W+[2,1,1]"): ("W5⁺", "0.43703857"),
    (0, "W+[2,1,2]"): ("W6⁺", "0.38685205"),
    (0, "W+[2,2,1]"): ("W7⁺", "0.69629578"),
    (0, "W+[2,2,2]"): ("W8⁺", "0.59624247"),
    (0, "dE[2,1]/da[1,1]@1"): ("∂E_o1/∂h1", "0.02243370"),
    (0, "dE[2,2]/da[1,1]@1"): ("∂E_o2/∂h1", "0.00997311"),
    (0, "dE/da[1,1]@1"): ("∂E/∂h1", "0.03240681"),
    (0, "da[1,1]/dz[1,1]@1"): ("∂h1/∂z1", "0.24960043"),
    (0, "dE/dW[1,1,1]@1"): ("∂E/∂W1", "0.00080888"),
    (0, "W+[1,1,1]"): ("W1⁺", "0.29959556"),
    (0, "W+[1,1,2]"): ("W2⁺", "0.24919112"),
    (0, "W+[1,2,1]"): ("W3⁺", "0.39964496"),
    (0, "W+[1,2,2]"): ("W4⁺", "0.34928991"),
    (1, "E@1"): ("E_total", "0.02323634"),  # after the update (the evaluate phase)
}

# the chain rule of W5 in the order the lecture walks it
W5_ORDER = ["dE/da[2,1]@1", "da[2,1]/dz[2,1]@1", "dz[2,1]/dW[2,1,1]@1", "dE/dW[2,1,1]@1", "W+[2,1,1]"]

# docs/golden-numbers.md: torch 2.13, CPU, float32
TORCH_LOSS = {0: 0.6948983073234558, 5000: 0.682081937789917, 10000: 0.0001565512066008523}
TORCH_OUTPUTS = [1.117e-04, 0.99983, 0.99984, 1.853e-04]


def printed(golden: str) -> str:
    """The lecture's digits as bpstep prints them: 8 decimals (0.08 → 0.08000000)."""
    decimals = len(golden.partition(".")[2])
    assert decimals <= 8
    return golden + "0" * (8 - decimals)


def parse_text(out: str) -> dict:
    """``e0 forward #3 a[1,2]@1  h2 = σ(z2) = σ(0.11) = 0.52747230`` → {(0, qid): (index, line)}."""
    steps = {}
    for line in out.splitlines():
        if line.startswith("#"):
            continue
        head, _, body = line.partition("  ")
        epoch, phase, index, qid = head.split(" ")
        assert epoch.startswith("e") and index.startswith("#"), line
        steps[(int(epoch[1:]), qid)] = (int(index[1:]), phase, body)
    return steps


@pytest.fixture(scope="module")
def worked_text():
    from bpstep.cli import main
    import io
    import contextlib

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["replay", "worked-222"]) == 0
    return buf.getvalue()


def test_text_has_every_golden_number(worked_text):
    steps = parse_text(worked_text)
    for (epoch, qid), (name, golden) in WORKED_222.items():
        index, phase, body = steps[(epoch, qid)]
        assert body.split(" = ")[0] == name, (qid, body)
        assert body.rsplit(" = ", 1)[1] == printed(golden), (qid, body)


def test_text_walks_the_whole_tape_in_order(worked_text):
    lines = worked_text.splitlines()
    assert len(lines) == 55 + 11  # one training epoch, then the evaluate phase
    steps = parse_text(worked_text)
    positions = [steps[(0, qid)][0] for qid in W5_ORDER]
    assert positions == sorted(positions)
    phases = [line.split(" ")[1] for line in lines]
    order = ["forward", "loss", "backward", "update", "evaluate"]
    assert [order.index(p) for p in phases] == sorted(order.index(p) for p in phases)


def test_text_formulas_read_as_the_lecture(worked_text):
    steps = parse_text(worked_text)
    assert steps[(0, "z[1,1]@1")][2] == "z1 = W1·x1 + W2·x2 = 0.3·0.1 + 0.25·0.2 = 0.08000000"
    assert steps[(0, "dE/dW[2,1,1]@1")][2] == (
        "∂E/∂W5 = ∂E/∂o1 × ∂o1/∂z3 × ∂z3/∂W5 = 0.20944600 × 0.23802157 × 0.51998934 = 0.02592286")
    # the lecture misprints W1 as 0.1 here; W1 is 0.3
    assert steps[(0, "W+[1,1,1]")][2] == "W1⁺ = W1 − α × ∂E/∂W1 = 0.3 − 0.5 × 0.00080888 = 0.29959556"
    # hidden-layer terms use the weights before the update: W5 = 0.45, not W5⁺
    assert steps[(0, "dz[2,1]/da[1,1]@1")][2] == "∂z3/∂h1 = W5 = 0.45000000"
    assert steps[(0, "dE/da[1,1]@1")][2] == (
        "∂E/∂h1 = ∂E_o1/∂h1 + ∂E_o2/∂h1 = 0.02243370 + 0.00997311 = 0.03240681")


def test_jsonl_has_every_golden_number(run_cli):
    code, out, err = run_cli("replay", "worked-222", "--format", "jsonl")
    assert code == 0 and err == ""
    records = {(r["epoch"], r["id"] if r["sample"] is None else f"{r['id']}@{r['sample']}"): r
               for r in map(json.loads, out.splitlines())}
    for (epoch, qid), (name, golden) in WORKED_222.items():
        r = records[(epoch, qid)]
        assert r["name"] == name
        assert f"{r['value']:.8f}" == printed(golden), (qid, r["value"])
        assert r["formula"].startswith(f"{name} = ")
        assert r["substituted"].startswith(f"{name} = ")
    assert records[(0, "W+[1,1,1]")]["substituted"] == "W1⁺ = 0.3 − 0.5 × 0.00080888"


def test_jsonl_and_text_agree_step_by_step(worked_text, run_cli):
    code, out, _ = run_cli("replay", "worked-222", "--format", "jsonl")
    records = [json.loads(line) for line in out.splitlines()]
    lines = worked_text.splitlines()
    assert len(records) == len(lines)
    for r, line in zip(records, lines):
        qid = r["id"] if r["sample"] is None else f"{r['id']}@{r['sample']}"
        assert line.startswith(f"e{r['epoch']} {r['phase']} #{r['step']} {qid}  ")
        value = line.rsplit(" = ", 1)[1]
        assert float(value) == pytest.approx(r["value"], abs=5e-9)


# --- xor ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def xor_run():
    """Losses at epochs 0, 5000, 10000 (the batch E that the loss phase ends with) and the
    outputs of the evaluate phase, parsed from one replay."""
    from bpstep.cli import main
    import io
    import contextlib

    script = "; ".join(f"goto epoch {e} phase backward; rstep" for e in TORCH_LOSS) + \
        "; goto epoch 10001; print a[4,1]"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["replay", "xor", "-c", script]) == 0
    losses, outputs = {}, {}
    for line in buf.getvalue().splitlines():
        head, _, body = line.partition("  ")
        if head.startswith("e") and head.endswith(" E"):
            losses[int(head.split(" ")[0][1:])] = float(body.rsplit(" = ", 1)[1])
        elif head.startswith("# a[4,1]@"):
            outputs[int(head.rpartition("@")[2])] = float(body.rsplit(" = ", 1)[1])
    return losses, [outputs[n] for n in (1, 2, 3, 4)]


@pytest.mark.parametrize("epoch", sorted(TORCH_LOSS))
def test_xor_loss_matches_torch_within_2_percent(xor_run, epoch):
    losses, _ = xor_run
    assert losses[epoch] == pytest.approx(TORCH_LOSS[epoch], rel=0.02)


def test_xor_final_outputs_match_torch_within_2_percent(xor_run):
    _, outputs = xor_run
    assert outputs == pytest.approx(TORCH_OUTPUTS, rel=0.02)


def test_xor_initial_weights_are_what_torch_draws_for_seed_777():
    torch = pytest.importorskip("torch")
    from bpstep import scenario

    sc = scenario.load("xor")
    assert sc.sizes == (2, 10, 10, 10, 1) and sc.bias and sc.dtype == "float32"
    torch.manual_seed(777)
    layers = [torch.nn.Linear(a, b) for a, b in zip(sc.sizes[:-1], sc.sizes[1:])]
    for w, b, layer in zip(sc.weights, sc.biases, layers):
        want_w = layer.weight.detach().numpy()
        want_b = layer.bias.detach().numpy()
        assert w.shape == want_w.shape and b.shape == want_b.shape
        # float32 bit-exact: the file holds the float32 values, and nothing is lost on the way
        assert np.array_equal(w.astype(np.float32).view(np.uint32), want_w.view(np.uint32))
        assert np.array_equal(b.astype(np.float32).view(np.uint32), want_b.view(np.uint32))
        assert np.array_equal(w, want_w.astype(np.float64))
        assert np.array_equal(b, want_b.astype(np.float64))


def test_xor_initial_weights_equal_reference_torch_init():
    pytest.importorskip("torch")
    from bpstep import reference, scenario

    sc = scenario.load("xor")
    weights, biases = reference.torch_init(list(sc.sizes), True, 777)
    for got, want in zip(sc.weights + sc.biases, weights + biases):
        assert np.array_equal(got, want)


def test_opening_xor_does_not_import_torch():
    code = textwrap.dedent("""
        import io, sys
        from bpstep import scenario, replay
        from bpstep.session import Session
        session = Session(scenario.load("xor"))
        out = io.StringIO()
        script = replay.parse_script("step 5; next 3; goto epoch 2; rstep", "-c", session)
        assert replay.run(session, script, out=out) == 0
        assert out.getvalue().count("\\n") == 4, out.getvalue()
        print("torch" in sys.modules, "textual" in sys.modules)
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "False"]
