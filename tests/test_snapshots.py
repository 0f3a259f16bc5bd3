"""Screens of the TUI as SVG snapshots (pytest-textual-snapshot; ``--snapshot-update`` to
accept a change after looking at it). The cross-check is off, so the status line is the same
on every run; the theme is pinned in the app."""

from bpstep import scenario
from bpstep.tui.app import BpstepApp

BIG, SMALL = (120, 40), (80, 24)


def app(name="worked-222"):
    return BpstepApp(scenario.load(name), crosscheck=False)


def at(*commands):
    """A ``run_before`` that runs commands and waits for any worker they start."""
    async def run(pilot):
        for command in commands:
            pilot.app.run_command(command)
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    return run


def test_first_screen(snap_compare):
    assert snap_compare(app(), terminal_size=BIG)


def test_z1_watched_with_a_breakpoint(snap_compare):
    assert snap_compare(app(), press=["s", "S", "w", "b"], terminal_size=BIG)


def test_h1(snap_compare):
    assert snap_compare(app(), terminal_size=BIG, run_before=at("goto a[1,1]@1"))


def test_E_total(snap_compare):
    assert snap_compare(app(), terminal_size=BIG, run_before=at("goto E@1"))


def test_dE_do1_first_factor_of_dE_dW5(snap_compare):
    assert snap_compare(app(), terminal_size=BIG, run_before=at("goto dE/da[2,1]@1"))


def test_do1_dz3_second_factor_of_dE_dW5(snap_compare):
    assert snap_compare(app(), terminal_size=BIG, run_before=at("goto da[2,1]/dz[2,1]@1"))


def test_dz3_dW5_third_factor_of_dE_dW5(snap_compare):
    assert snap_compare(app(), terminal_size=BIG, run_before=at("goto dz[2,1]/dW[2,1,1]@1"))


def test_dE_dW5_the_product(snap_compare):
    assert snap_compare(app(), terminal_size=BIG, run_before=at("goto dE/dW[2,1,1]@1"))


def test_W5_plus(snap_compare):
    assert snap_compare(app(), terminal_size=BIG, run_before=at("goto W+[2,1,1]"))


def test_dE_o1_dh1(snap_compare):
    assert snap_compare(app(), terminal_size=BIG, run_before=at("goto dE[2,1]/da[1,1]@1"))


def test_dE_dW1(snap_compare):
    assert snap_compare(app(), terminal_size=BIG, run_before=at("goto dE/dW[1,1,1]@1"))


def test_evaluate_phase(snap_compare):
    assert snap_compare(app(), terminal_size=BIG, run_before=at("goto epoch 1", "goto E@1"))


def test_xor_in_the_middle_of_a_backward_pass(snap_compare):
    assert snap_compare(app("xor"), terminal_size=BIG,
                        run_before=at("goto epoch 5000", "goto dE/dW[2,3,4]@2", "break dE/dW[2,3,5]@2"))


def test_help_screen(snap_compare):
    assert snap_compare(app(), press=["question_mark"], terminal_size=BIG)


def test_notification_for_a_bad_scenario(snap_compare):
    assert snap_compare(app(), terminal_size=BIG, run_before=at("open no-such-scenario.toml"))


def test_command_line(snap_compare):
    assert snap_compare(app(), press=["g", *"epoch 1"], terminal_size=BIG)


def test_80_by_24(snap_compare):
    assert snap_compare(app(), terminal_size=SMALL, run_before=at("goto dE/dW[2,1,1]@1"))


def test_xor_80_by_24(snap_compare):
    assert snap_compare(app("xor"), terminal_size=SMALL, run_before=at("goto z[2,3]@2"))


def test_layer_view_of_worked_222(snap_compare):
    assert snap_compare(app(), press=["v"], terminal_size=BIG, run_before=at("goto dE/dW[2,1,1]@1"))


def test_layer_view_of_xor_in_the_middle_of_a_backward_pass(snap_compare):
    assert snap_compare(app("xor"), press=["v"], terminal_size=BIG,
                        run_before=at("goto epoch 5000", "goto dE/dW[2,3,4]@2", "break dE/dW[2,3,5]@2"))


def test_layer_view_of_xor_80_by_24(snap_compare):
    assert snap_compare(app("xor"), press=["v"], terminal_size=SMALL,
                        run_before=at("goto epoch 5000", "goto dE/dW[2,3,4]@2"))


def test_edit_prompt(snap_compare):
    assert snap_compare(app(), press=["e"], terminal_size=BIG, run_before=at("goto W+[2,1,1]"))


def test_after_a_what_if_edit(snap_compare):
    assert snap_compare(app(), terminal_size=BIG, run_before=at("goto W+[2,1,1]", "set W[2,1,1] 0.9"))


def test_xor_loss_plot_of_the_whole_run(snap_compare):
    assert snap_compare(app("xor"), terminal_size=BIG, run_before=at("goto epoch 10001"))


def test_xor_loss_plot_zoomed_on_the_drop(snap_compare):
    assert snap_compare(app("xor"), terminal_size=BIG, run_before=at("goto epoch 5200", "plot epochs 4000..7000"))


def test_xor_gradient_norms_per_layer(snap_compare):
    assert snap_compare(app("xor"), terminal_size=BIG, run_before=at("goto epoch 10001", "plot gradients"))


def test_xor_edges_coloured_by_their_gradients_in_the_update(snap_compare):
    assert snap_compare(app("xor"), terminal_size=BIG, run_before=at("goto epoch 3000", "goto W+[2,3,4]"))


def _scenario_app(name):
    from pathlib import Path
    return BpstepApp(scenario.load(str(Path(__file__).parent / "tui_scenarios" / f"{name}.toml")), crosscheck=False)


def test_softmax_backward_step_sums_over_the_jacobian(snap_compare):
    assert snap_compare(_scenario_app("softmax"), terminal_size=BIG, run_before=at("goto dE/dz[2,1]@1"))


def test_adam_update_step_with_its_bias_correction(snap_compare):
    assert snap_compare(_scenario_app("adam"), terminal_size=BIG, run_before=at("goto epoch 1", "goto mhat(W[2,1,1])"))
