"""Predict, then reveal: ``quiz on|off|tol|report`` and ``answer`` in the session and in replay,
``replay --format markdown --worksheet`` (its blanks and answer key against the tape) and
``replay --quiz ANSWERS`` (grading a file of answers)."""

import json
import re
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bpstep import loading, scenario
from bpstep.commands import CommandError, printed_tolerance
from bpstep.quiz import Answer
from bpstep.notation import fmt
from bpstep.session import Session


#: sequential updates: a layer's ∂z/∂a is its updated weight, W⁺, a blank too
SEQ = str(Path(__file__).parent / "outputs" / "scenarios" / "seq.toml")


def session(*commands, name="worked-222"):
    s = Session(scenario.load(name))
    for c in commands:
        s.execute(c)
    return s


def value_of(s, qid, epoch=0):
    """The tape's value of the step ``qid`` (id@n) in ``epoch``."""
    found = s.layout.find(s.tape.is_evaluate(epoch), *_split(qid))
    return s.tape.step(epoch, int(found[0])).value


def _split(qid):
    id_, _, n = qid.partition("@")
    return id_, int(n) if n else None


# -- the session ---------------------------------------------------------------------------------

def test_a_step_of_a_quizzed_family_is_hidden_until_it_is_answered():
    s = session("quiz on", "goto a[1,1]@1")
    assert s.quiz.asking is not None and s.quiz.asking.qid == "a[1,1]@1"
    assert s.quiz.hides(s.current)
    assert s.execute("print a[1,1]@1").messages == ["a[1,1]@1  h1 = σ(z1) = σ(0.08) = ?"]
    result = s.execute("answer 0.52")
    assert not result.failed and s.quiz.asking is None
    assert result.messages == [f"✓ right: a[1,1]@1 = {fmt(value_of(s, 'a[1,1]@1'))}; you said 0.52 (± 0.005)"]
    assert s.execute("print a[1,1]@1").messages[0].endswith("= 0.51998934")
    assert s.quiz.score() == (1, 1)


def test_the_digits_typed_set_the_tolerance_or_quiz_tol_does():
    assert fmt(value_of(session(), "a[1,1]@1")) == "0.51998934"
    for typed, right in [("0.52", True), ("0.5", True), ("0.53", False), ("0.5199", False), ("0.51999", True),
                         ("0.519989", True), ("5.2e-1", True), ("1", True), ("0.6", False)]:
        s = session("quiz on", "goto a[1,1]@1")
        assert s.execute(f"answer {typed}").failed is not right, typed
    s = session("quiz on", "quiz tol 0.1", "goto a[1,1]@1")
    assert not s.execute("answer 0.6").failed
    assert s.quiz.answers[0].tol == 0.1


def test_answering_each_value_to_k_digits_is_right_and_one_digit_off_is_wrong():
    s = session()
    steps = list(s.tape.steps(0))
    for step in steps:
        for k in range(1, 8):
            q = session()
            q.quiz.on = True
            typed = f"{step.value:.{k}f}"
            assert q.quiz.grade(step, typed).right, (step.qid, typed)
            off = f"{step.value + 1.5 * 10 ** -k:.{k}f}"
            assert not q.quiz.grade(step, off).right, (step.qid, off)


@settings(max_examples=300, deadline=None)
@given(st.floats(-1e4, 1e4, allow_nan=False), st.integers(0, 8))
@example(0.25, 1).via("a tie: 0.2, whose binary difference is a hair over 0.05")
@example(0.35, 1).via("a tie the other way")
def test_any_value_typed_to_k_decimals_is_right_and_two_units_off_is_wrong(value, k):
    typed = f"{value:.{k}f}"
    assert Answer(0, "z[1,1]@1", value, typed, printed_tolerance(typed)).right
    off = f"{float(typed) + 2 * 10 ** -k:.{k}f}"  # 1.5 units off at least (one unit off ties at 0.25)
    assert not Answer(0, "z[1,1]@1", value, off, printed_tolerance(off)).right


def test_a_tie_rounded_up_by_hand_is_right():
    assert abs(float("0.4") - 0.35) > 0.05  # in binary floating point
    assert Answer(0, "z[1,1]@1", 0.35, "0.4", printed_tolerance("0.4")).right


def test_quiz_on_families_asks_only_those():
    s = session("quiz on dE/dz W+")
    s.execute("goto z[1,1]@1")
    assert s.quiz.asking is None
    s.execute("goto dE/dz[2,1]@1")
    assert s.quiz.asking.qid == "dE/dz[2,1]@1"
    s.execute("answer 0.0499")
    s.execute("goto W+[2,1,1]")
    assert s.quiz.asking.qid == "W+[2,1,1]"


def test_moving_off_a_question_skips_it_and_a_graded_step_is_not_asked_again():
    s = session("quiz on", "step")  # z[1,2]@1
    s.execute("step")  # skips z[1,2]@1, asks a[1,1]@1
    assert s.quiz.asking.qid == "a[1,1]@1"
    assert [(a.qid, a.verdict) for a in s.quiz.answers] == [("z[1,2]@1", "skipped")]
    s.execute("answer 0.4")
    s.execute("rstep")
    assert s.quiz.asking is None  # skipped: shown from then on
    s.execute("step")
    assert s.quiz.asking is None  # graded
    assert s.quiz.score() == (0, 1)
    report = s.execute("quiz report").messages
    assert report[0] == "quiz: 0 of 1 right, 1 skipped"
    assert re.fullmatch(r"  – e0 z\[1,2\]@1 +— +0\.11000000 +skipped", report[1])
    assert re.fullmatch(r"  ✗ e0 a\[1,1\]@1 +0\.4 +0\.51998934  ± 0\.05 +wrong", report[2])


def test_a_what_if_edit_keeps_the_question_and_grades_the_new_value():
    s = session("quiz on", "goto z[1,1]@1")  # where the cursor is: asked
    s.execute("set W[1,1,1] 0.5")
    assert s.quiz.asking.qid == "z[1,1]@1"
    assert not s.execute("answer 0.1").failed  # 0.5·0.1 + 0.25·0.2


def test_the_layer_view_asks_nothing_and_leaving_for_it_skips():
    s = session("quiz on", "goto a[1,1]@1")
    s.execute("view layer")
    assert s.quiz.asking is None and s.quiz.answers[0].verdict == "skipped"
    s.execute("step")
    assert s.quiz.asking is None


def test_quiz_off_ends_the_questions_and_keeps_the_score():
    s = session("quiz on", "goto a[1,1]@1", "answer 0.52", "step", "quiz off")
    assert s.quiz.asking is None
    s.execute("step")
    assert s.quiz.asking is None
    assert s.quiz.status() == "quiz 1/1"


def test_the_loss_is_hidden_until_E_is_answered():
    s = session("quiz on E")
    assert s.quiz.hides_loss(s)
    s.execute("goto E@1")
    assert s.quiz.hides_loss(s)
    s.execute("answer 0.024")
    assert not s.quiz.hides_loss(s)
    assert not session("quiz on dE/dW").quiz.hides_loss(session("quiz on dE/dW"))


@pytest.mark.parametrize("command,why", [
    ("answer 0.5", "no question is open"),
    ("quiz on q", "unknown family 'q'"),
    ("quiz", "quiz: got ''"),
    ("quiz maybe", "quiz: got 'maybe'"),
    ("quiz tol -1", "the tolerance must be ≥ 0"),
    ("quiz tol x", "the tolerance 'x' is not a number"),
    ("answer", "expected one number"),
    ("answer nan", "the answer 'nan' is not a number"),
    ("answer 1 2", "expected one number"),
])
def test_bad_quiz_commands(command, why):
    with pytest.raises(CommandError, match=re.escape(why)):
        session().execute(command)


# -- replay --------------------------------------------------------------------------------------

def test_replay_hides_the_question_then_shows_it_graded(run_cli):
    code, out, err = run_cli("replay", "worked-222", "-c", "quiz on a; goto a[1,1]@1; answer 0.52")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[1] == "e0 forward #2 a[1,1]@1  h1 = σ(z1) = σ(0.08) = ?"
    assert lines[2] == "# quiz: predict a[1,1]@1, then answer VALUE"
    assert lines[3] == "# ✓ right: a[1,1]@1 = 0.51998934; you said 0.52 (± 0.005)"
    assert lines[4] == "e0 forward #2 a[1,1]@1  h1 = σ(z1) = σ(0.08) = 0.51998934"


def test_replay_exits_1_on_a_wrong_answer(run_cli):
    code, out, _ = run_cli("replay", "worked-222", "-c", "quiz on; goto a[1,1]@1; answer 0.6; quiz report")
    assert code == 1
    assert "# quiz: 0 of 1 right" in out


def test_replay_jsonl_leaves_the_hidden_value_out(run_cli):
    code, out, err = run_cli("replay", "worked-222", "--format", "jsonl", "-c", "quiz on; goto a[1,1]@1")
    record = json.loads(out.splitlines()[-1])
    assert record["id"] == "a[1,1]" and record["value"] is None and record["torch"] is None
    assert "predict a[1,1]@1" in err
    _, out, _ = run_cli("replay", "worked-222", "--format", "jsonl", "-c", "quiz on; goto dz[2,1]/dW[2,1,1]@1")
    record = json.loads(out.splitlines()[-1])
    assert record["formula"] == "∂z3/∂W5 = h1" and record["substituted"] is None and record["value"] is None


def test_without_quiz_the_outputs_are_as_before(run_cli):
    plain = run_cli("replay", "worked-222", "-c", "goto a[1,1]@1; print a[1,1]@1")
    off = run_cli("replay", "worked-222", "-c", "quiz on; quiz off; goto a[1,1]@1; print a[1,1]@1")
    assert plain[1] in off[1] and "?" not in off[1]


# -- the worksheet -------------------------------------------------------------------------------

def key_of(markdown):
    """The answer key's rows: (blank, id, value)."""
    rows = re.findall(r"^\| (\d+) \| `([^`]+)` \| (\S+) \|$", markdown, re.M)
    return [(int(k), qid, float(v)) for k, qid, v in rows]


def boxes_of(markdown):
    """The numbers of the blanks in the order they stand, with the formula's name before each."""
    return [(m.group(1), int(m.group(2))) for m in re.finditer(r"^\$\$(.+?) = .*\\boxed\{\\;\((\d+)\)\\;\}\$\$$",
                                                                  markdown, re.M)]


@pytest.mark.parametrize("name,commands", [("worked-222", []), ("worked-222", ["-c", "quiz on dE/dz W+"]),
                                           ("xor", ["-c", "goto epoch 3; quiz on dE/dW a"]),
                                           (SEQ, ["-c", "goto epoch 1; quiz on W+ b+ dz/da"])])
def test_the_worksheets_blanks_and_answer_key_match_the_tape(run_cli, name, commands):
    code, out, err = run_cli("replay", name, "--format", "markdown", "--worksheet", *commands)
    assert code == 0 and err == ""
    s = Session(loading.load(name))
    if commands:
        for c in commands[1].split("; "):
            s.execute(c)
    epoch = s.position[0]
    asked = [step for step in s.tape.steps(epoch) if s.quiz.asks(step)]
    key, boxes = key_of(out), boxes_of(out)
    assert [k for _, k in boxes] == list(range(1, len(asked) + 1))  # every blank once, in order
    assert [(k, qid) for k, qid, _ in key] == [(k, step.qid) for k, step in enumerate(asked, 1)]
    for (_, qid, v), step, (name_tex, _) in zip(key, asked, boxes):
        assert abs(v - step.value) <= 5e-9 * max(1, abs(step.value)), qid
        assert name_tex == step.spec.name.tex
    # no blank's value is written anywhere before the key (in XOR a few values are equal by chance)
    body = out.split("## Answer key")[0]
    for step in asked if name == "worked-222" else ():
        assert f"= {fmt(step.value)}$$" not in body


def test_a_full_worksheet_puts_in_only_the_given_numbers(run_cli):
    _, out, _ = run_cli("replay", "worked-222", "--format", "markdown", "--worksheet")
    assert "$$h_{1} = \\sigma\\left(z_{1}\\right) = \\boxed{\\;(3)\\;}$$" in out
    assert "z_{3} = W_{5} \\cdot h_{1} + W_{6} \\cdot h_{2} = 0.45 \\cdot h_{1} + 0.4 \\cdot h_{2} = \\boxed" in out
    assert "with the updated parameters" not in out and "The loss went" not in out


# -- replay --quiz -------------------------------------------------------------------------------

def answers_file(tmp_path, text):
    path = tmp_path / "answers.txt"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_quiz_grades_a_file_of_answers_in_order(run_cli, tmp_path):
    _, sheet, _ = run_cli("replay", "worked-222", "--format", "markdown", "--worksheet", "-c", "quiz on dE/dz")
    key = key_of(sheet)
    typed = [f"{v:.4f}" for _, _, v in key]
    code, out, err = run_cli("replay", "worked-222", "-c", "quiz on dE/dz", "--quiz",
                             answers_file(tmp_path, "\n".join(typed) + "\n"))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"quiz: {len(key)} of {len(key)} right"
    for line, (_, qid, _), t in zip(lines[1:], key, typed):
        assert line.split()[:4] == ["✓", "e0", qid, t] and line.endswith("right")


def test_quiz_with_ids_a_wrong_answer_and_a_missing_one_exit_1(run_cli, tmp_path):
    path = answers_file(tmp_path, "# mine\ndE/dz[1,1]@1 0.0081\n0.0071\ndE/dz[2,1]@1 0.06  # a guess\n")
    code, out, _ = run_cli("replay", "worked-222", "-c", "quiz on dE/dz", "--quiz", path)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "quiz: 2 of 3 right"
    assert [line.split()[2] for line in lines[1:4]] == ["dE/dz[1,1]@1", "dE/dz[1,2]@1", "dE/dz[2,1]@1"]
    assert lines[3].endswith("wrong") and lines[4] == "1 of the 4 blanks not answered"


@pytest.mark.parametrize("text,why", [
    ("0.1\nabc\n", "answers.txt:2: 'abc' is not a number"),
    ("z[9,9]@1 0.1\n", "answers.txt:1: z[9,9]@1 is not a blank of the worksheet"),
    ("foo 0.1\n", "answers.txt:1: 'foo' is not a quantity id"),
    ("0.1\nz[1,1]@1 0.1\n", "answers.txt:2: z[1,1]@1 is answered already on line 1"),
    ("1 2 3\n", "answers.txt:1: expected VALUE or ID VALUE"),
    ("# nothing\n\n", "answers.txt: no answers"),
    ("0.1\n" * 56, "answers.txt:56: an answer past the last of the 55 blanks"),
])
def test_a_bad_file_of_answers_is_one_line_and_exit_2(run_cli, tmp_path, text, why):
    code, out, err = run_cli("replay", "worked-222", "--quiz", answers_file(tmp_path, text))
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and why in err and "Traceback" not in err


@pytest.mark.parametrize("args,why", [
    (["--quiz", "missing.txt"], "missing.txt: cannot read the answers"),
    (["--quiz", str(Path(__file__).parent)], "tests: is a directory; expected a file of answers"),
    (["--worksheet"], "--worksheet: expected --format markdown"),
    (["--format", "markdown", "--worksheet", "--check"], "--worksheet: expected --format markdown, without --check"),
    (["--quiz", "a.txt", "--format", "jsonl"], "--quiz: prints its report as text"),
    (["-c", "quiz on zz", "--format", "markdown", "--worksheet"], "-c:1: quiz: unknown family 'zz'"),
])
def test_bad_quiz_and_worksheet_options(run_cli, args, why):
    code, out, err = run_cli("replay", "worked-222", *args)
    assert code == 2 and len(err.splitlines()) == 1 and why in err
