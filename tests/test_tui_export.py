"""export in the TUI: the worked example of the cursor's epoch as Markdown, from the palette
and from the command line."""

from bpstep.notation import fmt

from tuikit import SIZE, enter, notes, pick


def maths(markdown_text):
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    return [t.content for t in MarkdownIt().use(dollarmath_plugin).parse(markdown_text) if t.type == "math_block"]


async def test_export_from_the_palette_writes_the_worked_example(make_app, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pick(pilot, "export worked")
        line = app.query_one("#cmdline")
        assert line.display and line.value == "export worked-222-epoch0.md"
        await pilot.press("enter")
        written = (tmp_path / "worked-222-epoch0.md").read_text()
        assert notes(app)[-1] == (f"wrote the worked example of epoch 0 to {tmp_path / 'worked-222-epoch0.md'}",
                                  "information")
        formulas = maths(written)
        assert len(formulas) > 50
        for number in ("0.02397190", "0.02592286", "0.43703857", "0.00080888", "0.29959556", "0.02323634"):
            assert any(number in f for f in formulas), number


async def test_export_on_the_command_line_writes_the_cursors_epoch(make_app, tmp_path):
    app = make_app("xor")
    async with app.run_test(size=SIZE) as pilot:
        await enter(pilot, "goto epoch 3")
        await enter(pilot, "set lr 0.5")
        await enter(pilot, f"export {tmp_path / 'xor3.md'}")
        written = (tmp_path / "xor3.md").read_text()
        assert "This is epoch 3 of 10001" in written
        formulas = maths(written)
        loss = app.session.tape.losses[3]
        assert any(f.startswith("E = ") and f.endswith(f" = {fmt(loss)}") for f in formulas)
        assert sum(r" - 0.5 \times " in f for f in formulas) == len(app.session.layout.specs(False)) - sum(
            s.phase != "update" for s in app.session.layout.specs(False))  # every update with the edited lr
        assert app.export_name() == "xor-epoch3.md"
