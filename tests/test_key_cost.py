"""What keeps a key quick on a big network, checked by what it does rather than by timing it
(bench/scale.py times it): a panel repaints only the lines that changed; the formula panel
asks for a layout of the screen only when its height would change, and has the next steps'
rows drawn and readers found before their keys; a big layer's window turns a page at a time;
a text line writes the first terms of a long sum; the fast-forward keeps only checkpoints past
the frontier, and a walk back keeps the epochs it passes; start-up's objects are frozen out of
the collector's passes while the app runs."""

import json

from rich.text import Text
from textual.app import App
from textual.widget import Widget

from bpstep import scenario, tape as tape_module
from bpstep.commands import parse
from bpstep.layout import Layout
from bpstep.session import Session
from bpstep.tape import LINE_TERMS
from bpstep.tui.formula import FormulaPanel
from bpstep.tui.lines import LinesPanel, _key
from bpstep.tui.network import _window

class _Lines(LinesPanel):
    def __init__(self):
        super().__init__()
        self.shown = [Text(f"row {k}") for k in range(6)]

    def lines(self):
        return list(self.shown)


class _One(App):
    def compose(self):
        yield _Lines()


async def test_a_panel_repaints_only_the_lines_that_changed(monkeypatch):
    app = _One()
    async with app.run_test(size=(40, 10)) as pilot:
        panel = app.query_one(_Lines)
        await pilot.pause()
        asked = []
        monkeypatch.setattr(Widget, "refresh", lambda self, *regions, **kw: asked.append((regions, kw)) or self)
        panel.shown[2], panel.shown[4] = Text("changed"), Text("row 4", "bold")
        panel.frame = object()
        assert len(asked) == 1
        regions, kw = asked[0]
        assert [r.y for r in regions] == [2, 4] and all(r.height == 1 for r in regions) and not kw.get("layout")
        asked.clear()
        panel.frame = object()  # nothing changed: nothing repainted
        assert asked == []
        panel.shown.append(Text("a new last row"))
        panel.frame = object()
        assert [r.y for r in asked[0][0]] == [6]


async def test_the_formula_lays_the_screen_out_only_when_its_height_changes(make_app, monkeypatch):
    app = make_app("xor")
    async with app.run_test(size=(120, 40)) as pilot:
        app.run_command("goto z[2,1]@1")
        await pilot.pause()
        panel = app.query_one(FormulaPanel)
        layouts = []
        refresh = Widget.refresh

        def spy(self, *regions, **kw):
            if kw.get("layout") and isinstance(self, FormulaPanel):
                layouts.append(self.frame.step.qid)
            return refresh(self, *regions, **kw)

        monkeypatch.setattr(Widget, "refresh", spy)
        height = panel.size.height
        await pilot.press("n")  # z[2,2]@1: a sum as long as z[2,1]'s
        await pilot.pause()
        assert app.session.current.qid == "z[2,2]@1" and layouts == [] and panel.size.height == height
        app.run_command("goto E")  # one quantity: a shorter formula
        await pilot.pause()
        assert set(layouts) == {"E"} and panel.size.height < height


def test_a_big_layer_turns_pages_and_a_small_one_keeps_its_unit_centred():
    rows = 7  # five units and the two "more" rows
    pages = [_window(784, rows, want) for want in range(1, 12)]
    assert pages[:5] == [(0, 5, True)] * 5 and pages[5:10] == [(5, 10, True)] * 5 and pages[10] == (10, 15, True)
    assert _window(784, rows, 784) == (779, 784, True)
    assert _window(10, rows, 6) == (3, 8, True)  # centred on unit 6
    assert _window(10, rows, 1) == (0, 5, True) and _window(5, rows, 3) == (0, 5, False)


async def test_the_network_of_a_big_layer_shows_the_first_inputs_of_a_sum(make_app, big_scenario):
    app = make_app(big_scenario)
    async with app.run_test(size=(120, 40)) as pilot:
        app.run_command("goto z[1,2]@1")
        await pilot.pause()
        shown = app.query_one("#network").plain()
        assert "x₁ " in shown and "x₆₄" not in shown


def test_a_text_line_writes_the_first_terms_of_a_long_sum(run_cli, big_scenario):
    path = str(big_scenario)
    code, out, _ = run_cli("replay", path, "-c", "goto z[1,1]@1")
    line = out.strip().splitlines()[-1]
    more = 65 - LINE_TERMS  # 64 products and the bias
    assert code == 0 and line.count(f"+ … {more} more") == 2 and line.count("·x") == LINE_TERMS
    s = Session(scenario.load(path))
    s.execute(parse("goto z[1,1]@1"))
    assert line.endswith(f" = {s.current.line().rpartition(' = ')[2]}") and s.current.line() in line
    code, out, _ = run_cli("replay", path, "--format", "jsonl", "-c", "goto z[1,1]@1")
    record = json.loads(out.strip().splitlines()[-1])
    assert record["formula"].count("·") == 64 and "more" not in record["substituted"]


def test_a_fast_forward_keeps_checkpoints_and_a_walk_back_the_epochs_it_passes():
    s = Session(scenario.load("xor"))
    tape = s.tape
    tape.params(250)
    assert tape._recent == {} and {0, 100, 200} <= set(tape._checkpoints)
    tape.params(150)  # behind the frontier: the epochs from checkpoint 100 are kept
    assert set(range(101, 151)) <= set(tape._recent) and len(tape._recent) <= tape_module.CHECKPOINT_EVERY
    ran = []
    run, advance = tape_module.engine.run_epoch, tape_module.engine.advance
    tape_module.engine.run_epoch = lambda *a, **k: ran.append(1) or run(*a, **k)
    tape_module.engine.advance = lambda *a, **k: ran.append(1) or advance(*a, **k)
    try:
        tape.params(149)
        assert ran == []
        tape.params(152)  # not kept: walked from checkpoint 100 (so the count above is a real one)
        assert len(ran) == 52
    finally:
        tape_module.engine.run_epoch, tape_module.engine.advance = run, advance


async def test_the_formulas_of_the_next_s_and_n_are_made_ready_while_the_frame_is_read(make_app):
    app = make_app("worked-222")
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.query_one(FormulaPanel)
        app.run_command("goto dE/da[2,1]@1")  # s goes to the factor ∂o1/∂z3, n over it to δ
        await pilot.pause()
        record, here = app.session.tape.record(0), app.session.position[1]
        made = {app.session.tape.step(0, key[1]).qid for key in panel._wraps.keys() if key[0] is record}
        assert {"dE/da[2,1]@1", "da[2,1]/dz[2,1]@1", "dE/dz[2,1]@1"} <= made
        strips = set(panel._strips.keys())
        await pilot.press("n")
        await pilot.pause()
        assert app.session.current.qid == "dE/dz[2,1]@1" and app.session.position[1] == here + 2
        # and the formula's rows were drawn into strips before the key: it finds them made
        width, height = panel.content_size
        rows = panel._rows(record, app.session.current, width, False, height)
        base = panel.visual_style.rich_style
        assert rows and all((base, *_key(row)) in strips for row in rows)
        assert [line.plain for line in panel.drawn()[:len(rows)]] == [row.plain for row in rows]


async def test_the_steps_that_read_the_next_quantity_are_found_before_its_key(make_app):
    app = make_app("worked-222")
    async with app.run_test(size=(120, 40)) as pilot:
        app.run_command("goto a[1,1]@1")  # h1; s goes to h2, read by z3, z4 and three factors
        await pilot.pause()
        misses = Layout.users.cache_info().misses
        app.session.tape.layout_of(0).users(False, "a[1,2]", 1)
        assert Layout.users.cache_info().misses == misses  # found already
        await pilot.press("s")
        await pilot.pause()
        assert app.session.current.qid == "a[1,2]@1" and "used by z3 #4" in app.query_one(FormulaPanel).plain()


async def test_what_start_up_made_is_frozen_out_of_the_collectors_passes_while_the_app_runs(make_app):
    import gc

    app = make_app("worked-222")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert gc.get_freeze_count() > 1000
    assert gc.get_freeze_count() == 0  # and let go with the app (the tests run many in one process)
