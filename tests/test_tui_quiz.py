"""The quiz in the TUI, driven with Textual's Pilot: Q turns it on, a step of a quizzed family
hides its value in every panel (and torch's) until a number is typed at the prompt, the status
line keeps the score, and ``quiz report`` lists the answers."""

import re

from bpstep import scenario
from bpstep.session import Session
from bpstep.tui.formula import FormulaPanel
from bpstep.tui.frame import Frame
from bpstep.tui.network import NetworkPanel, edge_numbers
from bpstep.tui.status import StatusLine
from bpstep.tui.tapeview import TapePanel
from bpstep.tui.values import ValuesPanel

from tuikit import SIZE, text


class Torch:
    """Stands in for the torch cross-check, ready at once: the engine's value, as torch's."""

    device, dtype = "cpu", "float64"

    def __init__(self, tape=None, device="cpu"):
        self.tape = tape

    def compare(self, step):
        return step.value, 0.0, True


def score(app) -> str:
    """The quiz's score on the status line ("quiz 3/4", or "Q3/4" on a narrow one)."""
    found = re.search(r"(?:quiz |Q)(\d+/\d+)", text(app, StatusLine))
    return found and found.group(1)


async def settle(app, pilot):
    for _ in range(2):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def commands(app, pilot, *lines):
    """Run command lines once torch is ready, then let the screen catch up."""
    await settle(app, pilot)
    for line in lines:
        app.run_command(line)
    await settle(app, pilot)


async def type_in(pilot, keys: str):
    """Type ``keys`` one key at a time (what a learner does at the prompt), then Enter."""
    await pilot.press(*["full_stop" if k == "." else "minus" if k == "-" else k for k in keys], "enter")


async def test_typing_right_and_wrong_answers_keeps_the_score(make_app):
    app = make_app(checker_factory=Torch)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("Q")
        assert app.session.quiz.on and score(app) == "0/0"
        await pilot.press("s")  # z2 = 0.11
        line = app.query_one("#cmdline")
        assert line.display and line.value == "answer " and app.focused is line
        assert "predict z2 (z[1,2]@1)" in str(app.query_one("#cmdhint").render())
        await type_in(pilot, "0.11")
        await settle(app, pilot)
        assert score(app) == "1/1"
        assert "quiz ✓ right: z[1,2]@1 = 0.11000000; you said 0.11 (± 0.005)" in text(app, FormulaPanel)
        await pilot.press("s")  # h1 = 0.51998934
        await type_in(pilot, "0.6")
        await settle(app, pilot)
        assert score(app) == "1/2"
        formula = text(app, FormulaPanel)
        assert "quiz ✗ wrong: a[1,1]@1 = 0.51998934; you said 0.6 (± 0.05)" in formula
        assert "= 0.51998934    torch 0.51998934  |Δ| 0 ✓" in formula  # revealed, torch too
        assert app.said[-1][1] == "warning"
        await pilot.press("s")
        await type_in(pilot, "0.5275")  # h2 = 0.52747230
        await settle(app, pilot)
        assert score(app) == "2/3"
        await pilot.press("colon")
        app.query_one("#cmdline").value = "quiz report"
        await pilot.press("enter")
        report = app.said[-1][0].splitlines()
        assert report[0] == "quiz: 2 of 3 right"
        assert [row.split()[0] for row in report[1:]] == ["✓", "✗", "✓"]
        await pilot.press("Q")
        assert not app.session.quiz.on and "quiz" not in text(app, StatusLine)


async def test_every_panel_hides_the_value_until_it_is_answered(make_app):
    app = make_app(checker_factory=Torch)
    async with app.run_test(size=SIZE) as pilot:
        await commands(app, pilot, "watch a[1,1]@1", "quiz on a", "goto a[1,1]@1")
        value = "0.51998934"
        for panel in (TapePanel, ValuesPanel, FormulaPanel, NetworkPanel):
            assert value not in text(app, panel) and "0.5200" not in text(app, panel), panel
        assert "▶   2          h1" in text(app, TapePanel) and text(app, TapePanel).splitlines()[2].endswith("?")
        assert "h1 ?" in text(app, NetworkPanel)
        assert "= ?    quiz: predict the value" in text(app, FormulaPanel)
        values = text(app, ValuesPanel)
        assert "0.11000000  0.11000000       0" in values  # z2 before it: its torch value shown
        assert values.splitlines()[-1].split() == ["h1", "?"]  # no torch value for h1
        assert "★ h1" in values and "0.5199" not in values
        # the steps after it are not shown either: ∂z3/∂W5 = h1 would give it away
        assert "0.44498412" not in text(app, TapePanel)
        await type_in(pilot, "0.52")
        await settle(app, pilot)
        for panel in (TapePanel, ValuesPanel, FormulaPanel):
            assert value in text(app, panel), panel
        assert "h1 0.5200" in text(app, NetworkPanel)


async def test_escape_leaves_the_question_for_later_and_a_brings_the_prompt_back(make_app):
    app = make_app(checker_factory=Torch)
    async with app.run_test(size=SIZE) as pilot:
        await commands(app, pilot, "quiz on dE/dz", "goto dE/dz[2,1]@1")
        await pilot.press("escape")
        assert not app.query_one("#cmdline").display
        assert app.session.quiz.asking is not None and "0.04985267" not in text(app, FormulaPanel)
        await pilot.press("a")
        assert app.query_one("#cmdline").value == "answer "
        await type_in(pilot, "0.0499")
        await settle(app, pilot)
        assert score(app) == "1/1" and "0.04985267" in text(app, FormulaPanel)
        await pilot.press("a")
        assert "no question is open" in app.said[-1][0]


async def test_moving_on_without_answering_skips_the_question(make_app):
    app = make_app(checker_factory=Torch)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("Q", "s", "escape", "s", "escape")
        assert [a.verdict for a in app.session.quiz.answers] == ["skipped"]
        assert score(app) == "0/0"
        await pilot.press("S")  # the skipped step is shown, not asked again
        assert app.session.quiz.asking is None and "0.11000000" in text(app, FormulaPanel)


async def test_a_bad_answer_is_a_notification_and_the_question_stays(make_app):
    app = make_app(checker_factory=Torch)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("Q", "s")
        await type_in(pilot, "abc")
        assert app.said[-1][1] == "error" and "the answer 'abc' is not a number" in app.said[-1][0]
        assert app.session.quiz.asking is not None and app.session.quiz.answers == []


async def test_a_question_that_comes_under_the_help_screen_waits_for_a(make_app):
    app = make_app(checker_factory=Torch)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        app.run_command("quiz on")  # as a long command's worker lands while the help is up
        app.run_command("step")
        await pilot.pause()
        assert app.session.quiz.asking is not None and len(app.screen_stack) == 2
        await pilot.press("escape", "a")
        assert app.query_one("#cmdline").value == "answer "


def test_the_edges_keep_the_colours_of_W_while_a_layers_last_gradient_is_asked():
    s = Session(scenario.load("worked-222"))
    s.execute("quiz on dE/dW")
    s.execute("goto dE/dW[2,2,2]@1")  # one sample: the batch gradient of layer 2 is complete here
    assert s.quiz.asking is not None and edge_numbers(Frame(s))[0] == "W"
    s.execute("answer 0.0085")
    assert edge_numbers(Frame(s))[0] == "∂E/∂W"


async def test_a_compared_value_of_the_hidden_step_is_left_out_until_it_is_answered(make_app, tmp_path):
    values = tmp_path / "mine.csv"
    values.write_text("id,value\na[1,1]@1,0.6\n", encoding="utf-8")  # wrong: its |Δ| would tell
    app = make_app(checker_factory=Torch)
    async with app.run_test(size=SIZE) as pilot:
        app.session.load_comparison(str(values))
        await commands(app, pilot, "quiz on a", "goto a[1,1]@1")
        assert "yours" not in text(app, FormulaPanel)
        await type_in(pilot, "0.52")
        await settle(app, pilot)
        assert "yours 0.6 ✗ |Δ| 8.0e-02" in text(app, FormulaPanel)
