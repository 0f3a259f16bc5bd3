"""The memory budget: a scenario whose one epoch would not fit is refused as it loads (exit 2, one
line naming the file, the sizes and the bytes against the budget), before anything of its size is
made; one that fits is accepted."""

import re

import numpy as np
import pytest

from bpstep import scenario
from conftest import ROOT

SMALL = """
    [network]
    sizes = [3, 4, 2]
    [init]
    method = "uniform"
    seed = 1
    [data]
    inputs = [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9]]
    targets = [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]]
    [training]
    learning_rate = 0.1
    epochs = 2
    dtype = "float32"
"""

HUGE = """
    [network]
    sizes = [10000000000, 2]
    [init]
    {init}
    [data]
    inputs = [[0.0, 1.0]]
    targets = [[0.0, 1.0]]
    [training]
    learning_rate = 0.5
"""


def small_need(dtype="float32"):
    return scenario.epoch_bytes([3, 4, 2], 3, dtype, True)


def one_line(err):
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# --- the estimate ------------------------------------------------------------------------------


def test_the_estimate_counts_the_epochs_arrays_by_hand():
    # sizes 3-4-2, 5 samples, biases, float32:
    #   z, a, dE/da, da/dz, δ: 5 arrays × 5 samples × (4 + 2) units       = 150
    #   W, W⁺, dE/dW with b, b⁺, dE/db: 3 × (12 + 8 + 4 + 2)             =  78
    #   inputs, targets: 5 × (3 + 2)                                      =  25
    #   E[k], E per sample, batch E: 5 × 2 + 5 + 1                        =  16
    # in 4 bytes, plus the loader's float64 parameters and data: (26 + 25) × 8
    assert scenario.epoch_bytes([3, 4, 2], 5, "float32", True) == (150 + 78 + 25 + 16) * 4 + (26 + 25) * 8
    # no biases: 6 fewer parameters, three times in the engine, once in the loader
    assert scenario.epoch_bytes([3, 4, 2], 5, "float32", False) == (150 + 60 + 25 + 16) * 4 + (20 + 25) * 8
    # float64 doubles the engine's part only
    assert scenario.epoch_bytes([3, 4, 2], 5, "float64", True) == (150 + 78 + 25 + 16) * 8 + (26 + 25) * 8


def test_the_per_sample_gradients_do_not_count():
    """They are N×J×I: counting them would make the estimate grow with samples × weights."""
    one, two = (scenario.epoch_bytes([100, 100, 100], n, "float32") for n in (1, 2))
    # per sample: z, a, dE/da, da/dz, δ, an input and a target row, E[k], E; no 2 × 100 × 100
    assert two - one == (5 * 200 + 100 + 100 + 100 + 1) * 4 + 200 * 8


def test_the_message_names_the_network_the_samples_and_both_sizes():
    problem = scenario.budget_problem([784, 4096, 4096, 10], 60000, "float32")
    need = scenario.epoch_bytes([784, 4096, 4096, 10], 60000, "float32")
    assert need > 10 * 1024 ** 3
    assert "784-4096-4096-10 × 60000 samples in float32" in problem
    assert f"{need / 1024 ** 3:.3g} GiB" in problem and "budget of 2 GiB" in problem


def test_just_under_the_budget_is_accepted_and_one_sample_more_is_not():
    """With the real budget, by arithmetic alone (nothing of 2 GiB is made)."""
    assert scenario.EPOCH_BUDGET_BYTES == 2 * 1024 ** 3
    sizes = [784, 128, 10]
    per_sample = scenario.epoch_bytes(sizes, 2, "float32") - scenario.epoch_bytes(sizes, 1, "float32")
    fixed = scenario.epoch_bytes(sizes, 1, "float32") - per_sample
    most = (scenario.EPOCH_BUDGET_BYTES - fixed) // per_sample
    assert scenario.epoch_bytes(sizes, most, "float32") <= scenario.EPOCH_BUDGET_BYTES
    assert scenario.budget_problem(sizes, most, "float32") is None
    assert scenario.budget_problem(sizes, most + 1, "float32") is not None
    assert scenario.budget_problem(sizes, most, "float64") is not None


# --- refused as it loads -------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["replay"], ["open"], ["check"], ["replay", "--epochs", "3"]],
                         ids=["replay", "open", "check", "replay --epochs"])
def test_over_the_budget_is_refused_by_every_command(command, monkeypatch, write_scenario, run_cli):
    path = write_scenario(SMALL)
    monkeypatch.setattr(scenario, "EPOCH_BUDGET_BYTES", small_need() - 1)
    if command == ["open"]:  # should the scenario get through, fail here rather than start the TUI
        def started(*args, **kwargs):
            raise AssertionError("the TUI was started")
        monkeypatch.setattr("bpstep.tui.app.run_app", started)
    code, out, err = run_cli(*command[:1], str(path), *command[1:])
    line = one_line(err)
    assert code == 2 and out == ""
    assert small_need() == 1100  # the arithmetic of the test above, for 3 samples
    assert line == (f"bpstep: {path}:3: network.sizes: 3-4-2 × 3 samples in float32 would need 1,100 bytes "
                    "for one epoch's arrays, over the budget of 1,099 bytes; expected fewer units or samples")


def test_at_the_budget_is_accepted(monkeypatch, write_scenario, run_cli):
    path = write_scenario(SMALL)
    monkeypatch.setattr(scenario, "EPOCH_BUDGET_BYTES", small_need())
    code, out, err = run_cli("replay", str(path), "-c", "goto epoch 1; print E")
    assert code == 0 and err == "" and out.startswith("e1 forward #0 ")


def test_a_dtype_override_that_no_longer_fits_is_refused(monkeypatch, write_scenario, run_cli):
    path = write_scenario(SMALL)
    monkeypatch.setattr(scenario, "EPOCH_BUDGET_BYTES", small_need("float32"))
    assert small_need("float64") > small_need("float32")
    code, _, err = run_cli("check", str(path), "--dtype", "float64")
    assert code == 2 and "3-4-2 × 3 samples in float64 would need" in one_line(err)


def test_the_loader_refuses_before_drawing(monkeypatch, write_scenario):
    """A torch-drawn or uniform init of ten billion weights is never drawn."""
    drawn = []
    with pytest.raises(scenario.ScenarioError, match=r"10000000000-2 × 1 sample in float64 would need 745 GiB"):
        scenario.load(str(write_scenario(HUGE.format(init='method = "torch"'))),
                      draw_torch_init=lambda *args: drawn.append(args))
    assert drawn == []
    calls = []
    monkeypatch.setattr(np.random, "default_rng", lambda *a: calls.append(a))
    with pytest.raises(scenario.ScenarioError, match="over the budget"):
        scenario.load(str(write_scenario(HUGE.format(init='method = "uniform"'))))
    assert calls == []
    # explicit weights: the budget is the first thing said, not the shape of the list
    with pytest.raises(scenario.ScenarioError, match="over the budget"):
        scenario.load(str(write_scenario(HUGE.format(init="weights = [[[1.0, 2.0]]]\nbiases = [[0.0, 0.0]]"))))


def test_a_huge_network_is_one_line_and_exit_2_in_a_process(write_scenario, run_proc):
    path = write_scenario(HUGE.format(init='method = "uniform"'))
    done = run_proc("replay", str(path), timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    line = one_line(done.stderr)
    assert line.startswith(f"bpstep: {path}:3: network.sizes: 10000000000-2 × 1 sample in float64 would need ")
    assert line.endswith("over the budget of 2 GiB; expected fewer units or samples")


def test_many_samples_count_before_their_rows_are_read(write_scenario, run_cli, monkeypatch):
    """The number of samples is the length of the inputs list, known before any row is converted."""
    path = write_scenario(SMALL)
    monkeypatch.setattr(scenario, "EPOCH_BUDGET_BYTES", scenario.epoch_bytes([3, 4, 2], 2, "float32"))
    code, _, err = run_cli("replay", str(path))
    assert code == 2 and "× 3 samples" in one_line(err)


def test_the_readme_says_what_the_loader_says():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = re.search(r"^bpstep: big\.toml:3: network\.sizes: (.*)$", readme, re.M).group(1)
    assert line == scenario.budget_problem([784, 4096, 4096, 10], 60000, "float32")
    most = re.search(r"784-128-10 fits with up to\s+([\d,]+) samples, 784-4096-4096-10 with up to ([\d,]+)", readme)
    for sizes, text in (([784, 128, 10], most.group(1)), ([784, 4096, 4096, 10], most.group(2))):
        n = int(text.replace(",", ""))
        assert scenario.budget_problem(sizes, n, "float32") is None
        assert scenario.budget_problem(sizes, n + 1, "float32") is not None
