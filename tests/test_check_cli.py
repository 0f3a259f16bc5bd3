"""``bpstep check`` and ``bpstep replay --check`` from the command line: reports, exit codes,
a broken engine caught, devices and a missing torch."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

torch = pytest.importorskip("torch")

from bpstep import engine  # noqa: E402

ROWS = ("forward z, a", "loss E[k], E", "local factors", "∂E/∂a, parts, δ", "parameter gradients", "updates W⁺, b⁺")


def rows(report):
    """{kind: (count, max |Δ|, mark)} from the report's table."""
    out = {}
    for line in report.splitlines():
        for kind in ROWS + ("gradients vs finite diff.",):
            if line.startswith(kind + " "):
                fields = line[len(kind):].split()
                out[kind] = (int(fields[0].replace(",", "")), float(fields[1]), line.split("  ")[-1].strip())
    return out


def free_run(report, table=0):
    """{epoch: (bpstep loss, torch loss)} from a free-run table (0 the round epochs, 1 around the
    largest change, 2 the range asked for)."""
    table = re.split(r"\n(?:around the largest change|epochs \d+…\d+, as asked)", report.split("free run:")[1])[table]
    return {int(m[1]): (float(m[2]), float(m[3]))
            for m in re.finditer(r"^\s*(\d+)\s+(\S+)\s+(\S+)\s+\S+", table, re.M)}


def test_check_worked_example_passes(run_cli):
    code, out, err = run_cli("check", "worked-222")
    assert code == 0, out
    assert err == ""  # progress only on a terminal
    table = rows(out)
    assert set(table) == set(ROWS)
    # 2-2-2, one sample: 8 forward values, 3 loss values, 26 backward quantities and factors of which …
    assert table["forward z, a"][0] == 8 + 8  # … epoch 0 and the evaluate phase
    assert table["updates W⁺, b⁺"][0] == 8
    assert all(mark == "✓" for _, _, mark in table.values())
    assert free_run(out) == {0: (0.0239719, 0.0239719), 1: (0.02323634, 0.02323634)}
    assert out.rstrip().endswith("values agree within tolerance")
    assert "float64" in out.splitlines()[0] and "on cpu" in out


def test_check_is_deterministic(run_cli):
    assert run_cli("check", "worked-222", "--fd")[1] == run_cli("check", "worked-222", "--fd")[1]


def test_check_with_finite_differences(run_cli):
    code, out, _ = run_cli("check", "worked-222", "--fd")
    assert code == 0, out
    count, worst, mark = rows(out)["gradients vs finite diff."]
    assert count == 8 and worst < 1e-9 and mark == "✓"


def test_check_float32(run_cli):
    code, out, _ = run_cli("check", "worked-222", "--dtype", "float32")
    assert code == 0, out
    assert "float32" in out.splitlines()[0] and "1e-05·S" in out


def test_check_xor_passes_and_shows_the_free_run(run_cli):
    """The whole lecture: 10,001 epochs teacher-forced, then both engines free."""
    code, out, _ = run_cli("check", "xor")
    assert code == 0, out
    losses = free_run(out)
    assert list(losses) == list(range(0, 10001, 1000)) + [10001]
    for epoch, (mine, theirs) in losses.items():
        assert abs(mine - theirs) <= 0.02 * theirs, epoch  # float32 drifts near the drop at ~5200
    assert abs(losses[0][1] - 0.6948983073234558) < 1e-6 and losses[10000][1] < 2e-4
    assert rows(out)["parameter gradients"][0] == 10001 * (4 * 261 + 261)  # per sample, then means
    assert re.search(r"largest final parameter difference: \S+ at [Wb]\[\d", out)
    # the drop, which the round epochs step over, and why the runs part there
    assert "around the largest change of the loss (epoch 5206 to 5207: " in out
    assert 5206 in free_run(out, 1)
    assert re.search(r"the free runs part most at epoch 52\d\d \(\|Δ\| \S+\); why: the same float32 sums", out)


def test_check_compares_the_free_runs_over_a_range_on_demand(run_cli):
    code, out, _ = run_cli("check", "xor", "--epochs", "300", "--free-run", "100:110:5")
    assert code == 0 and "epochs 100…110, as asked" in out
    assert list(free_run(out, 2)) == [100, 105, 110]
    assert list(free_run(out, 1)) == [0, 1, 2, 3]  # the largest change: XOR's first epoch
    code, out, err = run_cli("check", "xor", "--free-run", "9:3")
    assert code == 2 and out == "" and err.count("\n") == 1 and "--free-run: expected A:B or A:B:STEP" in err


def test_a_broken_derivative_is_caught_and_named(run_cli, monkeypatch):
    forward, derivative = engine.ACTIVATION_FUNCTIONS["sigmoid"]
    monkeypatch.setitem(engine.ACTIVATION_FUNCTIONS, "sigmoid",
                        (forward, lambda z, a: derivative(z, a) * (1 + 1e-6)))
    code, out, err = run_cli("check", "worked-222")
    assert code == 1 and err == ""
    assert rows(out)["forward z, a"][2] == "✓"
    assert rows(out)["local factors"][2].startswith("✗")
    assert "local factors: first da[2,1]/dz[2,1]@1 epoch 0 (∂o1/∂z3)" in out
    assert re.search(r"^✗ \d+ of \d+ values out of tolerance$", out, re.M)


def test_a_broken_loss_gradient_is_caught_in_replay(run_cli, monkeypatch):
    forward, derivative = engine.LOSS_FUNCTIONS["half_sse"]
    monkeypatch.setitem(engine.LOSS_FUNCTIONS, "half_sse", (forward, lambda o, t: derivative(o, t) * 2))
    code, out, _ = run_cli("replay", "worked-222", "--check", "-c", "goto dE/da[2,1]@1")
    assert code == 1
    assert "∂E/∂o1 = −(target_o1 − o1)" in out and "torch 0.20944600 ✗ Δ 2.1e-01" in out


def test_replay_check_fills_the_jsonl_fields(run_cli):
    code, out, _ = run_cli("replay", "worked-222", "--check", "--format", "jsonl")
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) > 60
    for r in records:
        assert r["ok"] is True and r["abs_err"] <= 1e-15 and abs(r["torch"] - r["value"]) == r["abs_err"]
    w5 = next(r for r in records if r["id"] == "dE/dW[2,1,1]")
    assert round(w5["torch"], 8) == 0.02592286


def test_replay_check_text_verdicts(run_cli):
    code, out, _ = run_cli("replay", "xor", "--epochs", "3", "--check", "-c", "goto epoch 2; next 5; goto W+[2,3,4]")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 3 and all(re.search(r"  torch \S+ ✓ Δ \S+$", line) for line in lines)


def test_replay_check_follows_what_if_edits(run_cli):
    """After set, the torch side starts from the edited parameters, inputs and learning rate."""
    script = "goto z[2,1]; set W[2,1,1] 0.5; set x[1] 0.3; set lr 0.1; goto W+[2,1,1]; goto epoch 1"
    code, out, err = run_cli("replay", "worked-222", "--check", "--format", "jsonl", "-c", script)
    assert code == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    assert records and all(r["ok"] for r in records)
    update = next(r for r in records if r["id"] == "W+[2,1,1]")
    assert update["substituted"].startswith("W5⁺ = 0.5 − 0.1 × ")
    assert update["torch"] == pytest.approx(update["value"], rel=1e-12)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
@pytest.mark.parametrize("command", [("check", "worked-222"), ("replay", "worked-222", "--check")])
def test_cuda_without_a_device_is_exit_2_with_one_line(run_cli, command):
    code, out, err = run_cli(*command, "--device", "cuda")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "--device cuda: no CUDA device is available" in err


def test_unknown_device_is_exit_2(run_cli):
    code, _, err = run_cli("check", "worked-222", "--device", "gpu0")
    assert code == 2 and "unknown device; expected cpu, cuda, cuda:N, mps or auto" in err


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_check_xor_on_cuda(run_cli, dtype):
    code, out, _ = run_cli("check", "xor", "--device", "cuda", "--dtype", dtype, "--epochs", "500")
    assert code == 0, out


def _without_torch(*argv):
    """Run ``bpstep ARGV`` in a fresh interpreter where ``import torch`` fails."""
    program = ("import sys; sys.modules['torch'] = None; from bpstep.cli import main; "
               f"sys.exit(main({list(argv)!r}))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, cwd=ROOT)


def test_without_torch_check_is_exit_2_and_replay_still_works():
    done = _without_torch("check", "worked-222")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("bpstep: the cross-check needs PyTorch, and torch is not installed")
    done = _without_torch("replay", "worked-222", "--check", "-c", "next")
    assert done.returncode == 2 and "the cross-check needs PyTorch" in done.stderr
    done = _without_torch("replay", "worked-222", "-c", "goto dE/dW[2,1,1]@1")
    assert done.returncode == 0 and "0.02592286" in done.stdout
