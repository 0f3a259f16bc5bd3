"""The loss panel's plots (axes, log scale, the cursor, zoom, the gradient norms) and the
network's edges coloured by W or ∂E/∂W."""

import numpy as np
import pytest

from bpstep import scenario
from bpstep.diagnostics import GradientNorms, gradient_norm
from bpstep.session import Session
from bpstep.tui.app import BpstepApp
from bpstep.tui.loss import LossPanel
from bpstep.tui.network import _NEGATIVE, _POSITIVE, _EDGE, edge_numbers, edge_style
from bpstep.tui.plot import columns, scale, tick


def test_columns_hold_the_smallest_mean_and_largest_known_value_of_each_stretch():
    values = np.array([1.0, 3.0, np.nan, 5.0, np.nan, np.nan])
    low, mean, high = columns(values, 0, 5, 3)
    assert low[:2].tolist() == [1.0, 5.0] and mean[:2].tolist() == [2.0, 5.0] and high[:2].tolist() == [3.0, 5.0]
    assert np.isnan([low[2], mean[2], high[2]]).all()
    # fewer epochs than columns: each epoch fills its stretch of columns
    assert columns(np.array([1.0, 2.0]), 0, 1, 4)[1].tolist() == [1.0, 1.0, 2.0, 2.0]


def test_the_y_axis_is_logarithmic_past_two_decades_and_linear_from_zero_otherwise():
    lo, hi, log = scale([np.array([0.7, 0.01, 1e-4])])
    assert log and (lo, hi) == pytest.approx((-4, np.log10(0.7)))
    assert scale([np.array([0.7, 0.3, np.nan])]) == (0.0, 0.7, False)
    assert [tick(v) for v in (0.693, 0.0105, 0.000159, 123456.0, 0.0)] == ["0.693", "0.0105", "1.59e-4", "1.23e5", "0"]


def make(name="xor"):
    return BpstepApp(scenario.load(name), crosscheck=False)


async def settle(app, pilot, *commands):
    for command in commands:
        app.run_command(command)
        await app.workers.wait_for_complete()
        await pilot.pause()


async def test_the_whole_run_is_a_log_plot_with_axes_and_the_cursor_marked():
    app = make()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot, "goto epoch 10000")
        panel = app.query_one(LossPanel)
        lines = panel.plain().splitlines()
        losses = app.session.tape.losses
        assert lines[0].strip().startswith(tick(np.nanmax(losses)) + "┤")
        assert "log y└" in lines[-2] and "─0─" in lines[-2] and "─10001" in lines[-2]
        assert "┴" in lines[-2]  # the cursor's epoch on the x axis
        assert lines[-1].startswith(f"E {losses[10000]:.8f} at epoch 10000 · e0 {losses[0]:.8f}")
        assert panel.border_title == "loss E per epoch"


async def test_plot_epochs_zooms_and_z_Z_zoom_around_the_cursor():
    app = make()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot, "goto epoch 5200", "plot epochs 4000..7000")
        panel = app.query_one(LossPanel)
        assert panel.border_title == "loss E per epoch · epochs 4000…7000"
        axis = panel.plain().splitlines()[-2]
        assert "─4000─" in axis and axis.rstrip().endswith("7000─")
        await pilot.press("z")
        first, last = panel.epochs
        assert first <= 5200 <= last and last - first == 750
        await pilot.press("Z", "Z")
        assert panel.epochs is None and panel.border_title == "loss E per epoch"


@pytest.mark.parametrize("bad", ["epochs 7000..4000", "epochs 0..99999", "epochs ¹..²", "sideways"])
async def test_a_bad_plot_command_is_a_notification(bad):
    app = make()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot, f"plot {bad}")
        assert app.query_one(LossPanel).epochs is None
        assert any("plot: expected" in n.message for n in app._notifications)


async def test_gradient_norms_are_each_layers_norm_at_the_epochs_the_tape_holds():
    app = make()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot, "goto epoch 3000", "plot gradients")
        panel = app.query_one(LossPanel)
        assert panel.border_title == "gradient norm per layer"
        tape = app.session.tape
        known = [e for e in np.flatnonzero(np.isfinite(panel.norms[0]))]
        assert set(known) <= set(tape.known_epochs()) and {0, 1000, 2000} <= set(known) and max(known) > 2990
        assert 20 < len(known) <= 2 * panel.content_size.width
        for epoch in (0, 2000, max(known)):
            arrays = tape.record(epoch).arrays
            assert panel.norms[:, epoch].tolist() == [gradient_norm(arrays, l) for l in (1, 2, 3, 4)]
        assert f"({len(known)} epochs)" in panel.plain()
        assert "‖∂E/∂W⁴‖" in panel.plain()
        await pilot.press("p")
        assert panel.mode == "loss"


def test_gradient_norms_are_forgotten_after_a_what_if_edit():
    session = Session(scenario.load("xor"))
    norms = GradientNorms(session.tape)
    session.execute("goto epoch 300")
    norms.add(norms.generation, norms.compute(norms.wanted(0, 300, 10)))
    before = norms.series()
    assert np.isfinite(before[:, [0, 300]]).all()
    session.execute("set W[1,1,1] 5")
    assert [e for e, _, _ in norms.wanted(0, 300, 10)][:1] == [0]  # a new generation: everything again
    norms.add(norms.generation, norms.compute(norms.wanted(0, 300, 10)))
    after = norms.series()
    assert after[:, 0].tolist() == before[:, 0].tolist()  # before the edit
    assert after[0, 300] != pytest.approx(before[0, 300], rel=1e-3)


def test_edge_colours_by_sign_and_share_of_the_largest():
    assert edge_style(0.7, 1.0) == _POSITIVE[2] and edge_style(-0.2, 0.2) == _NEGATIVE[0]
    assert edge_style(0.5, 0.5) == _POSITIVE[1] and edge_style(0.01, 0.01) == _EDGE


async def test_edges_show_W_until_a_layers_gradient_is_complete_then_dE_dW():
    app = make("worked-222")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot, "goto z[1,1]@1")
        symbol, numbers = edge_numbers(app.frame)
        assert symbol == "W" and numbers[1].array is app.frame.record.arrays.W[1]
        assert "edges W −" in app.query_one("#network").plain()
        await settle(app, pilot, "goto dE/dW[2,2,2]@1")  # layer 2's gradient complete, layer 1's not
        symbol, numbers = edge_numbers(app.frame)
        arrays = app.frame.record.arrays
        assert symbol == "∂E/∂W" and numbers[1].array is arrays.gW[1] and numbers[0].array is arrays.W[0]
        await settle(app, pilot, "goto W+[1,1,1]")
        assert all(n.array is g for n, g in zip(edge_numbers(app.frame)[1], arrays.gW))
        assert "edges ∂E/∂W −" in app.query_one("#network").plain()
