"""The Markdown export of a big epoch: the scalar worked example is refused past
``MAX_FORMULAS`` with one line that says how many formulas it would write and what to do; the
layer view's export writes one formula per matrix operation."""

from bpstep import export

def test_a_big_scalar_export_is_refused_with_one_line(run_cli, big_scenario):
    code, out, err = run_cli("replay", str(big_scenario), "--format", "markdown")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    # 95,717 steps in the epoch (forward 1,344, loss 177, backward 91,786, update 2,410), then 1,521 again
    assert "would write 97,238 formulas" in err and f"at most {export.MAX_FORMULAS:,}" in err
    assert "'view layer' first" in err and "(24)" in err


def test_the_layer_view_exports_one_formula_per_matrix_operation(run_cli, big_scenario):
    code, out, err = run_cli("replay", str(big_scenario), "--format", "markdown", "-c", "view layer")
    assert code == 0, err
    blocks = out.split("```text\n")[1:]
    assert len(blocks) == 1 + 24  # the given matrices, then 19 layer steps of the epoch and 5 again
    assert "Written one matrix operation at a time" in out
    assert "W¹ = ⎡" in blocks[0] and "(32×64)" in blocks[0]
    heads = [b.splitlines()[0] for b in blocks[1:]]
    assert heads[0].startswith("e0 forward #0 z[1]  Z¹ = XW¹ᵀ + b¹")
    assert heads[-1].startswith("e1 loss #4 E  E = Σₖ (oₖ − tₖ)²/10, the mean over 16 samples  E = ")
    assert "The loss went down" in out


def test_the_worked_example_stays_scalar_below_the_limit(run_cli):
    code, out, _ = run_cli("replay", "worked-222", "--format", "markdown")
    assert code == 0 and "```text" not in out and out.count("$$") > 100
