"""``bpstep replay`` (text and JSONL, --script, -c, --trace, --epochs) and ``bpstep list``."""

import json
import os

import pytest

from bpstep import scenario

KEYS = ["step", "epoch", "phase", "sample", "id", "name", "formula", "substituted", "value", "torch",
        "abs_err", "ok"]


def strict_json(line):
    """json.loads that refuses NaN and Infinity, which are not JSON."""
    def refuse(name):
        raise ValueError(f"not JSON: {name}")
    return json.loads(line, parse_constant=refuse)


def landing(out):
    """The step lines of text output (not the # lines): (epoch, index, qid)."""
    steps = []
    for line in out.splitlines():
        if not line.startswith("#"):
            head = line.partition("  ")[0].split(" ")
            steps.append((int(head[0][1:]), int(head[2][1:]), head[3]))
    return steps


def test_without_a_script_replay_walks_the_whole_tape(run_cli):
    code, out, err = run_cli("replay", "worked-222", "--epochs", "3")
    assert code == 0 and err == ""
    steps = landing(out)
    assert len(steps) == 3 * 55 + 11
    assert steps[0] == (0, 0, "z[1,1]@1") and steps[-1] == (3, 10, "E@1")
    assert [s[0] for s in steps] == sorted(s[0] for s in steps)


def test_epochs_option_sets_the_number_of_training_epochs(run_cli):
    code, out, _ = run_cli("replay", "xor", "--epochs", "2", "-c", "continue; where")
    assert code == 0
    assert landing(out)[-1][0] == 2
    assert "# epoch 2 · evaluate" in out


def test_c_prints_the_step_each_command_lands_on(run_cli):
    code, out, err = run_cli("replay", "worked-222", "-c", "step; next 3; goto W+[2,1,1]; rstep 2; finish")
    assert code == 0 and err == ""
    assert landing(out) == [(0, 1, "z[1,2]@1"), (0, 4, "z[2,1]@1"), (0, 47, "W+[2,1,1]"),
                            (0, 45, "dz[1,2]/dW[1,2,2]@1"), (0, 46, "dE/dW[1,2,2]@1")]
    assert out.splitlines()[2] == (
        "e0 update #47 W+[2,1,1]  W5⁺ = W5 − α × ∂E/∂W5 = 0.45 − 0.5 × 0.02592286 = 0.43703857")


def test_script_file_gives_the_same_output_as_c(run_cli, tmp_path):
    script = tmp_path / "walk.bps"
    script.write_text("# the W5 chain\nbreak W+[2,1,1]   # stop at the update\n\ncontinue; print lr\n"
                      "rnext 2\nwatch E@1\nwhere\nexpect W+[2,1,1] 0.43703857\n", encoding="utf-8")
    code, from_file, err = run_cli("replay", "worked-222", "--script", str(script))
    assert code == 0 and err == ""
    code, from_c, _ = run_cli("replay", "worked-222", "-c", "break W+[2,1,1]; continue; print lr; rnext 2; "
                                                           "watch E@1; where; expect W+[2,1,1] 0.43703857")
    assert from_file == from_c
    assert from_file.splitlines() == [
        "# breakpoint #1 W+[2,1,1]",
        "# breakpoint #1 W+[2,1,1] hit",
        "e0 update #47 W+[2,1,1]  W5⁺ = W5 − α × ∂E/∂W5 = 0.45 − 0.5 × 0.02592286 = 0.43703857",
        "# lr  α = 0.50000000",
        "e0 backward #44 dE/dW[1,2,1]@1  ∂E/∂W3 = ∂E/∂h2 × ∂h2/∂z2 × ∂z2/∂W3 = 0.02848945 × 0.24924527 × 0.10000000"
        " = 0.00071009",
        "# watching E@1",
        "# epoch 0 · backward · sample 1 · step 44 of 55: dE/dW[1,2,1]@1  ∂E/∂W3 = ∂E/∂h2 × ∂h2/∂z2 × ∂z2/∂W3"
        " = 0.02848945 × 0.24924527 × 0.10000000 = 0.00071009",
        "# expect W+[2,1,1] 0.43703857 ± 5e-09: ok, got 0.43703857",
    ]


def test_watches_are_printed_after_each_landing(run_cli):
    code, out, _ = run_cli("replay", "worked-222", "-c", "watch a[2,1]@1; step; goto epoch 1")
    lines = out.splitlines()
    assert lines[0] == "# watching a[2,1]@1"
    assert lines[2] == "#   watch a[2,1]@1  o1 = σ(z3) = σ(0.44498412) = 0.60944600"
    assert lines[4] == "#   watch a[2,1]@1  o1 = σ(z3) = σ(0.43126996) = 0.60617688"


def test_trace_prints_every_step_passed(run_cli):
    _, plain, _ = run_cli("replay", "worked-222", "-c", "step 5; next 3; goto epoch 1; rstep 2; finish")
    _, traced, _ = run_cli("replay", "worked-222", "--trace", "-c",
                           "step 5; next 3; goto epoch 1; rstep 2; finish")
    assert [s[1] for s in landing(plain)] == [5, 8, 0, 53, 54]
    got = landing(traced)
    # step 5: 1..5; next 3: 6, 7, 8; goto prints only where it lands; rstep 2: 54, 53; finish: 54
    assert [(e, i) for e, i, _ in got] == [(0, i) for i in range(1, 9)] + [(1, 0), (0, 54), (0, 53), (0, 54)]


def test_trace_of_continue_and_next_shows_what_they_pass(run_cli):
    _, traced, _ = run_cli("replay", "worked-222", "--trace", "-c", "break W+[2,1,1]; continue; rnext")
    got = landing(traced)
    assert [i for _, i, _ in got] == list(range(1, 48)) + [46]
    _, traced, _ = run_cli("replay", "worked-222", "--trace", "-c", "goto dE/da[2,1]@1; next 2")
    assert [qid for _, _, qid in landing(traced)] == [
        "dE/da[2,1]@1", "da[2,1]/dz[2,1]@1", "dE/dz[2,1]@1", "dz[2,1]/dW[2,1,1]@1", "dE/dW[2,1,1]@1"]


def test_jsonl_records_have_exactly_the_keys_of_the_design(run_cli):
    code, out, err = run_cli("replay", "worked-222", "--format", "jsonl")
    assert code == 0 and err == ""
    records = [strict_json(line) for line in out.splitlines()]
    assert len(records) == 66
    for r in records:
        assert list(r) == KEYS
        assert r["torch"] is None and r["abs_err"] is None and r["ok"] is None
        assert isinstance(r["value"], float) and isinstance(r["step"], int) and isinstance(r["epoch"], int)
        assert r["formula"].startswith(r["name"] + " = ")
    assert records[0] == {
        "step": 0, "epoch": 0, "phase": "forward", "sample": 1, "id": "z[1,1]", "name": "z1",
        "formula": "z1 = W1·x1 + W2·x2", "substituted": "z1 = 0.3·0.1 + 0.25·0.2",
        "value": records[0]["value"], "torch": None, "abs_err": None, "ok": None}
    assert records[47]["sample"] is None and records[47]["phase"] == "update"


def test_jsonl_messages_go_to_stderr(run_cli):
    code, out, err = run_cli("replay", "worked-222", "--format", "jsonl", "-c",
                             "break W+[1,1,1]; continue; print lr; where; expect E@1 0.02397190")
    assert code == 0
    assert [strict_json(line)["id"] for line in out.splitlines()] == ["W+[1,1,1]"]
    assert err.splitlines() == [
        "breakpoint #1 W+[1,1,1]", "breakpoint #1 W+[1,1,1] hit", "lr  α = 0.50000000",
        "epoch 0 · update · step 51 of 55: W+[1,1,1]  W1⁺ = W1 − α × ∂E/∂W1 = 0.3 − 0.5 × 0.00080888 = 0.29959556",
        "expect E@1 0.0239719 ± 5e-09: ok, got 0.02397190"]


def test_jsonl_stays_json_when_values_blow_up(run_cli, diverging):
    path = diverging
    code, out, err = run_cli("replay", str(path), "--format", "jsonl")
    assert code == 0 and err == ""  # no numpy warnings either
    values = [strict_json(line)["value"] for line in out.splitlines()]
    assert "inf" in values and "nan" in values and "-inf" in values
    code, text, err = run_cli("replay", str(path))
    assert code == 0 and err == ""


def test_expect_failure_exits_1_and_still_prints(run_cli):
    code, out, err = run_cli("replay", "worked-222", "-c", "goto E@1; expect E@1 0.024; expect E@1 0.0239719")
    assert code == 0
    code, out, err = run_cli("replay", "worked-222", "-c", "goto E@1; expect E@1 0.02397191; step")
    assert code == 1 and err == ""
    assert out.splitlines()[1] == "# expect E@1 0.02397191 ± 5e-09: FAILED, got 0.02397190"
    assert landing(out)[-1] == (0, 11, "dE/da[2,1]@1")  # the script runs to its end


def test_a_script_error_at_run_time_names_the_line(run_cli, tmp_path):
    script = tmp_path / "s.bps"
    script.write_text("step\ngoto epoch 1\ngoto W+[1,1,1]\nstep\n", encoding="utf-8")
    code, out, err = run_cli("replay", "worked-222", "--script", str(script))
    assert code == 2
    assert err.splitlines() == [f"bpstep: {script}:3: goto: W+[1,1,1] is not a step of epoch 1 "
                                "(the evaluate phase has only forward and loss)"]
    assert len(landing(out)) == 2  # what ran before it


@pytest.mark.parametrize("fmt", ["text", "jsonl"])
def test_output_is_byte_identical_between_runs(run_proc, fmt):
    args = ["replay", "xor", "--epochs", "3", "--format", fmt, "--trace", "-c",
            "break a[4,1]@2 if value > 0.4; continue; watch E; next 40; goto epoch 2 phase update; "
            "rfinish; print W[2,3,4]; continue"]
    first = run_proc(*args)
    second = run_proc(*args)
    assert first.returncode == 0 and first.stdout
    assert first.stdout == second.stdout and first.stderr == second.stderr


def test_list_names_every_builtin(run_cli):
    code, out, err = run_cli("list")
    assert code == 0 and err == ""
    lines = out.splitlines()
    names = [line.split()[0] for line in lines]
    assert names == scenario.builtin_names() and {"worked-222", "xor"} <= set(names)
    for name, line in zip(names, lines):
        sc = scenario.load(name)
        assert line.split()[1] == "-".join(map(str, sc.sizes))
        assert line.endswith(sc.title)


def test_list_and_replay_as_a_process(run_proc, tmp_path):
    proc = run_proc("list", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith("worked-222")
    proc = run_proc("replay", "worked-222", "-c", "goto dE/dW[1,1,1]@1", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.rstrip().endswith("= 0.00080888")


def test_output_cut_short_by_a_closed_pipe_is_quiet(tmp_path):
    import subprocess
    import sys

    from conftest import ROOT

    cmd = f"{sys.executable} -m bpstep replay xor --epochs 3 | head -2"
    proc = subprocess.run(["sh", "-c", cmd], cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                          capture_output=True, text=True, timeout=60)
    assert len(proc.stdout.splitlines()) == 2
    assert "Traceback" not in proc.stderr and "Error" not in proc.stderr
