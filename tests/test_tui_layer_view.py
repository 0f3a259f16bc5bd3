"""The TUI's layer view, driven with Textual's Pilot: v switches and keeps the place, the
motions move by layer steps, the panels show whole layers."""

from bpstep.notation import fmt
from bpstep.tui.formula import FormulaPanel
from bpstep.tui.tapeview import TapePanel
from bpstep.tui.values import ValuesPanel

from tuikit import SIZE, FakeChecker, notes, reference, text


def highlighted(app) -> set:
    """The unit labels the network panel highlights."""
    out = set()
    for line in app.query_one("#network").drawn():
        for span in line.spans:
            if span.style == "bold black on yellow":
                out.add(line.plain[span.start:span.end].split()[0])
    return out


async def test_v_switches_to_layer_view_and_back_keeping_the_place(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.run_command("goto dE/dW[2,1,1]@1")
        await pilot.press("v")
        assert app.session.view == "layer" and app.session.position == (0, 15)
        status = app.query_one("#status").plain()
        assert "layer view" in status and "layer step 8 of 15" in status
        formula = text(app, FormulaPanel)
        assert formula.splitlines()[0] == "∂E/∂W² = δ²(h¹)ᵀ"
        for number in ("0.04985267", "0.51998934", "0.02592286", "0.02629590", "0.00740844", "0.00751506"):
            assert number in formula  # δ², h¹ and the four gradients of the 2×2 matrix
        tape = text(app, TapePanel)
        assert "▶   8" in tape and "∂E/∂W² = δ²(h¹)ᵀ" in tape and "W²⁺ = W² − α·∂E/∂W²" in tape
        assert app.query_one("#tape").border_title == "layer steps · epoch 0"
        assert not any(m == "layer view" for m, _ in notes(app))  # the status line says it
        await pilot.press("v")
        assert app.session.view == "scalar" and app.session.position == (0, 15)
        assert "scalar view" in app.query_one("#status").plain()
        assert text(app, FormulaPanel).startswith("∂E/∂W5 = ")


LAYER_KEYS = ["s", "s", "n", "s", "N", "f", "S", "F", "c", "C", "right", "left"]


async def test_motions_move_by_layer_steps_in_layer_view(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("v")
        mirror = reference("worked-222", "view layer")
        names = {"s": "step", "right": "step", "S": "rstep", "left": "rstep", "n": "next", "N": "rnext",
                 "f": "finish", "F": "rfinish", "c": "continue", "C": "rcontinue"}
        trail = []
        for key in LAYER_KEYS:
            await pilot.press(key)
            mirror.execute(names[key])
            assert app.session.position == mirror.position, key
            layer = app.session.current_layer
            trail.append(layer.index)
            length = app.session.layer_tape.length(layer.epoch)
            assert f"layer step {layer.index} of {length}" in app.query_one("#status").plain()
            assert text(app, FormulaPanel).splitlines()[0].startswith(layer.header().split(" = ")[0])
        assert trail[:3] == [1, 2, 3]  # a¹ = σ(z¹), z² = W²h¹, o = σ(z²): a layer step at a time
        assert app.session.current_layer.position == (0, 0)  # … C to the start, → and ← back there


async def test_layer_view_highlights_the_whole_layer_and_lists_its_values(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("v")  # z¹ = W¹x
        assert highlighted(app) == {"h1", "h2"}
        await pilot.press("s", "s")  # z² = W²h¹
        assert highlighted(app) == {"o1", "o2"}
        rows = text(app, ValuesPanel).splitlines()
        assert [r.split()[0] for r in rows[-2:]] == ["z3", "z4"]  # the layer step's values, last
        assert "h2" in rows[-3]
        network = app.query_one("#network").plain()
        assert "layer 2: z²" in network and "h1 0.5200" in network and "o1 ·" in network


async def test_layer_view_of_xor_far_into_training_fits_small_screens(make_app):
    app = make_app("xor")
    async with app.run_test(size=(80, 24)) as pilot:
        app.run_command("goto epoch 5000")
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.run_command("goto dE/dW[2,3,4]@2")
        await pilot.press("v")
        lines = text(app, FormulaPanel).splitlines()
        assert lines[0] == "∂E/∂W² = Δ²ᵀA¹ / 4"
        assert all(len(line) <= 76 for line in lines)
        shown = app.session.current_layer.matrix
        assert fmt(shown[0, 0]) in lines[1] and "(10×10)" in lines[1]  # the result, cut to fit
        assert any("operands not shown" in line for line in lines)
        assert "L22/37" in app.query_one("#status").plain()


async def test_layer_verdict_covers_every_step_in_it(make_app):
    app = make_app(checker_factory=lambda tape, device: FakeChecker(tape))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("v")
        for _ in range(2):
            await app.workers.wait_for_complete()
            await pilot.pause()
        assert text(app, FormulaPanel).splitlines()[-1] == "torch ✓ over 2 steps  max |Δ| 1.0e-18"
